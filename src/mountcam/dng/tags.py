"""Tag tables: number -> (TIFF type we write, name), kept as data.

Sources, by table:

- :data:`TIFF_TAGS`: TIFF 6.0 (Adobe, 1992) §8 "Baseline Fields" and §§ 18-22; ``SubIFDs`` from
  TIFF Technical Note 1 (Adobe PageMaker 6.0 TIFF Technical Notes, 1995); ``CFARepeatPatternDim``
  / ``CFAPattern`` from TIFF/EP (ISO 12234-2) as adopted by DNG.
- :data:`DNG_TAGS`: Adobe Digital Negative Specification 1.4.0.0 (2012), chapter 4 "Tags"
  (1.6 / 1.7 keep the same numbers and types). ``PreviewColorSpace`` is a DNG 1.2 tag.
- :data:`EXIF_TAGS`: CIPA DC-008 / JEITA CP-3451 Exif 2.32 (2019), §4.6.5 "Exif IFD Attribute
  Information"; ``SensitivityType`` and the ISO 12232 tags date from Exif 2.3, the
  ``OffsetTime*`` tags from Exif 2.31.

Where the specification allows several types (``ImageWidth`` SHORT or LONG, ``BlackLevel``
SHORT, LONG or RATIONAL, ...) the table holds the one this writer uses. :func:`put` looks a tag
up by name so that the DNG writer reads as a list of named fields, not magic numbers.
"""

from __future__ import annotations

from mountcam.dng.tiff import Ifd, TiffType

B, A, S, L = TiffType.BYTE, TiffType.ASCII, TiffType.SHORT, TiffType.LONG
R, SR, U = TiffType.RATIONAL, TiffType.SRATIONAL, TiffType.UNDEFINED
D = TiffType.DOUBLE

TIFF_TAGS: dict[int, tuple[TiffType, str]] = {
    254: (L, "NewSubfileType"),  # 0 = full-resolution image, 1 = reduced-resolution (preview)
    256: (L, "ImageWidth"),
    257: (L, "ImageLength"),
    258: (S, "BitsPerSample"),
    259: (S, "Compression"),  # 1 = none
    262: (S, "PhotometricInterpretation"),  # 2 = RGB, 32803 = CFA (TIFF/EP)
    271: (A, "Make"),
    272: (A, "Model"),
    273: (L, "StripOffsets"),  # filled in by tiff.write_tiff
    274: (S, "Orientation"),  # 1 = row 0 top, column 0 left
    277: (S, "SamplesPerPixel"),
    278: (L, "RowsPerStrip"),
    279: (L, "StripByteCounts"),  # filled in by tiff.write_tiff
    282: (R, "XResolution"),
    283: (R, "YResolution"),
    284: (S, "PlanarConfiguration"),  # 1 = chunky
    296: (S, "ResolutionUnit"),  # 2 = inch
    305: (A, "Software"),
    306: (A, "DateTime"),  # "YYYY:MM:DD HH:MM:SS"
    315: (A, "Artist"),  # the photographer (TIFF 6.0 §8; Exif 2.32 §4.6.4)
    330: (L, "SubIFDs"),  # pointer; filled in by tiff.write_tiff
    530: (S, "YCbCrSubSampling"),  # a JPEG preview's chroma subsampling (2, 2) = 4:2:0
    531: (S, "YCbCrPositioning"),  # 1 = centred (JPEG's)
    700: (B, "XMP"),  # XMP packet, UTF-8 (XMP Specification Part 3, §1.1.4)
    33421: (S, "CFARepeatPatternDim"),  # rows, cols
    33422: (B, "CFAPattern"),  # 0 = red, 1 = green, 2 = blue (indices into CFAPlaneColor)
    33432: (A, "Copyright"),  # Exif 2.32 §4.6.4: "photographer\0editor"; we write one part
    34665: (L, "ExifIFD"),  # pointer; filled in by tiff.write_tiff
}

DNG_TAGS: dict[int, tuple[TiffType, str]] = {
    50706: (B, "DNGVersion"),
    50707: (B, "DNGBackwardVersion"),
    50708: (A, "UniqueCameraModel"),
    50710: (B, "CFAPlaneColor"),
    50711: (S, "CFALayout"),  # 1 = rectangular
    50713: (S, "BlackLevelRepeatDim"),  # rows, cols
    50714: (R, "BlackLevel"),  # row-major over the repeat pattern
    50717: (L, "WhiteLevel"),
    50718: (R, "DefaultScale"),  # horizontal, vertical
    50719: (L, "DefaultCropOrigin"),  # horizontal (x), vertical (y), relative to ActiveArea
    50720: (L, "DefaultCropSize"),  # width, height
    50721: (SR, "ColorMatrix1"),  # XYZ -> camera, row-major, under CalibrationIlluminant1
    50722: (SR, "ColorMatrix2"),
    50728: (R, "AsShotNeutral"),
    50730: (SR, "BaselineExposure"),  # EV
    50733: (L, "BayerGreenSplit"),
    50778: (S, "CalibrationIlluminant1"),  # EXIF LightSource code, 21 = D65
    50779: (S, "CalibrationIlluminant2"),
    50829: (L, "ActiveArea"),  # top, left, bottom, right
    # DNG 1.2: white-balanced camera RGB -> XYZ D50, row-major, under CalibrationIlluminant1/2
    50964: (SR, "ForwardMatrix1"),
    50965: (SR, "ForwardMatrix2"),
    50970: (L, "PreviewColorSpace"),  # 1 = gamma 2.2, 2 = sRGB, 3 = Adobe RGB, 4 = ProPhoto
    # DNG 1.3: (S, O) per CFA plane colour; variance = S·x + O, x normalised to 0..1
    51041: (D, "NoiseProfile"),
    # DNG 1.3+ opcode lists (DNG 1.4 ch. 6), raw IFD; big-endian inside, see dng.opcodes
    51008: (U, "OpcodeList1"),  # applied to the raw data as read
    51009: (U, "OpcodeList2"),  # after linearisation (black/white levels)
    51022: (U, "OpcodeList3"),  # after demosaicing: lens corrections
}

EXIF_TAGS: dict[int, tuple[TiffType, str]] = {
    33434: (R, "ExposureTime"),  # seconds
    33437: (R, "FNumber"),
    34850: (S, "ExposureProgram"),
    34855: (S, "PhotographicSensitivity"),  # Exif < 2.3: ISOSpeedRatings; 65535 if larger
    34864: (S, "SensitivityType"),
    34867: (L, "ISOSpeed"),  # ISO 12232 ISO speed, LONG so values above 65535 fit
    36864: (U, "ExifVersion"),  # 4 ASCII digits, e.g. b"0232"
    36867: (A, "DateTimeOriginal"),
    36868: (A, "DateTimeDigitized"),
    36880: (A, "OffsetTime"),  # "+HH:MM", zone of DateTime
    36881: (A, "OffsetTimeOriginal"),
    36882: (A, "OffsetTimeDigitized"),
    37380: (SR, "ExposureBiasValue"),  # EV of exposure compensation
    37381: (R, "MaxApertureValue"),  # APEX Av = 2·log2(N) of the lens's widest aperture
    37382: (R, "SubjectDistance"),  # metres; numerator 0xFFFFFFFF = infinity, 0 = unknown
    37383: (S, "MeteringMode"),
    37386: (R, "FocalLength"),  # mm
    37520: (A, "SubSecTime"),
    37521: (A, "SubSecTimeOriginal"),
    37522: (A, "SubSecTimeDigitized"),
    41486: (R, "FocalPlaneXResolution"),
    41487: (R, "FocalPlaneYResolution"),
    41488: (S, "FocalPlaneResolutionUnit"),  # 2 = inch, 3 = cm
    41986: (S, "ExposureMode"),  # 0 auto, 1 manual, 2 auto bracket
    41987: (S, "WhiteBalance"),  # 0 auto, 1 manual
    41989: (S, "FocalLengthIn35mmFormat"),  # mm, 35 mm film equivalent
    42016: (A, "ImageUniqueID"),  # 32 hex digits (128 bits)
    42034: (R, "LensSpecification"),  # min/max focal (mm), f-number at min/max focal
    42035: (A, "LensMake"),
    42036: (A, "LensModel"),
    42037: (A, "LensSerialNumber"),
}

#: Every tag this package writes: number -> (type, name).
TAGS: dict[int, tuple[TiffType, str]] = {**TIFF_TAGS, **DNG_TAGS, **EXIF_TAGS}
#: Name -> number.
TAG_IDS: dict[str, int] = {name: tag for tag, (_, name) in TAGS.items()}
assert len(TAG_IDS) == len(TAGS), "duplicate tag name"

# Enumerated values, as data (names as the specifications spell them).
PHOTOMETRIC = {"RGB": 2, "YCbCr": 6, "CFA": 32803, "LinearRaw": 34892}
CFA_COLOR = {"R": 0, "G": 1, "B": 2}
#: Exif 2.32 §4.6.5 SensitivityType: 0 unknown, 1 SOS, 2 REI, 3 ISO speed, 4 SOS+REI,
#: 5 SOS+ISO speed, 6 REI+ISO speed, 7 all three.
SENSITIVITY_TYPE = {"unknown": 0, "SOS": 1, "REI": 2, "ISO speed": 3}
#: Exif 2.32 ExposureProgram.
EXPOSURE_PROGRAM = {
    "not defined": 0,
    "manual": 1,
    "normal": 2,
    "program": 2,
    "aperture priority": 3,
    "shutter priority": 4,
    "creative": 5,
    "action": 6,
    "portrait": 7,
    "landscape": 8,
}
#: Exif 2.32 MeteringMode.
METERING_MODE = {
    "unknown": 0,
    "average": 1,
    "center weighted average": 2,
    "spot": 3,
    "multi spot": 4,
    "pattern": 5,
    "matrix": 5,
    "partial": 6,
    "other": 255,
}
#: Exif 2.32 ExposureMode.
EXPOSURE_MODE = {"auto": 0, "manual": 1, "auto bracket": 2}
#: Exif 2.32 WhiteBalance.
WHITE_BALANCE = {"auto": 0, "manual": 1}
#: Exif LightSource codes used as DNG CalibrationIlluminant values.
LIGHT_SOURCE = {"D65": 21, "D50": 23, "standard light A": 17, "D55": 20, "D75": 22}


def put(ifd: Ifd, name: str, value, type_: TiffType | None = None) -> None:
    """Set field ``name`` (a name from :data:`TAGS`) of ``ifd`` with the table's type."""
    tag = TAG_IDS[name]
    ifd.set(tag, type_ or TAGS[tag][0], value)
