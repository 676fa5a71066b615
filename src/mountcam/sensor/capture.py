"""Expose the sensor twin to an optical image and read it out as a RawFrame mosaic."""

from __future__ import annotations

import numpy as np

from mountcam.optics.imaging import OpticalImage
from mountcam.optics.sensor_window import SensorWindow
from mountcam.sensor.cfa import bayer, quad_bayer, remosaic
from mountcam.sensor.model import OperatingPoint, SensorModel
from mountcam.sensor.noise import expose


def readout_window(
    model: SensorModel,
    mode: str,
    crop: tuple[int, int] | None,
    centre_px: tuple[float, float] | None = None,
) -> SensorWindow:
    """The simulated window in the readout grid of the mode: centred on the sensor, or on
    ``centre_px`` (x, y in the mode's output pixels; the window is moved, not shrunk, to stay
    on the sensor — a magnifier's region of interest).

    ``crop`` is (width, height) in output pixels. In ``full`` mode the window's origin is
    rounded to a multiple of 4 so the Quad Bayer tile keeps its phase; in ``binned`` mode to a
    multiple of 2 so the Bayer phase is kept.
    """
    full_w, full_h = model.output_size(mode)
    width, height = crop if crop is not None else (full_w, full_h)
    align = 4 if mode == "full" else 2
    cx, cy = centre_px if centre_px is not None else (full_w / 2, full_h / 2)
    origin_col = min(max(int(cx - width / 2), 0), full_w - width) // align * align
    origin_row = min(max(int(cy - height / 2), 0), full_h - height) // align * align
    return SensorWindow(
        model.output_pitch_m(mode), full_w, full_h, origin_row, origin_col, width, height
    )


def readout_cfa(model: SensorModel, mode: str) -> np.ndarray:
    """The colour pattern the photodiodes are read in: Bayer when binned, Quad Bayer in full."""
    return bayer(model.cfa_pattern) if mode == "binned" else quad_bayer(model.cfa_pattern)


def electron_rate(
    model: SensorModel, optical: OpticalImage, window: SensorWindow, mode: str
) -> np.ndarray:
    """Noise-free photo-electrons per second of each pixel for its own CFA colour, (H, W)."""
    weights = model.photoelectron_weights(optical.spectral_irradiance_w_m2_nm, mode)
    return optical.mosaic(weights, readout_cfa(model, mode), (window.origin_row, window.origin_col))


def read_out(
    model: SensorModel,
    op: OperatingPoint,
    rate: np.ndarray,
    window: SensorWindow,
    exposure_s: float,
    seed: int,
    frame_index: int,
) -> np.ndarray:
    """Noise and ADC: the electron rate (H, W) -> uint16 DN in the *readout* CFA (Quad Bayer in
    full mode, before the remosaic)."""
    return expose(
        np.ascontiguousarray(rate, dtype=np.float32),
        exposure_s,
        op.dark_current_e_per_s * exposure_s,
        op.well_capacity_e,
        op.prnu,
        op.dsnu_dark_current_rel,
        op.dsnu_offset_e,
        op.read_noise_e,
        op.row_noise_e,
        op.conversion_gain_dn_per_e,
        op.black_level_dn,
        float(op.white_level_dn),
        op.digital_gain,
        # Binned pixels are a different fixed pattern from single photodiodes.
        model.fpn_seed + (0 if op.mode == "full" else 1_000_003),
        seed,
        frame_index,
        window.origin_row,
        window.origin_col,
        window.full_width,
    )


def expose_window(
    model: SensorModel,
    op: OperatingPoint,
    optical: OpticalImage,
    window: SensorWindow,
    exposure_s: float,
    seed: int,
    frame_index: int,
    rate: np.ndarray | None = None,
) -> np.ndarray:
    """One exposure of ``window`` -> (H, W) uint16 DN mosaic in the output Bayer pattern.

    ``rate`` may be passed in to reuse the noise-free electron rate across frames of a burst.
    """
    if rate is None:
        rate = electron_rate(model, optical, window, op.mode)
    mosaic = read_out(model, op, rate, window, exposure_s, seed, frame_index)
    if op.mode == "full":
        mosaic = remosaic(mosaic, model.cfa_pattern, (window.origin_row, window.origin_col))
    return mosaic
