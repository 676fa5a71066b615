"""The DNG colour model: camera neutral ↔ white point ↔ CCT, matrix interpolation, camera → XYZ
(D50) → output RGB.

Everything follows Adobe's DNG Specification 1.4.0.0, chapter 6 "Mapping Camera Color Space to
CIE XYZ Space":

- ``ColorMatrixN`` maps XYZ under ``CalibrationIlluminantN`` to camera RGB; ``ForwardMatrixN``
  maps white-balanced camera RGB to XYZ relative to D50 (the profile connection space, PCS).
- With two calibrations the matrices are *interpolated linearly in inverse colour temperature*
  (mired) between the two illuminants' CCTs, clamped outside that span (§6 "Interpolating").
- The white point of a camera neutral is found by iteration: guess xy (start at D50), take
  the CCT of the guess, interpolate ``ColorMatrix`` at that CCT, map the neutral back to XYZ
  with its inverse, repeat until xy stops moving (§6 "Translating White Balance xy
  Coordinates to Camera Neutral Coordinates", and the reverse).
- camera → XYZ(D50): ``CameraToXYZ_D50 = FM · D · Inverse(AB · CC)`` where ``D`` is the inverse
  diagonal of the reference neutral, when a ForwardMatrix is present; otherwise the inverse of
  ``ColorMatrix`` followed by a linear Bradford adaptation from the white point to D50 (§6,
  "Camera to XYZ (D50) Transform", and the DNG SDK's ``dng_color_spec`` for the scaling).

CCT and tint use Robertson's method as the DNG SDK does (``dng_temperature``), from
:mod:`mountcam.colorimetry` rather than colour-science, whose import costs 1–2 s, more than
developing a picture. The CCT of each Exif ``LightSource`` code is the DNG SDK's
``IlluminantToTemperature`` table (e.g. standard light A = 2850 K, D65 = 6500 K).

Units: xy are CIE 1931 chromaticity coordinates, CCT in kelvin, XYZ with the white at Y = 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Re-exported: the DNG colour model's chromaticity and CCT functions live in colorimetry.
from mountcam.colorimetry import (  # noqa: F401
    cct_to_xy,
    normalised_primary_matrix,
    xy_to_cct,
    xy_to_xyz,
    xyz_to_xy,
)

#: D50, the DNG profile connection space white (DNG 1.4 §6 uses x = 0.3457, y = 0.3585).
D50_XY = (0.3457, 0.3585)
D65_XY = (0.3127, 0.3290)

#: Exif 2.32 LightSource code -> colour temperature (K) as the DNG SDK assigns it.
LIGHT_SOURCE_CCT: dict[int, float] = {
    1: 5500.0,  # daylight
    2: (3800.0 + 4500.0) / 2,  # fluorescent
    3: 2850.0,  # tungsten
    4: 5500.0,  # flash
    9: 5500.0,  # fine weather
    10: 6500.0,  # cloudy
    11: 7500.0,  # shade
    12: (5700.0 + 7100.0) / 2,  # daylight fluorescent
    13: (4600.0 + 5500.0) / 2,  # day white fluorescent
    14: (3800.0 + 4500.0) / 2,  # cool white fluorescent
    15: (3250.0 + 3800.0) / 2,  # white fluorescent
    16: (2600.0 + 3250.0) / 2,  # warm white fluorescent
    17: 2850.0,  # standard light A
    18: 5500.0,  # standard light B
    19: 6500.0,  # standard light C
    20: 5500.0,  # D55
    21: 6500.0,  # D65
    22: 7500.0,  # D75
    23: 5000.0,  # D50
    24: 3200.0,  # ISO studio tungsten
}

#: Bradford cone response matrix (Lam 1985; as in ICC.1:2010 Annex E and the DNG SDK).
BRADFORD = np.array(
    [
        [0.8951, 0.2664, -0.1614],
        [-0.7502, 1.7135, 0.0367],
        [0.0389, -0.0685, 1.0296],
    ]
)

#: XYZ (D65) -> linear RGB of the output spaces; primaries from IEC 61966-2-1 (sRGB = Rec.709)
#: and SMPTE EG 432-1 (Display P3 = DCI-P3 primaries with a D65 white).
_PRIMARIES = {
    "srgb": ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)),
    "display-p3": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),
}


def bradford_cat(src_xy, dst_xy) -> np.ndarray:
    """Linear Bradford chromatic adaptation matrix (XYZ -> XYZ) from white ``src_xy`` to
    ``dst_xy`` (von Kries scaling in Bradford cone space, without Lam's nonlinear blue term —
    the form ICC profiles and the DNG SDK use)."""
    src = BRADFORD @ xy_to_xyz(src_xy)
    dst = BRADFORD @ xy_to_xyz(dst_xy)
    return np.linalg.inv(BRADFORD) @ np.diag(dst / src) @ BRADFORD


@lru_cache(maxsize=4)
def _rgb_to_xyz(space: str) -> np.ndarray:
    """Linear RGB -> XYZ (D65 white, Y = 1) of an output space, from its primaries (SMPTE RP
    177-1993 §3.3)."""
    m = normalised_primary_matrix(_PRIMARIES[space], D65_XY)
    m.setflags(write=False)
    return m


def xyz_d50_to_output(space: str) -> np.ndarray:
    """XYZ relative to D50 (PCS) -> linear RGB of ``space`` (``srgb``, ``display-p3`` or
    ``linear-rec709``) with a D65 white: Bradford D50 -> D65, then the space's matrix. The PCS
    white (Y = 1) maps to RGB (1, 1, 1)."""
    key = "srgb" if space == "linear-rec709" else space
    if key not in _PRIMARIES:
        raise ValueError(f"unknown output colour space {space!r}")
    return np.linalg.inv(_rgb_to_xyz(key)) @ bradford_cat(D50_XY, D65_XY)


def rec709_luminance_weights(space: str = "srgb") -> np.ndarray:
    """Y row of the space's RGB -> XYZ matrix: the luminance of linear RGB (weights sum to 1)."""
    key = "srgb" if space == "linear-rec709" else space
    return _rgb_to_xyz(key)[1].copy()


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 transfer function (also Display P3's): linear 0..1 -> encoded 0..1."""
    x = np.clip(np.asarray(linear, dtype=np.float64), 0.0, None)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """Inverse of :func:`srgb_encode`."""
    v = np.asarray(encoded, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, np.power((np.clip(v, 0, None) + 0.055) / 1.055, 2.4))


def interpolation_weight(cct_k: float, cct1_k: float, cct2_k: float) -> float:
    """Weight of calibration 1 at ``cct_k`` (DNG 1.4 §6): linear in 1/CCT between the two
    calibration CCTs, 1 at ``cct1_k``, 0 at ``cct2_k``, clamped outside."""
    if cct1_k == cct2_k:
        return 1.0
    w = (1.0 / cct_k - 1.0 / cct2_k) / (1.0 / cct1_k - 1.0 / cct2_k)
    return float(min(1.0, max(0.0, w)))


#: Largest condition number accepted for a ColorMatrix: real cameras' are below ~100; a
#: (nearly) singular matrix cannot be inverted into a camera -> XYZ transform.
MAX_COLOR_MATRIX_CONDITION = 1e6


def _maps_white_to_camera(m: np.ndarray) -> bool:
    """True if ``m`` (XYZ -> camera) is invertible and gives a D50 white a positive signal in
    every channel, as any camera's ColorMatrix does."""
    if np.linalg.cond(m) > MAX_COLOR_MATRIX_CONDITION:
        return False
    return bool(np.all(m @ xy_to_xyz(D50_XY) > 0))


def _as_matrix(value) -> np.ndarray | None:
    if value is None:
        return None
    m = np.asarray(value, dtype=np.float64).reshape(3, 3)
    return m if np.all(np.isfinite(m)) else None


@dataclass(frozen=True, eq=False)
class ColourProfile:
    """A camera's DNG colour calibration, ready to answer the questions of DNG 1.4 §6.

    ``color_matrix_*``: XYZ -> camera (3×3). ``forward_matrix_*``: white-balanced camera ->
    XYZ D50 (or None). ``cct_*``: calibration illuminant CCTs in K (None when the profile has
    one calibration). ``analog_balance``: the DNG AnalogBalance diagonal (ones if absent).
    """

    color_matrix_1: np.ndarray
    cct_1: float | None = None
    color_matrix_2: np.ndarray | None = None
    cct_2: float | None = None
    forward_matrix_1: np.ndarray | None = None
    forward_matrix_2: np.ndarray | None = None
    analog_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)

    @classmethod
    def from_dng(cls, info) -> ColourProfile:
        """The profile of a :class:`~mountcam.dng.reader.DngInfo` (missing tags -> defaults)."""
        from mountcam.errors import UnreadableFile

        cm1 = _as_matrix(getattr(info, "color_matrix_1", None))
        if cm1 is None:
            raise UnreadableFile(
                f"{getattr(info, 'path', 'this DNG')}: no ColorMatrix1, so its colours cannot "
                "be interpreted"
            )
        cm2 = _as_matrix(getattr(info, "color_matrix_2", None))
        ill1 = getattr(info, "calibration_illuminant_1", None)
        ill2 = getattr(info, "calibration_illuminant_2", None)
        fm1 = _as_matrix(getattr(info, "forward_matrix_1", None))
        fm2 = _as_matrix(getattr(info, "forward_matrix_2", None))
        cct1 = LIGHT_SOURCE_CCT.get(int(ill1)) if ill1 is not None else None
        cct2 = LIGHT_SOURCE_CCT.get(int(ill2)) if ill2 is not None else None
        if cm2 is None or cct1 is None or cct2 is None or cct1 == cct2:
            # DNG SDK rule: without two distinct known illuminants, calibration 1 alone is used.
            cm2, cct2, fm2 = None, None, None
            if fm1 is None:
                fm1 = None
        if (fm1 is None) != (fm2 is None) and cm2 is not None:
            fm1 = fm2 = None  # a ForwardMatrix for one calibration only is not usable
        ab = getattr(info, "analog_balance", None)
        ab = tuple(float(v) for v in ab) if ab is not None else (1.0, 1.0, 1.0)
        where = getattr(info, "path", "this DNG")
        for name, m in (("ColorMatrix1", cm1), ("ColorMatrix2", cm2)):
            if m is not None and not _maps_white_to_camera(m):
                raise UnreadableFile(
                    f"{where}: {name} {np.round(m, 4).tolist()} is damaged (singular, or a white "
                    "light gives a non-positive camera signal), so its colours cannot be "
                    "interpreted"
                )
        if not all(np.isfinite(v) and v > 0 for v in ab):
            raise UnreadableFile(f"{where}: AnalogBalance {ab} is not three positive values")
        return cls(cm1, cct1, cm2, cct2, fm1, fm2, ab)

    @property
    def dual(self) -> bool:
        return self.color_matrix_2 is not None

    def weight(self, cct_k: float) -> float:
        if not self.dual:
            return 1.0
        return interpolation_weight(cct_k, self.cct_1, self.cct_2)

    def xyz_to_camera(self, cct_k: float) -> np.ndarray:
        """``AB · ColorMatrix`` interpolated at ``cct_k`` (DNG 1.4 §6; CameraCalibration is
        taken as identity)."""
        g = self.weight(cct_k)
        m = (
            self.color_matrix_1
            if g >= 1.0
            else g * self.color_matrix_1 + (1 - g) * self.color_matrix_2
        )
        return np.diag(self.analog_balance) @ m

    def forward_matrix(self, cct_k: float) -> np.ndarray | None:
        if self.forward_matrix_1 is None:
            return None
        g = self.weight(cct_k)
        if g >= 1.0 or self.forward_matrix_2 is None:
            return self.forward_matrix_1
        return g * self.forward_matrix_1 + (1 - g) * self.forward_matrix_2

    def neutral_to_xy(self, neutral, max_passes: int = 30) -> np.ndarray:
        """White point xy of a camera neutral (e.g. AsShotNeutral), by the iteration of DNG 1.4
        §6: xy -> CCT -> interpolated matrix -> inverse applied to the neutral -> xy."""
        from mountcam.errors import UnreadableFile

        n = np.asarray(neutral, dtype=np.float64)
        last = np.array(D50_XY)
        for i in range(max_passes):
            cct, _ = xy_to_cct(last)
            xyz = np.linalg.solve(self.xyz_to_camera(cct), n)
            try:
                nxt = xyz_to_xy(xyz)
            except ValueError:
                raise UnreadableFile(
                    f"the camera neutral {tuple(np.round(n, 4))} has no white point through "
                    "the file's ColorMatrix (damaged AsShotNeutral or colour matrices)"
                ) from None
            if np.abs(nxt - last).sum() < 1e-7:
                return nxt
            # The SDK's guard against a 2-cycle: settle on the midpoint on the last pass.
            last = 0.5 * (last + nxt) if i == max_passes - 2 else nxt
        return last

    def xy_to_neutral(self, xy) -> np.ndarray:
        """Camera neutral (max component 1) of a white point ``xy``."""
        cct, _ = xy_to_cct(xy)
        n = self.xyz_to_camera(cct) @ xy_to_xyz(xy)
        if not np.all(n > 0):
            from mountcam.errors import UnreadableFile

            raise UnreadableFile(
                f"white point {tuple(np.round(xy, 4))} gives a non-positive camera neutral "
                f"{tuple(np.round(n, 4))} through the file's ColorMatrix (damaged colour tags?)"
            )
        return n / n.max()

    def camera_to_pcs(self, neutral) -> np.ndarray:
        """3×3 from *white-balanced* camera RGB (each channel divided by ``neutral``, so the
        white is (1, 1, 1)) to XYZ relative to D50 with that white at Y = 1.

        With ForwardMatrix: ``FM`` (DNG 1.4 §6: ``FM · D · Inverse(AB·CC)`` applied to raw
        camera values, where ``D`` divides by the reference neutral; here the division has
        been done by the white balance). Without: the inverse of the interpolated ColorMatrix
        after Bradford adaptation of the PCS white to the scene white, scaled so the neutral
        reaches Y = 1 (as the DNG SDK's ``dng_color_spec`` does).
        """
        n = np.asarray(neutral, dtype=np.float64)
        n = n / n.max()
        xy = self.neutral_to_xy(n)
        cct, _ = xy_to_cct(xy)
        fm = self.forward_matrix(cct)
        if fm is not None:
            ab = np.asarray(self.analog_balance)
            # Reference neutral = Inverse(AB) · camera neutral; AB itself is then undone.
            return fm @ np.diag(1.0 / (n / ab)) @ np.diag(1.0 / ab) @ np.diag(n)
        pcs_to_camera = self.xyz_to_camera(cct) @ bradford_cat(D50_XY, xy)
        pcs_to_camera = pcs_to_camera / (pcs_to_camera @ xy_to_xyz(D50_XY)).max()
        return np.linalg.inv(pcs_to_camera) @ np.diag(n)
