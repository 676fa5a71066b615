"""The develop colour model against the DNG 1.4 §6 equations, CIE data and colour-science."""

from __future__ import annotations

import colour
import numpy as np
import pytest

from mountcam.develop.colour import (
    D50_XY,
    D65_XY,
    LIGHT_SOURCE_CCT,
    ColourProfile,
    bradford_cat,
    cct_to_xy,
    interpolation_weight,
    srgb_decode,
    srgb_encode,
    xy_to_cct,
    xy_to_xyz,
    xyz_d50_to_output,
)
from mountcam.develop.white_balance import PRESET_XY, auto_neutral, neutral_for

# A made-up but plausible dual-illuminant camera: camera = S · XYZ with S the "true"
# spectral-sensitivity matrix; the calibration matrices are S normalised per DNG for each
# illuminant, with a small illuminant-dependent change so that interpolation matters.
_S = np.array([[0.9, 0.35, -0.15], [-0.3, 1.2, 0.1], [0.05, -0.2, 1.0]])
_S_A = _S @ np.diag([1.0, 1.0, 0.9])


def _normalised(cm: np.ndarray, xy) -> np.ndarray:
    return cm / (cm @ xy_to_xyz(xy)).max()


CM_A = _normalised(_S_A, colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["A"])
CM_D65 = _normalised(_S, D65_XY)
PROFILE = ColourProfile(CM_A, LIGHT_SOURCE_CCT[17], CM_D65, LIGHT_SOURCE_CCT[21])


def test_interpolation_weight_is_linear_in_inverse_cct_and_clamped() -> None:
    t1, t2 = 2850.0, 6500.0
    assert interpolation_weight(t1, t1, t2) == 1.0
    assert interpolation_weight(t2, t1, t2) == 0.0
    mid = 2.0 / (1.0 / t1 + 1.0 / t2)  # midpoint in mired
    assert interpolation_weight(mid, t1, t2) == pytest.approx(0.5, abs=1e-12)
    assert interpolation_weight(2000.0, t1, t2) == 1.0
    assert interpolation_weight(10000.0, t1, t2) == 0.0
    # DNG §6: the weight is (1/T − 1/T2)/(1/T1 − 1/T2), not linear in T.
    t = 4000.0
    assert interpolation_weight(t, t1, t2) == pytest.approx((1 / t - 1 / t2) / (1 / t1 - 1 / t2))
    assert interpolation_weight(t, t1, t2) != pytest.approx((t2 - t) / (t2 - t1), abs=0.01)


@pytest.mark.parametrize("cct", [2000.0, 2856.0, 4000.0, 5003.0, 6504.0, 10000.0])
def test_cct_round_trip(cct: float) -> None:
    xy = cct_to_xy(cct)
    back, duv = xy_to_cct(xy)
    assert back == pytest.approx(cct, rel=2e-4)
    assert abs(duv) < 1e-6


def test_cct_of_standard_illuminants() -> None:
    ccs = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]
    assert xy_to_cct(ccs["A"])[0] == pytest.approx(2856, abs=3)
    assert xy_to_cct(ccs["D65"])[0] == pytest.approx(6504, abs=5)
    assert xy_to_cct(D50_XY)[0] == pytest.approx(5003, abs=5)


def test_robertson_cct_matches_colour_science() -> None:
    # The local Robertson implementation (kept to avoid importing colour-science at develop
    # time) against colour-science's, both ways, across the table, off the locus and past
    # its ends (extrapolation below 1667 K).
    rng = np.random.default_rng(5)
    for xy in rng.uniform([0.22, 0.22], [0.58, 0.44], (400, 2)):
        ref = colour.temperature.uv_to_CCT_Robertson1968(colour.xy_to_UCS_uv(xy))
        cct, duv = xy_to_cct(xy)
        assert cct == pytest.approx(ref[0], rel=1e-12)
        assert duv == pytest.approx(ref[1], abs=1e-14)
    for cct in (1000.0, 1700.0, 2850.0, 3333.0, 6500.0, 15000.0, 1e6):
        for duv in (-0.02, 0.0, 0.015):
            uv = colour.temperature.CCT_to_uv_Robertson1968(np.array([cct, duv]))
            np.testing.assert_allclose(cct_to_xy(cct, duv), colour.UCS_uv_to_xy(uv), atol=1e-14)
    with pytest.raises(ValueError):
        cct_to_xy(0.0)


def test_interpolated_color_matrix_follows_the_spec() -> None:
    for cct in (2850.0, 3500.0, 5000.0, 6500.0):
        g = (1 / cct - 1 / 6500) / (1 / 2850 - 1 / 6500)
        expected = g * CM_A + (1 - g) * CM_D65
        np.testing.assert_allclose(PROFILE.xyz_to_camera(cct), expected, atol=1e-12)
    np.testing.assert_allclose(PROFILE.xyz_to_camera(2000), CM_A)
    np.testing.assert_allclose(PROFILE.xyz_to_camera(9000), CM_D65)


@pytest.mark.parametrize("cct", [2600.0, 2850.0, 4000.0, 5500.0, 6500.0, 8000.0])
def test_neutral_xy_round_trip(cct: float) -> None:
    xy = cct_to_xy(cct)
    neutral = PROFILE.xy_to_neutral(xy)
    assert neutral.max() == pytest.approx(1.0)
    np.testing.assert_allclose(PROFILE.neutral_to_xy(neutral), xy, atol=1e-6)


def test_neutral_of_calibration_illuminant_is_the_matrix_white() -> None:
    # Under D65 the profile's D65 matrix applies unblended, so the neutral is CM2 · XYZ(D65).
    n = PROFILE.xy_to_neutral(D65_XY)
    expected = CM_D65 @ xy_to_xyz(D65_XY)
    np.testing.assert_allclose(n, expected / expected.max(), atol=1e-9)


@pytest.mark.parametrize("xy", [D65_XY, (0.44758, 0.40745), (0.38, 0.38)])
def test_camera_to_pcs_without_forward_matrix(xy) -> None:
    """DNG §6 without ForwardMatrix: camera -> XYZ via the inverse ColorMatrix, then Bradford
    from the scene white to D50; the white-balanced white maps to D50 at Y = 1."""
    neutral = PROFILE.xy_to_neutral(xy)
    m = PROFILE.camera_to_pcs(neutral)
    np.testing.assert_allclose(m @ np.ones(3), xy_to_xyz(D50_XY), atol=1e-6)
    # A colour: camera values from the interpolated matrix, then the spec's chain.
    cct, _ = xy_to_cct(PROFILE.neutral_to_xy(neutral))
    cm = PROFILE.xyz_to_camera(cct)
    xyz = np.array([0.2, 0.15, 0.4])
    cam = cm @ xyz
    scale = (cm @ xy_to_xyz(xy)).max()
    expected = bradford_cat(xy, D50_XY) @ xyz * scale
    np.testing.assert_allclose(m @ (cam / neutral), expected, atol=1e-4)


def test_camera_to_pcs_with_forward_matrices_interpolates_them() -> None:
    fm1 = np.array([[0.6, 0.25, 0.1164], [0.25, 0.8, -0.05], [0.05, -0.2, 0.9742]])
    fm2 = np.array([[0.7, 0.15, 0.1164], [0.3, 0.75, -0.05], [0.02, -0.1, 0.9042]])
    prof = ColourProfile(CM_A, 2850.0, CM_D65, 6500.0, fm1, fm2)
    for xy in (D65_XY, cct_to_xy(4000.0), cct_to_xy(2850.0)):
        neutral = prof.xy_to_neutral(xy)
        cct, _ = xy_to_cct(prof.neutral_to_xy(neutral))
        g = interpolation_weight(cct, 2850.0, 6500.0)
        np.testing.assert_allclose(prof.camera_to_pcs(neutral), g * fm1 + (1 - g) * fm2, atol=1e-6)


def test_output_matrices_match_colour_science_and_keep_white() -> None:
    white = xy_to_xyz(D50_XY)
    for space in ("srgb", "display-p3", "linear-rec709"):
        np.testing.assert_allclose(xyz_d50_to_output(space) @ white, np.ones(3), atol=1e-9)
    ref = colour.RGB_COLOURSPACES["sRGB"].matrix_XYZ_to_RGB
    cat = colour.adaptation.matrix_chromatic_adaptation_VonKries(
        colour.xy_to_XYZ(D50_XY), colour.xy_to_XYZ(D65_XY), transform="Bradford"
    )
    # colour-science rounds the D65 and D50 chromaticities differently in the 5th digit.
    np.testing.assert_allclose(xyz_d50_to_output("srgb"), ref @ cat, atol=1e-3)
    ref_p3 = colour.RGB_COLOURSPACES["Display P3"].matrix_XYZ_to_RGB
    np.testing.assert_allclose(xyz_d50_to_output("display-p3"), ref_p3 @ cat, atol=1e-3)


def test_srgb_transfer_round_trip_and_known_values() -> None:
    x = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(srgb_decode(srgb_encode(x)), x, atol=1e-12)
    assert srgb_encode(np.array(0.18)) * 255 == pytest.approx(118.0, abs=0.5)
    np.testing.assert_allclose(srgb_encode(x), colour.cctf_encoding(x, "sRGB"), atol=1e-9)


# ---------------------------------------------------------------------------- white balance


@pytest.mark.parametrize("preset", sorted(PRESET_XY))
def test_presets_map_to_their_illuminant_white(preset: str) -> None:
    neutral = neutral_for(preset, PROFILE)
    np.testing.assert_allclose(PROFILE.neutral_to_xy(neutral), PRESET_XY[preset], atol=1e-5)


def test_preset_order_follows_colour_temperature() -> None:
    # Warmer light -> relatively more red signal in the camera neutral.
    ratios = [neutral_for(p, PROFILE)[0] / neutral_for(p, PROFILE)[2] for p in
              ("tungsten", "fluorescent", "daylight", "cloudy", "shade")]  # fmt: skip
    assert ratios == sorted(ratios, reverse=True)


def test_kelvin_white_balance_is_on_the_planckian_locus() -> None:
    n = neutral_for(3200, PROFILE)
    xy = PROFILE.neutral_to_xy(n)
    cct, duv = xy_to_cct(xy)
    assert cct == pytest.approx(3200, rel=1e-4)
    assert abs(duv) < 1e-5
    # 2856 K on the locus is standard illuminant A within its tiny Duv.
    np.testing.assert_allclose(
        neutral_for(2856, PROFILE), neutral_for("tungsten", PROFILE), atol=2e-3
    )


def test_as_shot_uses_the_file_neutral_normalised() -> None:
    np.testing.assert_allclose(neutral_for("as-shot", PROFILE, (0.25, 0.5, 0.4)), (0.5, 1.0, 0.8))


def test_auto_white_balance_finds_a_cast() -> None:
    """A camera known only by its matrices (PROFILE) sees the ColorChecker under 3200 K light;
    auto finds that light's neutral from the planes, a clipped highlight notwithstanding."""
    from mountcam.control.awb import angular_error_deg
    from mountcam.scene import colorchecker_spectra, illuminant
    from mountcam.spectra import cie_xyz_cmfs

    _, spectra = colorchecker_spectra()
    spd = illuminant("3200K").spd
    xyz = (spectra * spd) @ cie_xyz_cmfs() / (spd @ cie_xyz_cmfs())[1]
    white_xyz = spd @ cie_xyz_cmfs() / (spd @ cie_xyz_cmfs())[1]
    m = PROFILE.xyz_to_camera(3200.0)
    cells = np.repeat(xyz @ m.T, 400, axis=0) * 0.7  # 24 patches, 400 cells each
    cells *= np.random.default_rng(1).normal(1.0, 0.01, cells.shape)  # a little noise
    cells[:200] = 1.0  # a clipped highlight must not pull the estimate
    est = auto_neutral(*cells.T, profile=PROFILE)
    truth = m @ white_xyz
    assert angular_error_deg(est, truth) < 1.5  # measured 1.16°


# --- damaged colour tags: a clear error, never a ValueError from deep inside ------------------


@pytest.fixture(scope="module")
def small_dng_info(tmp_path_factory):
    from conftest import twin_capture
    from mountcam.dng import read_dng, write_dng
    from mountcam.dng.calibration import calibrate_dual
    from mountcam.sensor.model import load_sensor

    _, (frame,) = twin_capture("chart:colorchecker", crop=(48, 32), iso=100, seed=2)
    path = tmp_path_factory.mktemp("dmg") / "x.dng"
    write_dng(frame, path, calibration=calibrate_dual(load_sensor("imx989").qe))
    return read_dng(path)


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("color_matrix_1", np.zeros((3, 3)), "colormatrix1"),
        ("color_matrix_2", np.ones((3, 3)), "colormatrix2"),  # singular
        ("color_matrix_1", -np.eye(3), "non-positive camera signal"),
    ],
)
def test_a_damaged_color_matrix_is_named(small_dng_info, field, value, words):
    import dataclasses

    from mountcam.develop import DevelopSettings, develop
    from mountcam.errors import UnreadableFile

    info = dataclasses.replace(small_dng_info, **{field: value})
    with pytest.raises(UnreadableFile) as e:
        develop(info, DevelopSettings())
    assert words in str(e.value).lower()


def test_fuzzed_colour_tags_give_a_picture_or_a_mountcam_error(small_dng_info):
    """Random damage to the matrices and the neutral (what read_dng's fuzz test found escaping
    as ValueError): develop returns pixels or raises a MountcamError, nothing else."""
    import dataclasses

    from mountcam.develop import DevelopSettings, develop
    from mountcam.errors import MountcamError

    rng = np.random.default_rng(17)
    outcomes = {"picture": 0, "refused": 0}
    for _ in range(150):
        changes = {}
        for name in ("color_matrix_1", "color_matrix_2", "forward_matrix_1", "forward_matrix_2"):
            m = getattr(small_dng_info, name)
            if rng.random() < 0.5:
                damaged = m.copy()
                idx = tuple(rng.integers(0, 3, size=2))
                damaged[idx] = rng.choice([0.0, -damaged[idx], 10 * damaged[idx], 1e30, -1e-30])
                changes[name] = damaged
        if rng.random() < 0.3:
            changes["as_shot_neutral"] = tuple(rng.uniform(-0.2, 1.5, size=3))
        try:
            img = develop(dataclasses.replace(small_dng_info, **changes), DevelopSettings())
        except MountcamError:
            outcomes["refused"] += 1
        else:
            assert np.isfinite(img.pixels.astype(np.float64)).all()
            outcomes["picture"] += 1
    assert outcomes["picture"] > 0 and outcomes["refused"] > 0, outcomes
