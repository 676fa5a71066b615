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
