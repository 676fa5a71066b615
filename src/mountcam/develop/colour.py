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

CCT and tint use Robertson's method (A. R. Robertson, "Computation of correlated color
temperature and distribution temperature", JOSA 58(11), 1968) on his 31 isotemperature lines
(Wyszecki & Stiles, *Color Science*, 2nd ed., table 1(3.11)), as the DNG SDK does
(``dng_temperature``). It is computed here rather than through colour-science because
importing colour-science costs 1–2 s, more than developing a picture. The CCT of each Exif ``LightSource`` code is the DNG SDK's
``IlluminantToTemperature`` table (e.g. standard light A = 2850 K, D65 = 6500 K).

Units: xy are CIE 1931 chromaticity coordinates, CCT in kelvin, XYZ with the white at Y = 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

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


def xy_to_xyz(xy) -> np.ndarray:
    """XYZ with Y = 1 of a chromaticity ``(x, y)``."""
    x, y = float(xy[0]), float(xy[1])
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def xyz_to_xy(xyz) -> np.ndarray:
    xyz = np.asarray(xyz, dtype=np.float64)
    s = xyz.sum()
    if not s > 0:
        raise ValueError(f"XYZ {xyz} has no chromaticity")
    return np.array([xyz[0] / s, xyz[1] / s])


#: Robertson's isotemperature lines: (reciprocal megakelvin, CIE 1960 u, v on the Planckian
#: locus, slope dv/du of the isotherm). Wyszecki & Stiles table 1(3.11), with Lindbloom's
#: correction of u at 325 MK⁻¹ (0.24702 -> 0.24792), as the DNG SDK and colour-science use.
_ROBERTSON = np.array(
    [
        (0, 0.18006, 0.26352, -0.24341),
        (10, 0.18066, 0.26589, -0.25479),
        (20, 0.18133, 0.26846, -0.26876),
        (30, 0.18208, 0.27119, -0.28539),
        (40, 0.18293, 0.27407, -0.30470),
        (50, 0.18388, 0.27709, -0.32675),
        (60, 0.18494, 0.28021, -0.35156),
        (70, 0.18611, 0.28342, -0.37915),
        (80, 0.18740, 0.28668, -0.40955),
        (90, 0.18880, 0.28997, -0.44278),
        (100, 0.19032, 0.29326, -0.47888),
        (125, 0.19462, 0.30141, -0.58204),
        (150, 0.19962, 0.30921, -0.70471),
        (175, 0.20525, 0.31647, -0.84901),
        (200, 0.21142, 0.32312, -1.0182),
        (225, 0.21807, 0.32909, -1.2168),
        (250, 0.22511, 0.33439, -1.4512),
        (275, 0.23247, 0.33904, -1.7298),
        (300, 0.24010, 0.34308, -2.0637),
        (325, 0.24792, 0.34655, -2.4681),
        (350, 0.25591, 0.34951, -2.9641),
        (375, 0.26400, 0.35200, -3.5814),
        (400, 0.27218, 0.35407, -4.3633),
        (425, 0.28039, 0.35577, -5.3762),
        (450, 0.28863, 0.35714, -6.7262),
        (475, 0.29685, 0.35823, -8.5955),
        (500, 0.30505, 0.35907, -11.324),
        (525, 0.31320, 0.35968, -15.628),
        (550, 0.32129, 0.36011, -23.325),
        (575, 0.32931, 0.36038, -40.770),
        (600, 0.33724, 0.36051, -116.45),
    ]
)
#: Unit direction (du, dv) of each isotherm, pointing to increasing u.
_ISOTHERM_DIR = (
    np.stack([np.ones(31), _ROBERTSON[:, 3]], axis=1) / np.hypot(1.0, _ROBERTSON[:, 3])[:, None]
)


def xy_to_uv(xy) -> np.ndarray:
    """CIE 1931 xy -> CIE 1960 UCS uv (CIE 15:2004, eq. 8.3, the 1960 form)."""
    x, y = (float(c) for c in xy)
    d = -2.0 * x + 12.0 * y + 3.0
    return np.array([4.0 * x / d, 6.0 * y / d])


def uv_to_xy(uv) -> np.ndarray:
    """CIE 1960 UCS uv -> CIE 1931 xy (the inverse of :func:`xy_to_uv`)."""
    u, v = (float(c) for c in uv)
    d = 2.0 * u - 8.0 * v + 4.0
    return np.array([3.0 * u / d, 2.0 * v / d])


def _isotherm_blend(i: int, f: float) -> tuple[float, float, float, float, float]:
    """(mired, u, v, du, dv) between isotherms i−1 (weight f) and i (weight 1 − f)."""
    lo, hi = _ROBERTSON[i - 1], _ROBERTSON[i]
    r, u, v = (lo[k] * f + hi[k] * (1.0 - f) for k in range(3))
    d = _ISOTHERM_DIR[i - 1] * f + _ISOTHERM_DIR[i] * (1.0 - f)
    d = d / np.hypot(d[0], d[1])
    return float(r), float(u), float(v), float(d[0]), float(d[1])


def xy_to_cct(xy) -> tuple[float, float]:
    """(CCT in K, Duv) of a chromaticity by Robertson's method (CIE 1960 uv).

    The chromaticity's signed distance to each isotherm changes sign between the two that
    bracket it; the CCT is interpolated between them in mired by those distances. Duv is
    the distance from the locus along the blended isotherm, positive above the locus
    (towards green), the sign colour-science and ANSI C78.377 use. Outside 1667 K … ∞ the
    end isotherms extrapolate.
    """
    u, v = xy_to_uv(xy)
    last_dt = 0.0
    for i in range(1, len(_ROBERTSON)):
        du, dv = _ISOTHERM_DIR[i]
        dt = -(u - _ROBERTSON[i, 1]) * dv + (v - _ROBERTSON[i, 2]) * du
        if dt <= 0.0 or i == len(_ROBERTSON) - 1:
            dt = -min(dt, 0.0)
            f = 0.0 if i == 1 else dt / (last_dt + dt)
            r, u0, v0, du_i, dv_i = _isotherm_blend(i, f)
            duv = -((u - u0) * du_i + (v - v0) * dv_i)
            return 1.0e6 / r if r > 0 else float("inf"), float(duv)
        last_dt = dt
    raise AssertionError("unreachable")  # the loop returns at its last isotherm


def cct_to_xy(cct_k: float, duv: float = 0.0) -> np.ndarray:
    """Chromaticity at colour temperature ``cct_k`` and distance ``duv`` from the Planckian
    locus (Robertson's isotemperature lines; positive Duv lies above the locus, towards green)."""
    if not cct_k > 0:
        raise ValueError(f"colour temperature must be positive, got {cct_k} K")
    r = 1.0e6 / float(cct_k)
    i = int(np.searchsorted(_ROBERTSON[1:, 0], r, side="right")) + 1
    i = min(i, len(_ROBERTSON) - 1)
    f = (_ROBERTSON[i, 0] - r) / (_ROBERTSON[i, 0] - _ROBERTSON[i - 1, 0])
    _, u, v, du_i, dv_i = _isotherm_blend(i, f)
    return uv_to_xy((u - du_i * duv, v - dv_i * duv))


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
    prim = np.array([xy_to_xyz(p) for p in _PRIMARIES[space]]).T  # columns: primaries at Y=1
    scale = np.linalg.solve(prim, xy_to_xyz(D65_XY))
    m = prim * scale[None, :]
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
