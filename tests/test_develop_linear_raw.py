"""LinearRaw DNGs develop (issue 9 §1): three samples per pixel, no demosaic, the same colour
model, in every layout other tools write them.

Each variant holds the same six colour patches of linear camera RGB (this camera's raw RGB is
linear sRGB, so the linear develop must give back the patches) and is checked against the
values put in and against LibRaw's (rawpy's) rendering of the same file; the Adobe DNG SDK
(dngpy) must read the stored samples back as written. The lossy variant is written as Adobe DNG
Converter writes lossy DNGs: 8-bit baseline JPEG tiles of curve-encoded values, with the curve's
inverse as one MapPolynomial per plane in OpcodeList2 (which LibRaw's ``lossy_dng_load_raw``
reads too).
"""

from __future__ import annotations

import numpy as np
import pytest

from foreign_dngs import LOSSLESS_JPEG, LOSSY_JPEG, UNCOMPRESSED, write_linear_dng
from mountcam.develop import DevelopSettings, develop
from mountcam.dng.opcodes import MapPolynomial, encode_opcode_list
from mountcam.dng.reader import read_dng
from mountcam.errors import UnreadableFile

H, W = 96, 128
COLOURS = [(0.40, 0.20, 0.10), (0.10, 0.30, 0.45), (0.18, 0.18, 0.18),
           (0.05, 0.40, 0.08), (0.45, 0.42, 0.12), (0.70, 0.70, 0.70)]  # fmt: skip
LINEAR = DevelopSettings(linear=True, denoise=False, sharpen=False)
#: The lossy variant's decoding curve P(t) = 0.25 t + 0.75 t² (8-bit codes t = v/255 -> linear).
CURVE = (0.0, 0.25, 0.75)

VARIANTS = {
    "16-bit strips": dict(bits=16, compression=UNCOMPRESSED, tile=None),
    "16-bit tiles": dict(bits=16, compression=UNCOMPRESSED, tile=32),
    "16-bit lossless JPEG tiles": dict(bits=16, compression=LOSSLESS_JPEG, tile=32),
    "12-bit lossless JPEG strips": dict(bits=12, compression=LOSSLESS_JPEG, tile=None),
    "8-bit strips": dict(bits=8, compression=UNCOMPRESSED, tile=None),
    "8-bit lossy JPEG tiles": dict(bits=8, compression=LOSSY_JPEG, tile=32),
}
#: Largest difference of a patch mean from the value put in: the quantisation of the stored
#: samples (8 bits: 1/510 at most) and, for lossy JPEG, its error through the curve.
TOLERANCE = {"8-bit strips": 2.5e-3, "8-bit lossy JPEG tiles": 0.01}


def _scene() -> np.ndarray:
    rgb = np.empty((H, W, 3))
    for k, colour in enumerate(COLOURS):
        i, j = divmod(k, 3)
        rgb[i * 48 : (i + 1) * 48, j * 43 : (j + 1) * 43 + (1 if j == 2 else 0)] = colour
    return rgb


def _patch_means(rgb: np.ndarray) -> np.ndarray:
    means = []
    for k in range(6):
        i, j = divmod(k, 3)
        means.append(rgb[i * 48 + 6 : (i + 1) * 48 - 6, j * 43 + 6 : (j + 1) * 43 - 6].mean((0, 1)))
    return np.array(means)


def _write(path, variant: str):
    kw = VARIANTS[variant]
    x = _scene()
    opcodes = None
    if kw["compression"] == LOSSY_JPEG:
        t = np.linspace(0, 1, 4097)
        encode = np.interp(x, np.polyval(CURVE[::-1], t), t)  # the curve's inverse
        values = np.round(encode * 255)
        ops = [MapPolynomial(0, 0, H, W, p, 1, 1, 1, CURVE) for p in range(3)]
        opcodes = encode_opcode_list(ops)
    else:
        values = np.round(x * ((1 << kw["bits"]) - 1))
    return write_linear_dng(path, values, opcode_list_2=opcodes, **kw), values


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request, tmp_path_factory):
    path, values = _write(tmp_path_factory.mktemp("linear") / "l.dng", request.param)
    return request.param, path, values


def test_the_reader_gives_the_stored_samples(variant):
    name, path, values = variant
    info = read_dng(path)
    assert info.linear_raw and info.cfa_pattern == ""
    assert info.mosaic.shape == (H, W, 3) and info.mosaic.dtype == np.uint16
    if VARIANTS[name]["compression"] != LOSSY_JPEG:
        assert np.array_equal(info.mosaic, values)
    else:
        assert np.abs(info.mosaic.astype(float) - values).mean() < 1.0


def test_the_dng_sdk_reads_the_same_samples(variant):
    dngpy = pytest.importorskip("dngpy")
    name, path, values = variant
    if VARIANTS[name]["compression"] == LOSSY_JPEG:
        pytest.skip("the SDK decodes lossy JPEG with its own IDCT; compared in the reader test")
    sdk = np.asarray(dngpy.Dng(str(path)).raw_pixels)
    assert np.array_equal(sdk.reshape(H, W, 3), values)


def test_linear_raw_develops_to_the_colours_put_in_and_as_libraw_does(variant):
    import rawpy

    name, path, _ = variant
    ours = develop(path, LINEAR).pixels.astype(np.float64)
    assert ours.shape == (H, W, 3)
    want = np.array(COLOURS)
    assert np.abs(_patch_means(ours) - want).max() < TOLERANCE.get(name, 1e-3)
    with rawpy.imread(str(path)) as raw:
        libraw = raw.postprocess(
            use_camera_wb=True, no_auto_bright=True, gamma=(1, 1), output_bps=16,
            adjust_maximum_thr=0.0,
        ).astype(np.float64) / 65535.0  # fmt: skip
    if name == "12-bit lossless JPEG strips":
        # LibRaw 0.22 decodes only the first strip of a lossless JPEG LinearRaw image in
        # strips (the rest comes out 0; the DNG SDK reads every strip: test above). Compared
        # where it decodes: the first 16 rows, pixel by pixel.
        assert np.abs(ours[:16] - libraw[:16]).max() < 1e-3
        assert not libraw[16:].any()
        return
    assert np.abs(_patch_means(ours) - _patch_means(libraw)).max() < TOLERANCE.get(name, 1e-3)


def test_a_linear_raw_jpeg_and_an_odd_size(tmp_path):
    """The default (JPEG-path) develop of a LinearRaw file, 8-bit, with an odd width and
    height, which a CFA mosaic could not have."""
    values = np.round(_scene()[:75, :99] * 65535)
    path = write_linear_dng(tmp_path / "odd.dng", values, tile=32)
    image = develop(path, output_dtype=np.uint8)
    assert image.pixels.shape == (75, 99, 3)
    grey = image.pixels[10:40, 88:97].reshape(-1, 3).astype(int)  # the 0.18 patch
    assert np.ptp(grey.mean(axis=0)) <= 2  # neutral


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        (dict(bits=16, compression=LOSSY_JPEG, tile=32), "with 16-bit samples"),
        (dict(bits=16, compression=5, tile=None), r"LZW compression \(5\)"),
    ],
)
def test_linear_raw_layouts_mountcam_cannot_read_are_named(tmp_path, kw, words):
    values = np.zeros((32, 32, 3), np.uint16)
    if kw["compression"] == LOSSY_JPEG:
        kw = dict(kw, bits=8)
        path = write_linear_dng(tmp_path / "x.dng", values.astype(np.uint8), **kw)
        data = bytearray(path.read_bytes())
        # BitsPerSample (258) rewritten to 16 (its three SHORTs lie outside the entry)
        path.write_bytes(bytes(data).replace(b"\x08\x00\x08\x00\x08\x00", b"\x10\x00" * 3, 1))
    else:
        path = write_linear_dng(tmp_path / "x.dng", values, bits=16, tile=None)
        data = bytearray(path.read_bytes())
        entry = data.find(b"\x03\x01\x03\x00\x01\x00\x00\x00\x01\x00")  # Compression = 1
        data[entry + 8 : entry + 10] = (5).to_bytes(2, "little")
        path.write_bytes(bytes(data))
    with pytest.raises(UnreadableFile, match=words):
        read_dng(path)


def test_a_lossy_tile_too_short_for_its_claimed_size_is_refused_before_decoding(tmp_path):
    """A 4096×4096 LinearRaw image of one lossy JPEG tile whose frame header claims 4096×4096
    but whose data are a 32×32 picture's (~700 bytes): baseline JPEG needs at least 2 bits per
    8×8 block (64 kB here), so the reader refuses it before a decoder allocates 50 MB."""
    import struct

    import imagecodecs

    from mountcam.dng.tiff import Ifd, TiffType, write_tiff

    jpeg = bytearray(imagecodecs.jpeg8_encode(np.zeros((32, 32, 3), np.uint8), level=90))
    sof = jpeg.find(b"\xff\xc0")
    struct.pack_into(">HH", jpeg, sof + 5, 4096, 4096)  # lines, samples per line
    ifd = Ifd()
    for tag, kind, value in (
        (254, TiffType.LONG, 0), (256, TiffType.LONG, 4096), (257, TiffType.LONG, 4096),
        (258, TiffType.SHORT, (8, 8, 8)), (259, TiffType.SHORT, 34892),
        (262, TiffType.SHORT, 34892), (277, TiffType.SHORT, 3),
        (50706, TiffType.BYTE, (1, 4, 0, 0)),
    ):  # fmt: skip
        ifd.set(tag, kind, value)
    ifd.set_tiles([bytes(jpeg)], 4096, 4096)
    path = tmp_path / "forged.dng"
    with open(path, "wb") as f:
        write_tiff(f, [ifd])
    with pytest.raises(UnreadableFile, match="too few for a 4096×4096 px JPEG"):
        read_dng(path)
