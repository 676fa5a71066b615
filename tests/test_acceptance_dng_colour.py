"""Acceptance 5: LibRaw, using only what the DNG says, renders the twin's ColorChecker close to
the ``--truth`` image, under D65 and under CIE illuminant A.

The chart is shot small (scene field of view 6.5°) so all 24 patches fit a 384×288 window;
errors are CIEDE2000 between patch means inside the central half of each patch, after one
scalar exposure match, in CIELAB relative to the D65 white (the truth is linear sRGB, D65,
white-balanced with CAT02; a reflectance-1 white is 1.0).

LibRaw takes the D65 ColorMatrix of a dual-illuminant DNG and ignores the other matrix and the
ForwardMatrices (LibRaw ``identify``: "IS D65 here?" picks the CalibrationIlluminant = 21
matrix, else another daylight one), so under tungsten light it renders through the D65 matrix
with a camera-space white balance: it stays under 3.0 under A, but only just (2.96). The A
calibration itself is checked with a DNG 1.4 §6 rendering that uses the file's own tags (both
ColorMatrices and ForwardMatrices, interpolated at AsShotNeutral).
"""

from __future__ import annotations

import math

import colour
import numpy as np
import pytest

from mountcam.dng import read_dng, write_dng
from mountcam.dng.calibration import D50_XYZ, ColorCalibration, bradford
from mountcam.scene import load_scene
from mountcam.scene.charts import colorchecker_patch_boxes

rawpy = pytest.importorskip("rawpy")

CROP = (384, 288)
SCENE_HFOV_DEG = 6.5
LIMIT_DE2000 = 3.0
D65_XY = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"]
SRGB = colour.RGB_COLOURSPACES["sRGB"]


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    out = {}
    for illuminant in ("D65", "A"):
        scene = load_scene("chart:colorchecker", illuminant=illuminant, hfov_deg=SCENE_HFOV_DEG)
        # The meter sees mostly the chart's black surround; -2.5 EV keeps the white patch unclipped.
        from conftest import twin_capture

        twin, (frame,) = twin_capture(scene, crop=CROP, seed=11, truth=True, iso=100, ev=-2.5)
        # A custom white balance from a grey card under the same light: this test measures the
        # colour calibration, not the auto white balance (that is measured in docs/3a.md).
        frame.metadata.as_shot_neutral = twin.truth(frame).camera_neutral
        _TRUTH[frame] = twin.truth(frame).image
        path = tmp_path_factory.mktemp(illuminant) / "cc.dng"
        write_dng(frame, path)
        out[illuminant] = (frame, path)
    return out


def _patch_windows(frame) -> list[tuple[slice, slice]]:
    """Central half of each patch, in pixels of the frame (canvas -> pixels through the pinhole
    model: the window's centre is the optical axis, tan per pixel = pitch / focal length)."""
    md = frame.metadata
    px_per_unit = math.tan(math.radians(SCENE_HFOV_DEG / 2)) / (
        md.pixel_pitch_m / (md.focal_mm * 1e-3)
    )
    cy = md.full_size[0] / 2 - md.window_origin[0]
    cx = md.full_size[1] / 2 - md.window_origin[1]
    windows = []
    for u0, v0, u1, v1 in colorchecker_patch_boxes():
        uc, vc, q = (u0 + u1) / 2, (v0 + v1) / 2, (u1 - u0) / 4
        rows = slice(round(cy + (vc - q) * px_per_unit), round(cy + (vc + q) * px_per_unit))
        cols = slice(round(cx + (uc - q) * px_per_unit), round(cx + (uc + q) * px_per_unit))
        windows.append((rows, cols))
    return windows


def _means(image: np.ndarray, windows) -> np.ndarray:
    return np.array([image[r, c].reshape(-1, 3).mean(axis=0) for r, c in windows])


def _de2000_matched(truth_rgb: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """ΔE2000 per patch after the least-squares exposure scalar ``k·rgb ≈ truth``."""
    k = float((truth_rgb * rgb).sum() / (rgb * rgb).sum())
    to_xyz = SRGB.matrix_RGB_to_XYZ
    lab_t = colour.XYZ_to_Lab(truth_rgb @ to_xyz.T, D65_XY)
    lab_r = colour.XYZ_to_Lab(k * rgb @ to_xyz.T, D65_XY)
    return np.asarray(colour.delta_E(lab_t, lab_r, method="CIE 2000"))


def _libraw(path, output_color) -> np.ndarray:
    with rawpy.imread(str(path)) as raw:
        rgb = raw.postprocess(
            use_camera_wb=True,  # AsShotNeutral
            output_color=output_color,
            gamma=(1, 1),
            no_auto_bright=True,
            output_bps=16,
            user_flip=0,
        )
    return rgb.astype(np.float64) / 65535.0


#: The noise-free image of each shot (the twin's truth record).
_TRUTH: dict = {}


def _truth_means(frame, windows) -> np.ndarray:
    truth = _TRUTH[frame].astype(np.float64)
    spread = max(float(truth[r, c].reshape(-1, 3).std(axis=0).max()) for r, c in windows)
    assert spread < 1e-3, "patch windows must lie inside uniform patches"
    return _means(truth, windows)


def _libraw_de(shots, illuminant: str) -> np.ndarray:
    frame, path = shots[illuminant]
    windows = _patch_windows(frame)
    rgb = _libraw(path, rawpy.ColorSpace.sRGB)
    assert rgb.shape[:2] == frame.mosaic.shape  # no crop: same pixel grid as the truth
    means = _means(rgb, windows)
    assert means.max() < 0.95, "LibRaw's output must not clip inside the patches"
    de = _de2000_matched(_truth_means(frame, windows), means)
    print(f"LibRaw, {illuminant}: ΔE2000 mean {de.mean():.2f} max {de.max():.2f}")
    return de


def test_libraw_colorchecker_d65(shots):
    assert _libraw_de(shots, "D65").mean() < LIMIT_DE2000


def test_libraw_colorchecker_illuminant_a(shots):
    # Through the D65 matrix alone (see the module docstring): measured 2.96, a thin margin.
    assert _libraw_de(shots, "A").mean() < LIMIT_DE2000


def test_libraw_takes_the_d65_color_matrix(shots):
    """rgb_cam as LibRaw's cam_xyz_coeff builds it from ColorMatrix2 (D65) read from the file:
    cam_rgb = CM · M(sRGB->XYZ), rows normalised to sum 1, inverted."""
    for illuminant in ("D65", "A"):
        _, path = shots[illuminant]
        info = read_dng(path)
        assert info.calibration_illuminant_2 == 21
        cam_rgb = info.color_matrix_2 @ SRGB.matrix_RGB_to_XYZ
        cam_rgb /= cam_rgb.sum(axis=1, keepdims=True)
        with rawpy.imread(str(path)) as raw:
            np.testing.assert_allclose(raw.color_matrix[:3, :3], np.linalg.inv(cam_rgb), atol=1e-3)


@pytest.mark.parametrize("illuminant", ["D65", "A"])
def test_dng_spec_rendering_from_the_files_tags(shots, illuminant):
    """LibRaw's demosaic in camera space, then DNG 1.4 §6 colour from the tags read back:
    CameraToXYZ_D50 from the interpolated ForwardMatrix at AsShotNeutral, Bradford D50 -> D65,
    XYZ -> linear sRGB."""
    frame, path = shots[illuminant]
    info = read_dng(path)
    profile = ColorCalibration(
        color_matrix_1=info.color_matrix_1,
        calibration_illuminant_1=info.calibration_illuminant_1,
        color_matrix_2=info.color_matrix_2,
        calibration_illuminant_2=info.calibration_illuminant_2,
        forward_matrix_1=info.forward_matrix_1,
        forward_matrix_2=info.forward_matrix_2,
    )
    neutral = np.array(info.as_shot_neutral)
    # LibRaw's raw-colour output is already white-balanced by 1/AsShotNeutral (up to a scale).
    camera_wb_to_xyz = profile.camera_to_xyz_d50(neutral) @ np.diag(neutral)
    d65 = colour.xy_to_XYZ(D65_XY)
    to_srgb = SRGB.matrix_XYZ_to_RGB @ bradford(D50_XYZ, d65) @ camera_wb_to_xyz
    windows = _patch_windows(frame)
    camera = _means(_libraw(path, rawpy.ColorSpace.raw), windows)
    de = _de2000_matched(_truth_means(frame, windows), camera @ to_srgb.T)
    print(f"DNG §6 rendering, {illuminant}: ΔE2000 mean {de.mean():.2f} max {de.max():.2f}")
    assert de.mean() < 2.0


@pytest.mark.parametrize("illuminant", ["D65", "A"])
def test_adobe_dng_sdk_opens_the_dual_illuminant_file_without_warning(shots, illuminant):
    dngpy = pytest.importorskip("dngpy")
    from test_dng_sdk_helpers import sdk_validate

    assert sdk_validate(dngpy, shots[illuminant][1]) == []
