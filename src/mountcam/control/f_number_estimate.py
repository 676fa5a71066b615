"""Estimating the f-number of a manual M lens from the main module's view of the same scene.

A Leica M body guesses the aperture of a lens it cannot read from an external light sensor and
is often a stop off. This phone has a calibrated reference: the main module (f/1.9, known
transmittance) sees the same scene. Over the part of the main module's field that the M lens
covers, both modules integrate the same scene luminance L, so per pixel and second the
photo-electron rates of one colour channel are (same sensor design, same readout mode)

    Φ = k · L · T · V / (N² · (1 + m)²)

with T the transmittance, V the mean relative illumination over the region (cos⁴ and lens
vignetting), N the f-number and m the magnification. Dividing the two,

    N_M = N_main · sqrt( (T_M · V_M · Φ_main) / (T_main · V_main · Φ_M) ) / (1 + m_M)

with the M lens's vignetting V_M itself a function of N_M (solved by fixed-point iteration).
Φ comes from raw DN: Φ = (DN − black) / (K · t). Clipped pixels are excluded.

The uncertainty (1σ, in stops) adds in quadrature the transmittance of the M lens as the
catalogue knows it, its vignetting model, the unknown focus distance (the body cannot read the
focus ring: m is taken at the midpoint of what the lens allows), and the photon noise of both
means.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mountcam.errors import MountcamError


@dataclass(frozen=True)
class ChannelRate:
    """Mean photo-electron rate of one colour channel over a region, and how it was measured."""

    electrons_per_s: float
    electrons_total: float
    pixels: int
    clipped_fraction: float


@dataclass(frozen=True)
class ApertureEstimate:
    """An estimated f-number with its 1σ uncertainty in stops (log2 of N²)."""

    f_number: float
    sigma_stops: float

    def as_dict(self) -> dict:
        return {"f_number": self.f_number, "sigma_stops": self.sigma_stops, "estimated": True}


#: 1σ relative uncertainty of a catalogue transmittance marked "assumed" (0.90 ± 0.04).
TRANSMITTANCE_REL_SIGMA = 0.045
#: 1σ relative uncertainty of the mean vignetting gain from a lens profile.
VIGNETTING_REL_SIGMA = 0.03


def green_rate(
    mosaic: np.ndarray,
    cfa_pattern: str,
    black_dn: float,
    white_dn: float,
    conversion_gain_dn_per_e: float,
    exposure_s: float,
    digital_gain: float = 1.0,
    weights: np.ndarray | None = None,
) -> ChannelRate:
    """Mean green photo-electron rate of a raw mosaic over unclipped sites, optionally weighted
    per pixel (``weights`` (H, W): how much of each pixel lies in the region of interest)."""
    sites = [divmod(i, 2) for i, c in enumerate(cfa_pattern) if c == "G"]
    values = np.concatenate([mosaic[r::2, c::2].ravel() for r, c in sites]).astype(np.float64)
    w = (
        np.ones_like(values)
        if weights is None
        else np.concatenate([weights[r::2, c::2].ravel() for r, c in sites]).astype(np.float64)
    )
    inside = w > 0
    ok = (values < white_dn) & inside
    clipped = 1.0 - float(ok.sum() / max(inside.sum(), 1))
    if not ok.any():  # everything clipped: the caller re-takes the frame shorter
        return ChannelRate(0.0, 0.0, 0, clipped)
    electrons = (values[ok] - black_dn) / (conversion_gain_dn_per_e * digital_gain)
    mean_e = float(np.average(electrons, weights=w[ok]))
    return ChannelRate(mean_e / exposure_s, mean_e * ok.sum(), int(ok.sum()), clipped)


def estimate_f_number(
    reference: ChannelRate,
    reference_f_number: float,
    reference_transmittance: float,
    reference_illumination: float,
    subject: ChannelRate,
    subject_transmittance: float,
    subject_illumination: Callable[[float], float],
    magnification_range: tuple[float, float] = (0.0, 0.0),
    f_number_range: tuple[float, float] | None = None,
) -> ApertureEstimate:
    """Solve the rate ratio for the subject lens's f-number (see the module docstring).

    ``subject_illumination(N)`` is the mean relative illumination over the subject frame for
    f-number N (lens vignetting varies with aperture); ``magnification_range`` is what the
    focus ring allows, (0 at infinity, the close-focus magnification).
    """
    if subject.electrons_per_s <= 0 or reference.electrons_per_s <= 0:
        raise MountcamError("too little light in one of the two frames to compare exposures")
    m_lo, m_hi = magnification_range
    m_mid = 0.5 * (m_lo + m_hi)
    ratio = (reference.electrons_per_s / subject.electrons_per_s) * (
        subject_transmittance / (reference_transmittance * reference_illumination)
    )
    n = reference_f_number * math.sqrt(ratio * subject_illumination(reference_f_number))
    for _ in range(20):
        n_new = reference_f_number * math.sqrt(ratio * subject_illumination(n)) / (1.0 + m_mid)
        if abs(n_new - n) < 1e-6 * n:
            n = n_new
            break
        n = n_new
    if f_number_range is not None:
        n = min(max(n, f_number_range[0]), f_number_range[1])
    # Uncertainties of N² (relative), then in stops: σ_stops = σ_rel(N²) / ln 2.
    shot = math.sqrt(
        1.0 / max(reference.electrons_total, 1.0) + 1.0 / max(subject.electrons_total, 1.0)
    )
    focus = 2.0 * (m_hi - m_lo) / (1.0 + m_mid) / math.sqrt(12.0)  # uniform over the range
    rel = math.sqrt(TRANSMITTANCE_REL_SIGMA**2 + VIGNETTING_REL_SIGMA**2 + shot**2 + focus**2)
    return ApertureEstimate(float(n), rel / math.log(2.0))
