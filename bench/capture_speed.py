"""Capture time and peak memory of ``mountcam shoot``, this tree against a baseline commit.

Issue 10 §3: ``mountcam shoot --scene chart:colorchecker`` (metered, main lens with its
diffraction, DNG written), binned and full, "beyond the command's own start-up"; and the peak
memory of a full capture through an M lens with a depth map. The machine is shared, so the
baseline is timed in the same run, interleaved with this tree: the baseline commit is checked
out into a worktree under /tmp (kept, so its numba cache survives between runs) and run with
the same interpreter, its ``src`` first on ``PYTHONPATH``.

Every figure is a whole command in a fresh process (``python -m mountcam shoot ...``): wall
time, CPU time (user + system, all threads) and peak resident memory (``ru_maxrss``), from
``wait4``. "Start-up" is the same command
with ``--crop 32x32``: imports, numba's cache, the colour calibration, metering and a tiny
DNG; "beyond start-up" is the median whole command minus the median start-up.

    python bench/capture_speed.py                 # baseline 0b2b385 (before issue 10 §3)
    python bench/capture_speed.py --baseline HEAD~3 --repeat 5 --no-depth

Prints a Markdown table with the command line and ``uptime`` before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: main before issue 10 §3's capture work.
DEFAULT_BASELINE = "0b2b385"

COLORCHECKER = ["--scene", "chart:colorchecker", "--seed", "1"]
#: Through the Noctilux 50 f/1.2 wide open onto a scene with a depth map (defocus,
#: diffraction, vignetting; the f/0.95 crashed the DNG writer before b488b3f, so the baseline
#: could not write it).
DEPTH = [
    "--scene",
    "sample:motorcycle",
    "--module",
    "m",
    "--lens",
    "noctilux-m-50-f1.2",
    "--manual-lens",  # uncoded: chosen in the body's lens menu
    "noctilux-m-50-f1.2",
    "--aperture",
    "1.2",
    "--focus",
    "2",
    "--iso",
    "400",
    "--shutter",
    "1/1000",
    "--seed",
    "1",
]


def baseline_tree(ref: str) -> Path:
    """A worktree of commit ``ref`` under /tmp, made once and reused (its numba cache with
    it)."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short=12", ref],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    tree = Path(tempfile.gettempdir()) / f"mountcam-bench-{sha}"
    if not (tree / "src" / "mountcam").is_dir():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), sha],
            check=True,
            capture_output=True,
        )
    return tree


def run(src: Path, args: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS in GB, CPU seconds) of ``python -m mountcam shoot ARGS`` with
    ``src`` first on the path; a failure stops the bench with the command's stderr."""
    out = Path(tempfile.mkdtemp(prefix="mountcam-bench-out-"))
    env = dict(os.environ, PYTHONPATH=str(src))
    cmd = [sys.executable, "-m", "mountcam", "shoot", *args, "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({src}):\n{stderr}")
    return wall, usage.ru_maxrss / 1024**2, usage.ru_utime + usage.ru_stime


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git ref to compare with")
    parser.add_argument(
        "--tree",
        default=None,
        help="git ref to time instead of this working tree (checked out like the baseline, so "
        "the tree can change while the bench runs)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command and tree")
    parser.add_argument("--no-depth", action="store_true", help="skip the M-lens depth capture")
    parser.add_argument("--no-full", action="store_true", help="skip the full-mode captures")
    parser.add_argument(
        "--depth-binned-only", action="store_true", help="skip the full-mode depth capture"
    )
    args = parser.parse_args()

    mine = ROOT / "src" if args.tree is None else baseline_tree(args.tree) / "src"
    trees = {"baseline": baseline_tree(args.baseline) / "src", "this tree": mine}
    head = subprocess.run(
        ["git", "-C", str(mine), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    configs = [
        ("colorchecker, binned, start-up (--crop 32x32)", [*COLORCHECKER, "--crop", "32x32"]),
        ("colorchecker, binned 4096×3072", COLORCHECKER),
    ]
    if not args.no_full:
        configs += [
            (
                "colorchecker, full, start-up (--crop 32x32)",
                [*COLORCHECKER, "--mode", "full", "--crop", "32x32"],
            ),
            ("colorchecker, full 8192×6144", [*COLORCHECKER, "--mode", "full"]),
        ]
    depth = []
    if not args.no_depth:
        depth = [
            ("Noctilux 50 f/1.2, motorcycle + depth, binned", DEPTH),
            ("Noctilux 50 f/1.2, motorcycle + depth, full", [*DEPTH, "--mode", "full"]),
        ]
        if args.depth_binned_only:
            depth = depth[:1]
    print(f"`python bench/capture_speed.py {' '.join(sys.argv[1:])}`".replace(" `", "`"))
    print(
        f"\nthis tree {head} against baseline {args.baseline}; {platform.machine()}, "
        f"{os.cpu_count()} cores; whole commands, fresh processes, interleaved"
    )
    print(f"\nbefore: `{uptime()}`")
    for src in trees.values():  # numba caches and page cache warm, not timed
        run(src, [*COLORCHECKER, "--crop", "64x64"])
        run(src, [*COLORCHECKER, "--crop", "64x64", "--mode", "full"])
        if depth:
            run(src, [*DEPTH, "--crop", "64x64"])
    results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for i in range(args.repeat):
        for name, cmd in configs:
            order = list(trees.items()) if i % 2 == 0 else list(trees.items())[::-1]
            for side, src in order:
                results.setdefault((name, side), []).append(run(src, cmd))
    for name, cmd in depth:  # slow: once each
        for side, src in trees.items():
            results.setdefault((name, side), []).append(run(src, cmd))
    print(f"after: `{uptime()}`\n")

    def med(name: str, side: str, k: int) -> float:
        return statistics.median(r[k] for r in results[(name, side)])

    print(
        "| command | wall, baseline (s) | wall, this tree (s) | ratio "
        "| CPU, baseline (s) | CPU, this tree (s) | ratio "
        "| peak, baseline (GB) | peak, this tree (GB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, _ in configs + depth:
        b, n = med(name, "baseline", 0), med(name, "this tree", 0)
        cb, cn = med(name, "baseline", 2), med(name, "this tree", 2)
        mb, mn = med(name, "baseline", 1), med(name, "this tree", 1)
        print(
            f"| {name} | {b:.2f} | {n:.2f} | {n / b:.2f} | {cb:.2f} | {cn:.2f} | {cn / cb:.2f} "
            f"| {mb:.2f} | {mn:.2f} |"
        )
    for mode in ("binned", "full"):
        start = f"colorchecker, {mode}, start-up (--crop 32x32)"
        whole = next((n for n, _ in configs if n.startswith(f"colorchecker, {mode} ")), None)
        if whole is None or (start, "baseline") not in results:
            continue
        b = med(whole, "baseline", 0) - med(start, "baseline", 0)
        n = med(whole, "this tree", 0) - med(start, "this tree", 0)
        cb = med(whole, "baseline", 2) - med(start, "baseline", 2)
        cn = med(whole, "this tree", 2) - med(start, "this tree", 2)
        print(
            f"| **colorchecker, {mode}, beyond start-up** | **{b:.2f}** | **{n:.2f}** "
            f"| {n / b:.2f} | {cb:.2f} | {cn:.2f} | {cn / cb:.2f} | | |"
        )
    print(
        f"\nmedian of {args.repeat} (depth captures: 1); CPU = user + system time of the "
        "process, all its threads (less sensitive to other jobs than wall time); peak = max "
        "resident set size"
    )


if __name__ == "__main__":
    main()
