"""What a slanted-edge MTF *should* be: diffraction-limited optics × pixel aperture.

Predictions to hold a measurement (:mod:`mountcam.lab.sfr`) against, for an aberration-free,
focused lens and a sensor whose pixels integrate light uniformly over a square.

- :func:`diffraction_otf`: the OTF of an aberration-free system with a circular pupil,
  J. W. Goodman, *Introduction to Fourier Optics*, 3rd ed. (2005), eq. 6-32::

      H(ν) = (2/π) [acos(ν/ν_c) − (ν/ν_c) √(1 − (ν/ν_c)²)],   ν ≤ ν_c = 1/(λN)

  (0 beyond ν_c), for incoherent light of wavelength λ and an image-side working f-number N.
  It is real and non-negative, so it is also the MTF. Two figures to check against:
  H(ν_c/2) = 0.3910 and H = 0.5 at ν = 0.4040 ν_c.
- :func:`pixel_aperture_mtf`: the MTF of a square pixel aperture. Along a pixel axis it is
  |sinc(ν·a)| for an aperture a pixel pitches wide (a = 1: 100 % fill). Along a direction at
  angle θ to a pixel axis, which is what a slanted edge measures (ISO 12233 reports the SFR
  along the edge normal), it is |sinc(ν a cos θ) · sinc(ν a sin θ)|: the square projected on
  that direction is the convolution of two boxes, a·cos θ and a·sin θ wide.
- :func:`predicted_mtf`: the polychromatic diffraction MTF (the OTF averaged over wavelength
  with the detected-signal weights) times the pixel aperture MTF.
- :func:`mtf50_of`: where a curve first falls to 0.5 (or another level).

Frequencies are in cycles per pixel (``_cy_per_px``) or cycles per metre (``_cy_per_m``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mountcam.optics.diffraction import diffraction_cutoff_cy_per_m, diffraction_otf
from mountcam.spectra import WAVELENGTHS_NM

__all__ = [
    "band_effective_wavelength",
    "diffraction_cutoff_cy_per_m",
    "diffraction_otf",
    "mtf50_of",
    "pixel_aperture_mtf",
    "predicted_mtf",
]


def pixel_aperture_mtf(nu_cy_per_px, fill: float = 1.0, *, angle_deg: float = 0.0) -> np.ndarray:
    """MTF of a uniformly sensitive square pixel aperture, frequency in cycles per pixel pitch.

    ``fill`` is the aperture's *linear* width as a fraction of the pitch: 1.0 for a 100 % fill
    square pixel (an area fill factor F of a square aperture is ``fill = sqrt(F)``). A value
    above 1 describes a wider box, e.g. 2.0 for the average of a 2×2 Bayer quad.

    With ``angle_deg = 0`` this is |sinc(ν·fill)| (``np.sinc(x) = sin(πx)/(πx)``), the MTF along
    a pixel axis. For a slanted edge the SFR is measured along the edge normal, at an angle θ
    to the pixel axis; there the square's MTF is exactly
    |sinc(ν·fill·cos θ) · sinc(ν·fill·sin θ)|. For the ISO 12233 5° edge the difference is
    small: at ν = 0.25 cy/px 0.90035 instead of 0.90032 (+0.003 %), at Nyquist (0.5 cy/px)
    0.6370 instead of 0.6366 (+0.07 %), at 0.75 cy/px 0.3018 instead of 0.3001 (+0.6 %); only
    near the first zero of the sinc (1 cy/px) does it matter (0.0038 instead of 0).
    """
    nu = np.asarray(nu_cy_per_px, dtype=np.float64)
    if not fill > 0:
        raise ValueError(f"pixel fill must be positive (got {fill})")
    theta = np.deg2rad(angle_deg)
    return np.abs(np.sinc(nu * fill * np.cos(theta)) * np.sinc(nu * fill * np.sin(theta)))


def band_effective_wavelength(weights, wavelengths_nm=WAVELENGTHS_NM) -> float:
    """Weighted mean wavelength of a spectral band, in metres.

    ``weights``: the detected signal per wavelength sample (for a camera channel, its quantum
    efficiency × the photon spectral irradiance; on mountcam's grid, 81 values for
    380–780 nm in 5 nm steps). A one-number stand-in for :func:`predicted_mtf`'s spectral
    average: for the R, G and B bands of a Bayer camera (the NPL-measured Nikon D5100 under
    D65) the monochromatic MTF at this wavelength is within 0.0003 of the polychromatic one up
    to 0.7 ν_c, because the diffraction MTF is nearly linear in ν/ν_c there.
    """
    w, wl = _spectral_weights(weights, wavelengths_nm)
    return float(np.dot(w, wl) * 1e-9)


def predicted_mtf(
    nu_cy_per_px,
    pitch_m: float,
    f_number: float,
    wavelength_m: float | None = None,
    *,
    weights=None,
    wavelengths_nm=WAVELENGTHS_NM,
    fill: float = 1.0,
    angle_deg: float = 0.0,
) -> np.ndarray:
    """Predicted MTF of a diffraction-limited lens on a square-pixel sensor.

    ``nu_cy_per_px``: frequencies in cycles per pixel pitch ``pitch_m``; ``f_number``: the
    working f-number. The light is either monochromatic (``wavelength_m``) or a band given by
    ``weights`` over ``wavelengths_nm`` (the detected signal per wavelength, see
    :func:`band_effective_wavelength`); the diffraction OTF is then the weighted average of the
    monochromatic OTFs, which is exact for incoherent light. Exactly one of the two must be
    given. The result is multiplied by :func:`pixel_aperture_mtf` (``fill``, ``angle_deg``):
    pass the slanted edge's angle to compare with a slanted-edge measurement along the edge
    normal.
    """
    if (wavelength_m is None) == (weights is None):
        raise ValueError("give either wavelength_m or spectral weights, not both or neither")
    if not pitch_m > 0:
        raise ValueError(f"pixel pitch must be positive (got {pitch_m} m)")
    nu_px = np.asarray(nu_cy_per_px, dtype=np.float64)
    nu_m = nu_px / pitch_m
    if wavelength_m is not None:
        optics = diffraction_otf(nu_m, wavelength_m, f_number)
    else:
        w, wl = _spectral_weights(weights, wavelengths_nm)
        keep = w > 0
        optics = np.zeros_like(nu_m)
        for wi, lam_nm in zip(w[keep], wl[keep], strict=True):
            optics = optics + wi * diffraction_otf(nu_m, lam_nm * 1e-9, f_number)
    return optics * pixel_aperture_mtf(nu_px, fill, angle_deg=angle_deg)


def mtf50_of(
    curve: np.ndarray | Callable[[np.ndarray], np.ndarray],
    mtf: np.ndarray | None = None,
    *,
    level: float = 0.5,
    nu_max: float | None = None,
) -> float:
    """The lowest frequency at which an MTF curve falls to ``level`` (0.5: MTF50).

    Either a sampled curve, ``mtf50_of(freq, mtf)``, interpolated linearly between the two
    samples that bracket the first crossing; or a function of frequency,
    ``mtf50_of(f, nu_max=...)``, solved to machine precision (Brent) after a scan of
    [0, ``nu_max``]. Returns NaN when the curve does not fall to ``level`` in its range.
    """
    if callable(curve):
        if nu_max is None or not nu_max > 0:
            raise ValueError("a curve given as a function needs a positive nu_max to search")
        from scipy.optimize import brentq

        nu = np.linspace(0.0, nu_max, 4097)
        values = np.asarray(curve(nu), dtype=np.float64)
        i = _first_below(values, level)
        if i is None:
            return float("nan")
        return float(brentq(lambda v: float(curve(np.asarray(v))) - level, nu[i - 1], nu[i]))
    if mtf is None:
        raise ValueError("give the MTF values with the frequencies: mtf50_of(freq, mtf)")
    freq = np.asarray(curve, dtype=np.float64)
    values = np.asarray(mtf, dtype=np.float64)
    if freq.shape != values.shape or freq.ndim != 1:
        raise ValueError(f"freq and mtf must be 1-D of one length ({freq.shape}, {values.shape})")
    i = _first_below(values, level)
    if i is None:
        return float("nan")
    f0, f1, m0, m1 = freq[i - 1], freq[i], values[i - 1], values[i]
    return float(f0 + (m0 - level) * (f1 - f0) / (m0 - m1))


def _first_below(values: np.ndarray, level: float) -> int | None:
    """Index of the first sample below ``level`` after a first sample at or above it."""
    if values.size < 2 or not values[0] >= level:
        return None
    below = np.flatnonzero(values < level)
    return int(below[0]) if below.size else None


def _spectral_weights(weights, wavelengths_nm) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(weights, dtype=np.float64)
    wl = np.asarray(wavelengths_nm, dtype=np.float64)
    if w.ndim != 1 or w.shape != wl.shape:
        raise ValueError(
            f"spectral weights {w.shape} must match the wavelengths {wl.shape} one to one"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("spectral weights must be finite, non-negative and not all zero")
    return w / w.sum(), wl
