"""Read the parts of a DNG that mountcam needs: the CFA mosaic and how to interpret it.

Built on tifffile. It finds the raw image the way DNG 1.4 §2 describes (the IFD, IFD0 or one of
its SubIFDs, with NewSubfileType 0 and PhotometricInterpretation 32803 = CFA), reads its 2×2 CFA
layout, black and white levels and default crop, the colour tags of IFD0 (ColorMatrix1,
CalibrationIlluminant1, AsShotNeutral) and the basic Exif 2.32 capture fields. Anything that is
not such a file raises :class:`~mountcam.errors.UnreadableFile` with the reason.

A damaged or hostile file must not hang the reader nor make it allocate without bound, so the
work is done in three steps (see docs/dng-reading.md):

1. **extract**: tifffile parses the IFDs we look at (at most :data:`MAX_IFDS`, each offset once)
   and we copy the tag values we use into plain Python values;
2. **check**: our own code checks those values (image and tile geometry against
   :data:`MAX_RAW_PIXELS`, strips and tiles inside the file and large enough for the pixels they
   claim, the compression, the CFA and black-level layout, the lossless JPEG frame header of
   every tile) before anything is decoded;
3. **decode**: only then does tifffile/imagecodecs decode the pixels.

A failure inside tifffile or imagecodecs in steps 1 and 3 is bad input by construction (the
values were checked) and becomes :class:`~mountcam.errors.UnreadableFile` naming the file, the
step and the cause, chained; our own steps raise it only from explicit checks.
"""

from __future__ import annotations

import logging
import math
import mmap
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np

from mountcam.dng.tags import CFA_COLOR, PHOTOMETRIC, TAG_IDS
from mountcam.errors import UnreadableFile

_COLOR_LETTER = {v: k for k, v in CFA_COLOR.items()}

#: Largest raw image read, pixels: 2**28 (268 MP). The IMX989 full readout is 8192×6144
#: (50 MP) and the largest sensors in cameras today are about 200 MP (16384×12288 = 201 MP);
#: a file claiming more is refused before anything is allocated (the mosaic of a 2**28 px image
#: is 512 MiB of uint16).
MAX_RAW_PIXELS = 1 << 28
#: Largest preview (IFD0 RGB image) decoded, pixels; a larger one is skipped, not decoded.
MAX_PREVIEW_PIXELS = 1 << 24
#: IFDs examined when looking for the raw image (IFD0's chain and their SubIFDs together). A
#: DNG has a handful; the cap bounds the work on a file whose IFD pointers form a long chain.
MAX_IFDS = 64

# TIFF 6.0 tags the reader needs that the writer's table (dng.tags) does not hold.
_FILL_ORDER = 266  # §8: 1 = most significant bit first
_PREDICTOR = 317  # §14: 1 = none
_TILE_WIDTH, _TILE_LENGTH, _TILE_OFFSETS, _TILE_BYTE_COUNTS = 322, 323, 324, 325  # §15
_SAMPLE_FORMAT = 339  # §19: 1 = unsigned integer
_LINEARIZATION_TABLE = 50712  # DNG 1.4 ch. 4: raw value -> linear value (SHORT)
_EXTRA_TAGS = (_FILL_ORDER, _PREDICTOR, _TILE_WIDTH, _TILE_LENGTH, _TILE_OFFSETS)
#: The tags of IFD0 and the raw IFD that the reader uses (the Exif IFD comes whole).
_WANTED = frozenset(
    TAG_IDS[name]
    for name in (
        "NewSubfileType", "ImageWidth", "ImageLength", "BitsPerSample", "Compression",
        "PhotometricInterpretation", "StripOffsets", "SamplesPerPixel", "RowsPerStrip",
        "StripByteCounts", "PlanarConfiguration", "SubIFDs", "ExifIFD", "Make", "Model",
        "Software", "Artist", "Copyright", "UniqueCameraModel", "DNGVersion",
        "CFARepeatPatternDim", "CFAPattern", "CFAPlaneColor", "CFALayout",
        "BlackLevelRepeatDim", "BlackLevel", "WhiteLevel", "ActiveArea", "DefaultCropOrigin",
        "DefaultCropSize", "ColorMatrix1", "ColorMatrix2", "CalibrationIlluminant1",
        "CalibrationIlluminant2", "ForwardMatrix1", "ForwardMatrix2", "AsShotNeutral",
        "BaselineExposure", "NoiseProfile", "OpcodeList1", "OpcodeList2", "OpcodeList3",
        "Orientation",
    )
) | {*_EXTRA_TAGS, _TILE_BYTE_COUNTS, _SAMPLE_FORMAT, _LINEARIZATION_TABLE}  # fmt: skip
_TAG_NAMES = {code: name for name, code in TAG_IDS.items()} | {
    _FILL_ORDER: "FillOrder",
    _PREDICTOR: "Predictor",
    _TILE_WIDTH: "TileWidth",
    _TILE_LENGTH: "TileLength",
    _TILE_OFFSETS: "TileOffsets",
    _TILE_BYTE_COUNTS: "TileByteCounts",
    _SAMPLE_FORMAT: "SampleFormat",
    _LINEARIZATION_TABLE: "LinearizationTable",
}

#: Tags whose loss to damage only loses a description (text, the Exif IFD); any other tag
#: the reader uses must be readable where the IFD lists it.
_DESCRIPTIVE = frozenset(
    TAG_IDS[name]
    for name in (
        "Make", "Model", "Software", "Artist", "Copyright", "UniqueCameraModel", "ExifIFD",
        "Orientation",
    )
)  # fmt: skip

# TIFF field types (TIFF 6.0 §2, plus LONG8 / SLONG8 / IFD8 of BigTIFF).
_INTEGER_TYPES = frozenset({1, 3, 4, 6, 7, 8, 9, 13, 16, 17, 18})
_RATIONAL_TYPES = frozenset({5, 10})
_FLOAT_TYPES = frozenset({11, 12})
_BYTE_TYPES = frozenset({1, 7})
#: SHORT, LONG and LONG8: the types TIFF 6.0 §§ 8, 15 (and BigTIFF) give the layout tags.
_SHORT_LONG = frozenset({3, 4, 16})
_LAYOUT_TAGS = {
    TAG_IDS["ImageWidth"]: "ImageWidth",
    TAG_IDS["ImageLength"]: "ImageLength",
    TAG_IDS["BitsPerSample"]: "BitsPerSample",
    TAG_IDS["Compression"]: "Compression",
    TAG_IDS["SamplesPerPixel"]: "SamplesPerPixel",
    TAG_IDS["RowsPerStrip"]: "RowsPerStrip",
    TAG_IDS["StripOffsets"]: "StripOffsets",
    TAG_IDS["StripByteCounts"]: "StripByteCounts",
    _TILE_WIDTH: "TileWidth",
    _TILE_LENGTH: "TileLength",
    _TILE_OFFSETS: "TileOffsets",
    _TILE_BYTE_COUNTS: "TileByteCounts",
}

#: Compression values of the raw IFD we decode (DNG 1.4 §3): none, and lossless Huffman JPEG;
#: a LinearRaw image also as lossy (baseline DCT) JPEG, 34892 (DNG 1.4 §3).
_COMPRESSIONS = {1: "uncompressed", 7: "lossless JPEG"}
_LINEAR_COMPRESSIONS = {**_COMPRESSIONS, 34892: "lossy JPEG"}
_BASELINE_SOF = frozenset({0xC0, 0xC1})  # T.81 baseline and extended sequential DCT, Huffman
#: Compression values we do not decode, by name, so that the refusal says what the file holds
#: (TIFF 6.0 §3 and the TIFF tag registry; DNG 1.4 §3 for 34892; DNG 1.7 for 52546; GoPro's
#: GPR format, a DNG with VC-5 data, for 9).
_COMPRESSION_NAMES = {
    2: "CCITT Group 3 RLE", 3: "CCITT Group 4", 4: "CCITT T.6", 5: "LZW", 6: "old-style JPEG",
    8: "Deflate", 9: "VC-5 (GoPro GPR)", 32773: "PackBits", 32946: "Deflate",
    34712: "JPEG 2000", 34892: "lossy JPEG (DNG 1.4)", 34925: "LZMA", 50000: "Zstandard",
    52546: "JPEG XL",
}  # fmt: skip
# JPEG markers (ITU-T T.81 Table B.1): start of frame, those that may precede it, and SOF3.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_SOF3 = 0xC3


@dataclass
class DngInfo:
    """What :func:`read_dng` found. Geometry follows the DNG tags' own conventions:
    ``default_crop_origin`` is (x, y), ``default_crop_size`` is (width, height), both relative to
    ``active_area`` (top, left, bottom, right)."""

    path: Path
    #: The raw image after the LinearizationTable (if any), uint16: the CFA mosaic (H, W), or
    #: (H, W, 3) for a LinearRaw image (``linear_raw``).
    mosaic: np.ndarray
    cfa_pattern: str
    #: Four levels, row-major over the 2×2 CFA cell; three (one per plane) for LinearRaw.
    black_level_dn: tuple[float, ...]
    white_level_dn: int
    as_shot_neutral: tuple[float, float, float] | None
    color_matrix_1: np.ndarray | None
    calibration_illuminant_1: int | None
    default_crop_origin: tuple[float, float]
    default_crop_size: tuple[float, float]
    active_area: tuple[int, int, int, int]
    dng_version: tuple[int, ...]
    make: str | None = None
    model: str | None = None
    unique_camera_model: str | None = None
    software: str | None = None
    exposure_time: Fraction | None = None
    f_number: float | None = None
    iso: int | None = None
    focal_mm: float | None = None
    datetime_original: datetime | None = None
    lens_model: str | None = None
    #: Second calibration of a dual-illuminant profile, and the forward matrices (white-
    #: balanced camera RGB -> XYZ D50), each 3×3 or None (DNG 1.4 §6).
    color_matrix_2: np.ndarray | None = None
    calibration_illuminant_2: int | None = None
    forward_matrix_1: np.ndarray | None = None
    forward_matrix_2: np.ndarray | None = None
    #: BaselineExposure, EV (0 when absent, as DNG specifies).
    baseline_exposure: float = 0.0
    #: NoiseProfile (S, O) pairs: variance = S·x + O for x normalised to 0..1 after black
    #: subtraction and division by (white − black); one pair, or one per plane colour R, G, B.
    noise_profile: tuple[tuple[float, float], ...] | None = None
    preview: np.ndarray | None = None
    #: The whole Exif IFD as tifffile decodes it (names -> values), for anything not above.
    exif: dict = field(default_factory=dict)
    #: Opcode lists of the raw IFD, as stored (big-endian; decode with
    #: :func:`mountcam.dng.opcodes.decode_opcode_list`).
    opcode_list_1: bytes | None = None
    opcode_list_2: bytes | None = None
    opcode_list_3: bytes | None = None
    artist: str | None = None
    copyright: str | None = None
    lens_make: str | None = None
    #: The raw image is LinearRaw (PhotometricInterpretation 34892, DNG 1.4 ch. 4): ``mosaic``
    #: then holds (H, W, 3) camera RGB, ``cfa_pattern`` is "", ``black_level_dn`` and
    #: ``white_levels_dn`` hold one level per plane.
    linear_raw: bool = False
    #: WhiteLevel per plane of a LinearRaw image (None for a CFA image: ``white_level_dn``).
    white_levels_dn: tuple[float, float, float] | None = None
    #: TIFF/Exif Orientation (1..8) of IFD0: how the developed pixels are turned upright
    #: (:mod:`mountcam.develop.orientation`); 1 when absent or not a valid value.
    orientation: int = 1
    #: Exif LensSpecification: min, max focal length (mm), min f-number at each.
    lens_specification: tuple[float, float, float, float] | None = None
    lens_serial_number: str | None = None
    focal_length_35mm: int | None = None
    image_unique_id: str | None = None

    @property
    def exposure_s(self) -> float | None:
        return None if self.exposure_time is None else float(self.exposure_time)

    @property
    def crop_slices(self) -> tuple[slice, slice]:
        """(rows, cols) slices of ``mosaic`` covering the default crop."""
        top, left = self.active_area[0], self.active_area[1]
        x, y = (int(round(v)) for v in self.default_crop_origin)
        w, h = (int(round(v)) for v in self.default_crop_size)
        return slice(top + y, top + y + h), slice(left + x, left + x + w)


def read_dng(path: str | os.PathLike, *, max_preview_pixels: int = MAX_PREVIEW_PIXELS) -> DngInfo:
    """Read the raw CFA image and its metadata from the DNG at ``path``.

    IFD0's RGB preview is decoded when it has at most ``max_preview_pixels`` pixels (a browser
    of thumbnails may pass a small bound); a larger one is skipped, never decoded.

    Raises :class:`~mountcam.errors.UnreadableFile` (naming the file and the reason) for a file
    that is missing, not a DNG, damaged, truncated, larger than :data:`MAX_RAW_PIXELS`, or laid
    out in a way mountcam does not read (see docs/dng-reading.md).
    """
    import tifffile

    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(f"{path}: no such file")
    size = path.stat().st_size
    with _tifffile_quiet():
        return _open_and_read(tifffile, path, size, max_preview_pixels)


def _open_and_read(tifffile, path: Path, size: int, max_preview_pixels: int) -> DngInfo:
    try:
        with _third_party(path, "reading the TIFF header"):
            tif = tifffile.TiffFile(path)
    except UnreadableFile as exc:
        if isinstance(exc.__cause__, tifffile.TiffFileError):
            raise UnreadableFile(f"{path}: not a TIFF/DNG file ({exc.__cause__})") from exc
        raise
    with tif:
        return _read(tif, path, size, max_preview_pixels)


# tifffile logs what it finds wrong in a file (``<TiffTag.fromfile> raised TiffFileError(...)``,
# one line per damaged tag) as warnings on its logger, which Python prints to stderr when the
# application has not configured logging. The reader says what is wrong itself, in one
# UnreadableFile, so tifffile's records from a read_dng call are passed on at DEBUG level to
# this module's logger instead (visible with logging at DEBUG; never on a user's terminal).
_log = logging.getLogger(__name__)
_quiet = threading.local()


class _TifffileToDebug(logging.Filter):
    """Drops tifffile's records made by a thread inside :func:`read_dng`, re-logging them at
    DEBUG on ``mountcam.dng.reader``; other threads' and other callers' records pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(_quiet, "depth", 0):
            return True
        _log.debug("tifffile: %s", record.getMessage())
        return False


_tifffile_filter = _TifffileToDebug()


@contextmanager
def _tifffile_quiet() -> Iterator[None]:
    logger = logging.getLogger("tifffile")
    if _tifffile_filter not in logger.filters:
        logger.addFilter(_tifffile_filter)
    _quiet.depth = getattr(_quiet, "depth", 0) + 1
    try:
        yield
    finally:
        _quiet.depth -= 1


class _Ifd:
    """The tags of one IFD that the reader uses, copied out of tifffile as plain values."""

    def __init__(self, page) -> None:
        self.page = page
        self.offset = int(page.offset)
        #: tag code -> (TIFF type, value as tifffile decoded it); the first of duplicate tags.
        self.tags: dict[int, tuple[int, object]] = {}
        for tag in page.tags.values():
            if tag.code in _WANTED and tag.code not in self.tags:
                self.tags[tag.code] = (int(tag.dtype), tag.value)
        # The tags the IFD lists, read from its entry table: tifffile leaves out a tag whose
        # type is unknown or whose value lies outside the file, which must not pass unnoticed.
        tiff, fh = page.parent.tiff, page.parent.filehandle
        fh.seek(self.offset)
        (count,) = struct.unpack(tiff.tagnoformat, fh.read(tiff.tagnosize))
        table = fh.read(count * tiff.tagsize)
        self.listed = frozenset(
            struct.unpack_from(tiff.byteorder + "H", table, i * tiff.tagsize)[0]
            for i in range(len(table) // tiff.tagsize)
        )
        # tifffile's own reading of the layout, compared with ours before decoding.
        self.tifffile_shape = tuple(page.shape)
        self.tifffile_offsets = tuple(int(v) for v in page.dataoffsets)
        self.tifffile_counts = tuple(int(v) for v in page.databytecounts)
        self.tifffile_tiled = bool(page.is_tiled)

    def type_of(self, code: int) -> int | None:
        entry = self.tags.get(code)
        return None if entry is None else entry[0]

    def raw(self, code: int):
        entry = self.tags.get(code)
        return None if entry is None else entry[1]


@contextmanager
def _third_party(path: Path, step: str) -> Iterator[None]:
    """Turn a failure of tifffile / imagecodecs / numpy on this file into UnreadableFile.

    Only third-party calls run inside it (parsing IFDs and tag values in step 1, decoding
    checked segments in step 3), so an exception there comes from the file's bytes; our own
    code runs outside it (but for :class:`_Ifd`'s copying of tifffile's values) and its bugs
    surface as themselves. MemoryError is not caught (the
    checks bound every allocation; one that still fails is not the file's fault), nor is
    anything that is not an Exception (KeyboardInterrupt, SystemExit)."""
    try:
        # tifffile does integer arithmetic on numpy scalars read from the file; overflow there
        # is the file's damage, reported below if it matters, not a warning for the user.
        with np.errstate(all="ignore"):
            yield
    except (UnreadableFile, MemoryError):
        raise
    except Exception as exc:  # narrow scope: only third-party calls run inside
        raise UnreadableFile(
            f"{path}: damaged or truncated DNG; {step} failed ({type(exc).__name__}: {exc})"
        ) from exc


def _bad(path: Path, message: str) -> UnreadableFile:
    return UnreadableFile(f"{path}: {message}")


# --- step 1: extract ---------------------------------------------------------------------------


def _find_raw(tif, path: Path) -> tuple[_Ifd, _Ifd]:
    """(IFD0, raw IFD): the first IFD, in IFD0's chain and each one's SubIFDs (depth first),
    that holds a full-resolution CFA image. Each IFD offset is visited once and at most
    :data:`MAX_IFDS` are parsed, so looping or endless IFD chains end."""
    seen: set[int] = set()
    ifd0: _Ifd | None = None
    parsed = 0
    for index in range(MAX_IFDS):
        if parsed >= MAX_IFDS:
            break
        with _third_party(path, f"reading IFD {index}"):
            try:
                page = tif.pages[index]
            except IndexError:
                break
            if int(page.offset) in seen:
                break
            main = _Ifd(page)
        parsed += 1
        seen.add(main.offset)
        if ifd0 is None:
            ifd0 = main
            if TAG_IDS["DNGVersion"] not in ifd0.tags:
                raise _bad(path, "a TIFF but not a DNG (no DNGVersion tag)")
            version = _bytes(ifd0, TAG_IDS["DNGVersion"])
            if version is None or len(version) != 4:
                raise _bad(path, "damaged DNG: its DNGVersion tag is not 4 bytes")
        if _is_raw(main):
            return ifd0, main
        with _third_party(path, f"reading the SubIFD offsets of IFD {index}"):
            sub_offsets = tuple(int(v) for v in (page.subifds or ()))
        if not sub_offsets:
            continue
        for sub_index, sub_offset in enumerate(sub_offsets):
            if parsed >= MAX_IFDS:
                break
            if sub_offset in seen:  # a SubIFD pointing back at an IFD already read
                continue
            with _third_party(path, f"reading SubIFD {sub_index} of IFD {index}"):
                subpages = page.pages
                sub = (
                    None if subpages is None or sub_index >= len(subpages) else subpages[sub_index]
                )
                sub = None if sub is None else _Ifd(sub)
            parsed += 1
            seen.add(sub_offset)
            if sub is not None and _is_raw(sub):
                return ifd0, sub
    if ifd0 is None:
        raise _bad(path, "a TIFF file with no IFD")
    # A SubIFDs pointer lost to truncation hides the raw image: say that, not "no raw image".
    _check_readable(ifd0, path, "IFD0", layout=False)
    raise _bad(path, "no raw image (CFA or LinearRaw) in this DNG (a preview-only DNG?)")


def _is_raw(ifd: _Ifd) -> bool:
    subfile = _int(ifd, TAG_IDS["NewSubfileType"], 0)
    photometric = _int(ifd, TAG_IDS["PhotometricInterpretation"])
    return photometric in (PHOTOMETRIC["CFA"], PHOTOMETRIC["LinearRaw"]) and subfile == 0


def _is_linear(ifd: _Ifd) -> bool:
    return _int(ifd, TAG_IDS["PhotometricInterpretation"]) == PHOTOMETRIC["LinearRaw"]


# --- typed tag accessors (plain values in, checked values out) ----------------------------------


def _numbers(ifd: _Ifd, code: int) -> list[float] | None:
    """A numeric tag as a list of floats (RATIONAL pairs divided out, n/0 -> nan), or None when
    absent or not of a numeric type."""
    dtype, value = ifd.tags.get(code, (None, None))
    if value is None:
        return None
    values = _flat(value)
    if values is None:
        return None
    if dtype in _RATIONAL_TYPES:
        if len(values) % 2:
            return None
        return [n / d if d else math.nan for n, d in zip(values[0::2], values[1::2], strict=True)]
    if dtype in _INTEGER_TYPES or dtype in _FLOAT_TYPES:
        return [float(v) for v in values]
    return None


def _flat(value) -> list | None:
    """tifffile's value of a numeric tag (a number, tuple, bytes or numpy array) as a list of
    Python numbers; None for text, dicts and anything else."""
    if isinstance(value, bytes | bytearray):
        return list(value)
    if isinstance(value, np.ndarray):
        return value.ravel().tolist() if value.dtype.kind in "uif" else None
    if isinstance(value, int | float | np.integer | np.floating):
        return [value.item() if isinstance(value, np.generic) else value]
    if isinstance(value, tuple | list) and all(
        isinstance(v, int | float | np.integer | np.floating) for v in value
    ):
        return [v.item() if isinstance(v, np.generic) else v for v in value]
    return None


def _ints(ifd: _Ifd, code: int) -> list[int] | None:
    """An integer-typed tag as a list of ints, or None when absent or not an integer type."""
    if ifd.type_of(code) not in _INTEGER_TYPES:
        return None
    values = _flat(ifd.raw(code))
    return None if values is None else [int(v) for v in values]


def _int(ifd: _Ifd, code: int, default: int | None = None) -> int | None:
    """A single-valued integer tag (the first value of a longer one, as TIFF readers do)."""
    values = _ints(ifd, code)
    return values[0] if values else default


def _bytes(ifd: _Ifd, code: int) -> bytes | None:
    """A BYTE / UNDEFINED tag's bytes, or None when absent or of another type."""
    if ifd.type_of(code) not in _BYTE_TYPES:
        return None
    value = ifd.raw(code)
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    values = _flat(value)
    if values is None or not all(isinstance(v, int) and 0 <= v < 256 for v in values):
        return None
    return bytes(values)


def _text(value) -> str | None:
    """An ASCII value as text (tifffile leaves undecodable ones as bytes); None otherwise."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("latin-1")
    if not isinstance(value, str):
        return None
    return value.strip("\0 ") or None


def _finite(values: list[float] | None, count: int) -> list[float] | None:
    """``values`` when it holds exactly ``count`` finite numbers, else None."""
    if values is None or len(values) != count or not all(math.isfinite(v) for v in values):
        return None
    return values


# --- step 2: check -----------------------------------------------------------------------------


def _check_readable(ifd: _Ifd, path: Path, what: str, *, layout: bool) -> None:
    """Refuse an IFD that lists a tag the reader uses but tifffile could not read (an unknown
    type, or a value outside the file: this is what bounds an opcode list by the file size).
    ``layout``: whether the image layout tags count too (not for IFD0 above a raw SubIFD,
    whose image is only the preview)."""
    wanted = _WANTED - _DESCRIPTIVE if layout else _WANTED - _DESCRIPTIVE - set(_LAYOUT_TAGS)
    lost = sorted(code for code in ifd.listed & wanted if code not in ifd.tags)
    if lost:
        names = ", ".join(_TAG_NAMES.get(code, str(code)) for code in lost)
        raise _bad(
            path,
            f"damaged or truncated DNG: the {what}'s {names} cannot be read (unknown type, or "
            "its value lies outside the file)",
        )


@dataclass(frozen=True)
class _Layout:
    """The checked geometry of an image IFD: where its segments (strips or tiles) lie and how
    many pixels each holds."""

    width: int
    height: int
    bits: int
    compression: int
    offsets: tuple[int, ...]
    counts: tuple[int, ...]
    tiled: bool
    #: Rows of pixels per strip or tile (the last strip may hold fewer), and columns per tile.
    segment_rows: int
    segment_cols: int

    def segment_shape(self, index: int) -> tuple[int, int]:
        """(rows, columns) of pixels segment ``index`` encodes (a tile's full size, padding
        included; the last strip only the rows left)."""
        if self.tiled:
            return self.segment_rows, self.segment_cols
        return min(self.segment_rows, self.height - index * self.segment_rows), self.width


def _layout(
    ifd: _Ifd,
    path: Path,
    size: int,
    *,
    what: str,
    max_pixels: int,
    samples: int,
    compressions: dict[int, str] = _COMPRESSIONS,
) -> _Layout:
    """Check the geometry of ``ifd``'s image before anything is decoded (TIFF 6.0 §§ 3, 15;
    DNG 1.4 §3) and return it. Raises UnreadableFile naming ``what`` and the problem."""
    for code, name in _LAYOUT_TAGS.items():
        dtype = ifd.type_of(code)
        if dtype is not None and dtype not in _SHORT_LONG:
            raise _bad(path, f"the {what}'s {name} tag has TIFF type {dtype}, not SHORT or LONG")
    width = _int(ifd, TAG_IDS["ImageWidth"])
    height = _int(ifd, TAG_IDS["ImageLength"])
    if width is None or height is None:
        raise _bad(path, f"the {what} has no ImageWidth / ImageLength")
    if width < 1 or height < 1:
        raise _bad(path, f"the {what} claims an empty size of {width}×{height} px")
    if width * height > max_pixels:
        raise _bad(
            path,
            f"the {what} claims {width}×{height} px ({width * height / 1e6:.0f} MP); mountcam "
            f"reads at most {max_pixels / 1e6:.0f} MP",
        )
    spp = _int(ifd, TAG_IDS["SamplesPerPixel"], 1)
    if spp != samples:
        raise _bad(path, f"the {what} has {spp} samples per pixel, expected {samples}")
    bits_list = _ints(ifd, TAG_IDS["BitsPerSample"]) or [1]
    if len(set(bits_list)) != 1 or len(bits_list) not in (1, samples):
        raise _bad(path, f"the {what} has BitsPerSample {bits_list}; one depth for all samples")
    bits = bits_list[0]
    if not 8 <= bits <= 16:
        raise _bad(path, f"the {what} has {bits}-bit samples; mountcam reads 8 to 16 bits")
    sample_format = _ints(ifd, _SAMPLE_FORMAT)
    if sample_format is not None and set(sample_format) != {1}:
        raise _bad(path, f"the {what} has SampleFormat {sample_format}; unsigned integers only")
    compression = _int(ifd, TAG_IDS["Compression"], 1)
    if compression not in compressions:
        name = _COMPRESSION_NAMES.get(compression)
        named = f"{name} compression ({compression})" if name else f"compression {compression}"
        known = [f"{n} ({c})" for c, n in compressions.items()]
        raise _bad(
            path,
            f"the {what} uses {named}; mountcam reads {', '.join(known[:-1])} and {known[-1]} data",
        )
    if compression == 34892 and bits != 8:
        raise _bad(path, f"the {what} is lossy JPEG with {bits}-bit samples; it must be 8-bit")
    if compression == 1 and _int(ifd, _PREDICTOR, 1) != 1:
        raise _bad(path, f"the {what} uses a predictor without compression")
    if _int(ifd, _FILL_ORDER, 1) != 1:
        raise _bad(path, f"the {what} has FillOrder 2 (least significant bit first)")

    tile_tags = [
        c for c in (_TILE_WIDTH, _TILE_LENGTH, _TILE_OFFSETS, _TILE_BYTE_COUNTS) if c in ifd.tags
    ]
    strip_tags = [c for c in (TAG_IDS["StripOffsets"], TAG_IDS["StripByteCounts"]) if c in ifd.tags]
    if tile_tags and strip_tags:
        raise _bad(path, f"the {what} has both strips and tiles")
    if tile_tags:
        tiled = True
        tile_w, tile_h = _int(ifd, _TILE_WIDTH), _int(ifd, _TILE_LENGTH)
        if tile_w is None or tile_h is None or tile_w < 1 or tile_h < 1:
            raise _bad(path, f"the {what} has tiles of {tile_w}×{tile_h} px")
        if tile_w * tile_h > max_pixels:
            raise _bad(path, f"the {what} has tiles of {tile_w}×{tile_h} px, too large")
        count = -(-width // tile_w) * -(-height // tile_h)
        offsets, counts = _ints(ifd, _TILE_OFFSETS), _ints(ifd, _TILE_BYTE_COUNTS)
        seg_rows, seg_cols = tile_h, tile_w
    elif strip_tags:
        tiled = False
        rows = _int(ifd, TAG_IDS["RowsPerStrip"], height)
        if rows is None or rows < 1:
            raise _bad(path, f"the {what} has RowsPerStrip {rows}")
        seg_rows, seg_cols = min(rows, height), width
        count = -(-height // seg_rows)
        offsets = _ints(ifd, TAG_IDS["StripOffsets"])
        counts = _ints(ifd, TAG_IDS["StripByteCounts"])
    else:
        raise _bad(path, f"the {what} has no strips or tiles (no image data)")
    kind = "tile" if tiled else "strip"
    if offsets is None or counts is None or len(offsets) != count or len(counts) != count:
        raise _bad(
            path,
            f"the {what} needs {count} {kind}s for {width}×{height} px but lists "
            f"{'no' if offsets is None else len(offsets)} offsets and "
            f"{'no' if counts is None else len(counts)} byte counts",
        )
    layout = _Layout(
        width, height, bits, compression, tuple(offsets), tuple(counts), tiled, seg_rows, seg_cols
    )
    for i, (offset, nbytes) in enumerate(zip(offsets, counts, strict=True)):
        rows_i, cols_i = layout.segment_shape(i)
        if offset < 8 or nbytes < 1 or offset + nbytes > size:
            raise _bad(
                path,
                f"truncated or damaged: {kind} {i} of the {what} lies at bytes {offset} to "
                f"{offset + nbytes}, the file has {size}",
            )
        samples_i = rows_i * cols_i * samples
        if compression == 1:
            needed = rows_i * -(-cols_i * samples * bits // 8)  # rows start on a byte
            if nbytes < needed:
                raise _bad(
                    path,
                    f"truncated or damaged: {kind} {i} of the {what} holds {nbytes} bytes, "
                    f"its {rows_i}×{cols_i} px need {needed}",
                )
        elif compression == 7 and nbytes * 8 < samples_i:
            # Lossless JPEG codes every sample with at least one bit (T.81 Annex H), so a
            # segment this short cannot hold its pixels: refuse before a decoder allocates.
            raise _bad(
                path,
                f"truncated or damaged: {kind} {i} of the {what} holds {nbytes} bytes, too few "
                f"for {samples_i} lossless JPEG samples",
            )
        elif compression == 34892 and nbytes * 8 < 2 * -(-rows_i // 8) * -(-cols_i // 8):
            # Baseline JPEG codes every 8×8 block of its first component with at least a DC
            # code and an end-of-block code, one bit each at least (T.81 F.1.2): a file cannot
            # claim more pixels than 32 per byte of its segments.
            raise _bad(
                path,
                f"truncated or damaged: {kind} {i} of the {what} holds {nbytes} bytes, too few "
                f"for a {cols_i}×{rows_i} px JPEG",
            )
    return layout


def _check_tifffile_agrees(ifd: _Ifd, layout: _Layout, path: Path, what: str) -> None:
    """tifffile decodes from its own reading of the tags; make sure it is the one we checked."""
    if (
        ifd.tifffile_shape[:2] != (layout.height, layout.width)
        or ifd.tifffile_offsets != layout.offsets
        or ifd.tifffile_counts != layout.counts
        or ifd.tifffile_tiled != layout.tiled
    ):
        raise _bad(path, f"the {what}'s layout tags contradict each other")


def _check_jpeg_frames(layout: _Layout, path: Path, what: str, samples: int = 1) -> None:
    """Every lossless JPEG segment must start with SOI and a SOF3 frame header whose
    lines × samples per line × components equal the segment's pixels (DNG 1.4 §3: "only the
    total sample counts need to match"), at a precision of 2..16 bits (T.81 Annex H). A decoder
    allocates by that header, so it is checked first."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for i, (offset, nbytes) in enumerate(zip(layout.offsets, layout.counts, strict=True)):
            rows, cols = layout.segment_shape(i)
            frame = _jpeg_frame(data, offset, offset + nbytes)
            kind = "tile" if layout.tiled else "strip"
            if isinstance(frame, str):
                raise _bad(path, f"damaged {kind} {i} of the {what}: {frame}")
            marker, precision, lines, per_line, components = frame
            if layout.compression == 34892:
                # Lossy JPEG (DNG 1.4 §3): an 8-bit baseline frame of exactly the segment's
                # size and samples (a decoder allocates by it).
                if marker not in _BASELINE_SOF or precision != 8:
                    raise _bad(
                        path,
                        f"{kind} {i} of the {what} is not an 8-bit baseline JPEG (SOF marker "
                        f"0x{marker:02X}, {precision} bits)",
                    )
                if (lines, per_line, components) != (rows, cols, samples):
                    raise _bad(
                        path,
                        f"damaged {kind} {i} of the {what}: its JPEG frame of {per_line}×{lines}"
                        f"×{components} samples does not fit a {cols}×{rows} px {kind}",
                    )
                continue
            if marker != _SOF3:
                raise _bad(
                    path,
                    f"{kind} {i} of the {what} is not lossless JPEG (SOF marker 0x{marker:02X}, "
                    "DNG compression 7 needs SOF3)",
                )
            if not 2 <= precision <= 16 or lines * per_line * components != rows * cols * samples:
                raise _bad(
                    path,
                    f"damaged {kind} {i} of the {what}: its JPEG frame of {per_line}×{lines}×"
                    f"{components} samples at {precision} bits does not fit a {cols}×{rows} px "
                    f"{kind}",
                )


def _jpeg_frame(data, start: int, end: int) -> tuple[int, int, int, int, int] | str:
    """(SOF marker, precision, lines, samples per line, components) of the JPEG stream in
    ``data[start:end]``, read the way T.81 Annex B lays out its markers; a string saying what
    is wrong when there is no well-formed frame header before the first scan."""
    if data[start : start + 2] != b"\xff\xd8":
        return "no JPEG start-of-image marker"
    pos = start + 2
    while True:
        if pos >= end or data[pos] != 0xFF:
            return "no JPEG frame header before the data"
        while pos < end and data[pos] == 0xFF:  # fill bytes (T.81 B.1.1.2)
            pos += 1
        if pos + 3 > end:
            return "JPEG header cut off"
        marker = data[pos]
        (length,) = struct.unpack_from(">H", data, pos + 1)
        if marker in _SOF_MARKERS:
            if length < 8 or pos + 9 > end:
                return "JPEG frame header cut off"
            precision, lines, per_line, components = struct.unpack_from(">BHHB", data, pos + 3)
            return marker, precision, lines, per_line, components
        if marker in (0xD8, 0xD9, 0xDA, 0x01) or 0xD0 <= marker <= 0xD7 or length < 2:
            return f"JPEG marker 0x{marker:02X} before the frame header"
        pos += 1 + length


def _check_raw(ifd0: _Ifd, raw: _Ifd, path: Path, size: int) -> tuple[_Layout, str]:
    """The raw IFD's layout and CFA pattern letters, checked."""
    _check_readable(raw, path, "raw IFD", layout=True)
    if ifd0 is not raw:
        _check_readable(ifd0, path, "IFD0", layout=False)
    if _is_linear(raw):
        spp = _int(raw, TAG_IDS["SamplesPerPixel"], 1)
        if spp != 3:
            raise _bad(
                path,
                f"the LinearRaw image has {spp} samples per pixel; mountcam reads 3 (camera RGB)",
            )
        if _int(raw, TAG_IDS["PlanarConfiguration"], 1) != 1:
            raise _bad(path, "the LinearRaw image is stored in planes (PlanarConfiguration 2)")
        layout = _layout(
            raw, path, size, what="raw image", max_pixels=MAX_RAW_PIXELS, samples=3,
            compressions=_LINEAR_COMPRESSIONS,
        )  # fmt: skip
        _check_tifffile_agrees(raw, layout, path, "raw image")
        if layout.compression in (7, 34892):
            _check_jpeg_frames(layout, path, "raw image", samples=3)
        return layout, ""
    layout = _layout(raw, path, size, what="raw image", max_pixels=MAX_RAW_PIXELS, samples=1)
    _check_tifffile_agrees(raw, layout, path, "raw image")
    if layout.compression == 7:
        _check_jpeg_frames(layout, path, "raw image")

    dims = _ints(raw, TAG_IDS["CFARepeatPatternDim"]) or [2, 2]
    pattern = _bytes(raw, TAG_IDS["CFAPattern"])
    if pattern is None and TAG_IDS["CFAPattern"] in raw.tags:
        kind = raw.type_of(TAG_IDS["CFAPattern"])
        raise _bad(path, f"CFAPattern is not stored as bytes (TIFF type {kind})")
    plane_colors = _bytes(raw, TAG_IDS["CFAPlaneColor"])
    if plane_colors is None:
        plane_colors = bytes((0, 1, 2))
    if dims != [2, 2]:
        raise _bad(path, f"CFA pattern {tuple(dims)} is not a 2×2 Bayer layout")
    if pattern is None or len(pattern) != 4:
        got = "no" if pattern is None else len(pattern)
        raise _bad(path, f"CFAPattern has {got} colours; a 2×2 Bayer layout has 4")
    if _int(raw, TAG_IDS["CFALayout"], 1) != 1:
        raise _bad(path, "the CFA layout is not rectangular (CFALayout ≠ 1)")
    try:
        cfa = "".join(_COLOR_LETTER[plane_colors[i]] for i in pattern)
    except (KeyError, IndexError):
        raise _bad(path, f"CFA colours {list(pattern)} are not R, G, B") from None
    return layout, cfa


def _black_levels(raw: _Ifd, path: Path, samples: int = 1) -> tuple[float, ...]:
    """BlackLevel over its BlackLevelRepeatDim (rows, cols, each 1 or 2), expanded to the
    2×2 CFA cell in row-major order (DNG 1.4 ch. 4); for a ``samples``-plane LinearRaw image,
    one level per plane (rows × cols × samples values, sample fastest; the mean over the
    repeat cell)."""
    if samples > 1:
        return _plane_black_levels(raw, path, samples)
    if TAG_IDS["BlackLevel"] not in raw.tags:
        return (0.0, 0.0, 0.0, 0.0)
    values = _numbers(raw, TAG_IDS["BlackLevel"])
    dims = _ints(raw, TAG_IDS["BlackLevelRepeatDim"]) or [1, 1]
    if len(dims) != 2 or not all(d in (1, 2) for d in dims):
        raise _bad(path, f"BlackLevelRepeatDim {tuple(dims)} is not supported (1 or 2 a side)")
    rows, cols = dims
    if values is None or len(values) != rows * cols:
        got = "no numbers" if values is None else f"{len(values)} values"
        raise _bad(path, f"BlackLevel with repeat {tuple(dims)} and {got} is not supported")
    if not all(math.isfinite(v) for v in values):
        raise _bad(path, "BlackLevel holds a value that is not a finite number")
    return tuple(values[(i % rows) * cols + (j % cols)] for i in (0, 1) for j in (0, 1))


def _plane_black_levels(raw: _Ifd, path: Path, samples: int) -> tuple[float, ...]:
    if TAG_IDS["BlackLevel"] not in raw.tags:
        return (0.0,) * samples
    values = _numbers(raw, TAG_IDS["BlackLevel"])
    dims = _ints(raw, TAG_IDS["BlackLevelRepeatDim"]) or [1, 1]
    if len(dims) != 2 or not all(d in (1, 2) for d in dims):
        raise _bad(path, f"BlackLevelRepeatDim {tuple(dims)} is not supported (1 or 2 a side)")
    cells = dims[0] * dims[1]
    if values is None or len(values) not in (cells, cells * samples):
        got = "no numbers" if values is None else f"{len(values)} values"
        raise _bad(path, f"BlackLevel of a {samples}-sample image with {got} is not supported")
    if not all(math.isfinite(v) for v in values):
        raise _bad(path, "BlackLevel holds a value that is not a finite number")
    if len(values) == cells:  # one level for all planes
        return (sum(values) / cells,) * samples
    return tuple(sum(values[c * samples + p] for c in range(cells)) / cells for p in range(samples))


def _plane_white_levels(raw: _Ifd, bits: int, path: Path, samples: int) -> tuple[float, ...]:
    """WhiteLevel per plane of a LinearRaw image (one value: all planes alike)."""
    if TAG_IDS["WhiteLevel"] not in raw.tags:
        return (float((1 << bits) - 1),) * samples
    values = _numbers(raw, TAG_IDS["WhiteLevel"])
    if not values or len(values) not in (1, samples):
        raise _bad(path, f"WhiteLevel {values} does not give one level or one per plane")
    if not all(math.isfinite(v) and 1 <= v < 2**32 for v in values):
        raise _bad(path, f"WhiteLevel {values} is not a level of 1 to 2**32 - 1")
    return tuple(float(v) for v in values) * (samples if len(values) == 1 else 1)


def _linearization_table(raw: _Ifd, path: Path) -> np.ndarray | None:
    """LinearizationTable (DNG 1.4 ch. 4): raw value v becomes table[min(v, n − 1)]."""
    if _LINEARIZATION_TABLE not in raw.tags:
        return None
    values = _ints(raw, _LINEARIZATION_TABLE)
    if not values or len(values) > 65536 or not all(0 <= v <= 0xFFFF for v in values):
        raise _bad(path, "LinearizationTable is not 1 to 65536 values of 0 to 65535")
    return np.asarray(values, dtype=np.uint16)


def _white_level(raw: _Ifd, bits: int, path: Path) -> int:
    if TAG_IDS["WhiteLevel"] not in raw.tags:
        return (1 << bits) - 1
    values = _numbers(raw, TAG_IDS["WhiteLevel"])
    if not values or not math.isfinite(values[0]) or not 1 <= values[0] < 2**32:
        raise _bad(path, f"WhiteLevel {values} is not a level of 1 to 2**32 - 1")
    return int(values[0])


def _active_area(raw: _Ifd, height: int, width: int, path: Path) -> tuple[int, int, int, int]:
    if TAG_IDS["ActiveArea"] not in raw.tags:
        return (0, 0, height, width)
    values = _ints(raw, TAG_IDS["ActiveArea"])
    if values is None or len(values) != 4:
        raise _bad(path, "ActiveArea is not four integers (top, left, bottom, right)")
    top, left, bottom, right = values
    if not (0 <= top < bottom <= height and 0 <= left < right <= width):
        raise _bad(path, f"ActiveArea {tuple(values)} lies outside the {width}×{height} px image")
    return top, left, bottom, right


def _default_crop(
    raw: _Ifd, area: tuple[int, int, int, int], path: Path
) -> tuple[tuple[float, float], tuple[float, float]]:
    """DefaultCropOrigin (x, y) and DefaultCropSize (w, h), inside the active area."""
    area_w, area_h = area[3] - area[1], area[2] - area[0]
    origin = (0.0, 0.0)
    crop_size = (float(area_w), float(area_h))
    if TAG_IDS["DefaultCropOrigin"] in raw.tags:
        origin = _finite(_numbers(raw, TAG_IDS["DefaultCropOrigin"]), 2)
    if TAG_IDS["DefaultCropSize"] in raw.tags:
        crop_size = _finite(_numbers(raw, TAG_IDS["DefaultCropSize"]), 2)
    if origin is None or crop_size is None:
        raise _bad(path, "DefaultCropOrigin / DefaultCropSize are not two finite numbers")
    x, y = (int(round(v)) for v in origin)
    w, h = (int(round(v)) for v in crop_size)
    if not (0 <= x and 0 <= y and w >= 1 and h >= 1 and x + w <= area_w and y + h <= area_h):
        raise _bad(
            path,
            f"the default crop {w}×{h} px at ({x}, {y}) lies outside the {area_w}×{area_h} px "
            "active area",
        )
    return (float(origin[0]), float(origin[1])), (float(crop_size[0]), float(crop_size[1]))


# --- step 3: decode, and the steps together ----------------------------------------------------


def _read(tif, path: Path, size: int, max_preview_pixels: int) -> DngInfo:
    """Extract, check, decode (see the module docstring)."""
    ifd0, raw = _find_raw(tif, path)
    layout, cfa = _check_raw(ifd0, raw, path, size)
    linear = _is_linear(raw)
    samples = 3 if linear else 1
    black = _black_levels(raw, path, samples)
    white = _white_level(raw, layout.bits, path)
    plane_whites = _plane_white_levels(raw, layout.bits, path, samples) if linear else None
    table = _linearization_table(raw, path)
    area = _active_area(raw, layout.height, layout.width, path)
    crop_origin, crop_size = _default_crop(raw, area, path)
    opcode_lists = [_opcode_list(raw, n, path) for n in (1, 2, 3)]
    with _third_party(path, "reading the Exif IFD"):
        exif_value = ifd0.raw(TAG_IDS["ExifIFD"])
        exif = dict(exif_value) if isinstance(exif_value, dict) else {}

    with _third_party(path, "decoding the raw image"):
        mosaic = raw.page.asarray()
    shape = (layout.height, layout.width, 3) if linear else (layout.height, layout.width)
    if mosaic.shape != shape or mosaic.dtype.kind not in "ui":
        raise _bad(
            path, f"the raw image decoded to {mosaic.dtype} {mosaic.shape}, expected {shape}"
        )
    mosaic = mosaic.astype(np.uint16, copy=False)
    if table is not None:
        mosaic = table[np.minimum(mosaic, table.size - 1)]

    neutral = _finite(_numbers(ifd0, TAG_IDS["AsShotNeutral"]), 3)
    version = _bytes(ifd0, TAG_IDS["DNGVersion"])
    info = DngInfo(
        path=path,
        mosaic=mosaic,
        cfa_pattern=cfa,
        black_level_dn=black,
        white_level_dn=white,
        as_shot_neutral=tuple(neutral) if neutral and min(neutral) > 0 else None,
        color_matrix_1=_matrix(ifd0, "ColorMatrix1"),
        calibration_illuminant_1=_int(ifd0, TAG_IDS["CalibrationIlluminant1"]),
        default_crop_origin=crop_origin,
        default_crop_size=crop_size,
        active_area=area,
        dng_version=tuple(version or ()),
        make=_text(ifd0.raw(TAG_IDS["Make"])),
        model=_text(ifd0.raw(TAG_IDS["Model"])),
        unique_camera_model=_text(ifd0.raw(TAG_IDS["UniqueCameraModel"])),
        software=_text(ifd0.raw(TAG_IDS["Software"])),
        exif=exif,
        opcode_list_1=opcode_lists[0],
        opcode_list_2=opcode_lists[1],
        opcode_list_3=opcode_lists[2],
        linear_raw=linear,
        white_levels_dn=plane_whites,
        artist=_text(ifd0.raw(TAG_IDS["Artist"])),
        copyright=_text(ifd0.raw(TAG_IDS["Copyright"])),
    )
    _fill_exif(info, exif)
    _fill_colour(info, ifd0, raw)
    info.orientation = _orientation(ifd0, raw)
    if ifd0 is not raw:
        info.preview = _preview(ifd0, path, size, max_preview_pixels)
    return info


def _preview(ifd0: _Ifd, path: Path, size: int, max_pixels: int) -> np.ndarray | None:
    """IFD0's RGB preview when it is a plain uncompressed 8-bit image of at most
    ``max_pixels``; otherwise (or when damaged) None: a preview never makes the raw
    image unreadable, and a huge one is skipped, not decoded."""
    if _int(ifd0, TAG_IDS["PhotometricInterpretation"]) != PHOTOMETRIC["RGB"]:
        return None
    try:
        layout = _layout(ifd0, path, size, what="preview", max_pixels=max_pixels, samples=3)
        _check_tifffile_agrees(ifd0, layout, path, "preview")
    except UnreadableFile:
        return None
    if layout.compression != 1 or layout.bits != 8:
        return None
    try:
        with _third_party(path, "decoding the preview"):
            preview = ifd0.page.asarray()
    except UnreadableFile:
        return None
    if preview.shape != (layout.height, layout.width, 3) or preview.dtype != np.uint8:
        return None
    return preview


def _opcode_list(raw: _Ifd, n: int, path: Path) -> bytes | None:
    """OpcodeList{n} as stored; its content is checked by decode_opcode_list when used. tifffile
    reads a tag's value only when it lies inside the file, so its size is bounded by it."""
    code = TAG_IDS[f"OpcodeList{n}"]
    if code not in raw.tags:
        return None
    data = _bytes(raw, code)
    if data is None:
        raise _bad(path, f"OpcodeList{n} is not stored as bytes (TIFF type {raw.type_of(code)})")
    return data


def _orientation(ifd0: _Ifd, raw: _Ifd) -> int:
    """Orientation of IFD0 (where DNG 1.4 ch. 4 and the DNG SDK read it), else of the raw IFD;
    1 for a missing or invalid value (the SDK reads those as "normal" too)."""
    for ifd in (ifd0, raw):
        value = _int(ifd, TAG_IDS["Orientation"])
        if value is not None:
            return value if 1 <= value <= 8 else 1
    return 1


def _matrix(ifd0: _Ifd, name: str) -> np.ndarray | None:
    values = _finite(_numbers(ifd0, TAG_IDS[name]), 9)
    return None if values is None else np.array(values).reshape(3, 3)


def _fill_exif(info: DngInfo, exif: dict) -> None:
    """Exposure, aperture, focal length, ISO, date, lens and ID fields of the Exif IFD; a
    damaged optional field is left out rather than making the raw image unreadable."""
    import tifffile

    def get(name: str):
        return exif.get(tifffile.TIFF.TAGS.get(TAG_IDS[name], name))

    def ratio(value) -> Fraction | None:
        values = _flat(value)
        if values is None or len(values) != 2 or not all(isinstance(v, int) for v in values):
            return None
        return Fraction(values[0], values[1]) if values[1] else None

    def positive(value: Fraction | None) -> float | None:
        return None if value is None or value <= 0 else float(value)

    exposure = ratio(get("ExposureTime"))
    info.exposure_time = exposure if exposure is not None and exposure > 0 else None
    info.f_number = positive(ratio(get("FNumber")))
    info.focal_mm = positive(ratio(get("FocalLength")))
    iso = _flat(get("ISOSpeed")) or _flat(get("PhotographicSensitivity"))
    info.iso = int(iso[0]) if iso and isinstance(iso[0], int) and iso[0] > 0 else None
    info.lens_model = _text(get("LensModel"))
    info.datetime_original = _exif_datetime(
        _text(get("DateTimeOriginal")),
        _text(get("SubSecTimeOriginal")) or "",
        _text(get("OffsetTimeOriginal")) or "",
    )
    info.lens_make = _text(get("LensMake"))
    info.lens_serial_number = _text(get("LensSerialNumber"))
    info.image_unique_id = _text(get("ImageUniqueID"))
    spec = _flat(get("LensSpecification"))
    if spec is not None and len(spec) == 8 and all(isinstance(v, int) and v for v in spec[1::2]):
        info.lens_specification = tuple(n / d for n, d in zip(spec[0::2], spec[1::2], strict=True))
    f35 = _flat(get("FocalLengthIn35mmFormat"))
    info.focal_length_35mm = int(f35[0]) if f35 and isinstance(f35[0], int) else None


def _exif_datetime(stamp: str | None, subsec: str, offset: str) -> datetime | None:
    """Exif 2.32 DateTimeOriginal ("YYYY:MM:DD HH:MM:SS") with its sub-seconds and offset."""
    if not stamp:
        return None
    try:
        when = datetime.strptime(stamp, "%Y:%m:%d %H:%M:%S")
        if subsec.isdigit():
            when = when.replace(microsecond=int(subsec[:6].ljust(6, "0")))
        if offset:
            when = datetime.fromisoformat(when.isoformat() + offset)
    except ValueError:
        return None
    return when


def _fill_colour(info: DngInfo, ifd0: _Ifd, raw: _Ifd) -> None:
    """ColorMatrix2, CalibrationIlluminant2, ForwardMatrix1/2, BaselineExposure (IFD0) and
    NoiseProfile (IFD0, or the raw IFD where some writers put it)."""
    info.color_matrix_2 = _matrix(ifd0, "ColorMatrix2")
    info.calibration_illuminant_2 = _int(ifd0, TAG_IDS["CalibrationIlluminant2"])
    info.forward_matrix_1 = _matrix(ifd0, "ForwardMatrix1")
    info.forward_matrix_2 = _matrix(ifd0, "ForwardMatrix2")
    baseline = _finite(_numbers(ifd0, TAG_IDS["BaselineExposure"]), 1)
    info.baseline_exposure = baseline[0] if baseline else 0.0
    noise = _numbers(ifd0, TAG_IDS["NoiseProfile"]) or _numbers(raw, TAG_IDS["NoiseProfile"])
    if noise and len(noise) in (2, 6) and all(math.isfinite(v) for v in noise):
        info.noise_profile = tuple(
            (float(s), float(o)) for s, o in zip(noise[0::2], noise[1::2], strict=True)
        )
