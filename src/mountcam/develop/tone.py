"""Tone curve: scene-referred linear light -> display-referred linear light, with a filmic
shoulder that rolls highlights off smoothly instead of clipping them.

The curve is the "Michaelis-Menten" form with a contrast power that the ACES 2.0 output
transform and D. Siragusano's tonescale use (Siragusano, "Tonescale", ACES Output Transform
working group, 2021; the same hyperbola models photoreceptor response: Naka & Rushton 1966)::

    f(x) = s1 · (x / (x + s0)) ** p          (shoulder: approaches s1 as x -> ∞)
    t(x) = f(x)² / (f(x) + t0)               (toe: a gentle darkening of deep shadows)

``p`` sets contrast (slope in log-log at mid grey), ``t0`` the toe. ``s0`` and ``s1`` are
solved so that mid grey ``grey_in`` maps to ``grey_out`` and the highlight point ``white_in``
maps to display white 1.0: above ``white_in`` the output clips, below it the slope never
falls to zero, so highlight detail survives up to ``white_in``.

Units: ``x`` is scene linear in the pipeline's units (1.0 = the raw clip level of the most
sensitive channel after white balance, times the exposure gain; after BaselineExposure an
18 % grey sits at 0.18); output is display linear 0..1, before
the transfer function (sRGB/P3 encoding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mountcam.develop.colour import srgb_encode


@dataclass(frozen=True)
class ToneCurve:
    """Parameters of the curve (see module docstring); all inputs scene linear."""

    grey_in: float = 0.18
    grey_out: float = 0.18
    contrast: float = 1.2
    white_in: float = 2.8
    toe: float = 0.005

    def __post_init__(self) -> None:
        if not 0 < self.grey_in < self.white_in:
            raise ValueError("tone curve needs 0 < grey_in < white_in")
        if not 0 < self.grey_out < 1:
            raise ValueError("tone curve needs 0 < grey_out < 1")
        if not 0.5 <= self.contrast <= 3.0:
            raise ValueError("tone curve contrast must be in 0.5..3")
        if not 0 <= self.toe < self.grey_out:
            raise ValueError("tone curve toe must be in 0..grey_out")
        _ = self._params  # solve now: a curve that cannot be built fails at load time

    @cached_property
    def _params(self) -> tuple[float, float]:
        """(s0, s1) such that t(grey_in) = grey_out and t(white_in) = 1 (bisection in log s0)."""
        p, t0 = self.contrast, self.toe

        def untoe(y: float) -> float:  # f such that f²/(f + t0) = y
            return 0.5 * (y + math.sqrt(y * y + 4.0 * y * t0))

        fg, fw = untoe(self.grey_out), untoe(1.0)
        target = math.log(fw / fg)  # = p·(log(w/(w+s0)) − log(g/(g+s0)))
        g, w = self.grey_in, self.white_in

        def gap(log_s0: float) -> float:
            s0 = math.exp(log_s0)
            return p * (math.log(w / (w + s0)) - math.log(g / (g + s0))) - target

        lo, hi = math.log(1e-6), math.log(1e6)
        if gap(lo) * gap(hi) > 0:
            raise ValueError(
                f"no tone curve with contrast {p} maps grey {g} -> {self.grey_out} and "
                f"white {w} -> 1.0; lower the contrast or raise white_in"
            )
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if gap(lo) * gap(mid) <= 0:
                hi = mid
            else:
                lo = mid
        s0 = math.exp(0.5 * (lo + hi))
        s1 = fw / (w / (w + s0)) ** p
        return s0, s1

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Display-linear output (0..1) for scene-linear input ``x`` (negative -> 0)."""
        s0, s1 = self._params
        x = np.clip(np.asarray(x, dtype=np.float64), 0.0, None)
        f = s1 * np.power(x / (x + s0), self.contrast)
        t = f * f / (f + self.toe) if self.toe > 0 else f
        return np.clip(t, 0.0, 1.0)


#: Intervals of a tone LUT, evenly spaced in scene-linear input over [0, x_max]. A linear index
#: needs no square root or logarithm per pixel (the kernel's cost is the gather); 65 536
#: intervals keep the interpolated LUT within 1/20 of an 8-bit step of the exact curve
#: (tested). 256 KB: fits in L2.
LUT_INTERVALS = 65536


def build_lut(
    curve: ToneCurve | None, x_max: float, encode: bool = True, size: int = LUT_INTERVALS + 1
) -> np.ndarray:
    """float32 LUT for linear interpolation: entry ``i`` is the output for scene input
    ``x = x_max · i / (size−1)`` — the curve (identity when None), then the sRGB/P3
    transfer function when ``encode``."""
    x = np.linspace(0.0, x_max, size)
    y = curve(x) if curve is not None else np.clip(x, 0.0, 1.0)
    if encode:
        y = srgb_encode(y)
    return y.astype(np.float32)


def lut_lookup(lut: np.ndarray, x: np.ndarray, x_max: float) -> np.ndarray:
    """Apply a LUT from :func:`build_lut` to ``x`` in numpy (the pipeline's kernel does the
    same per pixel)."""
    n = lut.size - 1
    u = np.clip(np.asarray(x, dtype=np.float64) / x_max, 0.0, 1.0) * n
    i = np.minimum(u.astype(np.int64), n - 1)
    f = u - i
    return (lut[i] * (1 - f) + lut[i + 1] * f).astype(np.float32)


#: Scale of a fixed-point LUT's entries (:func:`build_lut_fixed`): 8-bit code × 256, so that
#: ``(e + 128) >> 8`` is the rounded 8-bit code and the sharpening can add its change before
#: rounding (1.0 = white = 65 280).
FIXED_ONE = 255 * 256
#: Mantissa bits kept by the fixed-point LUT's index: bins 2⁻¹² wide in relative input, so the
#: nearest entry is within 0.02 of an 8-bit code of the exact curve (tested), twice as close
#: as the interpolated float LUT, with one gather per value instead of two.
FIXED_LUT_MANTISSA_BITS = 12
#: Inputs below this (scene linear; 1.0 = clip) share entry 0. The standard look maps it to
#: 4·10⁻⁸ of an 8-bit code, the identity curve with sRGB encoding to 0.003.
FIXED_LUT_FLOOR = 2.0**-20


@dataclass(frozen=True)
class FixedLut:
    """A uint16 LUT indexed by the bits of a float32 input (:func:`build_lut_fixed`).

    Index of ``x``: ``clip((bits(x) >> shift) − base, 0, len(table) − 1)`` where ``bits`` is
    the IEEE 754 float32 bit pattern read as a signed 32-bit integer: exponent and the top
    mantissa bits, i.e. bins of equal *relative* width, fine where the encoded curve is steep
    (shadows) and no finer than needed in the highlights. Negative inputs (and NaN with the
    sign bit) read entry 0; everything from ``x_max`` up reads the last entry.
    """

    table: np.ndarray  # uint16, encoded output × FIXED_ONE, rounded
    base: int
    shift: int


def _float_bits(x: float) -> int:
    return int(np.array([x], np.float32).view(np.int32)[0])


def build_lut_fixed(
    curve: ToneCurve | None,
    x_max: float,
    encode: bool = True,
    mantissa_bits: int = FIXED_LUT_MANTISSA_BITS,
    floor: float = FIXED_LUT_FLOOR,
) -> FixedLut:
    """Fixed-point LUT of the curve (identity clipped to 0..1 when None), then the sRGB/P3
    transfer function when ``encode``: entry ``i`` is ``round(FIXED_ONE · y)`` at the centre of
    bin ``i`` (the last entry: at ``x_max``). Why: an index from the input's bits is two
    integer operations, needs no division or interpolation, and the nearest entry of bins
    2⁻¹² wide in relative terms is closer to the curve than an 8-bit output can show."""
    shift = 23 - mantissa_bits
    base = _float_bits(floor) >> shift
    top = _float_bits(x_max) >> shift
    idx = np.arange(base, top + 1, dtype=np.int64)
    lo = (idx << shift).astype(np.int32).view(np.float32).astype(np.float64)
    hi = ((idx + 1) << shift).astype(np.int32).view(np.float32).astype(np.float64)
    x = np.minimum(0.5 * (lo + hi), x_max)
    x[-1] = x_max
    y = curve(x) if curve is not None else np.clip(x, 0.0, 1.0)
    if encode:
        y = srgb_encode(y)
    table = np.clip(np.round(y * FIXED_ONE), 0, FIXED_ONE).astype(np.uint16)
    return FixedLut(table=table, base=base, shift=shift)


def lut_fixed_lookup(lut: FixedLut, x: np.ndarray) -> np.ndarray:
    """Apply a LUT from :func:`build_lut_fixed` to ``x`` in numpy (as the pipeline's kernel
    does per value); returns uint16 values × :data:`FIXED_ONE`."""
    bits = np.asarray(x, dtype=np.float32).view(np.int32)
    i = np.clip((bits >> lut.shift) - lut.base, 0, lut.table.size - 1)
    return lut.table[i]
