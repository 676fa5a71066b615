"""mountcam's modules and lenses as a lensfun database file, for the raw converters that
correct lenses through lensfun.

A DNG carries its lens corrections as opcodes (``docs/interop.md``): the lens shading as
OpcodeList2 GainMaps, distortion and lateral colour as an OpcodeList3 WarpRectilinear. Not
every reader applies them: RawTherapee 5.9 applies none (its GainMap support came later) but
corrects every raw file whose camera and lens it finds in the lensfun database (its default
profile has ``[LensProfile] LcMode=lfauto``); darktable's lens module, Hugin and GIMP use the
same database. :func:`lensfun_xml` writes mountcam's cameras and lenses in lensfun's format
(lensfun 0.3, ``data/db/lensfun-database.dtd``), to install as
``~/.local/share/lensfun/mountcam.xml`` (``mountcam lenses lensfun-xml --install``).

**Matching.** lensfun finds the camera by the Exif Make and Model the DNG writes ("mountcam",
"mountcam twin main" / "mountcam twin m") and the lens by the Exif LensModel (the profile's
name). The M module's lenses go under a mount of their own, "mountcam M", which accepts
lensfun's own Leica M lenses (``<compat>Leica M</compat>``) but whose lenses no other camera
is offered: mountcam's M-lens figures are partly assumed (``docs/lenses.md``) and must not
replace lensfun's measured ones on a real Leica.

**Conversions** (lensfun ``libs/lensfun/modifier.cpp``, "About coordinate systems"): each lens
is declared with the crop factor and aspect ratio of the frame its figures are for (the M
lenses: 35 mm, crop 1, 3:2; the main lens: the IMX989, 4:3), so lensfun's distortion and TCA
radius R = 1 at half that frame's shorter side and its vignetting radius at half its diagonal.

- distortion ``poly`` (1, 0, c2, 0, c4) in ρ (every catalogue lens is even: zero slope at the
  centre) → ``poly5`` k1 = c2 s², k2 = c4 s⁴ with ρ = s·R, s = half shorter side / 21.633 mm;
  exact. Both describe r_d = r_u · P(r_u);
- lateral colour ``linear-um`` (a shift proportional to ρ) → ``linear`` k = 1 + shift/21.633 mm;
  exact;
- vignetting → ``pa`` (1 + k1 R² + k2 R⁴ + k3 R⁶) per full stop, least squares on the part of
  the field the sensor sees (lensfun evaluates it only there for this camera).
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

import numpy as np

from mountcam.optics.lens import FULL_FRAME_HALF_DIAGONAL_MM, LensProfile

MAKER = "mountcam"
#: lensfun mount of the main module's fixed lens, and of the M module (see the module text).
MAIN_MOUNT = "mountcam main"
M_MOUNT = "mountcam M"
#: Focus distances (m) each vignetting profile is given at: lensfun interpolates between the
#: calibrated distances and the twin's fall-off does not depend on focus.
VIGNETTING_DISTANCES_M = (0.1, 1000.0)
_FULL_STOPS = (1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0, 11.0, 16.0, 22.0, 32.0)


def camera_model(module: str) -> str:
    """The Exif Model the DNG writer gives a module's files (``mountcam twin <module>``)."""
    return f"mountcam twin {module}"


def _n(x: float) -> str:
    return f"{x:.7g}"


def _profile_stops(lens: LensProfile) -> list[float]:
    """Full aperture and the full stops after it, to the smallest: where lensfun gets a
    vignetting profile (it interpolates between them)."""
    stops = [lens.max_f] + [s for s in _FULL_STOPS if lens.max_f * 1.05 < s <= lens.min_f * 1.001]
    return stops


def relative_illumination(lens: LensProfile, rho: np.ndarray, f_number: float) -> np.ndarray:
    """What the twin multiplies the image by (``optics.imaging.relative_illumination``): the
    lens's profile, or without one cos⁴θ with tan θ = r / f (focused at infinity)."""
    if lens.vignetting is not None:
        return np.asarray(lens.vignetting.relative_illumination(rho, f_number), dtype=np.float64)
    tan = rho * FULL_FRAME_HALF_DIAGONAL_MM / lens.focal_mm
    return 1.0 / (1.0 + tan * tan) ** 2


def _pa_fit(lens: LensProfile, f_number: float, half_diag_mm: float, r_max: float):
    """lensfun "pa" (k1, k2, k3) in R = r / half_diag_mm, fitted on R ≤ r_max (weighted by
    area, in relative error), and its worst relative error there."""
    big_r = np.linspace(0.0, r_max, 401)
    rho = big_r * half_diag_mm / FULL_FRAME_HALF_DIAGONAL_MM
    g = relative_illumination(lens, rho, f_number)
    u = big_r * big_r
    a = np.stack([u, u**2, u**3], axis=1)
    # relative error, so the dim corner (where lensfun divides by g) counts as much as the rest
    w = np.sqrt(big_r + 1e-3) / g
    k, *_ = np.linalg.lstsq(a * w[:, None], (g - 1.0) * w, rcond=None)
    worst = float(np.max(np.abs((1.0 + a @ k) / g - 1.0)))
    return tuple(float(v) for v in k), worst


def _lens_entry(
    lens: LensProfile, mount: str, crop: float, aspect: tuple[int, int], r_vig_max: float
) -> list[str]:
    """One ``<lens>`` element for a catalogue lens whose figures are for a frame of crop factor
    ``crop`` and ``aspect`` (width, height); vignetting fitted on R ≤ ``r_vig_max``."""
    half_diag = FULL_FRAME_HALF_DIAGONAL_MM / crop
    half_short = half_diag / math.hypot(aspect[0] / aspect[1], 1.0)
    s = half_short / FULL_FRAME_HALF_DIAGONAL_MM  # ρ = s · R
    maker = "Leica" if lens.mount == "M" else MAKER
    focals = lens.focal_settings_mm or (lens.focal_mm,)
    out = [
        "    <lens>",
        f"        <maker>{escape(maker)}</maker>",
        f"        <model>{escape(lens.name)}</model>",
        f"        <mount>{escape(mount)}</mount>",
    ]
    if len(focals) > 1:
        out.append(f'        <focal min="{_n(min(focals))}" max="{_n(max(focals))}"/>')
    else:
        out.append(f'        <focal value="{_n(focals[0])}"/>')
    out += [
        f'        <aperture min="{_n(lens.max_f)}" max="{_n(lens.min_f)}"/>',
        f"        <cropfactor>{_n(crop)}</cropfactor>",
        f"        <aspect-ratio>{aspect[0]}:{aspect[1]}</aspect-ratio>",
        "        <calibration>",
    ]
    for focal in focals:
        if lens.distortion is not None:
            _, c = lens.distortion.as_rho_poly()
            c = tuple(c) + (0.0,) * (5 - len(c))
            if any(abs(v) > 1e-12 for v in c[1::2]) or any(abs(v) > 1e-12 for v in c[5:]):
                raise ValueError(f"{lens.id}: lensfun's poly5 holds only even terms to ρ⁴")
            out.append(
                f'            <distortion model="poly5" focal="{_n(focal)}" '
                f'k1="{_n(c[2] * s**2)}" k2="{_n(c[4] * s**4)}"/>'
            )
        if lens.lateral_color is not None:
            red, blue = lens.lateral_color.shift_um(1.0)
            kr = 1.0 + float(red) * 1e-3 / FULL_FRAME_HALF_DIAGONAL_MM
            kb = 1.0 + float(blue) * 1e-3 / FULL_FRAME_HALF_DIAGONAL_MM
            out.append(
                f'            <tca model="linear" focal="{_n(focal)}" kr="{kr:.8f}" kb="{kb:.8f}"/>'
            )
        for f_number in _profile_stops(lens):
            (k1, k2, k3), _ = _pa_fit(lens, f_number, half_diag, r_vig_max)
            for distance in VIGNETTING_DISTANCES_M:
                out.append(
                    f'            <vignetting model="pa" focal="{_n(focal)}" '
                    f'aperture="{_n(f_number)}" distance="{_n(distance)}" '
                    f'k1="{_n(k1)}" k2="{_n(k2)}" k3="{_n(k3)}"/>'
                )
    out += ["        </calibration>", "    </lens>"]
    return out


def lensfun_xml(
    main_lens: LensProfile, m_lenses: list[LensProfile], sensor_crop_factor: float
) -> str:
    """The lensfun database file for mountcam: both modules as cameras, the main module's
    fixed lens, and ``m_lenses`` under the "mountcam M" mount."""
    corner_r = 1.0  # the main lens is described on its own sensor: R = 1 at the corner
    m_corner_r = 1.0 / sensor_crop_factor  # an M lens on the 1-inch sensor sees ρ ≤ 1/crop
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<!-- mountcam's cameras and lenses for lensfun (docs/interop.md); written by",
        "     `mountcam lenses lensfun-xml` from the catalogue's lens files. -->",
        '<lensdatabase version="1">',
        "    <mount>",
        f"        <name>{MAIN_MOUNT}</name>",
        "    </mount>",
        "    <mount>",
        f"        <name>{M_MOUNT}</name>",
        "        <compat>Leica M</compat>",
        "    </mount>",
    ]
    for module, mount in (("main", MAIN_MOUNT), ("m", M_MOUNT)):
        lines += [
            "    <camera>",
            f"        <maker>{MAKER}</maker>",
            f"        <model>{escape(camera_model(module))}</model>",
            f"        <mount>{mount}</mount>",
            f"        <cropfactor>{_n(sensor_crop_factor)}</cropfactor>",
            "    </camera>",
        ]
    lines += _lens_entry(main_lens, MAIN_MOUNT, sensor_crop_factor, (4, 3), corner_r)
    for lens in m_lenses:
        lines += _lens_entry(lens, M_MOUNT, 1.0, (3, 2), m_corner_r)
    lines.append("</lensdatabase>")
    return "\n".join(lines) + "\n"
