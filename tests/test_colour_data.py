"""Issue 9 §3: what mountcam takes from colour-science at run time is shipped as data and numpy
code, and equals colour-science.

- ``data/spectra/cie_spectra.npz`` equals what ``tools/make_colour_data.py`` computes from the
  installed colour-science (CMFs, every CIE illuminant and its Ohno CCT, the daylight basis, the
  ColorChecker, the rawtoaces training set);
- :mod:`mountcam.colorimetry` (Planck, CIE daylight, sRGB primaries, CAT02, CIELAB, CIEDE2000,
  Robertson CCT) against colour-science's functions;
- the illuminants and the colour calibration built from them against colour-science's path;
- ``shoot``, ``sensors``, ``lenses`` and ``scenes`` run without importing colour-science.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import colour
import numpy as np
import pytest

from mountcam import colorimetry
from mountcam.scene.illuminants import illuminant
from mountcam.spectra import WAVELENGTHS_NM, cie_tables, sd_on_grid

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location(
        "make_colour_data", ROOT / "tools/make_colour_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_tables_equal_colour_science():
    fresh = _tool().colour_tables()
    shipped = cie_tables()
    assert set(fresh) == set(shipped)
    for key, value in fresh.items():
        if value.dtype.kind in "US":
            assert list(shipped[key]) == list(value), key
        else:
            np.testing.assert_allclose(shipped[key], value, rtol=1e-12, atol=0, err_msg=key)
    assert shipped["illuminants"].shape == (len(colour.SDS_ILLUMINANTS), WAVELENGTHS_NM.size)


@pytest.mark.parametrize("cct_k", [1000.0, 2800.0, 3999.0, 4000.0, 5600.0, 6504.0, 9000.0, 25000.0])
def test_illuminant_from_a_temperature_equals_colour_science(cct_k):
    if cct_k < 4000:
        sd = colour.sd_blackbody(cct_k, colour.SpectralShape(380, 780, 5))
    else:
        sd = colour.sd_CIE_illuminant_D_series(colour.temperature.CCT_to_xy_CIE_D(cct_k))
    ref = sd_on_grid(sd)
    np.testing.assert_allclose(illuminant(f"{cct_k:g}K").spd, ref / ref.max(), rtol=1e-9)


@pytest.mark.parametrize("name", ["A", "D65", "FL11", "LED-B3", "HP1"])
def test_tabulated_illuminant_and_cct(name):
    sd = colour.SDS_ILLUMINANTS[name]
    ref = sd_on_grid(sd)
    got = illuminant(name)
    np.testing.assert_allclose(got.spd, ref / ref.max(), rtol=1e-12)
    cmfs = sd_on_grid(colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"])
    cct, duv = colour.uv_to_CCT(colour.UCS_to_uv(colour.XYZ_to_UCS(ref @ cmfs)), method="Ohno 2013")
    assert got.cct_k == (round(cct) if abs(duv) <= 0.05 else None)


def test_colorimetry_equals_colour_science():
    rng = np.random.default_rng(5)
    xyz = rng.uniform(0.0, 1.2, (500, 3))
    white = colour.xy_to_XYZ(colorimetry.D65_XY)
    lab = colorimetry.xyz_to_lab(xyz, white)
    np.testing.assert_allclose(lab, colour.XYZ_to_Lab(xyz, colorimetry.D65_XY), atol=1e-10)
    other = lab + rng.normal(0.0, 6.0, lab.shape)
    ref = colour.delta_E(lab, other, method="CIE 2000")
    np.testing.assert_allclose(colorimetry.delta_e_2000(lab, other), ref, atol=1e-10)
    # Sharma, Wu & Dalal (2005) Table 1, pairs 1, 7, 17 and 34 (hue wrap and achromatic cases)
    pairs = np.array(
        [
            [[50, 2.6772, -79.7751], [50, 0, -82.7485]],
            [[50, 0, 0], [50, -1, 2]],
            [[50, 2.5, 0], [73, 25, -18]],
            [[2.0776, 0.0795, -1.135], [0.9033, -0.0636, -0.5514]],
        ]
    )
    got = colorimetry.delta_e_2000(pairs[:, 0], pairs[:, 1])
    np.testing.assert_allclose(got, [2.0425, 2.3669, 27.1492, 0.9082], atol=1e-4)
    srgb = colour.RGB_COLOURSPACES["sRGB"]
    npm = colorimetry.normalised_primary_matrix(colorimetry.SRGB_PRIMARIES_XY, colorimetry.D65_XY)
    ref = colour.normalised_primary_matrix(np.array(srgb.primaries), srgb.whitepoint)
    np.testing.assert_allclose(npm, ref, atol=1e-12)
    np.testing.assert_array_equal(colorimetry.SRGB_XYZ_TO_RGB, srgb.matrix_XYZ_to_RGB)
    a_white = colour.xy_to_XYZ(colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["A"])
    cat = colour.adaptation.matrix_chromatic_adaptation_VonKries(a_white, white, transform="CAT02")
    np.testing.assert_allclose(colorimetry.von_kries_matrix(a_white, white), cat, atol=1e-12)
    for t in (4000.0, 6504.0, 7000.0, 7001.0, 25000.0):
        ref = colour.temperature.CCT_to_xy_CIE_D(t)
        np.testing.assert_allclose(colorimetry.daylight_xy(t), ref, atol=1e-14)
    for xy in ([0.4476, 0.4074], [0.3127, 0.3290], [0.28, 0.29]):
        uv = colour.xy_to_UCS_uv(np.array(xy))
        ref = colour.temperature.uv_to_CCT_Robertson1968(uv)[0]
        assert colorimetry.xy_to_cct(xy)[0] == pytest.approx(ref, rel=1e-9)


def test_calibration_fit_errors_are_colour_sciences_ciede2000():
    from mountcam.dng.calibration import calibrate_dual
    from mountcam.sensor.model import load_sensor

    cal = calibrate_dual(load_sensor("imx989").qe)
    err = cal.fit_errors["ColorMatrix2"]
    assert err.patches == 24 + 190
    assert 0.5 < err.training_mean < 3.0 and err.training_mean < err.loo_mean


@pytest.mark.parametrize(
    "args",
    [
        ["shoot", "--scene", "chart:colorchecker", "--crop", "64x48", "--illuminant", "2800K"],
        ["shoot", "--scene", "sample:coffee", "--crop", "64x48", "--illuminant", "FL11", "--truth"],
        ["sensors", "show", "imx989", "--iso", "800"],
        ["lenses", "show", "noctilux-m-50-f0.95"],
        ["scenes", "list"],
    ],
)
def test_commands_do_not_import_colour_science(tmp_path, args):
    out = ["--out", str(tmp_path)] if args[0] == "shoot" else []
    code = (
        "import sys\n"
        "from mountcam.app.cli import app\n"
        f"try:\n    app({args + out!r})\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "print(sorted(m for m in sys.modules if m == 'colour' or m.startswith('colour.')))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stdout[-500:]
