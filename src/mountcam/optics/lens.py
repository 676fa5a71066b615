"""Lens profiles (data files under ``mountcam/data/lenses``) and the lens's set state."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from mountcam.errors import InvalidSetting

#: Diagonal of the 35 mm format, mm (36 × 24 mm), for "equivalent focal length".
FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)


@dataclass(frozen=True)
class LensProfile:
    """What a lens is: focal length in mm, f-number range, focus range, throughput."""

    id: str
    name: str
    mount: str
    focal_mm: float
    max_f: float
    min_f: float
    min_focus_m: float
    transmittance: float
    stops: tuple[float, ...] = ()
    code: int = 0
    blades: int = 0

    @property
    def focal_m(self) -> float:
        return self.focal_mm * 1e-3


@dataclass(frozen=True)
class LensState:
    """What the photographer has set on the lens: aperture (f-number) and focus distance (m)."""

    f_number: float
    focus_m: float = math.inf


def check_state(lens: LensProfile, state: LensState) -> LensState:
    """Refuse an aperture outside the lens's range or focus nearer than its minimum."""
    lo, hi = lens.max_f, lens.min_f
    if not (math.isfinite(state.f_number) and lo * (1 - 1e-6) <= state.f_number <= hi * (1 + 1e-6)):
        rng = f"f/{lo:g}" if lo == hi else f"f/{lo:g} to f/{hi:g}"
        raise InvalidSetting(
            f"aperture f/{state.f_number:g} is not available on {lens.name}: {rng}"
        )
    if not state.focus_m >= lens.min_focus_m:
        raise InvalidSetting(
            f"{lens.name} focuses no closer than {lens.min_focus_m:g} m (asked {state.focus_m:g} m)"
        )
    return state


@lru_cache(maxsize=64)
def load_lens(lens_id: str) -> LensProfile:
    """A lens profile from ``mountcam/data/lenses/<id>.toml``."""
    path = resources.files("mountcam.data") / "lenses" / f"{lens_id}.toml"
    if not path.is_file():
        raise InvalidSetting(f"no lens '{lens_id}' in the catalogue")
    d = tomllib.loads(path.read_text())
    return LensProfile(
        id=d["id"],
        name=d["name"],
        mount=d["mount"],
        focal_mm=float(d["focal_mm"]),
        max_f=float(d["max_f"]),
        min_f=float(d["min_f"]),
        min_focus_m=float(d["min_focus_m"]),
        transmittance=float(d["transmittance"]),
        stops=tuple(float(s) for s in d.get("stops", ())),
        code=int(d.get("code", 0)),
        blades=int(d.get("blades", 0)),
    )
