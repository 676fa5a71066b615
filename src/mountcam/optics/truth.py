"""The noise-free optical image as a person would see it: linear sRGB (D65), white-balanced.

The focal-plane spectral irradiance is integrated with the CIE 1931 2° observer, adapted from
the scene illuminant's white to D65 with the CAT02 von Kries transform (CIE 159:2004), and
converted to linear sRGB (IEC 61966-2-1). Scale: a reflectance-1 white on the optical axis
is (1, 1, 1); off axis the relative illumination darkens it, as it darkens the raw.
"""

from __future__ import annotations

import numpy as np

from mountcam.colorimetry import D65_XY, SRGB_XYZ_TO_RGB, von_kries_matrix, xy_to_xyz
from mountcam.optics.imaging import OpticalImage
from mountcam.spectra import cie_xyz_cmfs


def truth_weights(spectral_irradiance: np.ndarray) -> np.ndarray:
    """Weights (81, 3): reflectance spectrum -> white-balanced linear sRGB, white = 1."""
    cmfs = cie_xyz_cmfs()
    e = np.asarray(spectral_irradiance, dtype=np.float64)
    w_xyz = cmfs * e[:, None]
    w_xyz /= w_xyz[:, 1].sum()  # reflectance-1 white -> Y = 1
    white_xyz = w_xyz.sum(axis=0)
    cat = von_kries_matrix(white_xyz, xy_to_xyz(D65_XY))  # CAT02
    to_srgb = SRGB_XYZ_TO_RGB
    return w_xyz @ (to_srgb @ cat).T


def render_truth(optical: OpticalImage) -> np.ndarray:
    """(H, W, 3) float32 linear sRGB of the optical image on the window's pixel grid."""
    return optical.planes(truth_weights(optical.spectral_irradiance_w_m2_nm)).astype(
        np.float32, copy=False
    )
