"""The DNG's Orientation tag turns the developed picture upright (issue 9 §1), as LibRaw does.

A CFA DNG of a grey field with a red and a blue block at known places is written with each of
the eight Orientation values; the developed picture must equal the table of
:mod:`mountcam.develop.orientation` applied to the Orientation-1 development, and LibRaw's
(rawpy's) rendering of the same file must put both blocks where ours does.
"""

from __future__ import annotations

import numpy as np
import pytest

from foreign_dngs import mosaic_of, write_cfa_dng
from mountcam.develop import DevelopSettings, develop
from mountcam.develop.orientation import apply_orientation, upright_shape
from mountcam.dng.reader import read_dng

H, W = 96, 128
WHITE = 4095
RED_BLOCK = (8, 24, 8, 40)  # top, bottom, left, right
BLUE_BLOCK = (60, 80, 90, 110)
LINEAR = DevelopSettings(linear=True, denoise=False, sharpen=False)


def reference(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """TIFF 6.0 / Exif Orientation written out as index arithmetic, independently of the
    module's OpenCV calls: U[i, j] = S[rows(i, j), cols(i, j)]."""
    h, w = pixels.shape[:2]
    uh, uw = (w, h) if orientation >= 5 else (h, w)
    i, j = np.meshgrid(np.arange(uh), np.arange(uw), indexing="ij")
    rows, cols = {
        1: (i, j),
        2: (i, w - 1 - j),  # mirrored left-right
        3: (h - 1 - i, w - 1 - j),  # 180°
        4: (h - 1 - i, j),  # mirrored top-bottom
        5: (j, i),  # transposed
        6: (h - 1 - j, i),  # stored turned 90° anticlockwise: turn clockwise to view
        7: (h - 1 - j, w - 1 - i),  # transverse
        8: (j, w - 1 - i),  # turn anticlockwise to view
    }[orientation]
    return pixels[rows, cols]


def _scene() -> np.ndarray:
    rgb = np.full((H, W, 3), 0.2)
    t, b, lf, r = RED_BLOCK
    rgb[t:b, lf:r] = (0.6, 0.05, 0.05)
    t, b, lf, r = BLUE_BLOCK
    rgb[t:b, lf:r] = (0.05, 0.05, 0.6)
    return rgb


def _dng(path, orientation):
    mosaic = np.round(mosaic_of(_scene()) * WHITE).astype(np.uint16)
    return write_cfa_dng(path, mosaic, white=WHITE, orientation=orientation)


def _centroids(rgb: np.ndarray) -> np.ndarray:
    """(row, col) centres of the red-dominant and the blue-dominant pixels."""
    rgb = rgb.astype(np.float64)
    out = []
    for c in (0, 2):
        others = np.delete(rgb, c, axis=2).max(axis=2)
        rows, cols = np.nonzero(rgb[..., c] > 3 * others + 1e-3)
        out.append((rows.mean(), cols.mean()))
    return np.array(out)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_apply_orientation_follows_the_tiff_table(dtype):
    rng = np.random.default_rng(1)
    pixels = (rng.random((5, 7, 3)) * 200).astype(dtype)
    for orientation in range(1, 9):
        got = apply_orientation(pixels, orientation)
        assert got.shape[:2] == upright_shape((5, 7), orientation)
        assert np.array_equal(got, reference(pixels, orientation)), orientation
    with pytest.raises(ValueError):
        apply_orientation(pixels, 9)


@pytest.fixture(scope="module")
def upright(tmp_path_factory):
    """Linear development of the Orientation-1 file, the stored picture as it is."""
    path = _dng(tmp_path_factory.mktemp("orient") / "o1.dng", 1)
    return develop(path, LINEAR).pixels


@pytest.mark.parametrize("orientation", range(1, 9))
def test_each_orientation_is_applied_as_libraw_applies_it(tmp_path, upright, orientation):
    import rawpy

    path = _dng(tmp_path / f"o{orientation}.dng", orientation)
    assert read_dng(path).orientation == orientation
    ours = develop(path, LINEAR).pixels
    assert np.array_equal(ours, reference(upright, orientation))
    # Our blocks sit where the stored picture, turned by the table, puts them ...
    expected = _centroids(reference(_scene().astype(np.float32), orientation))
    assert np.abs(_centroids(ours) - expected).max() < 1.0
    # ... and where LibRaw puts them in its own rendering of the same file.
    with rawpy.imread(str(path)) as raw:
        theirs = raw.postprocess(
            use_camera_wb=True, no_auto_bright=True, gamma=(1, 1), output_bps=16
        )
    assert theirs.shape == ours.shape
    assert np.abs(_centroids(theirs) - _centroids(ours)).max() < 1.0


def test_a_jpeg_of_a_turned_picture_is_upright_and_tagged_orientation_1(tmp_path):
    from PIL import Image as PILImage

    from mountcam.develop.output import save_image

    path = _dng(tmp_path / "o6.dng", 6)
    image = develop(path, DevelopSettings(denoise=False, sharpen=False))
    out = save_image(image, tmp_path / "o6.jpg")
    with PILImage.open(out) as jpeg:
        assert jpeg.size == (H, W)  # width, height: turned
        assert jpeg.getexif().get(274) == 1


def test_an_invalid_orientation_reads_as_upright(tmp_path):
    path = _dng(tmp_path / "o0.dng", 0)
    assert read_dng(path).orientation == 1
