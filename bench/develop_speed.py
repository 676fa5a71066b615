"""Develop speed against the peers, like for like (issue 10 §2; issue 5, acceptance 3).

    .venv/bin/python bench/develop_speed.py [--dng FILE] [--repeat N] [--batch N]
        [--batch-repeat N] [--only single,batch,warm,startup] [--quick] [--json OUT]

One 8192×6144 12-bit DNG of the twin (``mountcam shoot --scene sample:motorcycle --mode full
--bits 12 --seed 1 --iso 100``: base ISO, where mountcam does not denoise, as the peers don't), written once and cached under ``$TMPDIR/mountcam-bench/`` (``--dng``
takes any other file), developed to JPEG q90 by every contender, in four tables:

1. **One file, whole command** (``single``): each contender as a user runs it on one file,
   wall time from launch to exit (interpreter or program start-up, imports, loading compiled
   code, reading, developing, encoding, writing):
   ``mountcam develop --quality fast|high --no-lens-correction FILE`` (the peers' default
   processing corrects no distortion; one more row, ``fast`` with the DNG's lens corrections
   as ``mountcam develop`` applies them by default, shows what they cost); a Python script that reads the
   file with rawpy (LibRaw AHD, camera white balance, sRGB, 8 bits), encodes it with
   libjpeg-turbo through OpenCV (q90, 4:2:0) and writes it (:data:`RAWPY_SCRIPT`);
   ``darktable-cli FILE OUT --core --configdir DIR --library :memory: --conf
   plugins/imageio/format/jpeg/quality=90`` (darktable's default processing: scene-referred
   filmic, RCD in 4.2); ``rawtherapee-cli -o OUT -d -j90 -js1 -Y -c FILE`` (the installed
   default profile, AMaZE in 5.9). Ratios against the rawpy script.
2. **Batch, per file** (``batch``): ``--batch`` files (default 20; hard links to the one DNG,
   so every tool reads the same bytes from the page cache), each tool in its batch mode, wall
   time of the whole batch ÷ files: ``mountcam develop --quality Q --out-dir D *.dng`` (its
   default ``--jobs``), the rawpy script over all files in one process,
   ``darktable-cli FOLDER D/$(FILE_NAME).jpg`` (one process for the folder) and
   ``rawtherapee-cli -o D -d -j90 -js1 -Y -c FILES…``.
3. **Warm process** (``warm``): ``develop()`` + ``save_image`` inside a process that has
   developed the picture once already, against rawpy + JPEG likewise (the issue-5 figures).
4. **Start-up** (``startup``): the fixed cost of a command: ``python -c pass``, the
   imports of each Python contender, and ``mountcam develop`` on a 512×384 crop.
5. **Lens correction** (``lens``): a 50 MP M-module DNG whose OpcodeList3 holds a
   FixVignetteRadial and a WarpRectilinear with lateral colour (``mountcam shoot --scene
   sample:motorcycle --module m --lens super-elmar-m-18 --mode full --bits 12 --seed 1``;
   ``--m-dng`` takes another), developed in a warm process with and without
   ``lens_correction``: the difference is what the warp costs; peak RSS per child.

Every contender runs in its own child process, round-robin (round k runs every contender
once, so a burst of load from other processes falls on all of them alike); the best of
``--repeat`` rounds is kept (``--batch-repeat`` for the batch, default 1), after one untimed
warm-up run of each command (file cache, numba's compiled kernels, darktable's configuration
directory). Peak memory is each child's own peak resident set (``ru_maxrss`` from
``os.wait4``). The machine's load average (``uptime``) before and after is printed under the
tables: on a shared machine compare ratios, not seconds.

``--quick`` is a smoke run: a binned 4096×3072 DNG, a batch of 3, one round, no warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: Aims of issue 10 §2, as fractions of the rawpy script's time (whole command, batch per file).
AIMS = {
    ("single", "mountcam develop --quality fast"): 0.4,
    ("single", "mountcam develop --quality high"): 0.8,
    ("batch", "mountcam develop --quality fast"): 0.2,
    ("batch", "mountcam develop --quality high"): 0.5,
}
#: Targets of issue 5, acceptance 3 (warm process against the fastest peer; peak memory).
WARM_FAST_RATIO_MAX = 0.25
WARM_HIGH_RATIO_MAX = 1.0
PEAK_RSS_MAX_MB = 2048.0
SEED = 1
#: ISO of the bench's DNGs (see :func:`make_dng`).
ISO = 100
RAWPY = "rawpy AHD + JPEG script"

#: The rawpy contender as a user would write it: every file named on the command line into
#: OUT_DIR, one process. With ``--warm N`` (the warm-process table) it develops the first file
#: N + 1 times and prints the best of the last N as ``RESULT total develop encode``.
RAWPY_SCRIPT = r"""
import os, sys, time
import cv2, rawpy
out_dir, files = sys.argv[1], sys.argv[2:]
warm = 0
if files[0] == "--warm":
    warm, files = int(files[1]), files[2:] * (int(files[1]) + 1)
best = None
for i, src in enumerate(files):
    t0 = time.perf_counter()
    with rawpy.imread(src) as raw:
        rgb = raw.postprocess(
            demosaic_algorithm=rawpy.DemosaicAlgorithm.AHD, use_camera_wb=True, output_bps=8
        )
    t1 = time.perf_counter()
    ok, enc = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 90])
    name = os.path.splitext(os.path.basename(src))[0] + (f"_{i}" if warm else "") + ".jpg"
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(enc.tobytes())
    t2 = time.perf_counter()
    del rgb, enc  # one picture in memory at a time
    if warm and i > 0 and (best is None or t2 - t0 < best[0]):
        best = (t2 - t0, t1 - t0, t2 - t1)
if warm:
    print("RESULT", *best)
"""

#: mountcam in a warm process: the first development loads the compiled kernels and faults in
#: the buffers; the best of the next N is printed. As the mountcam command does, the process
#: first opts in to the allocator tuning (mountcam.allocator).
MOUNTCAM_WARM = r"""
import sys, time
import numpy as np
from mountcam.allocator import tune_malloc_for_large_arrays
from mountcam.develop import DevelopSettings, develop, save_image
tune_malloc_for_large_arrays()
src, dst, quality, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lens = len(sys.argv) < 6 or sys.argv[5] != "no-lens"
settings = DevelopSettings(quality=quality, lens_correction=lens)
best = None
for i in range(repeat + 1):
    t0 = time.perf_counter()
    image = develop(src, settings, output_dtype=np.uint8)
    t1 = time.perf_counter()
    save_image(image, dst, fmt="jpeg", quality=90, overwrite=True)
    t2 = time.perf_counter()
    del image  # the next run's peak memory must not include this picture
    if i > 0 and (best is None or t2 - t0 < best[0]):
        best = (t2 - t0, t1 - t0, t2 - t1)
print("RESULT", *best)
"""


@dataclass
class Result:
    """One contender in one table: best time of the timed runs (seconds; per file for the
    batch), every run's time, the largest peak RSS (MB)."""

    table: str
    name: str
    best_s: float = float("inf")
    times_s: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    detail: str = ""
    error: str = ""


@dataclass
class Entry:
    """A contender's run: ``once(round) -> (seconds, peak RSS MB, detail)``; ``warmup``: run
    once untimed before the rounds."""

    result: Result
    once: Callable[[int], tuple[float, float, str]]
    warmup: bool = True


def run_measured(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, str]:
    """Run ``cmd``; (wall seconds, the child's peak RSS in MB, its stdout). Raises on failure."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    # communicate() reaps the child itself; read the pipes in threads and reap with wait4 so
    # that the child's own rusage (ru_maxrss) comes back.
    chunks: dict[str, str] = {}

    def drain(name, stream):
        chunks[name] = stream.read()

    threads = [
        threading.Thread(target=drain, args=("out", proc.stdout)),
        threading.Thread(target=drain, args=("err", proc.stderr)),
    ]
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    for t in threads:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = (chunks.get("err", "") or chunks.get("out", ""))[-800:]
        raise RuntimeError(f"{Path(cmd[0]).name} exited with {proc.returncode}: {tail}")
    return wall, usage.ru_maxrss / 1024.0, chunks.get("out", "")


def make_dng(folder: Path, mode: str, crop: str | None = None, module_m: bool = False) -> Path:
    """The bench's DNG of the twin, written once and reused.

    Shot at base ISO (the shutter metered): the peers do no noise reduction by default and
    mountcam's develop denoises from ISO ~120 on, so a metered shot of the dim motorcycle scene
    (ISO ~4000) would time a different job for mountcam than for the others."""
    suffix = (f"_{crop}" if crop else "") + ("_m_super-elmar-m-18" if module_m else "")
    target = folder / f"motorcycle_{mode}_12bit_iso{ISO}_seed{SEED}{suffix}.dng"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        cmd = [
            mountcam_command(), "shoot", "--scene", "sample:motorcycle", "--mode", mode,
            "--bits", "12", "--seed", str(SEED), "--iso", str(ISO), "--out", tmp,
        ]  # fmt: skip
        if crop:
            cmd += ["--crop", crop]
        if module_m:
            cmd += ["--module", "m", "--lens", "super-elmar-m-18"]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        made = sorted(Path(tmp).glob("*.dng"))
        if not made:
            raise RuntimeError("mountcam shoot wrote no DNG")
        os.replace(made[0], target)
    return target


def mountcam_command() -> str:
    """The ``mountcam`` entry point of this interpreter's environment."""
    beside = Path(sys.executable).parent / "mountcam"
    return str(beside) if beside.exists() else (shutil.which("mountcam") or "mountcam")


def fresh_dir(root: Path, name: str) -> Path:
    """An empty folder ``root/name`` (emptied if it exists): no tool may find its output."""
    folder = root / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def wall(cmd_for: Callable[[int], list[str]], files: int = 1) -> Callable:
    """A command's wall time (÷ ``files``) and peak RSS."""

    def once(i: int) -> tuple[float, float, str]:
        seconds, rss, _ = run_measured(cmd_for(i))
        return seconds / files, rss, ""

    return once


def warm_child(cmd: list[str]) -> Callable:
    """A child that warms up, then prints ``RESULT total develop encode`` of its best run."""

    def once(i: int) -> tuple[float, float, str]:
        _, rss, out = run_measured(cmd)
        line = [s for s in out.splitlines() if s.startswith("RESULT")][-1].split()
        total, a, b = (float(v) for v in line[1:4])
        return total, rss, f"{a:.2f} s develop + {b:.2f} s JPEG"

    return once


def darktable_cmd(src: Path, target: str, conf: Path) -> list[str]:
    return [
        shutil.which("darktable-cli") or "darktable-cli", str(src), target, "--core",
        "--configdir", str(conf), "--library", ":memory:",
        "--conf", "plugins/imageio/format/jpeg/quality=90",
    ]  # fmt: skip


def rawtherapee_cmd(out: Path, files: list[Path]) -> list[str]:
    rt = shutil.which("rawtherapee-cli") or "rawtherapee-cli"
    return [rt, "-o", str(out), "-d", "-j90", "-js1", "-Y", "-c", *map(str, files)]


def mountcam_cmd(quality: str, files: list[Path], out: Path, lens: bool = False) -> list[str]:
    """``mountcam develop``; without the DNG's lens corrections unless ``lens`` (the peers'
    default processing corrects no distortion, so like for like leaves it out)."""
    return [
        mountcam_command(), "develop", *map(str, files), "--out-dir", str(out),
        "--quality", quality, "--jpeg-quality", "90",
    ] + ([] if lens else ["--no-lens-correction"])  # fmt: skip


#: The row of the mountcam command as a photographer runs it by default: the DNG's OpcodeList3
#: applied (the twin's main lens has distortion and lateral colour since issue 11 §5).
LENS_ROW = "mountcam develop --quality fast, lens corrected"
LIKE = "--no-lens-correction (like the peers)"
LENS_DETAIL = "default: WarpRectilinear + vignette of OpcodeList3"


def single_entries(dng: Path, work: Path) -> list[Entry]:
    """Table 1: one file, whole command."""
    py = sys.executable
    conf = work / "darktable-config"
    entries = [
        Entry(
            Result("single", RAWPY, detail="python script: rawpy.imread + postprocess + cv2"),
            wall(lambda i: [py, "-c", RAWPY_SCRIPT, str(fresh_dir(work, "raw1")), str(dng)]),
        )
    ]
    for q in ("fast", "high"):
        entries.append(
            Entry(
                Result("single", f"mountcam develop --quality {q}", detail=LIKE),
                wall(lambda i, q=q: mountcam_cmd(q, [dng], fresh_dir(work, f"mc1{q}"))),
            )
        )
    entries.append(
        Entry(
            Result("single", LENS_ROW, detail=LENS_DETAIL),
            wall(lambda i: mountcam_cmd("fast", [dng], fresh_dir(work, "mc1lens"), lens=True)),
        )
    )
    entries.append(
        Entry(
            Result("single", "darktable-cli", detail="--core --library :memory:"),
            wall(lambda i: darktable_cmd(dng, str(fresh_dir(work, "dt1") / "out.jpg"), conf)),
        )
    )
    entries.append(
        Entry(
            Result("single", "rawtherapee-cli -c", detail="-d -j90 -js1"),
            wall(lambda i: rawtherapee_cmd(fresh_dir(work, "rt1"), [dng])),
        )
    )
    return entries


def batch_entries(dng: Path, work: Path, n: int) -> list[Entry]:
    """Table 2: ``n`` files, each tool in its batch mode, seconds per file."""
    folder = work / "batch-in"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    files = []
    for k in range(n):
        link = folder / f"IMG_{k:04d}.dng"
        try:
            os.link(dng, link)
        except OSError:  # another file system: a copy reads the same bytes
            shutil.copyfile(dng, link)
        files.append(link)
    py = sys.executable
    conf = work / "darktable-config"
    entries = [
        Entry(
            Result("batch", RAWPY, detail="one process, files in turn"),
            wall(
                lambda i: [py, "-c", RAWPY_SCRIPT, str(fresh_dir(work, "rawN")), *map(str, files)],
                n,
            ),
            warmup=False,
        )
    ]
    for q in ("fast", "high"):
        entries.append(
            Entry(
                Result("batch", f"mountcam develop --quality {q}", detail=f"*.dng, {LIKE}"),
                wall(lambda i, q=q: mountcam_cmd(q, files, fresh_dir(work, f"mcN{q}")), n),
                warmup=False,
            )
        )
    entries.append(
        Entry(
            Result("batch", LENS_ROW, detail=f"*.dng, {LENS_DETAIL}"),
            wall(lambda i: mountcam_cmd("fast", files, fresh_dir(work, "mcNlens"), lens=True), n),
            warmup=False,
        )
    )
    entries.append(
        Entry(
            Result("batch", "darktable-cli", detail="on the folder"),
            wall(
                lambda i: darktable_cmd(
                    folder, str(fresh_dir(work, "dtN")) + "/$(FILE_NAME).jpg", conf
                ),
                n,
            ),
            warmup=False,
        )
    )
    entries.append(
        Entry(
            Result("batch", "rawtherapee-cli -c", detail="-c with every file"),
            wall(lambda i: rawtherapee_cmd(fresh_dir(work, "rtN"), files), n),
            warmup=False,
        )
    )
    return entries


def warm_entries(dng: Path, work: Path, repeat: int) -> list[Entry]:
    """Table 3: warm process against warm process."""
    py = sys.executable
    out = fresh_dir(work, "warm")
    runs = str(max(1, repeat))
    entries = [
        Entry(
            Result("warm", "rawpy AHD + JPEG (OpenCV)"),
            warm_child([py, "-c", RAWPY_SCRIPT, str(out), "--warm", runs, str(dng)]),
            warmup=False,
        )
    ]
    for q in ("fast", "high"):
        cmd = [py, "-c", MOUNTCAM_WARM, str(dng), str(out / f"mc_{q}.jpg"), q, runs, "no-lens"]
        result = Result("warm", f"mountcam {q}: develop()+save", detail="no lens correction")
        entries.append(Entry(result, warm_child(cmd), warmup=False))
    return entries


def lens_entries(m_dng: Path, work: Path, repeat: int) -> list[Entry]:
    """Table 5: the warm develop of an M-module DNG with and without its lens correction."""
    py = sys.executable
    out = fresh_dir(work, "lens")
    runs = str(max(1, repeat))
    entries = []
    for q in ("fast", "high"):
        for lens in ("lens", "no-lens"):
            cmd = [
                py,
                "-c",
                MOUNTCAM_WARM,
                str(m_dng),
                str(out / f"m_{q}_{lens}.jpg"),
                q,
                runs,
                lens,
            ]
            name = f"mountcam {q}: develop()+save, {'with' if lens == 'lens' else 'without'} lens correction"  # fmt: skip
            entries.append(Entry(Result("lens", name), warm_child(cmd), warmup=False))
    return entries


def startup_entries(small: Path, work: Path) -> list[Entry]:
    """Table 4: what a command costs before and around its work."""
    py = sys.executable
    imports = {
        "python -c pass": "pass",
        "python: import rawpy, cv2": "import rawpy, cv2",
        "python: import mountcam.develop (+ output)": (
            "import mountcam.develop, mountcam.develop.output"
        ),
    }
    entries = [
        Entry(Result("startup", name), wall(lambda i, c=code: [py, "-c", c]))
        for name, code in imports.items()
    ]
    entries.append(
        Entry(
            Result("startup", "python rawpy script, 512×384 DNG"),
            wall(lambda i: [py, "-c", RAWPY_SCRIPT, str(fresh_dir(work, "s-raw")), str(small)]),
        )
    )
    for q in ("fast", "high"):
        entries.append(
            Entry(
                Result("startup", f"mountcam develop --quality {q}, 512×384 DNG"),
                wall(lambda i, q=q: mountcam_cmd(q, [small], fresh_dir(work, f"s-{q}"))),
            )
        )
    return entries


def run_round_robin(entries: list[Entry], repeat: int, warmup: bool) -> None:
    """Time every entry ``repeat`` times, round k running each entry once."""
    first = -1 if warmup else 0  # round −1: the untimed warm-up
    for round_index in range(first, max(repeat, 1)):
        for e in entries:
            r = e.result
            if r.error or (round_index < 0 and not e.warmup):
                continue
            try:
                seconds, rss, split = e.once(round_index)
            except (RuntimeError, OSError) as exc:
                r.error = str(exc).strip().splitlines()[0][:200] if str(exc) else repr(exc)
                print(f"  {r.table}: {r.name} failed: {exc}", file=sys.stderr, flush=True)
                continue
            r.peak_rss_mb = max(r.peak_rss_mb, rss)
            if round_index < 0:
                continue
            r.times_s.append(seconds)
            if seconds <= r.best_s:
                r.best_s = seconds
                if split:
                    r.detail = split
            print(f"  {r.table} round {round_index + 1}: {r.name} {seconds:.2f} s",
                  file=sys.stderr, flush=True)  # fmt: skip


def print_table(title: str, results: list[Result], reference: str, per: str) -> dict:
    """A Markdown table of ``results`` with ratios against the result named ``reference``."""
    ref = next((r for r in results if r.name == reference and not r.error), None)
    print(f"\n{title}\n")
    print(f"| contender | best s{per} | runs | peak RSS MB | ÷ {reference} | aim | |")
    print("|---|---:|---:|---:|---:|---:|---|")
    verdicts = {}
    for r in results:
        if r.error:
            print(f"| {r.name} | – | – | – | – | | {r.error} |")
            continue
        ratio = r.best_s / ref.best_s if ref else float("nan")
        aim = AIMS.get((r.table, r.name))
        mark = ""
        if aim is not None and ref:
            ok = ratio <= aim
            mark = f"≤ {aim:g}: {'holds' if ok else 'MISSED'}"
            verdicts[f"{r.table}: {r.name}"] = {"ratio": ratio, "aim": aim, "holds": ok}
        name = f"**{r.name}**" if r.name.startswith("mountcam") else r.name
        print(
            f"| {name} | {r.best_s:.2f} | {len(r.times_s)} | {r.peak_rss_mb:.0f} | "
            f"{ratio:.3f} | {mark} | {r.detail} |"
        )
    return verdicts


def warm_verdicts(results: list[Result]) -> dict:
    """Issue 5's targets on the warm-process table."""
    by = {r.name: r for r in results if not r.error}
    ref = by.get("rawpy AHD + JPEG (OpenCV)")
    out = {}
    if ref is None:
        return out
    for name, limit in (
        ("mountcam fast: develop()+save", WARM_FAST_RATIO_MAX),
        ("mountcam high: develop()+save", WARM_HIGH_RATIO_MAX),
    ):
        if name in by:
            ratio = by[name].best_s / ref.best_s
            out[name] = {"ratio": ratio, "limit": limit, "holds": ratio <= limit}
            print(f"{name}: {ratio:.3f} of rawpy (issue 5 limit {limit:g}): "
                  f"{'holds' if ratio <= limit else 'MISSED'}")  # fmt: skip
    peak = max((r.peak_rss_mb for n, r in by.items() if n.startswith("mountcam")), default=0)
    out["peak RSS ≤ 2 GB"] = {"peak_mb": peak, "holds": peak <= PEAK_RSS_MAX_MB}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dng", type=Path, default=None, help="DNG to develop (default: the twin's)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of tables 1, 3, 4 (best kept)")
    ap.add_argument("--batch", type=int, default=20, help="files in the batch table")
    ap.add_argument("--batch-repeat", type=int, default=1, help="rounds of the batch table")
    ap.add_argument("--only", default="single,batch,warm,startup,lens", help="tables to run")
    ap.add_argument("--m-dng", type=Path, default=None, help="M-module DNG for the lens table")
    ap.add_argument("--no-warmup", action="store_true", help="no untimed warm-up round")
    ap.add_argument(
        "--no-gui-peers", action="store_true", help="leave darktable-cli and rawtherapee-cli out"
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: 12 MP, batch of 3, 1 round")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    args = ap.parse_args()
    tables = set(args.only.split(","))
    repeat = 1 if args.quick else args.repeat
    warmup = not (args.quick or args.no_warmup)
    batch = 3 if args.quick else args.batch
    cache = Path(os.environ.get("TMPDIR", tempfile.gettempdir())) / "mountcam-bench"
    dng = args.dng or make_dng(cache, "binned" if args.quick else "full")
    small = make_dng(cache, "binned", crop="512x384") if "startup" in tables else None
    m_dng = args.m_dng
    if m_dng is None and "lens" in tables:
        m_dng = make_dng(cache, "binned" if args.quick else "full", module_m=True)
    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"input {dng}; cores {os.cpu_count()}; {uptime_before}", file=sys.stderr)
    summary: dict = {"dng": str(dng), "command": " ".join(sys.argv), "tables": {}}
    mb = dng.stat().st_size / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plan = [
            ("single", lambda: single_entries(dng, work), repeat, warmup),
            ("batch", lambda: batch_entries(dng, work, batch), args.batch_repeat, False),
            ("warm", lambda: warm_entries(dng, work, repeat), 1, False),
            ("startup", lambda: startup_entries(small, work), repeat, warmup),
            ("lens", lambda: lens_entries(m_dng, work, repeat), 1, False),
        ]
        results: dict[str, list[Result]] = {}
        for name, make, rounds, warm in plan:
            if name in tables:
                entries = make()
                if args.no_gui_peers:
                    entries = [e for e in entries if "-cli" not in e.result.name]
                run_round_robin(entries, rounds, warm)
                results[name] = [e.result for e in entries]
    print(f"\n`{' '.join(['python', *sys.argv])}` — {dng.name} ({mb:.0f} MB), JPEG q90")
    titles = {
        "single": ("One file, whole command (wall, start-up included)", RAWPY, ""),
        "batch": (f"Batch of {batch} files, each tool in its batch mode", RAWPY, " per file"),
        "warm": (
            "Warm process (develop + JPEG inside a process that has run once)",
            "rawpy AHD + JPEG (OpenCV)",
            "",
        ),  # fmt: skip
        "startup": ("Start-up: fixed cost of a command", "python -c pass", ""),
        "lens": (
            "M-module DNG with WarpRectilinear + FixVignetteRadial, warm process",
            "mountcam fast: develop()+save, without lens correction",
            "",
        ),  # fmt: skip
    }
    for name, rs in results.items():
        title, ref, per = titles[name]
        verdicts = print_table(title, rs, ref, per)
        if name == "warm":
            verdicts.update(warm_verdicts(rs))
        summary["tables"][name] = {
            "results": [asdict(r) for r in rs],
            "verdicts": verdicts,
        }
    uptime_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\nload: before `{uptime_before}`; after `{uptime_after}`")
    summary["uptime"] = [uptime_before, uptime_after]
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
