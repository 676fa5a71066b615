"""The body's side of aperture estimation, as pure functions of frames.

The M module's frame is compared with a main-module frame of the same angular region (the
region the identified M lens covers, mapped onto the main module's much wider view). The
camera (:meth:`mountcam.body.camera.Camera.capture`) owns the loop that takes the frames and
re-takes them shorter when they clip; this module only says which region to take
(:func:`reference_region`), how far a frame clips there (:func:`frame_rate`) and what the two
frames say about the f-number (:func:`estimate_from_frames`). The physics and the uncertainty
budget are in :mod:`mountcam.control.f_number_estimate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from mountcam.control.f_number_estimate import (
    ApertureEstimate,
    ChannelRate,
    estimate_f_number,
    green_rate,
)
from mountcam.optics.imaging import SensorWindow, cos4_falloff
from mountcam.optics.lens import FULL_FRAME_HALF_DIAGONAL_MM, LensProfile
from mountcam.scene import ViewGrid
from mountcam.sensor.model import OperatingPoint, SensorModel, SensorSettings
from mountcam.sensor.rawframe import RawFrame

#: Most clipped green sites a frame may have and still be compared.
MAX_CLIPPED = 0.01
#: Sample grid for the mean relative illumination of the believed lens over the M window.
_ILLUMINATION_GRID = (48, 36)


@dataclass(frozen=True)
class ReferenceRegion:
    """Where the M frame's view lies on the main module's binned grid: the centred crop
    (width, height) to read, and the rectangle [x_lo, x_hi) × [y_lo, y_hi) in pixels from the
    grid's top-left."""

    crop: tuple[int, int]
    x_lo: float
    x_hi: float
    y_lo: float
    y_hi: float

    def weights(self, frame: RawFrame) -> np.ndarray:
        """How much of each pixel of ``frame`` (a crop of the main module) lies in the region."""
        r0, c0 = frame.metadata.window_origin
        return np.outer(
            _overlap(r0, frame.height, self.y_lo, self.y_hi),
            _overlap(c0, frame.width, self.x_lo, self.x_hi),
        )


def frame_window(frame: RawFrame) -> SensorWindow:
    """The sensor window a frame was read from (its metadata's pitch, origin and grid)."""
    md = frame.metadata
    full_h, full_w = md.full_size
    return SensorWindow(
        md.pixel_pitch_m, full_w, full_h, *md.window_origin, frame.width, frame.height
    )


def operating_point_of(model: SensorModel, frame: RawFrame) -> OperatingPoint:
    m = frame.metadata
    return model.operating_point(
        SensorSettings(m.mode, m.bits, m.iso, m.exposure_s, m.temperature_c)
    )


def frame_rate(
    model: SensorModel, frame: RawFrame, weights: np.ndarray | None = None
) -> ChannelRate:
    """Green photo-electron rate of ``frame`` (optionally over a weighted region)."""
    op = operating_point_of(model, frame)
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


def reference_region(
    m_frame: RawFrame, believed: LensProfile, main_model: SensorModel, main_lens: LensProfile
) -> ReferenceRegion:
    """The M frame's angular extent (the body assumes focus at infinity: v = f) as a rectangle
    on the main module's binned grid, and a centred crop covering it with a margin."""
    window = frame_window(m_frame)
    pitch_ref = main_model.output_pitch_m("binned")
    full_w, full_h = main_model.output_size("binned")
    px_per_tan = main_lens.focal_m / pitch_ref
    tan_per_px_m = window.pitch_m / believed.focal_m
    x_lo = full_w / 2 + (window.origin_col - window.full_width / 2) * tan_per_px_m * px_per_tan
    y_lo = full_h / 2 + (window.origin_row - window.full_height / 2) * tan_per_px_m * px_per_tan
    x_hi = x_lo + window.width * tan_per_px_m * px_per_tan
    y_hi = y_lo + window.height * tan_per_px_m * px_per_tan
    ref_w = min(full_w, max(32, 2 * math.ceil(max(full_w / 2 - x_lo, x_hi - full_w / 2) + 2)))
    ref_h = min(full_h, max(32, 2 * math.ceil(max(full_h / 2 - y_lo, y_hi - full_h / 2) + 2)))
    return ReferenceRegion((ref_w, ref_h), x_lo, x_hi, y_lo, y_hi)


def estimate_from_frames(
    m_frame: RawFrame,
    believed: LensProfile,
    reference: RawFrame,
    region: ReferenceRegion,
    model: SensorModel,
    main_lens: LensProfile,
) -> ApertureEstimate | None:
    """The believed M lens's f-number from an unclipped M frame and an unclipped main-module
    reference frame of ``region``; None when either frame holds no light."""
    subject = frame_rate(model, m_frame)
    ref = frame_rate(model, reference, region.weights(reference))
    if subject.electrons_per_s <= 0 or ref.electrons_per_s <= 0:
        return None
    window = frame_window(m_frame)
    reference_illumination = mean_lens_illumination(
        main_lens, frame_window(reference), main_lens.max_f
    )
    # Per unit pixel area: the M frame may be read out at a different pitch (full mode).
    area = (reference.metadata.pixel_pitch_m / window.pitch_m) ** 2
    subject_scaled = replace(subject, electrons_per_s=subject.electrons_per_s * area)
    # Close-focus magnification f/(z_min − f), capped at 1:2 (a lens without close-focus data).
    m_close = min(believed.focal_m / max(believed.min_focus_m - believed.focal_m, 1e-9), 0.5)
    return estimate_f_number(
        ref,
        main_lens.max_f,
        main_lens.transmittance,
        reference_illumination,
        subject_scaled,
        believed.transmittance,
        lambda n: mean_lens_illumination(believed, window, n),
        magnification_range=(0.0, m_close),
        f_number_range=(believed.max_f * 0.7, believed.min_f * 1.4),
    )
