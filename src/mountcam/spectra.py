"""The common wavelength grid and the CIE functions on it.

Every spectral quantity in mountcam (reflectances, illuminants, sensor quantum efficiency) is
sampled on :data:`WAVELENGTHS_NM`, 380-780 nm in 5 nm steps, so spectral integrals are plain dot
products times :data:`STEP_NM`. CIE data come from colour-science (CIE 1931 2° observer and CIE
1924 photopic V(λ)).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

WAVELENGTHS_NM = np.arange(380.0, 781.0, 5.0)
STEP_NM = 5.0


def resample(wavelengths_nm: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Linearly resample ``values`` (…, n) given at ``wavelengths_nm`` onto the common grid.

    Outside the given range the curve is taken as zero (a sensor or filter curve that is not
    measured there does not respond there).
    """
    values = np.asarray(values, dtype=np.float64)
    wl = np.asarray(wavelengths_nm, dtype=np.float64)
    flat = values.reshape(-1, values.shape[-1])
    out = np.stack([np.interp(WAVELENGTHS_NM, wl, row, left=0.0, right=0.0) for row in flat])
    return out.reshape(values.shape[:-1] + (WAVELENGTHS_NM.size,))


def sd_on_grid(sd) -> np.ndarray:
    """A colour-science ``SpectralDistribution`` sampled on the common grid (extrapolated flat)."""
    import colour

    shape = colour.SpectralShape(380, 780, 5)
    return np.asarray(sd.copy().align(shape).values, dtype=np.float64)


@lru_cache(maxsize=1)
def cie_xyz_cmfs() -> np.ndarray:
    """CIE 1931 2° colour matching functions, shape (81, 3)."""
    import colour

    cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"]
    shape = colour.SpectralShape(380, 780, 5)
    return np.asarray(cmfs.copy().align(shape).values, dtype=np.float64)


@lru_cache(maxsize=1)
def photopic_v() -> np.ndarray:
    """CIE photopic luminous efficiency V(λ) on the common grid (the 2° observer's ȳ)."""
    return cie_xyz_cmfs()[:, 1].copy()


def luminance_integral(spectral_radiance: np.ndarray) -> np.ndarray:
    """Photometric quantity of a spectral radiometric one: ``Km ∫ X(λ) V(λ) dλ``.

    For spectral radiance in W/(m²·sr·nm) this is luminance in cd/m²; for spectral irradiance in
    W/(m²·nm) it is illuminance in lux (CIE 15:2004; SI brochure).
    """
    from mountcam.units import KM_LM_PER_W

    return KM_LM_PER_W * np.asarray(spectral_radiance) @ photopic_v() * STEP_NM
