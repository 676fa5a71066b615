"""The photographer's aids (mountcam.assist), each against a direct computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mountcam.assist import (
    circle_of_confusion_m,
    clipping_counts,
    depth_of_field,
    draw_peaking,
    draw_zebra,
    focus_peaking,
    luma8,
    magnifier_window,
    magnify,
    peaking_colour,
    raw_clip_level,
    raw_histogram,
    raw_histogram_dn,
    rendered_histogram,
    waveform,
    zebra_masks,
)

RNG = np.random.default_rng(20261207)


def _mosaic(h=64, w=96, top=4095):
    return RNG.integers(0, top + 1, (h, w)).astype(np.uint16)


# ---- raw histogram ---------------------------------------------------------------------------
@pytest.mark.parametrize("pattern", ["RGGB", "BGGR", "GRBG", "GBRG"])
def test_raw_histogram_counts_every_sample_once_in_the_right_ev_bin(pattern):
    mosaic = _mosaic()
    blacks = (64.0, 60.0, 66.0, 62.0)
    white = 4000
    h = raw_histogram(mosaic, pattern, blacks, white, lowest_ev=-10, bins_per_ev=3)
    assert len(h.edges_ev) == 31 and h.edges_ev[0] == -10 and h.edges_ev[-1] == 0
    for colour in "RGB":
        want = np.zeros(30, np.int64)
        clipped = floor = total = 0
        for i, letter in enumerate(pattern):
            if letter != colour:
                continue
            v = mosaic[i // 2 :: 2, i % 2 :: 2].astype(np.float64).ravel()
            total += v.size
            clipped += int((v >= white).sum())
            floor += int((v <= blacks[i]).sum())
            sig = v[(v < white) & (v > blacks[i])]
            ev = np.log2((sig - blacks[i]) / (white - blacks[i]))
            idx = np.clip(np.floor((ev + 10) * 3), 0, 29).astype(int)
            want += np.bincount(idx, minlength=30)
        np.testing.assert_array_equal(h.counts[colour], want)
        assert (h.clipped[colour], h.floor[colour], h.total[colour]) == (clipped, floor, total)
        assert h.counts[colour].sum() + clipped + floor == total


def test_raw_histogram_headroom_and_clipped_fraction():
    mosaic = np.full((8, 8), 64 + 1000, np.uint16)  # every sample 1000 DN above black
    h = raw_histogram(mosaic, "RGGB", 64, 64 + 4000)
    for c in "RGB":
        assert h.headroom_ev[c] == pytest.approx(2.0)  # 1000 / 4000 is two stops below clip
        assert h.clipped_fraction(c) == 0.0
    mosaic[0, 0] = 4064  # one red sample at the white level
    h = raw_histogram(mosaic, "RGGB", 64, 64 + 4000)
    assert h.clipped["R"] == 1 and h.headroom_ev["R"] == 0.0
    assert h.clipped_fraction("R") == pytest.approx(1 / 16)


def test_raw_histogram_refuses_what_is_not_a_bayer_mosaic():
    with pytest.raises(ValueError, match="Bayer"):
        raw_histogram(_mosaic(), "RGBW", 64, 4095)
    with pytest.raises(ValueError, match="integer"):
        raw_histogram(_mosaic().astype(np.float32), "RGGB", 64, 4095)
    with pytest.raises(ValueError, match="white level"):
        raw_histogram(_mosaic(), "RGGB", 64, 64)


def test_dn_histogram_equals_numpy_histogram_per_colour():
    mosaic = _mosaic(31, 47)  # odd sizes: the last row and column hold only some colours
    edges = np.arange(0, 4097, 256)
    got = raw_histogram_dn(mosaic, "GRBG", edges)
    r = np.histogram(mosaic[0::2, 1::2], edges)[0]
    b = np.histogram(mosaic[1::2, 0::2], edges)[0]
    g = np.histogram(mosaic[0::2, 0::2], edges)[0] + np.histogram(mosaic[1::2, 1::2], edges)[0]
    for colour, want in (("R", r), ("G", g), ("B", b)):
        np.testing.assert_array_equal(got[colour], want)
    assert sum(v.sum() for v in got.values()) == mosaic.size
    with pytest.raises(ValueError, match="increasing"):
        raw_histogram_dn(mosaic, "GRBG", [10, 5])


def test_rendered_histogram_and_luma():
    rgb = RNG.integers(0, 256, (20, 30, 3)).astype(np.uint8)
    hist = rendered_histogram(rgb)
    for i, c in enumerate("RGB"):
        np.testing.assert_array_equal(hist[c], np.bincount(rgb[..., i].ravel(), minlength=256))
    want_y = np.rint(rgb.astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722]))
    assert np.abs(luma8(rgb).astype(int) - want_y).max() <= 1
    assert hist["Y"].sum() == 600


# ---- zebra -----------------------------------------------------------------------------------
def test_zebra_marks_exactly_the_pixels_beyond_the_thresholds():
    level = RNG.integers(0, 256, (40, 50)).astype(np.uint8)
    over, under = zebra_masks(level, over=245, under=12)
    np.testing.assert_array_equal(over, level >= 245)
    np.testing.assert_array_equal(under, level <= 12)
    assert zebra_masks(level, over=200)[1] is None
    with pytest.raises(ValueError):
        zebra_masks(level, over=10, under=20)


def test_raw_zebra_level_is_each_cells_brightest_channel():
    mosaic = np.full((4, 4), 100, np.uint16)
    mosaic[1, 0] = 4095  # the second green of cell (0, 0) clips
    level = raw_clip_level(mosaic, (100, 100, 100, 100), 4095)
    assert level.shape == (2, 2)
    assert level[0, 0] == pytest.approx(1.0) and level[1, 1] == 0.0
    over, _ = zebra_masks(level, over=1.0)
    assert over.sum() == 1


def test_zebra_stripes_only_on_the_mask_and_they_crawl():
    img = np.zeros((16, 16, 3), np.uint8)
    mask = np.zeros((16, 16), bool)
    mask[:, :8] = True
    a = draw_zebra(img, mask, period_px=4)
    assert a[:, 8:].max() == 0 and 0 < (a[:, :8, 0] == 255).mean() < 1
    b = draw_zebra(img, mask, period_px=4, phase_px=1)
    assert not np.array_equal(a, b)
    small = draw_zebra(img, mask[::2, ::2], period_px=4)  # a half-size (raw cell) mask
    assert small[:, 8:].max() == 0


# ---- peaking ---------------------------------------------------------------------------------
def _blocks(h=256, w=320, seed=3):
    import cv2

    rng = np.random.default_rng(seed)
    img = np.zeros((h, w), np.float32)
    for _ in range(120):
        x, y = rng.integers(0, w - 8), rng.integers(0, h - 8)
        bw, bh = rng.integers(4, 40, 2)
        img[y : y + bh, x : x + bw] = rng.uniform(0.1, 1.0)
    return cv2, img


@pytest.mark.parametrize("noise", [0.0, 0.01, 0.03])
def test_peaking_lights_about_one_percent_when_sharp_and_nothing_when_blurred(noise):
    cv2, img = _blocks()
    rng = np.random.default_rng(5)
    for blur, lo, hi in ((0.5, 0.005, 0.0125), (3.0, 0.0, 0.0005)):
        x = cv2.GaussianBlur(img, (0, 0), blur) + rng.normal(0, noise, img.shape)
        lit = focus_peaking((x * 255).astype(np.float32)).mean()
        assert lo <= lit <= hi, (blur, noise, lit)


def test_peaking_marks_the_sharp_half_not_the_blurred_one():
    cv2, img = _blocks(256, 512, seed=9)
    both = np.concatenate(
        [cv2.GaussianBlur(img[:, :256], (0, 0), 0.5), cv2.GaussianBlur(img[:, 256:], (0, 0), 3)],
        axis=1,
    )
    mask = focus_peaking(both * 255)
    assert mask[:, :256].sum() > 100
    assert mask[:, 264:].sum() == 0  # 8 px from the seam, where the blur spills over


def test_peaking_colours_and_drawing():
    img = np.zeros((8, 8, 3), np.uint8)
    mask = np.eye(8, dtype=bool)
    out = draw_peaking(img, mask, peaking_colour("yellow"))
    assert (out[mask] == (255, 230, 0)).all() and out[~mask].max() == 0
    with pytest.raises(ValueError, match="red"):
        peaking_colour("purple")


# ---- waveform, clipping, magnifier, depth of field ------------------------------------------
def test_waveform_is_a_per_column_histogram_with_white_on_top():
    level = np.zeros((10, 4), np.uint8)
    level[:3, 0] = 255
    level[:, 3] = 128
    wf = waveform(level, columns=4, levels=256)
    assert wf.shape == (256, 4) and wf.sum() == 40
    assert wf[0, 0] == 3 and wf[255, 0] == 7  # row 0 is level 255
    assert wf[255 - 128, 3] == 10
    coarse = waveform(level, columns=2, levels=16)
    assert coarse.shape == (16, 2) and coarse.sum() == 40


def test_clipping_counts():
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 0] = (255, 10, 0)
    got = clipping_counts(rgb)
    assert got["R"] == {"high": 1, "low": 5} and got["B"] == {"high": 0, "low": 6}


def test_magnifier_window_stays_inside_and_zooms_by_replication():
    assert magnifier_window((8192, 6144), (4096, 3072), (400, 300), 1) == (2922, 3896, 300, 400)
    assert magnifier_window((8192, 6144), (10, 6140), (400, 300), 2) == (5994, 0, 150, 200)
    crop = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(magnify(crop, 2)[::2, ::2], crop)
    assert magnify(crop, 2).shape == (4, 6)
    with pytest.raises(ValueError):
        magnify(crop, 3)
    with pytest.raises(ValueError, match="outside"):
        magnifier_window((100, 100), (120, 5), (10, 10), 1)


@pytest.mark.parametrize("focal_mm", [8.7, 21, 50, 90, 135])
@pytest.mark.parametrize("f_number", [0.95, 2.0, 5.6, 16])
@pytest.mark.parametrize("focus_m", [0.7, 1.5, 4.0, 20.0])
def test_depth_of_field_limits_are_where_the_blur_circle_equals_the_coc(
    focal_mm, f_number, focus_m
):
    """At the near and far limits the thin-lens blur circle is exactly c (within 1 %)."""
    f = focal_mm * 1e-3
    coc = circle_of_confusion_m(math.hypot(13.1e-3, 9.8e-3))
    dof = depth_of_field(f, f_number, focus_m, coc)

    def blur(d):  # diameter of the blur circle on the sensor of a point at d, focus at s
        aperture = f / f_number
        return aperture * f / (focus_m - f) * abs(d - focus_m) / d

    assert blur(dof.near_m) == pytest.approx(coc, rel=0.01)
    if math.isfinite(dof.far_m):
        assert blur(dof.far_m) == pytest.approx(coc, rel=0.01)
    else:
        assert focus_m >= dof.hyperfocal_m
    assert dof.near_m < focus_m <= dof.far_m


def test_circle_of_confusion_of_the_one_inch_sensor():
    c = circle_of_confusion_m(math.hypot(13.1072e-3, 9.8304e-3))  # 8192 × 6144 × 1.6 µm
    assert c == pytest.approx(0.030e-3 / 2.64, rel=0.01)
    dof = depth_of_field(50e-3, 2.0, math.inf, c)
    assert dof.far_m == math.inf and dof.near_m == pytest.approx(dof.hyperfocal_m - 50e-3)


def test_paint_equals_boolean_assignment():
    """The overlays' masked copy (OpenCV) sets exactly the mask's pixels, on a contiguous
    picture and on a strided view alike."""
    from mountcam.assist.overlay import paint

    rng = np.random.default_rng(3)
    picture = rng.integers(0, 256, (48, 64, 3)).astype(np.uint8)
    mask = rng.random((48, 64)) > 0.7
    expected = picture.copy()
    expected[mask] = (255, 10, 0)
    assert np.array_equal(paint(picture.copy(), mask, (255, 10, 0)), expected)
    wide = np.zeros((48, 128, 3), np.uint8)
    wide[:, ::2] = picture
    view = wide[:, ::2]
    paint(view, mask, (255, 10, 0))
    assert np.array_equal(wide[:, ::2], expected)
    with pytest.raises(ValueError, match="does not match"):
        paint(picture, mask[:10], (0, 0, 0))
