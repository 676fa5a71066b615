"""Lens correction from DNG opcodes, checked against the DNG 1.4 chapter 6 equations written out
here independently: a dot grid distorted by a known WarpRectilinear comes back to its grid
within 0.1 px in every plane, FixVignetteRadial multiplies by its polynomial, a crop of the
image is corrected as the whole image would be."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mountcam.develop.lens_correction import apply_opcodes
from mountcam.dng.opcodes import (
    FixVignetteRadial,
    UnknownOpcode,
    WarpRectilinear,
    decode_opcode_list,
    encode_opcode_list,
    warp_source_positions,
)
from mountcam.errors import UnreadableFile

H, W = 240, 320
# Per plane (R, G, B): barrel-type radial terms, a little decentring (tangential) and a lateral
# colour that scales red up and blue down by 0.3 %.
WARP = WarpRectilinear(
    coefficients=(
        (1.003, -0.040, 0.012, -0.002, 0.0015, -0.0010),
        (1.000, -0.040, 0.012, -0.002, 0.0015, -0.0010),
        (0.997, -0.040, 0.012, -0.002, 0.0015, -0.0010),
    ),
    center_x=0.52,
    center_y=0.47,
)


def spec_source(op: WarpRectilinear, plane: int, row, col, hw):
    """DNG 1.4 §6 WarpRectilinear: where output pixel (row, col) reads the input, in pixels."""
    height, width = hw
    cx, cy = op.center_x * width, op.center_y * height
    m = max(math.hypot(x - cx, y - cy) for x in (0, width) for y in (0, height))
    dx, dy = (np.asarray(col, float) - cx) / m, (np.asarray(row, float) - cy) / m
    kr0, kr1, kr2, kr3, kt0, kt1 = op.coefficients[plane]
    r2 = dx**2 + dy**2
    f = kr0 + kr1 * r2 + kr2 * r2**2 + kr3 * r2**3
    sx = f * dx + kt0 * 2 * dx * dy + kt1 * (r2 + 2 * dx**2)
    sy = f * dy + kt1 * 2 * dx * dy + kt0 * (r2 + 2 * dy**2)
    return cy + m * sy, cx + m * sx


GRID = [(r, c) for r in range(24, H - 20, 24) for c in range(24, W - 20, 24)]
SIGMA_PX = 1.6


def _captured_dots() -> np.ndarray:
    """The image a lens with WARP's distortion would record of a regular dot grid: each dot
    drawn (Gaussian, σ = 1.6 px) where the warp will read it from, per plane."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    img = np.full((H, W, 3), 0.05, np.float64)
    for p in range(3):
        for r, c in GRID:
            sr, sc = spec_source(WARP, p, r, c, (H, W))
            img[..., p] += np.exp(-((yy - sr) ** 2 + (xx - sc) ** 2) / (2 * SIGMA_PX**2))
    return img.astype(np.float32)


def _centroid(plane: np.ndarray, r: int, c: int, half: int = 6) -> tuple[float, float]:
    win = plane[r - half : r + half + 1, c - half : c + half + 1].astype(np.float64) - 0.05
    win = np.clip(win, 0, None)
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
    return r + float((win * yy).sum() / win.sum()), c + float((win * xx).sum() / win.sum())


def test_spec_equations_agree_with_the_opcode_module():
    rows, cols = np.mgrid[0:H:7, 0:W:9]
    for p in range(3):
        ours = spec_source(WARP, p, rows, cols, (H, W))
        theirs = warp_source_positions(WARP, p, rows, cols, (H, W))
        assert np.allclose(ours, theirs, atol=1e-9)


def test_a_known_distortion_is_corrected_back_within_a_tenth_of_a_pixel():
    captured = _captured_dots()
    corrected = apply_opcodes(captured, [WARP])
    worst_before = worst_after = 0.0
    for p in range(3):
        for r, c in GRID:
            cr, cc = _centroid(corrected[..., p], r, c)
            worst_after = max(worst_after, math.hypot(cr - r, cc - c))
            br, bc = _centroid(captured[..., p], r, c)
            worst_before = max(worst_before, math.hypot(br - r, bc - c))
    assert worst_before > 1.0  # the distortion was real
    assert worst_after < 0.1, worst_after


def test_a_crop_is_corrected_as_the_whole_image_would_be():
    captured = _captured_dots()
    whole = apply_opcodes(captured, [WARP])
    top, left, h, w = 40, 56, 150, 200
    part = apply_opcodes(
        captured[top : top + h, left : left + w], [WARP], origin_rc=(top, left), full_size_hw=(H, W)
    )
    # Away from the crop's edges (the warp reads up to a few pixels outside): identical.
    m = 12
    inner = whole[top + m : top + h - m, left + m : left + w - m]
    assert np.abs(part[m:-m, m:-m] - inner).max() < 1e-4


def test_identity_warp_changes_nothing():
    img = np.random.default_rng(0).random((64, 96, 3), dtype=np.float32)
    ident = WarpRectilinear(((1.0, 0.0, 0.0, 0.0, 0.0, 0.0),), 0.5, 0.5)
    assert np.abs(apply_opcodes(img, [ident]) - img).max() < 1e-5


def test_vignette_gain_is_the_spec_polynomial():
    op = FixVignetteRadial((0.35, 0.12, 0.05, 0.01, 0.002), center_x=0.48, center_y=0.53)
    img = np.full((H, W, 3), 0.25, np.float32)
    out = apply_opcodes(img, [op])
    cx, cy = op.center_x * W, op.center_y * H
    m = max(math.hypot(x - cx, y - cy) for x in (0, W) for y in (0, H))
    yy, xx = np.mgrid[0:H, 0:W]
    r2 = ((yy + 0.5 - cy) ** 2 + (xx + 0.5 - cx) ** 2) / m**2
    gain = 1 + sum(k * r2 ** (i + 1) for i, k in enumerate(op.k))
    assert np.allclose(out[..., 1], 0.25 * gain, rtol=1e-5)
    assert out[0, 0, 0] > 0.25 * 1.4  # strong in the corners


def test_opcode_list_bytes_round_trip_into_the_same_correction():
    ops = decode_opcode_list(encode_opcode_list([WARP]))
    captured = _captured_dots()
    assert np.array_equal(apply_opcodes(captured, ops), apply_opcodes(captured, [WARP]))


def test_unknown_opcodes_are_skipped_if_optional_and_refused_if_required():
    img = np.full((16, 16, 3), 0.5, np.float32)
    optional = UnknownOpcode(opcode_id=11, version=(1, 3, 0, 0), flags=1, parameters=b"")
    with pytest.warns(RuntimeWarning, match="opcode 11"):
        assert np.array_equal(apply_opcodes(img, [optional]), img)
    required = UnknownOpcode(opcode_id=11, version=(1, 3, 0, 0), flags=0, parameters=b"")
    with pytest.raises(UnreadableFile, match="without lens correction"):
        apply_opcodes(img, [required])


def test_a_dngs_opcodelist3_is_applied_by_develop_on_the_default_crop(tmp_path):
    """End to end: a DNG (written here with tifffile) whose mosaic holds the dot grid as WARP's
    lens recorded it, per colour, with WARP in OpcodeList3 and an 8 px DefaultCrop: developed
    to linear RGB, every dot is back on its grid: green within 0.1 px (as the correction alone),
    red and blue within 0.25 px (they are sampled at every other pixel, so demosaicking a dot
    that the lens moved off the sample grid shifts its centroid by up to ~0.15 px; with the
    dots left on the grid, measured 0.000 px). Without lens correction they are > 1 px off."""
    from mountcam.develop import DevelopSettings, develop

    margin = 8
    path = _warped_dng(tmp_path / "warped.dng", margin)
    worst: dict[tuple[bool, int], float] = {}
    for correct in (True, False):
        img = develop(path, DevelopSettings(linear=True, lens_correction=correct)).to_float32()
        assert img.shape == (H - 2 * margin, W - 2 * margin, 3)
        padded = np.pad(img, ((margin, margin), (margin, margin), (0, 0)), constant_values=0.05)
        for p in range(3):
            worst[correct, p] = max(
                math.hypot(*np.subtract(_centroid(padded[..., p], r, c), (r, c)))
                for r, c in GRID
                if margin + 8 <= r < H - margin - 8 and margin + 8 <= c < W - margin - 8
            )
    assert worst[True, 1] < 0.1, worst
    assert worst[True, 0] < 0.25 and worst[True, 2] < 0.25, worst
    assert min(worst[False, p] for p in range(3)) > 1.0, worst


def _warped_dng(path, margin: int = 8, ops=(WARP,)):
    """A DNG (written with tifffile) whose mosaic holds the dot grid as WARP's lens recorded
    it, per colour, with ``ops`` in OpcodeList3 and a ``margin`` px DefaultCrop."""
    import tifffile

    captured = _captured_dots().astype(np.float64)
    black, white = 256, 16383
    cfa = np.empty((H, W))
    for k, plane in enumerate((0, 1, 1, 2)):  # RGGB
        i, j = divmod(k, 2)
        cfa[i::2, j::2] = captured[i::2, j::2, plane]
    mosaic = np.round(black + np.clip(cfa, 0, 1) * (white - black)).astype(np.uint16)
    identity_cm = np.linalg.inv(
        np.array(
            [
                [0.4124564, 0.3575761, 0.1804375],
                [0.2126729, 0.7151522, 0.0721750],
                [0.0193339, 0.1191920, 0.9503041],
            ]
        )
    )
    cm = [v for x in identity_cm.ravel() for v in (int(round(x * 10000)), 10000)]
    ops = encode_opcode_list(list(ops))
    tifffile.imwrite(
        path,
        mosaic,
        photometric=32803,
        extratags=[
            (33421, "H", 2, (2, 2), True),
            (33422, "B", 4, (0, 1, 1, 2), True),
            (50706, "B", 4, (1, 4, 0, 0), True),
            (50708, "s", 0, "Warped Test", True),
            (50714, "H", 1, (black,), True),
            (50717, "H", 1, (white,), True),
            (50719, "I", 2, (margin, margin), True),  # DefaultCropOrigin
            (50720, "I", 2, (W - 2 * margin, H - 2 * margin), True),  # DefaultCropSize
            (50721, "2i", 9, cm, True),
            (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True),
            (50778, "H", 1, (21,), True),
            (51022, "B", len(ops), ops, True),  # OpcodeList3
        ],
    )
    return path


@pytest.mark.parametrize(
    "settings",
    [
        {"linear": True},
        {"quality": "fast", "sharpen": False},
        {"quality": "high"},
    ],
)
def test_the_warp_in_strips_matches_the_whole_picture(tmp_path, settings):
    """The pipeline warps strip by strip, each strip demosaicking only the rows its output
    rows read: the pixels are those of the warp over the whole picture (to float rounding of
    the maps, < 1e-3), and the same for any strip height."""
    from dataclasses import replace

    from mountcam.develop import DevelopSettings
    from mountcam.develop.pipeline import plan_development, render
    from mountcam.develop.schedule import Schedule
    from mountcam.dng import read_dng

    info = read_dng(_warped_dng(tmp_path / "warped.dng"))
    plan = plan_development(info, DevelopSettings(**settings))
    assert plan.lens_source_rows is not None and not plan.lens_whole_image
    strips, spent = render(plan, info, schedule=Schedule(strip_rows=40))
    assert "lens" in spent
    whole_plan = replace(plan, lens_source_rows=None, lens_whole_image=True)
    whole, _ = render(whole_plan, info, schedule=Schedule(strip_rows=40))
    assert np.abs(strips - whole).max() < 1e-3
    other, _ = render(plan, info, schedule=Schedule(strip_rows=64, workers=1))
    np.testing.assert_array_equal(strips, other)


def test_warps_that_move_nothing_are_skipped(tmp_path):
    """A WarpRectilinear that moves no pixel by 0.05 px or more is not applied (resampling for
    less only softens); one that moves pixels by 0.1 px is."""
    from mountcam.develop import DevelopSettings
    from mountcam.develop.lens_correction import NEGLIGIBLE_WARP_PX, warp_max_shift_px
    from mountcam.develop.pipeline import plan_development
    from mountcam.dng import read_dng

    norm = math.hypot(W / 2, H / 2)  # centre to corner, pixels
    tiny = WarpRectilinear(((1.0 + 0.04 / norm, 0.0, 0.0, 0.0, 0.0, 0.0),), 0.5, 0.5)
    small = WarpRectilinear(((1.0 + 0.1 / norm, 0.0, 0.0, 0.0, 0.0, 0.0),), 0.5, 0.5)
    assert warp_max_shift_px(tiny, (H, W)) == pytest.approx(0.04, abs=1e-3)
    assert warp_max_shift_px(small, (H, W)) > NEGLIGIBLE_WARP_PX
    img = np.random.default_rng(1).random((H, W, 3), dtype=np.float32)
    np.testing.assert_array_equal(apply_opcodes(img, [tiny]), img)
    assert np.abs(apply_opcodes(img, [small]) - img).max() > 0.05
    vignette = FixVignetteRadial((0.2, 0.0, 0.0, 0.0, 0.0), 0.5, 0.5)
    for ops, lens in (([tiny], False), ([small], True), ([vignette, tiny], True)):
        info = read_dng(_warped_dng(tmp_path / f"w{len(ops)}{lens}.dng", ops=ops))
        plan = plan_development(info, DevelopSettings())
        assert (plan.lens is not None) == lens
        assert plan.lens_source_rows is None or ops == [small]
