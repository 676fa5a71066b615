"""Colorimetry that every stage needs, in numpy alone: chromaticities, CCT, daylight and
Planckian spectra, RGB primaries, chromatic adaptation, CIELAB and CIEDE2000.

colour-science is the reference these are tested against (``tests/test_colorimetry.py``), but
importing it costs 1-2 s and prints warnings before anything a command says, so nothing that
runs when a photographer types ``mountcam ...`` imports it; its tables are shipped as data
(:func:`mountcam.spectra.cie_tables`, made by ``tools/make_colour_data.py``).

CCT and tint use Robertson's method (A. R. Robertson, "Computation of correlated color
temperature and distribution temperature", JOSA 58(11), 1968) on his 31 isotemperature lines
(Wyszecki & Stiles, *Color Science*, 2nd ed., table 1(3.11)), as the DNG SDK does
(``dng_temperature``).

Units: xy are CIE 1931 chromaticity coordinates, CCT in kelvin, XYZ with the white at Y = 1,
wavelengths in nanometres.
"""

from __future__ import annotations

import numpy as np

#: CIE 1931 2° chromaticity of D65 (CIE 15:2004 Table T.3; IEC 61966-2-1's white).
D65_XY = (0.3127, 0.3290)
#: sRGB / Rec. 709 primaries (IEC 61966-2-1, ITU-R BT.709).
SRGB_PRIMARIES_XY = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
#: XYZ (D65, Y = 1) -> linear sRGB as IEC 61966-2-1:1999 §5.2 publishes it (four decimals; the
#: inverse of the primaries' matrix to 4e-5).
SRGB_XYZ_TO_RGB = np.array(
    [[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]]
)
#: CAT02 cone response matrix (CIE 159:2004).
CAT02 = np.array([[0.7328, 0.4296, -0.1624], [-0.7036, 1.6975, 0.0061], [0.0030, 0.0136, 0.9834]])
#: Second radiation constant c2 (m·K) as CIE 15:2004 §3.1 fixes it for the Planckian radiator
#: (h·c/k = 1.438777e-2 m·K from the SI constants; the CIE keeps 1.4388e-2 so that CCTs stay
#: comparable with its tables).
PLANCK_C2_M_K = 1.4388e-2


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


def normalised_primary_matrix(primaries_xy, white_xy) -> np.ndarray:
    """3×3 linear RGB -> XYZ of an RGB space with these primaries and white (Y of white = 1;
    SMPTE RP 177-1993 §3.3)."""
    prim = np.array([xy_to_xyz(p) for p in primaries_xy]).T  # columns: primaries at Y = 1
    return prim * np.linalg.solve(prim, xy_to_xyz(white_xy))[None, :]


def von_kries_matrix(source_white_xyz, target_white_xyz, cones: np.ndarray = CAT02) -> np.ndarray:
    """3×3 von Kries adaptation of XYZ from ``source_white_xyz`` to ``target_white_xyz``,
    scaling in the cone space of ``cones`` (CAT02 by default, CIE 159:2004)."""
    src = cones @ np.asarray(source_white_xyz, dtype=np.float64)
    dst = cones @ np.asarray(target_white_xyz, dtype=np.float64)
    return np.linalg.inv(cones) @ np.diag(dst / src) @ cones


def planck_spectrum(wavelengths_nm: np.ndarray, temperature_k: float) -> np.ndarray:
    """Relative spectral radiance of a blackbody (Planck's law, CIE 15:2004 §3.1; the first
    radiation constant and the refractive index only scale it): λ⁻⁵ / (exp(c2/λT) − 1)."""
    lam = np.asarray(wavelengths_nm, dtype=np.float64) * 1e-9
    return lam**-5 / np.expm1(PLANCK_C2_M_K / (lam * float(temperature_k)))


def daylight_xy(cct_k: float) -> tuple[float, float]:
    """Chromaticity of CIE daylight at ``cct_k`` (4000-25 000 K; CIE 15:2004 eqs. 3.3-3.4)."""
    t = float(cct_k)
    if t <= 7000.0:
        x = -4.607e9 / t**3 + 2.9678e6 / t**2 + 0.09911e3 / t + 0.244063
    else:
        x = -2.0064e9 / t**3 + 1.9018e6 / t**2 + 0.24748e3 / t + 0.23704
    return x, -3.0 * x * x + 2.87 * x - 0.275


def daylight_spectrum(xy, basis: np.ndarray) -> np.ndarray:
    """CIE daylight of chromaticity ``xy`` from the basis S0, S1, S2 (``basis`` (3, n)):
    S0 + M1·S1 + M2·S2 with M1, M2 rounded to three decimals as CIE 15:2004 §3.1 (eq. 3.5)
    prescribes."""
    x, y = float(xy[0]), float(xy[1])
    m = 0.0241 + 0.2562 * x - 0.7341 * y
    m1 = np.around((-1.3515 - 1.7703 * x + 5.9114 * y) / m, 3)
    m2 = np.around((0.0300 - 31.4424 * x + 30.0717 * y) / m, 3)
    return basis[0] + m1 * basis[1] + m2 * basis[2]


def xyz_to_lab(xyz: np.ndarray, white_xyz) -> np.ndarray:
    """CIE 1976 L*a*b* (…, 3) of XYZ (…, 3) relative to ``white_xyz`` (CIE 015:2018 §8.2.1)."""
    t = np.asarray(xyz, dtype=np.float64) / np.asarray(white_xyz, dtype=np.float64)
    eps, kappa = 216.0 / 24389.0, 24389.0 / 27.0
    f = np.where(t > eps, np.cbrt(t), (kappa * t + 16.0) / 116.0)
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    return np.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def delta_e_2000(lab_1: np.ndarray, lab_2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference of L*a*b* (…, 3) pairs, kL = kC = kH = 1 (CIE 142-2001;
    the formulas and hue conventions of Sharma, Wu & Dalal, Color Res. Appl. 30(1), 2005)."""
    l1, a1, b1 = np.moveaxis(np.asarray(lab_1, dtype=np.float64), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab_2, dtype=np.float64), -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2.0
    g = 0.5 * (1.0 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, np.degrees(np.arctan2(b1, a1p)) % 360.0)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, np.degrees(np.arctan2(b2, a2p)) % 360.0)
    both = c1p * c2p != 0
    dh = h2p - h1p
    dh = np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh))
    dh = np.where(both, dh, 0.0)
    d_l, d_c = l2 - l1, c2p - c1p
    d_h = 2.0 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2.0))
    l_bar, cp_bar = (l1 + l2) / 2.0, (c1p + c2p) / 2.0
    h_sum = h1p + h2p
    h_bar = np.where(
        np.abs(h1p - h2p) <= 180.0,
        h_sum / 2.0,
        np.where(h_sum < 360.0, (h_sum + 360.0) / 2.0, (h_sum - 360.0) / 2.0),
    )
    h_bar = np.where(both, h_bar, h_sum)
    t = (
        1.0
        - 0.17 * np.cos(np.radians(h_bar - 30.0))
        + 0.24 * np.cos(np.radians(2.0 * h_bar))
        + 0.32 * np.cos(np.radians(3.0 * h_bar + 6.0))
        - 0.20 * np.cos(np.radians(4.0 * h_bar - 63.0))
    )
    d_theta = 30.0 * np.exp(-(((h_bar - 275.0) / 25.0) ** 2))
    r_c = 2.0 * np.sqrt(cp_bar**7 / (cp_bar**7 + 25.0**7))
    s_l = 1.0 + 0.015 * (l_bar - 50.0) ** 2 / np.sqrt(20.0 + (l_bar - 50.0) ** 2)
    s_c = 1.0 + 0.045 * cp_bar
    s_h = 1.0 + 0.015 * cp_bar * t
    r_t = -np.sin(np.radians(2.0 * d_theta)) * r_c
    return np.sqrt(
        (d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2 + r_t * (d_c / s_c) * (d_h / s_h)
    )
