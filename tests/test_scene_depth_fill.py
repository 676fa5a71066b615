"""Depth maps with holes (issue 11 §2): filled at load, from the farther side, and rendered
without the blocks that "unknown = infinitely far" made."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import twin_capture
from mountcam.errors import SceneError
from mountcam.scene import ImageContent, Scene, illuminant
from mountcam.scene.depth_fill import fill_depth_holes
from mountcam.scene.samples import load_sample

BACKGROUND_M, BOX_M = 4.0, 3.3


def _stage():
    """A textured wall at 4 m and a grey box at 3.3 m before it; holes where stereo leaves
    them: a band beside the box's left edge (the wall the second camera could not see), specks
    on the wall and on the box. Returns (rgb, depth with holes, depth filled by hand)."""
    rng = np.random.default_rng(5)
    h, w = 160, 240
    wall = 0.25 + 0.2 * rng.random((h // 4, w // 4, 3))
    rgb = np.repeat(np.repeat(wall, 4, axis=0), 4, axis=1).astype(np.float32)
    truth = np.full((h, w), BACKGROUND_M, np.float32)
    rgb[40:120, 100:160] = (0.6, 0.58, 0.55)
    truth[40:120, 100:160] = BOX_M
    holes = np.zeros((h, w), bool)
    holes[40:120, 92:100] = True  # occlusion band, on the wall
    for y, x in rng.integers(4, 150, size=(30, 2)):
        holes[y : y + 3, x : x + 3] = True
    holes[60:63, 120:124] = holes[90:94, 140:143] = True  # on the box
    depth = truth.copy()
    depth[holes] = np.nan
    return rgb, depth, truth, holes


def test_holes_are_filled_from_the_right_surface_and_counted():
    rgb, depth, truth, holes = _stage()
    filled, fraction = fill_depth_holes(depth, rgb)
    assert fraction == pytest.approx(holes.mean())
    assert np.isfinite(filled).all()
    # The occlusion band takes the wall's depth, not the box's beside it; specks on the box
    # take the box's (its colour), specks on the wall the wall's.
    np.testing.assert_array_equal(filled, truth)


def test_content_reports_what_it_filled():
    rgb, depth, _, holes = _stage()
    content = ImageContent(rgb=rgb, depth_m=depth)
    assert np.isfinite(content.depth_m).all()
    assert content.info()["depth_filled_fraction"] == pytest.approx(holes.mean(), abs=1e-6)
    with pytest.raises(SceneError, match="no valid depth"):
        ImageContent(rgb=rgb, depth_m=np.full(depth.shape, np.nan, np.float32))


def test_motorcycle_holes_are_filled_with_depths_of_the_scene():
    content = load_sample("motorcycle")
    assert content.depth_filled_fraction == pytest.approx(0.0735, abs=0.001)
    depth = content.depth_m
    assert np.isfinite(depth).all()
    # Filled from known depths: never beyond the farthest known one (not "infinity").
    assert 2.0 < float(depth.min()) and float(depth.max()) < 5.1


def _render(depth: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    scene = Scene(
        "stage",
        ImageContent(rgb=rgb, depth_m=depth),
        illuminant("D65"),
        hfov_rad=math.radians(0.6),
    )
    camera, (frame,) = twin_capture(
        scene,
        module="m",
        lens="apo-summicron-m-90",
        crop=(192, 128),
        iso=100,
        exposure_s=1 / 250,
        f_number=2.0,
        focus_m=3.5,
        truth=True,
    )
    return camera.truth(frame).image


def test_a_depth_map_with_holes_renders_like_the_one_filled_by_hand():
    # APO-Summicron-M 90 at f/2 focused at 3.5 m: the wall at 4 m blurs by about 46 px, a
    # hole taken as infinitely far by some 370 px: blocks. Filled at load, the picture is
    # the one of the map whose holes were filled by hand.
    rgb, depth, truth, _ = _stage()
    with_holes = _render(depth, rgb)
    by_hand = _render(truth, rgb)
    assert np.abs(with_holes - by_hand).max() < 1e-3
    # What the holes did before they were filled: the same map with its holes "at infinity".
    at_infinity = truth.copy()
    at_infinity[np.isnan(depth)] = 1e6
    blocks = _render(at_infinity, rgb)
    assert np.abs(blocks - by_hand).max() > 0.02
