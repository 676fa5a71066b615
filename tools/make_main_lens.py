"""Write the main module's lens file (``src/mountcam/data/lenses/main-8.7.toml``).

The figures of a 1-inch phone main lens that are not published for the Xiaomi 12S Ultra are
``assumed`` with a range (docs/lenses.md, "The main lens"); this script turns them into the
file's models, so the numbers in the file can be remade and checked:

- vignetting: the natural cos⁴θ of the 8.7 mm lens's field (tan θ = r / 8.7 mm) times a
  mechanical term 1 − m·h⁴ (h = r / the sensor's half-diagonal) that brings the corner to
  ``CORNER_EV`` below the centre, fitted as lensfun's "pa" polynomial in h;
- distortion: barrel ``CORNER_DISTORTION_PCT`` at the sensor corner, quadratic in ρ;
- lateral colour: red and blue ``LATERAL_UM`` at the sensor corner, linear in ρ;
- field blur: a Gaussian σ from ``SIGMA_UM`` (centre, corner) with its MTF50, diffraction at
  550 nm included, stated for ``tests/test_main_lens.py`` to measure against.

    .venv/bin/python tools/make_main_lens.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "mountcam" / "data" / "lenses" / "main-8.7.toml"
HALF_DIAG_35_MM = math.hypot(36.0, 24.0) / 2.0
SENSOR_HALF_DIAG_MM = math.hypot(13.1072, 9.8304) / 2.0  # IMX989 active area
CORNER_RHO = SENSOR_HALF_DIAG_MM / HALF_DIAG_35_MM
FOCAL_MM = 8.7
F_NUMBER = 1.9

CORNER_EV = 2.0
CORNER_DISTORTION_PCT = -3.0
LATERAL_UM = (1.0, -1.0)
SIGMA_UM = (0.75, 1.55)
WAVELENGTH_M = 550e-9

RX100 = (
    "the one 1-inch camera lens of similar field and speed with a published calibration, the "
    "Sony RX100 III at 8.8 mm f/1.8 (24 mm equivalent; lensfun compact-sony.xml)"
)
VIGNETTING_SOURCE = (
    f"assumed: {CORNER_EV:g} EV at the sensor corner at f/1.9 (range 1.5-2.5 EV): the natural "
    "cos^4 of the 8.7 mm lens's 43.3° half-field (1.83 EV) plus a little mechanical vignetting "
    "at full aperture, as phone main lenses with a wide chief-ray angle show and their ISP "
    f"corrects; not published for the 12S Ultra. For comparison {RX100} loses 0.56 EV (a "
    "near-telecentric camera lens); fitted as lensfun 'pa' in h = r / 8.192 mm "
    "(tools/make_main_lens.py)"
)
DISTORTION_SOURCE = (
    f"assumed: {CORNER_DISTORTION_PCT:+g} % (barrel) at the sensor corner (range -1 to -5 %), "
    "which the camera corrects in software (the DNG carries the correction); not published "
    f"for the 12S Ultra. {RX100} measures "
    "-16 % uncorrected (a compact zoom designed around software correction), so the range's "
    "far end is kept modest for a fixed prime"
)
LATERAL_SOURCE = (
    f"assumed: red {LATERAL_UM[0]:+g} µm, blue {LATERAL_UM[1]:+g} µm at the sensor corner "
    "(range ±0.5-2 µm, a third to one and a half 1.6 µm photodiodes); not published for the "
    f"12S Ultra. {RX100}: red +3.9 µm, blue +1.3 µm at its corner (lensfun TCA)"
)
BLUR_SOURCE = (
    f"assumed: Gaussian σ {SIGMA_UM[0]:g} µm at the centre (range 0.5-1.0) growing to "
    f"{SIGMA_UM[1]:g} µm at the corner (range 1.2-2.2), i.e. lens MTF50 {{centre:.0f}} and "
    "{corner:.0f} lp/mm with diffraction at 550 nm, so that the lens passes the 1.6 µm grid's "
    "Nyquist (312 lp/mm) at MTF ~0.3 on axis and ~0.1 in the corner, a fast phone lens's "
    "typical fall from centre to corner; no MTF of the 12S Ultra's lens was found in the "
    "sources searched"
)


def diffraction_mtf(nu_cy_per_m: np.ndarray) -> np.ndarray:
    """Goodman eq. 6-32, circular pupil, incoherent, at 550 nm and f/1.9."""
    x = np.clip(nu_cy_per_m * WAVELENGTH_M * F_NUMBER, 0.0, 1.0)
    return (2.0 / np.pi) * (np.arccos(x) - x * np.sqrt(1.0 - x * x))


def lens_mtf50_lp_mm(sigma_um: float) -> float:
    nu = np.linspace(0.0, 1.0 / (WAVELENGTH_M * F_NUMBER), 200001)
    mtf = diffraction_mtf(nu) * np.exp(-2.0 * np.pi**2 * (sigma_um * 1e-6) ** 2 * nu**2)
    i = int(np.argmax(mtf < 0.5))
    f = (mtf[i - 1] - 0.5) / (mtf[i - 1] - mtf[i])
    return float((nu[i - 1] + f * (nu[i] - nu[i - 1])) * 1e-3)


def vignetting_pa() -> tuple[tuple[float, float, float], float]:
    h = np.linspace(0.0, 1.0, 401)
    tan = h * SENSOR_HALF_DIAG_MM / FOCAL_MM
    cos4 = 1.0 / (1.0 + tan * tan) ** 2
    m = 1.0 - 2.0**-CORNER_EV / cos4[-1]
    ri = cos4 * (1.0 - m * h**4)
    u = h * h
    a = np.stack([u, u**2, u**3], axis=1)
    w = np.sqrt(h + 1e-3) / ri
    k, *_ = np.linalg.lstsq(a * w[:, None], (ri - 1.0) * w, rcond=None)
    return tuple(float(v) for v in k), float(np.max(np.abs((1.0 + a @ k) / ri - 1.0)))


def render() -> str:
    (k1, k2, k3), vig_err = vignetting_pa()
    c2 = CORNER_DISTORTION_PCT / 100.0 / CORNER_RHO**2
    red, blue = (v / CORNER_RHO for v in LATERAL_UM)
    mtf_c, mtf_k = (lens_mtf50_lp_mm(s) for s in SIGMA_UM)
    q = json.dumps
    return "\n".join(
        [
            "# The main module's fixed lens: 8.7 mm f/1.9 before the 1-inch IMX989 (23 mm",
            '# equivalent). Written by tools/make_main_lens.py; docs/lenses.md, "The main lens".',
            'id = "main-8.7"',
            'name = "mountcam main 8.7 mm f/1.9"',
            'mount = "fixed"',
            "focal_mm = 8.7",
            "max_f = 1.9",
            "min_f = 1.9",
            "stops = [1.9]",
            "min_focus_m = 0.1",
            "focal_source = \"the issue's specification (Xiaomi 12S Ultra main camera: 23 mm "
            'equivalent on the 1-inch sensor, 8.7 mm)"',
            "max_f_source = \"the issue's specification (Xiaomi 12S Ultra main camera: f/1.9, "
            'fixed aperture)"',
            'min_f_source = "fixed aperture: min_f = max_f"',
            'min_focus_source = "assumed: 10 cm, the close focus phone makers give for 1-inch '
            "main cameras (range 7-15 cm); the 12S Ultra's own figure was not found in the "
            'sources searched"',
            'stops_source = "fixed aperture"',
            "transmittance = 0.9",
            'transmittance_source = "assumed: a multi-element phone lens with AR coatings passes '
            '~90 % (range 85-95 %)"',
            "code = 0",
            "blades = 0",
            'blades_source = "unknown: a phone lens has a fixed circular stop, no blades (rendered '
            'as a round stop)"',
            'code_source = "the fixed lens has no M bayonet and no 6-bit code"',
            "",
            "[vignetting]",
            "# relative illumination 1 + k1 R² + k2 R⁴ + k3 R⁶, R = r / 8.192 mm (the sensor's",
            f"# half-diagonal); {CORNER_EV:g} EV at the corner; fit error {vig_err:.2%}",
            'model = "pa"',
            f"unit_mm = {SENSOR_HALF_DIAG_MM:.6f}",
            "points = [",
            f"    {{ f_number = 1.9, k1 = {k1:.6f}, k2 = {k2:.6f}, k3 = {k3:.6f} }},",
            "]",
            f"source = {q(VIGNETTING_SOURCE)}",
            "",
            "[distortion]",
            f"# {CORNER_DISTORTION_PCT:+.2f} % at the sensor corner (ρ = {CORNER_RHO:.4f})",
            'model = "poly"',
            f"c = [1.0, 0.0, {c2:.6f}]",
            f"source = {q(DISTORTION_SOURCE)}",
            "",
            "[lateral_color]",
            "# radial shift of red and blue against green at ρ = 1 (the model's unit), µm; on the",
            f"# sensor corner {LATERAL_UM[0]:+g} / {LATERAL_UM[1]:+g} µm",
            'model = "linear-um"',
            f"red_um = {red:.4f}",
            f"blue_um = {blue:.4f}",
            f"source = {q(LATERAL_SOURCE)}",
            "",
            "[field_blur]",
            "# Gaussian σ(ρ) = σ_centre + (σ_corner − σ_centre)(ρ / corner_rho)², on top of",
            "# diffraction; mtf50_lp_mm = lens MTF50 at the centre and the corner (550 nm)",
            'model = "gaussian"',
            f"sigma_centre_um = {SIGMA_UM[0]:g}",
            f"sigma_corner_um = {SIGMA_UM[1]:g}",
            f"corner_rho = {CORNER_RHO:.6f}",
            f"mtf50_lp_mm = [{mtf_c:.1f}, {mtf_k:.1f}]",
            f"source = {q(BLUR_SOURCE.format(centre=mtf_c, corner=mtf_k))}",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    args.out.write_text(render(), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
