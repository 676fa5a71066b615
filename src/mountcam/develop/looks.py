"""Looks: how a development renders a scene, kept as data in ``mountcam/data/looks/<name>.toml``.

A look is a tone curve (:class:`~mountcam.develop.tone.ToneCurve`) plus an exposure offset and
a saturation. Each value in the file is a table ``{ value = ..., why = "..." }`` so that the
reason for every number travels with it; a look without a reason for a value is refused.

Saturation is applied in linear output RGB before the tone curve as a mix with the pixel's
luminance, ``rgb' = Y + s·(rgb − Y)`` (a 3×3 matrix, so it fuses into the colour matrix);
``s = 1`` leaves colours as the camera profile measured them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from mountcam.develop.colour import rec709_luminance_weights
from mountcam.develop.tone import ToneCurve
from mountcam.errors import InvalidSetting

_TONE_KEYS = ("grey_in", "grey_out", "contrast", "white_in", "toe")
_LOOK_KEYS = ("exposure_ev", "saturation")


@dataclass(frozen=True)
class Look:
    """A look as loaded from its data file. ``rationale`` maps each value's key to its why."""

    name: str
    description: str
    tone: ToneCurve
    exposure_ev: float
    saturation: float
    rationale: dict[str, str]

    def saturation_matrix(self, space: str = "srgb") -> np.ndarray:
        """3×3 on linear RGB of ``space``: ``Y + s·(rgb − Y)`` with Y its luminance."""
        y = rec709_luminance_weights(space)
        s = self.saturation
        return s * np.eye(3) + (1.0 - s) * np.outer(np.ones(3), y)


@lru_cache(maxsize=1)
def look_names() -> tuple[str, ...]:
    """Names of the look files shipped in ``mountcam/data/looks`` (read once per process)."""
    folder = resources.files("mountcam.data") / "looks"
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))


@lru_cache(maxsize=8)
def load_look(name: str) -> Look:
    """Load and check ``mountcam/data/looks/<name>.toml``."""
    folder = resources.files("mountcam.data") / "looks"
    path = folder / f"{name}.toml"
    if not path.is_file():
        raise InvalidSetting(
            f"look '{name}' does not exist; choose one of {', '.join(look_names())}"
        )
    return parse_look(name, path.read_text(encoding="utf-8"))


def parse_look(name: str, text: str) -> Look:
    """A :class:`Look` from TOML text (see the module docstring for the format)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidSetting(f"look '{name}': not valid TOML ({exc})") from exc
    rationale: dict[str, str] = {}

    def value(table: dict, key: str, where: str) -> float:
        entry = table.get(key)
        if not isinstance(entry, dict) or "value" not in entry:
            raise InvalidSetting(f"look '{name}': {where}{key} needs {{ value = ..., why = ... }}")
        why = str(entry.get("why", "")).strip()
        if not why:
            raise InvalidSetting(f"look '{name}': {where}{key} has no 'why'")
        rationale[f"{where}{key}"] = why
        return float(entry["value"])

    tone_table = data.get("tone", {})
    tone_values = {k: value(tone_table, k, "tone.") for k in _TONE_KEYS}
    look_values = {k: value(data, k, "") for k in _LOOK_KEYS}
    try:
        tone = ToneCurve(**tone_values)
    except ValueError as exc:
        raise InvalidSetting(f"look '{name}': {exc}") from exc
    if not 0.0 <= look_values["saturation"] <= 2.0:
        raise InvalidSetting(f"look '{name}': saturation must be in 0..2")
    if not -2.0 <= look_values["exposure_ev"] <= 2.0:
        raise InvalidSetting(f"look '{name}': exposure_ev must be in -2..+2")
    return Look(
        name=name,
        description=str(data.get("description", "")).strip(),
        tone=tone,
        exposure_ev=look_values["exposure_ev"],
        saturation=look_values["saturation"],
        rationale=rationale,
    )
