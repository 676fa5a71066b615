"""Time of two optics stages on a whole binned frame (4096 × 3072 × 3 float32).

- ``apply_lens_geometry``: barrel distortion plus lateral colour in one remap;
- ``relative_illumination``: cos⁴ with a lens's vignetting;
- ``apply_diffraction``: the per-band Airy OTF at f/2.8 on the 3.2 µm binned pitch.

The cost of each depends on the frame's size, not on its content. Run with ``make bench``
(these were print-only tests before; a timing is a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from mountcam.optics.aberrations import (
    apply_lens_geometry,
    lateral_scale_from_um,
    relative_illumination,
    vignetting_from_ev,
)
from mountcam.optics.diffraction import apply_diffraction
from mountcam.optics.sensor_window import SensorWindow

WAVELENGTHS_M = [600e-9, 530e-9, 460e-9]


def _median_s(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    win = SensorWindow(3.2e-6, 4096, 3072, 0, 0, 4096, 3072)
    img = np.full((3072, 4096, 3), 0.5, dtype=np.float32)
    barrel = ("poly5", (-0.3, 0.05))  # −4.2 % at the 1-inch corner
    scales = [lateral_scale_from_um(2.0), 1.0, lateral_scale_from_um(-1.5)]
    small = SensorWindow(3.2e-6, 4096, 3072, 0, 0, 16, 16)
    apply_lens_geometry(img[:16, :16], small, distortion=barrel)  # compile
    apply_diffraction(img[:64, :64], WAVELENGTHS_M, 2.8, 3.2e-6)
    rows = [
        (
            "apply_lens_geometry (distortion + lateral colour)",
            lambda: apply_lens_geometry(img, win, distortion=barrel, lateral_scale_per_band=scales),
        ),
        (
            "relative_illumination (cos⁴ + 1.5 EV vignetting)",
            lambda: relative_illumination(win, 8.7e-3, vignetting_from_ev(1.5, "cos4")),
        ),
        (
            "apply_diffraction (f/2.8, 3 bands)",
            lambda: apply_diffraction(img, WAVELENGTHS_M, 2.8, 3.2e-6),
        ),
    ]
    print(f"| stage, 4096×3072×3 | median of {args.repeat} (s) |")
    print("|---|---|")
    for name, fn in rows:
        print(f"| {name} | {_median_s(fn, args.repeat):.2f} |")


if __name__ == "__main__":
    main()
