"""The develop pipeline: a raw CFA mosaic in, output-space pixels out.

Stages, in linear light until the output encoding (see docs/develop.md for the equations)::

    levels + white balance   (raw DN -> black-subtracted, /(white − black), × 1/neutral)
    demosaic                 (mountcam.develop.demosaic, "fast" or "high")
    highlight reconstruction (mountcam.develop.highlights)
    denoise                  (mountcam.develop.denoise, from the DNG NoiseProfile)
    lens corrections         (OpcodeList3: vignetting, distortion, lateral colour)
    colour                   (camera -> XYZ D50 -> output RGB, DNG 1.4 §6; × exposure; look
                              saturation)
    tone + encoding          (look's tone curve and the sRGB/P3 transfer, one LUT)
    sharpen                  (mountcam.develop.sharpen, on encoded values)
    crop                     (the DNG's DefaultCrop)

Speed: the picture is processed in horizontal strips (a few hundred rows plus the overlap the
neighbourhood stages need) so that each strip's intermediates stay in cache; levels and white
balance are one pass that produces the demosaic's input; highlights, the colour matrix,
exposure, saturation, tone curve, encoding and quantisation are one numba kernel (every linear
step folded into a single 3×3 matrix, every per-channel step into a single LUT) that writes the
final uint8/uint16/float32 pixels in place. For 8-bit output (the JPEG path) the LUT is
fixed point and indexed by the bits of the float32 input
(:func:`~mountcam.develop.tone.build_lut_fixed`, within 0.01 of a code of the curve), one
gather per value, and with sharpening on the kernel writes 8-bit code × 256 as uint16, which
the sharpening rounds after adding its change. A lone FixVignetteRadial (the usual lens
correction of a fixed lens) rides in that kernel too, as a per-pixel gain. With sharpening on,
the kernel also writes the luma the sharpening needs, and the unsharp mask and the
quantisation are one more pass into the output (:func:`mountcam.develop.sharpen.sharpen_into`,
:func:`~mountcam.develop.sharpen.sharpen_fixed_into`).
Only the stages that exist and are switched on run; the rest cost nothing. Profile and
figures: docs/benchmarks.md, "Develop speed".
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mountcam.develop.colour import ColourProfile, xyz_d50_to_output
from mountcam.develop.demosaic_fast import BAND_ROWS, HALO, demosaic_rows
from mountcam.develop.highlights import (
    CLIP_FRACTION,
    blend_pixel,
    channel_clip_levels,
    reconstruct_highlights,
)
from mountcam.develop.image import Image
from mountcam.develop.lens_correction import vignette_gain
from mountcam.develop.linear_raw import linear_levels_kernel, linear_planes
from mountcam.develop.looks import load_look
from mountcam.develop.orientation import apply_orientation
from mountcam.develop.raw_opcodes import apply_raw_opcodes
from mountcam.develop.settings import DevelopSettings
from mountcam.develop.tone import FIXED_ONE, build_lut, build_lut_fixed
from mountcam.develop.white_balance import cfa_planes, neutral_for
from mountcam.errors import UnreadableFile

# The kernels below compile in demosaic_fast.demosaic_rows, highlights.blend_pixel and
# lens_correction.vignette_gain; mountcam.jit's cache locator makes their cached copies here
# recompile when any of those modules changes (numba alone would key on this file only).
from mountcam.jit import (
    concurrent_launches_are_safe,
    get_num_threads,
    njit,
    prange,
    set_num_threads,
)

#: Output rows per strip. ~256 rows of a 8192-wide image keep a strip's float32 RGB (25 MB)
#: near the last-level cache while the per-strip overhead stays negligible.
STRIP_ROWS = 256
#: Output rows per strip for ``quality="high"``: MLRI reads 32 rows of context on each side
#: (plus its own 16-row mirrored pad), so 256-row strips compute 1.42 mosaic rows per output
#: row and 384-row strips 1.28 (measured at 50 MP: 14 % less CPU, peak RSS 1.40 -> 1.61 GB;
#: 512 rows reach 1.96 GB, too close to the 2 GB budget).
HIGH_STRIP_ROWS = 384
#: Mosaic rows per band of the fused fast demosaic + 8-bit colour kernel (at most
#: demosaic_fast.BAND_ROWS).
FUSED_BAND_ROWS = BAND_ROWS
#: Strips developed at once (threads; the numba kernels release the GIL).
STRIP_WORKERS = min(2, os.cpu_count() or 1)
PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")
#: ISO at which denoising reaches full strength (see :func:`denoise_strength`).
DENOISE_FULL_ISO = 3200.0
BASE_ISO = 100.0
DENOISE_MIN_STRENGTH = 0.05


def develop(
    raw_or_path: Any,
    settings: DevelopSettings | None = None,
    *,
    output_dtype: Any = np.float32,
    calibration: Any = None,
) -> Image:
    """Develop a raw capture into an :class:`~mountcam.develop.image.Image`.

    ``raw_or_path``: a DNG path, a :class:`~mountcam.dng.reader.DngInfo` from ``read_dng``, or
    a :class:`~mountcam.sensor.rawframe.RawFrame` (developed with ``calibration``, by default
    the colour calibration of its sensor preset, as the DNG writer would record it).
    ``output_dtype``: ``np.float32`` (default; 1.0 = white), or ``np.uint8`` / ``np.uint16``
    code values straight from the fused kernel, ready for an encoder. Returns the DefaultCrop
    area, turned upright by the DNG's Orientation (:mod:`mountcam.develop.orientation`). Files
    that cannot be developed raise :class:`~mountcam.errors.UnreadableFile`.
    """
    settings = settings or DevelopSettings()
    _tune_allocator()
    dtype = np.dtype(output_dtype)
    if dtype not in (np.float32, np.uint8, np.uint16):
        raise ValueError(f"output_dtype must be float32, uint8 or uint16, got {dtype}")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    info = _as_dng_info(raw_or_path, calibration)
    timings["read"] = time.perf_counter() - t0
    plan = plan_development(info, settings)
    timings["plan"] = time.perf_counter() - t0 - timings["read"]
    pixels = _run(plan, info, dtype, timings)
    orientation = int(getattr(info, "orientation", 1) or 1)
    if orientation != 1:
        tic = time.perf_counter()
        pixels = apply_orientation(pixels, orientation)
        timings["orientation"] = time.perf_counter() - tic
    timings["total"] = time.perf_counter() - t0
    return Image(
        pixels=pixels,
        color_space=plan.color_space,
        linear=plan.settings.linear,
        source=info,
        settings=settings,
        timings_s=timings,
    )


_allocator_tuned = False


def _tune_allocator() -> None:
    """Keep glibc's malloc from handing every large array back to the kernel (once per process).

    Why: a 50 MP development allocates and frees hundreds of strip-sized arrays (OpenCV's and
    NumPy's results in the ``high`` demosaic, 12–36 MB each). By default glibc serves them
    with ``mmap`` or from per-thread arenas that it trims, so each one is faulted in afresh:
    measured 350 000 page faults and 3.6 s of system time per ``high`` development (0.4 s
    for ``fast``). With one arena, large blocks from the heap and no trimming
    (``mallopt(M_ARENA_MAX, 1)``, ``M_MMAP_THRESHOLD`` 1 GiB, ``M_TRIM_THRESHOLD`` 2 GiB) the
    freed blocks are reused: no faults after the first picture, ~0.1 s of system time, and a
    lower peak (1.50 GB instead of 1.61 GB for ``high``). The price: the process keeps its
    peak memory after developing instead of returning it. Process-wide, so it can be switched
    off with ``MOUNTCAM_MALLOC_TUNING=0``; other C libraries are left alone.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return
    _allocator_tuned = True
    if os.environ.get("MOUNTCAM_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8  # glibc <malloc.h>
    mallopt(m_arena_max, 1)
    mallopt(m_mmap_threshold, 1 << 30)
    mallopt(m_trim_threshold, 1 << 31)


# --------------------------------------------------------------------------------------------
# Planning: everything that does not touch pixels, decided once per picture.


@dataclass
class Plan:
    """The per-picture decisions of a development (no pixels): useful for tests and tools."""

    settings: DevelopSettings
    pattern: str
    neutral: np.ndarray  # camera neutral of the white balance, max 1
    gains: np.ndarray  # white-balance multipliers, 1/neutral
    camera_to_pcs: np.ndarray  # white-balanced camera RGB -> XYZ D50
    matrix: np.ndarray  # white-balanced camera RGB -> output linear RGB, incl. exposure, look
    exposure_ev: float  # total: BaselineExposure (+ user + look unless linear)
    lut: np.ndarray | None  # tone curve + encoding; None for linear output
    tone: Any  # the look's ToneCurve (None for linear output)
    lut_x_max: float
    color_space: str
    crop: tuple[slice, slice]  # rows, cols of the mosaic to output
    demosaic: Callable[[np.ndarray, str], np.ndarray]
    demosaic_overlap: int
    denoise: Callable[[np.ndarray], np.ndarray] | None
    denoise_overlap: int
    lens: Callable[[np.ndarray, tuple[int, int]], np.ndarray] | None
    lens_whole_image: bool
    sharpen: Callable[[np.ndarray], np.ndarray] | None
    sharpen_overlap: int
    #: When the lens correction is one FixVignetteRadial: (origin_rc, shape_hw) -> its
    #: (dv², dh², k) for the colour kernel to apply in its own pass (``lens`` is then unused).
    vignette: Callable[[tuple[int, int], tuple[int, int]], tuple] | None = None
    #: (amount, σ in pixels) of the output sharpening fused after the colour kernel.
    sharpen_params: tuple[float, float] | None = None
    #: ``demosaic`` is mountcam's ``fast`` one, which the 8-bit path runs band by band
    #: inside its colour kernel (:func:`_fast_fixed_kernel`).
    fast_demosaic: bool = False
    #: OpcodeList2 (GainMap, MapTable, MapPolynomial) applied to each strip of the mosaic
    #: after levels: :class:`~mountcam.develop.raw_opcodes.RawOpcodes`, or None.
    raw_opcodes: Any = None
    #: Raw level (DN) at which each CFA position clipped, row-major over the 2×2 cell at
    #: even (row, col) of the mosaic: WhiteLevel, or lower where a channel's histogram shows
    #: it clipped below (:func:`~mountcam.develop.highlights.channel_clip_levels`); one per
    #: plane for a LinearRaw image.
    clip_dn: tuple[float, ...] = (math.inf,) * 4
    #: The raw image is LinearRaw (DngInfo.linear_raw): no demosaic, levels per plane
    #: (:mod:`mountcam.develop.linear_raw`).
    linear_raw: bool = False


def plan_development(info, settings: DevelopSettings) -> Plan:
    """Decide white balance, matrices, LUT and stages for ``info`` (a DngInfo)."""
    eff = settings.effective
    linear = bool(getattr(info, "linear_raw", False))  # camera RGB: no demosaic
    pattern = "" if linear else str(info.cfa_pattern).upper()
    if not linear and pattern not in PATTERNS:
        raise UnreadableFile(
            f"{info.path}: CFA pattern {info.cfa_pattern!r} is not a Bayer layout mountcam can "
            f"develop ({', '.join(PATTERNS)})"
        )
    white = float(info.white_level_dn)
    whites = np.asarray(info.white_levels_dn if linear else (white,) * 4, dtype=np.float64)
    black = np.asarray(info.black_level_dn, dtype=np.float64)
    if black.shape != whites.shape or not np.all(black < whites):
        raise UnreadableFile(
            f"{info.path}: black levels {tuple(black)} are not below the white level {white:g}"
        )
    profile = ColourProfile.from_dng(info)
    planes = None
    if eff.wb == "auto" and linear:
        planes = linear_planes(info.mosaic, black, whites)
    elif eff.wb == "auto":
        planes = cfa_planes(info.mosaic, pattern, black, white)
    neutral = neutral_for(eff.wb, profile, getattr(info, "as_shot_neutral", None), planes)
    gains = 1.0 / neutral

    cam_to_pcs = profile.camera_to_pcs(neutral)
    space = "linear-rec709" if eff.linear else eff.output_space
    to_out = xyz_d50_to_output(space) @ cam_to_pcs
    baseline = float(getattr(info, "baseline_exposure", 0.0) or 0.0)
    if eff.linear:
        ev, lut, x_max, tone = baseline, None, 1.0, None
        matrix = to_out
    else:
        look = load_look(eff.look)
        ev = baseline + eff.exposure_ev + look.exposure_ev
        matrix = look.saturation_matrix(space) @ to_out
        x_max = look.tone.white_in
        tone = look.tone
        lut = build_lut(tone, x_max, encode=True)
    matrix = matrix * 2.0**ev

    demosaic_fn, demosaic_overlap = _demosaic_stage(eff.quality)
    denoise_fn, denoise_overlap = (None, 0)
    if eff.denoise:
        denoise_fn, denoise_overlap = _denoise_stage(info, gains)
    lens_fn, whole, vignette, raw_ops = (None, False, None, None)
    if eff.lens_correction:
        lens_fn, whole, vignette = _lens_stage(info)
        raw_ops = _raw_opcode_stage(info)
    sharpen_fn, sharpen_overlap, sharpen_params = (None, 0, None)
    if eff.sharpen:
        sharpen_fn, sharpen_overlap, sharpen_params = _sharpen_stage(eff.quality)

    rows, cols = info.crop_slices
    h, w = info.mosaic.shape[:2]
    rows = slice(max(0, rows.start), min(h, rows.stop))
    cols = slice(max(0, cols.start), min(w, cols.stop))
    if rows.stop - rows.start < 2 or cols.stop - cols.start < 2:
        raise UnreadableFile(f"{info.path}: the default crop leaves no picture")
    # Found on the picture's own area (whole 2×2 cells from an even corner, so that the
    # histogram's CFA positions are the mosaic's).
    clip_dn = tuple(whites)
    if linear and eff.detect_clipping and np.all(whites == white):
        clip_dn = channel_clip_levels(info.mosaic[rows, cols], black, white)
    elif eff.detect_clipping and not linear:
        clip_dn = channel_clip_levels(
            info.mosaic[rows.start & ~1 : rows.stop, cols.start & ~1 : cols.stop], black, white
        )
    return Plan(
        settings=eff,
        pattern=pattern,
        neutral=neutral,
        gains=gains,
        camera_to_pcs=cam_to_pcs,
        matrix=matrix,
        exposure_ev=ev,
        lut=lut,
        tone=tone,
        lut_x_max=x_max,
        color_space=space,
        crop=(rows, cols),
        demosaic=demosaic_fn,
        demosaic_overlap=demosaic_overlap,
        denoise=denoise_fn,
        denoise_overlap=denoise_overlap,
        lens=lens_fn,
        lens_whole_image=whole,
        sharpen=sharpen_fn,
        sharpen_overlap=sharpen_overlap,
        vignette=vignette,
        sharpen_params=sharpen_params,
        fast_demosaic=(
            eff.quality == "fast" and getattr(demosaic_fn, "mountcam_fast", False) and not linear
        ),
        raw_opcodes=raw_ops,
        clip_dn=clip_dn,
        linear_raw=linear,
    )


def denoise_strength(iso: float | None) -> float:
    """Denoise strength for a capture at ``iso``: 0 at base ISO (:data:`BASE_ISO`), rising
    linearly in stops to 1.0 at :data:`DENOISE_FULL_ISO` (0.2 per stop); 0.5 when the ISO is
    unknown. Why: the denoiser already adapts to the noise level through the NoiseProfile; the
    strength trades residual noise for texture, and at base ISO a 1-inch sensor's noise is
    below what a photographer wants traded for texture. Below
    :data:`DENOISE_MIN_STRENGTH` the stage is skipped."""
    if not iso or iso <= 0:
        return 0.5
    stops = math.log2(max(iso, BASE_ISO) / BASE_ISO)
    return float(min(1.0, stops / math.log2(DENOISE_FULL_ISO / BASE_ISO)))


def _demosaic_stage(quality: str):
    try:
        from mountcam.develop import demosaic as module
    except ImportError:  # the demosaic module is being written; OpenCV bilinear until then
        warnings.warn(
            "mountcam.develop.demosaic is missing; using OpenCV's bilinear demosaic",
            RuntimeWarning,
            stacklevel=3,
        )
        return _opencv_bilinear, 2
    method = "fast" if quality == "fast" else "high"
    overlap = 8
    if hasattr(module, "demosaic_overlap_rows"):
        overlap = int(module.demosaic_overlap_rows(method))

    def run(cfa: np.ndarray, pattern: str) -> np.ndarray:
        return module.demosaic(cfa, pattern, method)

    run.mountcam_fast = method == "fast"  # see Plan.fast_demosaic
    return run, overlap


def _opencv_bilinear(cfa: np.ndarray, pattern: str) -> np.ndarray:
    """Bilinear demosaic through OpenCV (16-bit integer path): temporary stand-in."""
    import cv2

    top = float(cfa.max()) if cfa.size else 1.0
    scale = 65535.0 / max(top, 1e-6)
    u16 = np.clip(cfa * np.float32(scale) + np.float32(0.5), 0, 65535).astype(np.uint16)
    rgb = cv2.cvtColor(u16, getattr(cv2, f"COLOR_Bayer{pattern}2RGB"))
    return rgb.astype(np.float32) * np.float32(1.0 / scale)


def _denoise_stage(info, gains: np.ndarray):
    profile = getattr(info, "noise_profile", None)
    if not profile:
        return None, 0
    try:
        from mountcam.develop import denoise as module
    except ImportError:
        return None, 0
    pairs = [tuple(map(float, p)) for p in profile]
    if len(pairs) == 1:
        pairs = pairs * 3
    if len(pairs) != 3:
        return None, 0
    s = np.array([p[0] for p in pairs])
    o = np.array([p[1] for p in pairs])
    # NoiseProfile is in raw units x ∈ 0..1 (before white balance); after multiplying by g the
    # variance becomes g²(S·y/g + O) = g·S·y + g²·O.
    noise_s = (gains * s).astype(np.float32)
    noise_o = (gains**2 * o).astype(np.float32)
    strength = denoise_strength(getattr(info, "iso", None))
    if strength < DENOISE_MIN_STRENGTH:
        return None, 0
    overlap = int(getattr(module, "DENOISE_OVERLAP_ROWS", 16))
    return (lambda rgb: module.denoise(rgb, noise_s, noise_o, strength)), overlap


def _lens_stage(info):
    data = getattr(info, "opcode_list_3", None)
    if not data:
        return None, False, None
    try:
        from mountcam.develop.lens_correction import apply_opcodes, vignette_terms
        from mountcam.dng.opcodes import FixVignetteRadial, WarpRectilinear, decode_opcode_list
    except ImportError:
        return None, False, None
    ops = decode_opcode_list(data)
    if not ops:
        return None, False, None
    top, left, bottom, right = (int(v) for v in info.active_area)
    full = (bottom - top, right - left)
    whole = any(isinstance(op, WarpRectilinear) for op in ops)

    def apply(rgb: np.ndarray, origin_rc: tuple[int, int]) -> np.ndarray:
        return apply_opcodes(
            rgb, ops, origin_rc=(origin_rc[0] - top, origin_rc[1] - left), full_size_hw=full
        )

    vignette = None
    if len(ops) == 1 and isinstance(ops[0], FixVignetteRadial):
        # The usual case of a fixed-lens phone camera: a per-pixel gain, cheapest inside the
        # colour kernel's own pass over the strip (one fewer read and write of it).
        def vignette(origin_rc: tuple[int, int], shape_hw: tuple[int, int]) -> tuple:
            return vignette_terms(ops[0], (origin_rc[0] - top, origin_rc[1] - left), shape_hw, full)

    return apply, whole, vignette


def _raw_opcode_stage(info):
    """OpcodeList2 prepared for the strips (mountcam.develop.raw_opcodes), or None."""
    data = getattr(info, "opcode_list_2", None)
    if not data:
        return None
    from mountcam.develop.raw_opcodes import prepare_raw_opcodes
    from mountcam.dng.opcodes import decode_opcode_list

    top, left, bottom, right = (int(v) for v in info.active_area)
    planes = 3 if getattr(info, "linear_raw", False) else 1
    return prepare_raw_opcodes(
        decode_opcode_list(data), (bottom - top, right - left), planes=planes
    )


def _sharpen_stage(quality: str):
    try:
        from mountcam.develop import sharpen as module
    except ImportError:
        return None, 0, None
    amount, radius = (0.6, 0.8) if quality == "fast" else (0.8, 0.7)
    overlap = int(math.ceil(4 * radius)) + 2  # the Gaussian's reach (4σ) + the 3×3 clamp
    return (lambda rgb: module.sharpen(rgb, amount, radius)), overlap, (amount, radius)


# --------------------------------------------------------------------------------------------
# Input


def _as_dng_info(raw_or_path: Any, calibration: Any):
    from mountcam.dng.reader import DngInfo, read_dng
    from mountcam.sensor.rawframe import RawFrame

    if isinstance(raw_or_path, DngInfo):
        return raw_or_path
    if isinstance(raw_or_path, RawFrame):
        return rawframe_info(raw_or_path, calibration)
    if isinstance(raw_or_path, str | os.PathLike):
        return read_dng(raw_or_path)
    raise TypeError(
        f"develop needs a DNG path, a DngInfo or a RawFrame, not {type(raw_or_path).__name__}"
    )


def rawframe_info(frame, calibration=None):
    """A :class:`~mountcam.dng.reader.DngInfo` describing a RawFrame exactly as the DNG writer
    would (same DefaultCrop margin, colour calibration, neutral, lens corrections of the lens
    the frame believes in), without writing a file."""
    from mountcam.dng.reader import DngInfo
    from mountcam.dng.writer import DEMOSAIC_MARGIN_PX

    md = frame.metadata
    if calibration is None:
        calibration = getattr(frame, "calibration", None)
    cal = calibration if calibration is not None else _sensor_calibration(md.sensor)
    h, w = frame.mosaic.shape
    m = DEMOSAIC_MARGIN_PX
    info = DngInfo(
        path=Path(f"<RawFrame {md.module} #{md.frame_index}>"),
        mosaic=frame.mosaic,
        cfa_pattern=frame.cfa_pattern,
        black_level_dn=tuple(float(b) for b in frame.black_level_dn),
        white_level_dn=int(frame.white_level_dn),
        as_shot_neutral=tuple(float(v) for v in md.as_shot_neutral),
        color_matrix_1=np.asarray(cal.color_matrix_1, dtype=np.float64),
        calibration_illuminant_1=int(cal.calibration_illuminant_1),
        default_crop_origin=(float(m), float(m)),
        default_crop_size=(float(w - 2 * m), float(h - 2 * m)),
        active_area=(0, 0, h, w),
        dng_version=(1, 4, 0, 0),
        make="mountcam",
        model=f"mountcam twin {md.module}",
        iso=int(round(md.iso)) if md.iso else None,
        f_number=md.f_number or None,
        focal_mm=md.focal_mm or None,
    )
    from mountcam.dng import calibration as cal_module

    info.baseline_exposure = float(getattr(cal_module, "BASELINE_EXPOSURE_EV", 0.0))
    for name in (
        "color_matrix_2",
        "calibration_illuminant_2",
        "forward_matrix_1",
        "forward_matrix_2",
    ):
        value = getattr(cal, name, None)
        if value is not None:
            setattr(info, name, value)
    lens = getattr(frame, "lens", None)
    if lens is not None:
        from mountcam.dng.opcodes import encode_opcode_list, lens_opcodes_for_frame
        from mountcam.optics.lens import LensState

        state = frame.lens_state or LensState(md.f_number)
        fit = lens_opcodes_for_frame(frame, lens, state)
        if fit.ops:
            info.opcode_list_3 = encode_opcode_list(fit.ops)
        if fit.list2:  # the lens shading, as GainMaps, as the DNG writer stores it
            info.opcode_list_2 = encode_opcode_list(fit.list2)
    return info


def _sensor_calibration(sensor: str):
    """The colour calibration the CLI writes into DNGs of this sensor."""
    from mountcam.dng.calibration import calibrate_dual
    from mountcam.sensor.model import load_sensor

    return calibrate_dual(load_sensor(sensor).qe)


# --------------------------------------------------------------------------------------------
# Execution in strips


def _pattern_at(pattern: str, row: int, col: int) -> str:
    """The 2×2 pattern seen from a window whose top-left is at (row, col) of the mosaic."""
    p = [pattern[0:2], pattern[2:4]]
    return "".join(p[(row + dy) % 2][(col + dx) % 2] for dy in (0, 1) for dx in (0, 1))


def _run(plan: Plan, info, dtype: np.dtype, timings: dict[str, float]) -> np.ndarray:
    mosaic = info.mosaic
    h, w = mosaic.shape[:2]
    linear = plan.linear_raw
    rows, cols = plan.crop
    out_h, out_w = rows.stop - rows.start, cols.stop - cols.start
    out = np.empty((out_h, out_w, 3), dtype=dtype)

    black = np.resize(np.asarray(info.black_level_dn, dtype=np.float32), (2, 2))
    span = np.float32(info.white_level_dn) - black
    # Per CFA position: (DN − black)·scale, scale = gain/(white − black); clip at gain (= the
    # channel's white level after white balance).
    colour_index = {"R": 0, "G": 1, "B": 2}
    gains_cfa = np.array(
        [plan.gains[colour_index[c]] for c in plan.pattern or "RGGB"], dtype=np.float32
    ).reshape(2, 2)
    scale = (gains_cfa / span).astype(np.float32)
    clip = plan.gains.astype(np.float32)  # clip levels of R, G, B after white balance
    top_cfa = gains_cfa
    clip_dn = np.resize(np.asarray(plan.clip_dn, dtype=np.float64), (2, 2))
    if not linear and np.any(clip_dn < float(info.white_level_dn)):
        # Channels that clip below WhiteLevel (mountcam.develop.highlights.channel_clip_levels):
        # their raw values stop at the clip, and highlight reconstruction takes each colour as
        # clipped from the lowest clip of its CFA positions.
        frac = (clip_dn - black) / span.astype(np.float64)
        top_cfa = (gains_cfa * frac).astype(np.float32)
        lowest = {c: min(frac[i, j] for i, j in np.ndindex(2, 2) if plan.pattern[2 * i + j] == c) for c in "RGB"}  # fmt: skip
        clip = (plan.gains * np.array([lowest[c] for c in "RGB"])).astype(np.float32)
    area_top, area_left = int(info.active_area[0]), int(info.active_area[1])
    unit_cfa = gains_cfa[:, :, None]  # raw white (x = 1) at each CFA position, for OpcodeList2
    if linear:  # per plane instead of per CFA position (mountcam.develop.linear_raw)
        black, scale, top_cfa, clip, unit_cfa = _linear_levels(plan, info)

    # A lone vignette gain rides in the colour kernel; any other lens correction (and denoise,
    # which sits between highlights and lens) needs the demosaiced strip as a whole first.
    fuse_vignette = plan.vignette is not None and plan.denoise is None
    separate_lens = plan.lens is not None and not fuse_vignette
    separate_highlights = plan.denoise is not None or separate_lens
    no_vignette = (np.zeros(1, np.float32), np.zeros(1, np.float32), np.zeros(5, np.float32))
    no_luma = np.zeros((1, 1), np.float32)
    margin = plan.demosaic_overlap + plan.denoise_overlap + plan.sharpen_overlap
    margin += margin % 2  # even margins keep the strip's CFA phase simple to follow
    strip_rows = STRIP_ROWS if plan.settings.quality == "fast" else HIGH_STRIP_ROWS
    strip_rows = out_h if plan.lens_whole_image else strip_rows
    matrix = plan.matrix.astype(np.float32)
    lut = plan.lut if plan.lut is not None else np.zeros(2, dtype=np.float32)
    use_lut = plan.lut is not None
    int_out = dtype != np.float32
    out_scale = float(np.iinfo(dtype).max) if int_out else 1.0

    if linear:  # no CFA cells to keep whole
        c0, c1 = max(0, cols.start - margin), min(w, cols.stop + margin)
    else:
        c0, c1 = _even_window(cols.start - margin, cols.stop + margin, cols.start, cols.stop, w)
    lut_x_max = np.float32(plan.lut_x_max)
    sharpen = plan.sharpen_params
    # 8-bit output with a tone curve (the JPEG path): the fixed-point kernel, whose uint16
    # results the sharpening reads (or which writes the 8-bit codes itself without it).
    fixed = None
    if dtype == np.uint8 and plan.lut is not None:
        fixed = build_lut_fixed(plan.tone, plan.lut_x_max)
        fixed_args = (fixed.table, np.int32(fixed.base), np.int32(fixed.shift))
    local = threading.local()
    lock = threading.Lock()
    # The fast demosaic fused into the 8-bit colour kernel (the JPEG path at base ISO); any
    # stage between the two (denoise, a lens warp) needs the demosaicked strip whole.
    fused = fixed is not None and plan.fast_demosaic and not separate_highlights
    t = dict.fromkeys(
        ("levels", "demosaic", "highlights", "denoise", "lens", "colour_tone",
         "demosaic_colour_tone", "sharpen"),
        0.0,
    )  # fmt: skip

    def strip(a: int) -> None:
        """Develop output rows [a, b) into ``out``; buffers are per thread and reused, since a
        fresh 25 MB array per strip pays its page faults again."""
        spent = dict.fromkeys(t, 0.0)
        b = min(rows.stop, a + strip_rows)
        if linear:
            r0, r1 = max(0, a - margin), min(h, b + margin)
        else:
            r0, r1 = _even_window(a - margin, b + margin, a, b, h)
        tic = time.perf_counter()
        if getattr(local, "cfa", None) is None:
            shape = (min(h, strip_rows + 2 * margin + 2), c1 - c0) + ((3,) if linear else ())
            local.cfa = np.empty(shape, np.float32)
            local.enc = None
        cfa = local.cfa[: r1 - r0]
        if linear:
            linear_levels_kernel(mosaic[r0:r1, c0:c1], black, scale, top_cfa, cfa)
        else:
            _levels_kernel(mosaic[r0:r1, c0:c1], r0 & 1, c0 & 1, black, scale, top_cfa, cfa)
        if plan.raw_opcodes is not None:
            apply_raw_opcodes(
                cfa, plan.raw_opcodes, window_rc=(r0 - area_top, c0 - area_left),
                unit=unit_cfa, parity=(r0 & 1, c0 & 1),
            )  # fmt: skip
        toc = time.perf_counter()
        spent["levels"] += toc - tic
        # Where this strip's output rows/cols sit inside the strip.
        oy, ox = a - r0, cols.start - c0
        target = out[a - rows.start : b - rows.start]
        sh, sw = r1 - r0, c1 - c0
        rgb = None
        if fused:
            # The demosaic runs inside the colour kernel, band by band: its time is booked
            # with the colour's, under "demosaic_colour_tone".
            rr, rc = divmod(_pattern_at(plan.pattern, r0, c0).index("R"), 2)
            runs = max(1, min(-(-sh // FUSED_BAND_ROWS), get_num_threads()))
            tic = toc
        elif linear:
            rgb = cfa  # camera RGB already: nothing to demosaic
            tic = toc
        else:
            rgb = plan.demosaic(cfa, _pattern_at(plan.pattern, r0, c0))
            rgb = np.ascontiguousarray(rgb, dtype=np.float32)
            tic = time.perf_counter()
            spent["demosaic"] += tic - toc
        if separate_highlights:
            reconstruct_highlights(rgb, clip, out=rgb)
            toc = time.perf_counter()
            spent["highlights"] += toc - tic
            tic = toc
            if plan.denoise is not None:
                rgb = np.ascontiguousarray(plan.denoise(rgb), dtype=np.float32)
                toc = time.perf_counter()
                spent["denoise"] += toc - tic
                tic = toc
            if separate_lens:
                rgb = np.ascontiguousarray(plan.lens(rgb, (r0, c0)), dtype=np.float32)
                toc = time.perf_counter()
                spent["lens"] += toc - tic
                tic = toc

        def finish_fixed(y: int, x: int, oh: int, ow: int, vig, dst, with_luma: bool, luma):
            """The fixed-point colour kernel on strip rows/cols [y, y+oh) × [x, x+ow)."""
            dv2, dh2, kv = vig if vig is not None else no_vignette
            if rgb is None:
                _fast_fixed_kernel(
                    cfa, rr, rc, y, x, oh, ow, clip, True, vig is not None, dv2, dh2, kv,
                    matrix, *fixed_args, dst, with_luma, luma, FUSED_BAND_ROWS, runs,
                )  # fmt: skip
            else:
                _finish_fixed_kernel(
                    rgb, y, x, oh, ow, clip, not separate_highlights, vig is not None, dv2,
                    dh2, kv, matrix, *fixed_args, dst, with_luma, luma,
                )  # fmt: skip

        colour_key = "demosaic_colour_tone" if fused else "colour_tone"
        if sharpen is None:
            vig = plan.vignette((r0 + oy, c0 + ox), (b - a, out_w)) if fuse_vignette else None
            if fixed is not None:
                finish_fixed(oy, ox, b - a, out_w, vig, target, False, no_luma)
            else:
                dv2, dh2, kv = vig if vig is not None else no_vignette
                _finish_kernel(
                    rgb, oy, ox, b - a, out_w, clip, not separate_highlights,
                    vig is not None, dv2, dh2, kv, matrix, lut, lut_x_max, use_lut,
                    np.float32(out_scale), target, False, no_luma,
                )  # fmt: skip
            spent[colour_key] += time.perf_counter() - tic
        else:
            # Colour, tone and encoding of the whole strip (the sharpening reads the context
            # rows) with its luma in the same pass; then the unsharp mask and the quantisation
            # write the output rows in one more pass (mountcam.develop.sharpen.sharpen_into).
            from mountcam.develop.sharpen import sharpen_fixed_into, sharpen_into

            enc_dtype = np.uint16 if fixed is not None else np.float32
            if (
                local.enc is None
                or local.enc.shape[0] < sh
                or local.enc.shape[1] != sw
                or local.enc.dtype != enc_dtype
            ):
                local.enc = np.empty((max(sh, local.cfa.shape[0]), sw, 3), dtype=enc_dtype)
                local.luma = np.empty(local.enc.shape[:2], dtype=np.float32)
                local.scratch = {}
            enc, luma = local.enc[:sh], local.luma[:sh]
            vig = plan.vignette((r0, c0), (sh, sw)) if fuse_vignette else None
            region = (oy, ox, b - a, out_w)
            if fixed is not None:
                finish_fixed(0, 0, sh, sw, vig, enc, True, luma)
                toc = time.perf_counter()
                spent[colour_key] += toc - tic
                sharpen_fixed_into(enc, luma, sharpen[0], sharpen[1], region, target, local.scratch)
            else:
                dv2, dh2, kv = vig if vig is not None else no_vignette
                _finish_kernel(
                    rgb, 0, 0, sh, sw, clip, not separate_highlights, vig is not None, dv2,
                    dh2, kv, matrix, lut, lut_x_max, use_lut, np.float32(1.0), enc, True, luma,
                )  # fmt: skip
                toc = time.perf_counter()
                spent["colour_tone"] += toc - tic
                sharpen_into(
                    enc, luma, sharpen[0], sharpen[1], region, out_scale, target,
                    local.scratch,
                )  # fmt: skip
            spent["sharpen"] += time.perf_counter() - toc
        with lock:
            for k, v in spent.items():
                t[k] += v

    starts = list(range(rows.start, rows.stop, strip_rows))
    workers = min(STRIP_WORKERS, len(starts))
    if not concurrent_launches_are_safe():
        workers = 1  # numba's workqueue layer would abort on concurrent kernel launches
    if workers > 1:
        # Two strips in flight keep both cores busy through the serial parts of each stage
        # (Python glue, OpenCV calls, allocation) that a single strip would leave idle.
        # One numba thread per strip worker (numba's setting is per calling thread): the
        # strips already keep both cores busy, and a parallel kernel launched from each of
        # them would split every strip again and wait on the other's threads.
        with ThreadPoolExecutor(
            max_workers=workers, initializer=set_num_threads, initargs=(1,)
        ) as pool:
            list(pool.map(strip, starts))
    else:
        for a in starts:
            strip(a)
    # Stage times are summed over the strip threads (CPU-side cost per stage); "total" in
    # develop() is the wall time.
    timings.update({k: v for k, v in t.items() if v > 0})
    return out


def _linear_levels(plan: Plan, info) -> tuple:
    """(black, scale, top, clip, unit) per plane for a LinearRaw image: levels step, highlight
    clip levels and OpcodeList2's white (:mod:`mountcam.develop.linear_raw`)."""
    black = np.asarray(info.black_level_dn, dtype=np.float64)
    span = np.asarray(info.white_levels_dn, dtype=np.float64) - black
    gains = np.asarray(plan.gains, dtype=np.float64)
    frac = np.minimum((np.asarray(plan.clip_dn, dtype=np.float64) - black) / span, 1.0)
    top = (gains * frac).astype(np.float32)
    unit = np.broadcast_to(gains.astype(np.float32), (2, 2, 3))
    return black.astype(np.float32), (gains / span).astype(np.float32), top, top, unit


def _even_window(lo: int, hi: int, need_lo: int, need_hi: int, size: int) -> tuple[int, int]:
    """[lo, hi) clipped to [0, size), widened or trimmed to an even start and an even length
    (whole 2×2 CFA cells, as demosaicking needs) while still covering [need_lo, need_hi)."""
    lo = max(0, lo)
    lo -= lo & 1
    hi = min(size, hi)
    if (hi - lo) & 1:
        if hi < size:
            hi += 1
        elif hi - 1 >= need_hi:
            hi -= 1
        elif lo > 0:
            lo -= 1  # an odd start; _pattern_at follows the phase
        else:
            raise UnreadableFile(
                f"the raw image is {size} pixels across, an odd number; a Bayer mosaic needs "
                "whole 2×2 cells"
            )
    return lo, hi


@njit(parallel=True, nogil=True, cache=True)
def _levels_kernel(mosaic, py, px, black, scale, top, out):  # pragma: no cover - compiled
    """out = clip((DN − black[pos])·scale[pos], ≤ top[pos]) for each CFA position ``pos``;
    ``py``, ``px`` the parity of the window's origin in the full mosaic."""
    h, w = out.shape
    for y in prange(h):
        yy = (y + py) & 1
        b0, b1 = black[yy, 0], black[yy, 1]
        s0, s1 = scale[yy, 0], scale[yy, 1]
        t0, t1 = top[yy, 0], top[yy, 1]
        for x in range(w):
            if ((x + px) & 1) == 0:
                v = (np.float32(mosaic[y, x]) - b0) * s0
                out[y, x] = v if v < t0 else t0
            else:
                v = (np.float32(mosaic[y, x]) - b1) * s1
                out[y, x] = v if v < t1 else t1


@njit(inline="always", nogil=True, cache=True)
def _linear_row(rgb, i, ox, ow, recon, clip, vig, dv2_i, dh2, kv, m, gains, buf):
    """Row ``i`` of ``rgb`` from column ``ox`` (``ow`` pixels): highlights (optional), vignette
    gain (optional), 3×3 colour matrix, into ``buf`` as three planes (R…, G…, B…): planar, so
    the LUT pass that follows is one flat loop the compiler can vectorise."""
    lr, lg, lb = clip[0], clip[1], clip[2]
    if vig:
        k0, k1, k2, k3, k4 = kv[0], kv[1], kv[2], kv[3], kv[4]
        for x in range(ow):
            gains[x] = vignette_gain(dv2_i, dh2[x], k0, k1, k2, k3, k4)
    m00, m01, m02 = m[0, 0], m[0, 1], m[0, 2]
    m10, m11, m12 = m[1, 0], m[1, 1], m[1, 2]
    m20, m21, m22 = m[2, 0], m[2, 1], m[2, 2]
    for x in range(ow):
        r = rgb[i, ox + x, 0]
        g = rgb[i, ox + x, 1]
        b = rgb[i, ox + x, 2]
        if recon:
            r, g, b = blend_pixel(r, g, b, lr, lg, lb)
        if vig:
            gain = gains[x]
            r, g, b = r * gain, g * gain, b * gain
        buf[x] = m00 * r + m01 * g + m02 * b
        buf[ow + x] = m10 * r + m11 * g + m12 * b
        buf[2 * ow + x] = m20 * r + m21 * g + m22 * b


@njit(parallel=True, nogil=True, cache=True)
def _finish_kernel(
    rgb, oy, ox, oh, ow, clip, recon, vig, dv2, dh2, kv, m, lut, x_max, use_lut, out_scale, out,
    with_luma, luma,
):  # pragma: no cover - compiled  # fmt: skip
    """Highlights (optional), vignette gain (optional, ``dv2`` / ``dh2`` from
    :func:`~mountcam.develop.lens_correction.vignette_terms` for the region), 3×3 colour
    matrix, tone+encoding LUT (optional; linear interpolation in a
    :func:`~mountcam.develop.tone.build_lut` table), quantisation, and the BT.709 luma Y' of
    the result (optional, into ``luma``; the sharpening's input).

    ``rgb[oy:oy+oh, ox:ox+ow]`` -> ``out[0:oh, 0:ow]``; integer ``out`` gets round(v·scale)
    clipped to 0..scale, float ``out`` gets v (v·scale clipped when the LUT is off and the
    output is integer)."""
    n = lut.size
    fn = np.float32(n - 1)
    inv = fn / x_max
    last = np.uint32(n - 2)
    is_int = out_scale > 1.5
    zero = np.float32(0.0)
    half = np.float32(0.5)
    wr, wg, wb = np.float32(0.2126), np.float32(0.7152), np.float32(0.0722)
    for y in prange(oh):
        buf = np.empty(3 * ow, np.float32)
        gains = np.empty(ow if vig else 1, np.float32)
        _linear_row(rgb, oy + y, ox, ow, recon, clip, vig, dv2[y], dh2, kv, m, gains, buf)
        if use_lut:
            for j in range(3 * ow):
                # u ≤ n − 1 and k ≤ n − 2: no branch for the table's end (u = n − 1 gives
                # k = n − 2 with weight 1, the last entry). Unsigned k: numba then skips the
                # wrap-around of negative indices (30 % of this loop's time).
                u = min(max(buf[j] * inv, zero), fn)
                k = min(np.uint32(u), last)
                a = lut[k]
                buf[j] = a + (lut[k + np.uint32(1)] - a) * (u - np.float32(k))
        for x in range(ow):
            o0 = buf[x]
            o1 = buf[ow + x]
            o2 = buf[2 * ow + x]
            if with_luma:
                luma[y, x] = wr * o0 + wg * o1 + wb * o2
            if is_int:
                o0 = min(max(o0 * out_scale + half, zero), out_scale)
                o1 = min(max(o1 * out_scale + half, zero), out_scale)
                o2 = min(max(o2 * out_scale + half, zero), out_scale)
            out[y, x, 0] = o0
            out[y, x, 1] = o1
            out[y, x, 2] = o2


@njit(nogil=True, cache=True)
def _linear_planes(row, ow, recon, clip, vig, dv2_i, dh2, kv, m, p0, p1, p2):  # pragma: no cover
    """One row of the fixed-point path: ``row`` is the row's interleaved RGB from the first
    output pixel (flat, 3·``ow`` values); highlights (optional), vignette gain (optional) and
    the 3×3 matrix into the planes ``p0``, ``p1``, ``p2``.

    Why two loops: the first is branch-free (the clip test only counts), so the compiler
    vectorises it; the highlight blend, with its branches and square root, then runs only on
    the few clipped pixels of the few rows that have any, giving the same values as
    :func:`_linear_row`. A function of its own, called per row: the same loop written inside
    the ``prange`` body measured 0.29 s at 50 MP on one thread, this one 0.05 s alone and
    0.10 s with the motorcycle's clipped rows (vignette included). Unsigned indices spare
    numba's negative-index wrap-around (a few % more)."""
    lr, lg, lb = clip[0], clip[1], clip[2]
    # float32 thresholds a hair below blend_pixel's own (float64) test: every pixel it would
    # change is flagged; a flagged pixel that it leaves alone gets the same values again.
    frac = CLIP_FRACTION * (1.0 - 1e-6)
    tr, tg, tb = np.float32(frac * lr), np.float32(frac * lg), np.float32(frac * lb)
    k0, k1, k2, k3, k4 = kv[0], kv[1], kv[2], kv[3], kv[4]
    m00, m01, m02 = m[0, 0], m[0, 1], m[0, 2]
    m10, m11, m12 = m[1, 0], m[1, 1], m[1, 2]
    m20, m21, m22 = m[2, 0], m[2, 1], m[2, 2]
    n = np.uint64(ow)
    u1, u2, u3 = np.uint64(1), np.uint64(2), np.uint64(3)
    clipped = np.int32(0)
    for x in range(n):
        x3 = u3 * x
        r, g, b = row[x3], row[x3 + u1], row[x3 + u2]
        clipped += np.int32((r >= tr) | (g >= tg) | (b >= tb))
        if vig:
            gain = vignette_gain(dv2_i, dh2[x], k0, k1, k2, k3, k4)
            r, g, b = r * gain, g * gain, b * gain
        p0[x] = m00 * r + m01 * g + m02 * b
        p1[x] = m10 * r + m11 * g + m12 * b
        p2[x] = m20 * r + m21 * g + m22 * b
    if not recon or clipped == 0:
        return
    for x in range(n):
        x3 = u3 * x
        r, g, b = row[x3], row[x3 + u1], row[x3 + u2]
        if (r >= tr) | (g >= tg) | (b >= tb):
            r, g, b = blend_pixel(r, g, b, lr, lg, lb)
            if vig:
                gain = vignette_gain(dv2_i, dh2[x], k0, k1, k2, k3, k4)
                r, g, b = r * gain, g * gain, b * gain
            p0[x] = m00 * r + m01 * g + m02 * b
            p1[x] = m10 * r + m11 * g + m12 * b
            p2[x] = m20 * r + m21 * g + m22 * b


@njit(nogil=True, cache=True)
def _lut_fixed_row(p, ow, table, base, shift, q, out, with_luma, luma):  # pragma: no cover
    """The planes ``p`` (float32 (3, ``ow``), overwritten) of one row through a
    :func:`~mountcam.develop.tone.build_lut_fixed` table (index from the float32 bits: see
    :class:`~mountcam.develop.tone.FixedLut`), via ``q`` (uint16 (3, ``ow``) scratch).
    ``out`` is the row's interleaved output, flat: uint16 gets the table's values (code ×
    256), uint8 the rounded 8-bit code ``(e + 128) >> 8``; ``luma`` (when ``with_luma``) gets
    the BT.709 luma Y' of the row, 1.0 = white.

    Three loops, because only the gather cannot be vectorised: the indices (integer SIMD, in
    place of the floats), the gather, then the interleaving with the luma (SIMD again).
    Measured at 50 MP, one thread: 0.14 s, against 0.29 s for the same work in one loop."""
    last = np.int32(table.size - 1)
    zero = np.int32(0)
    n3 = np.uint64(3 * ow)
    bits = p.reshape(-1).view(np.int32)
    for x in range(n3):
        bits[x] = min(max((bits[x] >> shift) - base, zero), last)
    qf = q.reshape(-1)
    for x in range(n3):
        qf[x] = table[np.uint32(bits[x])]
    scale = np.float32(1.0 / FIXED_ONE)
    wr, wg, wb = np.float32(0.2126) * scale, np.float32(0.7152) * scale, np.float32(0.0722) * scale
    q0, q1, q2 = q[0], q[1], q[2]
    n = np.uint64(ow)
    u1, u2, u3 = np.uint64(1), np.uint64(2), np.uint64(3)
    half, eight = np.uint32(128), np.uint32(8)
    if out.itemsize == 1:
        for x in range(n):
            x3 = u3 * x
            out[x3] = (np.uint32(q0[x]) + half) >> eight
            out[x3 + u1] = (np.uint32(q1[x]) + half) >> eight
            out[x3 + u2] = (np.uint32(q2[x]) + half) >> eight
    else:
        for x in range(n):
            x3 = u3 * x
            out[x3] = q0[x]
            out[x3 + u1] = q1[x]
            out[x3 + u2] = q2[x]
    if with_luma:
        for x in range(n):
            luma[x] = wr * np.float32(q0[x]) + wg * np.float32(q1[x]) + wb * np.float32(q2[x])


@njit(parallel=True, nogil=True, cache=True)
def _finish_fixed_kernel(
    rgb, oy, ox, oh, ow, clip, recon, vig, dv2, dh2, kv, m, table, base, shift, out, with_luma,
    luma,
):  # pragma: no cover - compiled  # fmt: skip
    """The 8-bit path of :func:`_finish_kernel`: the same highlights, vignette and matrix,
    then the nearest entry of a fixed-point LUT (:func:`~mountcam.develop.tone.build_lut_fixed`;
    within 0.01 of an 8-bit code of the curve) instead of the interpolated float LUT.
    ``rgb[oy:oy+oh, ox:ox+ow]`` -> ``out[0:oh, 0:ow]``: uint8 codes, or uint16 code × 256 for
    the sharpening (:func:`~mountcam.develop.sharpen.sharpen_fixed_into`), which then also
    needs ``luma`` (``with_luma``). Measured at 50 MP, one thread: 0.24 s against the float
    kernel's 0.56 s."""
    for y in prange(oh):
        p = np.empty((3, ow), np.float32)
        q = np.empty((3, ow), np.uint16)
        row = rgb[oy + y].reshape(-1)[3 * ox : 3 * (ox + ow)]
        dv2_y = dv2[y] if vig else np.float32(0.0)
        _linear_planes(row, ow, recon, clip, vig, dv2_y, dh2, kv, m, p[0], p[1], p[2])
        luma_y = luma[min(np.int64(y), luma.shape[0] - 1)]  # no_luma has one row
        _lut_fixed_row(p, ow, table, base, shift, q, out[y].reshape(-1), with_luma, luma_y)


@njit(parallel=True, nogil=True, cache=True)
def _fast_fixed_kernel(
    cfa, rr, rc, oy, ox, oh, ow, clip, recon, vig, dv2, dh2, kv, m, table, base, shift, out,
    with_luma, luma, band, runs,
):  # pragma: no cover - compiled  # fmt: skip
    """The ``fast`` demosaic and :func:`_finish_fixed_kernel` fused band by band: rows
    ``oy … oy + oh − 1`` of the mosaic ``cfa`` (red site at parities ``rr``, ``rc``) are
    demosaicked ``band`` (≤ :data:`~mountcam.develop.demosaic_fast.BAND_ROWS`) at a time
    (:func:`~mountcam.develop.demosaic_fast.demosaic_rows`, identical rows) and each band
    goes through highlights, vignette, matrix and the fixed-point LUT while it is in cache,
    so the strip's float32 RGB is never written to memory and read back. ``runs``: how many
    runs of consecutive bands to share among the threads."""
    width = cfa.shape[1]
    bands = (oh + band - 1) // band
    wp = width + 2 * HALO
    for t in prange(runs):
        p_buf = np.empty((band + 2 * HALO, wp), np.float32)
        d_buf = np.empty((band + 2 * HALO, wp), np.float32)
        planes = np.empty((3, width), np.float32)
        rgb = np.empty((band, width, 3), np.float32)
        p = np.empty((3, ow), np.float32)
        q = np.empty((3, ow), np.uint16)
        for bi in range(t * bands // runs, (t + 1) * bands // runs):
            a = oy + bi * band
            b = min(oy + oh, a + band)
            demosaic_rows(cfa, rr, rc, a, b, rgb, a, p_buf, d_buf, planes)
            for y in range(a, b):
                yy = y - oy
                row = rgb[y - a].reshape(-1)[3 * ox : 3 * (ox + ow)]
                dv2_y = dv2[yy] if vig else np.float32(0.0)
                _linear_planes(row, ow, recon, clip, vig, dv2_y, dh2, kv, m, p[0], p[1], p[2])
                luma_y = luma[min(yy, luma.shape[0] - 1)]  # no_luma has one row
                _lut_fixed_row(p, ow, table, base, shift, q, out[yy].reshape(-1), with_luma, luma_y)
