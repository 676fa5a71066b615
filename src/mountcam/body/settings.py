"""What the photographer sets, in two frozen records validated on their own.

- :class:`Configuration`: how the sensor is read out (module, readout mode, ADC bits, crop).
  Changing it is a mode switch.
- :class:`Controls`: the decisions per shot (program P/A/S/M, shutter, ISO, exposure
  compensation, white balance, metering, focus mode, AE/AWB lock).

The lens state (aperture and focus rings) is neither: it stays with the lens on the mount
(:mod:`mountcam.body.mount`), because an M body cannot read it.

Every refusal names the valid range in words, never a command-line flag (the CLI adds those).
Limits that depend on the sensor (ISO, shutter range, crop size) are checked against it by
:meth:`Configuration.check` and :meth:`Controls.check`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mountcam.errors import InvalidSetting
from mountcam.units import dial_shutter_hint

if TYPE_CHECKING:
    from mountcam.body.backend import SensorInfo

#: Exposure programs: P (camera sets shutter and ISO), A (aperture priority: the lens's ring
#: as it is set), S (shutter priority), M (manual: shutter and ISO as given).
PROGRAMS = ("P", "A", "S", "M")
#: Metering modes (see :mod:`mountcam.control.ae`).
METERING_MODES = ("matrix", "centre", "spot", "highlight", "average")
#: Focus modes: ``auto`` (autofocus, main module) or ``manual`` (the focus ring or distance).
FOCUS_MODES = ("auto", "manual")
#: White-balance presets, with the light they assume (see :mod:`mountcam.control.awb`).
WB_PRESETS = ("daylight", "cloudy", "shade", "tungsten", "fluorescent", "flash")
#: Colour temperatures a Kelvin white balance accepts (the AWB's candidate lights span them).
KELVIN_RANGE = (1800.0, 20000.0)
#: Exposure compensation: ±5 EV in 1/3 EV steps (any value in range is accepted).
EV_RANGE = (-5.0, 5.0)
#: The smallest window worth simulating: DNG's demosaic margin on both sides plus a tile.
MIN_CROP_PX = 32
#: Sensor readout modes a capture may use ("preview" is the live view's, not a capture's).
CAPTURE_MODES = ("binned", "full")

_KELVIN = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*k?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Configuration:
    """Sensor readout: ``module`` (``main`` or ``m``), ``mode`` (``binned`` 4096×3072 or
    ``full`` 8192×6144 on the IMX989), ``bits`` (ADC depth), ``crop`` (width, height) of a
    centred window in output pixels, or None for the whole sensor."""

    module: str = "main"
    mode: str = "binned"
    bits: int = 12
    crop: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.mode not in CAPTURE_MODES:
            raise InvalidSetting(f"readout mode '{self.mode}' does not exist; use binned or full")

    def check(self, sensor: SensorInfo, modules: tuple[str, ...]) -> Configuration:
        """Refuse what this sensor cannot do; returns self."""
        if self.module not in modules:
            raise InvalidSetting(f"module '{self.module}' does not exist; use {_or(modules)}")
        if self.bits not in sensor.bits_allowed:
            allowed = ", ".join(str(b) for b in sensor.bits_allowed)
            raise InvalidSetting(f"{self.bits}-bit output is not available; use {allowed}")
        if self.crop is not None:
            full_w, full_h = sensor.output_size(self.mode)
            w, h = self.crop
            if not (MIN_CROP_PX <= w <= full_w and MIN_CROP_PX <= h <= full_h):
                raise InvalidSetting(
                    f"crop {w}x{h} is outside {MIN_CROP_PX}x{MIN_CROP_PX} to {full_w}x{full_h} "
                    f"(output pixels in {self.mode} mode)"
                )
            if w % 2 or h % 2:
                raise InvalidSetting(f"crop {w}x{h} must have even sides to keep whole Bayer cells")
        return self


@dataclass(frozen=True)
class WhiteBalance:
    """``auto`` (estimated from the frame), a preset (:data:`WB_PRESETS`), or a colour
    temperature in kelvin."""

    mode: str = "auto"  # "auto" | "preset" | "kelvin"
    preset: str | None = None
    kelvin: float | None = None

    @classmethod
    def parse(cls, text: str | float | WhiteBalance) -> WhiteBalance:
        """``"auto"``, a preset name, ``"5600"``/``"5600K"`` or a number of kelvin."""
        if isinstance(text, WhiteBalance):
            return text
        if isinstance(text, int | float):
            return cls.of_kelvin(float(text))
        word = str(text).strip().lower()
        if word == "auto":
            return cls()
        if word in WB_PRESETS:
            return cls("preset", preset=word)
        m = _KELVIN.match(word)
        if m:
            return cls.of_kelvin(float(m.group(1)))
        raise InvalidSetting(
            f"white balance '{text}' does not exist; use auto, {', '.join(WB_PRESETS)}, or a "
            f"colour temperature {KELVIN_RANGE[0]:g}-{KELVIN_RANGE[1]:g} K"
        )

    @classmethod
    def of_kelvin(cls, kelvin: float) -> WhiteBalance:
        lo, hi = KELVIN_RANGE
        if not (math.isfinite(kelvin) and lo <= kelvin <= hi):
            raise InvalidSetting(
                f"white balance {kelvin:g} K is outside the colour temperatures {lo:g}-{hi:g} K"
            )
        return cls("kelvin", kelvin=float(kelvin))

    def __str__(self) -> str:
        if self.mode == "preset":
            return str(self.preset)
        if self.mode == "kelvin":
            return f"{self.kelvin:g}K"
        return "auto"


@dataclass(frozen=True)
class Controls:
    """Per-shot decisions. ``exposure_s`` / ``iso`` None: the program decides them.

    - ``program``: P or A meter shutter and ISO (ISO stays fixed when given); S needs
      ``exposure_s`` and meters ISO (unless given: then it is M in effect); M needs both.
    - ``ev``: exposure compensation for metered exposures, −5 to +5 EV.
    - ``metering``: :data:`METERING_MODES`; ``white_balance``: :class:`WhiteBalance` (or text).
    - ``focus_mode``: ``auto`` runs :meth:`Camera.autofocus` (control.af) before each capture
      of a module with a fixed lens (the result is in the frames' ``metadata.extra
      ["autofocus"]``); ``manual`` (the default: a script says when to focus; ``mountcam
      shoot`` autofocuses the main module unless given a distance) leaves the focus where
      :meth:`Camera.set_lens` (main) or the lens's ring (M) has it.
    - ``af_point``: (x, y), fractions of the whole field's width and height (as the live view
      shows it, 0 to 1), where the autofocus region is centred; None: the centre.
    - ``ae_lock`` / ``awb_lock``: reuse the last metered exposure / white balance instead of
      measuring again (as a half-pressed shutter or an AE-L button does).
    """

    program: str = "P"
    exposure_s: float | None = None
    iso: float | None = None
    ev: float = 0.0
    metering: str = "matrix"
    white_balance: WhiteBalance = WhiteBalance()
    focus_mode: str = "manual"
    af_point: tuple[float, float] | None = None
    ae_lock: bool = False
    awb_lock: bool = False

    def __post_init__(self) -> None:
        if self.program not in PROGRAMS:
            raise InvalidSetting(
                f"exposure program '{self.program}' does not exist; use P, A, S or M"
            )
        if self.metering not in METERING_MODES:
            raise InvalidSetting(
                f"metering '{self.metering}' does not exist; use {_or(METERING_MODES)}"
            )
        if self.focus_mode not in FOCUS_MODES:
            raise InvalidSetting(
                f"focus mode '{self.focus_mode}' does not exist; use auto or manual"
            )
        if self.af_point is not None:
            object.__setattr__(self, "af_point", check_af_point(self.af_point))
        lo, hi = EV_RANGE
        if not (math.isfinite(self.ev) and lo <= self.ev <= hi):
            raise InvalidSetting(
                f"exposure compensation {self.ev:g} EV is outside {lo:g} to +{hi:g} EV"
            )
        if not isinstance(self.white_balance, WhiteBalance):
            object.__setattr__(self, "white_balance", WhiteBalance.parse(self.white_balance))
        if self.exposure_s is not None and not (
            math.isfinite(self.exposure_s) and self.exposure_s > 0
        ):
            raise InvalidSetting("shutter must be longer than 0 s")
        if self.iso is not None and not (math.isfinite(self.iso) and self.iso > 0):
            raise InvalidSetting(f"ISO {self.iso:g} must be a positive number")
        if self.program == "S" and self.exposure_s is None:
            raise InvalidSetting("shutter priority (S) needs a shutter speed")
        if self.program == "M" and (self.exposure_s is None or self.iso is None):
            raise InvalidSetting("manual exposure (M) needs both a shutter speed and an ISO")
        if self.program in ("P", "A") and self.exposure_s is not None:
            raise InvalidSetting(
                f"program {self.program} chooses the shutter itself; use S or M to set it"
            )

    def check(self, sensor: SensorInfo) -> Controls:
        """Refuse a shutter or ISO this sensor cannot do; returns self."""
        if self.iso is not None and not sensor.iso_min <= self.iso <= sensor.iso_max:
            raise InvalidSetting(
                f"ISO {self.iso:g} is outside the sensor's range ISO "
                f"{sensor.iso_min:g}-{sensor.iso_max:g}"
            )
        t = self.exposure_s
        if t is not None and not (
            sensor.min_exposure_s * (1 - 1e-9) <= t <= sensor.max_exposure_s * (1 + 1e-9)
        ):
            hint = dial_shutter_hint(t, sensor.min_exposure_s, sensor.max_exposure_s)
            raise InvalidSetting(
                f"shutter {t:g} s is outside the sensor's range "
                f"1/{round(1 / sensor.min_exposure_s)} s to {sensor.max_exposure_s:g} s{hint}"
            )
        return self

    @property
    def metered(self) -> bool:
        return self.program != "M"

    def with_(self, **changes) -> Controls:
        return replace(self, **changes)

    @classmethod
    def for_exposure(cls, exposure_s: float | None, iso: float | None, **others) -> Controls:
        """The program a shutter and an ISO given (or not) imply, as a camera's mode dial would
        be set: both → M, shutter → S, otherwise P (with the ISO fixed when given)."""
        if exposure_s is not None and iso is not None:
            program = "M"
        elif exposure_s is not None:
            program = "S"
        else:
            program = others.pop("program", "P")
        others.pop("program", None)
        return cls(program=program, exposure_s=exposure_s, iso=iso, **others)


def check_af_point(point) -> tuple[float, float]:
    """An autofocus point as (x, y) fractions of the field, each 0 to 1; refused otherwise."""
    try:
        x, y = (float(v) for v in point)
    except (TypeError, ValueError):
        raise InvalidSetting(
            "an AF point is two numbers, x and y, fractions of the field"
        ) from None
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):  # NaN fails too
        raise InvalidSetting(
            f"AF point {x:g}, {y:g} is outside the field: x and y are fractions, 0 to 1"
        )
    return x, y


def _or(values) -> str:
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]
