"""Illuminants: CIE names, colour temperatures, errors."""

from __future__ import annotations

import colour
import numpy as np
import pytest

from mountcam.errors import SceneError
from mountcam.scene import Illuminant, illuminant, illuminant_names
from mountcam.spectra import WAVELENGTHS_NM, cie_xyz_cmfs


def _cct(spd: np.ndarray) -> float:
    uv = colour.UCS_to_uv(colour.XYZ_to_UCS(spd @ cie_xyz_cmfs()))
    return float(colour.uv_to_CCT(uv, method="Ohno 2013")[0])


@pytest.mark.parametrize(
    ("name", "canonical", "cct"),
    [("D65", "D65", 6504), ("d50", "D50", 5003), ("a", "A", 2856), ("fl11", "FL11", 4000)],
)
def test_standard_illuminants(name: str, canonical: str, cct: float) -> None:
    light = illuminant(name)
    assert light.name == canonical
    assert light.spd.shape == (WAVELENGTHS_NM.size,)
    assert light.spd.max() == pytest.approx(1.0)
    assert light.cct_k == pytest.approx(cct, abs=5)
    # Same shape as colour-science's table on the common grid.
    ref = colour.SDS_ILLUMINANTS[canonical].copy().align(colour.SpectralShape(380, 780, 5))
    np.testing.assert_allclose(light.spd, ref.values / ref.values.max(), rtol=1e-12)


def test_every_listed_name_loads() -> None:
    names = illuminant_names()
    assert {"A", "D50", "D65", "FL2", "FL11", "E"} <= set(names)
    for name in names:
        assert np.all(np.isfinite(illuminant(name).spd))


def test_blackbody_below_4000k_is_planck() -> None:
    light = illuminant("2800K")
    assert light.cct_k == 2800.0 and light.name == "2800K"
    wl = WAVELENGTHS_NM * 1e-9
    h, c, k = 6.62607015e-34, 299792458.0, 1.380649e-23
    planck = 1.0 / (wl**5 * (np.exp(h * c / (wl * k * 2800.0)) - 1.0))
    np.testing.assert_allclose(light.spd, planck / planck.max(), rtol=1e-3)
    assert _cct(light.spd) == pytest.approx(2800, abs=2)


@pytest.mark.parametrize("kelvin", [4000, 5600, 6500, 10000, 25000])
def test_daylight_series_from_4000k(kelvin: int) -> None:
    light = illuminant(f"{kelvin}k")
    assert light.cct_k == kelvin
    # CIE daylight lies slightly above the Planckian locus; its CCT is still the request.
    assert _cct(light.spd) == pytest.approx(kelvin, rel=2e-3)


def test_6504k_matches_d65() -> None:
    spd = illuminant("6504K").spd
    d65 = illuminant("D65").spd
    assert np.corrcoef(spd, d65)[0, 1] > 0.999


@pytest.mark.parametrize("bad", ["900K", "30000K", "0K"])
def test_temperature_out_of_range(bad: str) -> None:
    with pytest.raises(SceneError, match="1000-25000 K"):
        illuminant(bad)


def test_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(SceneError, match="D65.*temperature"):
        illuminant("D66")


def test_illuminant_instance_passes_through() -> None:
    light = Illuminant("custom", np.ones(81))
    assert illuminant(light) is light
