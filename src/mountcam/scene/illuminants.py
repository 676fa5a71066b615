"""Light sources by name: CIE standard illuminants or a correlated colour temperature.

``illuminant("D65")``, ``illuminant("a")``, ``illuminant("FL11")`` take the tabulated CIE
spectra that colour-science ships (``colour.SDS_ILLUMINANTS``; CIE 15:2004, CIE S 014-2), as
sampled into :func:`mountcam.spectra.cie_tables`.
``illuminant("tungsten")`` and the other white-balance preset names of ``develop --wb`` take
the CIE illuminant the preset stands for (:data:`PRESETS`). ``illuminant("2800K")`` makes one from a temperature: a Planckian radiator below 4000 K and the
CIE daylight series (CIE 15:2004 §3.1, chromaticity from ``CCT_to_xy_CIE_D``) from 4000 K to
25 000 K, the convention of CIE 15 and of most camera white-balance presets. Spectra are on
:data:`mountcam.spectra.WAVELENGTHS_NM`, normalised to a maximum of 1 (the absolute scale comes
from :attr:`mountcam.scene.Scene.white_luminance_cd_m2`).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from mountcam.colorimetry import daylight_spectrum, daylight_xy, planck_spectrum
from mountcam.errors import SceneError
from mountcam.scene.scene import Illuminant
from mountcam.spectra import WAVELENGTHS_NM, cie_tables, tabulated_illuminant

#: Temperatures accepted for "NNNNK" names, kelvin.
CCT_MIN_K = 1000.0
CCT_MAX_K = 25000.0
#: Below this a temperature means a blackbody, at and above it CIE daylight (CIE 15:2004).
DAYLIGHT_FROM_K = 4000.0
# |Duv| beyond which a CCT is not a meaningful description of a source (CIE 15:2004 §9.5).
_MAX_DUV = 0.05

#: The white-balance presets ``develop --wb`` knows, as the CIE illuminants they stand for
#: (the chromaticities of :data:`mountcam.develop.white_balance.PRESET_XY`).
PRESETS = {
    "daylight": "D55",
    "cloudy": "D65",
    "shade": "D75",
    "tungsten": "A",
    "fluorescent": "FL2",
}

_CCT_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*k\s*$", re.IGNORECASE)


def _standard_names() -> dict[str, str]:
    return {str(name).casefold(): str(name) for name in cie_tables()["illuminant_names"]}


def illuminant_names() -> list[str]:
    """Names of the tabulated illuminants ``illuminant()`` accepts (plus any "NNNNK")."""
    return list(_standard_names().values())


def illuminant(name: str | Illuminant) -> Illuminant:
    """The illuminant called ``name``: a CIE standard name (case-insensitive) or ``"5600K"``.

    Raises :class:`~mountcam.errors.SceneError` for an unknown name or a temperature outside
    1000-25 000 K.
    """
    if isinstance(name, Illuminant):
        return name
    if not isinstance(name, str):
        raise SceneError(f"an illuminant is a name such as 'D65' or '5600K', not {name!r}")
    match = _CCT_PATTERN.match(name)
    if match:
        return _from_cct(float(match.group(1)))
    key = name.strip().casefold()
    canonical = _standard_names().get(PRESETS.get(key, key).casefold())
    if canonical is None:
        common = "A, D50, D55, D65, D75, E, FL2, FL11, LED-B3"
        raise SceneError(
            f"unknown illuminant '{name}'; use a CIE name ({common}, ... "
            f"{len(_standard_names())} in all), {', '.join(PRESETS)}, or a colour temperature "
            "such as 3200K or 5600K"
        )
    return _standard(canonical)


@lru_cache(maxsize=64)
def _standard(canonical: str) -> Illuminant:
    spd = tabulated_illuminant(canonical)
    return Illuminant(canonical, _normalised(spd), _cct_of(canonical))


@lru_cache(maxsize=64)
def _from_cct(cct_k: float) -> Illuminant:
    if not (CCT_MIN_K <= cct_k <= CCT_MAX_K):
        raise SceneError(
            f"colour temperature {cct_k:g} K is out of range; use {CCT_MIN_K:.0f}-"
            f"{CCT_MAX_K:.0f} K (e.g. 2800K tungsten, 5600K daylight)"
        )
    if cct_k < DAYLIGHT_FROM_K:
        spd = planck_spectrum(WAVELENGTHS_NM, cct_k)
    else:
        spd = daylight_spectrum(daylight_xy(cct_k), cie_tables()["d_series_basis"])
    return Illuminant(f"{cct_k:g}K", _normalised(spd), float(cct_k))


def _normalised(spd: np.ndarray) -> np.ndarray:
    spd = np.asarray(spd, dtype=np.float64)
    spd = spd / spd.max()
    spd.setflags(write=False)
    return spd


def _cct_of(canonical: str) -> float | None:
    """CCT in kelvin (Ohno 2013, computed with the tables) of a tabulated source, None where
    |Duv| makes it meaningless."""
    tables = cie_tables()
    index = int(np.flatnonzero(tables["illuminant_names"] == canonical)[0])
    cct, duv = tables["illuminant_cct_k"][index], tables["illuminant_duv"][index]
    if not np.isfinite(cct) or abs(duv) > _MAX_DUV or not (CCT_MIN_K <= cct <= 1e5):
        return None
    return float(round(cct))
