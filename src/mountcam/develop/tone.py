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
#: intervals keep the interpolated LUT within 1/20 of an 8-bit step of the exact curve and
#: the nearest-entry 8-bit LUT within one code value (both tested). 256 KB: fits in L2.
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


def build_lut_u8(
    curve: ToneCurve | None, x_max: float, encode: bool = True, size: int = LUT_INTERVALS
) -> np.ndarray:
    """uint8 LUT for nearest lookup with index ``floor(x · size / x_max)``: entry ``i`` is the
    rounded 8-bit code of the centre of bin ``i``, ``x = x_max · (i + ½) / size``. The last
    entry also serves inputs at and beyond ``x_max``."""
    x = (np.arange(size) + 0.5) * (x_max / size)
    y = curve(x) if curve is not None else np.clip(x, 0.0, 1.0)
    if encode:
        y = srgb_encode(y)
    return np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8)


def lut_lookup(lut: np.ndarray, x: np.ndarray, x_max: float) -> np.ndarray:
    """Apply a LUT from :func:`build_lut` to ``x`` in numpy (the pipeline's kernel does the
    same per pixel)."""
    n = lut.size - 1
    u = np.clip(np.asarray(x, dtype=np.float64) / x_max, 0.0, 1.0) * n
    i = np.minimum(u.astype(np.int64), n - 1)
    f = u - i
    return (lut[i] * (1 - f) + lut[i + 1] * f).astype(np.float32)


def lut_u8_lookup(lut8: np.ndarray, x: np.ndarray, x_max: float) -> np.ndarray:
    """Apply a LUT from :func:`build_lut_u8` to ``x`` in numpy."""
    n = lut8.size
    i = np.clip(np.asarray(x, dtype=np.float64) * (n / x_max), 0, n - 1).astype(np.int64)
    return lut8[i]
