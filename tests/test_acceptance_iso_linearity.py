"""Acceptance 2: saturation-based ISO (ISO 12232), linearity, and seeds, through the CLI.

The focal-plane exposure is computed independently of the twin from the issue's equation
H = π·T·L·t / (4·N²) for the on-axis pixels of a centred crop of ``chart:flat`` under ISO 7589
daylight (CIE D55), and the ISO speed is S = 78 / H_sat (ISO 12232:2019 §6.2).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import green_sites, read_raw, sensor_figures, shoot
from mountcam.optics.lens import load_lens


def luminance_for(iso: float) -> float:
    """A flat-field luminance (cd/m²) that saturates at ``iso`` in about 8 ms."""
    return 500.0 * 100.0 / iso


def focal_plane_illuminance_lux(iso: float) -> float:
    """E = π·T·L/(4N²) on axis (ISO 12232 Annex; the issue's equation with m = 0)."""
    lens = load_lens("main-8.7")
    return math.pi * lens.transmittance * luminance_for(iso) / (4 * lens.max_f**2)


def shoot_flat(out_dir, iso, shutter_s, mode="binned") -> dict:
    """A 64×64 centre crop of chart:flat under D55 at the luminance that suits ``iso``."""
    return shoot(
        out_dir, "--scene", "chart:flat", "--illuminant", "D55",
        "--luminance", str(luminance_for(iso)), "--iso", str(iso), "--shutter", repr(shutter_s),
        "--crop", "64x64", "--mode", mode, "--seed", "11",
    )  # fmt: skip


def mean_green_above_black(
    tmp_path, iso, shutter_s, mode="binned", name="x"
) -> tuple[float, float, int]:
    res = shoot_flat(tmp_path / name, iso, shutter_s, mode)
    s = res["settings"]
    g = green_sites(read_raw(res["files"][0])).astype(np.float64)
    return (
        float(g.mean() - s["black_level_dn"]),
        float(s["white_level_dn"] - s["black_level_dn"]),
        s["white_level_dn"],
    )


@pytest.mark.parametrize(
    "iso, mode",
    [
        (100, "binned"),
        (400, "binned"),
        (3200, "binned"),
        (12800, "binned"),
        (100, "full"),
        (800, "full"),
    ],
)
def test_saturation_based_iso_speed_holds(tmp_path, iso, mode):
    """Find the exposure at which the green raw reaches the white level; S = 78/H_sat ±3 %."""
    e_lux = focal_plane_illuminance_lux(iso)
    t_nominal = 78.0 / iso / e_lux
    # Slope of the (linear) response from two exposures well below clipping.
    t1, t2 = 0.3 * t_nominal, 0.6 * t_nominal
    y1, span, _ = mean_green_above_black(tmp_path, iso, t1, mode, "a")
    y2, _, _ = mean_green_above_black(tmp_path, iso, t2, mode, "b")
    slope = (y2 - y1) / (t2 - t1)
    t_sat = span / slope
    measured_iso = 78.0 / (e_lux * t_sat)
    assert measured_iso == pytest.approx(iso, rel=0.03)
    # ...and the raw really clips there: 10 % past t_sat the median green site sits at white
    # (at ISO 12800 only ~140 e- fill the range, so shot noise keeps some sites below it).
    res = shoot_flat(tmp_path / "c", iso, 1.1 * t_sat, mode)
    g = green_sites(read_raw(res["files"][0]))
    assert np.median(g) == res["settings"]["white_level_dn"]


def test_response_is_linear_from_5_to_90_percent_of_saturation(tmp_path):
    """EMVA 1288 linearity error: max deviation from the best straight line < 0.5 %."""
    e_lux = focal_plane_illuminance_lux(100)
    t_sat = 78.0 / 100 / e_lux
    fractions = np.linspace(0.05, 0.90, 12)
    ys = []
    for i, f in enumerate(fractions):
        y, span, _ = mean_green_above_black(tmp_path, 100, float(f * t_sat), name=f"l{i}")
        ys.append(y)
    h = fractions * t_sat * e_lux
    ys = np.array(ys)
    slope, offset = np.polyfit(h, ys, 1)
    deviation = (ys - (slope * h + offset)) / ys
    assert np.max(np.abs(deviation)) < 0.005
    assert abs(offset) / ys.max() < 0.005


def test_a_seed_reproduces_a_frame_bit_for_bit(tmp_path):
    args = (
        "--scene",
        "chart:colorchecker",
        "--crop",
        "96x64",
        "--iso",
        "800",
        "--shutter",
        "1/500",
    )
    a = read_raw(shoot(tmp_path / "a", *args, "--seed", "42")["files"][0])
    b = read_raw(shoot(tmp_path / "b", *args, "--seed", "42")["files"][0])
    c = read_raw(shoot(tmp_path / "c", *args, "--seed", "43")["files"][0])
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # The difference between two seeds is noise: zero-mean, with the expected spread.
    d = a.astype(float) - c.astype(float)
    assert abs(d.mean()) < 3 * d.std() / math.sqrt(d.size)


def test_count_gives_independent_frames(tmp_path):
    res = shoot(
        tmp_path,
        "--scene",
        "chart:flat",
        "--crop",
        "64x64",
        "--count",
        "3",
        "--seed",
        "5",
        "--iso",
        "1600",
        "--shutter",
        "1/1000",
        "--luminance",
        "100",
    )
    frames = [read_raw(p).astype(float) for p in res["files"]]
    assert len(set(res["files"])) == 3
    d01, d02 = frames[0] - frames[1], frames[0] - frames[2]
    assert np.all(frames[0] < 2**12 - 1)  # not clipped, so the noise is visible
    assert np.std(d01) > 0 and not np.array_equal(d01, d02)
    assert abs(np.corrcoef(d01.ravel(), (frames[1] - frames[2]).ravel())[0, 1] + 0.5) < 0.1


def test_sensor_figures_cli_reports_the_declared_model():
    f = sensor_figures("--iso", "1600", "--mode", "full", "--bits", "14")
    assert f["black_level_dn"] == 1024 and f["white_level_dn"] == 16383
    for key in ("conversion_gain_dn_per_e", "read_noise_e", "full_well_e"):
        assert f[key] > 0
