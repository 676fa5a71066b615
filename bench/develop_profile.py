"""Profile of the develop pipeline at 50 MP: each stage's time, wall time, JPEG, peak memory.

    .venv/bin/python bench/develop_profile.py [--dng FILE] [--repeat N] [--single-thread]

Without ``--dng`` it writes a synthetic 8192×6144 12-bit DNG once (a textured colour scene
mosaicked through the twin's calibration, with shot and read noise, ISO 100) to a temporary
folder. Each configuration runs in its own child process, so its peak resident memory
(``ru_maxrss``) is its own; the first run in a child compiles or loads the numba cache and is
not counted (the best of ``--repeat`` runs is reported). Stage times are summed over the two
strip threads, so they add up to more than the wall time.

``--single-thread`` runs everything on one thread (one strip at a time, numba and OpenCV on
one thread) and times each stage with that thread's CPU clock (``time.thread_time``): the
stage costs then add up to the total and barely move when other processes share the cores,
which makes before/after comparisons on a busy machine trustworthy. The peak memory of that
mode is not the real one.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

STAGES = (
    "read", "levels", "demosaic", "highlights", "denoise", "lens", "colour_tone",
    "demosaic_colour_tone", "sharpen",
)  # fmt: skip
CONFIGS = {
    "fast -> uint8": {"quality": "fast"},
    "high -> uint8": {"quality": "high"},
    "fast, no sharpen": {"quality": "fast", "sharpen": False},
    "linear -> uint16": {"quality": "fast", "linear": True},
}


def synthetic_dng(folder: Path, height: int = 6144, width: int = 8192) -> Path:
    """A 50 MP 12-bit DNG of a textured colour scene (the twin's calibration and neutral)."""
    from mountcam.dng import write_dng
    from mountcam.dng.calibration import calibrate_dual
    from mountcam.sensor.model import load_sensor
    from mountcam.sensor.rawframe import CaptureMetadata, RawFrame

    rng = np.random.default_rng(0)
    neutral = np.array([0.545, 1.0, 0.635])
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    mosaic = np.empty((height, width), dtype=np.float32)
    # Smooth colour regions, fine stripes (demosaic work) and a clipped bright band.
    for k, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        c = (0, 1, 1, 2)[k]
        sy, sx = y[dy::2], x[:, dx::2]
        base = 0.05 + 0.25 * (0.5 + 0.5 * np.sin(6.0 * sx + 3.0 * sy * (c + 1)))
        stripes = 0.1 * np.sin(2 * np.pi * sx * width / 7.3) * (sy > 0.5)
        plane = (base + stripes) * neutral[c]
        plane = np.where(sy < 0.05, 3.0 * neutral[c], plane)
        mosaic[dy::2, dx::2] = plane
    signal_e = np.clip(mosaic, 0, 1) * 10_000.0  # full well ~10 ke- at ISO 100
    noisy = rng.poisson(signal_e).astype(np.float32) + rng.normal(0, 2.0, signal_e.shape)
    dn = np.clip(np.round(256 + noisy * (3839 / 10_000.0)), 0, 4095).astype(np.uint16)
    md = CaptureMetadata(
        sensor="imx989", module="main", mode="full", bits=12, exposure_s=0.01, iso=100.0,
        analog_gain=1.0, digital_gain=1.0, temperature_c=25.0, seed=0, frame_index=0,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        lens_name="", focal_mm=8.7, f_number=1.9, as_shot_neutral=tuple(neutral),
        pixel_pitch_m=1.6e-6,
    )  # fmt: skip
    frame = RawFrame(dn, "RGGB", (256.0,) * 4, 4095, md)
    cal = calibrate_dual(load_sensor("imx989").qe)
    return write_dng(frame, folder / "synthetic_50mp.dng", calibration=cal)


def child(dng: str, config: str, repeat: int, out_dir: str, single: bool) -> None:
    if single:
        import os
        import types

        os.environ["NUMBA_NUM_THREADS"] = "1"
        import cv2

        import mountcam.develop.output as output
        import mountcam.develop.pipeline as pipeline
        import mountcam.develop.strips as strips

        cv2.setNumThreads(1)
        output.PARALLEL_JPEG_MIN_PIXELS = 1 << 62  # the JPEG in one piece, on this thread
        # The pipeline's stage clocks become this thread's CPU clock (all work runs on it).
        pipeline.time = strips.time = types.SimpleNamespace(perf_counter=time.thread_time)
    from mountcam.allocator import tune_malloc_for_large_arrays
    from mountcam.develop import DevelopSettings, develop, save_image
    from mountcam.develop.schedule import Schedule

    tune_malloc_for_large_arrays()  # as the mountcam command does
    schedule = Schedule(workers=1) if single else Schedule()

    kwargs = CONFIGS[config]
    settings = DevelopSettings(**kwargs)
    dtype = np.uint16 if kwargs.get("linear") else np.uint8
    fmt = "tiff16" if kwargs.get("linear") else "jpeg"
    best = None
    clock = time.thread_time if single else time.perf_counter
    for i in range(repeat + 1):
        t0 = clock()
        image = develop(dng, settings, output_dtype=dtype, schedule=schedule)
        t1 = clock()
        path = Path(out_dir) / f"out_{i}.{'tif' if fmt == 'tiff16' else 'jpg'}"
        save_image(image, path, fmt=fmt, quality=90, overwrite=True)
        t2 = clock()
        path.unlink()
        row = dict(image.timings_s, develop=t1 - t0, encode=t2 - t1, wall=t2 - t0)
        if i > 0:  # each stage's best of the timed runs
            best = row if best is None else {k: min(v, row.get(k, v)) for k, v in best.items()}
    best["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(best))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dng", type=str, default=None)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--child", type=str, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=str, default=None, help=argparse.SUPPRESS)
    ap.add_argument(
        "--single-thread", action="store_true", help="one thread, stages on its CPU clock"
    )
    args = ap.parse_args()
    if args.child:
        child(args.dng, args.child, args.repeat, args.out, args.single_thread)
        return
    with tempfile.TemporaryDirectory() as tmp:
        dng = args.dng or str(synthetic_dng(Path(tmp)))
        from mountcam.dng import read_dng

        info = read_dng(dng)
        h, w = info.mosaic.shape
        print(f"{dng}: {w}×{h}, white {info.white_level_dn}, ISO {info.iso}")
        rows = {}
        for config in CONFIGS:
            res = subprocess.run(
                [sys.executable, __file__, "--dng", dng, "--child", config,
                 "--repeat", str(args.repeat), "--out", tmp]
                + (["--single-thread"] if args.single_thread else []),
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            rows[config] = json.loads(res.stdout.strip().splitlines()[-1])
        cols = [*STAGES, "develop", "encode", "wall", "peak_rss_mb"]
        print("| configuration | " + " | ".join(cols) + " |")
        print("|---|" + "---:|" * len(cols))
        for config, row in rows.items():
            cells = [
                f"{row[c]:.0f}" if c == "peak_rss_mb" else f"{row.get(c, 0.0):.3f}" for c in cols
            ]
            print(f"| {config} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
