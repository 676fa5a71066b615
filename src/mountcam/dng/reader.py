"""Read the parts of a DNG that mountcam needs: the CFA mosaic and how to interpret it.

Built on tifffile. It finds the raw image the way DNG 1.4 §2 describes (the IFD, IFD0 or one of
its SubIFDs, with NewSubfileType 0 and PhotometricInterpretation 32803 = CFA), reads its 2×2 CFA
layout, black and white levels and default crop, the colour tags of IFD0 (ColorMatrix1,
CalibrationIlluminant1, AsShotNeutral) and the basic Exif 2.32 capture fields. Anything that is
not such a file raises :class:`~mountcam.errors.UnreadableFile` with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np

from mountcam.dng.tags import CFA_COLOR, PHOTOMETRIC, TAG_IDS
from mountcam.errors import UnreadableFile

_COLOR_LETTER = {v: k for k, v in CFA_COLOR.items()}


@dataclass
class DngInfo:
    """What :func:`read_dng` found. Geometry follows the DNG tags' own conventions:
    ``default_crop_origin`` is (x, y), ``default_crop_size`` is (width, height), both relative to
    ``active_area`` (top, left, bottom, right)."""

    path: Path
    mosaic: np.ndarray
    cfa_pattern: str
    black_level_dn: tuple[float, float, float, float]
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


def read_dng(path: str | os.PathLike) -> DngInfo:
    """Read the raw CFA image and its metadata from the DNG at ``path``."""
    import tifffile

    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(f"{path}: no such file")
    try:
        with tifffile.TiffFile(path) as tif:
            return _read(tif, path)
    except UnreadableFile:
        raise
    except tifffile.TiffFileError as exc:
        raise UnreadableFile(f"{path}: not a TIFF/DNG file ({exc})") from exc
    except Exception as exc:  # a corrupt file can fail anywhere in parsing
        raise UnreadableFile(f"{path}: damaged or truncated DNG ({exc})") from exc


def _read(tif, path: Path) -> DngInfo:
    ifd0 = tif.pages.first
    if _tag(ifd0, "DNGVersion") is None:
        raise UnreadableFile(f"{path}: a TIFF but not a DNG (no DNGVersion tag)")
    raw = _find_raw(tif)
    if raw is None:
        raise UnreadableFile(f"{path}: no CFA raw image in this DNG (linear or preview-only DNG?)")

    size = path.stat().st_size
    ends = [int(o) + int(n) for o, n in zip(raw.dataoffsets, raw.databytecounts, strict=False)]
    if not ends or max(ends) > size:
        raise UnreadableFile(
            f"{path}: truncated; the raw image needs {max(ends, default=0)} bytes, file has {size}"
        )

    dims = tuple(_tag(raw, "CFARepeatPatternDim") or (2, 2))
    pattern = bytes(_tag(raw, "CFAPattern") or b"")
    plane_colors = bytes(_tag(raw, "CFAPlaneColor") or bytes((0, 1, 2)))
    if dims != (2, 2) or len(pattern) != 4:
        raise UnreadableFile(f"{path}: CFA pattern {dims} is not a 2×2 Bayer layout")
    try:
        cfa = "".join(_COLOR_LETTER[plane_colors[i]] for i in pattern)
    except (KeyError, IndexError):
        raise UnreadableFile(f"{path}: CFA colours {list(pattern)} are not R, G, B") from None

    mosaic = raw.asarray()
    if mosaic.ndim != 2:
        raise UnreadableFile(f"{path}: raw image has shape {mosaic.shape}, expected (H, W)")
    mosaic = mosaic.astype(np.uint16, copy=False)
    height, width = mosaic.shape

    bits = _tag(raw, "BitsPerSample")
    bits = bits[0] if isinstance(bits, tuple) else bits
    white = _numbers(raw, "WhiteLevel")
    white = int(white[0]) if white else (1 << int(bits or 16)) - 1
    black = _black_levels(raw)

    area = _tag(raw, "ActiveArea")
    area = tuple(int(v) for v in area) if area is not None else (0, 0, height, width)
    crop_origin = _numbers(raw, "DefaultCropOrigin") or (0.0, 0.0)
    crop_size = _numbers(raw, "DefaultCropSize") or (
        float(area[3] - area[1]),
        float(area[2] - area[0]),
    )

    neutral = _numbers(ifd0, "AsShotNeutral")
    cm = _numbers(ifd0, "ColorMatrix1")
    exif = _exif(ifd0)
    info = DngInfo(
        path=path,
        mosaic=mosaic,
        cfa_pattern=cfa,
        black_level_dn=black,
        white_level_dn=white,
        as_shot_neutral=tuple(neutral) if neutral else None,
        color_matrix_1=np.array(cm).reshape(3, 3) if cm and len(cm) == 9 else None,
        calibration_illuminant_1=_first(_tag(ifd0, "CalibrationIlluminant1")),
        default_crop_origin=tuple(crop_origin),
        default_crop_size=tuple(crop_size),
        active_area=area,
        dng_version=tuple(bytes(_tag(ifd0, "DNGVersion"))),
        make=_tag(ifd0, "Make"),
        model=_tag(ifd0, "Model"),
        unique_camera_model=_tag(ifd0, "UniqueCameraModel"),
        software=_tag(ifd0, "Software"),
        exif=exif,
    )
    _fill_exif(info, exif)
    _fill_colour(info, ifd0, raw)
    _fill_lens_and_people(info, ifd0, raw, exif)
    if ifd0 is not raw and ifd0.photometric == PHOTOMETRIC["RGB"]:
        try:
            info.preview = ifd0.asarray()
        except Exception:  # a broken preview does not make the raw unreadable
            info.preview = None
    return info


def _find_raw(tif):
    candidates = []
    for page in tif.pages:
        candidates.append(page)
        candidates.extend(page.pages or [])
    for page in candidates:
        subfile = _tag(page, "NewSubfileType") or 0
        if page.photometric == PHOTOMETRIC["CFA"] and subfile == 0:
            return page
    return None


def _tag(page, name: str):
    tag = page.tags.get(TAG_IDS[name])
    return None if tag is None else tag.value


def _first(value):
    if isinstance(value, tuple | list):
        return value[0]
    return value


def _numbers(page, name: str) -> list[float] | None:
    """A numeric tag as a list of floats; RATIONAL/SRATIONAL pairs are divided out."""
    tag = page.tags.get(TAG_IDS[name])
    if tag is None:
        return None
    value = tag.value if isinstance(tag.value, tuple | list) else (tag.value,)
    if int(tag.dtype) in (5, 10):  # RATIONAL, SRATIONAL: tifffile gives (n, d, n, d, ...)
        return [n / d for n, d in zip(value[0::2], value[1::2], strict=True)]
    return [float(v) for v in value]


def _black_levels(raw) -> tuple[float, float, float, float]:
    values = _numbers(raw, "BlackLevel")
    if values is None:
        return (0.0, 0.0, 0.0, 0.0)
    dims = tuple(_tag(raw, "BlackLevelRepeatDim") or (1, 1))
    if dims == (1, 1) and len(values) == 1:
        return (values[0],) * 4
    if dims == (2, 2) and len(values) == 4:
        return tuple(values)
    raise UnreadableFile(f"BlackLevel with repeat {dims} and {len(values)} values is not supported")


def _exif(ifd0) -> dict:
    tag = ifd0.tags.get(TAG_IDS["ExifIFD"])
    return dict(tag.value) if tag is not None and isinstance(tag.value, dict) else {}


def _fill_exif(info: DngInfo, exif: dict) -> None:
    import tifffile

    def get(name: str):
        return exif.get(tifffile.TIFF.TAGS.get(TAG_IDS[name], name))

    def ratio(value) -> Fraction | None:
        if isinstance(value, tuple) and len(value) == 2 and value[1]:
            return Fraction(int(value[0]), int(value[1]))
        return None

    info.exposure_time = ratio(get("ExposureTime"))
    f_number = ratio(get("FNumber"))
    info.f_number = None if f_number is None else float(f_number)
    focal = ratio(get("FocalLength"))
    info.focal_mm = None if focal is None else float(focal)
    iso = get("ISOSpeed") or get("PhotographicSensitivity")
    info.iso = None if iso is None else int(_first(iso))
    info.lens_model = get("LensModel")
    stamp = get("DateTimeOriginal")
    if stamp:
        text = stamp.strip()
        subsec = (get("SubSecTimeOriginal") or "").strip()
        offset = (get("OffsetTimeOriginal") or "").strip()
        try:
            when = datetime.strptime(text, "%Y:%m:%d %H:%M:%S")
            if subsec.isdigit():
                when = when.replace(microsecond=int(subsec[:6].ljust(6, "0")))
            if offset:
                when = datetime.fromisoformat(when.isoformat() + offset)
            info.datetime_original = when
        except ValueError:
            info.datetime_original = None


def _fill_colour(info: DngInfo, ifd0, raw) -> None:
    """ColorMatrix2, CalibrationIlluminant2, ForwardMatrix1/2, BaselineExposure (IFD0) and
    NoiseProfile (IFD0, or the raw IFD where some writers put it)."""

    def matrix(name: str) -> np.ndarray | None:
        values = _numbers(ifd0, name)
        if not values or len(values) != 9 or not all(np.isfinite(values)):
            return None
        return np.array(values).reshape(3, 3)

    info.color_matrix_2 = matrix("ColorMatrix2")
    illuminant_2 = _tag(ifd0, "CalibrationIlluminant2")
    info.calibration_illuminant_2 = None if illuminant_2 is None else int(_first(illuminant_2))
    info.forward_matrix_1 = matrix("ForwardMatrix1")
    info.forward_matrix_2 = matrix("ForwardMatrix2")
    baseline = _numbers(ifd0, "BaselineExposure")
    info.baseline_exposure = float(baseline[0]) if baseline and np.isfinite(baseline[0]) else 0.0
    noise = _numbers(ifd0, "NoiseProfile") or _numbers(raw, "NoiseProfile")
    if noise and len(noise) in (2, 6) and all(np.isfinite(noise)):
        info.noise_profile = tuple(
            (float(s), float(o)) for s, o in zip(noise[0::2], noise[1::2], strict=True)
        )


def _fill_lens_and_people(info: DngInfo, ifd0, raw, exif: dict) -> None:
    """Opcode lists (raw IFD), Artist/Copyright (IFD0), lens and ID fields (Exif IFD)."""
    import tifffile

    for n in (1, 2, 3):
        value = _tag(raw, f"OpcodeList{n}")
        if value is not None:
            setattr(info, f"opcode_list_{n}", bytes(value))

    def text(value) -> str | None:
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        return value.strip("\0 ") or None if isinstance(value, str) else None

    info.artist = text(_tag(ifd0, "Artist"))
    info.copyright = text(_tag(ifd0, "Copyright"))

    def get(name: str):
        return exif.get(tifffile.TIFF.TAGS.get(TAG_IDS[name], name))

    info.lens_make = text(get("LensMake"))
    info.lens_serial_number = text(get("LensSerialNumber"))
    info.image_unique_id = text(get("ImageUniqueID"))
    spec = get("LensSpecification")
    if isinstance(spec, tuple) and len(spec) == 8 and all(spec[1::2]):
        info.lens_specification = tuple(n / d for n, d in zip(spec[0::2], spec[1::2], strict=True))
    f35 = _first(get("FocalLengthIn35mmFormat"))
    # A damaged optional field is left out rather than making the raw image unreadable.
    info.focal_length_35mm = int(f35) if isinstance(f35, int) else None
