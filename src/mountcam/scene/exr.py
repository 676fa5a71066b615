"""A small OpenEXR reader and writer: single-part scanline files, NONE / RLE / ZIPS / ZIP.

The OpenCV wheels mountcam depends on are often built without OpenEXR, so scene loading reads
the common subset itself: single-part scanline images (not tiled, deep or multi-part) with HALF,
FLOAT or UINT channels at full resolution, compressed with NONE, RLE, ZIPS or ZIP (what most
applications write by default besides PIZ). Other compressions (PIZ, PXR24, B44, DWA) are read
through OpenCV when its build has OpenEXR, else refused with a message that says how to
re-save the file. Layout follows "OpenEXR File Layout" (openexr.com, docs/OpenEXRFileLayout):
magic, version, header attributes, line offset table, chunks of ``y, size, data`` where the
data holds, per scanline, each channel (alphabetical order) in turn, little-endian.

Pixels are returned in the data window (the display window is ignored). Colour channels are
``R, G, B`` (or a single ``Y``), un-prefixed; they are taken as linear.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"\x76\x2f\x31\x01"
_COMPRESSIONS = {0: "NONE", 1: "RLE", 2: "ZIPS", 3: "ZIP", 4: "PIZ", 5: "PXR24", 6: "B44",
                 7: "B44A", 8: "DWAA", 9: "DWAB"}  # fmt: skip
_LINES_PER_CHUNK = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256}
_DTYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}


class ExrError(ValueError):
    """A file that is not a readable OpenEXR image (message says why)."""


@dataclass(frozen=True)
class Channel:
    name: str
    pixel_type: int  # 0 UINT, 1 HALF, 2 FLOAT
    x_sampling: int
    y_sampling: int


@dataclass(frozen=True)
class ExrHeader:
    channels: tuple[Channel, ...]
    compression: int
    data_window: tuple[int, int, int, int]  # x_min, y_min, x_max, y_max (inclusive)
    offsets_at: int  # byte position of the line offset table

    @property
    def width(self) -> int:
        return self.data_window[2] - self.data_window[0] + 1

    @property
    def height(self) -> int:
        return self.data_window[3] - self.data_window[1] + 1

    @property
    def compression_name(self) -> str:
        return _COMPRESSIONS.get(self.compression, f"#{self.compression}")


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.find(b"\x00", pos)
    if end < 0 or end - pos > 255:
        raise ExrError("the OpenEXR header is truncated or damaged")
    return data[pos:end].decode("latin-1"), end + 1


def read_header(data: bytes) -> ExrHeader:
    """Parse the header of an OpenEXR file held in ``data``."""
    if len(data) < 8 or data[:4] != MAGIC:
        raise ExrError("not an OpenEXR file")
    flags = struct.unpack("<I", data[4:8])[0]
    if flags & 0xFF != 2:
        raise ExrError(f"OpenEXR version {flags & 0xFF} is not supported")
    if flags & 0x200:
        raise ExrError("tiled OpenEXR files are not supported; save it as scanline (or float TIFF)")
    if flags & 0x1800:
        raise ExrError("deep or multi-part OpenEXR files are not supported; save a single part")
    pos = 8
    attributes: dict[str, tuple[str, bytes]] = {}
    while True:
        if pos >= len(data):
            raise ExrError("the OpenEXR header is truncated")
        name, pos = _cstring(data, pos)
        if not name:
            break
        kind, pos = _cstring(data, pos)
        if pos + 4 > len(data):
            raise ExrError("the OpenEXR header is truncated")
        (size,) = struct.unpack("<i", data[pos : pos + 4])
        pos += 4
        if size < 0 or pos + size > len(data):
            raise ExrError("the OpenEXR header is truncated or damaged")
        attributes[name] = (kind, data[pos : pos + size])
        pos += size
    for required in ("channels", "compression", "dataWindow"):
        if required not in attributes:
            raise ExrError(f"the OpenEXR header has no '{required}'")
    channels = []
    raw = attributes["channels"][1]
    cpos = 0
    while cpos < len(raw) and raw[cpos] != 0:
        cname, cpos = _cstring(raw, cpos)
        if cpos + 16 > len(raw):
            raise ExrError("the OpenEXR channel list is damaged")
        ptype, _linear, xs, ys = struct.unpack("<iB3xii", raw[cpos : cpos + 16])
        cpos += 16
        if ptype not in _DTYPES:
            raise ExrError(f"channel '{cname}' has an unknown pixel type {ptype}")
        channels.append(Channel(cname, ptype, xs, ys))
    compression = attributes["compression"][1][0]
    window = struct.unpack("<4i", attributes["dataWindow"][1][:16])
    if window[2] < window[0] or window[3] < window[1]:
        raise ExrError("the OpenEXR data window is empty")
    return ExrHeader(tuple(channels), compression, window, pos)


def _undo_predictor_and_interleave(raw: bytes) -> bytes:
    # ZIP / RLE post-processing (OpenEXR ImfZip.cpp): byte deltas +128, then the two halves of
    # the buffer hold the even and the odd bytes.
    t = np.frombuffer(raw, dtype=np.uint8).astype(np.int64)
    if t.size == 0:
        return raw
    t[1:] -= 128
    t = (np.cumsum(t) & 0xFF).astype(np.uint8)
    out = np.empty_like(t)
    half = (t.size + 1) // 2
    out[0::2] = t[:half]
    out[1::2] = t[half:]
    return out.tobytes()


def _apply_predictor_and_interleave(raw: bytes) -> bytes:
    t = np.frombuffer(raw, dtype=np.uint8)
    if t.size == 0:
        return raw
    split = np.concatenate([t[0::2], t[1::2]]).astype(np.int64)
    delta = split.copy()
    delta[1:] = (split[1:] - split[:-1] + 128) & 0xFF
    return delta.astype(np.uint8).tobytes()


def _rle_decompress(raw: bytes, expected: int) -> bytes:
    out = bytearray()
    pos = 0
    while pos < len(raw) and len(out) < expected:
        count = struct.unpack("b", raw[pos : pos + 1])[0]
        pos += 1
        if count < 0:
            out += raw[pos : pos - count]
            pos -= count
        else:
            out += raw[pos : pos + 1] * (count + 1)
            pos += 1
    return bytes(out)


def decode(data: bytes, header: ExrHeader | None = None) -> np.ndarray:
    """Decode an OpenEXR file to (H, W, 3) float32 linear RGB (or (H, W, 1) for ``Y`` only)."""
    header = header or read_header(data)
    names = [c.name for c in header.channels]
    wanted = ["R", "G", "B"] if {"R", "G", "B"} <= set(names) else ["Y"] if "Y" in names else None
    if wanted is None:
        raise ExrError(f"no R, G, B or Y channels (it has {', '.join(names) or 'none'})")
    if any(c.x_sampling != 1 or c.y_sampling != 1 for c in header.channels):
        raise ExrError("sub-sampled OpenEXR channels are not supported")
    if header.compression not in (0, 1, 2, 3):
        return _decode_with_opencv(data, header)

    width, height = header.width, header.height
    y_min = header.data_window[1]
    lines = _LINES_PER_CHUNK[header.compression]
    n_chunks = -(-height // lines)
    table_end = header.offsets_at + 8 * n_chunks
    if table_end > len(data):
        raise ExrError("the OpenEXR file is truncated (no line offset table)")
    offsets = np.frombuffer(data[header.offsets_at : table_end], dtype="<u8")
    line_bytes = sum(width * _DTYPES[c.pixel_type].itemsize for c in header.channels)
    planes = {c.name: np.zeros((height, width), np.float32) for c in header.channels}
    for offset in offsets.tolist():
        if offset + 8 > len(data):
            raise ExrError("the OpenEXR file is truncated")
        y, size = struct.unpack("<ii", data[offset : offset + 8])
        first = y - y_min
        if size < 0 or first < 0 or first >= height or offset + 8 + size > len(data):
            raise ExrError("the OpenEXR file is truncated or damaged")
        count = min(lines, height - first)
        expected = count * line_bytes
        chunk = data[offset + 8 : offset + 8 + size]
        if header.compression != 0 and size < expected:
            try:
                if header.compression == 1:
                    chunk = _rle_decompress(chunk, expected)
                else:
                    chunk = zlib.decompress(chunk)
            except zlib.error as exc:
                raise ExrError(f"a compressed OpenEXR chunk is damaged ({exc})") from None
            chunk = _undo_predictor_and_interleave(chunk)
        if len(chunk) != expected:
            raise ExrError("an OpenEXR chunk has the wrong size (truncated or damaged)")
        pos = 0
        for row in range(first, first + count):
            for channel in header.channels:
                dtype = _DTYPES[channel.pixel_type]
                n = width * dtype.itemsize
                planes[channel.name][row] = np.frombuffer(chunk[pos : pos + n], dtype=dtype)
                pos += n
    return np.stack([planes[name] for name in wanted], axis=-1)


def _decode_with_opencv(data: bytes, header: ExrHeader) -> np.ndarray:
    # OpenCV reads this variable lazily, on the first EXR it decodes, so setting it here works
    # even if cv2 was imported earlier.
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    import cv2

    pixels = None
    if "OpenEXR:                     NO" not in cv2.getBuildInformation():
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ExrError(
            f"OpenEXR compression {header.compression_name} is not supported here; re-save "
            "with ZIP or no compression, or as a 32-bit float TIFF"
        )
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.ndim == 3 and pixels.shape[2] >= 3:
        return pixels[..., 2::-1].copy()
    return pixels.reshape(pixels.shape[0], pixels.shape[1], 1)


def write_exr(
    path: str | os.PathLike,
    rgb: np.ndarray,
    *,
    compression: str = "ZIP",
    pixel_type: str = "HALF",
) -> None:
    """Write (H, W, 3) linear RGB as a scanline OpenEXR (NONE, ZIPS or ZIP; HALF or FLOAT).

    Written to a temporary name and renamed, so a failure leaves no partial file.
    """
    pixels = np.asarray(rgb, dtype=np.float32)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"write_exr wants (H, W, 3); got {pixels.shape}")
    codes = {"NONE": 0, "ZIPS": 2, "ZIP": 3}
    ptypes = {"HALF": 1, "FLOAT": 2}
    if compression.upper() not in codes or pixel_type.upper() not in ptypes:
        raise ValueError("compression must be NONE, ZIPS or ZIP; pixel_type HALF or FLOAT")
    comp, ptype = codes[compression.upper()], ptypes[pixel_type.upper()]
    dtype = _DTYPES[ptype]
    height, width = pixels.shape[:2]

    def attribute(name: str, kind: str, value: bytes) -> bytes:
        return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value

    chlist = b"".join(c.encode() + b"\0" + struct.pack("<iB3xii", ptype, 0, 1, 1) for c in "BGR")
    window = struct.pack("<4i", 0, 0, width - 1, height - 1)
    header = (
        MAGIC
        + struct.pack("<I", 2)
        + attribute("channels", "chlist", chlist + b"\0")
        + attribute("compression", "compression", bytes([comp]))
        + attribute("dataWindow", "box2i", window)
        + attribute("displayWindow", "box2i", window)
        + attribute("lineOrder", "lineOrder", b"\0")
        + attribute("pixelAspectRatio", "float", struct.pack("<f", 1.0))
        + attribute("screenWindowCenter", "v2f", struct.pack("<ff", 0.0, 0.0))
        + attribute("screenWindowWidth", "float", struct.pack("<f", 1.0))
        + b"\0"
    )
    lines = _LINES_PER_CHUNK[comp]
    n_chunks = -(-height // lines)
    # Per scanline: B, G, R planes (alphabetical channel order).
    planar = np.ascontiguousarray(pixels[:, :, ::-1].transpose(0, 2, 1)).astype(dtype)
    chunks = []
    for k in range(n_chunks):
        raw = planar[k * lines : (k + 1) * lines].tobytes()
        if comp != 0:
            packed = zlib.compress(_apply_predictor_and_interleave(raw), 6)
            if len(packed) < len(raw):
                raw = packed
        chunks.append(struct.pack("<ii", k * lines, len(raw)) + raw)
    offsets = []
    position = len(header) + 8 * n_chunks
    for chunk in chunks:
        offsets.append(position)
        position += len(chunk)
    target = Path(path)
    tmp = target.with_name(target.name + ".partial")
    try:
        with open(tmp, "wb") as handle:
            handle.write(header)
            handle.write(np.asarray(offsets, dtype="<u8").tobytes())
            for chunk in chunks:
                handle.write(chunk)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
