"""A camera module as the body knows it: a sensor, and a fixed lens or an M mount.

A backend describes its modules (:class:`ModuleSpec`); the camera keeps a :class:`Module` per
spec with the state it controls (the main lens's focus motor) or holds (the M mount).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from mountcam.body.mount import Mount
from mountcam.errors import NoLensAttached
from mountcam.optics.lens import FULL_FRAME_DIAGONAL_MM, LensProfile, LensState


@runtime_checkable
class SensorInfo(Protocol):
    """What the body knows about a module's sensor (a :class:`~mountcam.sensor.model.
    SensorModel` is one)."""

    name: str
    cfa_pattern: str
    bits_allowed: tuple[int, ...]
    iso_min: float
    iso_max: float
    min_exposure_s: float
    max_exposure_s: float

    def output_size(self, mode: str) -> tuple[int, int]: ...

    def output_pitch_m(self, mode: str) -> float: ...


@dataclass(frozen=True)
class ModuleSpec:
    """A camera module a backend offers: its sensor, and a fixed lens or an M mount."""

    name: str
    sensor: SensorInfo
    fixed_lens: LensProfile | None = None
    has_mount: bool = False


@dataclass
class Module:
    """One camera module: a sensor and either a fixed lens or a mount that may hold one.

    ``focus_m`` is where the fixed lens's focus motor stands (the body sets it; manual focus or
    autofocus). An M lens's rings are on the lens (:attr:`Mount.rings`)."""

    name: str
    sensor: SensorInfo
    fixed_lens: LensProfile | None = None
    mount: Mount | None = None
    focus_m: float = math.inf

    @property
    def lens(self) -> LensProfile | None:
        """The lens physically in front of the sensor (whatever the body believes it is)."""
        if self.mount is not None:
            return self.mount.lens
        return self.fixed_lens

    @property
    def crop_factor(self) -> float:
        """35 mm diagonal over this sensor's diagonal (≈ 2.64 for the 1-inch type)."""
        w, h = self.sensor.output_size("binned")
        pitch = self.sensor.output_pitch_m("binned")
        return FULL_FRAME_DIAGONAL_MM / (math.hypot(w, h) * pitch * 1e3)

    def require_lens(self) -> LensProfile | None:
        """The lens, or a refusal when the module's mount is empty. A module with neither a
        mount nor a lens profile (a replayed or unknown camera) takes its lens as it is: None."""
        if self.mount is not None and self.mount.lens is None:
            raise NoLensAttached()
        return self.lens

    def physical_optics(self) -> tuple[LensProfile | None, LensState | None]:
        """The lens in front of the sensor and how it is really set: for the backend, which
        stands for the physical world (the light goes through the rings as they are)."""
        if self.mount is not None:
            return self.mount.lens, self.mount.rings
        if self.fixed_lens is None:
            return None, None
        return self.fixed_lens, LensState(self.fixed_lens.max_f, self.focus_m)
