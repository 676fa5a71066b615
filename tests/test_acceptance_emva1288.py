"""Acceptance 1: the EMVA 1288 reference implementation recovers the twin's declared figures.

Flat-field pairs and dark pairs come from ``mountcam shoot --scene chart:flat`` over a shutter
sweep (binned mode, 12 bit, a 128×128 crop, the green sites), are reduced exactly as
``emva1288.process.LoadImageData`` reduces image pairs, and analysed by ``Results1288``.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from conftest import green_sites, read_raw, sensor_figures, shoot

emva1288 = pytest.importorskip("emva1288")

# emva1288 1.0.2 predates numpy 2 and calls np.asfarray.
if not hasattr(np, "asfarray"):
    np.asfarray = lambda a, dtype=np.float64: np.asarray(a, dtype=dtype)  # noqa: E731, NPY201

from emva1288.process import Data1288, Results1288  # noqa: E402
from emva1288.process.routines import get_int_imgs  # noqa: E402

from mountcam.optics.lens import load_lens  # noqa: E402
from mountcam.scene import load_scene  # noqa: E402
from mountcam.sensor.model import load_sensor  # noqa: E402
from mountcam.spectra import STEP_NM, WAVELENGTHS_NM  # noqa: E402
from mountcam.units import LIGHT_SPEED_M_S, PLANCK_J_S  # noqa: E402


def luminance_for(iso: int) -> float:
    """A flat-field luminance (cd/m²) that saturates at ISO ``iso`` in about 20 ms."""
    return 200.0 * 100.0 / iso


CROP = "128x128"


def photons_per_pixel(exposure_s: float, luminance: float) -> float:
    """Mean photons reaching one binned pixel on axis: ∫E(λ)·λ/(hc)·A dλ · t."""
    lens = load_lens("main-8.7")
    scene = load_scene("chart:flat", luminance_cd_m2=luminance, illuminant="D65")
    e = (
        math.pi
        * lens.transmittance
        / (4 * lens.max_f**2)
        * scene.spectral_radiance_per_reflectance()
    )
    area = load_sensor().output_pitch_m("binned") ** 2
    per_s = float(
        (e * WAVELENGTHS_NM * 1e-9 / (PLANCK_J_S * LIGHT_SPEED_M_S)).sum() * STEP_NM * area
    )
    return per_s * exposure_s


def pair(tmp_path, name: str, iso: int, shutter: float, reflectance: float) -> list[np.ndarray]:
    res = shoot(
        tmp_path / name,
        "--scene",
        "chart:flat",
        "--reflectance",
        str(reflectance),
        "--luminance",
        str(luminance_for(iso)),
        "--iso",
        str(iso),
        "--shutter",
        repr(shutter),
        "--crop",
        CROP,
        "--count",
        "2",
        "--seed",
        str(zlib.crc32(f"{name}{iso}".encode())),
    )
    return [green_sites(read_raw(p)) for p in res["files"]]


def emva_results(tmp_path, iso: int) -> Results1288:
    # Exposure time that saturates at this ISO: H_sat = 78/S lux·s at E = πTL/(4N²) (D65 ~ D55).
    lens = load_lens("main-8.7")
    luminance = luminance_for(iso)
    e_lux = math.pi * lens.transmittance * luminance / (4 * lens.max_f**2)
    t_sat = 78.0 / iso / e_lux
    fractions = np.concatenate([np.linspace(0.02, 0.86, 22), np.linspace(0.88, 1.16, 15)])
    temporal: dict = {}
    spatial: dict = {}
    for i, f in enumerate(fractions):
        t = float(f * t_sat)
        dark = pair(tmp_path, f"d{i}", iso, t, 0.0)
        bright = pair(tmp_path, f"b{i}", iso, t, 1.0)
        entry = {}
        for photons, imgs in ((0.0, dark), (photons_per_pixel(t, luminance), bright)):
            d = get_int_imgs(imgs)
            entry[photons] = {
                "sum": np.sum(d["sum"]),
                "pvar": np.sum(d["pvar"]),
                "dmean": d["dmean"],
            }
        temporal[t] = entry
        if i == 10:  # one mid-level point for the (unused here) spatial section
            spatial[t] = {
                0.0: get_int_imgs(dark),
                photons_per_pixel(t, luminance): get_int_imgs(bright),
            }
    h, w = dark[0].shape
    data = Data1288({"temporal": temporal, "spatial": spatial, "width": w, "height": h})
    return Results1288(data.data, loglevel=40)


@pytest.mark.parametrize("iso", [100, 1600])
def test_emva1288_recovers_system_gain_dark_noise_and_saturation(tmp_path, iso):
    declared = sensor_figures("--iso", str(iso))
    results = emva_results(tmp_path, iso)
    k = declared["conversion_gain_dn_per_e"]
    assert results.K == pytest.approx(k, rel=0.03)
    if iso == 1600:
        # Temporal dark noise: read and row noise (dark current is negligible at these times).
        sigma_d = math.hypot(declared["read_noise_e"], declared["row_noise_e"])
        assert results.sigma_d == pytest.approx(sigma_d, rel=0.05)
    if iso == 100:
        assert results.u_e_sat == pytest.approx(declared["full_well_e"], rel=0.05)
