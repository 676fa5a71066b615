"""Simulation speed of one capture of chart:colorchecker, binned (4096×3072) and full (8192×6144).

Prints the median of 5 runs of the whole capture (metering → scene render → optics → electrons →
noise and ADC → remosaic; no file writing) and where the time goes, stage by stage. Two
exposures: what the camera meters for the chart in daylight (ISO 100), and a low-light shot at
ISO 1600, where most pixels hold fewer than 256 e⁻ and take the exact Poisson sampler. Each
with an ideal lens (the sensor twin alone, issue 2's figure) and with the main lens's
diffraction (the default capture since the optics release). Run with
``make bench``; paste the table into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numba

from mountcam.body.backend import SimulatedBackend
from mountcam.body.camera import Camera
from mountcam.body.settings import Controls
from mountcam.optics.imaging import form_image
from mountcam.optics.lens import LensState
from mountcam.scene import load_scene
from mountcam.sensor.capture import electron_rate, read_out, readout_window, remosaic_gains
from mountcam.sensor.model import SensorSettings
from mountcam.sensor.remosaic import remosaic


def stage_times(
    camera: Camera, scene, mode: str, iso: float, exposure_s: float, ideal: bool
) -> dict[str, float]:
    """Seconds per pipeline stage for one capture."""
    module = camera.module("main")
    model, lens = module.sensor, module.lens
    op = model.operating_point(SensorSettings(mode=mode, bits=12, iso=iso, exposure_s=exposure_s))
    window = readout_window(model, mode, None)
    t = {}
    t0 = time.perf_counter()
    optical = form_image(scene, lens, LensState(lens.max_f), window, ideal=ideal)
    t["scene render"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rate = electron_rate(model, optical, window, mode)
    t["spectral integration" + ("" if ideal else " + diffraction")] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mosaic = read_out(model, op, rate, window, exposure_s, 1, 0)
    t["noise + ADC"] = time.perf_counter() - t0
    if mode == "full":
        t0 = time.perf_counter()
        remosaic(
            mosaic,
            model.cfa_pattern,
            black_level_dn=op.black_level_dn,
            white_level_dn=float(op.white_level_dn),
            channel_gains=remosaic_gains(model),
        )
        t["remosaic"] = time.perf_counter() - t0
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    scene = load_scene("chart:colorchecker")
    backend = SimulatedBackend(scene, seed=0, cache_optics=False)
    camera = Camera(backend)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, numba threads {numba.get_num_threads()}"
    )
    # Compile/warm everything once on a small window so timings exclude JIT compilation.
    camera.configure(crop=(64, 64))
    camera.set_controls(Controls.for_exposure(1 / 250, 400))
    camera.capture()
    camera.configure(mode="full", crop=(64, 64))
    camera.capture()
    camera.configure(mode="binned", crop=(64, 64))
    camera.set_controls(Controls())
    metered = camera.capture().metadata
    daylight = (metered.iso, metered.exposure_s, "metered daylight")
    low_light = (1600.0, metered.exposure_s / 16, "low light")
    print()
    print(f"| capture | size | optics | exposure | median of {args.repeat} (s) | aim (s) |")
    print("|---|---|---|---|---|---|")
    stages = {}
    for mode, size, aim in (("binned", "4096×3072", 0.5), ("full", "8192×6144", 2.0)):
        for ideal in (True, False):
            for iso, t, label in (daylight, low_light):
                runs = []
                for _ in range(args.repeat):
                    backend.ideal_optics = ideal
                    camera.configure(mode=mode, crop=None)
                    camera.set_controls(Controls.for_exposure(t, iso))
                    t0 = time.perf_counter()
                    camera.capture()
                    runs.append(time.perf_counter() - t0)
                optics = "ideal (sensor only)" if ideal else "diffraction"
                print(
                    f"| {mode} | {size} | {optics} | {label}: ISO {iso:g}, 1/{1 / t:.0f} s "
                    f"| {statistics.median(runs):.3f} | {aim if ideal else '-'} |"
                )
                stages[f"{mode}, {optics}, {label}"] = stage_times(
                    camera, scene, mode, iso, t, ideal
                )
    for name, t in stages.items():
        print(f"\nwhere the time goes, {name}:")
        total = sum(t.values())
        for stage, s in sorted(t.items(), key=lambda kv: -kv[1]):
            print(f"  {stage:24s} {s:6.3f} s  {100 * s / total:5.1f} %")


if __name__ == "__main__":
    main()
