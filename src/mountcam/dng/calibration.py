"""Colour calibration of a camera from its spectral sensitivities: the DNG ``ColorMatrix``.

DNG 1.4 §6 "Mapping Camera Color Space to CIE XYZ Space": ``ColorMatrix1`` (50721) maps CIE XYZ
*under the calibration illuminant* to the reference camera's native RGB; a raw converter inverts
it (after white balance) to get from camera RGB to XYZ. It is normalised so that the XYZ of a
perfect white under that illuminant, scaled to Y = 1, maps to a camera neutral whose largest
component is 1 (the DNG SDK renormalises matrices that are not).

:func:`calibrate` derives it by simulation, as in ISO 17321-1 §6 ("spectral sensitivity
method"): the camera responses ``∫ρ(λ) S(λ) QE_c(λ) dλ`` and the CIE 1931 XYZ
``∫ρ(λ) S(λ) x̄(λ) dλ`` of a set of training reflectances ``ρ`` under illuminant ``S`` are
computed, and a 3×3 matrix relating the two is fitted by least squares.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mountcam.spectra import WAVELENGTHS_NM, cie_xyz_cmfs, sd_on_grid


@dataclass(frozen=True, eq=False)
class ColorCalibration:
    """What the DNG writer needs to describe the camera's colour.

    ``color_matrix_1``: 3×3 XYZ -> camera RGB under ``calibration_illuminant_1`` (an Exif
    LightSource code; 21 = D65), normalised as DNG requires (see module docstring). The ``_2``
    fields hold a second illuminant for a dual-illuminant profile (written when present).
    ``fit_error_de2000``: (mean, max) CIEDE2000 of the fit over the ``training_patches``
    reflectances used for it.
    """

    color_matrix_1: np.ndarray
    calibration_illuminant_1: int = 21
    color_matrix_2: np.ndarray | None = None
    calibration_illuminant_2: int | None = None
    fit_error_de2000: tuple[float, float] = (float("nan"), float("nan"))
    training_patches: int = 0
    #: (mean, max) CIEDE2000 over the 24 ColorChecker patches alone (the first 24 of the set).
    colorchecker_de2000: tuple[float, float] = (float("nan"), float("nan"))
    #: camera response to the calibration illuminant's white, max 1 (its AsShotNeutral).
    camera_neutral_1: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        for name in ("color_matrix_1", "color_matrix_2"):
            m = getattr(self, name)
            if m is None:
                continue
            m = np.array(m, dtype=np.float64)
            if m.shape != (3, 3) or not np.all(np.isfinite(m)):
                raise ValueError(f"{name} must be a finite 3×3 matrix, got shape {m.shape}")
            if abs(np.linalg.det(m)) < 1e-9:
                raise ValueError(f"{name} is singular; a DNG colour matrix must be invertible")
            m.setflags(write=False)
            object.__setattr__(self, name, m)
        if (self.color_matrix_2 is None) != (self.calibration_illuminant_2 is None):
            raise ValueError("color_matrix_2 and calibration_illuminant_2 go together")


def training_reflectances() -> tuple[np.ndarray, list[str]]:
    """Reflectances used for the fit, (N, 81) on the common grid, and their names.

    The 24 patches of the ColorChecker (N. Ohta's measurements, in colour-science) followed by
    the 190 training patches of the Academy's rawtoaces v1 (colour-science's
    ``read_training_data_rawtoaces_v1``, shipped with the package, no download).
    """
    return _training_reflectances()


@lru_cache(maxsize=1)
def _training_reflectances() -> tuple[np.ndarray, list[str]]:
    import colour

    checker = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"]
    rows = [sd_on_grid(sd) for sd in checker.values()]
    names = [f"ColorChecker {name}" for name in checker]
    try:
        from colour.characterisation import read_training_data_rawtoaces_v1

        msds = read_training_data_rawtoaces_v1()
        shape = colour.SpectralShape(WAVELENGTHS_NM[0], WAVELENGTHS_NM[-1], 5)
        values = np.asarray(msds.copy().align(shape).values, dtype=np.float64).T
        rows.extend(values)
        names.extend(f"rawtoaces {label}" for label in msds.labels)
    except (ImportError, OSError):  # pragma: no cover - older colour-science
        pass
    reflectances = np.clip(np.stack(rows), 0.0, None)
    reflectances.setflags(write=False)
    return reflectances, names


def calibrate(
    qe: np.ndarray, illuminant_spd: np.ndarray, illuminant_exif_code: int = 21
) -> ColorCalibration:
    """Fit ``ColorMatrix1`` for a camera with quantum efficiencies ``qe`` (81, 3: R, G, B).

    ``illuminant_spd`` (81,) is the calibration illuminant on the common grid (relative
    units), ``illuminant_exif_code`` its Exif LightSource code (21 = D65, 17 = A, 23 = D50).
    Only relative spectral shapes matter.

    The fit is linear least squares from camera RGB to XYZ over the training reflectances
    (:func:`training_reflectances`), with the constraint that the illuminant's own white maps
    exactly (so neutrals stay neutral after white balance). It runs in the camera -> XYZ
    direction because that is how a raw converter uses the matrix; ``ColorMatrix1`` is its
    inverse, normalised per DNG. The reported error is CIEDE2000 between the true CIELAB and
    the CIELAB of ``inv(ColorMatrix1) · camera`` of each patch, both relative to the
    illuminant's white. Results are cached on the input values.
    """
    qe = np.asarray(qe, dtype=np.float64)
    spd = np.asarray(illuminant_spd, dtype=np.float64)
    n = WAVELENGTHS_NM.size
    if qe.shape != (n, 3) or spd.shape != (n,):
        raise ValueError(
            f"calibrate needs qe (81, 3) and illuminant_spd (81,) on the grid, got {qe.shape} and {spd.shape}"
        )
    if not (np.all(np.isfinite(qe)) and np.all(np.isfinite(spd))):
        raise ValueError("qe and illuminant_spd must be finite")
    return _calibrate_cached(qe.tobytes(), spd.tobytes(), int(illuminant_exif_code))


@lru_cache(maxsize=16)
def _calibrate_cached(qe_bytes: bytes, spd_bytes: bytes, code: int) -> ColorCalibration:
    import colour

    qe = np.frombuffer(qe_bytes, dtype=np.float64).reshape(-1, 3)
    spd = np.frombuffer(spd_bytes, dtype=np.float64)
    refl, _ = training_reflectances()
    cmfs = cie_xyz_cmfs()

    lit = refl * spd  # (N, 81) reflected spectra; the common step cancels in all ratios
    cam = lit @ qe
    xyz = lit @ cmfs
    white_cam = spd @ qe
    white_xyz = spd @ cmfs
    if white_xyz[1] <= 0 or np.any(white_cam <= 0):
        raise ValueError("the illuminant gives no signal in some camera channel or in Y")
    xyz = xyz / white_xyz[1]
    white_xyz = white_xyz / white_xyz[1]
    cam = cam / white_cam.max()
    white_cam = white_cam / white_cam.max()

    cam_to_xyz = _white_preserving_lstsq(cam, xyz, white_cam, white_xyz)
    color_matrix = np.linalg.inv(cam_to_xyz)
    # White is preserved, so color_matrix @ white_xyz == white_cam, whose max is already 1;
    # normalise anyway so the DNG convention holds to the last bit.
    color_matrix = color_matrix / (color_matrix @ white_xyz).max()

    white_xy = colour.XYZ_to_xy(white_xyz)
    lab_true = colour.XYZ_to_Lab(xyz, white_xy)
    lab_fit = colour.XYZ_to_Lab(cam @ np.linalg.inv(color_matrix).T, white_xy)
    de = np.asarray(colour.delta_E(lab_true, lab_fit, method="CIE 2000"))
    return ColorCalibration(
        color_matrix_1=color_matrix,
        calibration_illuminant_1=code,
        fit_error_de2000=(float(de.mean()), float(de.max())),
        training_patches=int(refl.shape[0]),
        colorchecker_de2000=(float(de[:24].mean()), float(de[:24].max())),
        camera_neutral_1=tuple(float(v) for v in color_matrix @ white_xyz),
    )


def _white_preserving_lstsq(
    a: np.ndarray, b: np.ndarray, a_white: np.ndarray, b_white: np.ndarray
) -> np.ndarray:
    """3×3 ``M`` minimising ``Σ‖M a_i − b_i‖²`` subject to ``M a_white = b_white`` exactly.

    Each row ``m`` of ``M`` is an equality-constrained least-squares problem; its KKT system
    ``[[2AᵀA, w], [wᵀ, 0]] [m, λ] = [2Aᵀb, b_w]`` is solved directly.
    """
    kkt = np.zeros((4, 4))
    kkt[:3, :3] = 2.0 * a.T @ a
    kkt[:3, 3] = a_white
    kkt[3, :3] = a_white
    rows = []
    for i in range(b.shape[1]):
        rhs = np.concatenate([2.0 * a.T @ b[:, i], [b_white[i]]])
        rows.append(np.linalg.solve(kkt, rhs)[:3])
    return np.array(rows)
