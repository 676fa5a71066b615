"""Speed of :func:`mountcam.optics.defocus.render_defocus` on a 4096 × 3072 × 3 frame.

The scene is built to exercise every layer the renderer can make: a Noctilux-M 50 mm f/0.95
(thin-lens model) focused at 2 m on a sensor with 3.2 µm pixels, looking at a textured ground
plane that runs continuously from 0.8 m (blur ≈ 630 px) to the horizon, a far wall at 10 m
(≈ 340 px), a subject in focus at 2 m, mid-distance posts at 3–5 m and a near post at 1 m
(≈ 420 px). Blur diameters therefore span 0 … 630 px on both sides of the focus plane.

Prints the median (and best) of 3 runs, after one warm-up run that also compiles the numba
kernels, the number of layers and the load average (timings on a shared machine vary with it). Run: ``.venv/bin/python bench/defocus_speed.py`` (``--size W H`` to vary).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from mountcam.optics.defocus import _plan_nodes, render_defocus, signed_coc_px

LENS = dict(focal_m=0.050, f_number=0.95, focus_m=2.0, pixel_pitch_m=3.2e-6)


def scene(width: int, height: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(image (H, W, 3) float32 linear, depth (H, W) float32 metres)."""
    rng = np.random.default_rng(seed)
    img = rng.random((height, width, 3), dtype=np.float32) * 0.2 + 0.05
    # A few bright specular points for visible bokeh.
    for _ in range(200):
        r, c = rng.integers(0, height), rng.integers(0, width)
        img[r, c] = 50.0
    rows = np.arange(height, dtype=np.float32)[:, None]
    horizon = 0.45 * height
    # Ground plane seen from 1.5 m up: z = camera height · focal / (row offset · pitch).
    below = np.maximum(rows - horizon, 1.0)
    ground = np.clip(0.8 * (height - horizon) / below, 0.8, 10.0)
    depth = np.where(rows > horizon, ground, 10.0) * np.ones((1, width), np.float32)
    depth[int(0.25 * height) : int(0.8 * height), int(0.40 * width) : int(0.60 * width)] = 2.0
    for i, z in enumerate((3.0, 4.0, 5.0)):
        c0 = int((0.65 + 0.08 * i) * width)
        depth[int(0.3 * height) : int(0.7 * height), c0 : c0 + width // 40] = z
    depth[:, int(0.08 * width) : int(0.16 * width)] = 1.0
    return img, depth.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", nargs=2, type=int, default=(4096, 3072), metavar=("W", "H"))
    parser.add_argument("--blades", type=int, default=0)
    parser.add_argument("--layers-per-octave", type=float, default=2.0)
    args = parser.parse_args()
    img, depth = scene(*args.size)
    coc = signed_coc_px(depth, **LENS)
    nodes = _plan_nodes(coc, args.layers_per_octave)
    kw = dict(LENS, blades=args.blades, layers_per_octave=args.layers_per_octave)
    render_defocus(img, depth, **kw)  # warm-up (numba compile / cache load)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        render_defocus(img, depth, **kw)
        times.append(time.perf_counter() - t0)
    w, h = args.size
    print(
        f"render_defocus {w}x{h}x3, |CoC| ≤ {np.abs(coc).max():.0f} px, {len(nodes)} layers, "
        f"blades={args.blades}: median {statistics.median(times):.2f} s, best {min(times):.2f} s "
        f"(runs {', '.join(f'{t:.2f}' for t in times)}) on {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}, load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
