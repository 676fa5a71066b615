"""RawFrame: the sensor's output, DN mosaic plus everything needed to interpret it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np


@dataclass
class CaptureMetadata:
    """How a frame was taken. Times in seconds, temperatures in °C, angles never here."""

    sensor: str
    module: str
    mode: str  # "binned" | "full"
    bits: int
    exposure_s: float
    iso: float
    analog_gain: float
    digital_gain: float
    temperature_c: float
    seed: int
    frame_index: int
    timestamp: datetime
    scene: str
    illuminant: str
    lens_name: str
    focal_mm: float
    f_number: float
    #: camera-RGB response to the scene illuminant, normalised to max 1 (DNG AsShotNeutral).
    as_shot_neutral: tuple[float, float, float]
    #: top-left of this frame on the full output-mode pixel grid (row, col), and that grid's size.
    window_origin: tuple[int, int] = (0, 0)
    full_size: tuple[int, int] = (0, 0)
    pixel_pitch_m: float = 0.0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["timestamp"] = self.timestamp.isoformat()
        return d


@dataclass
class RawFrame:
    """A raw capture: ``mosaic`` (H, W) uint16 DN in a 2×2 Bayer ``cfa_pattern`` such as "RGGB".

    ``black_level_dn`` is per CFA position in pattern order (4 values); ``white_level_dn`` is the
    largest DN the ADC emits. ``truth`` (optional) is the noise-free optical image on the same
    pixel grid as (H, W, 3) float32 linear sRGB (D65), white-balanced to the scene illuminant,
    scaled so a reflectance-1 white on the optical axis is 1.0.
    """

    mosaic: np.ndarray
    cfa_pattern: str
    black_level_dn: tuple[float, float, float, float]
    white_level_dn: int
    metadata: CaptureMetadata
    truth: np.ndarray | None = None

    @property
    def height(self) -> int:
        return int(self.mosaic.shape[0])

    @property
    def width(self) -> int:
        return int(self.mosaic.shape[1])
