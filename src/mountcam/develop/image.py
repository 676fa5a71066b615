"""A developed picture: pixels in an output colour space plus what it was made from.

``pixels`` is (H, W, 3), row 0 at the top. By default it is float32 with 1.0 = display white,
encoded with the colour space's transfer function (IEC 61966-2-1 sRGB curve for both sRGB and
Display P3) unless ``linear``. For speed the pipeline can instead deliver it already quantised
for an encoder (``develop(..., output_dtype=np.uint8 | np.uint16)``): then ``pixels`` holds
integer code values (0..255 or 0..65535) and :meth:`Image.to_uint8` / :meth:`Image.to_uint16`
/ :meth:`Image.to_float32` convert between the forms, without copying when nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mountcam.develop.settings import DevelopSettings

if TYPE_CHECKING:
    from mountcam.dng.reader import DngInfo

COLOR_SPACES = ("srgb", "display-p3", "linear-rec709")


@dataclass
class Image:
    """Output of :func:`mountcam.develop.develop`.

    ``color_space``: ``"srgb"``, ``"display-p3"`` (both encoded, D65 white) or
    ``"linear-rec709"`` (scene-referred linear, Rec.709/sRGB primaries, D65 white).
    ``source``: the DNG it came from (for EXIF), or None. ``timings_s``: wall time of each
    pipeline stage, seconds (for profiling).
    """

    pixels: np.ndarray
    color_space: str
    linear: bool
    source: DngInfo | None
    settings: DevelopSettings
    timings_s: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if self.color_space not in COLOR_SPACES:
            raise ValueError(f"colour space {self.color_space!r} is not one of {COLOR_SPACES}")
        if self.pixels.ndim != 3 or self.pixels.shape[2] != 3:
            raise ValueError(f"pixels must be (H, W, 3), got {self.pixels.shape}")
        if self.pixels.dtype not in (np.float32, np.uint8, np.uint16):
            raise ValueError(f"pixels must be float32, uint8 or uint16, got {self.pixels.dtype}")

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def to_float32(self) -> np.ndarray:
        """Pixels as float32, 1.0 = white (the stored array when it already is)."""
        p = self.pixels
        if p.dtype == np.float32:
            return p
        return p.astype(np.float32) * np.float32(1.0 / np.iinfo(p.dtype).max)

    def to_uint8(self) -> np.ndarray:
        """Pixels as 8-bit code values, clipped to 0..1 and rounded."""
        return self._to_int(np.uint8)

    def to_uint16(self) -> np.ndarray:
        """Pixels as 16-bit code values, clipped to 0..1 and rounded."""
        return self._to_int(np.uint16)

    def _to_int(self, dtype) -> np.ndarray:
        p = self.pixels
        if p.dtype == dtype:
            return p
        if p.dtype == np.uint16 and dtype == np.uint8:
            # x·255/65535 rounded = (x·255 + 32767) // 65535 without float: exact and cheap.
            return ((p.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
        scale = np.float32(np.iinfo(dtype).max)
        scaled = self.to_float32() * scale  # always a new array, safe to modify in place
        scaled += np.float32(0.5)
        np.clip(scaled, 0, scale, out=scaled)
        return scaled.astype(dtype)
