"""The checks ``read_dng`` makes before it decodes anything (docs/dng-reading.md), one by one.

Each test takes a small DNG written by ``mountcam shoot`` (64×48 px: uncompressed strips, or
one lossless JPEG tile) or by tifffile, breaks one thing in its IFDs, and asserts that the
reader refuses it with :class:`~mountcam.errors.UnreadableFile` and a message that names the
problem, and, where it matters, that nothing was decoded or allocated first.
"""

from __future__ import annotations

import signal
import struct
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import mountcam.dng.reader as reader
from conftest import shoot
from mountcam.dng import read_dng
from mountcam.errors import UnreadableFile

# TIFF tags (TIFF 6.0 §8, §15; TIFF/EP; DNG 1.4 ch. 4).
WIDTH, LENGTH, BITS, COMPRESSION, PHOTOMETRIC = 256, 257, 258, 259, 262
STRIP_OFFSETS, SPP, ROWS_PER_STRIP, STRIP_BYTES = 273, 277, 278, 279
TILE_WIDTH, TILE_LENGTH, TILE_OFFSETS, TILE_BYTES = 322, 323, 324, 325
SUB_IFDS, CFA_REPEAT, CFA_PATTERN = 330, 33421, 33422
BLACK_REPEAT, BLACK, ACTIVE_AREA, CROP_ORIGIN, CROP_SIZE = 50713, 50714, 50829, 50719, 50720
OPCODE_LIST_3 = 51022
SHORT, LONG, RATIONAL = 3, 4, 5


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, bytes]:
    """``strips``: uncompressed, lens opcodes; ``tile``: lossless JPEG, one 64×48 tile."""
    out = {}
    for name, compress in (("strips", "none"), ("tile", "ljpeg")):
        folder = tmp_path_factory.mktemp(name)
        res = shoot(
            folder,
            *("--scene", "chart:colorchecker", "--crop", "64x48", "--seed", "5"),
            *("--shutter", "1/250", "--iso", "400", "--compress", compress),
        )
        out[name] = Path(res["files"][0]).read_bytes()
    return out


class Dng:
    """A DNG's bytes with its IFD entries found by (IFD, tag), to be rewritten in place. IFDs:
    ``ifd0``, ``raw`` (its first SubIFD), ``exif``. Little-endian, as mountcam writes."""

    def __init__(self, data: bytes) -> None:
        self.data = bytearray(data)
        self.entries: dict[str, dict[int, int]] = {}
        (ifd0,) = struct.unpack_from("<I", data, 4)
        self._walk("ifd0", ifd0)

    def _walk(self, name: str, offset: int) -> None:
        (n,) = struct.unpack_from("<H", self.data, offset)
        self.entries[name] = {}
        for i in range(n):
            entry = offset + 2 + 12 * i
            tag, _, count, value = struct.unpack_from("<HHII", self.data, entry)
            self.entries[name][tag] = entry
            if tag == SUB_IFDS and name == "ifd0":
                self._walk("raw", value)
            if tag == 34665:
                self._walk("exif", value)
        self.next_pointer = offset + 2 + 12 * n if name == "ifd0" else None

    def field(self, ifd: str, tag: int) -> tuple[int, int, int]:
        """(type, count, value-or-offset) of an entry."""
        return struct.unpack_from("<HII", self.data, self.entries[ifd][tag] + 2)

    def set(self, ifd: str, tag: int, value: int, *, type_: int = LONG, count: int = 1) -> Dng:
        """Make the entry ``type_`` × ``count`` with ``value`` in its value field."""
        entry = self.entries[ifd][tag]
        struct.pack_into("<HII", self.data, entry + 2, type_, count, value)
        return self

    def retag(self, ifd: str, tag: int, new_tag: int) -> Dng:
        struct.pack_into("<H", self.data, self.entries[ifd][tag], new_tag)
        return self

    def value_bytes(self, ifd: str, tag: int) -> int:
        """File offset of an out-of-line value."""
        return self.field(ifd, tag)[2]

    def write(self, path: Path) -> Path:
        path.write_bytes(bytes(self.data))
        return path


class Hung(BaseException):
    """Raised by :func:`no_hang`'s alarm; not an Exception, so no reader wrapper can hide it."""


@contextmanager
def no_hang(seconds: float = 10.0):
    """Fail (rather than wait forever) if the body does not return within ``seconds``; a
    hang detector, not a speed test."""

    def alarm(signum, frame):
        raise Hung(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def refused(path: Path, *words: str) -> str:
    """read_dng's UnreadableFile message for ``path``, asserted to name the file and ``words``."""
    with pytest.raises(UnreadableFile) as err:
        read_dng(path)
    message = str(err.value)
    assert str(path) in message
    for word in words:
        assert word in message, message
    return message


class Decoded(BaseException):
    """Raised by the ``no_decoding`` spy; not an Exception, so no reader wrapper can hide it."""


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if tifffile is asked to decode any image."""
    import tifffile

    def forbidden(self, *args, **kwargs):
        raise Decoded("decoded an image that should have been refused first")

    monkeypatch.setattr(tifffile.TiffPage, "asarray", forbidden)


# --- sizes ---------------------------------------------------------------------------------------


def test_pixel_limit_fits_the_sensor_and_200_mp_files():
    assert reader.MAX_RAW_PIXELS >= 8192 * 6144  # IMX989 full readout
    assert reader.MAX_RAW_PIXELS >= 16384 * 12288  # a 200 MP sensor
    assert reader.MAX_RAW_PIXELS * 2 <= 2**30  # the mosaic stays under 1 GiB of uint16


def test_a_file_claiming_100000_by_100000_px_is_refused_before_allocating(
    seeds, tmp_path, no_decoding
):
    path = Dng(seeds["strips"]).set("raw", WIDTH, 100_000).set("raw", LENGTH, 100_000)
    path = path.write(tmp_path / "huge.dng")
    tracemalloc.start()
    try:
        message = refused(path, "100000×100000 px", "10000 MP", "at most 268 MP")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, message  # 100000² px would be 20 GB of uint16


def test_an_empty_image_is_refused(seeds, tmp_path, no_decoding):
    path = Dng(seeds["strips"]).set("raw", WIDTH, 0).write(tmp_path / "empty.dng")
    refused(path, "empty size of 0×48 px")


def test_sixteen_bit_is_the_deepest_sample_read(seeds, tmp_path, no_decoding):
    path = Dng(seeds["strips"]).set("raw", BITS, 32, type_=SHORT).write(tmp_path / "deep.dng")
    refused(path, "32-bit samples", "8 to 16 bits")


def test_a_cfa_image_has_one_sample_per_pixel(seeds, tmp_path, no_decoding):
    path = Dng(seeds["strips"]).set("raw", SPP, 3, type_=SHORT).write(tmp_path / "rgb.dng")
    refused(path, "3 samples per pixel, expected 1")


def test_layout_tags_must_be_short_or_long(seeds, tmp_path, no_decoding):
    path = Dng(seeds["tile"]).set("raw", TILE_LENGTH, 48, type_=1).write(tmp_path / "b.dng")
    refused(path, "TileLength tag has TIFF type 1, not SHORT or LONG")


@pytest.mark.parametrize(
    "ifd, tag, words",
    [
        ("ifd0", 50706, "DNGVersion tag is not 4 bytes"),
        ("raw", CFA_PATTERN, "CFAPattern is not stored as bytes (TIFF type 4)"),
        ("raw", OPCODE_LIST_3, "OpcodeList3 is not stored as bytes (TIFF type 4)"),
    ],
)
def test_a_byte_tag_stored_as_a_huge_long_allocates_nothing(seeds, tmp_path, ifd, tag, words):
    # The reader before these checks called bytes(value) on such a tag: 2**30 made an 11 kB
    # file take 8.3 GB (a gigabyte of zeros, then a tuple of them for dng_version).
    path = Dng(seeds["strips"]).set(ifd, tag, 2**30).write(tmp_path / "long.dng")
    tracemalloc.start()
    try:
        refused(path, words)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024


# --- strips and tiles ------------------------------------------------------------------------------


def test_a_truncated_strip_is_refused(seeds, tmp_path, no_decoding):
    data = seeds["strips"]
    offset = Dng(data).value_bytes("raw", STRIP_OFFSETS)
    path = tmp_path / "cut.dng"
    path.write_bytes(data[: offset + 100])
    refused(path, "truncated", "strip 0 of the raw image", f"the file has {offset + 100}")


def test_a_strip_too_short_for_its_rows_is_refused(seeds, tmp_path, no_decoding):
    dng = Dng(seeds["strips"])
    rows = dng.field("raw", ROWS_PER_STRIP)[2]
    path = dng.set("raw", STRIP_BYTES, 1000).write(tmp_path / "short.dng")
    refused(path, "holds 1000 bytes", f"its {rows}×64 px need {rows * 64 * 2}")


def test_strip_counts_must_match_the_image(seeds, tmp_path, no_decoding):
    # Twice the rows need more strips than the file lists.
    path = Dng(seeds["strips"]).set("raw", LENGTH, 96).write(tmp_path / "rows.dng")
    refused(path, "strips for 64×96 px but lists")


def test_zero_sized_tiles_are_refused(seeds, tmp_path, no_decoding):
    path = Dng(seeds["tile"]).set("raw", TILE_WIDTH, 0).write(tmp_path / "zero.dng")
    refused(path, "tiles of 0×48 px")


def test_tile_geometry_must_match_the_tile_count(seeds, tmp_path, no_decoding):
    # 16-px wide tiles would need 4 across; the file lists one.
    path = Dng(seeds["tile"]).set("raw", TILE_WIDTH, 16).write(tmp_path / "tiles.dng")
    refused(path, "needs 4 tiles for 64×48 px but lists 1 offsets and 1 byte counts")


def test_an_enlarged_image_with_its_one_tile_is_refused(seeds, tmp_path, no_decoding):
    # The reader before these checks returned this 7.5 kB file as a 12000×12000 frame (288 MB,
    # 99.998 % zeros: tifffile fills the tiles the file does not list).
    path = Dng(seeds["tile"]).set("raw", WIDTH, 12_000).set("raw", LENGTH, 12_000)
    refused(path.write(tmp_path / "big.dng"), "needs 47000 tiles for 12000×12000 px but lists 1")


def test_a_tile_beyond_the_end_of_the_file_is_refused(seeds, tmp_path, no_decoding):
    size = len(seeds["tile"])
    path = Dng(seeds["tile"]).set("raw", TILE_OFFSETS, size - 10).write(tmp_path / "far.dng")
    refused(path, "truncated", "tile 0 of the raw image lies at bytes", f"the file has {size}")


def test_a_lossless_jpeg_tile_too_short_for_its_samples_is_refused(seeds, tmp_path, no_decoding):
    # 64×48 samples need at least 3072 bits = 384 bytes of Huffman codes.
    path = Dng(seeds["tile"]).set("raw", TILE_BYTES, 383).write(tmp_path / "thin.dng")
    refused(path, "holds 383 bytes, too few for 3072 lossless JPEG samples")


def test_strips_and_tiles_together_are_refused(seeds, tmp_path, no_decoding):
    path = Dng(seeds["tile"]).retag("raw", TILE_OFFSETS, STRIP_OFFSETS).write(tmp_path / "b.dng")
    refused(path, "both strips and tiles")


def _tile_sof(dng: Dng) -> int:
    """File offset of the SOF3 marker of the one tile."""
    start = dng.value_bytes("raw", TILE_OFFSETS)
    return bytes(dng.data).index(b"\xff\xc3", start)


def test_a_tile_that_is_not_lossless_jpeg_is_refused(seeds, tmp_path, no_decoding):
    dng = Dng(seeds["tile"])
    dng.data[_tile_sof(dng) + 1] = 0xC0  # baseline DCT
    refused(dng.write(tmp_path / "dct.dng"), "not lossless JPEG", "0xC0")


def test_a_jpeg_frame_larger_than_its_tile_is_refused(seeds, tmp_path, no_decoding):
    # A decoder allocates by the frame header: 65535 lines would be 8 MB for a 6 kB tile.
    dng = Dng(seeds["tile"])
    struct.pack_into(">H", dng.data, _tile_sof(dng) + 5, 65535)  # lines (T.81 B.2.2)
    refused(dng.write(tmp_path / "tall.dng"), "JPEG frame of 32×65535×2 samples", "64×48 px tile")


def test_a_tile_without_jpeg_markers_is_refused(seeds, tmp_path, no_decoding):
    dng = Dng(seeds["tile"])
    dng.data[dng.value_bytes("raw", TILE_OFFSETS)] = 0
    refused(dng.write(tmp_path / "soi.dng"), "tile 0", "no JPEG start-of-image marker")


# --- compression, CFA, levels, crop -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"),
    [(8, "Deflate"), (9, "VC-5 (GoPro GPR)"), (52546, "JPEG XL"), (60000, None)],
)
def test_an_unsupported_compression_is_refused_by_name(seeds, tmp_path, no_decoding, code, name):
    dng = Dng(seeds["strips"]).set("raw", COMPRESSION, code, type_=SHORT)
    path = dng.write(tmp_path / "z.dng")
    said = f"{name} compression ({code})" if name else f"compression {code}"
    refused(path, said, "uncompressed (1) and lossless JPEG (7)")


def test_a_cfa_repeat_other_than_2x2_is_refused(tmp_path, no_decoding):
    from test_cli_develop import write_foreign_dng

    path = write_foreign_dng(tmp_path / "xtrans.dng", repeat_dim=(6, 6))
    refused(path, "CFA pattern (6, 6) is not a 2×2 Bayer layout")


def test_cfa_colours_outside_rgb_are_refused(seeds, tmp_path, no_decoding):
    dng = Dng(seeds["strips"])
    dng.set("raw", CFA_PATTERN, int.from_bytes(bytes((0, 1, 7, 2)), "little"), type_=1, count=4)
    refused(dng.write(tmp_path / "cfa.dng"), "CFA colours [0, 1, 7, 2] are not R, G, B")


def test_a_cfa_pattern_of_three_colours_is_refused(seeds, tmp_path, no_decoding):
    dng = Dng(seeds["strips"])
    dng.set("raw", CFA_PATTERN, int.from_bytes(bytes((0, 1, 1, 0)), "little"), type_=1, count=3)
    refused(dng.write(tmp_path / "cfa3.dng"), "CFAPattern has 3 colours; a 2×2 Bayer layout has 4")


def test_black_level_count_must_match_its_repeat(seeds, tmp_path, no_decoding):
    # Repeat 2×2 but one value (the value field then holds the RATIONAL's offset).
    dng = Dng(seeds["strips"])
    offset = dng.value_bytes("raw", BLACK)
    path = dng.set("raw", BLACK, offset, type_=RATIONAL, count=1).write(tmp_path / "bl1.dng")
    refused(path, "BlackLevel with repeat (2, 2) and 1 values is not supported")
    dng = Dng(seeds["strips"]).set("raw", BLACK_REPEAT, 3 | 3 << 16, type_=SHORT, count=2)
    refused(dng.write(tmp_path / "bl3.dng"), "BlackLevelRepeatDim (3, 3) is not supported")


def test_a_black_level_repeat_of_one_row_is_expanded_to_the_cfa_cell(tmp_path):
    import tifffile

    path = tmp_path / "row.dng"
    tags = [
        (CFA_REPEAT, "H", 2, (2, 2), True),
        (CFA_PATTERN, "B", 4, (0, 1, 1, 2), True),  # RGGB
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (BLACK_REPEAT, "H", 2, (1, 2), True),  # one row, two columns
        (BLACK, "H", 2, (500, 520), True),
    ]
    mosaic = np.full((8, 8), 1000, np.uint16)
    tifffile.imwrite(path, mosaic, photometric=32803, extratags=tags)
    # DNG 1.4 ch. 4: row-major over the repeat, so every row repeats (500, 520).
    assert read_dng(path).black_level_dn == (500.0, 520.0, 500.0, 520.0)


def test_a_black_level_that_is_not_a_number_is_refused(seeds, tmp_path, no_decoding):
    dng = Dng(seeds["strips"])
    values = dng.value_bytes("raw", BLACK)
    struct.pack_into("<II", dng.data, values, 256, 0)  # 256/0
    refused(dng.write(tmp_path / "nan.dng"), "BlackLevel holds a value that is not a finite")


def test_an_active_area_outside_the_image_is_refused(seeds, tmp_path, no_decoding):
    dng = Dng(seeds["strips"])
    struct.pack_into("<4I", dng.data, dng.value_bytes("raw", ACTIVE_AREA), 0, 0, 96, 64)
    refused(dng.write(tmp_path / "area.dng"), "ActiveArea (0, 0, 96, 64) lies outside")


def test_a_default_crop_outside_the_active_area_is_refused(seeds, tmp_path, no_decoding):
    dng = Dng(seeds["strips"])
    struct.pack_into("<2I", dng.data, dng.value_bytes("raw", CROP_SIZE), 64, 48)
    message = refused(dng.write(tmp_path / "crop.dng"), "default crop 64×48 px")
    assert "outside the 64×48 px active area" in message


def test_an_opcode_list_longer_than_the_file_is_refused(seeds, tmp_path, no_decoding):
    dng = Dng(seeds["strips"])
    type_, _, offset = dng.field("raw", OPCODE_LIST_3)
    path = dng.set("raw", OPCODE_LIST_3, offset, type_=type_, count=2**31).write(tmp_path / "o.dng")
    refused(path, "damaged or truncated DNG", "raw IFD's OpcodeList3 cannot be read")


# --- IFD structure ------------------------------------------------------------------------------------


def test_a_subifd_pointing_back_at_ifd0_ends(seeds, tmp_path, no_decoding):
    path = Dng(seeds["strips"]).set("ifd0", SUB_IFDS, 8).write(tmp_path / "loop.dng")
    refused(path, "no raw image")


def test_an_ifd_chain_looping_on_itself_ends(seeds, tmp_path):
    # IFD0's next-IFD pointer back at IFD0: the reader before this check never returned.
    dng = Dng(seeds["strips"])
    struct.pack_into("<I", dng.data, dng.next_pointer, 8)
    with no_hang():
        info = read_dng(dng.write(tmp_path / "self.dng"))
    assert info.mosaic.shape == (48, 64)


def test_a_long_ifd_chain_is_cut_at_max_ifds(tmp_path, no_decoding):
    # 300 empty-ish IFDs (one tag each), the last pointing back at the first: a cycle longer
    # than tifffile's own 100-IFD loop check. No raw image: refused after MAX_IFDS.
    count = 300
    data = bytearray(b"II*\0" + struct.pack("<I", 8))
    for i in range(count):
        nxt = 8 + 18 * (i + 1) if i + 1 < count else 8
        data += struct.pack("<H", 1) + struct.pack("<HHII", 50706, 1, 4, 0x00000401)
        data += struct.pack("<I", nxt)
    path = tmp_path / "chain.dng"
    path.write_bytes(bytes(data))
    with no_hang():
        refused(path, "no raw image")


# --- the preview -------------------------------------------------------------------------------------


def test_a_preview_over_the_cap_is_skipped_not_decoded(seeds, tmp_path, monkeypatch):
    import tifffile

    path = tmp_path / "p.dng"
    path.write_bytes(seeds["strips"])
    assert read_dng(path).preview.shape == (24, 32, 3)
    decoded = []
    original = tifffile.TiffPage.asarray

    def spy(self, *args, **kwargs):
        decoded.append(self.shape)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(tifffile.TiffPage, "asarray", spy)
    info = read_dng(path, max_preview_pixels=32 * 24 - 1)
    assert info.preview is None and info.mosaic.shape == (48, 64)
    assert decoded == [(48, 64)]  # the raw image only


def test_a_damaged_preview_does_not_make_the_raw_unreadable(seeds, tmp_path):
    dng = Dng(seeds["strips"]).set("ifd0", WIDTH, 60_000).set("ifd0", LENGTH, 60_000)
    info = read_dng(dng.write(tmp_path / "p.dng"))
    assert info.preview is None and info.mosaic.shape == (48, 64)


# --- what is and is not turned into UnreadableFile ---------------------------------------------------


def test_a_decoder_failure_becomes_unreadable_file_with_its_cause(seeds, tmp_path, monkeypatch):
    import tifffile

    def broken(self, *args, **kwargs):
        raise ValueError("corrupt data")

    path = tmp_path / "a.dng"
    path.write_bytes(seeds["tile"])
    monkeypatch.setattr(tifffile.TiffPage, "asarray", broken)
    with pytest.raises(UnreadableFile, match="decoding the raw image failed") as err:
        read_dng(path)
    assert isinstance(err.value.__cause__, ValueError)


@pytest.mark.parametrize("exc", [KeyboardInterrupt, MemoryError])
def test_interrupts_and_memory_errors_pass_through(seeds, tmp_path, monkeypatch, exc):
    import tifffile

    def raising(self, *args, **kwargs):
        raise exc()

    path = tmp_path / "a.dng"
    path.write_bytes(seeds["strips"])
    monkeypatch.setattr(tifffile.TiffPage, "asarray", raising)
    with pytest.raises(exc):
        read_dng(path)


def test_our_own_errors_are_not_hidden(seeds, tmp_path, monkeypatch):
    # A bug in the reader's own code must surface as itself, not as a "damaged file": here the
    # decoder breaks its contract (a list, not an array), so the reader's own shape check,
    # which runs outside the third-party scope, fails with the bug's own AttributeError.
    import tifffile

    def not_an_array(self, *args, **kwargs):
        return [[0]]

    path = tmp_path / "a.dng"
    path.write_bytes(seeds["strips"])
    monkeypatch.setattr(tifffile.TiffPage, "asarray", not_an_array)
    with pytest.raises(AttributeError, match="shape"):
        read_dng(path)


def test_the_seeds_read_unchanged(seeds, tmp_path):
    for name, data in seeds.items():
        path = tmp_path / f"{name}.dng"
        path.write_bytes(data)
        info = read_dng(path)
        assert info.mosaic.shape == (48, 64) and info.mosaic.dtype == np.uint16
        assert info.cfa_pattern in ("RGGB", "GRBG", "GBRG", "BGGR")
