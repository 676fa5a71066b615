"""The fused forms of develop's finishing stages give what the stand-alone stages give:
a lone FixVignetteRadial applied inside the colour kernel, and the sharpening fused with the
quantisation (mountcam.develop.sharpen.sharpen_into)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from mountcam.develop import DevelopSettings, develop
from mountcam.develop.colour import xy_to_xyz
from mountcam.develop.pipeline import plan_development, render
from mountcam.develop.schedule import Schedule
from mountcam.develop.sharpen import LUMA_WEIGHTS, sharpen, sharpen_into
from mountcam.dng import DngInfo
from mountcam.dng.opcodes import FixVignetteRadial, encode_opcode_list

NEUTRAL = (0.5, 1.0, 0.6)
_S = np.array([[0.9, 0.35, -0.15], [-0.3, 1.2, 0.1], [0.05, -0.2, 1.0]])
CM = _S / (_S @ xy_to_xyz((0.3127, 0.3290))).max()


def vignetted_info(h: int = 200, w: int = 264) -> DngInfo:
    """A textured RGGB capture with clipped highlights and a FixVignetteRadial in OpcodeList3."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:h, 0:w]
    cam = 0.2 + 0.15 * np.sin(x / 4.0)[..., None] * np.array([1.0, 0.5, 0.2])
    cam = cam + 0.1 * np.cos(y / 3.0)[..., None] * np.array([0.2, 0.6, 1.0])
    cam = cam + 0.05 * rng.random((h, w, 3))
    cam[: h // 6] = 1.4  # clipped in every channel: highlight reconstruction at work
    cam = np.clip(cam, 0, None) * np.array(NEUTRAL)
    plane = np.empty((h, w))
    for k, c in enumerate("RGGB"):
        dy, dx = divmod(k, 2)
        plane[dy::2, dx::2] = cam[dy::2, dx::2, "RGB".index(c)]
    mosaic = np.clip(np.round(64 + plane * (4095 - 64)), 0, 4095).astype(np.uint16)
    info = DngInfo(
        path=Path("vignetted.dng"),
        mosaic=mosaic,
        cfa_pattern="RGGB",
        black_level_dn=(64.0,) * 4,
        white_level_dn=4095,
        as_shot_neutral=NEUTRAL,
        color_matrix_1=CM,
        calibration_illuminant_1=21,
        default_crop_origin=(6.0, 4.0),
        default_crop_size=(w - 12.0, h - 8.0),
        active_area=(0, 0, h, w),
        dng_version=(1, 4, 0, 0),
    )
    info.baseline_exposure = 0.0
    info.opcode_list_3 = encode_opcode_list(
        [FixVignetteRadial((0.4, 0.2, 0.0, 0.0, 0.0), 0.45, 0.55)]
    )
    return info


@pytest.mark.parametrize("sharpen_on", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_fused_vignette_matches_the_separate_lens_stage(sharpen_on, dtype):
    schedule = Schedule(strip_rows=48)  # several strips and borders
    info = vignetted_info()
    settings = DevelopSettings(denoise=False, sharpen=sharpen_on, lens_correction=True)
    fused = develop(info, settings, output_dtype=dtype, schedule=schedule).pixels
    plan = plan_development(info, settings)
    assert plan.vignette is not None  # the fused path is the one under test

    # Without the vignette's terms the colour kernel cannot take it: the lens stage applies it.
    separate, spent = render(
        replace(plan, vignette=None), info, output_dtype=dtype, schedule=schedule
    )
    assert "lens" in spent
    plain = develop(info, DevelopSettings(denoise=False, sharpen=sharpen_on, lens_correction=False), output_dtype=dtype, schedule=schedule).pixels  # fmt: skip
    if dtype == np.uint8:
        assert np.abs(fused.astype(int) - separate).max() <= 1
        assert np.mean(fused != separate) < 1e-3
        corner = np.abs(fused[-20:, -20:].astype(int) - plain[-20:, -20:]).mean()
    else:
        np.testing.assert_allclose(fused, separate, atol=2e-6)
        corner = np.abs(fused[-20:, -20:] - plain[-20:, -20:]).mean() * 255
    assert corner > 5  # the vignette correction brightens the corners visibly


@pytest.mark.parametrize("out_dtype", [np.uint8, np.uint16, np.float32])
def test_sharpen_into_matches_sharpen_then_quantise(out_dtype):
    rng = np.random.default_rng(1)
    small = rng.random((20, 24, 3)).astype(np.float32)
    enc = cv2.resize(small, (150, 110), interpolation=cv2.INTER_NEAREST)  # hard edges
    enc = np.clip(enc + rng.normal(0, 0.02, enc.shape).astype(np.float32), 0, 1)
    luma = cv2.transform(enc, LUMA_WEIGHTS)
    reference = sharpen(enc, 0.6, 0.8)
    y0, x0, rows, cols = 7, 9, 90, 130
    out = np.empty((rows, cols, 3), out_dtype)
    scale = 1.0 if out_dtype == np.float32 else float(np.iinfo(out_dtype).max)
    sharpen_into(enc, luma, 0.6, 0.8, (y0, x0, rows, cols), scale, out)
    ref = reference[y0 : y0 + rows, x0 : x0 + cols]
    if out_dtype == np.float32:
        np.testing.assert_allclose(out, ref, atol=1e-6)
    else:
        expected = np.clip(ref * scale + 0.5, 0, scale).astype(out_dtype)
        assert np.abs(out.astype(np.int64) - expected).max() <= 1
    assert np.abs(ref - enc[y0 : y0 + rows, x0 : x0 + cols]).max() > 0.02  # it sharpens
