"""LinearRaw DNGs: camera RGB that needs no demosaic.

Adobe DNG Specification 1.4.0.0, chapter 4 (PhotometricInterpretation 34892, "LinearRaw"):
the raw image holds, per pixel, one sample per camera colour plane, already demosaicked, in
the camera's linear space. Adobe DNG Converter's "linear" and lossy output, Apple ProRAW and
many phones write it, often tiled and JPEG-compressed (lossless, or 8-bit lossy with a
LinearizationTable). It is developed with the same colour model as a CFA image — black and
white levels per plane, white balance from AsShotNeutral, the ColorMatrix/ForwardMatrix
camera-to-XYZ transform (DNG 1.4 ch. 6) — only the demosaic step is left out. The reader
(:mod:`mountcam.dng.reader`) applies the LinearizationTable; here the levels step::

    out[y, x, c] = min((v[y, x, c] − black_c) · gain_c / (white_c − black_c), top_c)

with gain_c = 1/neutral_c (white balance) and top_c = gain_c (the plane's white) or the plane's
clip point, as the CFA levels step does per CFA position.
"""

from __future__ import annotations

import numpy as np

from mountcam.jit import njit, prange


@njit(parallel=True, nogil=True, cache=True)
def linear_levels_kernel(values, black, scale, top, out):  # pragma: no cover - compiled
    """``out`` (h, w, 3) float32 = min((values − black_c)·scale_c, top_c) per plane c, for
    ``values`` (h, w, 3) uint16 (module text)."""
    h, w = out.shape[0], out.shape[1]
    b0, b1, b2 = black[0], black[1], black[2]
    s0, s1, s2 = scale[0], scale[1], scale[2]
    t0, t1, t2 = top[0], top[1], top[2]
    for y in prange(h):
        for x in range(w):
            v = (np.float32(values[y, x, 0]) - b0) * s0
            out[y, x, 0] = v if v < t0 else t0
            v = (np.float32(values[y, x, 1]) - b1) * s1
            out[y, x, 1] = v if v < t1 else t1
            v = (np.float32(values[y, x, 2]) - b2) * s2
            out[y, x, 2] = v if v < t2 else t2


def linear_planes(
    values: np.ndarray, black_dn, white_dn, max_pixels: int = 1 << 18
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R, G, B planes of a LinearRaw image, black-subtracted and scaled to 1.0 = white,
    subsampled to at most ``max_pixels`` pixels (the auto white balance's input, as
    :func:`~mountcam.develop.white_balance.cfa_planes` gives it for a CFA image)."""
    h, w = values.shape[:2]
    step = max(1, int(np.ceil(np.sqrt(h * w / max_pixels))))
    sub = values[::step, ::step].astype(np.float32)
    planes = []
    for c in range(3):
        scale = np.float32(1.0 / (float(white_dn[c]) - float(black_dn[c])))
        planes.append((sub[..., c] - np.float32(black_dn[c])) * scale)
    return planes[0], planes[1], planes[2]
