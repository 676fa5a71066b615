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

:func:`develop` reads the input (:mod:`.raw_source`), plans the picture without touching its
pixels (:func:`~mountcam.develop.plan.plan_development`), then :func:`render` picks one of
the strip routes of :mod:`.strips` and runs it on a :class:`~mountcam.develop.schedule.Schedule`:

- the fused 8-bit route (JPEG output, ``fast`` demosaic, nothing between demosaic and colour):
  demosaic, highlights, vignette, colour matrix, fixed-point tone LUT in one kernel;
- the fixed-point 8-bit route (other 8-bit output);
- the float route (float32 and 16-bit output).

Highlights, the colour matrix, exposure, saturation, tone curve, encoding and quantisation are
one numba kernel (every linear step folded into a single 3×3 matrix, every per-channel step
into a single LUT). For 8-bit output the LUT is fixed point and indexed by the bits of the
float32 input (:func:`~mountcam.develop.tone.build_lut_fixed`, within 0.01 of a code of the
curve). A lone FixVignetteRadial (the usual lens correction of a fixed lens) rides in that
kernel too, as a per-pixel gain. Only the stages that exist and are switched on run. Profile
and figures: docs/benchmarks.md, "Develop speed".
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from mountcam.develop.image import Image
from mountcam.develop.orientation import apply_orientation
from mountcam.develop.plan import Plan, denoise_strength, plan_development
from mountcam.develop.raw_source import as_dng_info, rawframe_info
from mountcam.develop.schedule import Schedule
from mountcam.develop.settings import DevelopSettings
from mountcam.develop.strips import (
    Colour,
    FixedEncoding,
    FloatEncoding,
    Frame,
    Levels,
    LinearStages,
    Sharpening,
    fixed_strip,
    float_strip,
    fused_fast_strip,
    run_strips,
)
from mountcam.develop.tone import build_lut_fixed

__all__ = [
    "Plan",
    "Schedule",
    "denoise_strength",
    "develop",
    "plan_development",
    "rawframe_info",
    "render",
]


def develop(
    raw_or_path: Any,
    settings: DevelopSettings | None = None,
    *,
    output_dtype: Any = np.float32,
    calibration: Any = None,
    schedule: Schedule | None = None,
) -> Image:
    """Develop a raw capture into an :class:`~mountcam.develop.image.Image`.

    ``raw_or_path``: a DNG path, a :class:`~mountcam.dng.reader.DngInfo` from ``read_dng``, or
    a :class:`~mountcam.sensor.rawframe.RawFrame` (developed with ``calibration``, by default
    the colour calibration of its sensor preset, as the DNG writer would record it).
    ``output_dtype``: ``np.float32`` (default; 1.0 = white), or ``np.uint8`` / ``np.uint16``
    code values straight from the fused kernel, ready for an encoder. ``schedule``: strip
    height and threads (speed and memory only; the pixels are the same for any schedule).
    Returns the DefaultCrop area, turned upright by the DNG's Orientation
    (:mod:`mountcam.develop.orientation`). Files that cannot be developed raise
    :class:`~mountcam.errors.UnreadableFile`.
    """
    settings = settings or DevelopSettings()
    dtype = np.dtype(output_dtype)
    if dtype not in (np.float32, np.uint8, np.uint16):
        raise ValueError(f"output_dtype must be float32, uint8 or uint16, got {dtype}")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    info = as_dng_info(raw_or_path, calibration)
    timings["read"] = time.perf_counter() - t0
    plan = plan_development(info, settings)
    timings["plan"] = time.perf_counter() - t0 - timings["read"]
    pixels, spent = render(plan, info, output_dtype=dtype, schedule=schedule)
    timings.update(spent)
    if info.orientation != 1:
        tic = time.perf_counter()
        pixels = apply_orientation(pixels, info.orientation)
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


def render(
    plan: Plan, info, *, output_dtype: Any = np.float32, schedule: Schedule | None = None
) -> tuple[np.ndarray, dict[str, float]]:
    """The pixels of ``plan`` for ``info``'s mosaic: (the DefaultCrop area as an
    ``output_dtype`` array, seconds per stage summed over the strip threads)."""
    dtype = np.dtype(output_dtype)
    schedule = schedule or Schedule()
    rows, cols = plan.crop
    out = np.empty((rows.stop - rows.start, cols.stop - cols.start, 3), dtype=dtype)

    levels, clip = _levels(plan, info)

    # A lone vignette gain rides in the colour kernel; any other lens correction (and denoise,
    # which sits between highlights and lens) needs the demosaiced strip as a whole first.
    fuse_vignette = plan.vignette is not None and plan.denoise is None
    stages = LinearStages(
        demosaic=plan.demosaic,
        denoise=plan.denoise,
        lens=plan.lens if plan.lens is not None and not fuse_vignette else None,
    )
    colour = Colour(
        clip=clip,  # clip levels of R, G, B after white balance
        matrix=plan.matrix.astype(np.float32),
        vignette=plan.vignette if fuse_vignette else None,
    )
    sharpening = Sharpening(*plan.sharpen_params) if plan.sharpen_params else None
    strip_rows = out.shape[0] if plan.lens_whole_image else schedule.rows_for(plan.settings.quality)
    margin = plan.demosaic_overlap + plan.denoise_overlap + plan.sharpen_overlap
    margin += margin % 2  # even margins keep the strip's CFA phase simple to follow
    frame = Frame(info.mosaic, plan.pattern, levels, rows, cols, margin, strip_rows)
    if plan.lens_source_rows is not None and stages.lens is not None:
        # A warp: each strip demosaics the rows the warp reads for its output rows, with the
        # demosaic's and the denoise's context; the sharpening's context is around the output.
        # The columns keep the whole margin and the warp's reach.
        pre = plan.demosaic_overlap + plan.denoise_overlap
        frame = replace(
            frame,
            margin=margin + plan.lens_reach_px + plan.lens_reach_px % 2,
            source_rows=plan.lens_source_rows,
            pre_margin=pre + pre % 2,
            post_margin=plan.sharpen_overlap + plan.sharpen_overlap % 2,
        )

    if dtype == np.uint8 and plan.lut is not None:
        # 8-bit output with a tone curve (the JPEG path): the fixed-point LUT.
        fixed = build_lut_fixed(plan.tone, plan.lut_x_max)
        encoding = FixedEncoding(fixed.table, fixed.base, fixed.shift)
        if plan.fast_demosaic and not stages.highlights_first:
            route = partial(
                fused_fast_strip, colour=colour, encoding=encoding, sharpening=sharpening
            )
        else:
            route = partial(
                fixed_strip, stages=stages, colour=colour, encoding=encoding, sharpening=sharpening
            )
    else:
        scale = float(np.iinfo(dtype).max) if dtype != np.float32 else 1.0
        encoding = FloatEncoding(plan.lut, plan.lut_x_max, scale)
        route = partial(
            float_strip, stages=stages, colour=colour, encoding=encoding, sharpening=sharpening
        )
    return out, run_strips(frame, out, route, schedule)


def _levels(plan: Plan, info) -> tuple[Levels, np.ndarray]:
    """The levels step of ``plan`` for ``info`` and the clip levels of R, G, B after it.

    Per CFA position: (DN − black)·scale, scale = gain/(white − black), clipped at gain (= the
    channel's white level after white balance), or, for a channel that clipped below
    WhiteLevel (:func:`~mountcam.develop.highlights.channel_clip_levels`), at its clip point;
    highlight reconstruction then takes each colour as clipped from the lowest clip of its CFA
    positions. A LinearRaw image has the same per plane (:mod:`mountcam.develop.linear_raw`).
    """
    area_origin = (int(info.active_area[0]), int(info.active_area[1]))
    if plan.linear_raw:
        black = np.asarray(info.black_level_dn, dtype=np.float64)
        span = np.asarray(info.white_levels_dn, dtype=np.float64) - black
        gains = np.asarray(plan.gains, dtype=np.float64)
        frac = np.minimum((np.asarray(plan.clip_dn, dtype=np.float64) - black) / span, 1.0)
        top = (gains * frac).astype(np.float32)
        levels = Levels(
            black=black.astype(np.float32),
            scale=(gains / span).astype(np.float32),
            top=top,
            per_plane=True,
            raw_opcodes=plan.raw_opcodes,
            unit=np.broadcast_to(gains.astype(np.float32), (2, 2, 3)),  # white, for OpcodeList2
            area_origin=area_origin,
        )
        return levels, top
    black = np.asarray(info.black_level_dn, dtype=np.float32).reshape(2, 2)
    span = np.float32(info.white_level_dn) - black
    gains_cfa = np.array(
        [plan.gains["RGB".index(c)] for c in plan.pattern], dtype=np.float32
    ).reshape(2, 2)
    top = gains_cfa
    clip = plan.gains.astype(np.float32)
    clip_dn = np.resize(np.asarray(plan.clip_dn, dtype=np.float64), (2, 2))
    if np.any(clip_dn < float(info.white_level_dn)):
        frac = (clip_dn - black) / span.astype(np.float64)
        top = (gains_cfa * frac).astype(np.float32)
        lowest = [
            min(frac[i, j] for i, j in np.ndindex(2, 2) if plan.pattern[2 * i + j] == c)
            for c in "RGB"
        ]
        clip = (plan.gains * np.array(lowest)).astype(np.float32)
    levels = Levels(
        black=black,
        scale=(gains_cfa / span).astype(np.float32),
        top=top,
        raw_opcodes=plan.raw_opcodes,
        unit=gains_cfa[:, :, None],  # raw white (x = 1) at each CFA position, for OpcodeList2
        area_origin=area_origin,
    )
    return levels, clip
