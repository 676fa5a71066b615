"""Shutter press to DNG on disk through the Camera API (issue 12, acceptance 7).

One warm process, the simulated camera, binned readout (4096×3072, 12-bit), metered (matrix
metering from preview frames, auto white balance), written as an uncompressed DNG to a fresh
folder: the main module in program P, then the M module with a Summicron-M 50 at f/2.8 in
program A (a lens without a field blur: the twin resamples each pixel's own CFA band only).
A "press" is ``camera.capture()`` + ``camera.save_dng()``; the time is split by where it goes
(preview readouts for metering and white balance, the capture readout, the DNG write). The
scene changes slightly between presses (a new luminance), so the optical image is rendered
every time as on a real shot; "same scene" re-uses it; "prepared" changes the scene, then
calls ``camera.prepare()`` (what the camera app does while the photographer frames: the
twin renders the capture's light before the shutter, as a real sensor is lit) and times the
press after it (the prepare's own time is printed below the table).

    python bench/camera_speed.py [--repeat 5] [--plain-malloc]

The process tunes glibc's malloc as the ``mountcam`` command (and so the camera app,
``mountcam serve``) does at start (:func:`mountcam.allocator.tune_malloc_for_large_arrays`:
freed picture-sized arrays are reused instead of faulted in afresh); ``--plain-malloc``
measures a script that does not.

Prints a Markdown table: wall times per stage, and the process's CPU time for the whole press
(less sensitive to a shared machine's load than wall time); the load average beside it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from mountcam import Camera, SimulatedBackend
from mountcam.allocator import tune_malloc_for_large_arrays
from mountcam.scene import load_scene


class TimedBackend:
    """The twin, with the time of each read added up by readout mode."""

    def __init__(self, twin: SimulatedBackend) -> None:
        self.twin = twin
        self.seconds: dict[str, float] = {}
        self.reads: dict[str, int] = {}

    def modules(self):
        return self.twin.modules()

    def calibration(self, module):
        return self.twin.calibration(module)

    def prepare(self, module, readout):
        self.twin.prepare(module, readout)

    def read(self, module, readout):
        t0 = time.perf_counter()
        frame = self.twin.read(module, readout)
        key = "preview" if readout.mode == "preview" else "capture"
        self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - t0
        self.reads[key] = self.reads.get(key, 0) + 1
        return frame


def press(camera: Camera, backend: TimedBackend, folder: Path) -> dict[str, float]:
    backend.seconds.clear()
    backend.reads.clear()
    c0 = time.process_time()
    t0 = time.perf_counter()
    frame = camera.capture()
    t1 = time.perf_counter()
    camera.save_dng(frame, folder)
    t2 = time.perf_counter()
    return {
        "total": t2 - t0,
        "CPU (all threads)": time.process_time() - c0,
        "previews": backend.seconds.get("preview", 0.0),
        "preview frames": backend.reads.get("preview", 0),
        "capture readout": backend.seconds.get("capture", 0.0),
        "decisions": (t1 - t0) - sum(backend.seconds.values()),
        "DNG write": t2 - t1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--plain-malloc",
        action="store_true",
        help="leave glibc's malloc as a plain Python process has it",
    )
    args = parser.parse_args()
    tuned = False if args.plain_malloc else tune_malloc_for_large_arrays()
    scenes = [load_scene("chart:colorchecker", luminance_cd_m2=800 + 50 * i) for i in range(64)]
    rows = {}
    prepared: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for setup, module, lens in (
            ("main module, P", "main", None),
            ("M module, Summicron-M 50 at f/2.8, A", "m", "summicron-m-50"),
        ):
            twin = SimulatedBackend(scenes[0], seed=1)
            backend = TimedBackend(twin)
            camera = Camera(backend)
            if lens is not None:
                camera.attach_lens(lens)
            camera.configure(module=module, mode="binned", bits=12)
            if lens is not None:
                camera.set_lens(f_number=2.8, focus_m=3.0)
                camera.set_controls(program="A")
            folder = Path(tmp) / module
            camera.configure(crop=(64, 64))
            press(camera, backend, folder)  # JIT and calibration warm-up
            camera.configure(crop=None)
            press(camera, backend, folder)
            for label, change, ready in (
                ("new scene each press", True, False),
                ("same scene", False, False),
                ("new scene each press, prepared", True, True),
            ):
                runs = []
                for i in range(args.repeat):
                    if change:
                        twin.set_scene(scenes[(i + 1 + ready * args.repeat) % len(scenes)])
                    if ready:
                        t0 = time.perf_counter()
                        camera.prepare()
                        prepared.setdefault(setup, []).append(time.perf_counter() - t0)
                    runs.append(press(camera, backend, folder))
                rows[f"{setup}: {label}"] = runs
    load = os.getloadavg()[0]
    print(
        f"load average {load:.1f} on {os.cpu_count()} cores; median of {args.repeat} presses; "
        f"malloc {'tuned as the mountcam command does' if tuned else 'as Python leaves it'}"
    )
    print()
    keys = [
        "total",
        "CPU (all threads)",
        "previews",
        "preview frames",
        "capture readout",
        "decisions",
        "DNG write",
    ]
    print("| binned 4096×3072, metered (matrix, auto WB) | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for label, runs in rows.items():
        cells = []
        for k in keys:
            v = statistics.median(r[k] for r in runs)
            cells.append(f"{v:.0f}" if k == "preview frames" else f"{v * 1e3:.0f} ms")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    for setup, times in prepared.items():
        print(f"camera.prepare() before a press, {setup}: {statistics.median(times) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
