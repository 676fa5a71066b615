"""DNG opcode lists: lens corrections carried in the file, and fitting them to the twin's lens.

**Format** (Adobe DNG Specification 1.4.0.0, chapter 6 "Opcode List Processing"). An opcode list
(tags OpcodeList1 51008, OpcodeList2 51009, OpcodeList3 51022, type UNDEFINED) is always
**big-endian**, whatever the byte order of the TIFF around it::

    uint32  count
    count × { uint32 opcode ID, uint32 DNG version (4 bytes, e.g. 1.3.0.0), uint32 flags,
              uint32 parameter byte count, parameters }

Flags: bit 0 "optional" (a reader that does not know the opcode may skip it; otherwise it must
refuse the file), bit 1 "can be skipped for a preview". Opcodes implemented here:

- :class:`WarpRectilinear` (ID 1): per plane kr0..kr3, kt0, kt1 (DOUBLE), then cx, cy. For an
  output (corrected) pixel at normalised offset (Δx, Δy) from the centre, r² = Δx² + Δy²
  (clamped to 1 by the SDK), the source (uncorrected) position is the centre plus
  Δ·(kr0 + kr1 r² + kr2 r⁴ + kr3 r⁶) plus the tangential terms.
- :class:`FixVignetteRadial` (ID 3): k0..k4, cx, cy (DOUBLE); each pixel is multiplied by
  g = 1 + k0 r² + k1 r⁴ + k2 r⁶ + k3 r⁸ + k4 r¹⁰.
- :class:`GainMap` (ID 9): a grid of gains per plane over a rectangle, bilinearly interpolated.
- :class:`MapTable` (ID 7): a 16-bit lookup table applied to the values of an area.
- :class:`MapPolynomial` (ID 8): a polynomial of degree ≤ 8 applied to the values of an area.

GainMap, MapTable and MapPolynomial start with the same **area** (DNG 1.4 §6, the SDK's
``dng_area_spec``, 32 bytes): Top, Left, Bottom, Right, Plane, Planes, RowPitch, ColPitch
(LONG each). They act on rows Top, Top + RowPitch, … < Bottom and columns Left, Left +
ColPitch, … < Right of planes Plane … Plane + Planes − 1; an empty rectangle means the whole
image. Then GainMap: MapPointsV, MapPointsH (LONG), MapSpacingV, MapSpacingH, MapOriginV,
MapOriginH (DOUBLE, relative to the image: 0..1), MapPlanes (LONG), and MapPointsV ×
MapPointsH × MapPlanes gains (FLOAT, planes fastest, then columns); MapTable: TableSize (LONG)
and that many SHORT entries; MapPolynomial: Degree (LONG) and Degree + 1 coefficients
(DOUBLE, constant term first). :mod:`mountcam.develop.raw_opcodes` applies them.
- anything else decodes to :class:`UnknownOpcode` (its bytes kept, so a list round-trips).

**Coordinates**, as the Adobe DNG SDK 1.5 computes them (``dng_lens_correction.cpp``), which the
specification leaves implicit: the centre is (cx·W, cy·H) in pixel units of the image the
opcode is applied to (for OpcodeList3: the whole demosaiced stage-3 image, i.e. the ActiveArea,
before DefaultCrop); r is normalised by the distance from the centre to the farthest corner of
that image (corners at (0, 0) and (W, H)). WarpRectilinear puts pixel (row, col) at (row, col);
FixVignetteRadial at (row + ½, col + ½). :func:`warp_source_positions` and
:func:`vignette_gain` implement exactly that, for the develop pipeline and the tests.

**Fitting to the twin** (:func:`fit_lens_opcodes`). The twin
(:mod:`mountcam.optics.aberrations`) images a point whose ideal radius is r_u at
r_d = s_c · r_u · P(ρ_u) (ρ = r / 21.633 mm, P the lens's distortion polynomial, s_c the band's
lateral-colour scale), then multiplies by the relative illumination I(ρ_d) at the sensor
position. A correcting WarpRectilinear must, for each corrected pixel at r_u, read the
captured image at r_d: its radial function is the *forward* model f_c(r) = s_c · P(ρ_u(r)),
fitted to kr0 + kr1 r² + kr2 r⁴ + kr3 r⁶ minimising the worst position error in pixels,
R·r·|Δf| (Lawson's minimax iteration). The catalogue's lenses (P = 1 + c2 ρ²) fit exactly; a
lensfun "ptlens" lens has an odd term (c1 ρ) that an even polynomial only approximates, and
the report says by how much. The vignetting must be undone where it happened, on the captured
image: by default as four GainMaps in OpcodeList2 (one per CFA position, gains 1/I at the
map points; the form phones write and raw converters apply, docs/interop.md), or, with
``vignetting="radial"``, as a FixVignetteRadial *first* in OpcodeList3, its gain 1/I(ρ) at the
sensor position fitted in relative error. The fit's worst errors over the whole frame are
reported. A lensfun zoom is fitted with the calibration of the focal length set.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from mountcam.errors import UnreadableFile

#: Opcode IDs (DNG 1.4 chapter 6).
WARP_RECTILINEAR_ID = 1
FIX_VIGNETTE_RADIAL_ID = 3
MAP_TABLE_ID = 7
MAP_POLYNOMIAL_ID = 8
GAIN_MAP_ID = 9
#: Names of the opcodes of DNG 1.4 chapter 6 (and 1.6's WarpRectilinear2, ID 14), for messages.
OPCODE_NAMES = {
    1: "WarpRectilinear", 2: "WarpFisheye", 3: "FixVignetteRadial", 4: "FixBadPixelsConstant",
    5: "FixBadPixelsList", 6: "TrimBounds", 7: "MapTable", 8: "MapPolynomial", 9: "GainMap",
    10: "DeltaPerRow", 11: "DeltaPerColumn", 12: "ScalePerRow", 13: "ScalePerColumn",
    14: "WarpRectilinear2",
}  # fmt: skip
#: Largest MapPolynomial degree (the DNG SDK's kMaxDegree).
MAX_POLYNOMIAL_DEGREE = 8
#: MapTable entries at most: one per 16-bit value.
MAX_TABLE_SIZE = 0x10000
#: Flag bits of an opcode (DNG 1.4 chapter 6).
FLAG_OPTIONAL = 1
FLAG_PREVIEW_SKIP = 2
#: The DNG version that introduced these opcodes (1.3.0.0), written in each opcode header.
OPCODE_DNG_VERSION = (1, 3, 0, 0)
#: The DNG SDK's kMaxColorPlanes: WarpRectilinear may hold at most this many planes.
MAX_PLANES = 4
#: Refuse lists claiming more opcodes than this (a corrupt count must not drive allocation).
MAX_OPCODES = 4096
#: Largest GainMap grid accepted when decoding (points × planes).
MAX_GAIN_MAP_VALUES = 16 * 1024 * 1024

_HEADER = struct.Struct(">IIII")  # ID, version, flags, parameter bytes


@dataclass(frozen=True)
class WarpRectilinear:
    """DNG opcode 1: radial + tangential warp for distortion and lateral colour.

    ``coefficients``: one (kr0, kr1, kr2, kr3, kt0, kt1) per plane (one tuple: all planes
    alike); ``center_x``, ``center_y``: the optical centre relative to the image, 0..1.
    """

    coefficients: tuple[tuple[float, float, float, float, float, float], ...]
    center_x: float
    center_y: float
    flags: int = FLAG_OPTIONAL
    dng_version: tuple[int, int, int, int] = OPCODE_DNG_VERSION


@dataclass(frozen=True)
class FixVignetteRadial:
    """DNG opcode 3: gain g = 1 + k0 r² + k1 r⁴ + k2 r⁶ + k3 r⁸ + k4 r¹⁰ about (cx, cy)."""

    k: tuple[float, float, float, float, float]
    center_x: float
    center_y: float
    flags: int = FLAG_OPTIONAL
    dng_version: tuple[int, int, int, int] = OPCODE_DNG_VERSION


@dataclass(frozen=True, eq=False)
class GainMap:
    """DNG opcode 9: per-plane gains on a grid over the rectangle ``top, left, bottom, right``
    (pixels), applied to planes ``plane`` .. ``plane + planes − 1`` at every ``row_pitch``-th
    row and ``col_pitch``-th column. The grid starts at ``map_origin_v/h`` and has spacing
    ``map_spacing_v/h``, both relative to the image (0..1); ``gains`` is float32
    (points_v, points_h, map_planes)."""

    top: int
    left: int
    bottom: int
    right: int
    plane: int
    planes: int
    row_pitch: int
    col_pitch: int
    map_spacing_v: float
    map_spacing_h: float
    map_origin_v: float
    map_origin_h: float
    gains: np.ndarray = field(repr=False)
    flags: int = FLAG_OPTIONAL
    dng_version: tuple[int, int, int, int] = OPCODE_DNG_VERSION


@dataclass(frozen=True, eq=False)
class MapTable:
    """DNG opcode 7: each value v (16-bit, 0..65535 = black..white) of the area becomes
    ``table[min(v, len(table) − 1)]``; area fields as :class:`GainMap`."""

    top: int
    left: int
    bottom: int
    right: int
    plane: int
    planes: int
    row_pitch: int
    col_pitch: int
    table: np.ndarray = field(repr=False)  # uint16
    flags: int = FLAG_OPTIONAL
    dng_version: tuple[int, int, int, int] = OPCODE_DNG_VERSION


@dataclass(frozen=True)
class MapPolynomial:
    """DNG opcode 8: each value x (0..1 = black..white) of the area becomes
    c0 + c1·x + … + cN·x^N (N ≤ 8), ``coefficients`` = (c0, …, cN); area fields as
    :class:`GainMap`."""

    top: int
    left: int
    bottom: int
    right: int
    plane: int
    planes: int
    row_pitch: int
    col_pitch: int
    coefficients: tuple[float, ...]
    flags: int = FLAG_OPTIONAL
    dng_version: tuple[int, int, int, int] = OPCODE_DNG_VERSION


@dataclass(frozen=True)
class UnknownOpcode:
    """Any other opcode, kept as read so that a list can be written back unchanged."""

    opcode_id: int
    version: tuple[int, int, int, int]
    flags: int
    parameters: bytes


Opcode = WarpRectilinear | FixVignetteRadial | GainMap | MapTable | MapPolynomial | UnknownOpcode

_AREA = struct.Struct(">8I")  # Top, Left, Bottom, Right, Plane, Planes, RowPitch, ColPitch


def _area_fields(op) -> tuple[int, ...]:
    return (
        op.top, op.left, op.bottom, op.right, op.plane, op.planes, op.row_pitch, op.col_pitch
    )  # fmt: skip


# --- encoding -------------------------------------------------------------------------------


def _finite(values: Sequence[float], what: str) -> list[float]:
    out = [float(v) for v in values]
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"{what} must be finite numbers, got {out}")
    return out


def _check_center(cx: float, cy: float, what: str) -> None:
    if not (0.0 <= cx <= 1.0 and 0.0 <= cy <= 1.0):
        raise ValueError(f"{what}: optical centre ({cx}, {cy}) must lie in the image, 0..1")


def _params(op: Opcode) -> tuple[int, tuple[int, int, int, int], int, bytes]:
    """(ID, version, flags, big-endian parameter bytes) of one opcode."""
    if isinstance(op, WarpRectilinear):
        n = len(op.coefficients)
        if not 1 <= n <= MAX_PLANES:
            raise ValueError(f"WarpRectilinear needs 1 to {MAX_PLANES} planes, got {n}")
        parts = [struct.pack(">I", n)]
        for plane in op.coefficients:
            if len(plane) != 6:
                raise ValueError("WarpRectilinear: each plane is (kr0, kr1, kr2, kr3, kt0, kt1)")
            parts.append(struct.pack(">6d", *_finite(plane, "WarpRectilinear coefficients")))
        _check_center(op.center_x, op.center_y, "WarpRectilinear")
        parts.append(struct.pack(">2d", op.center_x, op.center_y))
        return WARP_RECTILINEAR_ID, op.dng_version, op.flags, b"".join(parts)
    if isinstance(op, FixVignetteRadial):
        if len(op.k) != 5:
            raise ValueError("FixVignetteRadial takes five coefficients k0..k4")
        _check_center(op.center_x, op.center_y, "FixVignetteRadial")
        k = _finite(op.k, "FixVignetteRadial coefficients")
        data = struct.pack(">7d", *k, op.center_x, op.center_y)
        return FIX_VIGNETTE_RADIAL_ID, op.dng_version, op.flags, data
    if isinstance(op, GainMap):
        gains = np.asarray(op.gains, dtype=">f4")
        if gains.ndim != 3 or 0 in gains.shape:
            raise ValueError("GainMap gains must be a non-empty (points_v, points_h, planes) grid")
        if not np.all(np.isfinite(gains)):
            raise ValueError("GainMap gains must be finite")
        head = struct.pack(
            ">8I2I4dI",
            op.top,
            op.left,
            op.bottom,
            op.right,
            op.plane,
            op.planes,
            op.row_pitch,
            op.col_pitch,
            gains.shape[0],
            gains.shape[1],
            *_finite(
                (op.map_spacing_v, op.map_spacing_h, op.map_origin_v, op.map_origin_h),
                "GainMap spacing and origin",
            ),
            gains.shape[2],
        )
        return GAIN_MAP_ID, op.dng_version, op.flags, head + gains.tobytes()
    if isinstance(op, MapTable):
        table = np.asarray(op.table)
        if table.ndim != 1 or not 1 <= table.size <= MAX_TABLE_SIZE:
            raise ValueError(f"MapTable needs 1 to {MAX_TABLE_SIZE} entries, got {table.shape}")
        if table.size and (table.min() < 0 or table.max() > 0xFFFF):
            raise ValueError("MapTable entries must be 0..65535")
        data = _AREA.pack(*_area_fields(op)) + struct.pack(">I", table.size)
        return MAP_TABLE_ID, op.dng_version, op.flags, data + table.astype(">u2").tobytes()
    if isinstance(op, MapPolynomial):
        c = _finite(op.coefficients, "MapPolynomial coefficients")
        if not 1 <= len(c) <= MAX_POLYNOMIAL_DEGREE + 1:
            raise ValueError(f"MapPolynomial takes 1 to {MAX_POLYNOMIAL_DEGREE + 1} coefficients")
        data = _AREA.pack(*_area_fields(op)) + struct.pack(f">I{len(c)}d", len(c) - 1, *c)
        return MAP_POLYNOMIAL_ID, op.dng_version, op.flags, data
    if isinstance(op, UnknownOpcode):
        return op.opcode_id, op.version, op.flags, bytes(op.parameters)
    raise TypeError(f"not a DNG opcode: {op!r}")


def encode_opcode_list(ops: Sequence[Opcode]) -> bytes:
    """The big-endian opcode list (DNG 1.4 chapter 6) holding ``ops`` in order."""
    parts = [struct.pack(">I", len(ops))]
    for op in ops:
        ident, version, flags, data = _params(op)
        parts.append(_HEADER.pack(ident, int.from_bytes(bytes(version), "big"), flags, len(data)))
        parts.append(data)
    return b"".join(parts)


# --- decoding -------------------------------------------------------------------------------


def _bad(message: str) -> UnreadableFile:
    return UnreadableFile(f"damaged DNG opcode list: {message}")


def _doubles(data: bytes, offset: int, n: int, what: str) -> tuple[float, ...]:
    values = struct.unpack_from(f">{n}d", data, offset)
    if not all(math.isfinite(v) for v in values):
        raise _bad(f"{what} holds a value that is not a finite number")
    return values


def _center(data: bytes, offset: int, what: str) -> tuple[float, float]:
    cx, cy = _doubles(data, offset, 2, f"{what} centre")
    if not (0.0 <= cx <= 1.0 and 0.0 <= cy <= 1.0):
        raise _bad(f"{what} optical centre ({cx:g}, {cy:g}) lies outside the image")
    return cx, cy


def _decode_one(ident: int, version: tuple, flags: int, data: bytes) -> Opcode:
    if ident == WARP_RECTILINEAR_ID:
        if len(data) < 4:
            raise _bad("WarpRectilinear is too short")
        (n,) = struct.unpack_from(">I", data)
        if not 1 <= n <= MAX_PLANES or len(data) != 4 + 48 * n + 16:
            raise _bad(f"WarpRectilinear with {n} planes cannot be {len(data)} bytes long")
        coeffs = tuple(
            _doubles(data, 4 + 48 * i, 6, "WarpRectilinear coefficients") for i in range(n)
        )
        cx, cy = _center(data, 4 + 48 * n, "WarpRectilinear")
        return WarpRectilinear(coeffs, cx, cy, flags, version)
    if ident == FIX_VIGNETTE_RADIAL_ID:
        if len(data) != 56:
            raise _bad(f"FixVignetteRadial must be 56 bytes, not {len(data)}")
        k = _doubles(data, 0, 5, "FixVignetteRadial coefficients")
        cx, cy = _center(data, 40, "FixVignetteRadial")
        return FixVignetteRadial(k, cx, cy, flags, version)
    if ident == GAIN_MAP_ID:
        if len(data) < 76:
            raise _bad("GainMap is too short")
        head = struct.unpack_from(">8I2I4dI", data)
        top, left, bottom, right, plane, planes, row_pitch, col_pitch = head[:8]
        points_v, points_h = head[8:10]
        spacing_v, spacing_h, origin_v, origin_h = head[10:14]
        map_planes = head[14]
        if not all(math.isfinite(v) for v in (spacing_v, spacing_h, origin_v, origin_h)):
            raise _bad("GainMap spacing or origin is not a finite number")
        count = points_v * points_h * map_planes
        if count == 0 or count > MAX_GAIN_MAP_VALUES or len(data) != 76 + 4 * count:
            raise _bad(
                f"GainMap of {points_v}×{points_h}×{map_planes} gains cannot be "
                f"{len(data)} bytes long"
            )
        if planes == 0 or row_pitch == 0 or col_pitch == 0:
            raise _bad("GainMap has no planes or a zero pitch")
        # As the DNG SDK reads it (dng_gain_map::GetStream): a single point along an axis has
        # no spacing or origin; more than one need a positive spacing.
        if points_v == 1:
            spacing_v, origin_v = 1.0, 0.0
        if points_h == 1:
            spacing_h, origin_h = 1.0, 0.0
        if spacing_v <= 0 or spacing_h <= 0:
            raise _bad(f"GainMap spacing ({spacing_v:g}, {spacing_h:g}) is not positive")
        gains = np.frombuffer(data, dtype=">f4", count=count, offset=76).astype(np.float32)
        if not np.all(np.isfinite(gains)):
            raise _bad("GainMap holds a gain that is not a finite number")
        return GainMap(
            top,
            left,
            bottom,
            right,
            plane,
            planes,
            row_pitch,
            col_pitch,
            spacing_v,
            spacing_h,
            origin_v,
            origin_h,
            gains.reshape(points_v, points_h, map_planes),
            flags,
            version,
        )
    if ident in (MAP_TABLE_ID, MAP_POLYNOMIAL_ID):
        name = OPCODE_NAMES[ident]
        if len(data) < _AREA.size + 4:
            raise _bad(f"{name} is too short")
        area = _AREA.unpack_from(data)
        if area[5] == 0 or area[6] == 0 or area[7] == 0:
            raise _bad(f"{name} has no planes or a zero pitch")
        (n,) = struct.unpack_from(">I", data, _AREA.size)
        body = _AREA.size + 4
        if ident == MAP_TABLE_ID:
            if not 1 <= n <= MAX_TABLE_SIZE or len(data) != body + 2 * n:
                raise _bad(f"MapTable of {n} entries cannot be {len(data)} bytes long")
            table = np.frombuffer(data, dtype=">u2", count=n, offset=body).astype(np.uint16)
            return MapTable(*area, table, flags, version)
        if n > MAX_POLYNOMIAL_DEGREE or len(data) != body + 8 * (n + 1):
            raise _bad(f"MapPolynomial of degree {n} cannot be {len(data)} bytes long")
        coefficients = _doubles(data, body, n + 1, "MapPolynomial coefficients")
        return MapPolynomial(*area, coefficients, flags, version)
    return UnknownOpcode(ident, version, flags, bytes(data))


def decode_opcode_list(data: bytes) -> list[Opcode]:
    """The opcodes of a big-endian DNG opcode list; malformed data raises
    :class:`~mountcam.errors.UnreadableFile` (never reads past the buffer or allocates by a
    corrupt count)."""
    data = bytes(data)
    if len(data) < 4:
        raise _bad(f"{len(data)} bytes, too short for the opcode count")
    (count,) = struct.unpack_from(">I", data)
    if count > MAX_OPCODES or 4 + 16 * count > len(data):
        raise _bad(f"claims {count} opcodes in {len(data)} bytes")
    ops: list[Opcode] = []
    pos = 4
    for i in range(count):
        if pos + 16 > len(data):
            raise _bad(f"opcode {i + 1} of {count} is cut off")
        ident, version, flags, size = _HEADER.unpack_from(data, pos)
        pos += 16
        if size > len(data) - pos:
            raise _bad(f"opcode {i + 1} (ID {ident}) claims {size} bytes, {len(data) - pos} left")
        ops.append(
            _decode_one(ident, tuple(version.to_bytes(4, "big")), flags, data[pos : pos + size])
        )
        pos += size
    if pos != len(data):
        raise _bad(f"{len(data) - pos} bytes follow the last opcode")
    return ops


# --- the opcode math, as the DNG SDK applies it -----------------------------------------------


def warp_norm_radius(center_x: float, center_y: float, height: int, width: int) -> float:
    """Pixels from the centre (cx·W, cy·H) to the farthest image corner: r = 1 there."""
    ch, cv = center_x * width, center_y * height
    return math.hypot(max(ch, width - ch), max(cv, height - cv))


def warp_source_positions(
    op: WarpRectilinear,
    plane: int,
    rows: np.ndarray,
    cols: np.ndarray,
    image_hw: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) in the uncorrected image that corrected pixel(s) (``rows``, ``cols``) read,
    float64, for an image of ``image_hw`` = (H, W) pixels (pixel (r, c) sits at (r, c)); the
    DNG SDK's ``dng_filter_warp::GetSrcPixelPosition`` with square pixels."""
    height, width = image_hw
    k = op.coefficients[plane if len(op.coefficients) > 1 else 0]
    kr0, kr1, kr2, kr3, kt0, kt1 = k
    ch, cv = op.center_x * width, op.center_y * height
    norm = warp_norm_radius(op.center_x, op.center_y, height, width)
    dv = (np.asarray(rows, dtype=np.float64) - cv) / norm
    dh = (np.asarray(cols, dtype=np.float64) - ch) / norm
    rr = np.minimum(dv * dv + dh * dh, 1.0)
    ratio = kr0 + rr * (kr1 + rr * (kr2 + rr * kr3))
    tan_h = kt0 * 2.0 * dh * dv + kt1 * (rr + 2.0 * dh * dh)
    tan_v = kt1 * 2.0 * dh * dv + kt0 * (rr + 2.0 * dv * dv)
    return cv + norm * (dv * ratio + tan_v), ch + norm * (dh * ratio + tan_h)


def vignette_gain(
    op: FixVignetteRadial, rows: np.ndarray, cols: np.ndarray, image_hw: tuple[int, int]
) -> np.ndarray:
    """The gain FixVignetteRadial applies at pixel(s) (``rows``, ``cols``) of an image of
    ``image_hw`` = (H, W), float64 (pixel centres at +½, as ``dng_opcode_FixVignetteRadial``)."""
    height, width = image_hw
    ch, cv = op.center_x * width, op.center_y * height
    norm = warp_norm_radius(op.center_x, op.center_y, height, width)
    dv = (np.asarray(rows, dtype=np.float64) + 0.5 - cv) / norm
    dh = (np.asarray(cols, dtype=np.float64) + 0.5 - ch) / norm
    x = np.minimum(dv * dv + dh * dh, 1.0)
    g = np.zeros_like(x)
    for k in reversed(op.k):
        g = x * (k + g)
    return 1.0 + g


# --- fitting to the twin's lens ---------------------------------------------------------------

#: Samples of the normalised radius r ∈ [0, 1] used for the fits and their error reports.
_FIT_SAMPLES = 2001


@dataclass(frozen=True)
class LensOpcodeFit:
    """What :func:`fit_lens_opcodes` built and how well it matches the twin's lens model.

    ``ops`` go into OpcodeList3 in this order (vignetting first, on the captured geometry);
    ``list2`` into OpcodeList2 (the lens shading as GainMaps on the raw CFA image, which raw
    converters apply; see ``docs/interop.md``). ``warp_error_px``: the largest distance, in
    pixels anywhere in the frame and any plane, between where the fitted warp reads and where
    the twin imaged the point. ``vignette_error``: the largest relative error of the fitted
    gain against 1/I (0.001 = 0.1 %). ``skipped`` says why an opcode was left out (empty when
    none was).
    """

    ops: tuple[Opcode, ...]
    warp_error_px: float = 0.0
    vignette_error: float = 0.0
    skipped: tuple[str, ...] = ()
    list2: tuple[Opcode, ...] = ()
    #: ``shading(rel_v, rel_h)``: the gain the corrections apply at image-relative positions
    #: (for the preview); None when the lens shading is not corrected.
    shading: Callable | None = field(default=None, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """The opcodes' class names, OpcodeList2's first (for the XMP and summaries)."""
        return tuple(type(op).__name__ for op in (*self.list2, *self.ops))


def _geometry(image_hw, window_origin, full_size):
    """Optical axis in the image's index coordinates (row, col) (the twin puts it at the centre
    of the full sensor grid), and the image size."""
    height, width = (int(v) for v in image_hw)
    full_h, full_w = full_size if full_size and all(full_size) else (height, width)
    row0, col0 = window_origin
    return full_h / 2.0 - 0.5 - row0, full_w / 2.0 - 0.5 - col0, height, width


def _warp_fit(profile, pitch_m: float, axis_rc, hw) -> tuple[WarpRectilinear | None, float]:
    from mountcam.optics.aberrations import lateral_scale_from_um
    from mountcam.optics.sensor_window import FULL_FRAME_HALF_DIAGONAL_M

    height, width = hw
    c = np.zeros(6)
    c[0] = 1.0
    if profile.distortion is not None:
        terms = profile.distortion.as_rho_poly()[1]
        c[: len(terms)] = terms
    scales = (1.0, 1.0, 1.0)
    if profile.lateral_color is not None:
        red, blue = profile.lateral_color.shift_um(1.0)
        scales = (lateral_scale_from_um(float(red)), 1.0, lateral_scale_from_um(float(blue)))
    if profile.distortion is None and scales == (1.0, 1.0, 1.0):
        return None, 0.0
    cx, cy = axis_rc[1] / width, axis_rc[0] / height
    norm_px = warp_norm_radius(cx, cy, height, width)
    r = np.linspace(0.0, 1.0, _FIT_SAMPLES)
    rho = r * norm_px * pitch_m / FULL_FRAME_HALF_DIAGONAL_M
    p = np.polynomial.polynomial.polyval(rho, c)
    u = r * r
    basis = np.stack([np.ones_like(u), u, u * u, u**3], axis=1)
    coeffs, worst = [], 0.0
    for s in scales:
        k, err = _minimax_position_fit(basis, s * p, norm_px * r)
        worst = max(worst, err)
        coeffs.append((*(float(v) for v in k), 0.0, 0.0))
    if scales[0] == scales[2] == 1.0:
        coeffs = coeffs[:1]
    return WarpRectilinear(tuple(coeffs), cx, cy), worst


def _minimax_position_fit(
    basis: np.ndarray, target: np.ndarray, radius_px: np.ndarray
) -> tuple[np.ndarray, float]:
    """Coefficients k minimising the worst position error max |radius·(basis·k − target)| in
    pixels, by Lawson's iteratively reweighted least squares (C. L. Lawson, 1961; starts from
    the plain least-squares fit and only keeps an iterate that lowers the worst error).

    Lawson's update w ← w·e / Σ w·e only means something while the errors e are the fit's
    own. When the basis reproduces the target (every catalogue lens, P = 1 + c2 ρ², and any lens
    on a small crop), the first solve is already exact and e is rounding noise of ~1e-13 px,
    exactly 0 at many samples: reweighting by that noise zeroes the weights one by one until
    Σ w·e = 0, and 0/0 sends NaN into LAPACK ("SVD did not converge"). So the iteration stops
    once the worst error is below :data:`_EXACT_PX`, or when no weight is left to move.
    """
    a = basis * radius_px[:, None]
    t = target * radius_px
    w = np.full(len(t), 1.0 / len(t))
    best_k, best = None, math.inf
    for _ in range(_LAWSON_STEPS):
        sw = np.sqrt(w)
        k, *_ = np.linalg.lstsq(a * sw[:, None], t * sw, rcond=None)
        e = np.abs(a @ k - t)
        worst = float(e.max())
        if worst < best:
            best_k, best = k, worst
        if best <= _EXACT_PX:
            break
        w = w * e
        total = float(w.sum())
        if not (total > 0.0 and math.isfinite(total)):
            break
        w /= total
    return best_k, best


#: Iterations of Lawson's minimax refinement of the warp fit.
_LAWSON_STEPS = 60
#: A warp whose read position is within this many pixels of the twin's everywhere is exact for
#: any resampler; well above the ~1e-12 px rounding noise of the solve at 4096 px radii.
_EXACT_PX = 1e-6


def _relative_illumination(profile, state, rho: np.ndarray, r_m: np.ndarray) -> np.ndarray:
    """What the twin multiplied the image by (:func:`mountcam.optics.imaging.
    relative_illumination`): the lens's profile, or cos⁴θ with tan θ = r / v."""
    if profile.vignetting is not None:
        return np.asarray(profile.vignetting.relative_illumination(rho, state.f_number))
    from mountcam.optics.imaging import image_distance_m

    v = image_distance_m(profile.focal_for(state) * 1e-3, state.focus_m)
    return 1.0 / (1.0 + (r_m / v) ** 2) ** 2


def _vignette_fit(
    profile, state, pitch_m: float, axis_rc, hw
) -> tuple[FixVignetteRadial | None, float]:
    from mountcam.optics.sensor_window import FULL_FRAME_HALF_DIAGONAL_M

    height, width = hw
    # FixVignetteRadial puts pixel centres at +½: the axis sits half a pixel further on.
    cx, cy = (axis_rc[1] + 0.5) / width, (axis_rc[0] + 0.5) / height
    norm_px = warp_norm_radius(cx, cy, height, width)
    r = np.linspace(0.0, 1.0, _FIT_SAMPLES)
    r_m = r * norm_px * pitch_m
    gain = 1.0 / _relative_illumination(profile, state, r_m / FULL_FRAME_HALF_DIAGONAL_M, r_m)
    u = r * r
    basis = np.stack([u, u**2, u**3, u**4, u**5], axis=1)
    # Relative error (1 + Σ k_i u^i) / g − 1 is linear in k; weight by r (the area at r).
    w = np.sqrt(r + 1e-3) / gain
    k, *_ = np.linalg.lstsq(basis * w[:, None], (gain - 1.0) * w, rcond=None)
    worst = float(np.max(np.abs((1.0 + basis @ k) / gain - 1.0)))
    if not np.any(k):
        return None, 0.0
    return FixVignetteRadial(tuple(float(v) for v in k), cx, cy), worst


#: Map points of the lens-shading GainMaps along the image's long side (the short side gets
#: as many as keep the spacing about square). Android's lens shading maps are 17 × 13 or so;
#: bilinear between 17 points a cos⁴ fall-off of 1.8 EV is off by 0.9 %, between 33 by 0.22 %,
#: between 65 by 0.055 %; the main lens's 2 EV profile by 0.17 % (0.0025 EV) at 65 points
#: (4 maps of 65 × 49 float32: 51 kB). ``tests/test_dng_opcodes.py`` checks every pixel.
GAIN_MAP_POINTS = 65
#: Where the lens shading goes: "gain-map" (OpcodeList2, one GainMap per CFA position, as
#: phones write it; darktable 4.2, LibRaw with the DNG SDK and the SDK apply it) or "radial"
#: (FixVignetteRadial first in OpcodeList3, which darktable 4.2 and RawTherapee 5.9 ignore).
VIGNETTING_OPCODES = ("gain-map", "radial")


def shading_gain(profile, state, pitch_m, window_origin, full_size, hw, rel_v, rel_h):
    """1/I: the gain that undoes the twin's relative illumination I at positions ``rel_v``,
    ``rel_h`` (arrays, relative to an image of ``hw`` pixels as the DNG SDK's GainMap reads
    them: pixel (row, col) is at ((row + ½)/H, (col + ½)/W)) of a window at ``window_origin``
    in a full grid of ``full_size`` whose centre is the optical axis."""
    from mountcam.optics.aberrations import FULL_FRAME_HALF_DIAGONAL_M

    height, width = hw
    full_h, full_w = full_size if full_size and all(full_size) else (height, width)
    row0, col0 = window_origin
    y = (row0 + np.asarray(rel_v) * height - full_h / 2.0) * pitch_m
    x = (col0 + np.asarray(rel_h) * width - full_w / 2.0) * pitch_m
    r_m = np.hypot(y, x)
    return 1.0 / _relative_illumination(profile, state, r_m / FULL_FRAME_HALF_DIAGONAL_M, r_m)


def _gain_map_fit(
    profile, state, pitch_m: float, window_origin, full_size, hw, points: int = GAIN_MAP_POINTS
) -> tuple[tuple[GainMap, ...], float]:
    """Four GainMaps (one per 2×2 CFA position) multiplying the raw image by 1/I, the inverse
    of the relative illumination the twin applied, and the worst relative error of the
    bilinear map against 1/I at every pixel centre of a fine check grid.

    The DNG SDK (``dng_gain_map.cpp``) reads the map for stage-2 pixel (row, col) of an H × W
    image at v = ((row + ½)/H − MapOriginV)/MapSpacingV (likewise u), bilinearly; so map
    point i sits at image row i·H/(n−1) − ½, whose position on the sensor is (origin_row +
    i·H/(n−1) − full_H/2)·pitch from the axis (the twin's axis is the full grid's centre).
    """
    height, width = hw
    long_side = max(height, width)
    n_h = points if width >= height else max(2, round((points - 1) * width / long_side) + 1)
    n_v = points if height > width else max(2, round((points - 1) * height / long_side) + 1)

    def gain_at(rel_v, rel_h):
        return shading_gain(profile, state, pitch_m, window_origin, full_size, hw, rel_v, rel_h)

    gv = np.linspace(0.0, 1.0, n_v)
    gh = np.linspace(0.0, 1.0, n_h)
    gains = gain_at(gv[:, None], gh[None, :]).astype(np.float32)
    # Check the bilinear map against the exact gain between the map points.
    cv = (np.arange(4 * (n_v - 1) + 1) + 0.5) / (4 * (n_v - 1) + 1)
    ch = (np.arange(4 * (n_h - 1) + 1) + 0.5) / (4 * (n_h - 1) + 1)
    exact = gain_at(cv[:, None], ch[None, :])
    iv = np.interp(cv, gv, np.arange(n_v))
    ih = np.interp(ch, gh, np.arange(n_h))
    v0 = np.minimum(iv.astype(int), n_v - 2)
    h0 = np.minimum(ih.astype(int), n_h - 2)
    fv, fh = (iv - v0)[:, None], (ih - h0)[None, :]
    g = gains.astype(np.float64)
    bilinear = (
        (1 - fv) * (1 - fh) * g[v0][:, h0]
        + (1 - fv) * fh * g[v0][:, h0 + 1]
        + fv * (1 - fh) * g[v0 + 1][:, h0]
        + fv * fh * g[v0 + 1][:, h0 + 1]
    )
    worst = float(np.max(np.abs(bilinear / exact - 1.0)))
    maps = tuple(
        GainMap(
            top=top,
            left=left,
            bottom=height,
            right=width,
            plane=0,
            planes=1,
            row_pitch=2,
            col_pitch=2,
            map_spacing_v=1.0 / (n_v - 1),
            map_spacing_h=1.0 / (n_h - 1),
            map_origin_v=0.0,
            map_origin_h=0.0,
            gains=gains[:, :, None],
        )
        for top in (0, 1)
        for left in (0, 1)
    )
    return maps, worst


def fit_lens_opcodes(
    profile,
    state,
    *,
    image_hw: tuple[int, int],
    pixel_pitch_m: float,
    window_origin: tuple[int, int] = (0, 0),
    full_size: tuple[int, int] | None = None,
    vignetting: str = "gain-map",
) -> LensOpcodeFit:
    """OpcodeList3 corrections for what the twin's lens ``profile`` at ``state`` did to an
    image of ``image_hw`` = (H, W) pixels of ``pixel_pitch_m``, the window at ``window_origin``
    (row, col) of a full sensor grid of ``full_size`` (H, W) whose centre is the optical axis.

    The lens shading needs the f-number (``state.f_number`` > 0; without it the lens's
    fall-off is unknown and left uncorrected). ``vignetting="gain-map"`` (default) writes it as
    four GainMaps for OpcodeList2 (``list2``), ``"radial"`` as FixVignetteRadial first in
    OpcodeList3. WarpRectilinear is written when the lens has distortion or lateral colour
    (three planes when it has lateral colour). A window that does not contain the optical
    axis cannot be described by the radial opcodes (their centre must lie in 0..1): they are
    left out then, and ``skipped`` says so; the GainMaps need no centre.
    """
    if not (math.isfinite(pixel_pitch_m) and pixel_pitch_m > 0):
        raise ValueError(f"pixel pitch must be positive (got {pixel_pitch_m} m)")
    if vignetting not in VIGNETTING_OPCODES:
        raise ValueError(f"vignetting opcodes must be one of {VIGNETTING_OPCODES}")
    # A lensfun zoom's character depends on the focal length set (its shortest is the default).
    profile = profile.at_focal(profile.focal_for(state))
    axis_row, axis_col, height, width = _geometry(image_hw, window_origin, full_size)
    hw = (height, width)
    axis_inside = 0.0 <= axis_col <= width - 1 and 0.0 <= axis_row <= height - 1
    ops: list[Opcode] = []
    list2: tuple[Opcode, ...] = ()
    skipped: list[str] = []
    shading = None
    vig_error = warp_error = 0.0
    f_number = getattr(state, "f_number", 0.0) or 0.0
    if not (f_number > 0 and math.isfinite(f_number)):
        skipped.append("vignetting: the f-number is not known")
    else:
        shading = functools.partial(
            shading_gain, profile, state, pixel_pitch_m, tuple(window_origin), full_size, hw
        )
    if shading is not None and vignetting == "gain-map":
        list2, vig_error = _gain_map_fit(
            profile, state, pixel_pitch_m, tuple(window_origin), full_size, hw
        )
    elif shading is not None and axis_inside:
        vig, vig_error = _vignette_fit(profile, state, pixel_pitch_m, (axis_row, axis_col), hw)
        if vig is not None:
            ops.append(vig)
    if not axis_inside:
        skipped.append("the optical axis lies outside this window")
        return LensOpcodeFit((), 0.0, vig_error, tuple(skipped), list2, shading)
    warp, warp_error = _warp_fit(profile, pixel_pitch_m, (axis_row, axis_col), hw)
    if warp is not None:
        ops.append(warp)
    return LensOpcodeFit(tuple(ops), warp_error, vig_error, tuple(skipped), list2, shading)


def lens_opcodes(profile, state, **geometry) -> list[Opcode]:
    """The opcodes of :func:`fit_lens_opcodes` (same arguments), as a list."""
    return list(fit_lens_opcodes(profile, state, **geometry).ops)


def lens_opcodes_for_frame(frame, profile, state, *, vignetting: str = "gain-map") -> LensOpcodeFit:
    """:func:`fit_lens_opcodes` with the geometry a :class:`~mountcam.sensor.rawframe.RawFrame`
    records (its size, pixel pitch, window origin and full sensor size); nothing, with the
    reason in ``skipped``, for a frame that does not record its pixel pitch."""
    md = frame.metadata
    if not md.pixel_pitch_m > 0:
        return LensOpcodeFit((), skipped=("the frame does not record its pixel pitch",))
    return _fit_for_geometry(
        _Same(profile),
        state,
        (frame.height, frame.width),
        float(md.pixel_pitch_m),
        tuple(int(v) for v in md.window_origin),
        tuple(int(v) for v in md.full_size),
        vignetting,
    )


class _Same:
    """A lens profile as a cache key: the same object, not an equal one (profiles hold arrays)."""

    def __init__(self, profile) -> None:
        self.profile = profile

    def __hash__(self) -> int:
        return id(self.profile)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Same) and other.profile is self.profile


@functools.lru_cache(maxsize=16)
def _fit_for_geometry(
    profile: _Same, state, image_hw, pixel_pitch_m, window_origin, full_size, vignetting
) -> LensOpcodeFit:
    """:func:`fit_lens_opcodes`, remembered: a live view describes every frame of an unchanged
    lens and window with the same opcodes (the fit cost ~5 ms of a 30 fps frame)."""
    return fit_lens_opcodes(
        profile.profile,
        state,
        image_hw=image_hw,
        pixel_pitch_m=pixel_pitch_m,
        window_origin=window_origin,
        full_size=full_size,
        vignetting=vignetting,
    )
