"""Colour calibration of a camera from its spectral sensitivities: ColorMatrix and ForwardMatrix.

Conventions, from the Adobe Digital Negative Specification 1.4.0.0, chapter 6 "Mapping Camera
Color Space to CIE XYZ Space":

- ``ColorMatrix1/2`` (tags 50721/50722) map CIE XYZ *under the calibration illuminant* to the
  reference camera's native RGB. Here each is normalised so that the illuminant's own white
  (Y = 1) maps to a camera neutral whose largest component is exactly 1. (The DNG SDK only
  rescales a matrix whose D50 white lands outside 0.99..1.01 and the scale never changes a
  rendering: it cancels when the converter white-balances.)
- ``ForwardMatrix1/2`` (tags 50964/50965, DNG 1.2) map *white-balanced* camera RGB (the camera
  neutral divided out, so a neutral reads [1, 1, 1]) to CIE XYZ relative to D50, the profile
  connection space: ``ForwardMatrix · [1, 1, 1]`` is the D50 white. The spec's
  ``CameraToXYZ_D50 = FM · D · Inverse(AB · CC)`` with ``D = Invert(Diagonal(ReferenceNeutral))``.
  The DNG SDK uses D50 = xy (0.3457, 0.3585), XYZ (0.96430, 1, 0.82510), and rescales each row
  of a ForwardMatrix to hit it exactly (``dng_camera_profile::NormalizeForwardMatrix``); the
  ICC's rounded PCS white (0.9642, 1, 0.8249) is within 2·10⁻⁴ of it.
- With two illuminants a converter finds the scene white from AsShotNeutral and weights the two
  matrices linearly in inverse colour temperature (DNG 1.4 §6 "Interpolating",
  :meth:`ColorCalibration.camera_to_xyz_d50`).

Method, as in ISO 17321-1 §6 ("spectral sensitivity method") and DCP profiling tools: the camera
responses ``∫ρ(λ) S(λ) QE_c(λ) dλ`` and the CIE 1931 XYZ ``∫ρ(λ) S(λ) x̄(λ) dλ`` of a set of
training reflectances ``ρ`` under illuminant ``S`` are computed, and a 3×3 matrix relating the
two is fitted with the illuminant's white held exact (so neutrals stay neutral). A
ForwardMatrix — what a DNG 1.4 §6 reader (and mountcam's develop) renders through — minimises
the CIELAB error ``Σ‖J_i (M a_i − b_i)‖²`` with ``J_i = ∂Lab/∂XYZ`` at each patch's true colour
(CIE 015:2018 §8.2.1): still linear least squares, but weighting errors as the eye sees them,
where a plain XYZ fit lets bright patches dominate and leaves dark saturated ones far off (the
ColorChecker's red under illuminant A: 5.2 → 3.2 ΔE2000), which DCP profiling tools avoid by
optimising in a perceptual space. A ColorMatrix is fitted in XYZ (see ``_calibrate_cached``
for why). For a ForwardMatrix the XYZ targets are first adapted from the illuminant's white to
D50 with the linearised Bradford transform (the adaptation the DNG SDK applies when a profile
has no ForwardMatrix, ``dng_color_spec::MapWhiteMatrix``). Fit errors are CIEDE2000 (CIE
015:2018 §8.3) over the training set and by leave-one-out cross-validation (each patch
predicted by a matrix fitted without it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from mountcam.colorimetry import delta_e_2000, xy_to_cct, xyz_to_lab
from mountcam.spectra import WAVELENGTHS_NM, cie_tables, cie_xyz_cmfs, tabulated_illuminant

#: Exif LightSource codes (Exif 2.32 §4.6.5) used as DNG CalibrationIlluminant values, by the
#: CIE illuminant's name in colour-science's ``SDS_ILLUMINANTS`` (and :func:`~mountcam.spectra.
#: cie_tables`).
EXIF_LIGHT_SOURCE = {"A": 17, "D55": 20, "D65": 21, "D75": 22, "D50": 23}
#: Correlated colour temperature (K) the DNG SDK assigns to a CalibrationIlluminant code when it
#: interpolates between two matrices (``dng_camera_profile::IlluminantToTemperature``).
ILLUMINANT_CCT_K = {17: 2850.0, 20: 5500.0, 21: 6500.0, 22: 7500.0, 23: 5000.0}
#: D50 chromaticity the DNG SDK uses as its profile connection space white.
D50_XY = (0.3457, 0.3585)
D50_XYZ = np.array([D50_XY[0] / D50_XY[1], 1.0, (1.0 - D50_XY[0] - D50_XY[1]) / D50_XY[1]])
#: ISO 12232:2019 §6.2 saturation-based speed: saturation at H_sat = 78/S lux·s.
ISO_SATURATION_CONSTANT_LUX_S = 78.0
#: ISO 12232 (and ISO 2720's meter calibration it rests on): a mid-grey is exposed at
#: H = 10/S lux·s, so it lands at 10/78 = 12.8 % of saturation in the saturation-based system.
ISO_MID_GREY_CONSTANT_LUX_S = 10.0
#: Where raw converters put a mid-grey at BaselineExposure 0: 18 % of the linear white.
CONVERTER_MID_GREY = 0.18
#: DNG BaselineExposure (EV): lifts the ISO 12232 mid-grey (12.8 % of white) to the 18 % a
#: converter expects, log2(0.18 · 78 / 10) = +0.49 EV. The same at every ISO, since the
#: saturation-based ISO scales the gain so that 78/S lux·s always clips.
BASELINE_EXPOSURE_EV = float(
    np.log2(CONVERTER_MID_GREY * ISO_SATURATION_CONSTANT_LUX_S / ISO_MID_GREY_CONSTANT_LUX_S)
)
#: Linearised Bradford cone matrix (Lam 1985; as in the DNG SDK and ICC v4 Annex E).
BRADFORD = np.array(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
)


@dataclass(frozen=True)
class FitError:
    """CIEDE2000 error of one fitted matrix over ``patches`` training reflectances.

    ``training_*``: the matrix fitted on all patches, evaluated on them. ``loo_*``: each patch
    predicted by the matrix fitted on all the others (leave-one-out), a fair estimate of the
    error on colours outside the training set. Colour differences are computed relative to the
    white the matrix works in (the calibration illuminant for a ColorMatrix, D50 for a
    ForwardMatrix).
    """

    training_mean: float
    training_max: float
    loo_mean: float
    loo_max: float
    patches: int
    #: (mean, max) over the 24 ColorChecker patches alone (the first 24 of the set), training.
    colorchecker: tuple[float, float] = (float("nan"), float("nan"))


@dataclass(frozen=True, eq=False)
class ColorCalibration:
    """What the DNG writer (and the develop pipeline) needs to describe the camera's colour.

    ``color_matrix_1``: 3×3 XYZ -> camera RGB under ``calibration_illuminant_1`` (an Exif
    LightSource code; 21 = D65, 17 = standard light A), normalised as DNG requires (see module
    docstring). ``forward_matrix_1``: 3×3 white-balanced camera RGB -> XYZ D50 for the same
    illuminant. The ``_2`` fields hold the second illuminant of a dual-illuminant profile.
    ``fit_error_de2000``: (mean, max) CIEDE2000 of ``color_matrix_1`` over the
    ``training_patches`` reflectances; ``fit_errors`` holds training and leave-one-out errors of
    every matrix, keyed by its DNG tag name ("ColorMatrix1", "ForwardMatrix2", ...).
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
    forward_matrix_1: np.ndarray | None = None
    forward_matrix_2: np.ndarray | None = None
    camera_neutral_2: tuple[float, float, float] | None = None
    fit_errors: Mapping[str, FitError] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("color_matrix_1", "color_matrix_2", "forward_matrix_1", "forward_matrix_2"):
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
        if self.forward_matrix_2 is not None and self.color_matrix_2 is None:
            raise ValueError("forward_matrix_2 needs color_matrix_2 (DNG 1.4 §6)")
        if (self.forward_matrix_1 is None) != (self.forward_matrix_2 is None) and (
            self.color_matrix_2 is not None
        ):
            raise ValueError("a dual-illuminant profile has both forward matrices or neither")

    # ---- DNG 1.4 §6: from a camera neutral to camera -> XYZ D50 ---------------------------
    def _weight_1(self, white_xy: np.ndarray) -> float:
        """Weight of matrix 1 for a white of chromaticity ``white_xy`` (1 - weight for 2)."""
        if self.color_matrix_2 is None:
            return 1.0
        t1 = ILLUMINANT_CCT_K.get(self.calibration_illuminant_1)
        t2 = ILLUMINANT_CCT_K.get(self.calibration_illuminant_2)
        if t1 is None or t2 is None or t1 == t2:
            return 1.0
        t = _cct_k(white_xy)
        lo, hi = (t1, t2) if t1 < t2 else (t2, t1)
        if t <= lo:
            g_lo = 1.0
        elif t >= hi:
            g_lo = 0.0
        else:  # linear in inverse temperature (mired), as the DNG SDK interpolates
            g_lo = (1.0 / t - 1.0 / hi) / (1.0 / lo - 1.0 / hi)
        return g_lo if t1 < t2 else 1.0 - g_lo

    def _xyz_to_camera(self, white_xy: np.ndarray) -> tuple[np.ndarray, float]:
        g = self._weight_1(white_xy)
        if self.color_matrix_2 is None:
            return self.color_matrix_1, g
        return g * self.color_matrix_1 + (1.0 - g) * self.color_matrix_2, g

    def color_matrix_for(self, camera_neutral) -> np.ndarray:
        """The XYZ -> camera matrix a DNG reader uses for a scene whose white reads
        ``camera_neutral``: the two ColorMatrices weighted for that white's temperature."""
        return self._xyz_to_camera(self.white_xy(camera_neutral))[0]

    def white_xy(self, camera_neutral) -> np.ndarray:
        """Chromaticity (x, y) of the scene white whose camera response is ``camera_neutral``
        (e.g. AsShotNeutral): the fixed point of ``xy -> XYZtoCamera(xy)⁻¹ · neutral``, as the
        DNG SDK finds it (``dng_color_spec::NeutralToXY``)."""
        neutral = np.asarray(camera_neutral, dtype=np.float64)
        last = np.array(D50_XY)
        for step in range(30):
            m, _ = self._xyz_to_camera(last)
            xyz = np.linalg.solve(m, neutral)
            nxt = xyz[:2] / xyz.sum()
            if np.abs(nxt - last).sum() < 1e-7:
                return nxt
            last = 0.5 * (last + nxt) if step == 29 else nxt
        return last

    def camera_to_xyz_d50(self, camera_neutral) -> np.ndarray:
        """3×3 camera RGB -> CIE XYZ (D50 white) for a scene whose white reads
        ``camera_neutral`` in camera RGB: the DNG 1.4 §6 ``CameraToXYZ_D50`` (no
        CameraCalibration or AnalogBalance), using the ForwardMatrices when present and the
        inverted, Bradford-adapted ColorMatrices otherwise."""
        neutral = np.asarray(camera_neutral, dtype=np.float64)
        white = self.white_xy(neutral)
        cm, g = self._xyz_to_camera(white)
        white_xyz = np.array([white[0] / white[1], 1.0, (1 - white[0] - white[1]) / white[1]])
        if self.forward_matrix_1 is not None:
            fm = self.forward_matrix_1
            if self.forward_matrix_2 is not None:
                fm = g * _normalise_forward(fm) + (1.0 - g) * _normalise_forward(
                    self.forward_matrix_2
                )
            camera_white = cm @ white_xyz
            camera_white = camera_white / camera_white.max()
            return _normalise_forward(fm) @ np.diag(1.0 / camera_white)
        pcs_to_camera = cm @ bradford(D50_XYZ, white_xyz)
        pcs_to_camera = pcs_to_camera / (pcs_to_camera @ D50_XYZ).max()
        return np.linalg.inv(pcs_to_camera)


def _normalise_forward(fm: np.ndarray) -> np.ndarray:
    """Rows scaled so [1, 1, 1] maps to the D50 white exactly (the SDK's normalisation)."""
    return fm * (D50_XYZ / (fm @ np.ones(3)))[:, None]


def _cct_k(xy: np.ndarray) -> float:
    """Correlated colour temperature (K) of chromaticity ``xy``, by Robertson's (1968)
    isotemperature lines in CIE 1960 uv, the method of the DNG SDK's ``dng_temperature``."""
    return xy_to_cct(xy)[0]


def bradford(source_white_xyz: np.ndarray, target_white_xyz: np.ndarray) -> np.ndarray:
    """3×3 linearised Bradford adaptation of XYZ from ``source_white`` to ``target_white``."""
    src = BRADFORD @ np.asarray(source_white_xyz, dtype=np.float64)
    dst = BRADFORD @ np.asarray(target_white_xyz, dtype=np.float64)
    return np.linalg.inv(BRADFORD) @ np.diag(dst / src) @ BRADFORD


def training_reflectances() -> tuple[np.ndarray, list[str]]:
    """Reflectances used for the fit, (N, 81) on the common grid, and their names.

    The 24 patches of the ColorChecker (N. Ohta's measurements, in colour-science) followed by
    the 190 training patches of the Academy's rawtoaces v1 (colour-science's
    ``read_training_data_rawtoaces_v1``), both as sampled into :func:`~mountcam.spectra.
    cie_tables`.
    """
    return _training_reflectances()


@lru_cache(maxsize=1)
def _training_reflectances() -> tuple[np.ndarray, list[str]]:
    tables = cie_tables()
    names = [f"ColorChecker {name}" for name in tables["colorchecker_names"]]
    names += [f"rawtoaces {label}" for label in tables["training_names"]]
    rows = np.concatenate([tables["colorchecker"], tables["training"]])
    reflectances = np.clip(rows, 0.0, None)
    reflectances.setflags(write=False)
    return reflectances, names


def illuminant_spd(name: str) -> np.ndarray:
    """A tabulated CIE illuminant (``"A"``, ``"D65"``, ...) on the common grid."""
    return np.array(tabulated_illuminant(name))


def calibrate(
    qe: np.ndarray, illuminant_spd: np.ndarray, illuminant_exif_code: int = 21
) -> ColorCalibration:
    """Single-illuminant profile (``ColorMatrix1``, ``ForwardMatrix1``) for a camera with
    spectral sensitivities ``qe`` (81, 3: R, G, B) *per unit energy* (the camera signal of
    spectrum ``E`` is ``∫ E·qe dλ``; for a quantum efficiency use :func:`calibrate_dual` or
    multiply by the wavelength first).

    ``illuminant_spd`` (81,) is the calibration illuminant on the common grid (relative
    units), ``illuminant_exif_code`` its Exif LightSource code (21 = D65, 17 = A, 23 = D50).
    Only relative spectral shapes matter.

    The ColorMatrix fit runs in the camera -> XYZ direction, because that is how a raw
    converter uses it; ``ColorMatrix1`` is its inverse, normalised per DNG. Its error is
    CIEDE2000 between the true CIELAB and the CIELAB of ``inv(ColorMatrix1) · camera`` of each
    patch, both relative to the illuminant's white. Results are cached on the input values.
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


def calibrate_dual(
    qe: np.ndarray,
    illuminant_1: str = "A",
    illuminant_2: str = "D65",
    *,
    quantum_efficiency: bool = True,
) -> ColorCalibration:
    """Dual-illuminant profile: ColorMatrix1/ForwardMatrix1 for ``illuminant_1`` (default CIE
    standard illuminant A, Exif 17) and ColorMatrix2/ForwardMatrix2 for ``illuminant_2``
    (default D65, Exif 21), the pair Adobe's own camera profiles use. Cached on the values.

    ``qe`` (81, 3) is the sensor's quantum efficiency (electrons per photon), as in the sensor
    preset: a photon-counting pixel's response to spectral irradiance ``E(λ)`` (W·m⁻²·nm⁻¹) is
    ``∫ E(λ)·QE(λ)·λ/(h·c) dλ``, so the fit uses the energy responsivity ``QE(λ)·λ`` (relative
    units). Pass ``quantum_efficiency=False`` for sensitivities that are already per unit
    energy (as :func:`calibrate` takes them)."""
    qe = np.asarray(qe, dtype=np.float64)
    if quantum_efficiency:
        qe = qe * (WAVELENGTHS_NM / WAVELENGTHS_NM.max())[:, None]
    for name in (illuminant_1, illuminant_2):
        if name not in EXIF_LIGHT_SOURCE:
            raise ValueError(
                f"no Exif LightSource code for illuminant {name!r}; use one of "
                f"{', '.join(EXIF_LIGHT_SOURCE)}"
            )
    one = calibrate(qe, illuminant_spd(illuminant_1), EXIF_LIGHT_SOURCE[illuminant_1])
    two = calibrate(qe, illuminant_spd(illuminant_2), EXIF_LIGHT_SOURCE[illuminant_2])
    errors = dict(one.fit_errors)
    errors.update({k.replace("1", "2"): v for k, v in two.fit_errors.items()})
    return ColorCalibration(
        color_matrix_1=one.color_matrix_1,
        calibration_illuminant_1=one.calibration_illuminant_1,
        color_matrix_2=two.color_matrix_1,
        calibration_illuminant_2=two.calibration_illuminant_1,
        fit_error_de2000=one.fit_error_de2000,
        training_patches=one.training_patches,
        colorchecker_de2000=one.colorchecker_de2000,
        camera_neutral_1=one.camera_neutral_1,
        forward_matrix_1=one.forward_matrix_1,
        forward_matrix_2=two.forward_matrix_1,
        camera_neutral_2=two.camera_neutral_1,
        fit_errors=errors,
    )


@lru_cache(maxsize=16)
def _calibrate_cached(qe_bytes: bytes, spd_bytes: bytes, code: int) -> ColorCalibration:
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

    # ColorMatrix: camera -> XYZ under the illuminant, white exact; stored inverted.
    # Fitted in XYZ, not CIELAB: readers that render through the ColorMatrix itself (LibRaw,
    # dcraw) balance in camera space and apply its inverse, and measured on the twin's chart
    # they do better with the plain fit (LibRaw ΔE2000 mean D65 1.06 vs 1.18, A 2.96 vs 3.13).
    # A DNG 1.4 §6 reader renders through the ForwardMatrix and uses this only to find the white.
    cam_to_xyz, cm_error = _fit_with_errors(
        cam, xyz, white_cam, white_xyz, white_xyz, weighting="xyz"
    )
    color_matrix = np.linalg.inv(cam_to_xyz)
    # White is preserved, so color_matrix @ white_xyz == white_cam, whose max is already 1;
    # normalise anyway so the DNG convention holds to the last bit.
    color_matrix = color_matrix / (color_matrix @ white_xyz).max()

    # ForwardMatrix: white-balanced camera -> XYZ adapted to D50, [1, 1, 1] -> D50 exactly.
    xyz_d50 = xyz @ bradford(white_xyz, D50_XYZ).T
    forward, fm_error = _fit_with_errors(cam / white_cam, xyz_d50, np.ones(3), D50_XYZ, D50_XYZ)

    return ColorCalibration(
        color_matrix_1=color_matrix,
        calibration_illuminant_1=code,
        fit_error_de2000=(cm_error.training_mean, cm_error.training_max),
        training_patches=int(refl.shape[0]),
        colorchecker_de2000=cm_error.colorchecker,
        camera_neutral_1=tuple(float(v) for v in color_matrix @ white_xyz),
        forward_matrix_1=forward,
        fit_errors={"ColorMatrix1": cm_error, "ForwardMatrix1": fm_error},
    )


def _fit_with_errors(
    a: np.ndarray,
    b: np.ndarray,
    a_white: np.ndarray,
    b_white: np.ndarray,
    lab_white: np.ndarray,
    *,
    weighting: str = "lab",
) -> tuple[np.ndarray, FitError]:
    """White-preserving fit ``b ≈ M a`` and its training and leave-one-out CIEDE2000 errors,
    CIELAB taken relative to ``lab_white`` (XYZ, Y = 1). ``weighting``: ``"lab"`` minimises
    the linearised CIELAB error (module docstring), ``"xyz"`` the plain XYZ error."""
    if weighting not in ("lab", "xyz"):
        raise ValueError(f"weighting must be 'lab' or 'xyz', not {weighting!r}")
    if weighting == "lab":
        design, target = _lab_weighted_rows(a, b, lab_white)
    else:
        design, target = _xyz_rows(a, b)
    gram = np.einsum("irk,irl->kl", design, design)
    cross = np.einsum("irk,ir->k", design, target)
    matrix = _solve_kkt(gram, cross, a_white, b_white)  # = lab_weighted_lstsq(...)
    loo = np.empty_like(b)
    for i in range(a.shape[0]):
        # Removing one patch subtracts its three rows from the normal equations.
        m_i = _solve_kkt(
            gram - design[i].T @ design[i], cross - design[i].T @ target[i], a_white, b_white
        )
        loo[i] = m_i @ a[i]
    train_de = _de2000(b, a @ matrix.T, lab_white)
    loo_de = _de2000(b, loo, lab_white)
    return matrix, FitError(
        training_mean=float(train_de.mean()),
        training_max=float(train_de.max()),
        loo_mean=float(loo_de.mean()),
        loo_max=float(loo_de.max()),
        patches=int(a.shape[0]),
        colorchecker=(float(train_de[:24].mean()), float(train_de[:24].max())),
    )


def _de2000(xyz_true: np.ndarray, xyz_fit: np.ndarray, white_xyz: np.ndarray) -> np.ndarray:
    white = np.asarray(white_xyz, dtype=np.float64) / white_xyz[1]
    return delta_e_2000(xyz_to_lab(xyz_true, white), xyz_to_lab(xyz_fit, white))


def _lab_jacobian(xyz: np.ndarray, white_xyz: np.ndarray) -> np.ndarray:
    """(N, 3, 3) ``∂(L*, a*, b*)/∂(X, Y, Z)`` at each row of ``xyz`` (CIE 015:2018 §8.2.1,
    both branches of ``f``), for a white ``white_xyz``."""
    t = np.asarray(xyz, dtype=np.float64) / np.asarray(white_xyz, dtype=np.float64)
    delta = 6.0 / 29.0
    # f(t) = t^(1/3) above delta³, t/(3δ²) + 4/29 below; its derivative with respect to t.
    df = np.where(t > delta**3, np.cbrt(np.maximum(t, delta**3)) ** -2 / 3.0, 1.0 / (3 * delta**2))
    df = df / white_xyz  # d f(X/Xn) / dX
    jac = np.zeros((t.shape[0], 3, 3))
    jac[:, 0, 1] = 116.0 * df[:, 1]
    jac[:, 1, 0] = 500.0 * df[:, 0]
    jac[:, 1, 1] = -500.0 * df[:, 1]
    jac[:, 2, 1] = 200.0 * df[:, 1]
    jac[:, 2, 2] = -200.0 * df[:, 2]
    return jac


def _lab_weighted_rows(
    a: np.ndarray, b: np.ndarray, lab_white: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The least-squares rows of the CIELAB-weighted fit: per patch ``i`` the (3, 9) design
    ``J_i ⊗ a_iᵀ`` acting on ``vec(M)`` (row-major) and the (3,) target ``J_i b_i``."""
    jac = _lab_jacobian(b, lab_white)
    design = np.einsum("irk,ij->irkj", jac, a).reshape(a.shape[0], 3, 9)
    target = np.einsum("irk,ik->ir", jac, b)
    return design, target


def lab_weighted_lstsq(
    a: np.ndarray, b: np.ndarray, a_white: np.ndarray, b_white: np.ndarray, lab_white: np.ndarray
) -> np.ndarray:
    """3×3 ``M`` minimising ``Σ‖J_i (M a_i − b_i)‖²`` (CIELAB-weighted, relative to
    ``lab_white``) subject to ``M a_white = b_white`` exactly: the fit every matrix here uses."""
    design, target = _lab_weighted_rows(a, b, lab_white)
    gram = np.einsum("irk,irl->kl", design, design)
    cross = np.einsum("irk,ir->k", design, target)
    return _solve_kkt(gram, cross, a_white, b_white)


def _xyz_rows(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The least-squares rows of the plain XYZ fit: per patch the (3, 9) design ``I ⊗ a_iᵀ``
    acting on ``vec(M)`` (row-major) and the target ``b_i``."""
    return np.einsum("rk,ij->irkj", np.eye(3), a).reshape(a.shape[0], 3, 9), b


def _white_preserving_lstsq(
    a: np.ndarray, b: np.ndarray, a_white: np.ndarray, b_white: np.ndarray
) -> np.ndarray:
    """3×3 ``M`` minimising ``Σ‖M a_i − b_i‖²`` subject to ``M a_white = b_white`` exactly
    (the plain XYZ fit; kept to compare against and for callers without a CIELAB white)."""
    design, _ = _xyz_rows(a, b)
    gram = np.einsum("irk,irl->kl", design, design)
    cross = np.einsum("irk,ir->k", design, b)
    return _solve_kkt(gram, cross, a_white, b_white)


def _solve_kkt(
    gram: np.ndarray, cross: np.ndarray, a_white: np.ndarray, b_white: np.ndarray
) -> np.ndarray:
    """``M`` (3×3) from the normal equations of ``vec(M)`` (``gram`` 9×9, ``cross`` 9) with the
    three equality constraints ``M a_white = b_white``: the KKT system
    ``[[2G, Cᵀ], [C, 0]] [m, λ] = [2c, b_white]``."""
    constraint = np.zeros((3, 9))
    for r in range(3):
        constraint[r, 3 * r : 3 * r + 3] = a_white
    kkt = np.zeros((12, 12))
    kkt[:9, :9] = 2.0 * gram
    kkt[:9, 9:] = constraint.T
    kkt[9:, :9] = constraint
    rhs = np.concatenate([2.0 * cross, np.asarray(b_white, dtype=np.float64)])
    return np.linalg.solve(kkt, rhs)[:9].reshape(3, 3)
