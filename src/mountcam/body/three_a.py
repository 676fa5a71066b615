"""Where 3A plugs into the camera: the functions the body calls on preview frames.

The camera (:mod:`mountcam.body.camera`) owns the loop (take a preview frame, decide, take
another); the decisions are pure functions of frames, listed here so that the estimators of
:mod:`mountcam.control` plug in at one place:

- :func:`meter` (AE): the exposure a frame asks for, from its raw levels;
- :func:`auto_neutral` (AWB): the camera neutral of the light, from a frame's raw statistics
  (:mod:`mountcam.control.awb`);
- :func:`preset_neutral`: the camera neutral of a white-balance preset or colour temperature,
  from what the camera knows about its own colour (:func:`awb_model`), never the scene.

Nothing here reads the twin's truth: a frame, the body's calibration and the lens it believes
in are all there is.

The meter is still the simple one a camera starts from (the mean green raw level over
metering weights: average, centre-weighted, spot, zones, highlights); :mod:`mountcam.control`
replaces it as its AE lands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mountcam.control.metering import METER_CALIBRATION_K, METER_CALIBRATION_TRANSMITTANCE
from mountcam.errors import InvalidSetting
from mountcam.sensor.model import ISO_SATURATION_CONSTANT_LUX_S
from mountcam.sensor.rawframe import RawFrame

#: Raw level (fraction of clip) a metered average lands at. A reflected-light meter asks for
#: t·S = π·K·T/(4·E) (ISO 2720 §5.2, K = 12.5) and the sensor clips at H = 78/S lux·s
#: (ISO 12232 §6.2), so an average scene lands at π·K·T/(4·78) ≈ 0.113 of clipping.
TARGET_LEVEL = (math.pi * METER_CALIBRATION_K * METER_CALIBRATION_TRANSMITTANCE) / (
    4.0 * ISO_SATURATION_CONSTANT_LUX_S
)
#: Highlight-weighted metering places the 99.5th percentile of the green level here.
HIGHLIGHT_LEVEL = 0.90
HIGHLIGHT_PERCENTILE = 99.5
#: Matrix metering: zones across and down; the brightest zone may end at most this far above
#: the target before the exposure is pulled down (highlight protection), and by at most
#: MATRIX_MAX_PULL_EV.
MATRIX_ZONES = (8, 6)
MATRIX_HIGHLIGHT_LEVEL = 0.95
MATRIX_MAX_PULL_EV = 1.5
#: Spot metering reads a central disc of this fraction of the frame area (≈ 3 %).
SPOT_AREA = 0.03
#: A frame whose metered region has more clipped sites than this under-reads: take another.
MAX_CLIPPED = 0.02
#: A frame darker than this (fraction of clip) is mostly noise: take another, longer.
MIN_LEVEL = 0.002


@dataclass(frozen=True)
class Metering:
    """What a frame says about exposure: ``level`` the metered raw level (fraction of clip,
    shading-corrected), ``target`` the level the mode wants it at, ``clipped_fraction`` of the
    metered sites, ``exposure_product`` t·S (s·ISO) the frame was taken with."""

    level: float
    target: float
    clipped_fraction: float
    exposure_product: float

    @property
    def reliable(self) -> bool:
        return self.clipped_fraction <= MAX_CLIPPED and self.level >= MIN_LEVEL

    def wanted_product(self, ev: float = 0.0) -> float:
        """t·S that puts the metered level at the target, with ``ev`` of compensation."""
        return self.exposure_product * self.target / max(self.level, 1e-9) * 2.0**ev


def green_level(frame: RawFrame) -> tuple[np.ndarray, np.ndarray]:
    """(level, clipped): the mean of each 2×2 cell's greens as a fraction of clip, (H/2, W/2),
    and whether either green of the cell clipped."""
    m = frame.mosaic
    h, w = m.shape[0] // 2 * 2, m.shape[1] // 2 * 2
    sites = [divmod(i, 2) for i, c in enumerate(frame.cfa_pattern) if c == "G"]
    planes = []
    clipped = np.zeros((h // 2, w // 2), dtype=bool)
    for r, c in sites:
        plane = m[r:h:2, c:w:2]
        clipped |= plane >= frame.white_level_dn
        black = frame.black_level_dn[r * 2 + c]
        planes.append((plane.astype(np.float32) - black) / (frame.white_level_dn - black))
    return 0.5 * (planes[0] + planes[1]), clipped


def metering_weights(shape: tuple[int, int], mode: str) -> np.ndarray:
    """Weights (H, W) summing to 1 for ``average``, ``centre`` (a Gaussian of σ = 1/4 of the
    width, as centre-weighted meters put ~60-80 % of their weight in the central circle) or
    ``spot`` (a central disc of :data:`SPOT_AREA`)."""
    h, w = shape
    if mode in ("average", "matrix", "highlight"):
        weights = np.ones(shape, dtype=np.float64)
    else:
        y = (np.arange(h) - (h - 1) / 2.0)[:, None]
        x = (np.arange(w) - (w - 1) / 2.0)[None, :]
        if mode == "centre":
            weights = np.exp(-(x**2 + y**2) / (2 * (w / 4.0) ** 2))
        elif mode == "spot":
            radius = math.sqrt(SPOT_AREA * h * w / math.pi)
            weights = ((x**2 + y**2) <= radius**2).astype(np.float64)
        else:
            raise InvalidSetting(f"metering '{mode}' does not exist")
    return weights / weights.sum()


def meter(frame: RawFrame, mode: str = "average", shading: np.ndarray | None = None) -> Metering:
    """Meter ``frame`` (usually a preview frame) in ``mode``: average, centre, spot, matrix or
    highlight. ``shading`` (H/2, W/2): the relative illumination of the lens the body believes
    in on the frame's cells, divided out so lens fall-off does not bias the meter."""
    level, clipped = green_level(frame)
    if shading is not None:
        level = level / np.maximum(shading, 1e-3)
    md = frame.metadata
    product = md.exposure_s * md.iso
    weights = metering_weights(level.shape, mode)
    inside = weights > 0
    clipped_fraction = float(clipped[inside].mean())
    if mode == "highlight":
        top = float(np.percentile(level, HIGHLIGHT_PERCENTILE))
        return Metering(top, HIGHLIGHT_LEVEL, clipped_fraction, product)
    if mode == "matrix":
        return _matrix(level, clipped_fraction, product)
    return Metering(float((level * weights).sum()), TARGET_LEVEL, clipped_fraction, product)


def _matrix(level: np.ndarray, clipped_fraction: float, product: float) -> Metering:
    """Zones: the geometric mean of the zone means (one bright zone moves it less than it moves
    an average), pulled down by at most :data:`MATRIX_MAX_PULL_EV` when the brightest zone
    would clip."""
    zx, zy = MATRIX_ZONES
    h, w = level.shape
    rows = np.array_split(np.arange(h), zy)
    cols = np.array_split(np.arange(w), zx)
    zones = np.array([[level[np.ix_(r, c)].mean() for c in cols] for r in rows], dtype=np.float64)
    zones = np.maximum(zones, 1e-6)
    metered = float(np.exp(np.log(zones).mean()))
    # Where the brightest zone would land if the log-mean went to the target.
    brightest = float(zones.max()) * TARGET_LEVEL / metered
    if brightest > MATRIX_HIGHLIGHT_LEVEL:
        pull = min(math.log2(brightest / MATRIX_HIGHLIGHT_LEVEL), MATRIX_MAX_PULL_EV)
        metered *= 2.0**pull
    return Metering(metered, TARGET_LEVEL, clipped_fraction, product)


def awb_model(sensor, calibration):
    """The auto-white-balance model of a module (:class:`mountcam.control.awb.AwbModel`): from
    its sensor's spectral sensitivities when the body knows them (the twin's sensor preset; a
    hardware backend's characterised sensor), else from its colour calibration's matrices (a
    replayed camera), exactly as ``develop --wb auto`` builds it from a DNG."""
    from mountcam.control import awb

    qe = getattr(sensor, "qe", None)
    if qe is not None:
        return awb.model_from_quantum_efficiency(qe)
    from mountcam.develop.colour import ColourProfile
    from mountcam.develop.white_balance import awb_model as model_of_profile

    return model_of_profile(ColourProfile.from_dng(calibration))


def auto_neutral(frame: RawFrame, model, max_cells: int = 1 << 16) -> tuple[float, float, float]:
    """Camera neutral (max 1) of the light, estimated from ``frame``'s raw cells by
    :func:`mountcam.control.awb.estimate_neutral` (colour by correlation over the daylight and
    Planckian loci and the CIE lamps; see docs/3a.md), on a regular subsample of at most
    ``max_cells`` 2×2 cells."""
    from mountcam.control import awb

    cells = awb.cfa_cells(
        frame.mosaic,
        frame.cfa_pattern,
        frame.black_level_dn,
        frame.white_level_dn,
        max_cells=max_cells,
    )
    return tuple(float(v) for v in awb.estimate_neutral(cells, model).neutral)


def preset_neutral(
    model, preset: str | None = None, kelvin: float | None = None
) -> tuple[float, float, float]:
    """Camera neutral (max 1) of a white-balance preset's light or of a colour temperature
    (:func:`mountcam.control.awb.preset_neutral`, :func:`~mountcam.control.awb.kelvin_neutral`)."""
    from mountcam.control import awb

    n = (
        awb.preset_neutral(model, preset)
        if preset is not None
        else awb.kelvin_neutral(model, kelvin)
    )
    return tuple(float(v) for v in n)
