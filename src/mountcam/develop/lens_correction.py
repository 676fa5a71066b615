"""Lens corrections carried in the DNG: the OpcodeList3 opcodes applied to linear RGB.

Adobe DNG Specification 1.4.0.0, chapter 6, applied after demosaicking (OpcodeList3) to the
whole ActiveArea image, in list order:

- **WarpRectilinear** (opcode 1), distortion and lateral colour. For each output pixel at
  normalised offset (Δx, Δy) from the centre (cx·W, cy·H), with r² = Δx² + Δy² and the
  radius normalised so that r = 1 at the farthest corner::

      f    = kr0 + kr1 r² + kr2 r⁴ + kr3 r⁶
      Δx'  = f Δx + kt0 · 2ΔxΔy + kt1 (r² + 2Δx²)
      Δy'  = f Δy + kt1 · 2ΔxΔy + kt0 (r² + 2Δy²)

  and the output pixel takes the input's value at the centre + (Δx', Δy')·norm, each plane
  with its own coefficients (lateral colour). Resampled bicubically (``cv2.remap``).
- **FixVignetteRadial** (opcode 3): each pixel multiplied by
  g = 1 + k0 r² + k1 r⁴ + k2 r⁶ + k3 r⁸ + k4 r¹⁰.

Pixel positions follow the Adobe DNG SDK as :mod:`mountcam.dng.opcodes` documents it (pixel
(row, col) sits at (row, col) for the warp, at (row + ½, col + ½) for the vignette). Other
opcodes (GainMap belongs to OpcodeList2, before demosaicking) are skipped with a warning when
marked optional; a required opcode this module cannot apply raises
:class:`~mountcam.errors.UnreadableFile`, as the specification asks of a reader.

Speed: the warp's displacement varies smoothly over the frame, so the source positions are
computed exactly on a grid of every :data:`GRID_STEP_PX`-th pixel and bilinearly interpolated
in between (error well below 0.01 px for lens polynomials; the tests hold the corrected dot
grid to 0.1 px), and the image is remapped in strips of :data:`STRIP_ROWS` rows. The vignette
gain is evaluated exactly at every pixel in one fused numba pass.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import cv2
import numpy as np

from mountcam.dng.opcodes import FixVignetteRadial, WarpRectilinear
from mountcam.errors import InvalidSetting, UnreadableFile
from mountcam.jit import njit, prange

#: Spacing of the exactly computed sample grid, pixels.
GRID_STEP_PX = 8
#: Output rows per strip.
STRIP_ROWS = 256


def apply_opcodes(
    rgb: np.ndarray,
    ops: Sequence,
    *,
    origin_rc: tuple[int, int] = (0, 0),
    full_size_hw: tuple[int, int] | None = None,
) -> np.ndarray:
    """Apply the opcodes ``ops`` (from :func:`mountcam.dng.opcodes.decode_opcode_list`) to
    linear RGB ``rgb`` (float32 (H, W, 3)) whose top-left pixel is pixel ``origin_rc`` (row,
    col) of the ``full_size_hw`` (H, W) image the opcodes were written for (default: ``rgb``
    is that whole image). Returns a new float32 array of the same shape; pixels whose source
    lies outside ``rgb`` take the nearest edge pixel."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidSetting(f"lens correction needs an (H, W, 3) RGB image, got {rgb.shape}")
    out = np.ascontiguousarray(rgb, dtype=np.float32)
    owned = out is not rgb  # a fresh array may be corrected in place
    full = tuple(full_size_hw) if full_size_hw is not None else out.shape[:2]
    for op in ops:
        if isinstance(op, FixVignetteRadial):
            out = _vignette(out, op, origin_rc, full, in_place=owned)
            owned = True
        elif isinstance(op, WarpRectilinear):
            out = _warp(out, op, origin_rc, full)
            owned = True
        else:
            name = type(op).__name__
            ident = getattr(op, "opcode_id", name)
            if not getattr(op, "flags", 1) & 1:
                raise UnreadableFile(
                    f"this DNG requires lens-correction opcode {ident} ({name}), which mountcam "
                    "cannot apply after demosaicking; develop it without lens correction "
                    "(--no-lens-correction)"
                )
            warnings.warn(
                f"skipping optional opcode {ident} ({name}) in OpcodeList3",
                RuntimeWarning,
                stacklevel=2,
            )
    return out if owned else out.copy()


def _norm_radius(cx_px: float, cy_px: float, full: tuple[int, int]) -> float:
    height, width = full
    return math.hypot(max(cx_px, width - cx_px), max(cy_px, height - cy_px))


def _grid(n: int, origin: int) -> tuple[np.ndarray, int]:
    """Positions (full-image pixels) of a coarse grid whose bilinear resize by GRID_STEP_PX
    (then :func:`_upsample`'s crop) lands exactly on pixels ``origin .. origin + n − 1``: the
    centres of GRID_STEP_PX-wide blocks, with one extra block on each side so that the pixels
    near the edges are interpolated, not extrapolated."""
    s = GRID_STEP_PX
    count = -(-n // s) + 2
    return origin + (np.arange(count) - 1) * s + (s - 1) / 2.0, count


def _upsample(coarse: np.ndarray, h: int, w: int) -> np.ndarray:
    s = GRID_STEP_PX
    gh, gw = coarse.shape[:2]
    up = cv2.resize(coarse, (gw * s, gh * s), interpolation=cv2.INTER_LINEAR)
    return up[s : s + h, s : s + w]


def vignette_terms(
    op: FixVignetteRadial, origin_rc: tuple[int, int], shape_hw: tuple[int, int], full
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dv², dh², k) of a FixVignetteRadial for the ``shape_hw`` block whose top-left pixel is
    pixel ``origin_rc`` of the ``full`` (H, W) image: the squared normalised row and column
    offsets (float32) and the gain polynomial's coefficients, so that a fused kernel can apply
    g = 1 + x·(k0 + x·(k1 + …)), x = min(dv²[i] + dh²[j], 1), exactly as this module does."""
    height, width = full
    cx, cy = op.center_x * width, op.center_y * height
    norm = _norm_radius(cx, cy, full)
    h, w = shape_hw
    # r² = dv² + dh² separates into a row term and a column term, so the exact gain costs one
    # fused pass (no grid: the gain's curvature is largest in the corners, where it matters).
    dv2 = (((np.arange(h) + origin_rc[0] + 0.5 - cy) / norm) ** 2).astype(np.float32)
    dh2 = (((np.arange(w) + origin_rc[1] + 0.5 - cx) / norm) ** 2).astype(np.float32)
    return dv2, dh2, np.asarray(op.k, np.float32)


def _vignette(
    rgb: np.ndarray, op: FixVignetteRadial, origin, full, *, in_place: bool = False
) -> np.ndarray:
    dv2, dh2, k = vignette_terms(op, origin, rgb.shape[:2], full)
    out = rgb if in_place else np.empty_like(rgb)
    _vignette_kernel(rgb, out, dv2, dh2, k)
    return out


@njit(inline="always", nogil=True, cache=True)
def vignette_gain(dv2_i, dh2_j, k0, k1, k2, k3, k4):  # pragma: no cover - compiled
    """FixVignetteRadial's gain at one pixel from :func:`vignette_terms` (float32). The
    coefficients come as scalars: held in registers, not reloaded from an array that the
    caller's stores might alias."""
    x = min(dv2_i + dh2_j, np.float32(1.0))
    return np.float32(1.0) + x * (k0 + x * (k1 + x * (k2 + x * (k3 + x * k4))))


@njit(parallel=True, cache=True)
def _vignette_kernel(rgb, out, dv2, dh2, k):  # pragma: no cover - compiled
    k0, k1, k2, k3, k4 = k[0], k[1], k[2], k[3], k[4]
    for i in prange(rgb.shape[0]):
        for j in range(rgb.shape[1]):
            g = vignette_gain(dv2[i], dh2[j], k0, k1, k2, k3, k4)
            for c in range(3):
                out[i, j, c] = rgb[i, j, c] * g


def warp_source_offsets(
    op: WarpRectilinear, plane: int, rows: np.ndarray, cols: np.ndarray, full: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """(Δrow, Δcol): how far from each output pixel (``rows``, ``cols``, full-image pixels,
    broadcastable) plane ``plane`` reads, by the WarpRectilinear equations (module text)."""
    height, width = full
    coeffs = op.coefficients[plane if len(op.coefficients) > 1 else 0]
    kr0, kr1, kr2, kr3, kt0, kt1 = (float(v) for v in coeffs)
    cx, cy = op.center_x * width, op.center_y * height
    norm = _norm_radius(cx, cy, full)
    dy = (np.asarray(rows, np.float64) - cy) / norm
    dx = (np.asarray(cols, np.float64) - cx) / norm
    # Every pixel of the image has r² ≤ 1, so the SDK's clamp at 1 never acts there; it is left
    # out so that the sample grid's outer ring (just outside the image) continues the
    # polynomial smoothly instead of putting a kink into the interpolation.
    r2 = dx * dx + dy * dy
    f = kr0 + r2 * (kr1 + r2 * (kr2 + r2 * kr3))
    src_dx = f * dx + kt0 * 2.0 * dx * dy + kt1 * (r2 + 2.0 * dx * dx)
    src_dy = f * dy + kt1 * 2.0 * dx * dy + kt0 * (r2 + 2.0 * dy * dy)
    return (src_dy - dy) * norm, (src_dx - dx) * norm


def _warp(rgb: np.ndarray, op: WarpRectilinear, origin, full) -> np.ndarray:
    h, w = rgb.shape[:2]
    # One coefficient set: all planes alike, one 3-channel remap. Otherwise one per plane (a
    # 4-plane list, RGGB-style, has no meaning on RGB: its planes 0, 1, 2 are used).
    planes = 1 if len(op.coefficients) <= 1 else 3
    out = np.empty_like(rgb)
    grid_c, _ = _grid(w, origin[1])
    col_index = np.arange(w, dtype=np.float32)[None, :]
    map_x = np.empty((planes, STRIP_ROWS, w), np.float32)
    map_y = np.empty((planes, STRIP_ROWS, w), np.float32)
    warped = [np.empty((STRIP_ROWS, w), np.float32) for _ in range(planes if planes > 1 else 0)]
    for top in range(0, h, STRIP_ROWS):
        n = min(STRIP_ROWS, h - top)
        grid_r, _ = _grid(n, origin[0] + top)
        row_index = np.arange(top, top + n, dtype=np.float32)[:, None]
        for p in range(planes):
            d_row, d_col = warp_source_offsets(op, p, grid_r[:, None], grid_c[None, :], full)
            np.add(_upsample(d_row.astype(np.float32), n, w), row_index, out=map_y[p, :n])
            np.add(_upsample(d_col.astype(np.float32), n, w), col_index, out=map_x[p, :n])
        if planes == 1:
            cv2.remap(
                rgb,
                map_x[0, :n],
                map_y[0, :n],
                dst=out[top : top + n],
                interpolation=cv2.INTER_CUBIC,
                borderMode=cv2.BORDER_REPLICATE,
            )
            continue
        # Only the band of source rows this strip reads (plus the bicubic support) is split into
        # planes: splitting the whole image would allocate and fault in three full planes.
        lo = max(0, int(np.floor(map_y[:, :n].min())) - 2)
        hi = min(h, int(np.ceil(map_y[:, :n].max())) + 3)
        if hi <= lo:  # everything reads outside the image: the nearest edge rows
            lo, hi = (0, min(h, 2)) if map_y[:, :n].max() < 0 else (max(0, h - 2), h)
        band = cv2.split(rgb[lo:hi])
        for p in range(3):
            map_y[p, :n] -= np.float32(lo)
            cv2.remap(
                band[p],
                map_x[p, :n],
                map_y[p, :n],
                dst=warped[p][:n],
                interpolation=cv2.INTER_CUBIC,
                borderMode=cv2.BORDER_REPLICATE,
            )
        cv2.merge([wp[:n] for wp in warped], dst=out[top : top + n])
    return out
