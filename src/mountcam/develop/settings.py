"""How a raw file is to be developed: one small, validated settings object.

Every choice a photographer makes in ``mountcam develop`` lands here; the pipeline reads
nothing else. Invalid values raise :class:`~mountcam.errors.InvalidSetting` with the allowed
range, as soon as the object is made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from mountcam.develop.looks import look_names
from mountcam.errors import InvalidSetting

QUALITIES = ("fast", "high")
WB_NAMES = ("as-shot", "auto", "daylight", "cloudy", "shade", "tungsten", "fluorescent")
OUTPUT_SPACES = ("srgb", "display-p3")
#: Colour temperatures a kelvin white balance may ask for (the span of Robertson's isotemperature
#: table, 1/600 µK⁻¹ .. ∞, trimmed to what cameras offer).
WB_KELVIN_RANGE = (1700, 25000)
#: User exposure adjustment, EV (a raw file holds about this much latitude either way).
EXPOSURE_EV_RANGE = (-5.0, 5.0)


@dataclass(frozen=True)
class DevelopSettings:
    """Settings of one development.

    ``quality``: ``fast`` (default demosaic, everything fused) or ``high`` (the best demosaic).
    ``look``: the name of a look file under ``data/looks`` (:func:`~mountcam.develop.looks.look_names`:
    ``standard``, ``authentic``, ``vibrant`` ship with mountcam).
    ``wb``: ``as-shot`` (the DNG's AsShotNeutral), ``auto`` (estimated from the raw), a preset
    name, or a colour temperature in kelvin (int, or a string such as ``"5600"``/``"5600K"``).
    ``exposure_ev``: added to the DNG's BaselineExposure, in EV (stops).
    ``linear``: scene-referred linear Rec.709 output, no tone curve, look, denoise, sharpening
    or user exposure (BaselineExposure only).
    ``output_space``: ``srgb`` or ``display-p3`` (ignored when ``linear``).
    ``detect_clipping``: find where each raw channel really clipped (it may be below the
    file's WhiteLevel; :func:`~mountcam.develop.highlights.channel_clip_levels`) and
    reconstruct highlights from there; off, every channel is taken to clip at WhiteLevel.
    """

    quality: str = "fast"
    look: str = "standard"
    wb: str | int = "as-shot"
    exposure_ev: float = 0.0
    linear: bool = False
    lens_correction: bool = True
    output_space: str = "srgb"
    denoise: bool = True
    sharpen: bool = True
    detect_clipping: bool = True

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES:
            raise InvalidSetting(f"quality '{self.quality}' is not one of: {', '.join(QUALITIES)}")
        looks = look_names()
        if self.look not in looks:
            raise InvalidSetting(f"look '{self.look}' is not one of: {', '.join(looks)}")
        if self.output_space not in OUTPUT_SPACES:
            raise InvalidSetting(
                f"output colour space '{self.output_space}' is not one of: "
                f"{', '.join(OUTPUT_SPACES)}"
            )
        object.__setattr__(self, "wb", parse_wb(self.wb))
        ev = float(self.exposure_ev)
        lo, hi = EXPOSURE_EV_RANGE
        if not (math.isfinite(ev) and lo <= ev <= hi):
            raise InvalidSetting(f"exposure {self.exposure_ev!r} EV is outside {lo:+g}..{hi:+g} EV")
        object.__setattr__(self, "exposure_ev", ev)

    @property
    def effective(self) -> DevelopSettings:
        """The settings as the pipeline applies them: ``linear`` switches off the tone curve,
        look, denoise, sharpening and the user's exposure."""
        if not self.linear:
            return self
        return replace(self, exposure_ev=0.0, denoise=False, sharpen=False, look="standard")


def parse_wb(value: str | int) -> str | int:
    """A white balance setting: a name from :data:`WB_NAMES` or a kelvin value (int)."""
    if isinstance(value, bool):
        raise InvalidSetting(f"white balance {value!r} is not a name or a temperature")
    if isinstance(value, int | float):
        kelvin = value
    else:
        text = str(value).strip().lower()
        if text in WB_NAMES:
            return text
        digits = text[:-1] if text.endswith("k") else text
        try:
            kelvin = float(digits)
        except ValueError:
            raise InvalidSetting(
                f"white balance '{value}' is not one of {', '.join(WB_NAMES)} "
                f"or a temperature in kelvin such as 5600"
            ) from None
    lo, hi = WB_KELVIN_RANGE
    if not (math.isfinite(kelvin) and lo <= kelvin <= hi):
        raise InvalidSetting(f"white balance {value} K is outside {lo}..{hi} K")
    return int(round(kelvin))
