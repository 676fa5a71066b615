"""What OpcodeList2 GainMaps (lens shading, as phones store it) cost in a 50 MP develop.

    python bench/raw_opcodes_speed.py            # 8192×6144 12-bit, best of 3
    python bench/raw_opcodes_speed.py --quick    # 1024×768, a smoke run

**The files**: one 8192×6144 12-bit RGGB mosaic (a smooth ramp with 8 DN of noise), written
twice by ``tests/foreign_dngs.write_cfa_dng``: without opcodes, and with four GainMaps in
OpcodeList2 (one per CFA colour, RowPitch = ColPitch = 2, 17×13 points, gains 1..2 rising to
the corners: the layout phones write).

**What is timed**, best of ``--repeat`` rounds in which the two take turns, warm process
(kernels compiled, the file read once before): ``develop`` of each DNG to 8-bit sRGB (the JPEG
path, defaults), and ``apply_raw_opcodes`` alone on the whole mosaic as float32 in one call
(numba's threads), i.e. the work the strips share out. Prints a Markdown table and the load.
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

    from mountcam.develop import develop
    from mountcam.develop.raw_opcodes import apply_raw_opcodes, prepare_raw_opcodes
    from mountcam.dng.opcodes import decode_opcode_list
    from mountcam.dng.reader import read_dng

    with tempfile.TemporaryDirectory() as tmp:
        plain, shaded = _files(Path(tmp), height, width)
        infos = {"no opcodes": read_dng(plain), "4 GainMaps": read_dng(shaded)}
        ops = prepare_raw_opcodes(
            decode_opcode_list(infos["4 GainMaps"].opcode_list_2), (height, width)
        )
        for info in infos.values():  # compile and warm
            develop(info, output_dtype=np.uint8)
        best = dict.fromkeys([*infos, "apply_raw_opcodes alone"], float("inf"))
        values = np.empty((height, width), np.float32)
        for _ in range(args.repeat):
            for name, info in infos.items():
                t0 = time.perf_counter()
                develop(info, output_dtype=np.uint8)
                best[name] = min(best[name], time.perf_counter() - t0)
            values[:] = infos["no opcodes"].mosaic
            values *= np.float32(1 / 4095)
            t0 = time.perf_counter()
            apply_raw_opcodes(values, ops)
            best["apply_raw_opcodes alone"] = min(
                best["apply_raw_opcodes alone"], time.perf_counter() - t0
            )
    base = best["no opcodes"]
    print(f"{width}×{height}, best of {args.repeat}, warm process, load {os.getloadavg()[0]:.1f}")
    print()
    print("| what | seconds | / develop without opcodes |")
    print("|---|---:|---:|")
    for name, seconds in best.items():
        label = name if name.startswith("apply") else f"develop to 8-bit sRGB, {name}"
        print(f"| {label} | {seconds:.3f} | {seconds / base:.2f} |")


if __name__ == "__main__":
    main()
