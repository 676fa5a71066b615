"""The body's side of aperture estimation: a reference frame from the main module.

The M module's frame is compared with a main-module frame of the same angular region (the
region the identified M lens covers, mapped onto the main module's much wider view), taken
with the main module's own metering and re-taken shorter if it clips. The physics and the
uncertainty budget are in :mod:`mountcam.control.f_number_estimate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from mountcam.control.f_number_estimate import (
    ApertureEstimate,
    ChannelRate,
    estimate_f_number,
    green_rate,
)
from mountcam.optics.imaging import SensorWindow, cos4_falloff
from mountcam.optics.lens import FULL_FRAME_HALF_DIAGONAL_MM, LensProfile
from mountcam.scene import Scene, ViewGrid
from mountcam.sensor.model import OperatingPoint, SensorModel, SensorSettings
from mountcam.sensor.rawframe import RawFrame

if TYPE_CHECKING:
    from mountcam.body.camera import Camera

#: Most clipped green sites a frame may have and still be compared.
MAX_CLIPPED = 0.01
#: Sample grid for the mean relative illumination of the believed lens over the M window.
_ILLUMINATION_GRID = (48, 36)


def frame_rate(
    frame: RawFrame, op: OperatingPoint, weights: np.ndarray | None = None
) -> ChannelRate:
    """Green photo-electron rate of a frame taken at operating point ``op``."""
    return green_rate(
        frame.mosaic,
        frame.cfa_pattern,
        frame.black_level_dn[0],
        frame.white_level_dn,
        op.conversion_gain_dn_per_e,
        frame.metadata.exposure_s,
        op.digital_gain,
        weights,
    )


def _overlap(first: int, count: int, lo: float, hi: float) -> np.ndarray:
    """How much of each pixel [first + i, first + i + 1) lies inside [lo, hi)."""
    edges = first + np.arange(count, dtype=np.float64)
    return np.clip(np.minimum(edges + 1, hi) - np.maximum(edges, lo), 0.0, 1.0)


def operating_point_of(model: SensorModel, frame: RawFrame) -> OperatingPoint:
    m = frame.metadata
    return model.operating_point(
        SensorSettings(m.mode, m.bits, m.iso, m.exposure_s, m.temperature_c)
    )


def mean_lens_illumination(lens: LensProfile, window: SensorWindow, f_number: float) -> float:
    """Mean relative illumination the *believed* lens gives over ``window`` at ``f_number``."""
    gw, gh = _ILLUMINATION_GRID
    step = window.pitch_m * window.width / gw
    x0 = (window.origin_col - window.full_width / 2.0) * window.pitch_m + step / 2
    y0 = (window.origin_row - window.full_height / 2.0) * window.pitch_m + step / 2
    grid_m = ViewGrid(gw, max(1, round(window.height * window.pitch_m / step)), x0, y0, step)
    if lens.vignetting is None:
        return float(cos4_falloff(grid_m.scaled(1.0 / lens.focal_m)).mean())
    xs, ys = np.meshgrid(grid_m.xs(), grid_m.ys())
    rho = np.hypot(xs, ys) * 1e3 / FULL_FRAME_HALF_DIAGONAL_MM
    return float(np.mean(lens.vignetting.relative_illumination(rho, f_number)))


def estimate_m_aperture(
    camera: Camera,
    scene: Scene,
    frame: RawFrame,
    op: OperatingPoint,
    window: SensorWindow,
    believed: LensProfile,
    seed: int,
    retake: Callable[[float], tuple[RawFrame, OperatingPoint]],
) -> ApertureEstimate | None:
    """Estimate the f-number of the believed M lens from ``frame``; None when not possible
    (a black frame). ``retake(exposure_s)`` takes another M frame, used when ``frame`` clips."""
    from mountcam.body.camera import CaptureRequest

    main = camera.module("main")
    model: SensorModel = main.sensor
    subject = frame_rate(frame, op)
    for _ in range(6):
        if subject.clipped_fraction <= MAX_CLIPPED:
            break
        frame, op = retake(max(frame.metadata.exposure_s / 4, model.min_exposure_s))
        subject = frame_rate(frame, op)
    else:
        return None
    if subject.electrons_per_s <= 0:
        return None
    # The M window's angular extent (the body assumes focus at infinity: v = f), as a
    # rectangle on the main module's binned grid, in pixels from the grid's top-left.
    pitch_ref = model.output_pitch_m("binned")
    full_w, full_h = model.output_size("binned")
    px_per_tan = main.fixed_lens.focal_m / pitch_ref
    tan_per_px_m = window.pitch_m / believed.focal_m
    x_lo = full_w / 2 + (window.origin_col - window.full_width / 2) * tan_per_px_m * px_per_tan
    y_lo = full_h / 2 + (window.origin_row - window.full_height / 2) * tan_per_px_m * px_per_tan
    x_hi = x_lo + window.width * tan_per_px_m * px_per_tan
    y_hi = y_lo + window.height * tan_per_px_m * px_per_tan
    # A centred reference crop that covers the rectangle with a margin.
    ref_w = min(full_w, max(32, 2 * math.ceil(max(full_w / 2 - x_lo, x_hi - full_w / 2) + 2)))
    ref_h = min(full_h, max(32, 2 * math.ceil(max(full_h / 2 - y_lo, y_hi - full_h / 2) + 2)))
    request = CaptureRequest(module="main", crop=(ref_w, ref_h), seed=seed ^ 0x5EED)
    reference_frame = camera.capture(scene, request)[0]
    r0, c0 = reference_frame.metadata.window_origin
    weights = np.outer(_overlap(r0, ref_h, y_lo, y_hi), _overlap(c0, ref_w, x_lo, x_hi))
    for _ in range(6):  # the main meter reads the whole field; this region may be brighter
        meta = reference_frame.metadata
        reference = frame_rate(reference_frame, operating_point_of(model, reference_frame), weights)
        if reference.clipped_fraction <= MAX_CLIPPED:
            break
        shorter = CaptureRequest(
            module="main",
            crop=(ref_w, ref_h),
            seed=seed ^ 0x5EED,
            iso=meta.iso,
            exposure_s=max(meta.exposure_s / 4, model.min_exposure_s),
        )
        reference_frame = camera.capture(scene, shorter)[0]
    else:
        return None
    ref_window = SensorWindow(
        pitch_ref, full_w, full_h, *reference_frame.metadata.window_origin, ref_w, ref_h
    )
    reference_illumination = mean_lens_illumination(
        main.fixed_lens, ref_window, main.fixed_lens.max_f
    )
    # Per unit pixel area: the M frame may be read out at a different pitch (full mode).
    area = (pitch_ref / window.pitch_m) ** 2
    subject_scaled = replace(subject, electrons_per_s=subject.electrons_per_s * area)
    # Close-focus magnification f/(z_min − f), capped at 1:2 (a lens without close-focus data).
    m_close = min(believed.focal_m / max(believed.min_focus_m - believed.focal_m, 1e-9), 0.5)
    return estimate_f_number(
        reference,
        main.fixed_lens.max_f,
        main.fixed_lens.transmittance,
        reference_illumination,
        subject_scaled,
        believed.transmittance,
        lambda n: mean_lens_illumination(believed, window, n),
        magnification_range=(0.0, m_close),
        f_number_range=(believed.max_f * 0.7, believed.min_f * 1.4),
    )
