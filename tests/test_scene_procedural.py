"""Procedural 3-D scenes (issue 11 §3): exact depth, rendering at the sensor's own sampling,
and a slanted edge in a set that a 135 mm lens resolves as the lens and sensor predict."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import shoot
from mountcam.errors import SceneError
from mountcam.lab.mtf_prediction import mtf50_of, predicted_mtf
from mountcam.lab.sfr import mtf_from_dng
from mountcam.optics.imaging import on_axis_irradiance
from mountcam.optics.lens import LensState
from mountcam.optics.lens_catalogue import find_lens
from mountcam.scene import ViewGrid, list_scenes, load_scene
from mountcam.scene.procedural import RAIL_EDGE_M, set_names
from mountcam.sensor.model import load_sensor


def _centred(width: int, height: int, step: float) -> ViewGrid:
    return ViewGrid(width, height, -step * (width - 1) / 2, -step * (height - 1) / 2, step)


def test_at_least_three_sets_are_in_the_catalogue():
    assert {"dof-rail", "portrait", "street"} <= set(set_names())
    assert {f"set:{n}" for n in set_names()} <= set(list_scenes())
    for name in set_names():
        scene = load_scene(f"set:{name}")
        # Canvas coordinates are tangents: every lens frames the world by its own angles.
        assert scene.hfov_rad == pytest.approx(math.pi / 2)
    with pytest.raises(SceneError, match="image scenes only"):
        load_scene("set:street", hfov_deg=30.0)
    with pytest.raises(SceneError, match="set:dof-rail"):
        load_scene("set:nowhere")


def test_depth_is_exact():
    scene = load_scene("set:dof-rail")
    step = 1e-4  # tangent units per pixel (a 1.6 µm pixel behind a 16 mm lens)
    sample = scene.content.render(_centred(33, 33, step))
    # The slanted-edge card stands on the axis at 5 m; the ground 0.4 m below the camera is
    # at z = h / tan(angle below the horizon); the sky is at infinity.
    assert sample.depth_m[16, 16] == np.float32(RAIL_EDGE_M)
    ground = scene.content.render(ViewGrid(1, 5, 0.0, 0.1, 0.05)).depth_m[:, 0]
    np.testing.assert_allclose(ground, 0.4 / (0.1 + 0.05 * np.arange(5)), rtol=1e-6)
    sky = scene.content.render(ViewGrid(1, 1, 0.0, -0.5, 0.01)).depth_m
    assert np.isinf(sky).all()


@pytest.mark.parametrize("name", ["dof-rail", "portrait", "street"])
def test_rendering_is_the_area_average_at_any_sampling(name):
    # Box filtering: a pixel is the mean of the content over its square, so a coarse render
    # equals the 4x4 block means of a render at a quarter of the step (to what the hair's and
    # discs' near-exact coverage allows).
    content = load_scene(f"set:{name}").content
    step = {"dof-rail": 6e-4, "portrait": 2.5e-4, "street": 1.2e-3}[name]
    coarse = content.render(_centred(96, 64, step)).rgb
    fine = content.render(_centred(384, 256, step / 4)).rgb
    blocks = fine.reshape(64, 4, 96, 4, 3).mean(axis=(1, 3))
    scale = float(np.percentile(coarse, 99))
    err = np.abs(coarse - blocks) / scale
    assert float(err.mean()) < 0.01
    assert float(np.percentile(err, 99.5)) < 0.1


def test_a_135mm_lens_resolves_the_rail_edge_as_lens_and_sensor_predict(tmp_path):
    # Acceptance 3: the rail's slanted edge at 5 m, through the APO-Telyt-M 135 focused on it
    # at f/16: the e-SFR MTF50 of the raw green plane within 10 % of the polychromatic
    # diffraction MTF times the pixel aperture (the scene adds nothing of its own: it is drawn
    # at the sensor's sampling).
    res = shoot(
        tmp_path,
        "--scene", "set:dof-rail",
        "--module", "m",
        "--lens", "apo-telyt-m-135",
        "--aperture", "16",
        "--focus", str(RAIL_EDGE_M),
        "--mode", "full",
        "--crop", "320x320",
        "--iso", "100",
        "--ev", "0.5",
        "--count", "2",
        "--seed", "5",
    )  # fmt: skip
    measured = [mtf_from_dng(path, correct_binning=True) for path in res["files"]]
    angle = float(np.mean([abs(m.angle_deg) for m in measured]))
    assert 4.0 < angle < 6.0
    mtf50 = float(np.mean([m.mtf50_cy_px for m in measured]))
    model, lens = load_sensor(), find_lens("apo-telyt-m-135")
    scene = load_scene("set:dof-rail")
    state = LensState(16.0, RAIL_EDGE_M)
    green = model.photoelectron_weights(on_axis_irradiance(scene, lens, state), "full")[:, 1]
    nu = np.linspace(0.0, 0.5, 2001)
    predicted = mtf50_of(
        nu, predicted_mtf(nu, model.output_pitch_m("full"), 16.0, weights=green, angle_deg=angle)
    )
    print(f"135 mm on the rail's edge: MTF50 {mtf50:.4f} cy/px, predicted {predicted:.4f}")
    assert mtf50 == pytest.approx(predicted, rel=0.10)
