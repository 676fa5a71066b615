"""White balance: the camera neutral to develop with, from a setting.

The result is always a *camera neutral* — the camera RGB of the scene white, max component 1,
in the same sense as the DNG tag AsShotNeutral — because that is what both the white-balance
gains (``1/neutral``) and the DNG colour model (which finds the white point and the matrices
from it, see :mod:`mountcam.develop.colour`) need.

- ``as-shot``: AsShotNeutral from the file (or D65 through the profile when the file has none).
- presets: the white point of a CIE standard illuminant (CIE 15:2004 Table T.3 / T.8
  chromaticities), taken into camera space through the profile's interpolated ColorMatrix:
  daylight = D55, cloudy = D65, shade = D75, tungsten = A, fluorescent = F2 (cool white).
- kelvin: the Planckian locus at that temperature (Robertson's table; Duv = 0), likewise.
- ``auto``: estimated from the raw by :func:`mountcam.control.awb.estimate_neutral`, the same
  estimator the camera writes AsShotNeutral with (colour by correlation over the daylight and
  Planckian loci and the CIE lamps, with a bright-surface term; see that module and
  docs/3a.md). A DNG tells develop only its colour matrices, so the estimator's camera model is
  built from them (:func:`mountcam.control.awb.model_from_colour_matrices`): responses to
  surfaces under each candidate light are predicted as ``ColorMatrix(T) · XYZ``. A file whose
  colour matrices are exactly those mountcam computes for one of its sensor presets was made
  by that sensor, so develop then uses the sensor's spectral sensitivities as the camera does
  (a non-colorimetric camera's neutral under a fluorescent lamp is not what the matrices
  predict: on the twin's ColorChecker under FL11 that is 1.9° against 0.4°).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mountcam.control.awb import (
    AwbModel,
    estimate_neutral,
    model_from_colour_matrices,
    model_from_quantum_efficiency,
)
from mountcam.develop.colour import D65_XY, ColourProfile, cct_to_xy
from mountcam.errors import UnreadableFile

#: Preset -> CIE 1931 xy of the standard illuminant it stands for (CIE 15:2004).
PRESET_XY: dict[str, tuple[float, float]] = {
    "daylight": (0.33242, 0.34743),  # D55
    "cloudy": (0.31271, 0.32902),  # D65
    "shade": (0.29902, 0.31485),  # D75
    "tungsten": (0.44757, 0.40745),  # A
    "fluorescent": (0.37208, 0.37529),  # F2, cool white fluorescent
}


def neutral_for(
    wb: str | int,
    profile: ColourProfile,
    as_shot_neutral=None,
    cfa_planes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Camera neutral (3,), max 1, for white balance setting ``wb``.

    ``cfa_planes``: for ``auto``, the R, G, B sample planes (any shape each, black-subtracted,
    scaled so the raw clip level is 1.0), e.g. from :func:`cfa_planes`.
    """
    if wb == "as-shot":
        if as_shot_neutral is not None:
            n = np.asarray(as_shot_neutral, dtype=np.float64)
            if n.shape != (3,) or not np.all(n > 0):
                raise UnreadableFile(f"AsShotNeutral {tuple(n)} is not three positive values")
            return n / n.max()
        return profile.xy_to_neutral(D65_XY)
    if wb == "auto":
        if cfa_planes is None:
            raise ValueError("auto white balance needs the raw CFA planes")
        return auto_neutral(*cfa_planes, profile=profile)
    if isinstance(wb, int):
        return profile.xy_to_neutral(cct_to_xy(float(wb)))
    if wb in PRESET_XY:
        return profile.xy_to_neutral(PRESET_XY[wb])
    raise ValueError(f"unknown white balance {wb!r}")


def cfa_planes(
    mosaic: np.ndarray, pattern: str, black_dn, white_dn: float, max_cells: int = 1 << 18
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R, G, B planes of 2×2 CFA cells (G the mean of the two greens), black-subtracted and
    scaled to 1.0 = white level, subsampled to at most ``max_cells`` cells for speed."""
    h, w = mosaic.shape[0] // 2 * 2, mosaic.shape[1] // 2 * 2
    step = max(1, int(np.ceil(np.sqrt((h // 2) * (w // 2) / max_cells))))
    planes: dict[str, list[np.ndarray]] = {"R": [], "G": [], "B": []}
    for k, colour in enumerate(pattern):
        dy, dx = divmod(k, 2)
        sub = mosaic[dy:h:2, dx:w:2][::step, ::step].astype(np.float32)
        scale = np.float32(1.0 / (white_dn - black_dn[k]))
        planes[colour].append((sub - np.float32(black_dn[k])) * scale)
    return (
        planes["R"][0],
        0.5 * (planes["G"][0] + planes["G"][1]),
        planes["B"][0],
    )


def auto_neutral(r: np.ndarray, g: np.ndarray, b: np.ndarray, profile: ColourProfile) -> np.ndarray:
    """Camera neutral (3,), max 1, estimated from unbalanced camera planes (black-subtracted,
    1.0 = clip) of a camera described by ``profile``, by
    :func:`mountcam.control.awb.estimate_neutral`."""
    cells = np.stack([np.ravel(r), np.ravel(g), np.ravel(b)], axis=1)
    return np.asarray(estimate_neutral(cells, awb_model(profile)).neutral)


def awb_model(profile: ColourProfile) -> AwbModel:
    """The auto-white-balance model of the camera that ``profile`` describes (cached on the
    matrices, so a folder of one camera's DNGs builds it once): from the spectral
    sensitivities when the matrices are one of mountcam's sensor presets, else from the
    matrices."""
    qe = known_sensor_qe(profile)
    if qe is not None:
        return model_from_quantum_efficiency(qe)
    cm2 = profile.color_matrix_2
    return _awb_model(
        np.asarray(profile.color_matrix_1, dtype=np.float64).tobytes(),
        profile.cct_1,
        None if cm2 is None else np.asarray(cm2, dtype=np.float64).tobytes(),
        profile.cct_2,
        tuple(float(v) for v in profile.analog_balance),
    )


#: Largest difference between a file's ColorMatrix entry and a preset's for them to be the
#: same calibration: the DNG writer rounds to 1/10 000 (``dng.writer.MATRIX_DENOMINATOR``).
SAME_MATRIX_TOLERANCE = 2e-4


def known_sensor_qe(profile: ColourProfile) -> np.ndarray | None:
    """The quantum efficiency (81, 3) of the mountcam sensor preset whose dual-illuminant
    calibration (:func:`mountcam.dng.calibration.calibrate_dual`) the profile carries, or None
    for any other camera."""
    if profile.color_matrix_2 is None:
        return None
    for name in _sensor_presets():
        cm1, cm2 = _preset_matrices(name)
        if np.allclose(profile.color_matrix_1, cm1, atol=SAME_MATRIX_TOLERANCE) and np.allclose(
            profile.color_matrix_2, cm2, atol=SAME_MATRIX_TOLERANCE
        ):
            from mountcam.sensor.model import load_sensor

            return load_sensor(name).qe
    return None


@lru_cache(maxsize=1)
def _sensor_presets() -> tuple[str, ...]:
    from importlib import resources

    folder = resources.files("mountcam.data") / "sensors"
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))


@lru_cache(maxsize=4)
def _preset_matrices(name: str) -> tuple[np.ndarray, np.ndarray]:
    from mountcam.dng.calibration import calibrate_dual
    from mountcam.sensor.model import load_sensor

    cal = calibrate_dual(load_sensor(name).qe)
    return cal.color_matrix_1, cal.color_matrix_2


@lru_cache(maxsize=8)
def _awb_model(cm1: bytes, cct1, cm2: bytes | None, cct2, analog_balance) -> AwbModel:
    def matrix(b: bytes | None):
        return None if b is None else np.frombuffer(b, dtype=np.float64).reshape(3, 3)

    profile = ColourProfile(matrix(cm1), cct1, matrix(cm2), cct2, analog_balance=analog_balance)
    return model_from_colour_matrices(profile.xyz_to_camera)
