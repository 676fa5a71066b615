"""Build the spectral data the auto white balance reasons with (``control.awb``).

Writes ``src/mountcam/data/awb/awb_spectra.npz``. Run once (a few seconds)::

    .venv/bin/python tools/make_awb_spectra.py [--out PATH]

colour-science is used here, offline, and never by ``control.awb`` at run time. The file holds,
on mountcam's 380-780 nm / 5 nm grid:

- ``illuminant_spd`` (K, 81), ``illuminant_name``, ``illuminant_family``, ``illuminant_cct_k``,
  ``illuminant_xy``: the light sources the estimator considers. The Planckian locus from
  1800 K to 4000 K and the CIE daylight locus from 4000 K to 20 000 K, both in 10-mired steps
  (the convention of CIE 15:2004 §3.1 and of ``scene.illuminants``), then every tabulated CIE
  fluorescent (FL1-FL12, FL3.1-FL3.15), LED (LED-B1...LED-V2) and high-pressure discharge
  (HP1-HP5) illuminant of CIE 15:2018 Table 10-11, as colour-science ships them. Each is
  normalised to a maximum of 1; CCT by Ohno (2013).
- ``reflectance`` (N, 81) and ``reflectance_group``: the surfaces the estimator expects to see.
  The 24 ColorChecker patches (N. Ohta's measurements), the 190 training patches of the
  Academy's rawtoaces v1, eight neutrals from 3 % to 90 %, and the Munsell renotation colours
  (Newhall, Nickerson & Judd 1943, "real" set, 2734 colours under illuminant C) that lie inside
  the sRGB gamut, each given a smooth spectrum by the Jakob & Hanika (2019) sigmoid model
  (the table of :mod:`mountcam.scene.spectral`) after Bradford adaptation from C to D65.
  Munsell samples perceptual colour space evenly, so it covers the colours of the world's
  surfaces, from greys to the most saturated paints.
- ``cie_xyz_cmfs`` (81, 3): the CIE 1931 2° observer, for cameras known only by their colour
  matrices (other cameras' DNGs), whose responses are then predicted as ``ColorMatrix · XYZ``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/mountcam/data/awb/awb_spectra.npz"
PLANCK_K = (1800.0, 4000.0)
DAYLIGHT_K = (4000.0, 20000.0)
MIRED_STEP = 10.0
NEUTRALS = (0.03, 0.06, 0.12, 0.2, 0.3, 0.45, 0.65, 0.9)


def _mired_range(lo_k: float, hi_k: float) -> np.ndarray:
    mireds = np.arange(1e6 / lo_k, 1e6 / hi_k - 1e-9, -MIRED_STEP)
    return 1e6 / mireds


def illuminants():
    import colour

    from mountcam.spectra import cie_xyz_cmfs, sd_on_grid

    shape = colour.SpectralShape(380, 780, 5)
    rows, names, families = [], [], []
    for t in _mired_range(*PLANCK_K):
        rows.append(sd_on_grid(colour.sd_blackbody(t, shape)))
        names.append(f"{t:.0f}K")
        families.append("planckian")
    for t in _mired_range(*DAYLIGHT_K)[1:]:
        xy = colour.temperature.CCT_to_xy_CIE_D(t)
        rows.append(sd_on_grid(colour.sd_CIE_illuminant_D_series(xy)))
        names.append(f"{t:.0f}K")
        families.append("daylight")
    for name in colour.SDS_ILLUMINANTS:
        family = (
            "fluorescent"
            if name.startswith("FL")
            else "led"
            if name.startswith("LED")
            else "discharge"
            if name.startswith("HP")
            else None
        )
        if family is None:
            continue
        rows.append(sd_on_grid(colour.SDS_ILLUMINANTS[name]))
        names.append(name)
        families.append(family)
    spd = np.clip(np.stack(rows), 0.0, None)
    spd /= spd.max(axis=1, keepdims=True)
    xyz = spd @ cie_xyz_cmfs()
    xy = xyz[:, :2] / xyz.sum(axis=1, keepdims=True)
    cct = np.array(
        [
            colour.uv_to_CCT(colour.UCS_to_uv(colour.XYZ_to_UCS(x)), method="Ohno 2013")[0]
            for x in xyz
        ]
    )
    return spd, names, families, cct, xy


def reflectances():
    import colour
    from colour.notation.datasets.munsell import MUNSELL_COLOURS_REAL

    from mountcam.dng.calibration import training_reflectances
    from mountcam.scene.spectral import reflectance_spectrum, xyz_to_linear_srgb

    base, base_names = training_reflectances()
    groups = ["colorchecker" if n.startswith("ColorChecker") else "rawtoaces" for n in base_names]
    rows = [np.asarray(base)]
    rows.append(np.repeat(np.array(NEUTRALS)[:, None], base.shape[1], axis=1))
    groups += ["neutral"] * len(NEUTRALS)

    xyy = np.array([entry[1] for entry in MUNSELL_COLOURS_REAL], dtype=np.float64)
    xyy[:, 2] /= 100.0  # Munsell renotation Y is in percent of the ideal white
    xyz_c = colour.xyY_to_XYZ(xyy)
    c_xyz = colour.xy_to_XYZ(colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["C"])
    d65_xyz = colour.xy_to_XYZ(colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"])
    xyz_d65 = colour.adaptation.chromatic_adaptation_VonKries(
        xyz_c, c_xyz, d65_xyz, transform="Bradford"
    )
    rgb = xyz_to_linear_srgb(xyz_d65)
    inside = np.all((rgb >= 0.0) & (rgb <= 1.0), axis=1)
    rows.append(reflectance_spectrum(rgb[inside]))
    groups += ["munsell"] * int(inside.sum())
    return np.clip(np.concatenate(rows), 0.0, 1.0), groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    import colour

    from mountcam.spectra import WAVELENGTHS_NM, cie_xyz_cmfs

    spd, names, families, cct, xy = illuminants()
    refl, groups = reflectances()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        wavelengths_nm=WAVELENGTHS_NM,
        illuminant_spd=spd.astype(np.float32),
        illuminant_name=np.array(names),
        illuminant_family=np.array(families),
        illuminant_cct_k=cct,
        illuminant_xy=xy,
        reflectance=refl.astype(np.float32),
        reflectance_group=np.array(groups),
        cie_xyz_cmfs=cie_xyz_cmfs(),
        provenance=np.array(
            f"tools/make_awb_spectra.py with colour-science {colour.__version__}: CIE "
            "illuminants (CIE 15:2018), Planckian 1800-4000 K and CIE daylight 4000-20000 K in "
            f"{MIRED_STEP:g}-mired steps; ColorChecker (N. Ohta), rawtoaces v1 training set, "
            "neutrals, Munsell renotation 'real' colours inside sRGB through the Jakob & Hanika "
            "2019 sigmoid table; CIE 1931 2° observer"
        ),
    )
    tmp.replace(args.out)
    counts = {g: groups.count(g) for g in dict.fromkeys(groups)}
    print(f"wrote {args.out}: {len(names)} illuminants, reflectances {counts}")


if __name__ == "__main__":
    main()
