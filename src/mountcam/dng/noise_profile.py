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

In ``full`` mode the on-sensor remosaic (:func:`mountcam.sensor.cfa.remosaic`) keeps 6 of 16
pixels of each 4×4 tile and replaces the others by the rounded mean of ``n`` same-colour
photodiodes; such a pixel's variance is the photodiode variance divided by ``n`` (row noise only
by how many distinct rows those photodiodes span), plus the rounding of the mean,
``(n² − 1)/(12 n²)`` DN². The (S, O) of a colour is the average over its sites of the tile, so
the profile describes the variance of the colour plane as a whole.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from mountcam.sensor.cfa import bayer, quad_bayer, remosaic_offsets
from mountcam.sensor.model import OperatingPoint, SensorModel, SensorSettings
from mountcam.sensor.rawframe import RawFrame

_CHANNELS = "RGB"


def noise_profile(
    model: SensorModel, op: OperatingPoint
) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    """(S, O) for R, G and B at operating point ``op`` of ``model``, in DNG units (see module)."""
    span_dn = float(op.white_level_dn) - float(op.black_level_dn)
    k = op.conversion_gain_dn_per_e
    g = op.digital_gain
    # Per photodiode (or binned pixel) after the ADC and the digital gain, DN and DN².
    shot_per_dn = g * k  # variance per DN of signal: g²·K·(y'/g)
    read_var = g * g * k * k * op.read_noise_e**2
    row_var = g * g * k * k * op.row_noise_e**2
    quant_var = g * g / 12.0 + (0.0 if float(g).is_integer() else 1.0 / 12.0)

    sites = _site_statistics(model.cfa_pattern, op.mode)
    out = []
    for channel in range(3):
        s_sum = o_sum = 0.0
        for n, row_share, count in sites[channel]:
            s_sum += count * shot_per_dn / n
            o_sum += count * (
                (read_var + quant_var) / n + row_var * row_share + (n * n - 1) / (12.0 * n * n)
            )
        total = sum(count for _, _, count in sites[channel])
        out.append((s_sum / total / span_dn, o_sum / total / span_dn**2))
    return tuple(out)  # type: ignore[return-value]


def _site_statistics(pattern: str, mode: str) -> list[list[tuple[int, float, int]]]:
    """For each colour: (n photodiodes averaged, Σ (rows' shares)², how many sites) per kind of
    site in one period of the output mosaic."""
    target = bayer(pattern)
    if mode != "full":  # binned: every output pixel is one read-out
        return [[(1, 1.0, int(np.count_nonzero(target == c)))] for c in range(3)]
    offsets, counts = remosaic_offsets(quad_bayer(pattern), target)
    kinds: list[Counter] = [Counter() for _ in range(3)]
    th, tw = target.shape
    for r in range(counts.shape[0]):
        for c in range(counts.shape[1]):
            n = int(counts[r, c])
            rows = Counter(int(dr) for dr, _ in offsets[r, c, :n])
            share = sum((m / n) ** 2 for m in rows.values())
            kinds[int(target[r % th, c % tw])][(n, round(share, 12))] += 1
    return [[(n, share, count) for (n, share), count in k.items()] for k in kinds]


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
    pairs = noise_profile(model, op)
    return pairs if all(_valid(p) for p in pairs) else None


def _valid(pair: tuple[float, float]) -> bool:
    # DNG 1.4: S > 0 and O ≥ 0.
    s, o = pair
    return math.isfinite(s) and math.isfinite(o) and s > 0 and o >= 0
