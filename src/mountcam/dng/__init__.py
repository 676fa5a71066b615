"""DNG: write a RawFrame as an Adobe Digital Negative, read one back, calibrate its colour.

- :func:`write_dng` / :data:`DEMOSAIC_MARGIN_PX` (:mod:`.writer`): DNG 1.4 file, preview in IFD0,
  raw CFA in a SubIFD, Exif IFD; written atomically, never overwriting silently.
- :func:`read_dng` / :class:`DngInfo` (:mod:`.reader`): the mosaic and what is needed to
  interpret it, from any uncompressed or tifffile-decodable Bayer DNG.
- :func:`calibrate_dual` / :func:`calibrate` / :class:`ColorCalibration` (:mod:`.calibration`):
  ColorMatrix1/2 and ForwardMatrix1/2 (A and D65) fitted from spectral sensitivities.
- :func:`noise_profile_for_frame` (:mod:`.noise_profile`): the NoiseProfile of a capture.
- :mod:`.tiff` is the general TIFF/IFD writer underneath, :mod:`.tags` the tag tables.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mountcam.dng.calibration import ColorCalibration, calibrate, calibrate_dual
    from mountcam.dng.noise_profile import noise_profile_for_frame
    from mountcam.dng.reader import DngInfo, read_dng
    from mountcam.dng.writer import DEMOSAIC_MARGIN_PX, write_dng

#: Where each public name lives. They load on first use: importing one submodule (the TIFF
#: writer, say, for a JPEG's EXIF) does not pull in the others and numba behind them.
_HOMES = {
    "ColorCalibration": "calibration",
    "calibrate": "calibration",
    "calibrate_dual": "calibration",
    "noise_profile_for_frame": "noise_profile",
    "DngInfo": "reader",
    "read_dng": "reader",
    "DEMOSAIC_MARGIN_PX": "writer",
    "write_dng": "writer",
}

__all__ = [
    "DEMOSAIC_MARGIN_PX",
    "ColorCalibration",
    "DngInfo",
    "calibrate",
    "calibrate_dual",
    "noise_profile_for_frame",
    "read_dng",
    "write_dng",
]


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f"mountcam.dng.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'mountcam.dng' has no attribute {name!r}")
