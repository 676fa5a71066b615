"""Contrast-detect autofocus for the main module: a coarse sweep and a fine hill climb over
the lens's focus travel, on a region of the raw frames.

**Travel.** The lens moves its optics by ``v − f = f²/(z − f)`` to focus at distance ``z``
(thin lens), nearly proportional to the *dioptric* distance ``1/z``; the blur of a subject at
``z_s`` with the lens focused at ``z`` is a disc of diameter ``c = (f/N) · f · |1/z − 1/z_s|``
(for ``z, z_s ≫ f``; :mod:`mountcam.optics.defocus`), linear in diopters. The loop therefore
works in diopters, from 0 (infinity) to ``1/min_focus_m`` (10 D for the main lens's 10 cm).

**Focus measure.** Band-pass energy of the green raw signal in the region: the squared
response of a difference of Gaussians, less the energy the sensor noise alone would give,
over the squared mean (so it does not change with exposure). Band-pass measures are the robust
choice under noise (M. Subbarao & J.-K. Tian, "Selecting the optimal focus measure for
autofocusing and depth-from-focus", IEEE PAMI 20(8), 1998; S. Pertuz, D. Puig & M. A. Garcia,
"Analysis of focus measure operators for shape-from-focus", Pattern Recognition 46(5), 2013):
a Laplacian or gradient energy is dominated by the noise at the highest frequencies. The noise
variance is estimated from the frame itself (J. Immerkær, "Fast noise variance estimation",
CVIU 64(2), 1996). The coarse sweep uses a lower band (σ 1.5/3 cells) so a subject far from
the sampled positions still registers; the fine climb a higher one (σ 0.7/1.4 cells).

**Search.** Coarse: positions every :data:`COARSE_STEP_D` diopters over the whole travel,
visited from the end nearer the lens's start position, stopping once the measure has fallen
below :data:`PEAK_DROP` of its maximum on two positions after it. Fine: a parabola through the
logarithm of the measure at the best coarse position and its neighbours (a Gaussian-shaped
peak; the interpolation of contrast AF since Krotkov, "Focusing", IJCV 1(3), 1987), then three
frames :data:`FINE_STEP_D` apart around that estimate with the fine measure (climbing on
while the best is at an end) and a second parabola, then one frame at the result to confirm
it (and back to the best measured frame, once, if the result is worse). No peak (the measure
never rises above :data:`MIN_CONTRAST`), a flat one (nowhere :data:`MIN_PEAK_RATIO` times its
smallest: detail as sharp at every focus, as a scene without depth is on the twin) or a peak
beyond the near end of the travel (a subject closer than the lens focuses: the parabola
through the nearest frames still climbs past the end) is reported as not in focus; without a
peak the lens is parked at the hyperfocal distance. Limit: a subject less than about 1 cm
inside the 10 cm close focus blurs so much that its faint peak can look like one at the end
of the travel, and may be reported in focus.

**Depth of field** (:func:`depth_of_field_m`): thin-lens near and far limits with the
hyperfocal distance ``H = f²/(N·c) + f`` (S. F. Ray, *Applied Photographic Optics*, 3rd ed.,
ch. 9), ``c`` the circle of confusion of the 35 mm convention (0.030 mm) divided by the crop
factor.

Usage: ``af = ContrastAf(FocusTravel.of_lens(...), start_focus_m)``; while
``af.next_focus_m is not None``: set the lens there, take a frame, ``af.observe(...)``; then
``af.result``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from mountcam.errors import InvalidSetting

COARSE_STEP_D = 1.0
FINE_STEP_D = 0.12
PEAK_DROP = 0.4
#: Measure at least this many times the smallest one for a peak to count as a subject.
MIN_PEAK_RATIO = 1.5
#: Smallest peak measure that is a subject rather than noise (band energy / mean², noise
#: removed): a uniform patch reads below 3e-6 on the twin, textured subjects 1e-4 and up.
MIN_CONTRAST = 1e-5
COARSE_SIGMAS = (1.5, 3.0)
FINE_SIGMAS = (0.7, 1.4)
#: Circle of confusion of the 35 mm convention, m (divided by the crop factor).
COC_35MM_M = 0.030e-3


@dataclass(frozen=True)
class FocusTravel:
    """The lens's focus range and what depth of field needs. Lengths in metres."""

    focal_m: float
    f_number: float
    min_focus_m: float
    coc_m: float

    def __post_init__(self) -> None:
        if not (0 < self.focal_m < self.min_focus_m and self.f_number > 0 and self.coc_m > 0):
            raise InvalidSetting("focus travel needs 0 < focal length < close focus, N > 0, c > 0")

    @classmethod
    def of_lens(cls, focal_mm: float, f_number: float, min_focus_m: float, crop_factor: float):
        return cls(focal_mm * 1e-3, f_number, min_focus_m, COC_35MM_M / crop_factor)

    @property
    def max_diopters(self) -> float:
        return 1.0 / self.min_focus_m

    def blur_m(self, focus_m: float, subject_m: float) -> float:
        """Defocus blur diameter on the sensor (m) of a subject at ``subject_m`` with the lens
        at ``focus_m`` (module docstring)."""
        return self.focal_m**2 / self.f_number * abs(_d(focus_m) - _d(subject_m))


def _d(z_m: float) -> float:
    return 0.0 if math.isinf(z_m) else 1.0 / z_m


def _z(d: float) -> float:
    return math.inf if d <= 1e-9 else 1.0 / d


def depth_of_field_m(travel: FocusTravel, focus_m: float) -> tuple[float, float]:
    """(near, far) limits of acceptable sharpness, m (far is inf beyond the hyperfocal)."""
    f, n, c = travel.focal_m, travel.f_number, travel.coc_m
    h = f * f / (n * c) + f
    if math.isinf(focus_m):
        return h, math.inf
    s = focus_m
    near = s * (h - f) / (h + s - 2 * f)
    far = math.inf if s >= h else s * (h - f) / (h - s)
    return near, far


# ---- the focus measure ----------------------------------------------------------------------


def green_cells(mosaic: np.ndarray, cfa_pattern: str, black_level_dn) -> np.ndarray:
    """(H/2, W/2) mean of the two green sites of each 2×2 CFA cell, black subtracted."""
    pattern = cfa_pattern.upper()
    if sorted(pattern) != ["B", "G", "G", "R"]:
        raise InvalidSetting(f"CFA pattern {cfa_pattern!r} is not a 2×2 Bayer layout")
    black = np.broadcast_to(np.asarray(black_level_dn, dtype=np.float64), (4,))
    h, w = mosaic.shape[0] // 2 * 2, mosaic.shape[1] // 2 * 2
    greens = [k for k, c in enumerate(pattern) if c == "G"]
    out = np.zeros((h // 2, w // 2), dtype=np.float64)
    for k in greens:
        dy, dx = divmod(k, 2)
        out += mosaic[dy:h:2, dx:w:2].astype(np.float64) - black[k]
    return out / 2.0


def noise_sigma(plane: np.ndarray) -> float:
    """Standard deviation of white noise from the response to Immerkær's (1996) mask
    [[1, −2, 1], [−2, 4, −2], [1, −2, 1]] (Σk² = 36), which cancels smooth structure."""
    p = np.asarray(plane, dtype=np.float64)
    if min(p.shape) < 3:
        return 0.0
    r = (
        p[:-2, :-2] - 2 * p[:-2, 1:-1] + p[:-2, 2:]
        - 2 * p[1:-1, :-2] + 4 * p[1:-1, 1:-1] - 2 * p[1:-1, 2:]
        + p[2:, :-2] - 2 * p[2:, 1:-1] + p[2:, 2:]
    )  # fmt: skip
    return float(
        math.sqrt(math.pi / 2) / (6 * (p.shape[0] - 2) * (p.shape[1] - 2)) * np.abs(r).sum()
    )


def focus_measure(plane: np.ndarray, sigmas: tuple[float, float] = FINE_SIGMAS) -> float:
    """Band-pass energy of ``plane`` (difference of Gaussians ``sigmas``, in samples) less the
    noise's share, over the squared mean: dimensionless, independent of exposure."""
    from scipy.ndimage import gaussian_filter

    p = np.asarray(plane, dtype=np.float64)
    mean = float(p.mean())
    if mean <= 0:
        return 0.0
    band = gaussian_filter(p, sigmas[0], mode="reflect") - gaussian_filter(
        p, sigmas[1], mode="reflect"
    )
    m = int(math.ceil(3 * sigmas[1]))
    inner = band[m:-m, m:-m] if min(band.shape) > 2 * m + 2 else band
    energy = float(np.mean(inner**2))
    # White noise of variance σ² comes out of the filter with variance σ² · Σ k².
    energy -= noise_sigma(p) ** 2 * _noise_gain(*sigmas)
    return max(energy, 0.0) / mean**2


@lru_cache(maxsize=8)
def _noise_gain(s1: float, s2: float) -> float:
    """Σ k² of the sampled difference-of-Gaussians filter (its response to a unit impulse):
    for small σ the sampled kernel is far from the continuous one's 1/(4πσ²) terms."""
    from scipy.ndimage import gaussian_filter

    n = 2 * int(math.ceil(4 * max(s1, s2))) + 1
    delta = np.zeros((n, n))
    delta[n // 2, n // 2] = 1.0
    k = gaussian_filter(delta, s1, mode="constant") - gaussian_filter(delta, s2, mode="constant")
    return float((k**2).sum())


# ---- the loop -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AfResult:
    """Where the lens ended and what the loop concluded. ``in_focus``: a contrast peak was
    found inside the travel and the lens sits on it, so the subject in the region is within
    the depth of field ``(dof_near_m, dof_far_m)``."""

    focus_m: float
    in_focus: bool
    frames: int
    dof_near_m: float
    dof_far_m: float
    reason: str = ""
    #: (diopters, measure) of every frame, in the order taken.
    trace: tuple[tuple[float, float], ...] = field(default=(), repr=False)
    #: Where the region was centred, (x, y) fractions of the field, when the caller says.
    point: tuple[float, float] | None = None

    def as_dict(self) -> dict:
        return {
            "focus_m": self.focus_m,
            "in_focus": self.in_focus,
            "frames": self.frames,
            "dof_m": [self.dof_near_m, self.dof_far_m],
            "reason": self.reason,
            "point": None if self.point is None else list(self.point),
        }


def _parabola_peak(xs, ys) -> float | None:
    """Vertex of the parabola through three points, None if it opens upwards."""
    (x0, x1, x2), (y0, y1, y2) = xs, ys
    denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denom
    b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / denom
    if a >= 0:
        return None
    return -b / (2 * a)


class ContrastAf:
    """The contrast-detect loop (module docstring). ``region`` = (top, left, height, width) in
    mosaic pixels, default the whole frame the caller passes."""

    def __init__(
        self,
        travel: FocusTravel,
        start_focus_m: float,
        region: tuple[int, int, int, int] | None = None,
    ) -> None:
        if not (start_focus_m >= travel.min_focus_m):
            raise InvalidSetting(
                f"the lens focuses from {travel.min_focus_m:g} m to infinity "
                f"(start {start_focus_m:g} m)"
            )
        self.travel = travel
        self.region = region
        d_max = travel.max_diopters
        n = int(math.ceil(d_max / COARSE_STEP_D))
        grid = list(np.linspace(0.0, d_max, n + 1))
        start = _d(start_focus_m)
        # Sweep from the end of the travel nearer the lens's current position.
        self._coarse = grid if start <= d_max / 2 else grid[::-1]
        self._coarse_measures: list[float] = []
        self._fine_positions: list[float] = []
        self._fine_measures: list[float] = []
        self._stage = "coarse"
        self._pending: float | None = self._coarse[0]
        self._trace: list[tuple[float, float]] = []
        self._final_d: float | None = None
        self._went_back = False
        self.result: AfResult | None = None

    @property
    def next_focus_m(self) -> float | None:
        """Where to put the lens for the next frame; None when the loop has finished."""
        return None if self._pending is None else _z(self._pending)

    def observe(self, mosaic: np.ndarray, cfa_pattern: str, black_level_dn) -> None:
        """The frame taken with the lens at :attr:`next_focus_m`."""
        if self._pending is None:
            raise RuntimeError("autofocus has finished; read .result")
        if self.region is not None:
            top, left, h, w = self.region
            top, left = top // 2 * 2, left // 2 * 2
            mosaic = mosaic[top : top + h, left : left + w]
        plane = green_cells(mosaic, cfa_pattern, black_level_dn)
        d = self._pending
        if self._stage == "coarse":
            m = focus_measure(plane, COARSE_SIGMAS)
            self._trace.append((d, m))
            self._coarse_measures.append(m)
            self._pending = self._next_coarse()
        elif self._stage == "fine":
            m = focus_measure(plane, FINE_SIGMAS)
            self._trace.append((d, m))
            self._fine_measures.append(m)
            self._pending = self._next_fine()
        else:  # the confirming frame at the result
            m = focus_measure(plane, FINE_SIGMAS)
            self._trace.append((d, m))
            self._finish_confirm(m)

    # -- stages ----------------------------------------------------------------------------
    def _next_coarse(self) -> float | None:
        ms = self._coarse_measures
        i = len(ms)
        peak = int(np.argmax(ms))
        drop = PEAK_DROP * ms[peak]
        passed = i - peak >= 3 and ms[peak] > MIN_CONTRAST and ms[-1] < drop and ms[-2] < drop
        if i < len(self._coarse) and not passed:
            return self._coarse[i]
        return self._start_fine()

    def _start_fine(self) -> float | None:
        ms = np.array(self._coarse_measures)
        ds = np.array(self._coarse[: len(ms)])
        k = int(np.argmax(ms))
        if not ms[k] > MIN_CONTRAST:
            return self._give_up("no contrast to focus on in the region")
        if not ms[k] > MIN_PEAK_RATIO * float(ms.min()):
            # Detail, but as sharp at every focus: nothing in the region is focusable (on the
            # twin, a scene without depth is drawn sharp wherever the lens is).
            return self._give_up("the region's contrast does not change with focus")
        centre = ds[k]
        if 0 < k < len(ms) - 1 and np.all(ms[k - 1 : k + 2] > 0):
            est = _parabola_peak(ds[k - 1 : k + 2], np.log(ms[k - 1 : k + 2]))
            if est is not None:
                centre = float(np.clip(est, ds[k] - COARSE_STEP_D, ds[k] + COARSE_STEP_D))
        centre = float(np.clip(centre, FINE_STEP_D, self.travel.max_diopters - FINE_STEP_D))
        self._stage = "fine"
        self._fine_positions = [centre - FINE_STEP_D, centre, centre + FINE_STEP_D]
        return self._fine_positions[0]

    def _next_fine(self) -> float | None:
        if len(self._fine_measures) < len(self._fine_positions):
            return self._fine_positions[len(self._fine_measures)]
        xs, ms = np.array(self._fine_positions), np.array(self._fine_measures)
        if not float(ms.max()) > MIN_CONTRAST:
            # No frame around the coarse peak shows detail: that peak was the noise's (a
            # uniform region read at a high ISO can put one coarse frame over the threshold).
            return self._give_up("no contrast to focus on in the region")
        order = np.argsort(xs)
        xs, ms = xs[order], ms[order]
        k = int(np.argmax(ms))
        if k in (0, len(xs) - 1) and len(xs) < 6:
            # The peak lies beyond the frames so far: climb one more step that way.
            step = FINE_STEP_D if k == len(xs) - 1 else -FINE_STEP_D
            nxt = float(np.clip(xs[k] + step, 0.0, self.travel.max_diopters))
            if np.min(np.abs(xs - nxt)) > 1e-9:
                self._fine_positions.append(nxt)
                return nxt
        best = float(xs[k])
        if 0 < k < len(xs) - 1 and np.all(ms[k - 1 : k + 2] > 0):
            est = _parabola_peak(xs[k - 1 : k + 2], np.log(ms[k - 1 : k + 2]))
            if est is not None:
                best = float(np.clip(est, xs[k - 1], xs[k + 1]))
        self._final_d = best
        self._stage = "confirm"
        return best

    def _finish_confirm(self, m: float) -> None:
        k = int(np.argmax(self._fine_measures))
        if m < 0.8 * self._fine_measures[k] and not self._went_back:
            # The fitted peak was worse than a measured frame: go back to that one, once.
            self._went_back = True
            self._final_d = float(self._fine_positions[k])
            self._pending = self._final_d
            return
        too_close = self._beyond_near_end()
        reason = "subject closer than the lens focuses" if too_close else ""
        self._done(float(self._final_d), not too_close, reason)

    def _beyond_near_end(self) -> bool:
        """The contrast peak lies beyond the near end of the travel: the best fine frames are
        the nearest ones and the parabola through them still climbs past the end."""
        d_max = self.travel.max_diopters
        xs, ms = np.array(self._fine_positions), np.array(self._fine_measures)
        order = np.argsort(xs)
        xs, ms = xs[order], ms[order]
        if len(xs) < 3 or xs[-1] < d_max - 1e-9 or int(np.argmax(ms)) != len(xs) - 1:
            return False
        if not np.all(ms[-3:] > 0):
            return True
        vertex = _parabola_peak(xs[-3:], np.log(ms[-3:]))
        return vertex is None or vertex > d_max + 0.5 * FINE_STEP_D

    def _give_up(self, reason: str) -> None:
        # Park at the hyperfocal distance: everything from H/2 to infinity is acceptable.
        near, _ = depth_of_field_m(self.travel, math.inf)
        self._done(_d(near), False, f"{reason}; the lens waits at the hyperfocal distance")
        return None

    def _done(self, d: float, in_focus: bool, reason: str) -> None:
        z = _z(d)
        near, far = depth_of_field_m(self.travel, z)
        self.result = AfResult(z, in_focus, len(self._trace), near, far, reason, tuple(self._trace))
        self._pending = None
