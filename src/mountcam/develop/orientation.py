"""Turn developed pixels upright by the DNG's Orientation tag.

TIFF 6.0 §8 / Exif 2.32 §4.6.4 tag 274 (Orientation) says where the stored 0th row and 0th
column lie in the picture as it should be seen; DNG readers (Adobe's DNG SDK, LibRaw) rotate or
flip the developed pixels accordingly and write Orientation 1 into what they output. For each
value, how the upright picture ``U`` (H', W') takes its pixels from the stored ``S`` (H, W):

======  =================================================  ==============================
value   Exif wording (0th row, 0th column of the stored)   U[i, j] =
======  =================================================  ==============================
1       top, left                                          S[i, j]
2       top, right          (mirrored left-right)          S[i, W−1−j]
3       bottom, right       (rotated 180°)                 S[H−1−i, W−1−j]
4       bottom, left        (mirrored top-bottom)          S[H−1−i, j]
5       left, top           (transposed)                   S[j, i]
6       right, top          (turn 90° clockwise to view)   S[H−1−j, i]
7       right, bottom       (transverse)                   S[H−1−j, W−1−i]
8       left, bottom        (turn 90° anticlockwise)       S[j, W−1−i]
======  =================================================  ==============================

The DefaultCrop is applied first, in stored coordinates (DNG 1.4 ch. 4: the crop tags are
relative to the stored raw image), then the orientation, as the DNG SDK does.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Orientation values of TIFF 6.0 / Exif 2.32; 1 is "stored upright".
ORIENTATIONS = (1, 2, 3, 4, 5, 6, 7, 8)
#: Orientations that swap width and height.
TRANSPOSING = frozenset({5, 6, 7, 8})


def upright_shape(shape_hw: tuple[int, int], orientation: int) -> tuple[int, int]:
    """(H, W) of the upright picture of a stored ``shape_hw`` picture."""
    h, w = shape_hw
    return (w, h) if orientation in TRANSPOSING else (h, w)


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """``pixels`` ((H, W) or (H, W, C), any dtype OpenCV handles: uint8, uint16, float32)
    turned upright for the Orientation value ``orientation`` (module table). Returns
    ``pixels`` itself for 1 and a new C-contiguous array otherwise. A value outside 1..8
    raises ``ValueError`` (the reader maps unknown values to 1 before this is called)."""
    if orientation not in ORIENTATIONS:
        raise ValueError(f"Orientation must be 1..8, got {orientation!r}")
    if orientation == 1:
        return pixels
    src = np.ascontiguousarray(pixels)
    # OpenCV's flips and rotations copy with SIMD in one pass; a numpy view (np.rot90)
    # would still need a strided copy to become contiguous for the encoders.
    if orientation == 2:
        out = cv2.flip(src, 1)
    elif orientation == 3:
        out = cv2.rotate(src, cv2.ROTATE_180)
    elif orientation == 4:
        out = cv2.flip(src, 0)
    elif orientation == 5:
        out = cv2.transpose(src)
    elif orientation == 6:
        out = cv2.rotate(src, cv2.ROTATE_90_CLOCKWISE)
    elif orientation == 7:
        out = cv2.rotate(cv2.transpose(src), cv2.ROTATE_180)
    else:
        out = cv2.rotate(src, cv2.ROTATE_90_COUNTERCLOCKWISE)
    if out.ndim < src.ndim:  # OpenCV drops a trailing channel axis of length 1
        out = out[..., None]
    return out
