"""Write a :class:`~mountcam.sensor.rawframe.RawFrame` as a DNG file.

Structure (DNG 1.4 §2 "File Structure", the layout Adobe recommends and its converter writes)::

    IFD0      NewSubfileType 1: small 8-bit sRGB preview (strips) + the camera-wide tags
              (DNGVersion, Make/Model, UniqueCameraModel, ColorMatrix1, AsShotNeutral, ...)
      SubIFDs[0]  NewSubfileType 0: the raw CFA mosaic, 16-bit uncompressed strips or lossless
                  JPEG tiles, with the raw-image tags (CFA layout, BlackLevel, WhiteLevel,
                  DefaultCrop, ActiveArea, OpcodeList3)
      ExifIFD     exposure, aperture, ISO, capture time, focal length (Exif 2.32)

Tag names, numbers and types are in :mod:`mountcam.dng.tags` (DNG 1.4 chapter 4, TIFF 6.0,
Exif 2.32); the TIFF container is :mod:`mountcam.dng.tiff`. The layout, the compression and the
choices behind them are described in docs/dng.md ("Structure and compression"); the speed at
50 MP against PiDNG is measured by ``bench/dng_write_speed.py`` (docs/benchmarks.md).

The file is written to a temporary name in the target folder, flushed and fsynced, then moved
into place, so a reader never sees a half-written DNG and a failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import math
import os
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np

from mountcam import __version__
from mountcam.atomic_file import atomic_output
from mountcam.dng.calibration import BASELINE_EXPOSURE_EV, ColorCalibration
from mountcam.dng.noise_profile import noise_profile_for_frame
from mountcam.dng.preview import render_preview
from mountcam.dng.tags import (
    CFA_COLOR,
    EXPOSURE_MODE,
    EXPOSURE_PROGRAM,
    METERING_MODE,
    PHOTOMETRIC,
    SENSITIVITY_TYPE,
    TAG_IDS,
    WHITE_BALANCE,
    put,
)
from mountcam.dng.tiff import Ifd, write_tiff
from mountcam.dng.xmp import xmp_packet
from mountcam.errors import OutputExists
from mountcam.sensor.rawframe import RawFrame

#: Pixels left outside DefaultCrop on every side, room for a demosaic's edge effects. The CLI
#: writes its ground-truth TIFF on exactly this grid (rows/cols ``[8, H-8)``, ``[8, W-8)``).
DEMOSAIC_MARGIN_PX = 8
#: Widest preview written to IFD0.
PREVIEW_MAX_WIDTH_PX = 256
#: Width of the JPEG preview in a second SubIFD, the size cameras embed for viewers and file
#: managers (Adobe DNG Converter's "medium size" preview is 1024 px).
JPEG_PREVIEW_MAX_WIDTH_PX = 1024
#: Its JPEG quality (Pillow's scale, as libjpeg's).
JPEG_PREVIEW_QUALITY = 90
#: Target size of one strip; strips are whole rows, so the real size is within one row of it.
STRIP_TARGET_BYTES = 256 * 1024
#: Side of the square lossless-JPEG tiles of the raw image: the smallest files of 64..2048 on a
#: 50 MP twin frame (docs/dng.md, "Structure and compression", has the measurements).
LJPEG_TILE_PX = 256
DNG_VERSION = (1, 4, 0, 0)
#: Oldest DNG reader version that can read these files: nothing here needs more than 1.1.
DNG_BACKWARD_VERSION = (1, 1, 0, 0)
EXIF_VERSION = b"0231"  # OffsetTime* tags are Exif 2.31
#: Fixed denominator for matrices and neutrals (what Adobe's converter uses for ColorMatrix).
MATRIX_DENOMINATOR = 10_000
NEUTRAL_DENOMINATOR = 1_000_000


#: Default of the lens and calibration keywords: what the frame itself carries.
FROM_FRAME = object()


def write_dng(
    frame: RawFrame,
    path: str | os.PathLike,
    *,
    calibration: ColorCalibration | None = None,
    overwrite: bool = False,
    software: str | None = None,
    lens_profile=FROM_FRAME,
    lens_state=FROM_FRAME,
    lens_corrections: bool = True,
    artist: str | None = None,
    copyright: str | None = None,
    compression: str = "none",
) -> Path:
    """Write ``frame`` to ``path`` as a DNG; returns the path written.

    Everything the file says comes from the frame: its mosaic, metadata, the lens the camera
    believes in (``frame.lens`` / ``frame.lens_state``) and its colour calibration
    (``frame.calibration``; the sensor preset's when the frame has none). The keywords below
    override those. (A twin's truth record is not part of a frame, so it cannot reach a file.)

    ``lens_profile`` (:class:`~mountcam.optics.lens.LensProfile`) is the lens the camera
    believes is attached and ``lens_state`` (:class:`~mountcam.optics.lens.LensState`) how it
    believes it is set (the f-number it read or estimated); with them the EXIF gets LensMake,
    LensSpecification and MaxApertureValue and, unless ``lens_corrections`` is false, the raw
    IFD gets the corrections of that lens (:func:`mountcam.dng.opcodes.fit_lens_opcodes`): its
    shading as four GainMaps in OpcodeList2 (what darktable and phones' readers apply) and its
    distortion and lateral colour as a WarpRectilinear in OpcodeList3 (docs/interop.md). The
    preview in IFD0 is brightened by the BaselineExposure and shading-corrected, as the
    developed picture will be (RawTherapee matches its tone curve to it). ``artist`` / ``copyright`` go to the TIFF
    Artist / Copyright tags and the XMP's dc:creator / dc:rights.

    ``compression`` is ``"none"`` (raw image in uncompressed strips) or ``"ljpeg"`` (lossless
    JPEG tiles, Compression 7; see :func:`_put_raw_image` and :mod:`mountcam.dng.ljpeg`).

    Raises :class:`~mountcam.errors.OutputExists` if ``path`` exists and ``overwrite`` is false
    (the existing file is left untouched, also when it appears while we write). ``software``
    defaults to ``"mountcam <version>"``. Malformed frames raise ``ValueError``; I/O problems
    raise ``OSError``. On any error the temporary file is removed.
    """
    path = Path(path)
    if path.exists() and not overwrite:  # before the work of building the file
        raise OutputExists(f"{path} already exists; choose another name or allow overwriting")
    root = build_dng(
        frame,
        calibration=calibration,
        software=software,
        lens_profile=lens_profile,
        lens_state=lens_state,
        lens_corrections=lens_corrections,
        artist=artist,
        copyright=copyright,
        compression=compression,
    )

    with atomic_output(path, overwrite=overwrite) as stream:
        write_tiff(stream, [root])
    return path


def _jpeg_preview_ifd(frame: RawFrame, calibration: ColorCalibration) -> Ifd | None:
    """A SubIFD holding a JPEG preview up to :data:`JPEG_PREVIEW_MAX_WIDTH_PX` wide (DNG 1.4
    §2 "File Structure": previews beside the raw in SubIFDs, NewSubfileType 1; JPEG as TIFF
    Technical Note 2 compression 7, one strip holding the whole JPEG stream, YCbCr 4:2:0, as
    Adobe DNG Converter writes it), or None when the frame is too small to need more than
    IFD0's thumbnail."""
    md = frame.metadata
    if frame.width // 2 <= PREVIEW_MAX_WIDTH_PX:
        return None
    import io

    from PIL import Image

    pixels = render_preview(
        frame.mosaic,
        frame.cfa_pattern,
        frame.black_level_dn,
        frame.white_level_dn,
        md.as_shot_neutral,
        calibration.color_matrix_for(md.as_shot_neutral),
        JPEG_PREVIEW_MAX_WIDTH_PX,
    )
    stream = io.BytesIO()
    Image.fromarray(pixels).save(stream, "JPEG", quality=JPEG_PREVIEW_QUALITY, subsampling=2)
    height, width = pixels.shape[:2]
    ifd = Ifd()
    put(ifd, "NewSubfileType", 1)
    put(ifd, "ImageWidth", width)
    put(ifd, "ImageLength", height)
    put(ifd, "BitsPerSample", (8, 8, 8))
    put(ifd, "Compression", 7)
    put(ifd, "PhotometricInterpretation", PHOTOMETRIC["YCbCr"])
    put(ifd, "SamplesPerPixel", 3)
    put(ifd, "PlanarConfiguration", 1)
    put(ifd, "RowsPerStrip", height)
    put(ifd, "YCbCrSubSampling", (2, 2))
    put(ifd, "YCbCrPositioning", 1)
    put(ifd, "PreviewColorSpace", 2)  # sRGB
    ifd.set_strips([stream.getvalue()])
    return ifd


def dng_bytes_upper_bound(width: int, height: int, compression: str = "none") -> int:
    """At most this many bytes for :func:`write_dng` of a ``width`` × ``height`` frame: the raw
    at 16 bits a sample (lossless JPEG at most 2.5 bytes, its worst Huffman case for 16-bit
    codes), the previews (at most 3 bytes a pixel) and 256 kB for tags, EXIF, XMP and opcodes."""
    per_sample = 2.0 if compression == "none" else 2.5
    preview_px = PREVIEW_MAX_WIDTH_PX * PREVIEW_MAX_WIDTH_PX
    return int(width * height * per_sample) + 3 * preview_px + 256_000


def _put_image(ifd: Ifd, pixels: np.ndarray, bits: int, photometric: str) -> None:
    """Size, sample layout and uncompressed strips of an (H, W) or (H, W, C) image
    (TIFF 6.0 §3 baseline fields; chunky samples)."""
    height, width = pixels.shape[:2]
    samples = 1 if pixels.ndim == 2 else pixels.shape[2]
    put(ifd, "ImageWidth", width)
    put(ifd, "ImageLength", height)
    put(ifd, "BitsPerSample", bits if samples == 1 else (bits,) * samples)
    put(ifd, "Compression", 1)
    put(ifd, "PhotometricInterpretation", PHOTOMETRIC[photometric])
    put(ifd, "SamplesPerPixel", samples)
    put(ifd, "PlanarConfiguration", 1)
    rows = _rows_per_strip(width * samples * pixels.itemsize, height)
    put(ifd, "RowsPerStrip", rows)
    ifd.set_strips([pixels[r : r + rows] for r in range(0, height, rows)])


def build_dng(
    frame: RawFrame,
    *,
    calibration: ColorCalibration | None = None,
    software: str | None = None,
    lens_profile=FROM_FRAME,
    lens_state=FROM_FRAME,
    lens_corrections: bool = True,
    artist: str | None = None,
    copyright: str | None = None,
    compression: str = "none",
) -> Ifd:
    """The DNG's IFD tree (IFD0 with its raw SubIFD and EXIF IFD), ready for ``write_tiff``.
    The keywords are those of :func:`write_dng`."""
    _check_frame(frame)
    if calibration is None:
        calibration = frame_calibration(frame)
    if lens_profile is FROM_FRAME:
        lens_profile = frame.lens
    if lens_state is FROM_FRAME:
        lens_state = frame.lens_state
    md = frame.metadata
    mosaic = np.ascontiguousarray(frame.mosaic, dtype="<u2")
    height, width = mosaic.shape

    raw = Ifd()
    put(raw, "NewSubfileType", 0)
    _put_raw_image(raw, mosaic, frame.white_level_dn, compression)
    put(raw, "CFARepeatPatternDim", (2, 2))
    put(raw, "CFAPattern", bytes(CFA_COLOR[c] for c in frame.cfa_pattern))
    put(raw, "CFAPlaneColor", bytes((0, 1, 2)))
    put(raw, "CFALayout", 1)
    put(raw, "BlackLevelRepeatDim", (2, 2))
    put(raw, "BlackLevel", [_exact(b) for b in frame.black_level_dn])
    put(raw, "WhiteLevel", int(frame.white_level_dn))
    put(raw, "DefaultScale", (1, 1))
    m = DEMOSAIC_MARGIN_PX
    put(raw, "DefaultCropOrigin", (m, m))
    put(raw, "DefaultCropSize", (width - 2 * m, height - 2 * m))
    put(raw, "ActiveArea", (0, 0, height, width))

    ifd0 = Ifd()
    lens_fit = _put_lens_opcodes(raw, frame, lens_profile, lens_state, lens_corrections)
    preview = render_preview(
        mosaic,
        frame.cfa_pattern,
        frame.black_level_dn,
        frame.white_level_dn,
        md.as_shot_neutral,
        calibration.color_matrix_for(md.as_shot_neutral),
        PREVIEW_MAX_WIDTH_PX,
        exposure_ev=BASELINE_EXPOSURE_EV,
        gain=lens_fit.shading if lens_fit is not None else None,
    )
    put(ifd0, "NewSubfileType", 1)
    _put_image(ifd0, preview, 8, "RGB")
    put(ifd0, "XResolution", 72)
    put(ifd0, "YResolution", 72)
    put(ifd0, "ResolutionUnit", 2)
    put(ifd0, "Orientation", 1)
    put(ifd0, "Make", "mountcam")
    put(ifd0, "Model", f"mountcam twin {md.module}")
    put(ifd0, "Software", software or f"mountcam {__version__}")
    put(ifd0, "DateTime", _exif_datetime(md.timestamp))
    put(ifd0, "DNGVersion", bytes(DNG_VERSION))
    put(ifd0, "DNGBackwardVersion", bytes(DNG_BACKWARD_VERSION))
    put(ifd0, "UniqueCameraModel", f"mountcam {md.sensor} twin")
    put(ifd0, "ColorMatrix1", _fixed(calibration.color_matrix_1, MATRIX_DENOMINATOR))
    put(ifd0, "CalibrationIlluminant1", int(calibration.calibration_illuminant_1))
    if calibration.color_matrix_2 is not None:
        put(ifd0, "ColorMatrix2", _fixed(calibration.color_matrix_2, MATRIX_DENOMINATOR))
        put(ifd0, "CalibrationIlluminant2", int(calibration.calibration_illuminant_2))
    put(ifd0, "AsShotNeutral", _fixed(md.as_shot_neutral, NEUTRAL_DENOMINATOR))
    _put_colour_and_noise(ifd0, frame, calibration)
    put(ifd0, "PreviewColorSpace", 2)  # sRGB
    if lens_fit is not None and (lens_fit.ops or lens_fit.list2):
        # Opcodes are DNG 1.3; a reader of an older version would not apply them.
        put(ifd0, "DNGBackwardVersion", bytes(OPCODE_BACKWARD_VERSION))
    _put_people(ifd0, artist, copyright)
    put(
        ifd0,
        "XMP",
        xmp_packet(
            frame,
            artist=artist,
            copyright=copyright,
            lens_fit=lens_fit,
            max_aperture_apex=apex_aperture_value(lens_profile.max_f) if lens_profile else None,
        ),
    )
    ifd0.add_child(TAG_IDS["SubIFDs"], raw)
    jpeg_preview = _jpeg_preview_ifd(frame, calibration)
    if jpeg_preview is not None:
        ifd0.add_child(TAG_IDS["SubIFDs"], jpeg_preview)
    exif = build_exif(frame)
    _put_lens_exif(exif, frame, lens_profile)
    ifd0.add_child(TAG_IDS["ExifIFD"], exif)
    return ifd0


def frame_calibration(frame: RawFrame) -> ColorCalibration:
    """The frame's colour calibration, or its sensor preset's (dual illuminant, A and D65)."""
    if frame.calibration is not None:
        return frame.calibration
    from mountcam.dng.calibration import calibrate_dual
    from mountcam.sensor.model import load_sensor

    return calibrate_dual(load_sensor(frame.metadata.sensor).qe)


def _put_colour_and_noise(ifd0: Ifd, frame: RawFrame, calibration: ColorCalibration) -> None:
    """ForwardMatrix1/2, BaselineExposure and NoiseProfile (DNG 1.4 ch. 4 and 6; see
    :mod:`mountcam.dng.calibration` and :mod:`mountcam.dng.noise_profile`)."""
    for n in (1, 2):
        forward = getattr(calibration, f"forward_matrix_{n}")
        if forward is not None:
            put(ifd0, f"ForwardMatrix{n}", _fixed(forward, MATRIX_DENOMINATOR))
    put(ifd0, "BaselineExposure", _exact(BASELINE_EXPOSURE_EV))
    profile = noise_profile_for_frame(frame)
    if profile is not None:
        put(ifd0, "NoiseProfile", [v for pair in profile for v in pair])


def _put_raw_image(ifd: Ifd, mosaic: np.ndarray, white_level_dn: int, compression: str) -> None:
    """The raw CFA image: uncompressed 16-bit strips, or lossless JPEG tiles.

    ``"ljpeg"`` follows DNG 1.4 §3 "Compression" (value 7, lossless Huffman JPEG) the way
    Adobe's DNG SDK writes it: tiles of at most :data:`LJPEG_TILE_PX` a side (TIFF 6.0 §15,
    sized by :func:`_ljpeg_tile_side`; edge tiles full size), each tile one lossless JPEG of
    half the tile's width with 2 interleaved components, so that predictor 1 predicts from the
    same CFA colour; precision and BitsPerSample are the bits needed for ``white_level_dn``.
    Uncompressed images stay in strips: they are views of the mosaic, written without a copy
    (tiling them would cost one).
    """
    if compression == "none":
        _put_image(ifd, mosaic, 16, "CFA")
        return
    from mountcam.errors import InvalidSetting

    if compression != "ljpeg":
        raise InvalidSetting(f"compression must be 'none' or 'ljpeg', got {compression!r}")
    from mountcam.dng.ljpeg import encode_tiles

    height, width = mosaic.shape
    precision = max(8, int(white_level_dn).bit_length())
    tile_w = _ljpeg_tile_side(width, fit_inside=True)
    tile_h = _ljpeg_tile_side(height, fit_inside=False)
    tiles = encode_tiles(mosaic, tile_h, tile_w, precision, components=2)
    put(ifd, "ImageWidth", width)
    put(ifd, "ImageLength", height)
    put(ifd, "BitsPerSample", precision)
    put(ifd, "Compression", 7)
    put(ifd, "PhotometricInterpretation", PHOTOMETRIC["CFA"])
    put(ifd, "SamplesPerPixel", 1)
    put(ifd, "PlanarConfiguration", 1)
    ifd.set_tiles(tiles, tile_w, tile_h)


def _ljpeg_tile_side(size_px: int, *, fit_inside: bool) -> int:
    """A tile side for ``size_px`` pixels: a multiple of 16 (TIFF 6.0 §15) of at most
    :data:`LJPEG_TILE_PX`, as even as possible so that the padded edge tiles waste little.

    With ``fit_inside`` the side is also at most ``size_px``: LibRaw (``lossless_dng_load_raw``)
    wraps a tile's rows at the image width, so a tile wider than the image decodes garbled.
    """
    count = math.ceil(size_px / LJPEG_TILE_PX)
    per_tile_px = math.ceil(size_px / count)
    side = math.ceil(per_tile_px / 16) * 16
    if fit_inside and side > size_px:
        side = max(16, size_px // 16 * 16)
    return side


def build_exif(frame: RawFrame) -> Ifd:
    """The EXIF IFD (Exif 2.32 §4.6.5) for ``frame``'s capture metadata.

    ``metadata.exposure_program`` and ``metadata.metering_mode`` (names from
    :data:`~mountcam.dng.tags.EXPOSURE_PROGRAM` / :data:`~mountcam.dng.tags.METERING_MODE`,
    or the Exif codes; ``metadata.extra`` may carry them too) are written when present.
    """
    md = frame.metadata
    exif = Ifd()
    put(exif, "ExifVersion", EXIF_VERSION)
    put(exif, "ExposureTime", exposure_time_fraction(md.exposure_s))
    if md.f_number > 0:
        put(exif, "FNumber", md.f_number)
    if md.iso > 0:
        # Exif 2.32 §4.6.5: PhotographicSensitivity holds the value, or 65535 when it does not
        # fit a SHORT; SensitivityType says which ISO 12232 quantity it is. The twin reports the
        # saturation-based ISO speed (ISO 12232 "ISO speed", S_sat = 78 / H_sat), type 3, whose
        # full value goes in ISOSpeed (LONG).
        iso = max(1, round(md.iso))
        put(exif, "PhotographicSensitivity", min(iso, 65535))
        put(exif, "SensitivityType", SENSITIVITY_TYPE["ISO speed"])
        put(exif, "ISOSpeed", iso)
    for key, tag, table in (
        ("exposure_program", "ExposureProgram", EXPOSURE_PROGRAM),
        ("metering_mode", "MeteringMode", METERING_MODE),
    ):
        value = getattr(md, key, None) or md.extra.get(key)
        if value is not None:
            put(exif, tag, table[value.lower()] if isinstance(value, str) else int(value))
    when = md.timestamp
    for suffix in ("Original", "Digitized"):
        put(exif, f"DateTime{suffix}", _exif_datetime(when))
        put(exif, f"SubSecTime{suffix}", f"{when.microsecond:06d}")
        if when.utcoffset() is not None:
            put(exif, f"OffsetTime{suffix}", _exif_offset(when))
    if when.utcoffset() is not None:
        put(exif, "OffsetTime", _exif_offset(when))
    put(exif, "ExposureBiasValue", Fraction(float(md.exposure_bias_ev)).limit_denominator(1000))
    if md.focus_m is not None and md.focus_m > 0:
        put(exif, "SubjectDistance", subject_distance(md.focus_m))
    if md.focal_mm > 0:
        put(exif, "FocalLength", md.focal_mm)
    if md.pixel_pitch_m > 0:
        per_cm = 0.01 / md.pixel_pitch_m
        put(exif, "FocalPlaneXResolution", per_cm)
        put(exif, "FocalPlaneYResolution", per_cm)
        put(exif, "FocalPlaneResolutionUnit", 3)  # cm
    if md.lens_name:
        put(exif, "LensModel", md.lens_name)
    _put_capture_exif(exif, frame)
    return exif


def _put_capture_exif(exif: Ifd, frame: RawFrame) -> None:
    """ExposureMode, WhiteBalance, FocalLengthIn35mmFormat, ImageUniqueID (Exif 2.32 §4.6.5)."""
    md = frame.metadata
    metered = md.metered if md.metered is not None else md.extra.get("metered")
    if metered is not None:
        put(exif, "ExposureMode", EXPOSURE_MODE["auto" if metered else "manual"])
    # AsShotNeutral from the camera's own estimate (auto) or a preset / colour temperature.
    wb = md.extra.get("white_balance", md.white_balance)
    put(exif, "WhiteBalance", WHITE_BALANCE[wb] if isinstance(wb, str) else int(wb))
    crop = crop_factor(frame)
    if md.focal_mm > 0 and crop is not None:
        put(exif, "FocalLengthIn35mmFormat", min(65535, round(md.focal_mm * crop)))
    put(exif, "ImageUniqueID", image_unique_id(frame))


def crop_factor(frame: RawFrame) -> float | None:
    """35 mm diagonal (43.27 mm) over the diagonal of the whole sensor the frame comes from
    (``full_size`` × ``pixel_pitch_m``; ≈ 2.64 for the 1-inch IMX989), or None if unknown.
    Exif's FocalLengthIn35mmFormat scales by the diagonal (CIPA DC-008 §4.6.5, as cameras do)."""
    md = frame.metadata
    rows, cols = md.full_size if all(md.full_size) else (frame.height, frame.width)
    if not md.pixel_pitch_m > 0:
        return None
    return math.hypot(36.0, 24.0) / (math.hypot(rows, cols) * md.pixel_pitch_m * 1e3)


def image_unique_id(frame: RawFrame) -> str:
    """ImageUniqueID: 128 bits as 32 hex digits (Exif 2.32 §4.6.5 "ImageUniqueID").

    It names the *capture*, not the file: the first 128 bits of SHA-256 over the camera, the
    capture time to the microsecond, the simulation seed and frame index. The same frame
    written twice (say once uncompressed, once ljpeg) keeps its ID; two captures differ in
    time or frame index. ``metadata.extra["image_unique_id"]`` (32 hex digits, e.g. from a
    hardware backend) is used as it is.
    """
    md = frame.metadata
    given = md.extra.get("image_unique_id")
    if given:
        text = str(given).lower()
        if len(text) != 32 or any(ch not in "0123456789abcdef" for ch in text):
            raise ValueError(f"image_unique_id must be 32 hex digits, got {given!r}")
        return text
    key = "|".join(
        str(v)
        for v in (
            md.sensor,
            md.module,
            md.timestamp.isoformat(timespec="microseconds"),
            md.seed,
            md.frame_index,
            md.exposure_s,
            md.iso,
        )
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


#: DNGBackwardVersion of a file with opcode lists (they are DNG 1.3 features).
OPCODE_BACKWARD_VERSION = (1, 3, 0, 0)


def _put_lens_opcodes(raw: Ifd, frame: RawFrame, profile, state, enabled: bool):
    """OpcodeList3 in the raw IFD correcting ``profile`` at ``state``; returns the fit or None."""
    if profile is None or not enabled:
        return None
    from mountcam.dng.opcodes import encode_opcode_list, lens_opcodes_for_frame
    from mountcam.optics.lens import LensState

    fit = lens_opcodes_for_frame(frame, profile, state or LensState(frame.metadata.f_number))
    if fit.list2:
        put(raw, "OpcodeList2", encode_opcode_list(fit.list2))
    if fit.ops:
        put(raw, "OpcodeList3", encode_opcode_list(fit.ops))
    return fit


def _put_people(ifd0: Ifd, artist: str | None, copyright: str | None) -> None:
    """TIFF Artist and Copyright, which TIFF 6.0 and Exif 2.32 define as 7-bit ASCII: the text
    is transliterated (:func:`ascii_text`); the XMP keeps it exactly."""
    if artist:
        put(ifd0, "Artist", ascii_text(artist))
    if copyright:
        put(ifd0, "Copyright", ascii_text(copyright))


_ASCII_SIGNS = {"©": "(c)", "®": "(r)", "℗": "(p)", "™": "(tm)", "–": "-", "—": "-"}


def ascii_text(text: str) -> str:
    """``text`` in 7-bit ASCII: © → (c), accents dropped (Ä → A), anything else → '?'."""
    import unicodedata

    for sign, plain in _ASCII_SIGNS.items():
        text = text.replace(sign, plain)
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return text.encode("ascii", errors="replace").decode("ascii")


def lens_make(profile) -> str:
    """Who made the lens: Leica for M lenses, lensfun's maker for adapted ones, else mountcam."""
    if profile.mount == "M":
        return "Leica"
    if profile.lensfun is not None and profile.lensfun.maker:
        return profile.lensfun.maker
    return "mountcam"


def lens_specification(profile) -> tuple[float, float, float, float]:
    """Exif LensSpecification: shortest and longest focal length (mm), smallest f-number at
    each (the catalogue has one maximum aperture per lens)."""
    focals = profile.focal_settings_mm or profile.focal_range_mm or (profile.focal_mm,)
    return (min(focals), max(focals), profile.max_f, profile.max_f)


def _put_lens_exif(exif: Ifd, frame: RawFrame, profile) -> None:
    """LensMake, LensSpecification, MaxApertureValue (APEX), LensSerialNumber when known."""
    serial = frame.metadata.extra.get("lens_serial_number")
    if serial:
        put(exif, "LensSerialNumber", str(serial))
    if profile is None:
        return
    put(exif, "LensMake", lens_make(profile))
    put(exif, "LensSpecification", [_exact(v) for v in lens_specification(profile)])
    put(exif, "MaxApertureValue", max(Fraction(0), apex_aperture_value(profile.max_f)))


def apex_aperture_value(f_number: float) -> Fraction:
    """APEX aperture value Av = 2·log2(N) of f-number N (Exif 2.32 Annex C), to 1e-6.

    Exif's MaxApertureValue is an unsigned RATIONAL (Exif 2.32 §4.6.5, tag 0x9205), so a lens
    faster than f/1 (the Noctilux-M 50 f/0.95: Av = −0.148) cannot be stated there: the EXIF
    gets 0 (f/1.0, the widest it can hold; exiftool likewise refuses to write a negative
    MaxApertureValue, "Must be a positive number"), LensSpecification keeps the exact 0.95 and
    the XMP's ``exif:MaxApertureValue`` (an XMP Rational, which may be negative) the exact Av.
    """
    return Fraction(round(2 * math.log2(f_number) * 1e6), 1_000_000)


#: Exif 2.32 §4.6.5 SubjectDistance: a numerator of FFFFFFFF.H means infinity.
SUBJECT_DISTANCE_INFINITY = Fraction(0xFFFFFFFF, 1)


def subject_distance(focus_m: float) -> Fraction:
    """Exif SubjectDistance of a lens focused at ``focus_m`` metres: the distance to the mm as
    an exact fraction, or the infinity mark (Exif 2.32 §4.6.5, tag 0x9206)."""
    if math.isinf(focus_m):
        return SUBJECT_DISTANCE_INFINITY
    return Fraction(round(float(focus_m) * 1000), 1000)


def exposure_time_fraction(exposure_s: float) -> Fraction:
    """Exact rational exposure time: 1/250 s -> 1/250, 2 s -> 2/1, 0.3 s -> 3/10."""
    if not (math.isfinite(exposure_s) and exposure_s > 0):
        raise ValueError(f"exposure time must be positive, got {exposure_s!r} s")
    return Fraction(exposure_s).limit_denominator(1_000_000)


def _rows_per_strip(row_bytes: int, rows: int) -> int:
    return max(1, min(rows, STRIP_TARGET_BYTES // row_bytes))


def _exact(value: float) -> Fraction:
    return Fraction(float(value)).limit_denominator(65_536)


def _fixed(values, denominator: int) -> list[Fraction]:
    flat = np.asarray(values, dtype=np.float64).ravel()
    return [Fraction(round(v * denominator), denominator) for v in flat]


def _exif_datetime(when: datetime) -> str:
    return when.strftime("%Y:%m:%d %H:%M:%S")


def _exif_offset(when: datetime) -> str:
    minutes = round(when.utcoffset().total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _check_frame(frame: RawFrame) -> None:
    mosaic = frame.mosaic
    if mosaic.ndim != 2 or mosaic.dtype != np.uint16:
        raise ValueError(f"mosaic must be a 2-D uint16 array, got {mosaic.dtype} {mosaic.shape}")
    pattern = frame.cfa_pattern
    if len(pattern) != 4 or set(pattern) != {"R", "G", "B"}:
        raise ValueError(f"cfa_pattern must be a 2×2 pattern such as 'RGGB', got {pattern!r}")
    min_side = 2 * DEMOSAIC_MARGIN_PX + 2
    if frame.height < min_side or frame.width < min_side:
        raise ValueError(
            f"a {frame.width}×{frame.height} frame is too small for a DNG with a "
            f"{DEMOSAIC_MARGIN_PX} px crop margin (minimum {min_side}×{min_side})"
        )
    white = frame.white_level_dn
    if not 0 < white <= 65535:
        raise ValueError(f"white level {white} is outside 1..65535")
    blacks = tuple(frame.black_level_dn)
    if len(blacks) != 4 or not all(0 <= b < white for b in blacks):
        raise ValueError(f"black levels {blacks} must be 4 values in [0, white level)")
    neutral = frame.metadata.as_shot_neutral
    if len(neutral) != 3 or not all(math.isfinite(v) and v > 0 for v in neutral):
        raise ValueError(f"as_shot_neutral {neutral} must be 3 positive numbers")
