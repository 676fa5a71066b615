"""Cost of the DNG colour calibration and NoiseProfile per shot (issue 4, COLOUR).

    python bench/dng_colour.py

Prints the first-call time of ``calibrate_dual`` in a fresh interpreter (what one ``mountcam
shoot`` pays, split into the colour-science import, the training reflectances and the fits),
the cached call, and ``noise_profile_for_frame``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

COLD = r"""
import time
t0 = time.perf_counter()
import colour
t1 = time.perf_counter()
from mountcam.dng.calibration import calibrate_dual, training_reflectances
from mountcam.sensor.model import load_sensor
qe = load_sensor("imx989").qe
t2 = time.perf_counter()
training_reflectances()
t3 = time.perf_counter()
calibrate_dual(qe)
t4 = time.perf_counter()
calibrate_dual(qe)
t5 = time.perf_counter()
print(f"{t1 - t0:.3f} {t3 - t2:.3f} {t4 - t3:.3f} {t5 - t4:.6f}")
"""


def main() -> None:
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", COLD], capture_output=True, text=True, check=True
        ).stdout.split()
        runs.append([float(x) for x in out])
    med = [statistics.median(col) for col in zip(*runs, strict=True)]
    print(
        f"calibrate_dual, fresh process (median of 3): import colour {med[0]:.2f} s, "
        f"training reflectances {med[1]:.2f} s, four fits + LOO {med[2]:.3f} s, "
        f"cached call {med[3] * 1e3:.2f} ms"
    )

    from mountcam import Camera, SimulatedBackend
    from mountcam.dng.noise_profile import noise_profile_for_frame

    camera = Camera(SimulatedBackend("chart:flat", seed=1))
    camera.configure(crop=(64, 48))
    camera.set_controls(program="M", iso=800, exposure_s=1e-3)
    frame = camera.capture()
    noise_profile_for_frame(frame)
    times = []
    for _ in range(20):
        t = time.perf_counter()
        noise_profile_for_frame(frame)
        times.append(time.perf_counter() - t)
    print(
        f"noise_profile_for_frame: median {statistics.median(times) * 1e3:.2f} ms "
        f"on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
