"""Capture time through the Noctilux-M 50 f/0.95 wide open, focused at 2 m, on sample:motorcycle.

The whole capture (metering, scene render, occlusion-aware defocus from the depth map,
diffraction, distortion and lateral colour, noise, ADC; no file writing), binned 4096×3072 and
full 8192×6144, median of 3, and the stage that costs the most. Issue 3 aims: ≤ 5 s binned,
≤ 20 s full. Run with ``make bench``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from mountcam.body.backend import SimulatedBackend
from mountcam.body.camera import Camera
from mountcam.body.settings import Controls
from mountcam.optics.imaging import form_image
from mountcam.optics.lens import LensState
from mountcam.optics.lens_catalogue import find_lens
from mountcam.scene import load_scene
from mountcam.sensor.capture import readout_window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scene = load_scene("sample:motorcycle")
    camera = Camera(SimulatedBackend(scene, seed=0, cache_optics=False))
    lens = find_lens("noctilux-m-50-f0.95")
    camera.attach_lens(lens)
    camera.estimate_aperture = False  # the capture alone
    camera.configure(module="m", crop=(64, 64))
    camera.set_lens(f_number=0.95, focus_m=2.0)
    camera.set_controls(Controls.for_exposure(1 / 1000, 400))
    camera.capture()  # JIT warm-up
    print(f"| capture | size | median of {args.repeat} (s) | aim (s) |")
    print("|---|---|---|---|")
    for mode, size, aim in (("binned", "4096×3072", 5.0), ("full", "8192×6144", 20.0)):
        runs = []
        for _ in range(args.repeat):
            camera.configure(mode=mode, crop=None)
            t0 = time.perf_counter()
            camera.capture()
            runs.append(time.perf_counter() - t0)
        print(
            f"| Noctilux-M 50 f/0.95 at 2 m, sample:motorcycle, {mode} | {size} "
            f"| {statistics.median(runs):.2f} | {aim:g} |"
        )
        model = camera.module("m").sensor
        window = readout_window(model, mode, None)
        optical = form_image(scene, lens, LensState(0.95, 2.0), window)
        weights = model.photoelectron_weights(optical.spectral_irradiance_w_m2_nm, mode)
        t0 = time.perf_counter()
        optical.planes(weights)
        print(
            f"|   of which lens effects (defocus, diffraction, distortion, lateral colour) | | "
            f"{time.perf_counter() - t0:.2f} | |"
        )


if __name__ == "__main__":
    main()
