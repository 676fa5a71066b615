"""Dual-illuminant calibration conventions (DNG 1.4 ch. 6) and the colour/exposure tags."""

from __future__ import annotations

import math

import colour
import numpy as np
import pytest

from mountcam.dng import read_dng, write_dng
from mountcam.dng.calibration import (
    BASELINE_EXPOSURE_EV,
    D50_XYZ,
    ColorCalibration,
    _de2000,
    _lab_jacobian,
    _white_preserving_lstsq,
    bradford,
    calibrate_dual,
    illuminant_spd,
    lab_weighted_lstsq,
    training_reflectances,
)
from mountcam.scene import load_scene
from mountcam.sensor.model import SensorSettings, load_sensor
from mountcam.spectra import WAVELENGTHS_NM, cie_xyz_cmfs

ICC_D50 = np.array([0.9642, 1.0, 0.8249])


#: Photon counting: the energy responsivity is QE·λ (relative units, as calibrate_dual uses).
PHOTON = (WAVELENGTHS_NM / WAVELENGTHS_NM.max())[:, None]


@pytest.fixture(scope="module")
def qe():
    return load_sensor("imx989").qe


@pytest.fixture(scope="module")
def dual(qe):
    return calibrate_dual(qe)


def _white(name: str) -> np.ndarray:
    xyz = illuminant_spd(name) @ cie_xyz_cmfs()
    return xyz / xyz[1]


def _camera(qe, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(camera RGB, XYZ, camera white) of the training set under ``name``; Y_white = 1 and
    the camera white's maximum is 1, the scales the calibration uses."""
    refl, _ = training_reflectances()
    spd = illuminant_spd(name)
    qe = qe * PHOTON
    white_cam = spd @ qe
    white_y = (spd @ cie_xyz_cmfs())[1]
    return (
        (refl * spd) @ qe / white_cam.max(),
        (refl * spd) @ cie_xyz_cmfs() / white_y,
        white_cam / white_cam.max(),
    )


def test_illuminants_are_a_and_d65(dual):
    assert (dual.calibration_illuminant_1, dual.calibration_illuminant_2) == (17, 21)
    assert set(dual.fit_errors) == {
        "ColorMatrix1",
        "ColorMatrix2",
        "ForwardMatrix1",
        "ForwardMatrix2",
    }


@pytest.mark.parametrize("n, name", [(1, "A"), (2, "D65")])
def test_color_matrix_maps_the_illuminant_white_to_the_camera_neutral(dual, qe, n, name):
    cm = getattr(dual, f"color_matrix_{n}")
    neutral = cm @ _white(name)
    assert neutral.max() == pytest.approx(1.0, abs=1e-12)
    _, _, white_cam = _camera(qe, name)
    np.testing.assert_allclose(neutral, white_cam, rtol=1e-9)
    np.testing.assert_allclose(getattr(dual, f"camera_neutral_{n}"), neutral, rtol=1e-12)


@pytest.mark.parametrize("n", [1, 2])
def test_forward_matrix_maps_camera_one_to_d50(dual, n):
    fm = getattr(dual, f"forward_matrix_{n}")
    np.testing.assert_allclose(fm @ np.ones(3), D50_XYZ, atol=1e-12)  # the DNG SDK's D50
    np.testing.assert_allclose(fm @ np.ones(3), ICC_D50, atol=3e-4)  # the ICC PCS white


@pytest.mark.parametrize("n, name", [(1, "A"), (2, "D65")])
def test_round_trip_through_the_dng_pipeline(dual, qe, n, name):
    """XYZ -> camera (the spectra) -> XYZ D50 (DNG §6 at this illuminant's neutral) equals the
    Bradford-adapted truth to within the ForwardMatrix's own fit error, and white is exact."""
    cam, xyz, white_cam = _camera(qe, name)
    to_pcs = dual.camera_to_xyz_d50(white_cam)
    np.testing.assert_allclose(to_pcs @ white_cam, D50_XYZ, atol=1e-9)
    np.testing.assert_allclose(
        to_pcs @ getattr(dual, f"color_matrix_{n}") @ _white(name), D50_XYZ, atol=1e-9
    )
    target = xyz @ bradford(_white(name), D50_XYZ).T
    de = _de2000(target, cam @ to_pcs.T, D50_XYZ)
    # A's white measures 2856 K (Robertson) against the 2850 K the SDK assigns code 17, so it
    # takes 0.4 % of the D65 matrix: the error is the ForwardMatrix's own to within 0.2 %.
    expected = dual.fit_errors[f"ForwardMatrix{n}"].training_mean
    assert de.mean() == pytest.approx(expected, rel=2e-3)


def test_white_point_from_neutral_and_interpolation(dual, qe):
    a_xy = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["A"]
    d65_xy = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"]
    np.testing.assert_allclose(dual.white_xy(dual.camera_neutral_1), a_xy, atol=2e-4)
    np.testing.assert_allclose(dual.white_xy(dual.camera_neutral_2), d65_xy, atol=2e-4)
    # Between the two (4000 K), weights linear in mired: 1/4000 between 1/2850 and 1/6500.
    spd = colour.sd_blackbody(4000, colour.SpectralShape(380, 780, 5)).values
    neutral = spd @ (qe * PHOTON)
    neutral /= neutral.max()
    cm = dual.color_matrix_for(neutral)
    g = (1 / 4000 - 1 / 6500) / (1 / 2850 - 1 / 6500)
    expected = g * dual.color_matrix_1 + (1 - g) * dual.color_matrix_2
    np.testing.assert_allclose(cm, expected, atol=0.02 * np.abs(expected).max())


def test_fit_errors_training_and_leave_one_out(dual):
    for name, err in dual.fit_errors.items():
        print(
            f"{name}: training mean {err.training_mean:.2f} max {err.training_max:.2f}; "
            f"LOO mean {err.loo_mean:.2f} max {err.loo_max:.2f}; "
            f"ColorChecker mean {err.colorchecker[0]:.2f} max {err.colorchecker[1]:.2f}"
        )
        assert err.patches == 214
        assert err.training_mean < 2.0 and err.loo_mean < 2.0
        assert err.loo_mean >= err.training_mean  # held-out patches cannot fit better on average
        assert err.colorchecker[0] < 1.5


def test_leave_one_out_equals_a_refit_without_the_patch(qe):
    cam, xyz, white_cam = _camera(qe, "D65")
    d65 = _white("D65")
    i = 7
    keep = np.arange(len(cam)) != i
    refit = lab_weighted_lstsq(cam[keep], xyz[keep], white_cam, d65, d65)
    de_i = float(_de2000(xyz[i : i + 1], (refit @ cam[i])[None], d65)[0])
    # Recompute the LOO mean with patch i's value swapped in: the mean must not change.
    from mountcam.dng.calibration import _fit_with_errors

    _, err = _fit_with_errors(cam, xyz, white_cam, d65, d65)
    loo = []
    for j in range(len(cam)):
        keep_j = np.arange(len(cam)) != j
        m = lab_weighted_lstsq(cam[keep_j], xyz[keep_j], white_cam, d65, d65)
        loo.append(m @ cam[j])
    de = _de2000(xyz, np.array(loo), d65)
    assert de[i] == pytest.approx(de_i, rel=1e-9)
    assert de.mean() == pytest.approx(err.loo_mean, rel=1e-9)


def test_lab_jacobian_matches_colour_science_numerically():
    # Both branches of f: a dark patch (t < (6/29)³) and ordinary ones.
    white = _white("A")
    xyz = np.array([[0.2, 0.18, 0.05], [0.004, 0.005, 0.003], [0.9, 1.0, 0.3], [0.5, 0.3, 0.001]])
    jac = _lab_jacobian(xyz, white)
    xy = colour.XYZ_to_xy(white)
    eps = 1e-7
    for k in range(3):
        step = np.zeros(3)
        step[k] = eps
        numeric = (colour.XYZ_to_Lab(xyz + step, xy) - colour.XYZ_to_Lab(xyz - step, xy)) / (
            2 * eps
        )
        np.testing.assert_allclose(jac[:, :, k], numeric, rtol=1e-5, atol=1e-4)


def test_lab_weighted_fit_is_the_constrained_minimum(qe):
    cam, xyz, white_cam = _camera(qe, "A")
    white = _white("A")
    m = lab_weighted_lstsq(cam, xyz, white_cam, white, white)
    np.testing.assert_allclose(m @ white_cam, white, atol=1e-12)  # neutral stays exact
    jac = _lab_jacobian(xyz, white)

    def cost(matrix):
        return float((np.einsum("irk,ik->ir", jac, cam @ matrix.T - xyz) ** 2).sum())

    best = cost(m)
    rng = np.random.default_rng(5)
    for _ in range(20):
        d = rng.normal(size=(3, 3))
        d -= np.outer(d @ white_cam, white_cam) / (white_cam @ white_cam)  # keeps the white
        assert cost(m + 1e-3 * d) > best
        assert cost(m - 1e-3 * d) > best


def test_lab_weighted_fit_beats_plain_xyz_on_the_worst_colorchecker_patch(qe):
    # Under A the XYZ fit leaves the dark saturated red far off (measured 5.2 ΔE2000).
    cam, xyz, white_cam = _camera(qe, "A")
    white = _white("A")
    plain = _de2000(xyz, cam @ _white_preserving_lstsq(cam, xyz, white_cam, white).T, white)
    weighted = _de2000(xyz, cam @ lab_weighted_lstsq(cam, xyz, white_cam, white, white).T, white)
    assert weighted[:24].max() < 0.75 * plain[:24].max()
    assert weighted.mean() < plain.mean() + 0.1  # not bought with a worse average


def test_luther_camera_has_no_error_even_left_out():
    mix = np.array([[0.9, 0.2, -0.05], [0.1, 1.0, 0.05], [0.0, 0.1, 0.8]])
    # A quantum efficiency that is a mix of the CMFs once weighted by λ (photon counting).
    cal = calibrate_dual(cie_xyz_cmfs() @ mix.T / PHOTON)
    for err in cal.fit_errors.values():
        assert err.training_max < 1e-6 and err.loo_max < 1e-6


def test_baseline_exposure_from_the_saturation_based_iso():
    # Mid-grey at 10/S lux·s is 10/78 = 12.8 % of saturation; converters put it at 18 %.
    assert BASELINE_EXPOSURE_EV == pytest.approx(math.log2(0.18 * 78 / 10), abs=1e-12)
    assert 0.128 * 2**BASELINE_EXPOSURE_EV == pytest.approx(0.18, rel=3e-3)
    # The twin: a neutral under the ISO reference daylight exposed at 10/S lux·s sits at 12.8 %
    # of white − black in its first-clipping channel, at every ISO (noise-free model figures).
    model = load_sensor("imx989")
    for iso in (100, 800, 3200, 12800):
        op = model.operating_point(SensorSettings(iso=iso))
        e_per_lux_s = model.electrons_per_lux_s(model._iso_reference_spd, "binned").max()
        dn = e_per_lux_s * (10.0 / iso) * op.conversion_gain_dn_per_e * op.digital_gain
        assert dn / (op.white_level_dn - op.black_level_dn) == pytest.approx(10 / 78, rel=1e-9)


def test_tags_written_and_read_back(tmp_path, dual):
    from conftest import twin_capture

    twin, (frame,) = twin_capture(
        load_scene("chart:colorchecker", illuminant="A"),
        crop=(64, 48),
        iso=200,
        exposure_s=1e-3,
        seed=2,
    )
    # A grey card's white balance: the twin's true neutral under A (AWB is measured elsewhere).
    frame.metadata.as_shot_neutral = twin.truth(frame).camera_neutral
    info = read_dng(write_dng(frame, tmp_path / "a.dng", calibration=dual))
    for name in ("color_matrix_1", "color_matrix_2", "forward_matrix_1", "forward_matrix_2"):
        np.testing.assert_allclose(getattr(info, name), getattr(dual, name), atol=0.5e-4)
    assert (info.calibration_illuminant_1, info.calibration_illuminant_2) == (17, 21)
    assert info.baseline_exposure == pytest.approx(BASELINE_EXPOSURE_EV, abs=1e-4)
    np.testing.assert_allclose(info.as_shot_neutral, frame.metadata.as_shot_neutral, atol=1e-6)
    # The twin's AsShotNeutral under A is the calibration's own A neutral (grey lens).
    np.testing.assert_allclose(info.as_shot_neutral, dual.camera_neutral_1, atol=1e-6)
    white = dual.white_xy(info.as_shot_neutral)
    assert white == pytest.approx([0.4476, 0.4074], abs=0.01)


def test_single_illuminant_profile_still_works(qe):
    from mountcam.dng.calibration import calibrate

    cal = calibrate(qe, illuminant_spd("D65"), 21)
    assert cal.color_matrix_2 is None and cal.forward_matrix_1 is not None
    assert set(cal.fit_errors) == {"ColorMatrix1", "ForwardMatrix1"}
    with pytest.raises(ValueError):
        ColorCalibration(color_matrix_1=np.eye(3), forward_matrix_2=np.eye(3))
    with pytest.raises(ValueError):
        calibrate_dual(qe, "F2")
