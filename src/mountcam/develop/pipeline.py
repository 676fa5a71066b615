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
final uint8/uint16/float32 pixels in place. Only the stages that exist and are switched on
run; the rest cost nothing.
"""

from __future__ import annotations

import math
import os
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit, prange

from mountcam.develop.colour import ColourProfile, xyz_d50_to_output
from mountcam.develop.highlights import blend_pixel, reconstruct_highlights
from mountcam.develop.image import Image
from mountcam.develop.looks import load_look
from mountcam.develop.settings import DevelopSettings
from mountcam.develop.tone import build_lut, build_lut_u8
from mountcam.develop.white_balance import cfa_planes, neutral_for
from mountcam.errors import UnreadableFile

#: Output rows per strip. ~256 rows of a 8192-wide image keep a strip's float32 RGB (25 MB)
#: near the last-level cache while the per-strip overhead stays negligible.
STRIP_ROWS = 256
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
    area. Files that cannot be developed raise :class:`~mountcam.errors.UnreadableFile`.
    """
    settings = settings or DevelopSettings()
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
    timings["total"] = time.perf_counter() - t0
    return Image(
        pixels=pixels,
        color_space=plan.color_space,
        linear=plan.settings.linear,
        source=info,
        settings=settings,
        timings_s=timings,
    )


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


def plan_development(info, settings: DevelopSettings) -> Plan:
    """Decide white balance, matrices, LUT and stages for ``info`` (a DngInfo)."""
    eff = settings.effective
    pattern = str(info.cfa_pattern).upper()
    if pattern not in PATTERNS:
        raise UnreadableFile(
            f"{info.path}: CFA pattern {info.cfa_pattern!r} is not a Bayer layout mountcam can "
            f"develop ({', '.join(PATTERNS)})"
        )
    white = float(info.white_level_dn)
    black = np.asarray(info.black_level_dn, dtype=np.float64)
    if black.shape != (4,) or not np.all(black < white):
        raise UnreadableFile(
            f"{info.path}: black levels {tuple(black)} are not below the white level {white:g}"
        )
    profile = ColourProfile.from_dng(info)
    planes = None
    if eff.wb == "auto":
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
    lens_fn, whole = (None, False)
    if eff.lens_correction:
        lens_fn, whole = _lens_stage(info)
    sharpen_fn, sharpen_overlap = (None, 0)
    if eff.sharpen:
        sharpen_fn, sharpen_overlap = _sharpen_stage(eff.quality)

    rows, cols = info.crop_slices
    h, w = info.mosaic.shape
    rows = slice(max(0, rows.start), min(h, rows.stop))
    cols = slice(max(0, cols.start), min(w, cols.stop))
    if rows.stop - rows.start < 2 or cols.stop - cols.start < 2:
        raise UnreadableFile(f"{info.path}: the default crop leaves no picture")
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
    return (lambda cfa, pattern: module.demosaic(cfa, pattern, method)), overlap


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
        return None, False
    try:
        from mountcam.develop.lens_correction import apply_opcodes
        from mountcam.dng.opcodes import WarpRectilinear, decode_opcode_list
    except ImportError:
        return None, False
    ops = decode_opcode_list(data)
    if not ops:
        return None, False
    top, left, bottom, right = (int(v) for v in info.active_area)
    full = (bottom - top, right - left)
    whole = any(isinstance(op, WarpRectilinear) for op in ops)

    def apply(rgb: np.ndarray, origin_rc: tuple[int, int]) -> np.ndarray:
        return apply_opcodes(
            rgb, ops, origin_rc=(origin_rc[0] - top, origin_rc[1] - left), full_size_hw=full
        )

    return apply, whole


def _sharpen_stage(quality: str):
    try:
        from mountcam.develop import sharpen as module
    except ImportError:
        return None, 0
    amount, radius = (0.6, 0.8) if quality == "fast" else (0.8, 0.7)
    overlap = int(math.ceil(4 * radius)) + 2  # the Gaussian's reach (4σ) + the 3×3 clamp
    return (lambda rgb: module.sharpen(rgb, amount, radius)), overlap


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
    would (same DefaultCrop margin, colour calibration, neutral), without writing a file."""
    from mountcam.dng.reader import DngInfo
    from mountcam.dng.writer import DEMOSAIC_MARGIN_PX

    md = frame.metadata
    cal = calibration if calibration is not None else _sensor_calibration(md.sensor)
    h, w = frame.mosaic.shape
    m = DEMOSAIC_MARGIN_PX
    info = DngInfo(
        path=Path(f"<RawFrame {md.scene} #{md.frame_index}>"),
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
    return info


def _sensor_calibration(sensor: str):
    """The colour calibration the CLI writes into DNGs of this sensor."""
    import colour

    from mountcam.dng import calibration as cal_module
    from mountcam.sensor.model import load_sensor
    from mountcam.spectra import sd_on_grid

    qe = load_sensor(sensor).qe
    if hasattr(cal_module, "calibrate_dual"):
        return cal_module.calibrate_dual(qe)
    return cal_module.calibrate(qe, sd_on_grid(colour.SDS_ILLUMINANTS["D65"]), 21)


# --------------------------------------------------------------------------------------------
# Execution in strips


def _pattern_at(pattern: str, row: int, col: int) -> str:
    """The 2×2 pattern seen from a window whose top-left is at (row, col) of the mosaic."""
    p = [pattern[0:2], pattern[2:4]]
    return "".join(p[(row + dy) % 2][(col + dx) % 2] for dy in (0, 1) for dx in (0, 1))


def _run(plan: Plan, info, dtype: np.dtype, timings: dict[str, float]) -> np.ndarray:
    mosaic = info.mosaic
    h, w = mosaic.shape
    rows, cols = plan.crop
    out_h, out_w = rows.stop - rows.start, cols.stop - cols.start
    out = np.empty((out_h, out_w, 3), dtype=dtype)

    black = np.asarray(info.black_level_dn, dtype=np.float32).reshape(2, 2)
    span = np.float32(info.white_level_dn) - black
    # Per CFA position: (DN − black)·scale, scale = gain/(white − black); clip at gain (= the
    # channel's white level after white balance).
    colour_index = {"R": 0, "G": 1, "B": 2}
    gains_cfa = np.array(
        [plan.gains[colour_index[c]] for c in plan.pattern], dtype=np.float32
    ).reshape(2, 2)
    scale = (gains_cfa / span).astype(np.float32)
    clip = plan.gains.astype(np.float32)  # clip levels of R, G, B after white balance

    separate_highlights = plan.denoise is not None or plan.lens is not None
    margin = plan.demosaic_overlap + plan.denoise_overlap + plan.sharpen_overlap
    margin += margin % 2  # even margins keep the strip's CFA phase simple to follow
    strip_rows = out_h if plan.lens_whole_image else STRIP_ROWS
    matrix = plan.matrix.astype(np.float32)
    lut = plan.lut if plan.lut is not None else np.zeros(2, dtype=np.float32)
    use_lut = plan.lut is not None
    int_out = dtype != np.float32
    out_scale = float(np.iinfo(dtype).max) if int_out else 1.0

    c0, c1 = _even_window(cols.start - margin, cols.stop + margin, cols.start, cols.stop, w)
    lut_x_max = np.float32(plan.lut_x_max)
    lut8 = None
    if dtype == np.uint8 and plan.lut is not None and plan.sharpen is None:
        lut8 = build_lut_u8(plan.tone, plan.lut_x_max)
    local = threading.local()
    lock = threading.Lock()
    t = dict.fromkeys(
        ("levels", "demosaic", "highlights", "denoise", "lens", "colour_tone", "sharpen"), 0.0
    )

    def strip(a: int) -> None:
        """Develop output rows [a, b) into ``out``; buffers are per thread and reused, since a
        fresh 25 MB array per strip pays its page faults again."""
        spent = dict.fromkeys(t, 0.0)
        b = min(rows.stop, a + strip_rows)
        r0, r1 = _even_window(a - margin, b + margin, a, b, h)
        tic = time.perf_counter()
        if getattr(local, "cfa", None) is None:
            local.cfa = np.empty((min(h, strip_rows + 2 * margin + 2), c1 - c0), np.float32)
            local.enc = None
        cfa = local.cfa[: r1 - r0]
        _levels_kernel(mosaic[r0:r1, c0:c1], r0 & 1, c0 & 1, black, scale, gains_cfa, cfa)
        toc = time.perf_counter()
        spent["levels"] += toc - tic
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
            if plan.lens is not None:
                rgb = np.ascontiguousarray(plan.lens(rgb, (r0, c0)), dtype=np.float32)
                toc = time.perf_counter()
                spent["lens"] += toc - tic
                tic = toc
        # Where this strip's output rows/cols sit inside the strip.
        oy, ox = a - r0, cols.start - c0
        target = out[a - rows.start : b - rows.start]
        if plan.sharpen is None and lut8 is not None:
            _finish_u8_kernel(
                rgb, oy, ox, b - a, out_w, clip, not separate_highlights,
                matrix, lut8, lut_x_max, target,
            )  # fmt: skip
            spent["colour_tone"] += time.perf_counter() - tic
        elif plan.sharpen is None:
            _finish_kernel(
                rgb, oy, ox, b - a, out_w, clip, not separate_highlights,
                matrix, lut, lut_x_max, use_lut, np.float32(out_scale), target,
            )  # fmt: skip
            spent["colour_tone"] += time.perf_counter() - tic
        else:
            if local.enc is None or local.enc.shape[0] < rgb.shape[0] or local.enc.shape[1:] != rgb.shape[1:]:  # fmt: skip
                local.enc = np.empty((local.cfa.shape[0],) + rgb.shape[1:], dtype=np.float32)
            enc = local.enc[: rgb.shape[0]]
            _finish_kernel(
                rgb, 0, 0, rgb.shape[0], rgb.shape[1], clip, not separate_highlights,
                matrix, lut, lut_x_max, use_lut, np.float32(1.0), enc,
            )  # fmt: skip
            toc = time.perf_counter()
            spent["colour_tone"] += toc - tic
            enc = np.asarray(plan.sharpen(enc), dtype=np.float32)
            region = enc[oy : oy + (b - a), ox : ox + out_w]
            _quantise_kernel(region, np.float32(out_scale), int_out, target)
            spent["sharpen"] += time.perf_counter() - toc
        with lock:
            for k, v in spent.items():
                t[k] += v

    starts = list(range(rows.start, rows.stop, strip_rows))
    workers = min(STRIP_WORKERS, len(starts))
    if workers > 1:
        # Two strips in flight keep both cores busy through the serial parts of each stage
        # (Python glue, OpenCV calls, allocation) that a single strip would leave idle.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(strip, starts))
    else:
        for a in starts:
            strip(a)
    # Stage times are summed over the strip threads (CPU-side cost per stage); "total" in
    # develop() is the wall time.
    timings.update({k: v for k, v in t.items() if v > 0})
    return out


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
def _lut(lut, v, n_over_x_max, fn):  # pragma: no cover - compiled
    """Linear interpolation in a LUT from :func:`~mountcam.develop.tone.build_lut`."""
    u = min(max(v * n_over_x_max, np.float32(0.0)), fn)
    i = int(u)
    if i >= lut.size - 1:
        return lut[lut.size - 1]
    return lut[i] + (lut[i + 1] - lut[i]) * (u - np.float32(i))


@njit(parallel=True, nogil=True, cache=True)
def _finish_kernel(
    rgb, oy, ox, oh, ow, clip, recon, m, lut, x_max, use_lut, out_scale, out
):  # pragma: no cover - compiled
    """Highlights (optional), 3×3 colour matrix, tone+encoding LUT (optional), quantisation.

    ``rgb[oy:oy+oh, ox:ox+ow]`` -> ``out[0:oh, 0:ow]``; integer ``out`` gets round(v·scale)
    clipped to 0..scale, float ``out`` gets v (v·scale clipped when the LUT is off and the
    output is integer)."""
    fn = np.float32(lut.size - 1)
    inv = fn / x_max
    is_int = out_scale > 1.5
    lr, lg, lb = clip[0], clip[1], clip[2]
    for y in prange(oh):
        for x in range(ow):
            r = rgb[oy + y, ox + x, 0]
            g = rgb[oy + y, ox + x, 1]
            b = rgb[oy + y, ox + x, 2]
            if recon:
                r, g, b = blend_pixel(r, g, b, lr, lg, lb)
            o0 = m[0, 0] * r + m[0, 1] * g + m[0, 2] * b
            o1 = m[1, 0] * r + m[1, 1] * g + m[1, 2] * b
            o2 = m[2, 0] * r + m[2, 1] * g + m[2, 2] * b
            if use_lut:
                o0 = _lut(lut, o0, inv, fn)
                o1 = _lut(lut, o1, inv, fn)
                o2 = _lut(lut, o2, inv, fn)
            if is_int:
                o0 = min(max(o0 * out_scale + np.float32(0.5), np.float32(0.0)), out_scale)
                o1 = min(max(o1 * out_scale + np.float32(0.5), np.float32(0.0)), out_scale)
                o2 = min(max(o2 * out_scale + np.float32(0.5), np.float32(0.0)), out_scale)
            out[y, x, 0] = o0
            out[y, x, 1] = o1
            out[y, x, 2] = o2


@njit(parallel=True, nogil=True, cache=True)
def _finish_u8_kernel(rgb, oy, ox, oh, ow, clip, recon, m, lut8, x_max, out):  # pragma: no cover
    """The 8-bit fast path of :func:`_finish_kernel`: nearest entry of a uint8 LUT from
    :func:`~mountcam.develop.tone.build_lut_u8` (no interpolation, no rounding per pixel)."""
    fn = np.float32(lut8.size - 1)
    k = np.float32(lut8.size) / x_max
    lr, lg, lb = clip[0], clip[1], clip[2]
    zero = np.float32(0.0)
    for y in prange(oh):
        for x in range(ow):
            r = rgb[oy + y, ox + x, 0]
            g = rgb[oy + y, ox + x, 1]
            b = rgb[oy + y, ox + x, 2]
            if recon:
                r, g, b = blend_pixel(r, g, b, lr, lg, lb)
            o0 = m[0, 0] * r + m[0, 1] * g + m[0, 2] * b
            o1 = m[1, 0] * r + m[1, 1] * g + m[1, 2] * b
            o2 = m[2, 0] * r + m[2, 1] * g + m[2, 2] * b
            out[y, x, 0] = lut8[int(min(max(o0 * k, zero), fn))]
            out[y, x, 1] = lut8[int(min(max(o1 * k, zero), fn))]
            out[y, x, 2] = lut8[int(min(max(o2 * k, zero), fn))]


@njit(parallel=True, nogil=True, cache=True)
def _quantise_kernel(src, out_scale, is_int, out):  # pragma: no cover - compiled
    h, w = src.shape[0], src.shape[1]
    for y in prange(h):
        for x in range(w):
            for c in range(3):
                v = src[y, x, c]
                if is_int:
                    v = min(max(v * out_scale + np.float32(0.5), np.float32(0.0)), out_scale)
                out[y, x, c] = v
