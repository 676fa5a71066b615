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

Speed: the warp's source position is computed exactly for every output pixel in one numba
pass, and the image is remapped in strips (:class:`StripWarp`; the develop pipeline warps each
of its own strips, demosaicking only the rows the strip's output reads); a warp that moves no
pixel by more than :data:`NEGLIGIBLE_WARP_PX` is skipped. The vignette gain is evaluated exactly
at every pixel in one fused numba pass.
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

#: Output rows per strip of :func:`apply_opcodes` (the pipeline brings its own strips).
STRIP_ROWS = 256
#: A WarpRectilinear that moves no pixel by more than this (pixels) is skipped: a shift of
#: 0.05 px changes an edge's position by less than any measurement of it resolves (ISO 12233
#: edge fits scatter by ~0.1 px), while the bicubic resampling would cost a pass over the
#: picture and soften it slightly. Phones and converters write such near-identity warps.
NEGLIGIBLE_WARP_PX = 0.05


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
    lies outside ``rgb`` take the nearest edge pixel. Warps that move no pixel of the image by
    more than :data:`NEGLIGIBLE_WARP_PX` are skipped (:func:`significant_opcodes`)."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidSetting(f"lens correction needs an (H, W, 3) RGB image, got {rgb.shape}")
    out = np.ascontiguousarray(rgb, dtype=np.float32)
    owned = out is not rgb  # a fresh array may be corrected in place
    full = tuple(full_size_hw) if full_size_hw is not None else out.shape[:2]
    for op in significant_opcodes(ops, full):
        if isinstance(op, FixVignetteRadial):
            out = _vignette(out, op, origin_rc, full, in_place=owned)
            owned = True
        elif isinstance(op, WarpRectilinear):
            out = _warp(out, op, origin_rc, full)
            owned = True
        else:
            _refuse_or_skip(op)
    return out if owned else out.copy()


def significant_opcodes(ops: Sequence, full: tuple[int, int]) -> list:
    """``ops`` without the WarpRectilinear opcodes that move no pixel of the ``full`` (H, W)
    image by more than :data:`NEGLIGIBLE_WARP_PX` (resampling for less would only blur)."""
    return [
        op
        for op in ops
        if not (
            isinstance(op, WarpRectilinear) and warp_max_shift_px(op, full) < NEGLIGIBLE_WARP_PX
        )
    ]


def _refuse_or_skip(op) -> None:
    """An opcode this module cannot apply: refused when required, skipped with a warning when
    optional (DNG 1.4 §6: bit 0 of the flags marks an optional opcode)."""
    name = type(op).__name__
    ident = getattr(op, "opcode_id", name)  # UnknownOpcode has an id; known classes a name
    if not op.flags & 1:
        raise UnreadableFile(
            f"this DNG requires lens-correction opcode {ident} ({name}), which mountcam "
            "cannot apply after demosaicking; develop it without lens correction "
            "(--no-lens-correction)"
        )
    warnings.warn(
        f"skipping optional opcode {ident} ({name}) in OpcodeList3", RuntimeWarning, stacklevel=3
    )


def _norm_radius(cx_px: float, cy_px: float, full: tuple[int, int]) -> float:
    height, width = full
    return math.hypot(max(cx_px, width - cx_px), max(cy_px, height - cy_px))


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


def warp_max_shift_px(op: WarpRectilinear, full: tuple[int, int]) -> float:
    """The largest distance, pixels, by which ``op`` moves a pixel of the ``full`` (H, W)
    image, any plane: the exact displacement on a 65 × 65 grid that includes the edges and
    corners (a lens polynomial varies smoothly; its largest shifts are at the edges)."""
    height, width = full
    rows = np.linspace(0.0, height - 1.0, 65)[:, None]
    cols = np.linspace(0.0, width - 1.0, 65)[None, :]
    worst = 0.0
    for plane in range(max(1, len(op.coefficients))):
        d_row, d_col = warp_source_offsets(op, plane, rows, cols, full)
        worst = max(worst, float(np.sqrt(d_row * d_row + d_col * d_col).max()))
    return worst


class StripWarp:
    """A WarpRectilinear applied one horizontal strip at a time.

    Positions are those of the ``full`` (H, W) image the opcode was written for; a window of
    it starts at (row, col) of that image. For output rows ``out_rows`` the warp reads the
    source rows :meth:`source_rows` returns, so a caller demosaics only those (plus the
    context its own stages need) and :meth:`apply` resamples them. The source position of
    every output pixel is computed exactly, in one numba pass (:func:`_warp_maps_kernel`),
    so the pixels do not depend on where the strips are cut. The resampling is bicubic
    (``cv2.remap``, which quantises positions to 1/32 px): all planes at once when the opcode
    has one coefficient set, plane by plane for lateral colour (the planes split, with a
    FixVignetteRadial that precedes the warp applied in the same pass).
    """

    def __init__(self, op: WarpRectilinear, full: tuple[int, int]) -> None:
        self.op = op
        self.full = (int(full[0]), int(full[1]))
        self.planes = 1 if len(op.coefficients) <= 1 else 3
        height, width = self.full
        self._centre = (op.center_x * width, op.center_y * height)  # (x, y), pixels
        self._norm = _norm_radius(*self._centre, self.full)
        self._coeffs = np.array(op.coefficients[: self.planes], dtype=np.float64)

    def source_rows(self, out_rows: tuple[int, int], cols: tuple[int, int]) -> tuple[int, int]:
        """[first, stop) rows of the full image that the bicubic resampling of output rows
        ``out_rows`` = [a, b) × columns ``cols`` reads, clipped to the image. A lens warp does
        not fold the image (the source row grows with the output row in every column), so the
        first and last output rows bound it."""
        a, b = out_rows
        cols_px = np.arange(cols[0], cols[1], dtype=np.float64)[None, :]
        rows_px = np.array([[a], [b - 1]], dtype=np.float64)
        lo, hi = math.inf, -math.inf
        for plane in range(self.planes):
            d_row, _ = warp_source_offsets(self.op, plane, rows_px, cols_px, self.full)
            lo = min(lo, float((d_row[0] + a).min()))
            hi = max(hi, float((d_row[1] + b - 1).max()))
        first = math.floor(lo) - 2  # bicubic: floor − 1 .. floor + 2, and one row of slack
        stop = math.floor(hi) + 4
        return max(0, min(first, self.full[0] - 2)), min(self.full[0], max(stop, 2))

    def maps(
        self, out_rows: tuple[int, int], cols: tuple[int, int], src_origin: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(map_x, map_y), float32 (planes, rows, cols): the source column and row, relative
        to ``src_origin`` (row, col of the full image), of each output pixel of rows
        ``out_rows`` × columns ``cols`` (:func:`warp_source_offsets`, per pixel)."""
        (a, b), (c0, c1) = out_rows, cols
        shape = (self.planes, b - a, c1 - c0)
        map_x, map_y = np.empty(shape, np.float32), np.empty(shape, np.float32)
        cx, cy = self._centre
        _warp_maps_kernel(
            self._coeffs, cx, cy, a - cy, c0 - cx, 1.0 / self._norm, self._norm,
            np.float32(src_origin[1]), np.float32(src_origin[0]), map_x, map_y,
        )  # fmt: skip
        return map_x, map_y

    def apply(
        self,
        src: np.ndarray,
        src_origin: tuple[int, int],
        out_rows: tuple[int, int],
        out: np.ndarray | None = None,
        vignette: FixVignetteRadial | None = None,
    ) -> np.ndarray:
        """Output rows ``out_rows`` (full-image rows) of the corrected image, over the columns
        of ``src``: float32 (rows, W, 3), into ``out`` when given. ``src``: float32 (h, W, 3),
        a window of the uncorrected image whose top-left pixel is ``src_origin`` (row, col) of
        the full image, holding :meth:`source_rows`; sources beyond it take its edge pixels.
        ``vignette``: a FixVignetteRadial to apply to ``src`` first (``src`` is not changed).
        """
        r0, c0 = src_origin
        a, b = out_rows
        h, w = src.shape[:2]
        map_x, map_y = self.maps(out_rows, (c0, c0 + w), src_origin)
        if out is None:
            out = np.empty((b - a, w, 3), np.float32)
        remap = {"interpolation": cv2.INTER_CUBIC, "borderMode": cv2.BORDER_REPLICATE}
        if self.planes == 1 and vignette is None:
            cv2.remap(src, map_x[0], map_y[0], dst=out, **remap)
            return out
        # Plane by plane: only the band of source rows these output rows read is split.
        lo = max(0, math.floor(float(map_y.min())) - 2)
        hi = min(h, math.ceil(float(map_y.max())) + 3)
        if hi <= lo:  # everything reads outside the window: its nearest edge rows
            lo, hi = (0, min(h, 2)) if float(map_y.max()) < 0 else (max(0, h - 2), h)
        dv2, dh2, k = (np.zeros(1, np.float32), np.zeros(1, np.float32), np.zeros(5, np.float32))
        if vignette is not None:
            dv2, dh2, k = vignette_terms(vignette, src_origin, (h, w), self.full)
        band = np.empty((3, hi - lo, w), np.float32)
        _split_planes_kernel(src, lo, vignette is not None, dv2, dh2, k, band)
        map_y -= np.float32(lo)
        warped = [
            cv2.remap(
                band[p], map_x[min(p, self.planes - 1)], map_y[min(p, self.planes - 1)], **remap
            )
            for p in range(3)
        ]
        cv2.merge(warped, dst=out)
        return out


@njit(parallel=True, nogil=True, cache=True)
def _warp_maps_kernel(
    coeffs, cx, cy, dy0, dx0, inv_norm, norm, win_x, win_y, map_x, map_y
):  # pragma: no cover - compiled
    """WarpRectilinear source positions (module text), per plane p of ``coeffs`` (P, 6):
    output pixel (i, j) of the block sits at (dy0 + i, dx0 + j) pixels from the optical
    centre (``cx``, ``cy``); its source is (cy, cx) + (Δy', Δx')·norm, rounded to float32 and
    then made relative to the source window's corner (``win_y``, ``win_x``, float32): that
    subtraction is exact, so a pixel's map does not depend on the window it is computed in."""
    planes, h, w = map_x.shape
    for i in prange(h):
        dy = (dy0 + i) * inv_norm
        for p in range(planes):
            kr0, kr1, kr2, kr3 = coeffs[p, 0], coeffs[p, 1], coeffs[p, 2], coeffs[p, 3]
            kt0, kt1 = coeffs[p, 4], coeffs[p, 5]
            for j in range(w):
                dx = (dx0 + j) * inv_norm
                r2 = dx * dx + dy * dy
                f = kr0 + r2 * (kr1 + r2 * (kr2 + r2 * kr3))
                sx = f * dx + kt0 * 2.0 * dx * dy + kt1 * (r2 + 2.0 * dx * dx)
                sy = f * dy + kt1 * 2.0 * dx * dy + kt0 * (r2 + 2.0 * dy * dy)
                map_x[p, i, j] = np.float32(cx + sx * norm) - win_x
                map_y[p, i, j] = np.float32(cy + sy * norm) - win_y


@njit(parallel=True, nogil=True, cache=True)
def _split_planes_kernel(rgb, lo, vig, dv2, dh2, k, out):  # pragma: no cover - compiled
    """Rows ``lo`` … of interleaved ``rgb`` (h, w, 3) into the planes ``out`` (3, n, w), times
    the FixVignetteRadial gain of :func:`vignette_terms` when ``vig``."""
    k0, k1, k2, k3, k4 = k[0], k[1], k[2], k[3], k[4]
    n, w = out.shape[1], out.shape[2]
    for i in prange(n):
        y = lo + i
        for x in range(w):
            g = vignette_gain(dv2[y], dh2[x], k0, k1, k2, k3, k4) if vig else np.float32(1.0)
            out[0, i, x] = rgb[y, x, 0] * g
            out[1, i, x] = rgb[y, x, 1] * g
            out[2, i, x] = rgb[y, x, 2] * g


def _warp(rgb: np.ndarray, op: WarpRectilinear, origin, full) -> np.ndarray:
    """The whole window ``rgb`` (top-left at ``origin`` of the ``full`` image) warped, in
    strips of :data:`STRIP_ROWS` output rows."""
    h, w = rgb.shape[:2]
    warp = StripWarp(op, full)
    out = np.empty_like(rgb)
    for top in range(0, h, STRIP_ROWS):
        n = min(STRIP_ROWS, h - top)
        a = origin[0] + top
        warp.apply(rgb, origin, (a, a + n), out=out[top : top + n])
    return out
