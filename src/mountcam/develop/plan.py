"""Planning a development: everything that does not touch pixels, decided once per picture.

:func:`plan_development` turns a :class:`~mountcam.dng.reader.DngInfo` and
:class:`~mountcam.develop.settings.DevelopSettings` into a :class:`Plan`: the white balance,
one 3×3 matrix from white-balanced camera RGB to output RGB (colour profile, exposure, look
saturation), the tone+encoding LUT, and which stages run with how many context rows.
:mod:`mountcam.develop.strips` then executes it on the pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mountcam.develop import demosaic as demosaic_module
from mountcam.develop import denoise as denoise_module
from mountcam.develop import sharpen as sharpen_module
from mountcam.develop.colour import ColourProfile, xyz_d50_to_output
from mountcam.develop.highlights import channel_clip_levels
from mountcam.develop.lens_correction import (
    StripWarp,
    apply_opcodes,
    significant_opcodes,
    vignette_terms,
    warp_max_shift_px,
)
from mountcam.develop.linear_raw import linear_planes
from mountcam.develop.looks import load_look
from mountcam.develop.raw_opcodes import RawOpcodes, prepare_raw_opcodes
from mountcam.develop.settings import DevelopSettings
from mountcam.develop.tone import build_lut
from mountcam.develop.white_balance import cfa_planes, neutral_for
from mountcam.dng.opcodes import FixVignetteRadial, WarpRectilinear, decode_opcode_list
from mountcam.errors import UnreadableFile

PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")
#: ISO at which denoising reaches full strength (see :func:`denoise_strength`).
DENOISE_FULL_ISO = 3200.0
BASE_ISO = 100.0
DENOISE_MIN_STRENGTH = 0.05
#: (amount, σ in pixels) of the output sharpening by quality.
SHARPEN_PARAMS = {"fast": (0.6, 0.8), "high": (0.8, 0.7)}


@dataclass(frozen=True)
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
    #: (levelled mosaic, its 2×2 pattern) -> camera RGB; None for a LinearRaw image.
    demosaic: Callable[[np.ndarray, str], np.ndarray] | None
    demosaic_overlap: int
    denoise: Callable[[np.ndarray], np.ndarray] | None
    denoise_overlap: int
    #: The OpcodeList3 corrections of a demosaicked window: (rgb, its origin_rc in the mosaic,
    #: the mosaic rows [a, b) to return) -> the corrected rows a..b − 1 over rgb's columns.
    #: Without a warp those are rgb's own rows.
    lens: Callable[[np.ndarray, tuple[int, int], tuple[int, int]], np.ndarray] | None
    #: The lens correction needs the whole picture at once (more than one warp).
    lens_whole_image: bool
    sharpen: Callable[[np.ndarray], np.ndarray] | None
    sharpen_overlap: int
    #: When the lens correction is one FixVignetteRadial: (origin_rc, shape_hw) -> its
    #: (dv², dh², k) for the colour kernel to apply in its own pass (``lens`` is then unused).
    vignette: Callable[[tuple[int, int], tuple[int, int]], tuple] | None = None
    #: (amount, σ in pixels) of the output sharpening fused after the colour kernel.
    sharpen_params: tuple[float, float] | None = None
    #: ``demosaic`` is mountcam's ``fast`` one, which the 8-bit path may run band by band
    #: inside its colour kernel (:func:`~mountcam.develop.strips.fused_fast_strip`).
    fast_demosaic: bool = False
    #: With a warp in the lens correction: (output rows [a, b), columns [c0, c1)) -> the
    #: mosaic rows [first, stop) the warp reads for them (so strips demosaic only those).
    lens_source_rows: Callable[[tuple[int, int], tuple[int, int]], tuple[int, int]] | None = None
    #: How far, pixels, the warp reads beyond a pixel's own position (bicubic support included).
    lens_reach_px: int = 0
    #: OpcodeList2 (GainMap, MapTable, MapPolynomial) applied to each strip of the mosaic
    #: after levels: :class:`~mountcam.develop.raw_opcodes.RawOpcodes`, or None.
    raw_opcodes: RawOpcodes | None = None
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
    linear = info.linear_raw  # camera RGB: no demosaic
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
    neutral = neutral_for(eff.wb, profile, info.as_shot_neutral, planes)
    gains = 1.0 / neutral

    cam_to_pcs = profile.camera_to_pcs(neutral)
    space = "linear-rec709" if eff.linear else eff.output_space
    to_out = xyz_d50_to_output(space) @ cam_to_pcs
    baseline = float(info.baseline_exposure or 0.0)
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

    method = "fast" if eff.quality == "fast" else "high"
    denoise_fn, denoise_overlap = (None, 0)
    if eff.denoise:
        denoise_fn, denoise_overlap = _denoise_stage(info, gains)
    lens, raw_ops = LensStage(), None
    if eff.lens_correction:
        lens = _lens_stage(info)
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
        demosaic=None if linear else (lambda cfa, p: demosaic_module.demosaic(cfa, p, method)),
        demosaic_overlap=int(demosaic_module.demosaic_overlap_rows(method)),
        denoise=denoise_fn,
        denoise_overlap=denoise_overlap,
        lens=lens.apply,
        lens_whole_image=lens.whole_image,
        sharpen=sharpen_fn,
        sharpen_overlap=sharpen_overlap,
        vignette=lens.vignette,
        sharpen_params=sharpen_params,
        fast_demosaic=method == "fast" and not linear,
        lens_source_rows=lens.source_rows,
        lens_reach_px=lens.reach_px,
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


def _denoise_stage(info, gains: np.ndarray):
    """(denoise of a white-balanced RGB window, its context rows), or (None, 0) when the file
    has no usable NoiseProfile or the ISO asks for no denoising."""
    if not info.noise_profile:
        return None, 0
    pairs = [tuple(map(float, p)) for p in info.noise_profile]
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
    strength = denoise_strength(info.iso)
    if strength < DENOISE_MIN_STRENGTH:
        return None, 0
    overlap = denoise_module.DENOISE_OVERLAP_ROWS
    return (lambda rgb: denoise_module.denoise(rgb, noise_s, noise_o, strength)), overlap


@dataclass(frozen=True)
class LensStage:
    """The OpcodeList3 corrections as the strips apply them (see the :class:`Plan` fields of
    the same names); all None when there are none."""

    apply: Callable | None = None
    whole_image: bool = False
    vignette: Callable | None = None
    source_rows: Callable | None = None
    reach_px: int = 0


def _lens_stage(info) -> LensStage:
    """The lens correction of ``info``'s OpcodeList3 (positions relative to its ActiveArea).

    A lone FixVignetteRadial becomes a gain in the colour kernel; one WarpRectilinear (with
    any opcodes before and after it) is applied strip by strip, each strip demosaicking the
    source rows its output rows read; more than one warp needs the whole picture. Warps that
    move nothing by more than :data:`~mountcam.develop.lens_correction.NEGLIGIBLE_WARP_PX`
    are dropped."""
    if not info.opcode_list_3:
        return LensStage()
    top, left, bottom, right = (int(v) for v in info.active_area)
    full = (bottom - top, right - left)
    ops = significant_opcodes(decode_opcode_list(info.opcode_list_3), full)
    if not ops:
        return LensStage()
    warps = [i for i, op in enumerate(ops) if isinstance(op, WarpRectilinear)]

    if len(ops) == 1 and isinstance(ops[0], FixVignetteRadial):
        # The usual case of a fixed-lens phone camera: a per-pixel gain, cheapest inside the
        # colour kernel's own pass over the strip (one fewer read and write of it).
        def vignette(origin_rc: tuple[int, int], shape_hw: tuple[int, int]) -> tuple:
            return vignette_terms(ops[0], (origin_rc[0] - top, origin_rc[1] - left), shape_hw, full)

        def scale(rgb: np.ndarray, origin_rc: tuple[int, int], out_rows) -> np.ndarray:
            o = (origin_rc[0] - top, origin_rc[1] - left)
            return apply_opcodes(rgb, ops, origin_rc=o, full_size_hw=full)

        return LensStage(apply=scale, vignette=vignette)

    if len(warps) != 1:

        def in_place(rgb: np.ndarray, origin_rc: tuple[int, int], out_rows) -> np.ndarray:
            o = (origin_rc[0] - top, origin_rc[1] - left)
            return apply_opcodes(rgb, ops, origin_rc=o, full_size_hw=full)

        return LensStage(apply=in_place, whole_image=len(warps) > 1)

    warp = StripWarp(ops[warps[0]], full)
    before, after = ops[: warps[0]], ops[warps[0] + 1 :]

    # The usual M-lens list, a vignette then the warp: the gain rides in the warp's own pass.
    lone_vignette = before[0] if len(before) == 1 and isinstance(before[0], FixVignetteRadial) else None  # fmt: skip

    def warped(rgb: np.ndarray, origin_rc: tuple[int, int], out_rows) -> np.ndarray:
        o = (origin_rc[0] - top, origin_rc[1] - left)
        if before and lone_vignette is None:
            rgb = apply_opcodes(rgb, before, origin_rc=o, full_size_hw=full)
        rows = (out_rows[0] - top, out_rows[1] - top)
        out = warp.apply(rgb, o, rows, vignette=lone_vignette)
        if after:
            out = apply_opcodes(out, after, origin_rc=(rows[0], o[1]), full_size_hw=full)
        return out

    def source_rows(out_rows: tuple[int, int], cols: tuple[int, int]) -> tuple[int, int]:
        rows = (out_rows[0] - top, out_rows[1] - top)
        first, stop = warp.source_rows(rows, (cols[0] - left, cols[1] - left))
        return first + top, stop + top

    reach = math.ceil(warp_max_shift_px(ops[warps[0]], full)) + 3  # + the bicubic support
    return LensStage(apply=warped, source_rows=source_rows, reach_px=reach)


def _raw_opcode_stage(info) -> RawOpcodes | None:
    """OpcodeList2 prepared for the strips (mountcam.develop.raw_opcodes), or None."""
    if not info.opcode_list_2:
        return None
    top, left, bottom, right = (int(v) for v in info.active_area)
    return prepare_raw_opcodes(
        decode_opcode_list(info.opcode_list_2),
        (bottom - top, right - left),
        planes=3 if info.linear_raw else 1,
    )


def _sharpen_stage(quality: str):
    amount, radius = SHARPEN_PARAMS[quality]
    overlap = int(math.ceil(4 * radius)) + 2  # the Gaussian's reach (4σ) + the 3×3 clamp
    return (lambda rgb: sharpen_module.sharpen(rgb, amount, radius)), overlap, (amount, radius)
