"""Channels that clip below WhiteLevel: highlights come out neutral, not magenta (issue 9 §1).

A synthetic camera whose raw red, green and blue saturate at 15 000, 14 200 and 15 800 DN while
the file says WhiteLevel 16 383 (black 512) photographs a grey card beside a white cloud bright
enough to clip green and blue. Its white balance gains are 2 (red), 1 (green) and 1.43 (blue),
so without knowing where green clipped, the cloud's green stops at 14 200 while red and blue
go on: magenta (G/R ≈ 0.6). The develop must find each channel's clip point from its
histogram and bring the cloud out neutral; the grey card and colour patches must not change,
and must agree with LibRaw's rendering of the same file.
"""

from __future__ import annotations

import numpy as np
import pytest

from foreign_dngs import SRGB_TO_XYZ, mosaic_of, write_cfa_dng
from mountcam.develop import DevelopSettings, develop
from mountcam.develop.highlights import channel_clip_levels

H, W = 128, 160
BLACK, WHITE = 512, 16383
CLIP_DN = {"R": 15000, "G": 14200, "B": 15800}
NEUTRAL = np.array([0.5, 1.0, 0.7])  # camera raw response to white, per channel
CLOUD = (16, 80, 88, 152)  # top, bottom, left, right
CARD = (16, 80, 8, 72)
PATCHES = {
    (96, 120, 8, 48): (0.30, 0.12, 0.06),
    (96, 120, 56, 96): (0.06, 0.20, 0.30),
    (96, 120, 104, 152): (0.10, 0.25, 0.08),
}
LINEAR = DevelopSettings(linear=True, denoise=False, sharpen=False)
AT_WHITE = DevelopSettings(linear=True, denoise=False, sharpen=False, detect_clipping=False)


def _scene() -> np.ndarray:
    """Scene linear RGB (white-balanced units: 1.0 = a white that just reaches raw white in
    green). The cloud is a smooth dome peaking at 2.5 (clips green over most of it)."""
    rgb = np.full((H, W, 3), 0.05)
    t, b, lf, r = CARD
    rgb[t:b, lf:r] = 0.18
    t, b, lf, r = CLOUD
    yy, xx = np.mgrid[t:b, lf:r]
    dome = 2.5 - 1.4 * (((yy - (t + b) / 2) / 32) ** 2 + ((xx - (lf + r) / 2) / 32) ** 2)
    rgb[t:b, lf:r] = np.clip(dome, 0.6, None)[:, :, None]
    for (t, b, lf, r), colour in PATCHES.items():
        rgb[t:b, lf:r] = colour
    return rgb


def _dng(path):
    rng = np.random.default_rng(7)
    raw = mosaic_of(_scene() * NEUTRAL)  # the camera's raw response, 0..1 of (white − black)
    dn = BLACK + raw * (WHITE - BLACK) + rng.normal(0, 6, raw.shape)
    clip = np.empty_like(dn)
    for k, letter in enumerate("RGGB"):
        i, j = divmod(k, 2)
        clip[i::2, j::2] = CLIP_DN[letter]
    dn = np.minimum(np.round(dn), clip)  # the sensor saturates; noise cannot lift a clip
    # The camera's raw RGB is diag(NEUTRAL) · linear sRGB, so D65 white reads as NEUTRAL.
    matrix = np.diag(NEUTRAL) @ np.linalg.inv(SRGB_TO_XYZ)
    return write_cfa_dng(path, dn, black=BLACK, white=WHITE, neutral=NEUTRAL, colour_matrix=matrix)


@pytest.fixture(scope="module")
def dng(tmp_path_factory):
    return _dng(tmp_path_factory.mktemp("clip") / "clip.dng")


def _region(rgb, box, margin=4):
    t, b, lf, r = box
    return rgb[t + margin : b - margin, lf + margin : r - margin].reshape(-1, 3)


def test_each_channels_clip_point_is_found(dng):
    from mountcam.dng.reader import read_dng

    info = read_dng(dng)
    found = channel_clip_levels(info.mosaic, info.black_level_dn, info.white_level_dn)
    assert found == (CLIP_DN["R"], CLIP_DN["G"], CLIP_DN["G"], CLIP_DN["B"])


def test_an_unclipped_bright_picture_keeps_its_white_level():
    """A smooth highlight reaching 95 % of the range without a pile at its top is no clip."""
    rng = np.random.default_rng(3)
    ramp = np.linspace(BLACK, BLACK + 0.95 * (WHITE - BLACK), 64 * 80)
    mosaic = np.round(ramp.reshape(64, 80) + rng.normal(0, 6, (64, 80))).astype(np.uint16)
    assert channel_clip_levels(mosaic, (BLACK,) * 4, WHITE) == (WHITE,) * 4


def test_clipped_highlights_come_out_neutral(dng):
    rgb = develop(dng, LINEAR).pixels
    cloud = _region(rgb, CLOUD)
    core = _region(_scene(), CLOUD)[:, 0] >= 1.0  # every green site clipped (at 0.8625)
    spread = cloud.max(axis=1) / cloud.min(axis=1)  # 1 = neutral
    # Measured: 1.0000001 in the core; over the whole cloud the median and the 95th percentile
    # 1.0000, the 98th 1.009, the worst 1.078: the rim where green only just clipped, so that
    # the demosaic mixes clipped and unclipped green sites.
    assert spread[core].max() < 1.001
    assert np.percentile(spread, 98) < 1.02 and spread.max() < 1.1
    # without per-channel clip points (the white level taken as every channel's clip) the
    # cloud's green stops short of red and blue: magenta, so the test can fail
    lifted = develop(dng, AT_WHITE).pixels
    g_over_r = _region(lifted, CLOUD)[:, 1] / _region(lifted, CLOUD)[:, 0]
    assert np.median(g_over_r) < 0.8


def test_unclipped_areas_are_unchanged_and_agree_with_libraw(dng):
    import rawpy

    ours = develop(dng, LINEAR).pixels.astype(np.float64)
    lifted = develop(dng, AT_WHITE).pixels.astype(np.float64)
    with rawpy.imread(str(dng)) as raw:
        libraw = raw.postprocess(
            use_camera_wb=True, no_auto_bright=True, gamma=(1, 1), output_bps=16,
            adjust_maximum_thr=0.0,  # LibRaw's own maximum adjustment off: same scaling as ours
        ).astype(np.float64) / 65535.0  # fmt: skip
    for box in (CARD, *PATCHES):
        a, b, c = (_region(x, box).mean(axis=0) for x in (ours, lifted, libraw))
        assert np.abs(a - b).max() < 1e-6
        assert np.abs(a - c).max() < 0.006, (box, a, c)
    # LibRaw's own clip (highlight mode 0 clips every channel at white after white balance)
    # leaves the cloud magenta by the ratio of green's clip to the white level; ours is grey.
    t = _region(libraw, CLOUD)
    assert np.median(t[:, 1] / t[:, 0]) < 0.95


def test_a_linear_raw_file_clipping_below_white_comes_out_neutral(tmp_path):
    """The same camera writing LinearRaw (three samples a pixel): each plane's clip point
    found from its histogram, the cloud's core neutral; magenta without."""
    from foreign_dngs import write_linear_dng

    raw = _scene() * NEUTRAL
    dn = BLACK + raw * (WHITE - BLACK) + np.random.default_rng(8).normal(0, 6, raw.shape)
    dn = np.minimum(np.round(dn), [CLIP_DN["R"], CLIP_DN["G"], CLIP_DN["B"]])
    matrix = np.diag(NEUTRAL) @ np.linalg.inv(SRGB_TO_XYZ)
    path = write_linear_dng(
        tmp_path / "linear.dng", dn, black=BLACK, white=WHITE, neutral=NEUTRAL,
        colour_matrix=matrix,
    )  # fmt: skip
    core = _region(_scene(), CLOUD)[:, 0] >= 1.0
    cloud = _region(develop(path, LINEAR).pixels, CLOUD)[core]
    assert (cloud.max(axis=1) / cloud.min(axis=1)).max() < 1.001
    lifted = _region(develop(path, AT_WHITE).pixels, CLOUD)[core]
    assert np.median(lifted[:, 1] / lifted[:, 0]) < 0.8
