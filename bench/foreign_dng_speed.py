"""What other cameras' DNG features cost in a 50 MP develop: OpcodeList2 GainMaps (lens shading,
as phones store it), the per-channel clip detection (every file) and an Orientation of 6.

    python bench/foreign_dng_speed.py            # 8192×6144 12-bit, best of 3
    python bench/foreign_dng_speed.py --quick    # 1024×768, a smoke run

**The files**: one 8192×6144 12-bit RGGB mosaic (a smooth ramp with 8 DN of noise), written
twice by ``tests/foreign_dngs.write_cfa_dng``: without opcodes, and with four GainMaps in
OpcodeList2 (one per CFA colour, RowPitch = ColPitch = 2, 17×13 points, gains 1..2 rising to
the corners: the layout phones write).

**What is timed**, best of ``--repeat`` rounds in which they take turns, warm process
(kernels compiled, the file read once before): ``develop`` of each DNG to 8-bit sRGB (the JPEG
path, defaults) — without opcodes, with the GainMaps, with Orientation 6, and without clip
detection (``detect_clipping=False``) — and, alone, ``apply_raw_opcodes`` on the whole mosaic
as float32 and ``channel_clip_levels`` on the mosaic (each one call, numba's threads). Wall
time and the process's CPU time (both cores' work; less sensitive to other jobs on a shared
machine). Prints a Markdown table and the load.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _files(folder: Path, height: int, width: int) -> tuple[Path, Path]:
    from foreign_dngs import write_cfa_dng
    from mountcam.dng.opcodes import GainMap, encode_opcode_list

    rng = np.random.default_rng(1)
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    cols = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    ramp = 256 + 2500 * (0.3 + 0.4 * rows + 0.3 * cols)
    mosaic = np.clip(np.round(ramp + rng.normal(0, 8, (height, width))), 0, 4095)
    v, h = np.meshgrid(np.linspace(-1, 1, 17), np.linspace(-1, 1, 13), indexing="ij")
    gains = (1 + 0.5 * (v**2 + h**2))[:, :, None].astype(np.float32)
    ops = [
        GainMap(i, j, height, width, 0, 1, 2, 2, 1 / 16, 1 / 12, 0.0, 0.0, gains)
        for i in (0, 1)
        for j in (0, 1)
    ]
    plain = write_cfa_dng(folder / "plain.dng", mosaic, black=256, white=4095)
    shaded = write_cfa_dng(
        folder / "gainmap.dng",
        mosaic,
        black=256,
        white=4095,
        opcode_list_2=encode_opcode_list(ops),
    )
    return plain, shaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    height, width = (768, 1024) if args.quick else (6144, 8192)

    import dataclasses

    from mountcam.develop import DevelopSettings, develop
    from mountcam.develop.highlights import channel_clip_levels
    from mountcam.develop.raw_opcodes import apply_raw_opcodes, prepare_raw_opcodes
    from mountcam.dng.opcodes import decode_opcode_list
    from mountcam.dng.reader import read_dng

    with tempfile.TemporaryDirectory() as tmp:
        plain, shaded = _files(Path(tmp), height, width)
        base = read_dng(plain)
        runs = {
            "develop, no opcodes": (base, DevelopSettings()),
            "develop, 4 GainMaps": (read_dng(shaded), DevelopSettings()),
            "develop, Orientation 6": (dataclasses.replace(base, orientation=6), DevelopSettings()),
            "develop, clip detection off": (base, DevelopSettings(detect_clipping=False)),
        }
        ops = prepare_raw_opcodes(
            decode_opcode_list(runs["develop, 4 GainMaps"][0].opcode_list_2), (height, width)
        )
        values = np.empty((height, width), np.float32)

        def opcodes_alone():
            np.multiply(base.mosaic, np.float32(1 / 4095), out=values)
            t0, c0 = time.perf_counter(), time.process_time()
            apply_raw_opcodes(values, ops)
            return time.perf_counter() - t0, time.process_time() - c0

        def clip_alone():
            t0, c0 = time.perf_counter(), time.process_time()
            channel_clip_levels(base.mosaic, base.black_level_dn, base.white_level_dn)
            return time.perf_counter() - t0, time.process_time() - c0

        for info, settings in runs.values():  # compile and warm
            develop(info, settings, output_dtype=np.uint8)
        opcodes_alone(), clip_alone()
        best = {}
        for _ in range(args.repeat):
            for name, (info, settings) in runs.items():
                t0, c0 = time.perf_counter(), time.process_time()
                develop(info, settings, output_dtype=np.uint8)
                took = (time.perf_counter() - t0, time.process_time() - c0)
                best[name] = min(best.get(name, took), took)
            for name, fn in (("apply_raw_opcodes alone", opcodes_alone),
                             ("channel_clip_levels alone", clip_alone)):  # fmt: skip
                took = fn()
                best[name] = min(best.get(name, took), took)
    wall0, cpu0 = best["develop, no opcodes"]
    print(f"{width}×{height}, best of {args.repeat}, warm process, load {os.getloadavg()[0]:.1f}")
    print()
    print("| what | wall s | / no opcodes | CPU s | / no opcodes |")
    print("|---|---:|---:|---:|---:|")
    for name, (wall, cpu) in best.items():
        print(f"| {name} | {wall:.3f} | {wall / wall0:.2f} | {cpu:.3f} | {cpu / cpu0:.2f} |")


if __name__ == "__main__":
    main()
