"""DNGs as other cameras write them, made in the tests: CFA files with the tags mountcam's own
writer never sets (Orientation, OpcodeList2, channels that clip below WhiteLevel) and LinearRaw
files (three samples, strips or tiles, uncompressed, lossless JPEG or lossy baseline JPEG).

Written with mountcam's general TIFF writer (:mod:`mountcam.dng.tiff`, which knows nothing of
DNG), raw image in IFD0 as many phones and action cameras do. Imported by the tests; holds no
tests itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mountcam.dng.tiff import Ifd, TiffType, write_tiff

# Linear sRGB (D65) -> XYZ, IEC 61966-2-1: a "camera" whose raw RGB is linear sRGB has
# ColorMatrix1 = the inverse, and develops to exactly the RGB that was put in.
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
CFA_CODES = {"R": 0, "G": 1, "B": 2}
S, L, B, U, R, SR = (
    TiffType.SHORT,
    TiffType.LONG,
    TiffType.BYTE,
    TiffType.UNDEFINED,
    TiffType.RATIONAL,
    TiffType.SRATIONAL,
)
#: Compression codes (TIFF 6.0 §3; DNG 1.4 §3 for 34892, "lossy JPEG").
UNCOMPRESSED, LOSSLESS_JPEG, LOSSY_JPEG = 1, 7, 34892


def mosaic_of(rgb: np.ndarray, pattern: str = "RGGB") -> np.ndarray:
    """The CFA samples (float) of linear camera RGB ``rgb`` (H, W, 3) under ``pattern``."""
    cfa = np.empty(rgb.shape[:2], dtype=np.float64)
    for k, letter in enumerate(pattern):
        i, j = divmod(k, 2)
        cfa[i::2, j::2] = rgb[i::2, j::2, CFA_CODES[letter]]
    return cfa


def _common(ifd: Ifd, *, neutral, orientation, colour_matrix, make: str) -> None:
    cm = np.linalg.inv(SRGB_TO_XYZ) if colour_matrix is None else np.asarray(colour_matrix)
    ifd.set(254, L, 0)  # NewSubfileType: the full-resolution image
    ifd.set(271, TiffType.ASCII, make)
    ifd.set(272, TiffType.ASCII, "T1")
    if orientation is not None:
        ifd.set(274, S, orientation)
    ifd.set(50706, B, (1, 4, 0, 0))  # DNGVersion
    ifd.set(50707, B, (1, 1, 0, 0))  # DNGBackwardVersion
    ifd.set(50708, TiffType.ASCII, f"{make} T1")  # UniqueCameraModel
    ifd.set(50721, SR, [float(v) for v in cm.ravel()])  # ColorMatrix1
    ifd.set(50728, R, [float(v) for v in neutral])  # AsShotNeutral
    ifd.set(50778, S, 21)  # CalibrationIlluminant1 = D65


def write_cfa_dng(
    path: Path,
    mosaic: np.ndarray,
    *,
    pattern: str = "RGGB",
    black: int = 0,
    white: int = 4095,
    orientation: int | None = None,
    opcode_list_2: bytes | None = None,
    neutral=(1.0, 1.0, 1.0),
    colour_matrix=None,
    bits: int = 16,
) -> Path:
    """A CFA DNG holding the uint16 ``mosaic`` (raw DN) in IFD0, uncompressed strips."""
    mosaic = np.ascontiguousarray(mosaic, dtype=np.uint16)
    h, w = mosaic.shape
    ifd = Ifd()
    _common(
        ifd, neutral=neutral, orientation=orientation, colour_matrix=colour_matrix, make="Other"
    )
    ifd.set(256, L, w)
    ifd.set(257, L, h)
    ifd.set(258, S, bits)
    ifd.set(259, S, UNCOMPRESSED)
    ifd.set(262, S, 32803)  # PhotometricInterpretation: CFA
    ifd.set(277, S, 1)
    ifd.set(278, L, h)
    ifd.set(284, S, 1)
    ifd.set(33421, S, (2, 2))  # CFARepeatPatternDim
    ifd.set(33422, B, [CFA_CODES[c] for c in pattern])  # CFAPattern
    ifd.set(50710, B, (0, 1, 2))  # CFAPlaneColor
    ifd.set(50711, S, 1)  # CFALayout
    ifd.set(50714, L, black)  # BlackLevel
    ifd.set(50717, L, white)  # WhiteLevel
    if opcode_list_2 is not None:
        ifd.set(51009, U, opcode_list_2)
    ifd.set_strips([mosaic.astype("<u2").tobytes()])
    with open(path, "wb") as f:
        write_tiff(f, [ifd])
    return path


def _jpeg_baseline(tile: np.ndarray, quality: int) -> bytes:
    """An 8-bit baseline JPEG (SOF0) of an RGB tile, as the DNG SDK writes lossy DNG tiles:
    no colour transform (the samples are linear camera RGB, not YCbCr)."""
    import imagecodecs

    return imagecodecs.jpeg8_encode(tile, level=quality, colorspace="RGB", outcolorspace="RGB")


def write_linear_dng(
    path: Path,
    values: np.ndarray,
    *,
    bits: int = 16,
    compression: int = UNCOMPRESSED,
    tile: int | None = None,
    black: int = 0,
    white: int | None = None,
    orientation: int | None = None,
    neutral=(1.0, 1.0, 1.0),
    colour_matrix=None,
    quality: int = 95,
    opcode_list_2: bytes | None = None,
) -> Path:
    """A LinearRaw DNG (PhotometricInterpretation 34892, 3 samples) holding ``values`` (H, W, 3)
    raw DN, in strips (``tile`` None, one strip of 16 rows each) or ``tile``×``tile`` tiles;
    ``compression`` 1, 7 (lossless JPEG, 3 components) or 34892 (8-bit baseline JPEG tiles)."""
    from mountcam.dng.ljpeg import encode_ljpeg

    values = np.ascontiguousarray(values)
    h, w, _ = values.shape
    white = (1 << bits) - 1 if white is None else white
    ifd = Ifd()
    _common(
        ifd, neutral=neutral, orientation=orientation, colour_matrix=colour_matrix, make="Linear"
    )
    ifd.set(256, L, w)
    ifd.set(257, L, h)
    ifd.set(258, S, (bits, bits, bits))
    ifd.set(259, S, compression)
    ifd.set(262, S, 34892)  # PhotometricInterpretation: LinearRaw
    ifd.set(277, S, 3)
    ifd.set(284, S, 1)
    ifd.set(50714, L, black)
    ifd.set(50717, L, white)
    if opcode_list_2 is not None:
        ifd.set(51009, U, opcode_list_2)
    dtype = np.uint8 if bits == 8 else np.dtype("<u2")

    def encode(block: np.ndarray) -> bytes:
        if compression == UNCOMPRESSED:
            return block.astype(dtype).tobytes()
        if compression == LOSSLESS_JPEG:
            flat = block.astype(np.uint16).reshape(block.shape[0], -1)
            return encode_ljpeg(flat, bits, components=3)
        return _jpeg_baseline(block.astype(np.uint8), quality)

    if tile is None:
        rows = 16
        ifd.set(278, L, rows)
        ifd.set_strips([encode(values[r : r + rows]) for r in range(0, h, rows)])
    else:
        tiles = []
        for r in range(0, h, tile):
            for c in range(0, w, tile):
                block = np.zeros((tile, tile, 3), values.dtype)
                part = values[r : r + tile, c : c + tile]
                block[: part.shape[0], : part.shape[1]] = part
                tiles.append(encode(block))
        ifd.set_tiles(tiles, tile, tile)
    with open(path, "wb") as f:
        write_tiff(f, [ifd])
    return path
