"""The 8-bit (JPEG) path of develop: the fixed-point tone LUT indexed by the float32 bits,
the colour kernel that uses it, and the sharpening on its uint16 output, each against the
float32 path it replaces."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from mountcam.develop import DevelopSettings, develop
from mountcam.develop.colour import srgb_encode
from mountcam.develop.looks import load_look, look_names
from mountcam.develop.pipeline import plan_development, render
from mountcam.develop.schedule import Schedule
from mountcam.develop.sharpen import LUMA_WEIGHTS, sharpen_fixed_into, sharpen_into
from mountcam.develop.strip_kernels import colour_fixed_kernel, colour_float_kernel
from mountcam.develop.tone import FIXED_ONE, ToneCurve, build_lut, build_lut_fixed, lut_fixed_lookup
from test_develop_fused import vignetted_info


@pytest.mark.parametrize("name", look_names())
def test_fixed_lut_is_within_a_hundredth_of_a_code_of_the_curve(name):
    curve = load_look(name).tone
    lut = build_lut_fixed(curve, curve.white_in)
    x = np.geomspace(1e-7, curve.white_in, 400_001).astype(np.float32)
    exact = srgb_encode(curve(x.astype(np.float64))) * 255
    got = lut_fixed_lookup(lut, x).astype(np.float64) / 256
    assert np.abs(got - exact).max() < 0.02
    assert np.all(np.diff(lut.table.astype(np.int64)) >= 0)
    # Negative and zero inputs are black; at and beyond x_max, white.
    assert np.all(lut_fixed_lookup(lut, np.array([-1.0, -1e-9, 0.0], np.float32)) == 0)
    top = np.array([curve.white_in, 2 * curve.white_in, 1e30], np.float32)
    assert np.all(lut_fixed_lookup(lut, top) == FIXED_ONE)


def test_fixed_lut_without_a_curve_is_the_srgb_encoding():
    lut = build_lut_fixed(None, 1.0)
    x = np.linspace(0, 1, 100_001).astype(np.float32)
    got = lut_fixed_lookup(lut, x).astype(np.float64) / FIXED_ONE
    assert np.abs(got - srgb_encode(x.astype(np.float64))).max() < 0.02 / 255


def _strip(h: int = 37, w: int = 203, seed: int = 0) -> np.ndarray:
    """Camera RGB with texture, negatives (out-of-gamut after the matrix) and clipped pixels."""
    rng = np.random.default_rng(seed)
    rgb = rng.random((h, w, 3)).astype(np.float32) * np.float32(0.95) - np.float32(0.05)
    rgb[5:9] = np.array([2.0, 1.0, 1.7], np.float32)  # clipped in every channel
    rgb[12, ::3, 1] = 1.0  # clipped green only
    return rgb


@pytest.mark.parametrize("vig", [False, True])
def test_fixed_kernel_matches_the_float_kernel(vig):
    curve = ToneCurve()
    x_max = curve.white_in
    rgb = _strip()
    clip = np.array([2.0, 1.0, 1.7], np.float32)
    m = np.array([[1.6, -0.5, -0.1], [-0.2, 1.4, -0.2], [0.0, -0.4, 1.4]], np.float32)
    oy, ox, oh, ow = 2, 3, 31, 190
    if vig:
        dv2 = np.linspace(0, 0.5, oh).astype(np.float32)
        dh2 = np.linspace(0, 0.6, ow).astype(np.float32)
        kv = np.array([0.4, 0.2, 0.0, 0.0, 0.0], np.float32)
    else:
        dv2, dh2, kv = np.zeros(1, np.float32), np.zeros(1, np.float32), np.zeros(5, np.float32)
    lut = build_lut(curve, x_max)
    enc = np.empty((oh, ow, 3), np.float32)
    luma = np.empty((oh, ow), np.float32)
    colour_float_kernel(
        rgb, oy, ox, oh, ow, clip, True, vig, dv2, dh2, kv, m, lut, np.float32(x_max), True,
        np.float32(1.0), enc, True, luma,
    )  # fmt: skip
    fixed = build_lut_fixed(curve, x_max)
    args = (fixed.table, np.int32(fixed.base), np.int32(fixed.shift))
    e16 = np.empty((oh, ow, 3), np.uint16)
    luma16 = np.empty((oh, ow), np.float32)
    colour_fixed_kernel(
        rgb, oy, ox, oh, ow, clip, True, vig, dv2, dh2, kv, m, *args, e16, True, luma16
    )
    assert np.abs(e16 / FIXED_ONE - enc).max() * 255 < 0.02
    assert np.abs(luma16 - luma).max() * 255 < 0.02
    u8 = np.empty((oh, ow, 3), np.uint8)
    no_luma = np.zeros((1, 1), np.float32)
    colour_fixed_kernel(
        rgb, oy, ox, oh, ow, clip, True, vig, dv2, dh2, kv, m, *args, u8, False, no_luma
    )
    expected = np.clip(np.round(enc * 255), 0, 255)
    assert np.abs(u8 - expected).max() <= 1
    assert np.mean(u8 == expected) > 0.99
    # The highlight rows went through the blend: without it they would differ.
    plain = np.empty_like(u8)
    colour_fixed_kernel(
        rgb, oy, ox, oh, ow, clip, False, vig, dv2, dh2, kv, m, *args, plain, False, no_luma
    )
    assert np.abs(plain[3:7].astype(int) - u8[3:7]).max() > 5
    assert np.array_equal(plain[20:], u8[20:])


@pytest.mark.parametrize(
    ("region", "radius"),
    [
        ((7, 9, 90, 130), 0.8),  # inside: the pipeline's strips
        ((0, 0, 110, 150), 0.8),  # the whole image: every edge reflected
        ((0, 2, 5, 147), 0.7),  # top rows, columns next to both edges
        ((104, 0, 6, 150), 0.6),  # bottom rows
        ((7, 9, 90, 130), 1.5),  # a radius OpenCV blurs with more taps: its planes
    ],
)
def test_sharpen_fixed_into_matches_sharpen_into(region, radius):
    rng = np.random.default_rng(1)
    small = rng.random((20, 24, 3)).astype(np.float32)
    enc = cv2.resize(small, (150, 110), interpolation=cv2.INTER_NEAREST)  # hard edges
    enc = np.clip(enc + rng.normal(0, 0.02, enc.shape).astype(np.float32), 0, 1)
    e16 = np.round(enc * FIXED_ONE).astype(np.uint16)
    enc = (e16 / FIXED_ONE).astype(np.float32)  # the same values in both forms
    luma = cv2.transform(enc, LUMA_WEIGHTS)
    y0, x0, rows, cols = region
    ref = np.empty((rows, cols, 3), np.uint8)
    sharpen_into(enc, luma, 0.6, radius, region, 255.0, ref)
    out = np.empty_like(ref)
    sharpen_fixed_into(e16, luma, 0.6, radius, region, out)
    assert np.abs(out.astype(int) - ref).max() <= 1
    assert np.mean(out == ref) > 0.999
    before = np.round(enc[y0 : y0 + rows, x0 : x0 + cols] * 255)
    assert np.abs(out - before).max() > 5  # it sharpens
    with pytest.raises(ValueError, match="uint16"):
        sharpen_fixed_into(enc, luma, 0.6, radius, region, out)


@pytest.mark.parametrize("sharpen_on", [False, True])
@pytest.mark.parametrize(("origin", "pattern"), [((4.0, 4.0), "RGGB"), ((3.0, 5.0), "GBRG")])
def test_fast_demosaic_fused_into_the_colour_kernel_changes_nothing(sharpen_on, origin, pattern):
    """The 8-bit path runs the fast demosaic band by band inside its colour kernel; the
    pixels are those of the demosaic run over the whole strip first (odd crop origins put
    the strips' first output rows on the other CFA phase)."""
    schedule = Schedule(strip_rows=40)  # several strips and bands
    info = vignetted_info(150, 98)
    info.cfa_pattern = pattern
    info.default_crop_origin = origin
    info.default_crop_size = (98 - 2 * origin[0] - 1, 150 - 2 * origin[1] - 1)
    settings = DevelopSettings(denoise=False, sharpen=sharpen_on, lens_correction=True)
    plan = plan_development(info, settings)
    assert plan.fast_demosaic and plan.vignette is not None
    fused = develop(info, settings, output_dtype=np.uint8, schedule=schedule)
    assert "demosaic_colour_tone" in fused.timings_s and "demosaic" not in fused.timings_s

    # The same plan with the demosaic run over the whole strip first (the fixed-point route).
    unfused = replace(plan, fast_demosaic=False)
    separate, spent = render(unfused, info, output_dtype=np.uint8, schedule=schedule)
    assert "demosaic" in spent
    np.testing.assert_array_equal(fused.pixels, separate)
