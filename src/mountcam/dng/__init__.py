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

from mountcam.dng.calibration import ColorCalibration, calibrate, calibrate_dual
from mountcam.dng.noise_profile import noise_profile_for_frame
from mountcam.dng.reader import DngInfo, read_dng
from mountcam.dng.writer import DEMOSAIC_MARGIN_PX, write_dng

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
