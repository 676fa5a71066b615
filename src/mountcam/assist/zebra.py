"""Zebra stripes: where the picture is over (or under) a level, drawn as moving diagonal stripes.

Two sources, as on cinema and mirrorless cameras:
- **rendered**: the display image's luma (or any one-channel level image) against thresholds in
  8-bit code values (e.g. 245 ≈ the "95 %" zebra of video cameras);
- **raw**: each 2×2 CFA cell's brightest channel as a fraction of its clip point, from the
  mosaic (:func:`raw_clip_level`) — it shows which parts of the *raw file* clip, whatever the
  white balance and tone curve make of them.

:func:`zebra_masks` is exact: a pixel is "over" when its level is ``>= over`` and "under" when
``<= under``; nothing is smoothed or dilated. :func:`draw_zebra` paints the stripes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mountcam.assist.overlay import paint


def zebra_masks(
    level: np.ndarray, *, over: float | None = None, under: float | None = None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(over, under) boolean masks of ``level >= over`` and ``level <= under`` (None: off)."""
    if over is not None and under is not None and under >= over:
        raise ValueError(f"the under-exposure level {under} must be below the over level {over}")
    return (
        None if over is None else level >= over,
        None if under is None else level <= under,
    )


def raw_clip_level(
    mosaic: np.ndarray,
    black_level_dn: float | tuple[float, float, float, float],
    white_level_dn: float,
) -> np.ndarray:
    """(H/2, W/2) float32: each 2×2 CFA cell's largest black-subtracted value over its span.

    1.0 is the white level (clipped); a raw zebra at ``over=1.0`` marks every cell in which
    some channel clipped, at ``over=0.5`` every cell within one stop of clipping.
    """
    if mosaic.ndim != 2 or mosaic.shape[0] < 2 or mosaic.shape[1] < 2:
        raise ValueError(f"a mosaic is (H, W) with H, W ≥ 2; got {mosaic.shape}")
    h, w = mosaic.shape[0] // 2 * 2, mosaic.shape[1] // 2 * 2
    blacks = np.broadcast_to(np.asarray(black_level_dn, np.float32), (4,))
    span = np.float32(white_level_dn) - blacks
    if np.any(span <= 0):
        raise ValueError("the white level must be above every black level")
    out = None
    for i in range(4):
        plane = mosaic[i // 2 : h : 2, i % 2 : w : 2].astype(np.float32)
        value = (plane - blacks[i]) / span[i]
        out = value if out is None else np.maximum(out, value, out=out)
    return out


def draw_zebra(
    rgb8: np.ndarray,
    mask: np.ndarray,
    *,
    colour: tuple[int, int, int] = (255, 255, 255),
    period_px: int = 8,
    phase_px: int = 0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Paint diagonal stripes of ``colour`` over the pixels of ``mask`` on an (H, W, 3) uint8
    image (a mask of another size, e.g. a raw clip map, is scaled to the image first).

    Stripes are ``period_px/2`` wide along the anti-diagonal; advancing ``phase_px`` frame to
    frame makes them crawl, which is how they stay visible on any content.
    """
    if period_px < 2:
        raise ValueError("zebra stripes need a period of at least 2 pixels")
    if out is None:
        out = rgb8.copy()
    h, w = out.shape[:2]
    if mask.shape != (h, w):
        import cv2

        mask = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    stripe = _stripes(h, w, period_px, phase_px % period_px)
    return paint(out, mask & stripe, colour)


@lru_cache(maxsize=16)
def _stripes(h: int, w: int, period_px: int, phase_px: int) -> np.ndarray:
    """The stripe pattern of one phase (read-only; a live view cycles through ``period_px``)."""
    rows = np.arange(h)[:, None]
    cols = np.arange(w)[None, :]
    stripe = ((rows + cols + phase_px) % period_px) < (period_px // 2)
    stripe.flags.writeable = False
    return stripe
