"""Lens opcodes: how well OpcodeList3 fits each catalogue lens, and what it costs per shot.

For every lens of the catalogue (wide open, whole binned frame 4096×3072 of the 1-inch sensor)
prints the fitted opcodes' worst warp error (pixels, over the frame and the three planes) and
worst vignetting-gain error (relative), both as reported by ``fit_lens_opcodes`` and checked
independently: the warp against the twin's ``distorted_rho``, the gain against the twin's
``relative_illumination``. Also a lensfun-style lens with an odd distortion term, and the time
of one fit + encode.

    python bench/lens_opcodes.py
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from mountcam.dng.opcodes import (
    FixVignetteRadial,
    WarpRectilinear,
    encode_opcode_list,
    fit_lens_opcodes,
    vignette_gain,
    warp_source_positions,
)
from mountcam.optics.aberrations import distorted_rho, lateral_scale_from_um
from mountcam.optics.imaging import image_distance_m, relative_illumination
from mountcam.optics.lens import Distortion, LensState, load_lens
from mountcam.optics.lens_catalogue import all_lenses
from mountcam.optics.sensor_window import FULL_FRAME_HALF_DIAGONAL_M, SensorWindow

H, W, PITCH = 3072, 4096, 3.2e-6


def check(lens) -> tuple[float, float, float, float]:
    state = LensState(lens.max_f)
    fit = fit_lens_opcodes(lens, state, image_hw=(H, W), pixel_pitch_m=PITCH)
    axis = (H / 2 - 0.5, W / 2 - 0.5)
    warp_err = vig_err = 0.0
    for op in fit.ops:
        if isinstance(op, WarpRectilinear):
            rows, cols = np.meshgrid(np.linspace(0, H, 97), np.linspace(0, W, 129), indexing="ij")
            dv, dh = rows - axis[0], cols - axis[1]
            rho = np.hypot(dv, dh) * PITCH / FULL_FRAME_HALF_DIAGONAL_M
            c = lens.distortion.as_rho_poly() if lens.distortion else ("poly", (1.0,))
            for plane in range(3):
                s = 1.0
                if lens.lateral_color is not None and plane != 1:
                    shift = lens.lateral_color.shift_um(1.0)[0 if plane == 0 else 1]
                    s = lateral_scale_from_um(float(shift))
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = np.where(rho > 0, s * distorted_rho(rho, *c) / rho, s)
                got = warp_source_positions(op, plane, rows, cols, (H, W))
                warp_err = max(
                    warp_err,
                    float(
                        np.max(
                            np.hypot(got[0] - axis[0] - dv * ratio, got[1] - axis[1] - dh * ratio)
                        )
                    ),
                )
        if isinstance(op, FixVignetteRadial):
            win = SensorWindow(PITCH, W, H, 0, 0, W, H)
            v = image_distance_m(lens.focal_for(state) * 1e-3, state.focus_m)
            ri = relative_illumination(lens, state, win, win.grid_m().scaled(1 / v))[::8, ::8]
            rows, cols = np.mgrid[0:H:8, 0:W:8]
            vig_err = float(np.max(np.abs(ri * vignette_gain(op, rows, cols, (H, W)) - 1)))
    return fit.warp_error_px, warp_err, fit.vignette_error, vig_err


def main() -> None:
    lenses = [lens for lens in all_lenses() if lens.mount in ("M", "fixed")]
    odd = dataclasses.replace(
        load_lens("summicron-m-50"),
        id="odd-term (ptlens-like)",
        distortion=Distortion("poly", (1.0, 0.01, -0.08, 0.02), "bench"),
    )
    print(f"{'lens':34s} {'warp px (fit / check)':>24s} {'vignette (fit / check)':>24s}")
    worst_w = worst_v = 0.0
    for lens in [*lenses, odd]:
        wf, wc, vf, vc = check(lens)
        if lens is not odd:
            worst_w, worst_v = max(worst_w, wc), max(worst_v, vc)
        print(f"{lens.id:34s} {wf:11.2e} / {wc:9.2e} {vf:11.2e} / {vc:9.2e}")
    print(f"catalogue worst: warp {worst_w:.2e} px, vignette {worst_v:.2e}")
    lens = load_lens("noctilux-m-50-f0.95")
    times = []
    for _ in range(20):
        t = time.perf_counter()
        fit = fit_lens_opcodes(lens, LensState(0.95), image_hw=(6144, 8192), pixel_pitch_m=1.6e-6)
        encode_opcode_list(fit.ops)
        times.append(time.perf_counter() - t)
    print(f"fit + encode (Noctilux, full 8192x6144): median {np.median(times) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
