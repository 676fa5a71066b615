"""Lossless JPEG (T.81 SOF3) encoder and the tiled Compression-7 raw it writes into DNGs.

Every stream is checked bit-exact against independent decoders: imagecodecs' ``ljpeg_decode``
(liblj92) and ``jpegsof3_decode`` (the Rouse/jpgd lossless decoder), and libjpeg-turbo through
``jpeg8_decode``; whole DNGs against LibRaw (rawpy), tifffile and the Adobe DNG SDK (dngpy).
"""

from __future__ import annotations

import colour
import imagecodecs
import numpy as np
import pytest
import rawpy
import tifffile

from mountcam.dng import calibrate, read_dng, write_dng
from mountcam.dng.ljpeg import N_SYMBOLS, _code_sizes, encode_ljpeg, encode_tiles
from mountcam.errors import InvalidSetting
from mountcam.spectra import resample, sd_on_grid
from test_dng_file import make_frame
from test_dng_sdk_helpers import sdk_validate


@pytest.fixture(scope="module")
def calibration():
    """The colour profile of test_dng_file's frames (a real sensor's spectral sensitivities)."""
    s = colour.MSDS_CAMERA_SENSITIVITIES["Nikon 5100 (NPL)"]
    qe = resample(s.wavelengths, s.values.T).T
    return calibrate(qe, sd_on_grid(colour.SDS_ILLUMINANTS["D65"]))


DECODERS = {
    "liblj92": imagecodecs.ljpeg_decode,
    "jpegsof3": imagecodecs.jpegsof3_decode,
    "libjpeg-turbo": imagecodecs.jpeg8_decode,
}


def _images(precision: int, height: int, width: int, rng) -> dict[str, np.ndarray]:
    top = (1 << precision) - 1
    ramp = np.linspace(0, top, width).round().astype(np.uint16)
    images = {
        "black": np.zeros((height, width), np.uint16),
        "white": np.full((height, width), top, np.uint16),
        "noise": rng.integers(0, top + 1, (height, width), dtype=np.uint16),
        "gradient": np.broadcast_to(ramp, (height, width)).copy(),
        # Extremes side by side: differences of ±(2**P - 1), the largest categories.
        "checker": (np.indices((height, width)).sum(axis=0) % 2 * top).astype(np.uint16),
    }
    if precision == 16:  # jumps of exactly 32768: difference category 16, no extra bits
        images["jumps"] = (np.indices((height, width))[1] % 2 * 32768).astype(np.uint16)
    return images


@pytest.mark.parametrize("precision", [10, 12, 14, 16])
@pytest.mark.parametrize("shape, components", [((7, 9), 1), ((33, 18), 2), ((16, 64), 2)])
def test_streams_decode_bit_exact_in_three_decoders(precision, shape, components):
    rng = np.random.default_rng(precision)
    for name, image in _images(precision, *shape, rng).items():
        stream = encode_ljpeg(image, precision, components)
        assert stream[:4] == b"\xff\xd8\xff\xc3" and stream[-2:] == b"\xff\xd9"
        assert stream[6] == precision
        for decoder, decode in DECODERS.items():
            got = np.asarray(decode(stream)).reshape(shape)
            assert np.array_equal(got, image), (decoder, name)


def test_cfa_tile_is_two_components_of_half_width():
    """The layout of Adobe's SDK: a W-wide CFA tile is a W/2-wide frame of 2 components."""
    image = np.arange(16 * 32, dtype=np.uint16).reshape(16, 32)
    stream = encode_ljpeg(image, 12, components=2)
    sof = stream.index(b"\xff\xc3")
    lines, samples, ncomp = (
        int.from_bytes(stream[sof + 5 : sof + 7], "big"),
        int.from_bytes(stream[sof + 7 : sof + 9], "big"),
        stream[sof + 9],
    )
    assert (lines, samples, ncomp) == (16, 16, 2)
    decoded = imagecodecs.ljpeg_decode(stream)
    assert decoded.shape == (16, 16, 2)
    assert np.array_equal(decoded[..., 0], image[:, 0::2])  # one CFA column phase each
    assert np.array_equal(decoded[..., 1], image[:, 1::2])


def test_like_colours_compress_better_than_one_component():
    """Predicting from the same CFA colour is the reason for the 2-component layout."""
    rng = np.random.default_rng(1)
    base = np.where(np.indices((256, 256))[1] % 2 == 0, 800, 2400)
    image = (base + rng.normal(0, 4, (256, 256))).astype(np.uint16)
    assert len(encode_ljpeg(image, 12, 2)) < 0.6 * len(encode_ljpeg(image, 12, 1))


def test_huffman_lengths_are_limited_to_16_bits_without_an_all_ones_code():
    # Fibonacci frequencies give the deepest Huffman tree (lengths up to 17 before K.3).
    freq = np.array([1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597])
    bits = np.zeros(16, np.int64)
    huffval = np.zeros(N_SYMBOLS, np.int64)
    lengths = np.zeros(N_SYMBOLS, np.int64)
    n = _code_sizes(freq, bits, huffval, lengths)
    assert n == N_SYMBOLS == bits.sum()
    assert lengths.max() <= 16 and lengths.min() >= 1
    # Kraft sum strictly below 1: the all-ones code of the longest length stays unused.
    assert sum(2.0 ** -int(v) for v in lengths) < 1.0
    assert sorted(huffval.tolist()) == list(range(N_SYMBOLS))
    # A stream whose differences hit that histogram still decodes.
    rng = np.random.default_rng(2)
    cats = rng.choice(N_SYMBOLS - 1, size=4096, p=freq[:-1] / freq[:-1].sum())
    steps = np.where(cats == 0, 0, (1 << np.maximum(cats, 1)) - 1)
    image = (np.cumsum(steps) % 65536).astype(np.uint16).reshape(64, 64)
    assert np.array_equal(imagecodecs.ljpeg_decode(encode_ljpeg(image, 16)), image)


@pytest.mark.parametrize("shape", [(256, 256), (300, 520), (37, 50)])
def test_tiles_cover_the_image_and_pad_with_the_same_cfa_colour(shape):
    rng = np.random.default_rng(3)
    mosaic = rng.integers(0, 4096, shape, dtype=np.uint16)
    th, tw = 64, 128
    tiles = encode_tiles(mosaic, th, tw, 12)
    down, across = -(-shape[0] // th), -(-shape[1] // tw)
    assert len(tiles) == down * across
    full = np.zeros((down * th, across * tw), np.uint16)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, across)
        full[r * th : (r + 1) * th, c * tw : (c + 1) * tw] = imagecodecs.ljpeg_decode(
            bytes(tile)
        ).reshape(th, tw)
    assert np.array_equal(full[: shape[0], : shape[1]], mosaic)
    h, w = shape
    # Padding repeats the last two columns / rows, keeping each sample's CFA phase.
    assert np.array_equal(
        full[:h, w:], mosaic[:, [w - 2 + (i & 1) for i in range(full.shape[1] - w)]]
    )
    assert np.array_equal(full[h:, :w], mosaic[[h - 2 + (i & 1) for i in range(full.shape[0] - h)]])


def test_refuses_samples_above_the_precision_and_bad_shapes():
    with pytest.raises(ValueError, match="does not fit 10-bit"):
        encode_ljpeg(np.full((4, 4), 1024, np.uint16), 10)
    with pytest.raises(ValueError, match="precision"):
        encode_ljpeg(np.zeros((4, 4), np.uint16), 17)
    with pytest.raises(ValueError, match="components"):
        encode_ljpeg(np.zeros((4, 5), np.uint16), 12, components=2)
    with pytest.raises(ValueError, match="uint16"):
        encode_ljpeg(np.zeros((4, 4), np.int32), 12)


@pytest.mark.parametrize("bits", [10, 12, 14])
@pytest.mark.parametrize("shape", [(48, 64), (300, 520), (262, 270), (30, 22), (153, 201)])
def test_ljpeg_dng_reads_back_exactly_in_libraw_tifffile_and_read_dng(
    calibration, tmp_path, bits, shape
):
    frame = make_frame(calibration, height=shape[0], width=shape[1], bits=bits, seed=bits)
    path = write_dng(frame, tmp_path / "x.dng", calibration=calibration, compression="ljpeg")
    with rawpy.imread(str(path)) as raw:
        assert np.array_equal(raw.raw_image, frame.mosaic)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0].pages[0]
        assert page.compression == 7 and page.is_tiled
        assert not {273, 278, 279} & set(page.tags.keys())  # tiles, never strips too
        assert page.tilewidth <= shape[1] and page.tilewidth % 16 == 0
        assert page.bitspersample == bits
        assert np.array_equal(page.asarray(), frame.mosaic)
    info = read_dng(path)
    assert np.array_equal(info.mosaic, frame.mosaic)
    assert info.white_level_dn == (1 << bits) - 1


def test_ljpeg_dng_passes_the_adobe_sdk_and_is_smaller_on_smooth_data(calibration, tmp_path):
    dngpy = pytest.importorskip("dngpy")
    rng = np.random.default_rng(5)
    smooth = 1000 + 200 * np.sin(np.linspace(0, 6, 520))[None, :] + rng.normal(0, 8, (300, 520))
    frame = make_frame(calibration, height=300, width=520, mosaic=smooth.astype(np.uint16))
    plain = write_dng(frame, tmp_path / "plain.dng", calibration=calibration)
    packed = write_dng(frame, tmp_path / "ljpeg.dng", calibration=calibration, compression="ljpeg")
    assert sdk_validate(dngpy, packed) == []
    assert np.array_equal(dngpy.Dng(str(packed)).raw_pixels.reshape(300, 520), frame.mosaic)
    assert packed.stat().st_size < 0.45 * plain.stat().st_size


def test_unknown_compression_is_refused_before_writing(calibration, tmp_path):
    frame = make_frame(calibration)
    with pytest.raises(InvalidSetting, match="compression"):
        write_dng(frame, tmp_path / "x.dng", calibration=calibration, compression="zip")
    assert not list(tmp_path.iterdir())
