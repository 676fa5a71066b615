"""OpcodeList2: what a DNG asks to be done to its linearized raw image before demosaicking.

Adobe DNG Specification 1.4.0.0, chapter 6: OpcodeList2 applies to the *stage 2* image, the
raw values of the ActiveArea after linearization, black subtraction and scaling, so that
0 = black and 1 = white (the DNG SDK holds them as 16-bit 0..65535, or float 0..1). Phones and
action cameras put their lens shading here as four GainMaps, one per CFA colour (RowPitch =
ColPitch = 2, Top/Left 0 or 1 selecting the colour), with gains up to ~2 in the corners.
Applied here, in list order, as the SDK applies them (``dng_gain_map.cpp``,
``dng_misc_opcodes.cpp``):

- **GainMap** (opcode 9). For a pixel at stage-2 (row, col) of an image H × W pixels, the map
  is read at the pixel's centre, relative to the image::

      v = ((row + ½) / H − MapOriginV) / MapSpacingV,   u = ((col + ½) / W − MapOriginH) / MapSpacingH

  and interpolated bilinearly between the map points ⌊v⌋, ⌊v⌋ + 1 and ⌊u⌋, ⌊u⌋ + 1 (held at
  the first / last point outside the map); map plane min(plane, MapPlanes − 1). The value
  becomes min(x · gain, 1): the SDK clips at white.
- **MapTable** (opcode 7): x as a 16-bit code k = round(65535 x) (0..65535) becomes
  table[min(k, TableSize − 1)] / 65535.
- **MapPolynomial** (opcode 8): x becomes c0 + c1 x + … + cN x^N, at most 1 (white).

Each acts on rows Top, Top + RowPitch, … < Bottom and columns Left, Left + ColPitch, … <
Right of planes Plane … Plane + Planes − 1 (an empty rectangle: the whole image), clipped to
the image. Other opcodes are skipped with a ``RuntimeWarning`` when the file marks them
optional; a required one raises :class:`~mountcam.errors.UnreadableFile`, as the
specification asks of a reader that cannot apply it.

The develop pipeline calls :func:`apply_raw_opcodes` on each strip of the mosaic right after
its levels step (the strip holds x · WB gain per CFA position; ``unit`` says what 1.0 is at
each position), so no full-size copy of the mosaic is made. Cost: two or three loads and a
multiply per pixel a GainMap covers (each CFA colour's map covers a quarter of the pixels):
1.0 ns a pixel on one core, 0.08 s of CPU for four GainMaps over a 50 MP mosaic
(bench/foreign_dng_speed.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mountcam.dng.opcodes import OPCODE_NAMES, GainMap, MapPolynomial, MapTable
from mountcam.errors import UnreadableFile
from mountcam.jit import njit, prange

_APPLIED = (GainMap, MapTable, MapPolynomial)


@dataclass(frozen=True)
class RawOpcodes:
    """The OpcodeList2 opcodes to apply (GainMap, MapTable, MapPolynomial, in list order)
    to a stage-2 image of ``image_hw`` (the ActiveArea) pixels."""

    ops: tuple
    image_hw: tuple[int, int]


def prepare_raw_opcodes(
    ops: Sequence, image_hw: tuple[int, int], *, planes: int = 1, where: str = "OpcodeList2"
) -> RawOpcodes | None:
    """The opcodes of ``ops`` (decoded OpcodeList2) that act on a ``planes``-plane image of
    ``image_hw`` pixels; None when none does. Unknown optional opcodes are skipped with a
    warning, unknown required ones raise UnreadableFile."""
    kept = []
    for op in ops:
        if isinstance(op, _APPLIED):
            if op.plane < planes:
                kept.append(op)
            continue
        ident = getattr(op, "opcode_id", None)
        name = OPCODE_NAMES.get(ident, type(op).__name__)
        if not getattr(op, "flags", 1) & 1:
            raise UnreadableFile(
                f"this DNG requires opcode {ident} ({name}) in its {where}, which mountcam "
                "cannot apply"
            )
        warnings.warn(
            f"skipping optional opcode {ident} ({name}) in {where}", RuntimeWarning, stacklevel=2
        )
    return RawOpcodes(tuple(kept), tuple(image_hw)) if kept else None


def _area(op, image_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """The opcode's rectangle clipped to the image (an empty rectangle: the whole image)."""
    h, w = image_hw
    t, left, b, r = op.top, op.left, op.bottom, op.right
    if b <= t or r <= left:
        t, left, b, r = 0, 0, h, w
    return t, left, min(b, h), min(r, w)


def _steps(lo: int, hi: int, pitch: int, start: int, n: int) -> np.ndarray:
    """Indices (into a window of ``n`` samples starting at image position ``start``) of the
    positions lo, lo + pitch, … < hi that fall in the window."""
    first = max(lo, start)
    first += (lo - first) % pitch  # the next position on the pitch grid
    last = min(hi, start + n)
    if first >= last:
        return np.zeros(0, np.int64)
    return np.arange(first, last, pitch, dtype=np.int64) - start


def _map_axis(pos: np.ndarray, size: int, origin: float, spacing: float, points: int):
    """(index, next index, fraction) of the map points around image positions ``pos``
    (pixel centres, relative to an image of ``size``), held at the map's ends."""
    if points == 1:  # one point: the same gain everywhere (the SDK ignores its spacing)
        zeros = np.zeros(pos.size, np.int64)
        return zeros, zeros, np.zeros(pos.size, np.float32)
    f = ((pos + 0.5) / size - origin) / spacing
    f = np.clip(f, 0.0, points - 1)
    i1 = np.minimum(np.floor(f).astype(np.int64), points - 1)
    i2 = np.minimum(i1 + 1, points - 1)
    return i1, i2, (f - i1).astype(np.float32)


def apply_raw_opcodes(
    values: np.ndarray,
    prepared: RawOpcodes,
    *,
    window_rc: tuple[int, int] = (0, 0),
    unit: np.ndarray | None = None,
    parity: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """Apply ``prepared`` in place to ``values``, float32 (h, w) (a CFA mosaic: plane 0) or
    (h, w, P), whose pixel (0, 0) is pixel ``window_rc`` of the stage-2 image.

    ``unit``: float32 (2, 2, P), the value that stands for white (x = 1) at each CFA position
    (row & 1, col & 1 of the *mosaic*, whose parity at the window's origin is ``parity``);
    default all 1 (``values`` is x itself). Returns ``values``.
    """
    if values.dtype != np.float32 or not values.flags.c_contiguous:
        raise ValueError("raw opcodes apply in place to a C-contiguous float32 array")
    v3 = values if values.ndim == 3 else values.reshape(values.shape[0], values.shape[1], 1)
    h, w, planes = v3.shape
    if unit is None:
        unit = np.ones((2, 2, planes), np.float32)
    unit = np.ascontiguousarray(np.broadcast_to(unit, (2, 2, planes)), dtype=np.float32)
    py, px = parity
    row0, col0 = window_rc
    for op in prepared.ops:
        t, left, b, r = _area(op, prepared.image_hw)
        rows = _steps(t, b, op.row_pitch, row0, h)
        cols = _steps(left, r, op.col_pitch, col0, w)
        plane_ids = np.arange(op.plane, min(op.plane + op.planes, planes), dtype=np.int64)
        if rows.size == 0 or cols.size == 0 or plane_ids.size == 0:
            continue
        if isinstance(op, GainMap):
            gains = np.asarray(op.gains, dtype=np.float32)
            pv, ph, mp = gains.shape
            image_h, image_w = prepared.image_hw
            r1, r2, rf = _map_axis(rows + row0, image_h, op.map_origin_v, op.map_spacing_v, pv)
            c1, c2, cf = _map_axis(cols + col0, image_w, op.map_origin_h, op.map_spacing_h, ph)
            for p in plane_ids:
                # Every map row interpolated at this window's columns first (bilinear
                # interpolation is the same in either order): each pixel then blends two
                # contiguous values, which the compiler vectorises (2.1 -> 1.0 ns a pixel).
                m = gains[:, :, min(p, mp - 1)]
                at_cols = np.ascontiguousarray(m[:, c1] * (1 - cf) + m[:, c2] * cf, np.float32)
                _gain_map_kernel(v3, rows, r1, r2, rf, cols, at_cols, p, unit, py, px)
        else:
            if isinstance(op, MapTable):
                table = np.asarray(op.table, np.float32) * np.float32(1.0 / 65535.0)
                coeffs = np.zeros(1, np.float64)
            else:
                table = np.zeros(1, np.float32)
                coeffs = np.asarray(op.coefficients, np.float64)
            _value_map_kernel(
                v3, rows, cols, plane_ids, isinstance(op, MapTable), table, coeffs, unit, py, px
            )
    return values


@njit(parallel=True, nogil=True, cache=True)
def _gain_map_kernel(v, rows, r1, r2, rf, cols, at_cols, p, unit, py, px):  # pragma: no cover
    """GainMap on v[rows, cols, p] (module text): ``at_cols`` holds every map row already
    interpolated at ``cols``, so a pixel blends the two map rows around its row."""
    one = np.float32(1.0)
    for a in prange(rows.size):
        i = rows[a]
        f = rf[a]
        g1 = at_cols[r1[a]]
        g2 = at_cols[r2[a]]
        ry = (i + py) & 1
        for b in range(cols.size):
            j = cols[b]
            top = unit[ry, (j + px) & 1, p]
            x = v[i, j, p] * (g1[b] * (one - f) + g2[b] * f)
            v[i, j, p] = x if x < top else top


@njit(parallel=True, nogil=True, cache=True)
def _value_map_kernel(
    v, rows, cols, planes, is_table, table, coeffs, unit, py, px
):  # pragma: no cover - compiled
    """MapTable (``is_table``) or MapPolynomial on v[rows, cols, planes], in units of
    ``unit`` (module text); the result is at most white."""
    last = table.size - 1
    degree = coeffs.size - 1
    for a in prange(rows.size):
        i = rows[a]
        for k in range(planes.size):
            p = planes[k]
            for b in range(cols.size):
                j = cols[b]
                u = unit[(i + py) & 1, (j + px) & 1, p]
                x = v[i, j, p] / u
                if is_table:
                    code = min(max(np.int64(x * 65535.0 + 0.5), 0), 65535)
                    y = table[min(code, last)]
                else:
                    acc = coeffs[degree]
                    for d in range(degree - 1, -1, -1):
                        acc = acc * x + coeffs[d]
                    y = min(acc, 1.0)
                v[i, j, p] = np.float32(y) * u
