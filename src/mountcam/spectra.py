"""The common wavelength grid and the CIE functions on it.

Every spectral quantity in mountcam (reflectances, illuminants, sensor quantum efficiency) is
sampled on :data:`WAVELENGTHS_NM`, 380-780 nm in 5 nm steps, so spectral integrals are plain dot
products times :data:`STEP_NM`. CIE data (the CIE 1931 2° observer, CIE illuminants, the
daylight basis) and the ColorChecker and rawtoaces reflectances come from colour-science,
sampled onto the grid once by ``tools/make_colour_data.py`` and shipped in
``data/spectra/cie_spectra.npz`` (:func:`cie_tables`): nothing imports colour-science at run
time.
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
    """A colour-science ``SpectralDistribution`` sampled on the common grid (extrapolated flat).
    For tools and tests: run-time code reads the shipped tables (:func:`cie_tables`)."""
    import colour

    shape = colour.SpectralShape(380, 780, 5)
    return np.asarray(sd.copy().align(shape).values, dtype=np.float64)


#: The shipped tables, under ``mountcam/data`` (see ``tools/make_colour_data.py``).
CIE_TABLES = "spectra/cie_spectra.npz"


@lru_cache(maxsize=1)
def cie_tables() -> dict[str, np.ndarray]:
    """The arrays of ``data/spectra/cie_spectra.npz`` (read-only): ``cmfs_cie1931_2deg``
    (81, 3); ``illuminant_names``, ``illuminants`` (N, 81) as tabulated,
    ``illuminant_cct_k`` and ``illuminant_duv`` (Ohno 2013); ``d_series_basis`` (3, 81);
    ``colorchecker_names``, ``colorchecker`` (24, 81); ``training_names``, ``training``
    (190, 81). What each holds and where it comes from: ``tools/make_colour_data.py``."""
    from importlib import resources

    with (resources.files("mountcam.data") / CIE_TABLES).open("rb") as stream:
        with np.load(stream, allow_pickle=False) as data:
            tables = {key: data[key] for key in data.files}
    for array in tables.values():
        array.setflags(write=False)
    return tables


def tabulated_illuminant(name: str) -> np.ndarray:
    """The relative spectral power (81,) of the tabulated illuminant ``name`` (exact name, as
    :func:`cie_tables` lists it: ``"A"``, ``"D65"``, ``"FL11"``, ...)."""
    tables = cie_tables()
    index = np.flatnonzero(tables["illuminant_names"] == name)
    if index.size != 1:
        raise KeyError(f"no tabulated illuminant {name!r}")
    return tables["illuminants"][index[0]]


def cie_xyz_cmfs() -> np.ndarray:
    """CIE 1931 2° colour matching functions, shape (81, 3)."""
    return cie_tables()["cmfs_cie1931_2deg"]


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
