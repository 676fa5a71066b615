"""Demosaic accuracy (issue 5, acceptance 1): mountcam ``fast``/``high`` against LibRaw AHD/AAHD.

Two sets of CFA DNGs, each developed by every contender from the same file (the DNGs, the
contenders and the score are in :mod:`mountcam.lab.demosaic_accuracy`):

* **McMaster-18** (``../shared/data/mcmaster18``, 500×500 8-bit sRGB; L. Zhang, X. Wu, A. Buades,
  X. Li, "Color demosaicking by local directional interpolation and nonlocal adaptive
  thresholding", J. Electron. Imaging 20(2), 2011). The 8-bit image, decoded to linear light,
  is the truth; the DNG is an RGGB mosaic of it for an *identity camera* (camera RGB = linear
  sRGB), 16-bit, no noise (:func:`~mountcam.lab.demosaic_accuracy.write_cfa_dng`).
* **Twin captures**: ``mountcam shoot --scene SCENE --crop WxH --iso 100 --seed 1 --truth``
  (real colour matrix, real noise and optics), the truth being the noise-free optical image
  on the DefaultCrop grid.

Score (the issue's): CPSNR of the linear output against the truth after sRGB encoding,
10-pixel border excluded, exposure matched by one scalar. Tables: McMaster-18 and the twin
*as developed* (each contender's own colour pipeline, the issue's comparison), and the twin
with *the same colour* conversion for every contender and the pixels near clipped raw sites
left out (the demosaic alone); see the module for why both.

Run: ``.venv/bin/python bench/develop_accuracy.py [--mcmaster DIR] [--twin-size 768x512]
[--no-twin] [--no-mcmaster]``; the markdown tables are printed at the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mountcam.dng import read_dng
from mountcam.lab.demosaic_accuracy import (
    CONTENDERS,
    clipped_mask,
    score_dng,
    score_dng_same_colour,
    srgb8_to_linear,
    write_cfa_dng,
)

ROOT = Path(__file__).resolve().parents[1]
MCMASTER = ROOT.parent / "shared" / "data" / "mcmaster18"
TWIN_SCENES = (
    "sample:astronaut",
    "sample:coffee",
    "sample:chelsea",
    "sample:motorcycle",
    "sample:rocket",
    "chart:siemens-star",
    "chart:colorchecker",
)


def shoot_twin(scene: str, out_dir: Path, size: str) -> tuple[Path, np.ndarray]:
    """``mountcam shoot SCENE --truth`` at ISO 100; (DNG path, truth on the DefaultCrop)."""
    import tifffile

    exe = Path(sys.executable).with_name("mountcam")
    doc = json.loads(
        subprocess.run(
            [str(exe), "shoot", "--scene", scene, "--crop", size, "--iso", "100", "--seed", "1"]
            + ["--truth", "--json", "--out", str(out_dir)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    return Path(doc["files"][0]), tifffile.imread(doc["truth"]).astype(np.float64)


def table(
    title: str, rows: dict[str, dict[str, float]], extra: dict[str, str] | None = None
) -> str:
    """Markdown table of ``rows`` (image -> contender -> dB), means and the two margins."""
    extra_head = " clipped raw sites |" if extra else ""
    head = "| image | " + " | ".join(CONTENDERS) + " |" + extra_head
    cols = len(CONTENDERS) + 1 + (1 if extra else 0)
    lines = [f"**{title}** (CPSNR, dB)", "", head, "|---" * cols + "|"]
    for name, s in rows.items():
        tail = f" {extra[name]} |" if extra else ""
        lines.append(f"| {name} | " + " | ".join(f"{s[c]:.2f}" for c in CONTENDERS) + " |" + tail)
    mean = {c: float(np.mean([s[c] for s in rows.values()])) for c in CONTENDERS}
    tail = " |" if extra else ""
    lines.append(
        "| **mean** | " + " | ".join(f"**{mean[c]:.2f}**" for c in CONTENDERS) + " |" + tail
    )
    fast_margin = mean["mountcam fast"] - mean["LibRaw AHD"]
    high_margin = mean["mountcam high"] - mean["LibRaw AAHD"]
    lines += [
        "",
        f"fast − AHD = {fast_margin:+.2f} dB (needs ≥ 0): {'PASS' if fast_margin >= 0 else 'FAIL'}; "
        f"high − AAHD = {high_margin:+.2f} dB (needs ≥ +1): "
        f"{'PASS' if high_margin >= 1 else 'FAIL'}",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mcmaster", type=Path, default=MCMASTER)
    parser.add_argument("--twin-size", default="768x512", help="crop of each twin capture, WxH")
    parser.add_argument("--no-twin", action="store_true")
    parser.add_argument("--no-mcmaster", action="store_true")
    args = parser.parse_args()

    import tifffile

    t0 = time.perf_counter()
    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.no_mcmaster:
            files = sorted(args.mcmaster.glob("*.tif"), key=lambda p: int(p.stem))
            if not files:
                print(f"no McMaster images in {args.mcmaster}", file=sys.stderr)
                return 1
            rows = {}
            for f in files:
                dng = tmp / f"mcm{f.stem}.dng"
                truth = write_cfa_dng(
                    srgb8_to_linear(tifffile.imread(f)), dng, f"McMaster {f.stem}"
                )
                rows[f.stem] = score_dng(dng, truth)
                print(f.stem, {k: round(v, 2) for k, v in rows[f.stem].items()}, flush=True)
            reports.append(table("McMaster-18, as developed", rows))
        if not args.no_twin:
            rows, same, clipped = {}, {}, {}
            for scene in TWIN_SCENES:
                dng, truth = shoot_twin(scene, tmp / scene.replace(":", "_"), args.twin_size)
                mask = clipped_mask(dng)
                info = read_dng(dng)
                clipped[scene] = f"{100 * np.mean(info.mosaic >= info.white_level_dn):.2f} %"
                rows[scene] = score_dng(dng, truth)
                same[scene] = score_dng_same_colour(dng, truth, exclude=mask)
                print(scene, clipped[scene], flush=True)
                print("  as developed", {k: round(v, 2) for k, v in rows[scene].items()})
                print("  same colour ", {k: round(v, 2) for k, v in same[scene].items()})
            size = args.twin_size
            reports.append(table(f"Twin captures, ISO 100, {size}, as developed", rows, clipped))
            reports.append(
                table(
                    f"Twin captures, ISO 100, {size}, same colour, near-clipped pixels left out",
                    same,
                )
            )
    print()
    print(f"{time.perf_counter() - t0:.0f} s")
    print()
    print("\n\n".join(reports))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
