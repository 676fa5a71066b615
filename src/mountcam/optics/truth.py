"""The noise-free optical image as a person would see it: linear sRGB (D65), white-balanced.

The focal-plane spectral irradiance is integrated with the CIE 1931 2° observer, adapted from
the scene illuminant's white to D65 with the CAT02 von Kries transform (CIE 159:2004), and
converted to linear sRGB (IEC 61966-2-1). Scale: a reflectance-1 white on the optical axis
is (1, 1, 1); off axis the relative illumination darkens it, as it darkens the raw.
"""

from __future__ import annotations

import numpy as np

from mountcam.optics.imaging import OpticalImage
from mountcam.spectra import cie_xyz_cmfs


def truth_weights(spectral_irradiance: np.ndarray) -> np.ndarray:
    """Weights (81, 3): reflectance spectrum -> white-balanced linear sRGB, white = 1."""
    import colour

    cmfs = cie_xyz_cmfs()
    e = np.asarray(spectral_irradiance, dtype=np.float64)
    w_xyz = cmfs * e[:, None]
    w_xyz /= w_xyz[:, 1].sum()  # reflectance-1 white -> Y = 1
    white_xyz = w_xyz.sum(axis=0)
    d65_xyz = colour.xy_to_XYZ(colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"])
    cat = colour.adaptation.matrix_chromatic_adaptation_VonKries(
        white_xyz, d65_xyz, transform="CAT02"
    )
    to_srgb = colour.RGB_COLOURSPACES["sRGB"].matrix_XYZ_to_RGB
    return w_xyz @ (to_srgb @ cat).T


def render_truth(optical: OpticalImage) -> np.ndarray:
    """(H, W, 3) float32 linear sRGB of the optical image on the window's pixel grid."""
    return optical.planes(truth_weights(optical.spectral_irradiance_w_m2_nm)).astype(
        np.float32, copy=False
    )
