"""Fit the Jakob & Hanika (2019) sigmoid coefficients for an N³ grid of linear-sRGB nodes.

Writes ``src/mountcam/data/scene/jakob2019_srgb_coeffs.npz``, the table behind
:mod:`mountcam.scene.spectral`. Run once (about half a minute for N = 17)::

    .venv/bin/python tools/make_rgb_spectra_lut.py [--size 17] [--out PATH]

Method (Jakob & Hanika 2019, "A Low-Dimensional Function Space for Efficient Spectral
Upsampling", Computer Graphics Forum 38(2), doi:10.1111/cgf.13626). Each node's reflectance is
``R(t) = 1/2 + U / (2 sqrt(1 + U²))``, ``U = c0 t² + c1 t + c2``, ``t = (λ - 380) / 400`` on the
mountcam 380-780 nm / 5 nm grid. The three coefficients minimise the CIELAB difference between
the spectrum seen under CIE D65 (CIE 1931 2° observer) and the node's linear-sRGB colour, like
the paper. All nodes are solved at once with a vectorised Levenberg-Marquardt, walked from a
grey of the same luminance to the target in small steps (the paper's continuation, done along
the saturation direction instead of across the table) and then polished. Neutral nodes are set
to the analytic flat spectrum (c0 = c1 = 0); black and white use c2 = ∓1e8 (exactly 0 and 1).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mountcam.scene.spectral import (
    d65_xyz_weights,
    linear_srgb_to_xyz_matrix,
    normalised_wavelengths,
    sigmoid_spectra,
)
from mountcam.spectra import WAVELENGTHS_NM

DEFAULT_OUT = (
    Path(__file__).resolve().parents[1] / "src/mountcam/data/scene/jakob2019_srgb_coeffs.npz"
)

# CIELAB as a linear map of f(X/Xn), f(Y/Yn), f(Z/Zn).
_LAB = np.array([[0.0, 116.0, 0.0], [500.0, -500.0, 0.0], [0.0, 200.0, -200.0]])
_DELTA = 6.0 / 29.0


def _f(x: np.ndarray) -> np.ndarray:
    return np.where(x > _DELTA**3, np.cbrt(np.maximum(x, 1e-300)), x / (3 * _DELTA**2) + 4 / 29)


def _df(x: np.ndarray) -> np.ndarray:
    return np.where(
        x > _DELTA**3, 1.0 / (3.0 * np.cbrt(np.maximum(x, 1e-300)) ** 2), 1 / (3 * _DELTA**2)
    )


def _lab(xyz: np.ndarray, white: np.ndarray) -> np.ndarray:
    lab = _f(xyz / white) @ _LAB.T
    lab[..., 0] -= 16.0
    return lab


def _model(c: np.ndarray, weights: np.ndarray, white: np.ndarray, basis: np.ndarray):
    """Lab (n, 3) of coefficients (n, 3) and its Jacobian (n, 3, 3)."""
    u = c @ basis.T
    s = np.sqrt(1.0 + u * u)
    r = 0.5 + 0.5 * u / s
    dr_du = 0.5 / s**3
    xyz = r @ weights
    dxyz = np.einsum("lk,nl,lj->nkj", weights, dr_du, basis)
    dfx = _df(xyz / white) / white
    jac = np.einsum("ik,nk,nkj->nij", _LAB, dfx, dxyz)
    return _lab(xyz, white), jac


def _solve(target_lab, c, weights, white, basis, iterations):
    """Levenberg-Marquardt on all nodes at once; returns coefficients and ΔE*ab."""
    c = c.copy()
    damping = np.full(len(c), 1e-3)
    lab, jac = _model(c, weights, white, basis)
    res = lab - target_lab
    cost = (res * res).sum(axis=1)
    eye = np.eye(3)
    for _ in range(iterations):
        jtj = np.einsum("nij,nik->njk", jac, jac)
        grad = np.einsum("nij,ni->nj", jac, res)
        diag = np.maximum(np.diagonal(jtj, axis1=1, axis2=2), 1e-12)
        system = jtj + damping[:, None, None] * eye * diag[:, :, None]
        step = -np.linalg.solve(system, grad[..., None])[..., 0]
        trial = c + step
        lab_t, jac_t = _model(trial, weights, white, basis)
        res_t = lab_t - target_lab
        cost_t = (res_t * res_t).sum(axis=1)
        better = cost_t < cost
        c[better], jac[better], res[better], cost[better] = (
            trial[better],
            jac_t[better],
            res_t[better],
            cost_t[better],
        )
        damping = np.clip(np.where(better, damping * 0.3, damping * 10.0), 1e-12, 1e12)
    return c, np.sqrt(cost)


def _flat_coefficient(value: np.ndarray) -> np.ndarray:
    """c2 of the flat sigmoid spectrum equal to ``value`` (±1e8 at 0 and 1)."""
    s = 2.0 * np.asarray(value, dtype=np.float64) - 1.0
    with np.errstate(divide="ignore"):
        c2 = s / np.sqrt(np.maximum(1.0 - s * s, 0.0))
    return np.clip(np.nan_to_num(c2, posinf=1e8, neginf=-1e8), -1e8, 1e8)


def fit(size: int, *, steps: int = 25, verbose: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (size, size, size, 3) and their ΔE*ab residual (size, size, size)."""
    weights = d65_xyz_weights()
    white = weights.sum(axis=0)
    to_xyz = linear_srgb_to_xyz_matrix()
    t = normalised_wavelengths()
    basis = np.stack([t * t, t, np.ones_like(t)], axis=1)

    nodes = np.linspace(0.0, 1.0, size)
    rgb = np.stack(np.meshgrid(nodes, nodes, nodes, indexing="ij"), axis=-1).reshape(-1, 3)
    grey = np.clip(rgb @ to_xyz[1], 0.05, 0.95)
    c = np.zeros((len(rgb), 3))
    c[:, 2] = _flat_coefficient(grey)

    start = time.perf_counter()
    for k in range(1, steps + 1):
        a = k / steps
        target = (1.0 - a) * grey[:, None] + a * rgb
        c, _ = _solve(_lab(target @ to_xyz.T, white), c, weights, white, basis, 15)
    c, err = _solve(_lab(rgb @ to_xyz.T, white), c, weights, white, basis, 200)

    neutral = np.all(rgb == rgb[:, :1], axis=1)
    c[neutral] = 0.0
    c[neutral, 2] = _flat_coefficient(rgb[neutral, 0])
    err[neutral] = np.linalg.norm(
        _lab(sigmoid_spectra(c[neutral]) @ weights, white) - _lab(rgb[neutral] @ to_xyz.T, white),
        axis=1,
    )
    if verbose:
        print(
            f"fitted {len(rgb)} nodes in {time.perf_counter() - start:.1f} s; "
            f"ΔE*ab max {err.max():.2e}, 99th percentile {np.percentile(err, 99):.2e}"
        )
    return c.reshape(size, size, size, 3), err.reshape(size, size, size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=17, help="nodes per axis (default 17)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    coefficients, residual = fit(args.size)
    spectra = sigmoid_spectra(coefficients)
    assert spectra.min() >= 0.0 and spectra.max() <= 1.0

    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        coefficients=coefficients,
        residual_delta_e_ab=residual.astype(np.float32),
        nodes=np.linspace(0.0, 1.0, args.size),
        wavelengths_nm=WAVELENGTHS_NM,
        rgb_to_xyz=linear_srgb_to_xyz_matrix(),
        method=np.array(
            "Jakob & Hanika 2019 sigmoid-quadratic reflectance, t = (wavelength - 380 nm) / 400 nm; "
            "CIELAB least squares (Levenberg-Marquardt, continuation from grey)"
        ),
        colourspace=np.array(
            "linear sRGB (IEC 61966-2-1 primaries), white = tabulated CIE D65 on 380-780/5 nm"
        ),
        illuminant=np.array("D65"),
        observer=np.array("CIE 1931 2 degree"),
        generator=np.array("tools/make_rgb_spectra_lut.py"),
    )
    tmp.replace(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
