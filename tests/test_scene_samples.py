"""Samples at their real field of view (issue 11 §3): framed by each lens's own angles, never
a black surround, and the capture says when the lens saw beyond the picture."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import run_cli, twin_capture
from mountcam.scene import load_scene
from mountcam.scene.samples import SAMPLES, sample_names


def test_every_sample_has_a_field_of_view_with_its_source():
    for name in sample_names():
        info = SAMPLES[name]
        assert 0.0 < info.hfov_deg < 180.0
        assert (
            info.hfov_source.startswith("assumed (")
            or "calibration" in info.hfov_source
            or ("release" in info.hfov_source)
        )
        assert load_scene(f"sample:{name}").hfov_rad == pytest.approx(math.radians(info.hfov_deg))


@pytest.mark.parametrize("name", ["coffee", "motorcycle"])
def test_no_sample_frames_the_same_through_two_focal_lengths(name):
    # Before, a sample without a field of view was stretched over any lens's view (the coffee
    # framed the same at 23 mm and 48 mm equivalent). Now it keeps its angle: through the main
    # module (74° across) the picture covers hfov/74° of the frame's width and the rest looks
    # beyond it; through a 50 mm (15° across) the whole frame is inside the picture.
    scene = load_scene(f"sample:{name}")
    hfov = SAMPLES[name].hfov_deg
    beyond = {}
    for key, kw in (
        ("main", {"module": "main"}),
        ("50", {"module": "m", "lens": "summicron-m-50"}),
    ):
        camera, (frame,) = twin_capture(scene, crop=(4096, 32), iso=100, exposure_s=1 / 100, **kw)
        beyond[key] = camera.truth(frame).scene_info["beyond_scene_fraction"]
    main_width = 2 * math.degrees(math.atan(4096 * 3.2e-6 / 2 / 8.7e-3))
    expected = 1 - math.tan(math.radians(hfov / 2)) / math.tan(math.radians(main_width / 2))
    assert beyond["main"] == pytest.approx(expected, abs=0.01)
    assert beyond["50"] == 0.0


def test_the_surround_is_never_black_and_the_capture_says_so():
    # The motorcycle (41°) on the main module (74°): the frame's edges look beyond it.
    camera, (frame,) = twin_capture(
        "sample:motorcycle", crop=(4096, 96), iso=100, exposure_s=1 / 100, truth=True
    )
    truth = camera.truth(frame)
    assert truth.scene_info["beyond_scene_fraction"] > 0.3
    assert truth.scene_info["surround"].startswith("mirrored")
    assert truth.scene_info["depth_filled_fraction"] == pytest.approx(0.0735, abs=0.001)
    image = truth.image
    # The outer columns (beyond the picture) are neither black nor far from the picture's
    # brightness: the meter is not fooled.
    edge = image[:, :200].mean()
    middle = image[:, 1800:2300].mean()
    assert edge > 0.25 * middle
    assert np.isfinite(image).all()


def test_scenes_list_describes_each_scene():
    code, stdout, _ = run_cli("scenes", "list", "--json")
    assert code == 0
    import json

    rows = {r["name"]: r for r in json.loads(stdout)}
    assert {"chart:siemens-star", "set:dof-rail", "set:portrait", "set:street"} <= set(rows)
    assert {f"sample:{n}" for n in sample_names()} <= set(rows)
    moto = rows["sample:motorcycle"]
    assert moto["size"] == "741x500 px"
    assert moto["field_of_view"].startswith("40.8°")
    assert "2.1 m to 5 m" in moto["depth"]
    assert rows["set:dof-rail"]["depth"] == "0.5 m to infinity"
    assert all(r["description"] and r["field_of_view"] and r["depth"] for r in rows.values())
