"""A small, general TIFF writer: typed IFD entries, SubIFD / EXIF IFD trees, strip image data.

It knows nothing about DNG; :mod:`mountcam.dng.writer` builds DNG files out of it. What it does
follow is TIFF 6.0 (Adobe, 1992), section 2 "TIFF Structure":

- little-endian ("II") header, 8 bytes, pointing at the first IFD;
- each IFD is a 2-byte entry count, 12-byte entries **sorted ascending by tag**, and a 4-byte
  offset of the next IFD (0 for the last);
- an entry's value is stored in the entry's 4-byte value field when it fits (left-justified),
  otherwise elsewhere in the file at an offset given in that field;
- every offset is on a word boundary (we use 4-byte alignment, which is also a word boundary);
- field types 1-12 of section 2 plus type 13 (IFD) of TIFF Technical Note 1 / Adobe PageMaker
  6.0 TIFF Technical Notes.

Child IFDs (TIFF Technical Note 1 ``SubIFDs``, 330; EXIF 2.32 §4.6.3 ``ExifIFDPointer``, 34665;
``GPSInfoIFDPointer``, 34853) are attached with :meth:`Ifd.add_child`; the writer lays them out
and fills in their offsets. Image data are attached as strips with :meth:`Ifd.set_strips`; the
writer adds ``StripOffsets`` (273) and ``StripByteCounts`` (279) and streams the strips last, so
all metadata sit together at the start of the file. Tiled images (TIFF 6.0 §15) are attached
with :meth:`Ifd.set_tiles` instead: the writer adds ``TileWidth`` / ``TileLength`` (322, 323),
``TileOffsets`` (324) and ``TileByteCounts`` (325). An IFD holds strips or tiles, never both.

Files are limited to 4 GiB (classic TIFF offsets are 32-bit); BigTIFF is not written.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction
from typing import BinaryIO

import numpy as np

#: Offsets of IFDs, out-of-line values and strips are multiples of this (TIFF 6.0 needs 2).
ALIGN = 4
_MAX_OFFSET = 2**32 - 1

STRIP_OFFSETS = 273
STRIP_BYTE_COUNTS = 279
ROWS_PER_STRIP = 278
TILE_WIDTH = 322
TILE_LENGTH = 323
TILE_OFFSETS = 324
TILE_BYTE_COUNTS = 325
#: Tags the writer fills in from the attached strips or tiles.
_DATA_TAGS = (STRIP_OFFSETS, STRIP_BYTE_COUNTS, TILE_OFFSETS, TILE_BYTE_COUNTS)


class TiffType(IntEnum):
    """TIFF field types (TIFF 6.0 §2 "Types"; IFD from TIFF Technical Note 1)."""

    BYTE = 1
    ASCII = 2
    SHORT = 3
    LONG = 4
    RATIONAL = 5
    SBYTE = 6
    UNDEFINED = 7
    SSHORT = 8
    SLONG = 9
    SRATIONAL = 10
    FLOAT = 11
    DOUBLE = 12
    IFD = 13


#: Bytes per value of each type.
TYPE_SIZE = {
    TiffType.BYTE: 1,
    TiffType.ASCII: 1,
    TiffType.SHORT: 2,
    TiffType.LONG: 4,
    TiffType.RATIONAL: 8,
    TiffType.SBYTE: 1,
    TiffType.UNDEFINED: 1,
    TiffType.SSHORT: 2,
    TiffType.SLONG: 4,
    TiffType.SRATIONAL: 8,
    TiffType.FLOAT: 4,
    TiffType.DOUBLE: 8,
    TiffType.IFD: 4,
}

#: Little-endian numpy dtype of each plain numeric type.
_NUMPY_DTYPE = {
    TiffType.BYTE: "<u1",
    TiffType.UNDEFINED: "<u1",
    TiffType.SHORT: "<u2",
    TiffType.LONG: "<u4",
    TiffType.IFD: "<u4",
    TiffType.SBYTE: "<i1",
    TiffType.SSHORT: "<i2",
    TiffType.SLONG: "<i4",
    TiffType.FLOAT: "<f4",
    TiffType.DOUBLE: "<f8",
}


def to_fraction(value, *, signed: bool, max_denominator: int = 1_000_000) -> Fraction:
    """An exact fraction for a RATIONAL / SRATIONAL field, numerator and denominator in range.

    ``int`` and ``Fraction`` are taken as they are; a ``float`` becomes the closest fraction with
    denominator at most ``max_denominator`` (so 0.004 -> 1/250 and 2.0 -> 2/1 exactly).
    """
    limit = 2**31 - 1 if signed else 2**32 - 1
    if isinstance(value, int | np.integer):
        frac = Fraction(int(value))
    elif isinstance(value, Fraction):
        frac = value
    else:
        x = float(value)
        if not np.isfinite(x):
            raise ValueError(f"a rational TIFF value must be finite, got {value!r}")
        den_limit = max(1, min(max_denominator, int(limit / max(1.0, abs(x)))))
        frac = Fraction(x).limit_denominator(den_limit)
    if frac < 0 and not signed:
        raise ValueError(f"RATIONAL cannot hold the negative value {value!r} (use SRATIONAL)")
    if abs(frac.numerator) > limit or frac.denominator > limit:
        raise ValueError(f"{value!r} does not fit a 32-bit rational")
    return frac


def encode_value(type_: TiffType, value) -> tuple[int, bytes]:
    """Encode ``value`` as ``type_``; returns (count, little-endian bytes).

    ASCII takes a ``str`` (NUL-terminated here; non-ASCII characters become '?'); BYTE and
    UNDEFINED take ``bytes`` or integers; RATIONAL/SRATIONAL take ints, floats or Fractions
    (see :func:`to_fraction`); the other types take numbers. Scalars are count-1 arrays.
    """
    type_ = TiffType(type_)
    if type_ is TiffType.ASCII:
        if not isinstance(value, str):
            raise TypeError(f"ASCII field needs a str, got {type(value).__name__}")
        data = value.encode("ascii", errors="replace") + b"\0"
        return len(data), data
    if isinstance(value, bytes | bytearray) and type_ in (TiffType.BYTE, TiffType.UNDEFINED):
        return len(value), bytes(value)
    values = _as_list(value)
    if not values:
        raise ValueError("a TIFF field needs at least one value")
    if type_ in (TiffType.RATIONAL, TiffType.SRATIONAL):
        signed = type_ is TiffType.SRATIONAL
        fmt = "<ii" if signed else "<II"
        parts = []
        for v in values:
            f = to_fraction(v, signed=signed)
            parts.append(struct.pack(fmt, f.numerator, f.denominator))
        return len(values), b"".join(parts)
    dtype = np.dtype(_NUMPY_DTYPE[type_])
    src = np.asarray(values)
    arr = src.astype(dtype)
    if dtype.kind in "iu" and not np.array_equal(arr, src):
        raise ValueError(f"{value!r} does not fit TIFF type {type_.name}")
    return arr.size, arr.tobytes()


def _as_list(value) -> list:
    if isinstance(value, np.ndarray):
        return value.ravel().tolist() if value.dtype.kind in "iub" else list(value.ravel())
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return list(value)
    return [value]


@dataclass(frozen=True)
class Entry:
    """One IFD entry: tag, type, count and the encoded value bytes (``count * size`` long)."""

    tag: int
    type: TiffType
    count: int
    data: bytes


class Ifd:
    """An image file directory under construction: entries, optional strips, child IFDs."""

    def __init__(self) -> None:
        self.entries: dict[int, Entry] = {}
        self.strips: list[memoryview] = []
        #: (tile width, tile length) when ``strips`` holds tiles (TIFF 6.0 §15), else None.
        self.tile_size: tuple[int, int] | None = None
        self.children: dict[int, list[Ifd]] = {}

    def set(self, tag: int, type_: TiffType, value) -> None:
        """Set (or replace) tag ``tag`` to ``value`` stored as ``type_``."""
        if tag in _DATA_TAGS or tag in (TILE_WIDTH, TILE_LENGTH) or tag in self.children:
            raise ValueError(f"tag {tag} is filled in by the writer")
        count, data = encode_value(type_, value)
        self.entries[tag] = Entry(tag, TiffType(type_), count, data)

    def set_strips(self, strips: Sequence) -> None:
        """Attach image data as strips (buffers: bytes, numpy arrays, memoryviews)."""
        self.strips = [_bytes_view(s) for s in strips]
        self.tile_size = None
        for tag in (TILE_WIDTH, TILE_LENGTH):
            self.entries.pop(tag, None)

    def set_tiles(self, tiles: Sequence, tile_width: int, tile_length: int) -> None:
        """Attach image data as tiles in row-major tile order (TIFF 6.0 §15).

        Tile sides must be multiples of 16; tiles at the right and bottom edges are full size.
        Replaces any strips (and the RowsPerStrip tag that belongs to them).
        """
        if tile_width % 16 or tile_length % 16 or tile_width <= 0 or tile_length <= 0:
            raise ValueError(f"tile {tile_width}×{tile_length}: sides must be multiples of 16")
        self.strips = [_bytes_view(t) for t in tiles]
        self.tile_size = (tile_width, tile_length)
        self.entries.pop(ROWS_PER_STRIP, None)
        self.entries[TILE_WIDTH] = Entry(
            TILE_WIDTH, TiffType.LONG, 1, encode_value(TiffType.LONG, tile_width)[1]
        )
        self.entries[TILE_LENGTH] = Entry(
            TILE_LENGTH, TiffType.LONG, 1, encode_value(TiffType.LONG, tile_length)[1]
        )

    def add_child(self, tag: int, child: Ifd) -> None:
        """Attach ``child`` under pointer tag ``tag`` (330 SubIFDs, 34665 EXIF, 34853 GPS)."""
        self.entries.pop(tag, None)
        self.children.setdefault(tag, []).append(child)


def _bytes_view(buf) -> memoryview:
    """``buf`` as a flat byte view, without a copy when it is contiguous (a view of an array).

    Byte views pass straight through: the lossless JPEG tiles of a 50 MP frame are 768 of them,
    and wrapping each in a numpy array first cost ~6 ms per file.
    """
    if isinstance(buf, memoryview) and buf.ndim == 1 and buf.format == "B" and buf.c_contiguous:
        return buf
    return memoryview(np.ascontiguousarray(buf)).cast("B")


def _align(pos: int) -> int:
    return -(-pos // ALIGN) * ALIGN


def _walk(ifd: Ifd) -> list[Ifd]:
    order = [ifd]
    for tag in sorted(ifd.children):
        for child in ifd.children[tag]:
            order.extend(_walk(child))
    return order


def write_tiff(stream: BinaryIO, chain: Sequence[Ifd]) -> int:
    """Write a little-endian TIFF whose top-level IFD chain is ``chain``; returns bytes written.

    Layout: header, then every IFD (depth-first: an IFD, then its children in tag order) each
    followed by its out-of-line values, then all strips. Two passes: sizes do not depend on
    offsets, so the layout is computed first and the offsets filled in before writing.
    """
    if not chain:
        raise ValueError("a TIFF needs at least one IFD")
    order = [ifd for top in chain for ifd in _walk(top)]
    if len({id(i) for i in order}) != len(order):
        raise ValueError("an IFD appears twice in the tree")

    # Pass 1: placeholders of the right size for every offset the writer fills in, then layout.
    for ifd in order:
        if ifd.strips:
            n = len(ifd.strips)
            counts = [len(s) for s in ifd.strips]
            offsets_tag, counts_tag = _data_tags(ifd)
            ifd.entries[offsets_tag] = Entry(offsets_tag, TiffType.LONG, n, bytes(4 * n))
            ifd.entries[counts_tag] = Entry(
                counts_tag, TiffType.LONG, n, encode_value(TiffType.LONG, counts)[1]
            )
        for tag, kids in ifd.children.items():
            ifd.entries[tag] = Entry(tag, TiffType.LONG, len(kids), bytes(4 * len(kids)))

    pos = 8
    ifd_offset: dict[int, int] = {}
    value_offset: dict[tuple[int, int], int] = {}
    for ifd in order:
        pos = _align(pos)
        ifd_offset[id(ifd)] = pos
        pos += 2 + 12 * len(ifd.entries) + 4
        for tag in sorted(ifd.entries):
            if len(ifd.entries[tag].data) > 4:
                pos = _align(pos)
                value_offset[(id(ifd), tag)] = pos
                pos += len(ifd.entries[tag].data)
    strip_offset: dict[int, list[int]] = {}
    for ifd in order:
        offsets = []
        for strip in ifd.strips:
            pos = _align(pos)
            offsets.append(pos)
            pos += len(strip)
        strip_offset[id(ifd)] = offsets
    if pos > _MAX_OFFSET:
        raise ValueError(f"TIFF would be {pos} bytes; classic TIFF is limited to 4 GiB")

    # Pass 2: fill in the offsets.
    for ifd in order:
        if ifd.strips:
            data = encode_value(TiffType.LONG, strip_offset[id(ifd)])[1]
            offsets_tag = _data_tags(ifd)[0]
            ifd.entries[offsets_tag] = Entry(offsets_tag, TiffType.LONG, len(ifd.strips), data)
        for tag, kids in ifd.children.items():
            data = encode_value(TiffType.LONG, [ifd_offset[id(k)] for k in kids])[1]
            ifd.entries[tag] = Entry(tag, TiffType.LONG, len(kids), data)

    out = _Out(stream)
    out.write(b"II" + struct.pack("<HI", 42, ifd_offset[id(chain[0])]))
    next_top = {id(a): ifd_offset[id(b)] for a, b in zip(chain, chain[1:], strict=False)}
    for ifd in order:
        out.pad_to(ifd_offset[id(ifd)])
        tags = sorted(ifd.entries)
        block = [struct.pack("<H", len(tags))]
        for tag in tags:
            e = ifd.entries[tag]
            field = e.data if len(e.data) <= 4 else struct.pack("<I", value_offset[(id(ifd), tag)])
            block.append(struct.pack("<HHI", tag, e.type, e.count) + field.ljust(4, b"\0"))
        block.append(struct.pack("<I", next_top.get(id(ifd), 0)))
        out.write(b"".join(block))
        for tag in tags:
            if (id(ifd), tag) in value_offset:
                out.pad_to(value_offset[(id(ifd), tag)])
                out.write(ifd.entries[tag].data)
    for ifd in order:
        for offset, strip in zip(strip_offset[id(ifd)], ifd.strips, strict=True):
            out.pad_to(offset)
            out.write(strip)
    return out.pos


def _data_tags(ifd: Ifd) -> tuple[int, int]:
    """(offsets tag, byte counts tag) of the IFD's image data: tiles or strips."""
    if ifd.tile_size is not None:
        return TILE_OFFSETS, TILE_BYTE_COUNTS
    return STRIP_OFFSETS, STRIP_BYTE_COUNTS


class _Out:
    """A stream that tracks its position and pads with zeros up to a given offset."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.pos = 0

    def write(self, data) -> None:
        self.stream.write(data)
        self.pos += len(data)

    def pad_to(self, offset: int) -> None:
        if offset < self.pos:
            raise AssertionError(f"TIFF layout overlap at {offset} (written {self.pos})")
        self.write(bytes(offset - self.pos))
