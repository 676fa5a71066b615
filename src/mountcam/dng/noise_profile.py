"""DNG NoiseProfile (tag 51041) from the sensor model: per-colour (S, O) at the capture's gain.

DNG 1.4 §6 ("NoiseProfile"): the variance of a pixel's value ``x``, normalised to 0..1 after
black subtraction and division by ``WhiteLevel − BlackLevel``, is ``S·x + O``: ``S`` the
signal-dependent (photon shot) term, ``O`` the signal-independent (read-out) term. One pair per
CFA plane colour (R, G, B in CFAPlaneColor order), or one pair for all.

The twin's noise (:mod:`mountcam.sensor.noise`, EMVA 1288 Release 4.0 §2) in DN, before the
digital gain, for a mean signal of ``y`` DN above black and conversion gain ``K`` (DN/e⁻):

    σ²_y = K·y + K²·(σ_read² + σ_row²) + 1/12

- ``K·y``: Poisson shot noise of the photo-electrons *and* of the dark-current electrons, whose
  mean is part of ``y`` (the black level does not remove it), so one term covers both.
- ``σ_read``, ``σ_row``: temporal read noise and row noise at the analog gain, electrons.
- ``1/12`` DN²: ADC quantisation (uniform rounding error; valid while σ is near 1 DN or more).
- PRNU and DSNU are *fixed-pattern*: identical in every frame, so not part of the temporal
  noise a denoiser or a flat-pair measurement (EMVA 1288 §6.2, the difference of two frames)
  sees. PRNU would also add a ``(PRNU·x)²`` term the linear DNG model cannot express. Both are
  left out, as a flat-field correction would remove them.

The digital gain ``g`` above the analog range scales the quantised code: ``x' = g·x``, so
``S' = g·S`` and ``O' = g²·O``, plus another 1/12 DN² when ``g`` is not a whole number (the
scaled code is rounded again).

In ``full`` mode the on-sensor remosaic (:mod:`mountcam.sensor.remosaic`) keeps 6 of 16
photodiodes of each 4×4 tile and estimates the others, mostly from the site's own photodiode of
another colour scaled by the engine's white-balance gains (a green estimated at a red
photodiode carries that photodiode's noise times ``g_R/g_G``), plus averages over neighbours.
That estimate is not linear, so its noise is found the way one would measure a real sensor's:
the remosaic is run on two simulated neutral flat fields (D65, the gains' own neutral) with the
photodiodes' noise at this operating point, and each colour plane's (S, O) is the straight line
through the two measured variances (a fixed seed: the profile is reproducible). An ideal Bayer
sensor (``sensor_cfa`` "bayer") has no remosaic: each site is one photodiode.
"""

from __future__ import annotations

import math

import numpy as np

from mountcam.sensor.cfa import bayer, quad_bayer
from mountcam.sensor.model import OperatingPoint, SensorModel, SensorSettings
from mountcam.sensor.rawframe import RawFrame

_CHANNELS = "RGB"
#: The two flat fields the remosaic's noise is measured on: the green photodiodes' signal as a
#: fraction of the range (bracketing the darks, where the engine's noise floors matter, and the
#: mid-tones), and the side of the square simulated (36 864 red sites per level: a variance to
#: about 0.7 %).
_REMOSAIC_LEVELS = (0.005, 0.3)
_REMOSAIC_FIELD_PX = 384


def noise_profile(
    model: SensorModel, op: OperatingPoint, sensor_cfa: str = "quad"
) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    """(S, O) for R, G and B at operating point ``op`` of ``model``, in DNG units (see module).

    ``sensor_cfa``: the photodiodes' pattern, "quad" (remosaicked in full read-out) or "bayer".
    """
    span_dn = float(op.white_level_dn) - float(op.black_level_dn)
    k = op.conversion_gain_dn_per_e
    g = op.digital_gain
    # Per photodiode (or binned pixel) after the ADC and the digital gain, DN and DN².
    shot_per_dn = g * k  # variance per DN of signal: g²·K·(y'/g)
    read_var = g * g * k * k * op.read_noise_e**2
    row_var = g * g * k * k * op.row_noise_e**2
    quant_var = g * g / 12.0 + (0.0 if float(g).is_integer() else 1.0 / 12.0)

    per_photodiode = (shot_per_dn, read_var + row_var + quant_var)
    if op.mode == "full" and sensor_cfa == "quad":
        return _remosaicked_profile(model, op, per_photodiode, span_dn)
    pair = (shot_per_dn / span_dn, per_photodiode[1] / span_dn**2)
    return (pair, pair, pair)


def _remosaicked_profile(
    model: SensorModel, op: OperatingPoint, per_photodiode: tuple[float, float], span_dn: float
) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    """(S, O) per colour of the remosaicked mosaic, measured on two simulated flat fields."""
    from mountcam.sensor.capture import remosaic_gains
    from mountcam.sensor.remosaic import remosaic

    shot_per_dn, floor_var = per_photodiode
    floor_var -= 1.0 / 12.0  # the simulated codes are rounded below, as the ADC rounds
    gains = np.asarray(remosaic_gains(model))
    size = _REMOSAIC_FIELD_PX
    native = np.tile(quad_bayer(model.cfa_pattern), (size // 4, size // 4))
    target = np.tile(bayer(model.cfa_pattern), (size // 2, size // 2))
    rng = np.random.default_rng(20260101)
    points: list[list[tuple[float, float]]] = [[], [], []]
    inner = (slice(8, -8), slice(8, -8))  # the remosaic's copied border is not a fair sample
    for level in _REMOSAIC_LEVELS:
        # A neutral: each colour's photodiodes see green's signal over that colour's gain.
        mean = level * span_dn / gains[native]
        noisy = mean + rng.standard_normal(native.shape) * np.sqrt(shot_per_dn * mean + floor_var)
        quad = np.clip(np.round(op.black_level_dn + noisy), 0, op.white_level_dn)
        out = remosaic(
            quad.astype(np.uint16),
            model.cfa_pattern,
            black_level_dn=op.black_level_dn,
            white_level_dn=float(op.white_level_dn),
            channel_gains=(float(gains[0]), float(gains[1]), float(gains[2])),
        ).astype(np.float64)
        for channel in range(3):
            values = out[inner][target[inner] == channel]
            x = (values.mean() - op.black_level_dn) / span_dn
            points[channel].append((x, values.var() / span_dn**2))
    pairs = []
    for (x1, v1), (x2, v2) in points:
        slope = (v2 - v1) / (x2 - x1)
        pairs.append((slope, max(v1 - slope * x1, 0.0)))
    return (pairs[0], pairs[1], pairs[2])


def noise_profile_for_frame(frame: RawFrame) -> tuple[tuple[float, float], ...] | None:
    """The NoiseProfile of a twin capture, from its metadata and the sensor preset it names.

    ``metadata.extra["noise_profile"]`` (a sequence of (S, O) pairs), when present, wins (a
    backend that knows its own noise). Returns None for a frame whose sensor preset is unknown
    or whose levels do not match the preset at its settings: no profile is better than a
    wrong one.
    """
    from mountcam.errors import MountcamError
    from mountcam.sensor.model import load_sensor

    md = frame.metadata
    given = md.extra.get("noise_profile")
    if given is not None:
        pairs = tuple((float(s), float(o)) for s, o in given)
        return pairs if pairs and all(_valid(p) for p in pairs) else None
    try:
        model = load_sensor(md.sensor)
        op = model.operating_point(
            SensorSettings(md.mode, md.bits, md.iso, md.exposure_s, md.temperature_c)
        )
    except (MountcamError, KeyError, ValueError, TypeError):
        return None
    if op.white_level_dn != frame.white_level_dn or any(
        not math.isclose(b, op.black_level_dn) for b in frame.black_level_dn
    ):
        return None
    if model.cfa_pattern != frame.cfa_pattern:
        return None
    pairs = noise_profile(model, op, md.extra.get("sensor_cfa", "quad"))
    return pairs if all(_valid(p) for p in pairs) else None


def _valid(pair: tuple[float, float]) -> bool:
    # DNG 1.4: S > 0 and O ≥ 0.
    s, o = pair
    return math.isfinite(s) and math.isfinite(o) and s > 0 and o >= 0
