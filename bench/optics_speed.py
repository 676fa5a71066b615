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

from mountcam.body.camera import Camera, CaptureRequest
from mountcam.optics.imaging import form_image
from mountcam.optics.lens import LensState
from mountcam.optics.lens_catalogue import find_lens
from mountcam.scene import load_scene
from mountcam.sensor.capture import readout_window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    camera = Camera()
    lens = find_lens("noctilux-m-50-f0.95")
    camera.mount.attach(lens)
    scene = load_scene("sample:motorcycle")
    request = dict(module="m", f_number=0.95, focus_m=2.0, iso=400, exposure_s=1 / 1000)
    camera.capture(scene, CaptureRequest(crop=(64, 64), seed=0, **request))  # JIT warm-up
    print(f"| capture | size | median of {args.repeat} (s) | aim (s) |")
    print("|---|---|---|---|")
    for mode, size, aim in (("binned", "4096×3072", 5.0), ("full", "8192×6144", 20.0)):
        runs = []
        for i in range(args.repeat):
            t0 = time.perf_counter()
            camera.capture(scene, CaptureRequest(mode=mode, seed=i, **request))
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
