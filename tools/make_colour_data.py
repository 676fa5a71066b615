"""Write the colorimetric tables mountcam reads at run time, from colour-science.

colour-science is the reference for CIE data, but importing it costs a second or more and
prints warnings (e.g. "Matplotlib related API features are not available") before anything
else a command says. So its datasets are sampled once onto mountcam's common grid
(:data:`mountcam.spectra.WAVELENGTHS_NM`, 380-780 nm in 5 nm steps, aligned exactly as
``SpectralDistribution.align`` does: its interpolator inside the data, constant outside) and
shipped as ``src/mountcam/data/spectra/cie_spectra.npz``::

    .venv/bin/python tools/make_colour_data.py [--out PATH]

What the file holds:

- ``cmfs_cie1931_2deg`` (81, 3): CIE 1931 2° colour matching functions (CIE 015:2018);
- ``illuminant_names``, ``illuminants`` (N, 81): every spectrum of ``colour.SDS_ILLUMINANTS``
  (CIE 15:2004 / CIE S 014-2 tables, ISO 7589, the CIE LED and HP series), as tabulated, and
  ``illuminant_cct_k``, ``illuminant_duv``: each one's CCT and Duv by Ohno (2013) from the
  2° observer on the grid (what :mod:`mountcam.scene.illuminants` reports);
- ``d_series_basis`` (3, 81): the CIE daylight basis S0, S1, S2 (CIE 15:2004 Table T.2);
- ``colorchecker_names``, ``colorchecker`` (24, 81): N. Ohta's ColorChecker reflectances;
- ``training_names``, ``training`` (190, 81): the Academy's rawtoaces v1 training
  reflectances (the colour calibration's training set beside the ColorChecker).

``tests/test_colour_data.py`` regenerates every array from colour-science and checks that the
shipped file equals it, so an update of colour-science that changes a table shows up there.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/mountcam/data/spectra/cie_spectra.npz"


def _aligned(sd) -> np.ndarray:
    import colour

    return np.asarray(sd.copy().align(colour.SpectralShape(380, 780, 5)).values, np.float64)


def colour_tables() -> dict[str, np.ndarray]:
    """Every array of the shipped file, computed from colour-science."""
    import colour
    from colour.characterisation import read_training_data_rawtoaces_v1
    from colour.colorimetry import SDS_BASIS_FUNCTIONS_CIE_ILLUMINANT_D_SERIES as BASIS

    cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"]
    cmfs_grid = np.asarray(cmfs.copy().align(colour.SpectralShape(380, 780, 5)).values)
    names = list(colour.SDS_ILLUMINANTS)
    illuminants = np.stack([_aligned(colour.SDS_ILLUMINANTS[n]) for n in names])
    cct, duv = [], []
    for spd in illuminants:
        uv = colour.UCS_to_uv(colour.XYZ_to_UCS(spd @ cmfs_grid))
        t, d = colour.uv_to_CCT(uv, method="Ohno 2013")
        cct.append(t)
        duv.append(d)
    checker = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"]
    training = read_training_data_rawtoaces_v1()
    training_grid = np.asarray(
        training.copy().align(colour.SpectralShape(380, 780, 5)).values, np.float64
    ).T
    return {
        "cmfs_cie1931_2deg": cmfs_grid.astype(np.float64),
        "illuminant_names": np.array(names),
        "illuminants": illuminants,
        "illuminant_cct_k": np.array(cct, dtype=np.float64),
        "illuminant_duv": np.array(duv, dtype=np.float64),
        "d_series_basis": np.stack([_aligned(BASIS[k]) for k in ("S0", "S1", "S2")]),
        "colorchecker_names": np.array(list(checker)),
        "colorchecker": np.stack([_aligned(checker[n]) for n in checker]),
        "training_names": np.array(list(training.labels)),
        "training": training_grid,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    tables = colour_tables()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **tables)
    sizes = ", ".join(f"{k} {v.shape}" for k, v in tables.items())
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB): {sizes}")


if __name__ == "__main__":
    main()
