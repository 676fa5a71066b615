"""Demosaicing of a 2×2 Bayer mosaic: ``fast`` (directional, one fused pass) and ``high``
(minimised-Laplacian residual interpolation).

Both take the mosaic in linear light, black-subtracted and white-balanced, with 1.0 = white,
and return linear camera RGB on the same pixel grid. Every output pixel keeps the measured
value at its own CFA site; only the two missing colours are estimated.

``fast`` (:mod:`.demosaic_fast`)
    Green by Hamilton-Adams directional interpolation (US patent 5,629,734, 1997: the average
    of the two green neighbours along a direction, corrected by the second derivative of the
    site's own colour); each direction's colour difference G − C is smoothed along that
    direction by a five-tap Gaussian (σ = 0.7 px), and the horizontal and vertical
    differences are blended by weights that fall with the directional activity summed along
    each direction, instead of a hard choice (the smoothing and the soft decision of
    Pekkucuksen & Altunbasak, "Gradient based threshold free color filter array
    interpolation", ICIP 2010). Red and blue by bilinear interpolation
    of the colour differences R−G and B−G (Pei & Tam 2003), diagonals chosen by gradient. One
    numba pass over bands of rows, float32.

``high`` (:mod:`.demosaic_high`)
    Residual interpolation with the minimised-Laplacian guided filter (MLRI: D. Kiku,
    Y. Monno, M. Tanaka, M. Okutomi, "Minimized-Laplacian residual interpolation for color
    image demosaicking", Proc. SPIE 9023, 2014; RI: same authors, ICIP 2013): green from
    horizontal and vertical residual-interpolated colour differences combined with the
    four-direction weights of Pekkucuksen & Altunbasak (2010); red and blue by residual
    interpolation guided by the full green plane.

Patterns: the four 2×2 Bayer layouts are handled by the red site's row/column parity; no data
is shifted or copied to a canonical layout. Borders are filled by mirroring the mosaic about
its edge pixels (reflect-101, which keeps the CFA phase), so there is no NaN and no wrap.

Strips: :func:`demosaic_overlap_rows` says how many extra mosaic rows a caller must supply above
and below a horizontal strip so that the strip's own rows come out bit-identical to a
whole-frame run (the strip must start on an even row of the frame, i.e. in the same CFA phase,
or the caller must pass the pattern of the strip's own first row).
"""

from __future__ import annotations

import numpy as np

from mountcam.errors import InvalidSetting

#: The layouts understood, top-left 2×2 block read row by row.
PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")
METHODS = ("fast", "high")


def red_site(pattern: str) -> tuple[int, int]:
    """(row, col) parity of the red site in a 2×2 Bayer ``pattern`` such as ``"GRBG"``."""
    p = _check_pattern(pattern)
    i = p.index("R")
    return i // 2, i % 2


def demosaic_overlap_rows(method: str = "fast") -> int:
    """Rows of context a strip needs on each side for its rows to match a whole-frame run.

    Even, so a strip and its context start in the same CFA phase. ``fast`` reads ±4 rows;
    ``high`` chains several windowed filters (see :data:`.demosaic_high.CONTEXT_ROWS`).
    """
    method = _check_method(method)
    if method == "fast":
        from mountcam.develop.demosaic_fast import CONTEXT_ROWS
    else:
        from mountcam.develop.demosaic_high import CONTEXT_ROWS
    return CONTEXT_ROWS


def demosaic(cfa: np.ndarray, pattern: str, method: str = "fast") -> np.ndarray:
    """Full-colour image from a Bayer mosaic.

    ``cfa``: (H, W) float32 (other float/integer types are converted), linear,
    black-subtracted, white-balanced, 1.0 = white; H and W even and at least 2. Values above 1
    or below 0 are kept (no clipping here). ``pattern``: one of :data:`PATTERNS` (top-left
    2×2 block). ``method``: ``"fast"`` or ``"high"``. Returns (H, W, 3) float32 linear camera
    RGB. Raises :class:`~mountcam.errors.InvalidSetting` for an unknown pattern or method or
    an unusable shape.
    """
    method = _check_method(method)
    rr, rc = red_site(pattern)
    cfa = np.asarray(cfa)
    if cfa.ndim != 2:
        raise InvalidSetting(
            f"a Bayer mosaic is one plane (H, W); got an array of shape {cfa.shape}"
        )
    height, width = cfa.shape
    if height < 2 or width < 2 or height % 2 or width % 2:
        raise InvalidSetting(
            f"a Bayer mosaic needs an even number of rows and columns (at least 2×2); "
            f"got {width}×{height}"
        )
    cfa = np.ascontiguousarray(cfa, dtype=np.float32)
    if method == "fast":
        from mountcam.develop.demosaic_fast import demosaic_fast

        return demosaic_fast(cfa, rr, rc)
    from mountcam.develop.demosaic_high import demosaic_high

    return demosaic_high(cfa, rr, rc)


def _check_pattern(pattern: str) -> str:
    p = str(pattern).upper()
    if p not in PATTERNS:
        raise InvalidSetting(
            f"CFA pattern {pattern!r} is not a 2×2 Bayer layout; use one of {', '.join(PATTERNS)}"
        )
    return p


def _check_method(method: str) -> str:
    m = str(method).lower()
    if m not in METHODS:
        raise InvalidSetting(f"demosaic quality {method!r} is unknown; use 'fast' or 'high'")
    return m
