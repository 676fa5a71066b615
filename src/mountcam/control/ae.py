"""Auto exposure from raw frames: metering modes, exposure programs and a preview-loop controller.

**Target (ISO 12232:2019 standard output sensitivity).** A mid-grey is exposed at
``H = 10/S`` lux·s and the sensor's ISO is saturation-based (``H_sat = 78/S``), so in raw terms
an 18 % grey lands at ``10/78 = 12.8 %`` of the clip level of a neutral's brightest channel.
The DNG's BaselineExposure (+0.49 EV, :data:`mountcam.dng.calibration.BASELINE_EXPOSURE_EV`)
lifts that to the 18 % a raw converter renders as sRGB 118, the standard output sensitivity's
definition. The meter works in *raw luminance* ``Y = w · (R, G, B)`` with ``w`` the Y row of the
camera's ColorMatrix inverse, normalised so a white whose brightest channel clips reads 1
(:func:`luminance_weights`).

**Metering modes** (each returns the level that should land on the target):

- ``matrix``: a 12×9 zone grid with a mild centre emphasis; each zone's mean is capped at
  :data:`MATRIX_ZONE_CAP` × the median zone so a small window or lamp does not drag the
  exposure down; then *highlight protection*: when large bright areas (the 98th percentile of
  cells) would clip by up to :data:`HIGHLIGHT_PROTECT_EV`, the exposure is pulled in so they
  do not. Brighter still (the sun, a window, a lamp) is let go, as an evaluative meter does.
- ``centre``: centre-weighted average, :data:`CENTRE_WEIGHT` of the weight in a central circle
  of diameter :data:`CENTRE_DIAMETER` × the frame width (Nikon: 75 % in the central 8 mm
  circle; Canon: weighted to the centre).
- ``spot``: the mean over a circle covering :data:`SPOT_AREA` of the frame (Canon: ≈ 3.5 %)
  around the spot point (default the centre).
- ``highlight``: the 99th percentile of cell luminance is placed where a diffuse white
  (reflectance :data:`DIFFUSE_WHITE`) belongs, ``log2(0.9/0.18)`` = 2.3 EV above mid-grey
  (Nikon's highlight-weighted metering keeps highlights from clipping).

**Programs** (:func:`plan_exposure`): the meter gives the change of ``t·S/N²`` the frame needs.
``P`` and ``A`` keep the f-number (the main lens is fixed at f/1.9; an M lens's ring as declared
or estimated), put ISO at its minimum and lengthen the shutter up to the slowest handheld
shutter ``1/(2·f_eq)`` (:func:`slowest_handheld_shutter_s`), then raise ISO up to the auto-ISO
ceiling, then lengthen the shutter to the sensor's limit. ``S`` keeps the shutter and picks
ISO; ``M`` changes nothing and reports the meter's error. Exposure compensation ±5 EV in 1/3
steps; AE lock holds the exposure.

**Controller** (:class:`AeController`): the raw response is linear, so one frame's error is
the exact correction unless the meter region is clipped, in which case the measured level is
a lower bound and the step falls short (the loop approaches from above and never overshoots).
When the metered statistic itself is clipped (the highlight percentile, or nearly all of the
metered area) the loop steps :data:`CLIPPED_EXTRA_EV` further;
when much of the frame is clipped (so the zone caps and highlight protection weigh the frame
differently from a well exposed one) it goes :data:`CLIPPED_GAIN` of the way and measures
again.
A gain below one on small errors and hysteresis keep a live view from pumping on noise: the
loop settles within :data:`SETTLE_BAND_EV` and, once settled, holds until the error leaves
:data:`HOLD_BAND_EV`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from mountcam.errors import InvalidSetting

#: ISO 12232:2019: mid-grey exposure 10/S over saturation exposure 78/S.
MID_GREY_LEVEL = 10.0 / 78.0
#: Reflectance a mid-grey stands for (the 18 % card of ISO 12232's SOS definition).
MID_GREY_REFLECTANCE = 0.18
#: Reflectance of a diffuse white (Kodak white card side, ~90 %).
DIFFUSE_WHITE = 0.90

METERING_MODES = ("matrix", "centre", "spot", "highlight")
PROGRAMS = ("P", "A", "S", "M")

MATRIX_ZONES = (12, 9)
MATRIX_ZONE_CAP = 3.0
HIGHLIGHT_PERCENTILE = 98.0
HIGHLIGHT_PROTECT_EV = 1.0
#: Level highlight protection keeps large bright areas under (fraction of clip).
HIGHLIGHT_SAFE_LEVEL = 0.9
CENTRE_DIAMETER = 0.25
CENTRE_WEIGHT = 0.75
SPOT_AREA = 0.035
HIGHLIGHT_MODE_PERCENTILE = 99.0
#: Cells at or above this fraction of clip count as clipped.
CLIP_LEVEL = 0.98

EV_COMPENSATION_RANGE = 5.0
EV_STEP = 1.0 / 3.0
#: The loop settles when a frame's error is within SETTLE_BAND_EV, and once settled holds the
#: exposure until the error leaves HOLD_BAND_EV (hysteresis: a live view does not pump).
SETTLE_BAND_EV = 1.0 / 12.0
HOLD_BAND_EV = 1.0 / 3.0
#: Loop gain for errors under 1 EV (full steps above: the raw response is linear).
SMALL_ERROR_GAIN = 0.85
MAX_STEP_EV = 10.0
#: Extra step down when the metered statistic is clipped (its true level is unknown).
CLIPPED_EXTRA_EV = 1.0
#: A metered area this clipped reads only a bound.
ALL_CLIPPED = 0.9
#: A frame with more than this fraction of cells clipped is stepped at CLIPPED_GAIN.
CLIPPED_UNRELIABLE = 0.05
CLIPPED_GAIN = 0.8


@dataclass(frozen=True)
class ExposureLimits:
    """What the hardware allows and the program's preferences. Times in s."""

    min_exposure_s: float
    max_exposure_s: float
    iso_min: float
    iso_max: float
    slowest_handheld_s: float
    auto_iso_max: float = 6400.0


@dataclass(frozen=True)
class Exposure:
    """One exposure: shutter time (s), ISO speed, f-number."""

    exposure_s: float
    iso: float
    f_number: float

    @property
    def product(self) -> float:
        """t·S/N², proportional to the raw signal of a given scene (s·ISO)."""
        return self.exposure_s * self.iso / self.f_number**2


@dataclass(frozen=True)
class AeSettings:
    """What the photographer chose. ``shutter_s`` is used by S and M, ``iso`` by M (and by P,
    A, S when set: a fixed ISO instead of auto ISO), ``f_number`` by A and M (None: the lens's
    own). ``spot`` is the spot point (x, y) as fractions of the frame (0.5, 0.5 = centre)."""

    program: str = "P"
    metering: str = "matrix"
    ev_compensation: float = 0.0
    lock: bool = False
    shutter_s: float | None = None
    iso: float | None = None
    f_number: float | None = None
    spot: tuple[float, float] = (0.5, 0.5)

    def __post_init__(self) -> None:
        if self.program not in PROGRAMS:
            raise InvalidSetting(f"exposure program '{self.program}' is not one of P, A, S, M")
        if self.metering not in METERING_MODES:
            raise InvalidSetting(
                f"metering '{self.metering}' is not one of {', '.join(METERING_MODES)}"
            )
        ev = self.ev_compensation
        steps = ev / EV_STEP
        if not (
            math.isfinite(ev)
            and abs(ev) <= EV_COMPENSATION_RANGE + 1e-9
            and abs(steps - round(steps)) < 1e-3
        ):
            raise InvalidSetting(
                f"exposure compensation {ev:g} EV is not a 1/3 step from -5 to +5 EV"
            )
        if self.program == "S" and self.shutter_s is None:
            raise InvalidSetting("shutter priority needs a shutter time")
        if self.program == "M" and (self.shutter_s is None or self.iso is None):
            raise InvalidSetting("manual exposure needs both a shutter time and an ISO")
        x, y = self.spot
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise InvalidSetting(f"spot point {self.spot} is outside the frame (0-1, 0-1)")


@dataclass(frozen=True)
class MeterReading:
    """What a metering mode measured on one frame: the raw-luminance level (1 = clip) that
    should land on ``target_level``, and the clipped fraction of the metered area."""

    level: float
    target_level: float
    clipped_fraction: float
    mode: str

    @property
    def error_ev(self) -> float:
        """Exposure change the frame needs, EV (+1: twice the light). Capped at ±10 EV."""
        if self.level <= 0 or not math.isfinite(self.level):
            return MAX_STEP_EV
        return float(np.clip(math.log2(self.target_level / self.level), -MAX_STEP_EV, MAX_STEP_EV))


def luminance_weights(xyz_to_camera: np.ndarray) -> np.ndarray:
    """(3,) weights w with raw luminance ``Y = w · (R, G, B)``: the Y row of the inverse of a
    DNG ColorMatrix (XYZ -> camera, normalised so its illuminant's white, Y = 1, reads max 1;
    DNG 1.4 §6). A white whose brightest channel is at clip reads Y = 1."""
    m = np.asarray(xyz_to_camera, dtype=np.float64)
    return np.linalg.inv(m)[1]


def slowest_handheld_shutter_s(focal_mm: float, crop_factor: float, factor: float = 2.0) -> float:
    """The slowest shutter auto ISO accepts before raising ISO: ``1 / (factor · f_eq)`` s with
    ``f_eq`` the 35 mm-equivalent focal length. ``factor`` = 1 is the photographers'
    reciprocal rule, which CIPA DC-011 (image-stabilisation measurement) takes as its reference
    exposure; 2 is the common advice for high-resolution sensors, and this 50 MP 1-inch sensor
    has the pixel density of a ≈ 350 MP full-frame one."""
    if not (focal_mm > 0 and crop_factor > 0 and factor > 0):
        raise InvalidSetting("focal length and crop factor must be positive")
    return 1.0 / (factor * focal_mm * crop_factor)


# ---- metering ---------------------------------------------------------------------------------


def luminance_cells(
    mosaic: np.ndarray,
    cfa_pattern: str,
    black_level_dn,
    white_level_dn: float,
    weights: np.ndarray,
    shading: np.ndarray | None = None,
) -> np.ndarray:
    """(H/2, W/2) raw luminance of each 2×2 CFA cell (1.0 = a white clipping), any Bayer phase.
    A cell with any site at the white level reads at least 1 (clipped). ``shading`` (H/2,
    W/2): the relative illumination of the lens on the cells, divided out so that lens
    fall-off does not bias the meter (as an ISP corrects lens shading before its statistics)."""
    pattern = cfa_pattern.upper()
    if sorted(pattern) != ["B", "G", "G", "R"]:
        raise InvalidSetting(f"CFA pattern {cfa_pattern!r} is not a 2×2 Bayer layout")
    black = np.broadcast_to(np.asarray(black_level_dn, dtype=np.float64), (4,))
    h, w = mosaic.shape[0] // 2 * 2, mosaic.shape[1] // 2 * 2
    planes: dict[str, list[np.ndarray]] = {"R": [], "G": [], "B": []}
    clipped = np.zeros((h // 2, w // 2), dtype=bool)
    for k, colour in enumerate(pattern):
        dy, dx = divmod(k, 2)
        sub = mosaic[dy:h:2, dx:w:2]
        clipped |= sub >= white_level_dn
        planes[colour].append((sub.astype(np.float32) - black[k]) / (white_level_dn - black[k]))
    rgb = (planes["R"][0], 0.5 * (planes["G"][0] + planes["G"][1]), planes["B"][0])
    y = weights[0] * rgb[0] + weights[1] * rgb[1] + weights[2] * rgb[2]
    if shading is not None:
        y = y / np.maximum(np.asarray(shading, dtype=np.float32), 1e-3)
    return np.where(clipped, np.maximum(y, 1.0), y).astype(np.float32)


def _normalised_coords(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres as (x, y) fractions of the frame width/height."""
    h, w = shape
    return (np.arange(w) + 0.5) / w, (np.arange(h) + 0.5) / h


def _circle_mask(shape, centre, diameter_frac_of_width: float) -> np.ndarray:
    h, w = shape
    xs, ys = _normalised_coords(shape)
    dx = (xs[None, :] - centre[0]) * w
    dy = (ys[:, None] - centre[1]) * h
    r = 0.5 * diameter_frac_of_width * w
    return dx**2 + dy**2 <= r**2


def meter(y: np.ndarray, mode: str, spot: tuple[float, float] = (0.5, 0.5)) -> MeterReading:
    """The reading of metering ``mode`` on raw-luminance cells ``y`` (see module docstring)."""
    y = np.asarray(y, dtype=np.float64)
    clipped = y >= CLIP_LEVEL
    if mode == "spot":
        d = 2.0 * math.sqrt(SPOT_AREA * y.shape[0] * y.shape[1] / math.pi) / y.shape[1]
        mask = _circle_mask(y.shape, spot, d)
        if not mask.any():
            mask[int(spot[1] * (y.shape[0] - 1)), int(spot[0] * (y.shape[1] - 1))] = True
        return MeterReading(
            float(y[mask].mean()), MID_GREY_LEVEL, float(clipped[mask].mean()), mode
        )
    if mode == "centre":
        inner = _circle_mask(y.shape, (0.5, 0.5), CENTRE_DIAMETER)
        w = np.where(inner, CENTRE_WEIGHT / max(inner.sum(), 1), 0.0)
        w += np.where(inner, 0.0, (1 - CENTRE_WEIGHT) / max((~inner).sum(), 1))
        return MeterReading(float((w * y).sum()), MID_GREY_LEVEL, float((w * clipped).sum()), mode)
    if mode == "highlight":
        level = float(np.percentile(y, HIGHLIGHT_MODE_PERCENTILE))
        target = MID_GREY_LEVEL * DIFFUSE_WHITE / MID_GREY_REFLECTANCE
        return MeterReading(level, target, float(clipped.mean()), mode)
    if mode == "matrix":
        return _matrix(y, clipped)
    raise InvalidSetting(f"metering '{mode}' is not one of {', '.join(METERING_MODES)}")


def _zone_means(y: np.ndarray) -> np.ndarray:
    zw, zh = MATRIX_ZONES
    h, w = y.shape
    rows = np.linspace(0, h, zh + 1).astype(int)
    cols = np.linspace(0, w, zw + 1).astype(int)
    return np.array(
        [
            [y[rows[i] : rows[i + 1], cols[j] : cols[j + 1]].mean() for j in range(zw)]
            for i in range(zh)
        ]
    )


def _matrix(y: np.ndarray, clipped: np.ndarray) -> MeterReading:
    zones = _zone_means(y)
    zh, zw = zones.shape
    zx = (np.arange(zw) + 0.5) / zw - 0.5
    zy = (np.arange(zh) + 0.5) / zh - 0.5
    # Mild centre emphasis: the middle zones count twice the corners.
    weight = 1.0 + np.exp(-(zx[None, :] ** 2 + zy[:, None] ** 2) / (2 * 0.25**2))
    capped = np.minimum(zones, MATRIX_ZONE_CAP * float(np.median(zones)))
    level = float((weight * capped).sum() / weight.sum())
    if level <= 0:
        return MeterReading(level, MID_GREY_LEVEL, float(clipped.mean()), "matrix")
    # Highlight protection: large bright areas that the exposure would clip, by a little.
    gain = MID_GREY_LEVEL / level
    bright = float(np.percentile(y, HIGHLIGHT_PERCENTILE))
    over = bright * gain / HIGHLIGHT_SAFE_LEVEL
    if 1.0 < over <= 2.0**HIGHLIGHT_PROTECT_EV and bright < CLIP_LEVEL:
        level *= over
    return MeterReading(level, MID_GREY_LEVEL, float(clipped.mean()), "matrix")


# ---- programs ---------------------------------------------------------------------------------


def plan_exposure(
    current: Exposure, error_ev: float, settings: AeSettings, limits: ExposureLimits
) -> Exposure:
    """The next exposure: ``current`` changed by ``error_ev`` (plus the compensation) through
    the program of ``settings`` within ``limits`` (see module docstring). Under M or AE lock
    the exposure is kept as it is."""
    if settings.program == "M":
        return Exposure(float(settings.shutter_s), float(settings.iso), current.f_number)
    if settings.lock:
        return current
    n = current.f_number if settings.f_number is None else settings.f_number
    product = current.product * 2.0 ** (error_ev + settings.ev_compensation)  # t·S/N²
    ts = product * n**2  # t·S at the new f-number

    def clamp(v, lo, hi):
        return min(max(v, lo), hi)

    auto_iso_hi = min(limits.auto_iso_max, limits.iso_max)
    if settings.program == "S":
        t = float(settings.shutter_s)
        s = settings.iso if settings.iso is not None else clamp(ts / t, limits.iso_min, auto_iso_hi)
        return Exposure(t, float(round(s)), n)
    if settings.iso is not None:  # P or A with a fixed ISO
        t = clamp(ts / settings.iso, limits.min_exposure_s, limits.max_exposure_s)
        return Exposure(t, float(settings.iso), n)
    t = ts / limits.iso_min
    if t <= limits.slowest_handheld_s:
        return Exposure(clamp(t, limits.min_exposure_s, limits.max_exposure_s), limits.iso_min, n)
    s = float(round(clamp(ts / limits.slowest_handheld_s, limits.iso_min, auto_iso_hi)))
    return Exposure(clamp(ts / s, limits.min_exposure_s, limits.max_exposure_s), s, n)


# ---- the preview loop -------------------------------------------------------------------------


@dataclass
class AeController:
    """Preview-loop auto exposure. Feed it each frame's luminance cells and the exposure the
    frame was taken with; it answers the exposure for the next frame.

    ``converged`` is True once a frame's error (after compensation) is within the settle band,
    and stays so while the error is within the hold band.
    """

    settings: AeSettings
    limits: ExposureLimits
    converged: bool = False
    last_reading: MeterReading | None = None

    def update(self, y: np.ndarray, current: Exposure) -> Exposure:
        reading = meter(y, self.settings.metering, self.settings.spot)
        self.last_reading = reading
        error = reading.error_ev
        if self.settings.program == "M" or self.settings.lock:
            self.converged = abs(error + self.settings.ev_compensation) <= HOLD_BAND_EV
            return plan_exposure(
                current, 0.0, replace(self.settings, ev_compensation=0.0), self.limits
            )
        # The compensation is part of the target: the loop settles on error + compensation.
        step = error + self.settings.ev_compensation
        band = HOLD_BAND_EV if self.converged else SETTLE_BAND_EV
        if abs(step) <= band:
            self.converged = True
            return current
        self.converged = False
        if reading.clipped_fraction >= ALL_CLIPPED or (
            reading.mode == "highlight" and reading.level >= CLIP_LEVEL
        ):
            # The metered statistic itself is clipped: its error is only a bound.
            step -= CLIPPED_EXTRA_EV
        elif reading.clipped_fraction > CLIPPED_UNRELIABLE:
            # Much of the frame is clipped: the zones' balance (caps, protection) is not the
            # one of a well exposed frame, so go most of the way and measure again.
            step *= CLIPPED_GAIN
        elif abs(step) < 1.0:
            step *= SMALL_ERROR_GAIN
        nxt = plan_exposure(current, step, replace(self.settings, ev_compensation=0.0), self.limits)
        return nxt
