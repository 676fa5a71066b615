"""Expose the sensor twin to an optical image and read it out as a RawFrame mosaic."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mountcam.errors import InvalidSetting
from mountcam.optics.imaging import OpticalImage
from mountcam.optics.sensor_window import SensorWindow
from mountcam.sensor.cfa import bayer, quad_bayer
from mountcam.sensor.model import OperatingPoint, SensorModel
from mountcam.sensor.noise import expose
from mountcam.sensor.remosaic import remosaic

#: The photodiodes' colour filter arrays a capture can simulate: the sensor's own Quad Bayer
#: (remosaicked on the chip in full read-out) or an ideal Bayer sensor of the same pitch (no
#: remosaic), the reference a remosaic is measured against.
SENSOR_CFAS = ("quad", "bayer")


def check_cfa(mode: str, cfa: str) -> None:
    """Refuse a colour filter array the twin does not simulate, or one that changes nothing."""
    if cfa not in SENSOR_CFAS:
        raise InvalidSetting(f"sensor CFA '{cfa}' is not simulated; use quad or bayer")
    if cfa == "bayer" and mode != "full":
        raise InvalidSetting(
            "an ideal Bayer sensor is simulated at the full read-out's pitch; the binned "
            "read-out is a Bayer mosaic already"
        )


@lru_cache(maxsize=8)
def _neutral_gains(model: SensorModel) -> tuple[float, float, float]:
    from mountcam.scene.illuminants import illuminant

    electrons = model.electrons_per_lux_s(illuminant("D65").spd, "full")
    return tuple(float(electrons[1] / e) for e in electrons)


def remosaic_gains(model: SensorModel) -> tuple[float, float, float]:
    """The remosaic engine's fixed white-balance gains (R, G, B): green over each colour's
    response to a D65 neutral (a calibration of the sensor, not of the scene)."""
    return _neutral_gains(model)


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


def readout_cfa(model: SensorModel, mode: str, cfa: str = "quad") -> np.ndarray:
    """The colour pattern the photodiodes are read in: Bayer when binned or when an ideal
    Bayer sensor is simulated (``cfa="bayer"``), Quad Bayer in full read-out."""
    if mode == "binned" or cfa == "bayer":
        return bayer(model.cfa_pattern)
    return quad_bayer(model.cfa_pattern)


def electron_rate(
    model: SensorModel, optical: OpticalImage, window: SensorWindow, mode: str, cfa: str = "quad"
) -> np.ndarray:
    """Noise-free photo-electrons per second of each pixel for its own CFA colour, (H, W)."""
    weights = model.photoelectron_weights(optical.spectral_irradiance_w_m2_nm, mode)
    return optical.mosaic(
        weights, readout_cfa(model, mode, cfa), (window.origin_row, window.origin_col)
    )


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
    cfa: str = "quad",
) -> np.ndarray:
    """One exposure of ``window`` -> (H, W) uint16 DN mosaic in the output Bayer pattern.

    ``rate`` may be passed in to reuse the noise-free electron rate across frames of a burst.
    ``cfa``: the photodiodes' pattern (:data:`SENSOR_CFAS`); a Quad Bayer full read-out is
    remosaicked on the sensor (:mod:`mountcam.sensor.remosaic`).
    """
    check_cfa(op.mode, cfa)
    if rate is None:
        rate = electron_rate(model, optical, window, op.mode, cfa)
    mosaic = read_out(model, op, rate, window, exposure_s, seed, frame_index)
    if op.mode == "full" and cfa == "quad":
        mosaic = remosaic(
            mosaic,
            model.cfa_pattern,
            (window.origin_row, window.origin_col),
            black_level_dn=op.black_level_dn,
            white_level_dn=float(op.white_level_dn),
            channel_gains=remosaic_gains(model),
        )
    return mosaic
