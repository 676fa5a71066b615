"""Write a developed :class:`~mountcam.develop.image.Image`: JPEG, 16-bit TIFF or PNG, each
with the source DNG's EXIF and an ICC profile of the image's colour space.

Formats (``fmt``):

- ``"jpeg"``: 8-bit baseline JPEG, quality 1–100 (90 by default), chroma subsampled 4:2:0.
  Why 4:2:0: colour from a Bayer sensor carries about half the luminance resolution anyway
  (red and blue are sampled at a quarter of the sites), and at 50 MP 4:2:0 encodes about 40 %
  faster than 4:4:4 and makes files a third smaller (measured: docs/develop-finishing.md);
  ``"4:4:4"`` and ``"4:2:2"`` are available through ``subsampling``. Encoded with
  libjpeg-turbo through OpenCV, measured 20 % faster at 50 MP than the same library through
  Pillow even counting the RGB -> BGR swap; the EXIF (APP1, right after SOI as Exif 2.32 §4.5.4
  asks, replacing OpenCV's JFIF APP0) and the ICC profile (APP2 ``ICC_PROFILE`` chunks, ICC.1
  Annex B.4) are spliced into the stream.
- ``"tiff16"``: 16-bit RGB TIFF, uncompressed strips (fastest to write and to read; a 50 MP
  image is 300 MB), ICC profile in tag 34675 (TIFF/EP, ICC.1 Annex B.4), EXIF in an Exif IFD;
  written with mountcam's own TIFF writer (:mod:`mountcam.dng.tiff`).
- ``"tiff32"``: 32-bit floating-point RGB TIFF (SampleFormat 3, IEEE 754; TIFF Technical
  Note 3 / Adobe's TIFF 6.0 supplement), uncompressed strips, 1.0 = white, values above 1.0
  and below 0.0 kept: the scene-referred format for ``--linear``, whose highlights the raw
  holds up to several times the white (an integer format clips them at 1.0).
- ``"png"`` / ``"png16"``: 8- or 16-bit PNG from OpenCV's encoder (zlib level 1), with the ICC
  profile in an ``iCCP`` chunk and the EXIF in an ``eXIf`` chunk (PNG 3rd edition §11.3.2.3,
  §11.3.3.6) placed before the image data.

A linear image (``Image.linear``) is refused in 8-bit formats: 8 bits of linear light leave
visible steps in the shadows.

EXIF (CIPA DC-008 Exif 2.32): Make, Model, Artist, Copyright, DateTime from the DNG's IFD0;
exposure time, f-number, ISO and its sensitivity type, exposure programme and mode, metering,
focal length (and 35 mm equivalent), lens make / model / specification / serial, capture dates
with sub-seconds and time zone from its Exif IFD; Orientation 1 (the pixels are upright),
Software, ColorSpace (1 = sRGB, 0xFFFF = uncalibrated for Display P3 and linear, whose ICC
profile says what they are) and the pixel dimensions are this file's own.

Files are written to a temporary name in the target folder and then moved into place; an
existing file is never replaced unless ``overwrite`` is true.
"""

from __future__ import annotations

import io
import os
import struct
import uuid
import zlib
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mountcam import __version__
from mountcam.atomic_file import publish
from mountcam.develop.icc import icc_profile
from mountcam.dng.tiff import Ifd, TiffType, write_tiff
from mountcam.errors import CannotWrite, InvalidSetting, OutputExists

if TYPE_CHECKING:
    from mountcam.develop.image import Image
    from mountcam.dng.reader import DngInfo

FORMATS = ("jpeg", "tiff16", "tiff32", "png", "png16")
#: File name extension of each format.
EXTENSIONS = {"jpeg": ".jpg", "tiff16": ".tif", "tiff32": ".tif", "png": ".png", "png16": ".png"}
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
#: zlib level for PNG: 1 is several times faster than the default 6 for a few % larger files.
PNG_COMPRESSION = 1
EXIF_VERSION = b"0232"
ICC_PROFILE_TAG = 34675
EXIF_IFD_TAG = 34665

A, S, L = TiffType.ASCII, TiffType.SHORT, TiffType.LONG
R, SR, U = TiffType.RATIONAL, TiffType.SRATIONAL, TiffType.UNDEFINED

#: Exif IFD tags copied from the DNG as they are: number -> type (Exif 2.32 §4.6.5).
#: ImageUniqueID and MakerNote are not copied: they describe the raw file, not this picture.
COPIED_EXIF_TAGS: dict[int, TiffType] = {
    33434: R,  # ExposureTime
    33437: R,  # FNumber
    34850: S,  # ExposureProgram
    34855: S,  # PhotographicSensitivity (ISOSpeedRatings)
    34864: S,  # SensitivityType
    34865: L,  # StandardOutputSensitivity
    34866: L,  # RecommendedExposureIndex
    34867: L,  # ISOSpeed
    36867: A,  # DateTimeOriginal
    36868: A,  # DateTimeDigitized
    36880: A,  # OffsetTime
    36881: A,  # OffsetTimeOriginal
    36882: A,  # OffsetTimeDigitized
    37377: SR,  # ShutterSpeedValue
    37378: R,  # ApertureValue
    37380: SR,  # ExposureBiasValue
    37381: R,  # MaxApertureValue
    37382: R,  # SubjectDistance
    37383: S,  # MeteringMode
    37384: S,  # LightSource
    37385: S,  # Flash
    37386: R,  # FocalLength
    37520: A,  # SubSecTime
    37521: A,  # SubSecTimeOriginal
    37522: A,  # SubSecTimeDigitized
    41986: S,  # ExposureMode
    41987: S,  # WhiteBalance
    41989: S,  # FocalLengthIn35mmFilm
    41990: S,  # SceneCaptureType
    42032: A,  # CameraOwnerName
    42033: A,  # BodySerialNumber
    42034: R,  # LensSpecification (4 values)
    42035: A,  # LensMake
    42036: A,  # LensModel
    42037: A,  # LensSerialNumber
}
#: IFD0 (TIFF) tags: number -> (type, DngInfo attribute).
IFD0_TAGS: dict[int, tuple[TiffType, str]] = {
    271: (A, "make"),
    272: (A, "model"),
    315: (A, "artist"),
    33432: (A, "copyright"),
}


def save_image(
    image: Image,
    path: str | os.PathLike,
    fmt: str = "jpeg",
    quality: int = 90,
    overwrite: bool = False,
    *,
    subsampling: str = "4:2:0",
) -> Path:
    """Write ``image`` to ``path`` as ``fmt`` (:data:`FORMATS`); returns the
    path. ``quality``: JPEG quality 1–100. Raises :class:`~mountcam.errors.OutputExists` when
    ``path`` exists and ``overwrite`` is false (nothing is written), and
    :class:`~mountcam.errors.InvalidSetting` for an unknown format or quality."""
    path = Path(path)
    if fmt not in FORMATS:
        raise InvalidSetting(f"output format '{fmt}' is not one of: {', '.join(FORMATS)}")
    if not (isinstance(quality, int | np.integer) and 1 <= quality <= 100):
        raise InvalidSetting(f"JPEG quality {quality!r} is outside 1..100")
    if subsampling not in SUBSAMPLING:
        raise InvalidSetting(
            f"chroma subsampling '{subsampling}' is not one of 4:4:4, 4:2:2, 4:2:0"
        )
    if image.linear and fmt in ("jpeg", "png"):
        raise InvalidSetting(
            f"a linear image needs 16 bits or more; write it as tiff32, tiff16 or png16, not {fmt}"
        )
    if path.exists() and not overwrite:
        raise OutputExists(f"{path} already exists; choose another name or allow overwriting")
    if not path.parent.is_dir():
        raise InvalidSetting(f"folder {path.parent} does not exist")

    icc = icc_profile(image.color_space)
    exif = exif_ifds(image.source, image.color_space, image.width, image.height, fmt)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as e:
        raise CannotWrite(f"cannot write in {path.parent} ({e.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as stream:
            if fmt == "jpeg":
                _write_jpeg(stream, image.to_uint8(), quality, subsampling, icc, exif)
            elif fmt == "tiff16":
                _write_tiff(stream, image.to_uint16(), icc, exif)
            elif fmt == "tiff32":
                _write_tiff(stream, image.to_float32(), icc, exif)
            else:
                pixels = image.to_uint8() if fmt == "png" else image.to_uint16()
                stream.write(_png_bytes(pixels, icc, exif))
            stream.flush()
            os.fsync(stream.fileno())
        publish(tmp, path, overwrite=overwrite)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise CannotWrite(f"could not write {path} ({e.strerror or e}); nothing was left") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# --- EXIF --------------------------------------------------------------------------------------


def exif_ifds(
    source: DngInfo | None, color_space: str, width: int, height: int, fmt: str = "jpeg"
) -> Ifd:
    """IFD0 (with its Exif IFD attached) holding the EXIF of a picture developed from
    ``source``; pixel data are not part of it. ``fmt`` decides the few tags Exif 2.32 requires
    of compressed (JPEG) and forbids in uncompressed (TIFF) files."""
    ifd0, exif = Ifd(), Ifd()
    ifd0.set(274, S, 1)  # Orientation: the pixels are stored upright
    ifd0.set(282, R, 72)  # XResolution, YResolution, ResolutionUnit: required by Exif
    ifd0.set(283, R, 72)
    ifd0.set(296, S, 2)
    ifd0.set(305, A, f"mountcam {__version__} develop")
    exif.set(36864, U, EXIF_VERSION)
    exif.set(40960, U, b"0100")  # FlashpixVersion
    exif.set(40961, S, 1 if color_space == "srgb" else 0xFFFF)  # ColorSpace
    if not fmt.startswith("tiff"):  # Exif 2.32 §4.6.5: only for compressed data
        exif.set(40962, L, int(width))  # PixelXDimension
        exif.set(40963, L, int(height))  # PixelYDimension
    if fmt == "jpeg":
        ifd0.set(531, S, 1)  # YCbCrPositioning: centred
        exif.set(37121, U, b"\x01\x02\x03\x00")  # ComponentsConfiguration: Y Cb Cr
    if source is not None:
        for tag, (type_, attr) in IFD0_TAGS.items():
            _set_safely(ifd0, tag, type_, getattr(source, attr, None))
        _copy_exif(exif, source.exif or {})
        if 36867 in exif.entries:  # DateTime of a camera JPEG is the capture time
            ifd0.entries[306] = _entry_copy(exif.entries[36867], 306)
    ifd0.add_child(EXIF_IFD_TAG, exif)
    return ifd0


def _entry_copy(entry, tag: int):
    from mountcam.dng.tiff import Entry

    return Entry(tag, entry.type, entry.count, entry.data)


def _copy_exif(exif: Ifd, source_exif: dict) -> None:
    import tifffile

    for tag, type_ in COPIED_EXIF_TAGS.items():
        name = tifffile.TIFF.TAGS.get(tag)
        value = source_exif.get(name, source_exif.get(tag))
        if value is None:
            continue
        if type_ in (R, SR):
            value = _rationals(value)
        _set_safely(exif, tag, type_, value)


def _rationals(value) -> list[Fraction] | None:
    """tifffile gives RATIONALs as (n, d, n, d, ...); zero denominators make the tag unusable."""
    flat = list(value) if isinstance(value, tuple | list) else [value]
    if len(flat) % 2 or not flat:
        return None
    pairs = list(zip(flat[0::2], flat[1::2], strict=True))
    if any(int(d) == 0 for _, d in pairs):
        return None
    return [Fraction(int(n), int(d)) for n, d in pairs]


def _set_safely(ifd: Ifd, tag: int, type_: TiffType, value) -> None:
    """Set a copied tag; a value from someone else's file that does not fit is left out rather
    than stopping the picture from being written."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return
    if isinstance(value, str):
        value = value.strip("\0 ")
    try:
        ifd.set(tag, type_, value)
    except (ValueError, TypeError, OverflowError):
        pass


def _exif_tiff_bytes(ifd0: Ifd) -> bytes:
    """The EXIF block as JPEG APP1 / PNG eXIf carry it: a TIFF header and IFDs, offsets from
    the header's first byte (Exif 2.32 §4.5.4)."""
    buffer = io.BytesIO()
    write_tiff(buffer, [ifd0])
    return buffer.getvalue()


# --- encoders ----------------------------------------------------------------------------------


#: OpenCV's sampling-factor codes for each subsampling.
_CV_SAMPLING = {"4:4:4": 0x111111, "4:2:2": 0x211111, "4:2:0": 0x221111}
#: Largest ICC payload of one APP2 segment: 65535 − 2 (length) − 14 ("ICC_PROFILE\0", seq, n).
_ICC_CHUNK = 65519


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise InvalidSetting("the EXIF block is too large for a JPEG APP1 segment (64 KiB)")
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


def _write_jpeg(stream, rgb8: np.ndarray, quality: int, subsampling: str, icc: bytes, exif: Ifd):
    import cv2

    params = [
        cv2.IMWRITE_JPEG_QUALITY,
        int(quality),
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
        _CV_SAMPLING[subsampling],
    ]
    data = _encode_jpeg(rgb8, params, _MCU_SIZE[subsampling])
    if bytes(data[:2]) != b"\xff\xd8":
        raise AssertionError("JPEG encoder output does not start with SOI")
    rest = 2
    if bytes(data[2:4]) == b"\xff\xe0":  # JFIF APP0: Exif files carry APP1 first instead
        rest = 4 + int.from_bytes(data[4:6], "big")
    chunks = [icc[i : i + _ICC_CHUNK] for i in range(0, len(icc), _ICC_CHUNK)]
    head = [b"\xff\xd8", _segment(0xE1, b"Exif\0\0" + _exif_tiff_bytes(exif))]
    head += [
        _segment(0xE2, b"ICC_PROFILE\0" + bytes((n + 1, len(chunks))) + chunk)
        for n, chunk in enumerate(chunks)
    ]
    stream.write(b"".join(head))
    stream.write(data[rest:])


#: (rows, columns) of pixels in one JPEG MCU for each subsampling (ITU-T T.81 A.2: 16 along
#: a direction in which chroma is halved).
_MCU_SIZE = {"4:4:4": (8, 8), "4:2:2": (8, 16), "4:2:0": (16, 16)}
#: Images smaller than this are encoded in one piece (threads would not pay for themselves).
PARALLEL_JPEG_MIN_PIXELS = 4_000_000


def _encode_jpeg(
    rgb8: np.ndarray,
    params: list[int],
    mcu: tuple[int, int],
    *,
    threads: int | None = None,
    min_pixels: int = PARALLEL_JPEG_MIN_PIXELS,
) -> memoryview:
    """Baseline JPEG bytes of ``rgb8`` (libjpeg-turbo through OpenCV), encoded in horizontal
    parts on several threads when the image is large.

    Why it is exact: a JPEG with a restart interval (DRI, ITU-T T.81 B.2.4.4) resets its DC
    predictions and byte-aligns the entropy code at every RSTm marker, so the MCUs between two
    markers are encoded exactly as a separate image of those rows would be, with the same
    quantisation and (standard) Huffman tables. Each part is therefore encoded on its own,
    in parallel, and the parts' entropy-coded segments are joined with RST0..RST7 under the
    first part's headers, its height set to the whole image's and a DRI of one part's MCUs
    added. The result is byte for byte the file libjpeg writes for the whole image with that
    restart interval (tested), which any baseline decoder reads. OpenCV's encoder releases
    the GIL, so the threads run in parallel.

    ``threads``: None for as many as OpenCV may use (at most 4); images under ``min_pixels``
    are encoded in one piece.
    """
    import cv2

    height, width = rgb8.shape[:2]
    if threads is None:
        # As many threads as OpenCV may use (a single-threaded cluster worker set it to one).
        threads = min(4, os.cpu_count() or 1, max(1, cv2.getNumThreads()))
    plan = _jpeg_parts(height, width, mcu, threads, min_pixels)
    if plan is None:
        ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb8, cv2.COLOR_RGB2BGR), params)
        if not ok:
            raise InvalidSetting("the JPEG encoder refused this image")
        return memoryview(encoded).cast("B")
    rows_per_part, interval = plan
    starts = list(range(0, height, rows_per_part))

    def encode(top: int) -> bytes:
        part = cv2.cvtColor(rgb8[top : top + rows_per_part], cv2.COLOR_RGB2BGR)
        ok, encoded = cv2.imencode(".jpg", part, params)
        if not ok:
            raise InvalidSetting("the JPEG encoder refused this image")
        return encoded.tobytes()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        parts = list(pool.map(encode, starts))
    return memoryview(_join_jpeg_parts(parts, height, interval))


def _jpeg_parts(
    height: int,
    width: int,
    mcu: tuple[int, int],
    threads: int,
    min_pixels: int = PARALLEL_JPEG_MIN_PIXELS,
):
    """(pixel rows per part, MCUs per part) for a parallel encode, or None for one piece."""
    if threads < 2 or height * width < min_pixels:
        return None
    mcu_rows, mcu_cols = mcu
    mcus_per_row = -(-width // mcu_cols)
    mcu_row_count = -(-height // mcu_rows)
    # Two parts per thread evens out the threads' finishing times; the DRI field is 16 bits.
    per_part = -(-mcu_row_count // (2 * threads))
    per_part = min(per_part, 0xFFFF // mcus_per_row)
    if per_part < 1 or mcu_row_count <= per_part:
        return None
    return per_part * mcu_rows, per_part * mcus_per_row


def _join_jpeg_parts(parts: list[bytes], height: int, interval: int) -> bytes:
    """One JPEG from separately encoded horizontal parts (see :func:`_encode_jpeg`)."""
    head: list[bytes] = [b"\xff\xd8"]
    scans: list[bytes] = []
    reference_tables = None
    for n, data in enumerate(parts):
        pos, tables = 2, []
        while True:
            if data[pos] != 0xFF:
                raise AssertionError("JPEG encoder output is not a marker sequence")
            marker = data[pos + 1]
            length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            segment = data[pos : pos + 2 + length]
            pos += 2 + length
            if marker in (0xDB, 0xC4):  # DQT, DHT: must be the same in every part
                tables.append(segment)
            if n == 0 and marker != 0xE0:  # the first part's headers, less JFIF APP0
                if marker == 0xC0:  # SOF0: the whole image's height
                    segment = segment[:5] + height.to_bytes(2, "big") + segment[7:]
                if marker == 0xDA:  # DRI just before the scan
                    head.append(b"\xff\xdd\x00\x04" + interval.to_bytes(2, "big"))
                head.append(segment)
            if marker == 0xDA:
                break
        if reference_tables is None:
            reference_tables = tables
        elif tables != reference_tables:
            raise AssertionError("JPEG parts were encoded with different tables")
        if data[-2:] != b"\xff\xd9":
            raise AssertionError("JPEG encoder output does not end with EOI")
        scans.append(data[pos:-2])
    out = head
    for n, scan in enumerate(scans):
        if n:
            out.append(bytes((0xFF, 0xD0 + (n - 1) % 8)))
        out.append(scan)
    out.append(b"\xff\xd9")
    return b"".join(out)


def _write_tiff(stream, rgb: np.ndarray, icc: bytes, ifd0: Ifd) -> None:
    """Uncompressed chunky RGB TIFF of uint16 or float32 samples (SampleFormat 1 or 3)."""
    height, width = rgb.shape[:2]
    floating = rgb.dtype == np.float32
    rgb = np.ascontiguousarray(rgb, dtype="<f4" if floating else "<u2")
    bits = 8 * rgb.itemsize
    ifd0.set(254, L, 0)  # NewSubfileType: the full-resolution image
    ifd0.set(256, L, width)
    ifd0.set(257, L, height)
    ifd0.set(258, S, (bits, bits, bits))
    ifd0.set(259, S, 1)  # no compression
    ifd0.set(262, S, 2)  # RGB
    ifd0.set(277, S, 3)
    ifd0.set(284, S, 1)  # chunky
    if floating:
        ifd0.set(339, S, (3, 3, 3))  # SampleFormat: IEEE floating point
    rows = max(1, min(height, (256 * 1024) // (width * 3 * rgb.itemsize)))
    ifd0.set(278, L, rows)
    ifd0.set(ICC_PROFILE_TAG, U, icc)
    ifd0.set_strips([rgb[r : r + rows] for r in range(0, height, rows)])
    write_tiff(stream, [ifd0])


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bytes(rgb: np.ndarray, icc: bytes, exif: Ifd) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(
        ".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION]
    )
    if not ok:
        raise InvalidSetting("the PNG encoder refused this image")
    data = encoded.tobytes()
    # Signature (8) + IHDR chunk (4 length + 4 type + 13 data + 4 CRC): iCCP and eXIf go after.
    ihdr_end = 8 + 25
    if data[12:16] != b"IHDR":
        raise AssertionError("PNG encoder output does not start with IHDR")
    iccp = _png_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc))
    exif_chunk = _png_chunk(b"eXIf", _exif_tiff_bytes(exif))
    return data[:ihdr_end] + iccp + exif_chunk + data[ihdr_end:]
