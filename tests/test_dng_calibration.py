"""ColorMatrix1 from spectral sensitivities (mountcam.dng.calibration)."""

from __future__ import annotations

import colour
import numpy as np
import pytest

from mountcam.dng.calibration import ColorCalibration, calibrate, training_reflectances
from mountcam.spectra import cie_xyz_cmfs, resample, sd_on_grid


def nikon_qe() -> np.ndarray:
    s = colour.MSDS_CAMERA_SENSITIVITIES["Nikon 5100 (NPL)"]
    return resample(s.wavelengths, s.values.T).T


def d65() -> np.ndarray:
    return sd_on_grid(colour.SDS_ILLUMINANTS["D65"])


def test_training_set_is_colorchecker_plus_rawtoaces():
    refl, names = training_reflectances()
    assert refl.shape == (214, 81) and len(names) == 214
    assert names[0].startswith("ColorChecker") and names[-1].startswith("rawtoaces")
    assert refl.min() >= 0


def test_nikon_fit_is_accurate_white_preserving_and_normalised():
    cal = calibrate(nikon_qe(), d65())
    mean, worst = cal.fit_error_de2000
    cc_mean, cc_worst = cal.colorchecker_de2000
    print(
        f"Nikon 5100 / D65: ΔE2000 mean {mean:.2f} max {worst:.2f} over 214 patches; "
        f"ColorChecker mean {cc_mean:.2f} max {cc_worst:.2f}"
    )
    assert cal.training_patches == 214
    assert mean < 3.0 and worst < 8.0
    assert cc_mean < 3.0
    cm = cal.color_matrix_1
    assert cm.shape == (3, 3) and np.linalg.cond(cm) < 100
    # DNG normalisation: D65 white (Y = 1) -> camera neutral with max exactly 1 ...
    white_xyz = d65() @ cie_xyz_cmfs()
    neutral = cm @ (white_xyz / white_xyz[1])
    assert neutral.max() == pytest.approx(1.0, abs=1e-12)
    # ... and that neutral is the camera's own response to D65 (white is preserved exactly).
    white_cam = d65() @ nikon_qe()
    np.testing.assert_allclose(neutral, white_cam / white_cam.max(), rtol=1e-10)
    np.testing.assert_allclose(cal.camera_neutral_1, neutral, rtol=1e-12)
    assert cal.calibration_illuminant_1 == 21


def test_luther_camera_fits_perfectly():
    # A camera whose sensitivities are a linear mix of the CIE CMFs is colorimetric: ΔE ~ 0.
    mix = np.array([[0.9, 0.2, -0.05], [0.1, 1.0, 0.05], [0.0, 0.1, 0.8]])
    qe = cie_xyz_cmfs() @ mix.T
    cal = calibrate(qe, d65())
    assert cal.fit_error_de2000[1] < 1e-6
    np.testing.assert_allclose(
        cal.color_matrix_1 / cal.color_matrix_1.max(), mix / mix.max(), atol=1e-9
    )


def test_other_illuminant_and_cache():
    qe = nikon_qe()
    spd_a = sd_on_grid(colour.SDS_ILLUMINANTS["A"])
    cal_a = calibrate(qe, spd_a, illuminant_exif_code=17)
    assert cal_a.calibration_illuminant_1 == 17
    white = spd_a @ cie_xyz_cmfs()
    assert (cal_a.color_matrix_1 @ (white / white[1])).max() == pytest.approx(1.0)
    assert cal_a.fit_error_de2000[0] < 3.0
    assert calibrate(qe, spd_a, 17) is cal_a  # cached on values
    assert calibrate(qe.copy(), spd_a.copy(), 17) is cal_a
    assert not cal_a.color_matrix_1.flags.writeable


def test_bad_inputs_rejected():
    with pytest.raises(ValueError):
        calibrate(np.ones((80, 3)), d65())
    with pytest.raises(ValueError):
        ColorCalibration(color_matrix_1=np.zeros((3, 3)))
    with pytest.raises(ValueError):
        ColorCalibration(color_matrix_1=np.eye(3), color_matrix_2=np.eye(3))
