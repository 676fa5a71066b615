"""RawFrame: the sensor's output, DN mosaic plus everything the body believes about it.

A frame carries only what a camera *knows*: the readout (mode, gains, exposure), its own
decisions (program, metering, white balance), the lens it believes is attached and how it
believes it is set, and its colour calibration. With those, ``write_dng(frame, path)`` and
``develop(frame)`` need nothing else.

What only the simulation knows (the true illuminant and its camera neutral, the true f-number
and focus of the lens, the noise-free image) is a :class:`TwinTruth`. It is deliberately *not*
a field of :class:`RawFrame`: the twin keeps it beside the frame
(:meth:`mountcam.body.backend.SimulatedBackend.truth`), so nothing that is handed a frame (the
DNG writer, develop, 3A) can read it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mountcam.optics.lens import LensProfile, LensState

#: Exif ExposureProgram names the body writes (Exif 2.32 §4.6.5, tag 0x8822).
EXPOSURE_PROGRAMS = ("manual", "program", "aperture priority", "shutter priority")
#: Exif MeteringMode names (tag 0x9207) the body writes.
METERING_MODES = ("unknown", "average", "center weighted average", "spot", "matrix", "other")


@dataclass
class CaptureMetadata:
    """How a frame was taken, as the body knows it. Times in seconds, temperatures in °C.

    ``f_number`` is what the body read or estimated (0: not known, e.g. an M lens before its
    aperture is estimated); ``focus_m`` the focus distance it set or read (None: not known, an
    M lens's focus ring). ``exposure_program`` / ``metering_mode`` use the Exif names of
    :data:`EXPOSURE_PROGRAMS` / :data:`METERING_MODES`; ``white_balance`` is ``"auto"`` or
    ``"manual"`` (Exif WhiteBalance); ``exposure_bias_ev`` the exposure compensation applied.
    """

    sensor: str
    module: str
    mode: str  # "binned" | "full" | "preview"
    bits: int
    exposure_s: float
    iso: float
    analog_gain: float
    digital_gain: float
    temperature_c: float
    seed: int
    frame_index: int
    timestamp: datetime
    lens_name: str
    focal_mm: float
    f_number: float
    #: camera-RGB response to the light the body believes lit the scene, max 1 (AsShotNeutral).
    as_shot_neutral: tuple[float, float, float]
    #: top-left of this frame on the full output-mode pixel grid (row, col), and that grid's size.
    window_origin: tuple[int, int] = (0, 0)
    full_size: tuple[int, int] = (0, 0)
    pixel_pitch_m: float = 0.0
    exposure_program: str | None = None
    metering_mode: str | None = None
    metered: bool | None = None
    white_balance: str = "auto"
    exposure_bias_ev: float = 0.0
    focus_m: float | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["timestamp"] = self.timestamp.isoformat()
        if d["focus_m"] is not None and not math.isfinite(d["focus_m"]):
            d["focus_m"] = "inf"
        return d


@dataclass(eq=False)
class RawFrame:
    """A raw capture: ``mosaic`` (H, W) uint16 DN in a 2×2 Bayer ``cfa_pattern`` such as "RGGB".

    ``black_level_dn`` is per CFA position in pattern order (4 values); ``white_level_dn`` is the
    largest DN the ADC emits. ``lens`` / ``lens_state`` are the lens profile the body believes
    is attached and how it believes it is set (None: no lens data, e.g. lens detection off);
    ``calibration`` is the camera's colour calibration
    (:class:`~mountcam.dng.calibration.ColorCalibration`; None: the sensor preset's).

    Frames compare by identity (a frame is one exposure, not a value).
    """

    mosaic: np.ndarray
    cfa_pattern: str
    black_level_dn: tuple[float, float, float, float]
    white_level_dn: int
    metadata: CaptureMetadata
    lens: LensProfile | None = None
    lens_state: LensState | None = None
    calibration: Any = None

    @property
    def height(self) -> int:
        return int(self.mosaic.shape[0])

    @property
    def width(self) -> int:
        return int(self.mosaic.shape[1])


@dataclass(frozen=True)
class TwinTruth:
    """What only the simulation knows about a frame, for measuring the camera against it.

    ``camera_neutral``: the sensor's raw response to a white under the scene's true light,
    max 1 (what a grey card would give; AWB is measured against it). ``lens_id``,
    ``f_number``, ``focus_m``, ``focal_mm``: the lens really attached and how its rings are
    really set. ``image``: the noise-free optical image on the frame's pixel grid, (H, W, 3)
    float32 linear sRGB (D65), white-balanced to the scene illuminant, a reflectance-1 white
    on the optical axis = 1.0 (None unless asked for). ``luminance_cd_m2``: luminance of a
    reflectance-1 white in the scene.
    """

    scene: str
    illuminant: str
    luminance_cd_m2: float
    camera_neutral: tuple[float, float, float]
    lens_id: str
    f_number: float
    focus_m: float
    focal_mm: float
    image: np.ndarray | None = None
    #: How the scene was made (:meth:`mountcam.scene.Scene.info`: its field of view, the
    #: share of its depth map that was filled, the surround a lens sees beyond it).
    scene_info: dict | None = None

    def as_dict(self) -> dict:
        """JSON-ready, without the image."""
        return {
            "scene": self.scene,
            "illuminant": self.illuminant,
            "luminance_cd_m2": self.luminance_cd_m2,
            "camera_neutral": list(self.camera_neutral),
            "lens_id": self.lens_id,
            "f_number": self.f_number,
            "focus_m": self.focus_m if math.isfinite(self.focus_m) else "inf",
            "focal_mm": self.focal_mm,
            "scene_info": self.scene_info,
        }
