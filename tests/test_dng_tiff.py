"""The general TIFF writer under the DNG writer: types, inline values, layout, child IFDs."""

from __future__ import annotations

import io
import struct
from fractions import Fraction

import numpy as np
import pytest
import tifffile

from mountcam.dng.tiff import Ifd, TiffType, encode_value, write_tiff

T = TiffType


def _walk_ifds(data: bytes):
    """Yield (offset, [(tag, type, count, value_field)]) for the top-level chain, by hand."""
    assert data[:4] == b"II*\0"
    (offset,) = struct.unpack_from("<I", data, 4)
    while offset:
        (n,) = struct.unpack_from("<H", data, offset)
        entries = [struct.unpack_from("<HHI4s", data, offset + 2 + 12 * i) for i in range(n)]
        yield offset, entries
        (offset,) = struct.unpack_from("<I", data, offset + 2 + 12 * n)


def test_encode_value_types_and_ranges():
    assert encode_value(T.ASCII, "ab") == (3, b"ab\0")
    assert encode_value(T.SHORT, (1, 2)) == (2, b"\x01\x00\x02\x00")
    assert encode_value(T.RATIONAL, 0.004) == (1, struct.pack("<II", 1, 250))
    assert encode_value(T.RATIONAL, 2.0) == (1, struct.pack("<II", 2, 1))
    assert encode_value(T.SRATIONAL, Fraction(-3, 7)) == (1, struct.pack("<ii", -3, 7))
    assert encode_value(T.UNDEFINED, b"0231") == (4, b"0231")
    assert encode_value(T.DOUBLE, 1.5) == (1, struct.pack("<d", 1.5))
    with pytest.raises(ValueError):
        encode_value(T.SHORT, 70000)
    with pytest.raises(ValueError):
        encode_value(T.SHORT, 1.5)
    with pytest.raises(ValueError):
        encode_value(T.RATIONAL, -1)
    with pytest.raises(ValueError):
        encode_value(T.SRATIONAL, float("nan"))


def test_every_type_round_trips_through_tifffile_with_sorted_aligned_entries():
    values = {
        65000: (T.BYTE, bytes([1, 2, 3, 4, 5])),
        65001: (T.ASCII, "hello"),
        65002: (T.SHORT, [7]),
        65003: (T.LONG, [1, 2, 3]),
        65004: (T.RATIONAL, [Fraction(1, 3), Fraction(5, 2)]),
        65005: (T.SBYTE, [-1, 2]),
        65006: (T.UNDEFINED, b"xy"),
        65007: (T.SSHORT, [-5, 6, -7]),
        65008: (T.SLONG, [-100000]),
        65009: (T.SRATIONAL, [Fraction(-1, 3)]),
        65010: (T.FLOAT, [0.5, 0.25]),
        65011: (T.DOUBLE, [np.pi]),
    }
    image = np.arange(12 * 10, dtype="<u2").reshape(12, 10)
    ifd0 = Ifd()
    # Insert in reverse tag order: the writer must sort.
    for tag, (type_, value) in sorted(values.items(), reverse=True):
        ifd0.set(tag, type_, value)
    for tag, type_, value in [
        (256, T.LONG, 10),
        (257, T.LONG, 12),
        (258, T.SHORT, 16),
        (259, T.SHORT, 1),
        (262, T.SHORT, 1),
        (277, T.SHORT, 1),
        (278, T.LONG, 5),
    ]:
        ifd0.set(tag, type_, value)
    ifd0.set_strips([image[0:5], image[5:10], image[10:12]])
    subs = []
    for i in range(2):
        sub = Ifd()
        sub.set(65100, T.ASCII, f"sub {i}")
        ifd0.add_child(330, sub)
        subs.append(sub)
    exif = Ifd()
    exif.set(33434, T.RATIONAL, Fraction(1, 250))
    ifd0.add_child(34665, exif)

    buf = io.BytesIO()
    size = write_tiff(buf, [ifd0])
    data = buf.getvalue()
    assert size == len(data)

    ((offset, entries),) = list(_walk_ifds(data))
    assert offset % 2 == 0
    tags = [e[0] for e in entries]
    assert tags == sorted(tags) and len(set(tags)) == len(tags)
    for tag, type_, count, field in entries:
        nbytes = (
            count
            * {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}[type_]
        )
        if nbytes > 4:
            (value_offset,) = struct.unpack("<I", field)
            assert value_offset % 2 == 0, f"tag {tag} value at odd offset"
            assert value_offset + nbytes <= len(data)
    inline = {e[0]: e[3] for e in entries}
    assert inline[65002] == b"\x07\x00\x00\x00"  # SHORT 7, inline, left-justified
    assert inline[65005] == b"\xff\x02\x00\x00"  # 2 SBYTEs inline

    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages[0]
        np.testing.assert_array_equal(page.asarray(), image)
        t = page.tags
        assert t[65000].value == bytes([1, 2, 3, 4, 5])
        assert t[65001].value == "hello"
        assert t[65002].value == 7
        assert t[65003].value == (1, 2, 3)
        assert t[65004].value == (1, 3, 5, 2)
        assert t[65005].value == (-1, 2)
        assert t[65007].value == (-5, 6, -7)
        assert t[65008].value == -100000
        assert t[65009].value == (-1, 3)
        assert t[65010].value == (0.5, 0.25)
        assert t[65011].value == pytest.approx(np.pi)
        assert {int(tag.dtype) for tag in t.values() if tag.code >= 65000} == set(range(1, 13))
        assert [p.tags[65100].value for p in page.pages] == ["sub 0", "sub 1"]
        assert t[34665].value["ExposureTime"] == (1, 250)


def test_top_level_chain_and_strip_tags_are_writer_owned():
    a, b = Ifd(), Ifd()
    a.set(305, T.ASCII, "a")
    b.set(305, T.ASCII, "b")
    buf = io.BytesIO()
    write_tiff(buf, [a, b])
    assert [e[3] for _, es in _walk_ifds(buf.getvalue()) for e in es] == [b"a\0\0\0", b"b\0\0\0"]
    with pytest.raises(ValueError):
        a.set(273, T.LONG, 0)
    with pytest.raises(ValueError):
        write_tiff(io.BytesIO(), [])
