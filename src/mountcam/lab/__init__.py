"""Measurements on any raw or image: slanted-edge MTF (ISO 12233) and what to expect of it.

- :func:`slanted_edge_mtf` / :class:`SfrResult` (:mod:`.sfr`): the e-SFR of ISO 12233:2017
  Annex D on an (H, W) array; :func:`mtf_from_dng` on one colour plane of a Bayer DNG.
- :mod:`.diffraction`: the diffraction-limited OTF of a circular aperture (Goodman), the square
  pixel aperture MTF, their product as a prediction, and MTF50 of any curve.
"""

from mountcam.lab.mtf_prediction import (
    band_effective_wavelength,
    diffraction_cutoff_cy_per_m,
    diffraction_otf,
    mtf50_of,
    pixel_aperture_mtf,
    predicted_mtf,
)
from mountcam.lab.sfr import DNG_CHANNELS, SfrError, SfrResult, mtf_from_dng, slanted_edge_mtf

__all__ = [
    "DNG_CHANNELS",
    "SfrError",
    "SfrResult",
    "band_effective_wavelength",
    "diffraction_cutoff_cy_per_m",
    "diffraction_otf",
    "mtf50_of",
    "mtf_from_dng",
    "pixel_aperture_mtf",
    "predicted_mtf",
    "slanted_edge_mtf",
]
