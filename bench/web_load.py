"""The camera app under load (issue 14, acceptance 2): four browser clients watch the live view
for a minute while the shutter is pressed over HTTP, one press after another.

``mountcam serve`` runs as its own process (defaults: simulated camera, 1024×768 live view at
up to 20 frames/s, whole-sensor binned captures); four pages of Debian's chromium (headless,
driven by Playwright, each in its own browser context) show its page with the histogram on.
Measured: the frames each page showed per second, the server's resident memory every second
(steady = within ±10 % of its median after a warm-up), errors (page errors, console errors,
failed presses), and every acknowledged capture read back from disk by rawpy (LibRaw).

    python bench/web_load.py [--seconds 60] [--clients 4] [--warmup 15]

Prints a Markdown table and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import rawpy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds before memory counts")
    parser.add_argument(
        "--press-every",
        type=float,
        default=3.0,
        help="seconds from one press to the next (0: back to back; a press pauses the stream)",
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is missing: run tools/install-system-deps.sh bench")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        captures = Path(tmp) / "captures"
        server = subprocess.Popen(
            [sys.executable, "-m", "mountcam", "serve", "--port", str(port),
             "--captures", str(captures)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(600):
                try:
                    httpx.get(url + "/api/status", timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            errors: list[str] = []
            acknowledged: list[str] = []
            press_s: list[float] = []
            memory: list[tuple[float, float]] = []
            last = [0.0]
            stop = threading.Event()

            def press_loop() -> None:
                with httpx.Client(base_url=url, timeout=600) as c:
                    while not stop.is_set():
                        if (
                            press_s or errors
                        ):  # the next press, press_every after the last one began
                            stop.wait(max(0.0, args.press_every - last[0]))
                            if stop.is_set():
                                return
                        t0 = time.perf_counter()
                        r = c.post("/api/capture")
                        if r.status_code != 200:
                            errors.append(f"capture: {r.status_code} {r.text[:200]}")
                            continue
                        press_s.append(time.perf_counter() - t0)
                        last[0] = press_s[-1]
                        acknowledged.extend(r.json()["files"])

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium)
                pages = []
                for k in range(args.clients):
                    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                    page.on("pageerror", lambda e, k=k: errors.append(f"page {k}: {e}"))
                    page.on(
                        "console",
                        lambda m, k=k: errors.append(f"page {k}: {m.text}") if m.type == "error" else None,
                    )  # fmt: skip
                    page.goto(url + "/")
                    page.wait_for_selector("body[data-ready=true]")
                    pages.append(page)

                def frames() -> list[int]:
                    return [
                        int(pg.get_attribute("#viewfinder-wrap", "data-frames") or 0)
                        for pg in pages
                    ]

                t_start = time.monotonic()
                presser = threading.Thread(target=press_loop, daemon=True)
                presser.start()
                start_frames = frames()
                while (elapsed := time.monotonic() - t_start) < args.seconds:
                    memory.append((elapsed, rss_mib(server.pid)))
                    # Let the pages run (Playwright delivers their events while it waits).
                    pages[0].wait_for_timeout(1000)
                duration = time.monotonic() - t_start
                end_frames = frames()
                stop.set()
                presser.join(timeout=600)
                browser.close()
            fps = [(b - a) / duration for a, b in zip(start_frames, end_frames, strict=True)]
            unreadable = []
            for name in acknowledged:
                path = captures / name
                try:
                    with rawpy.imread(str(path)) as raw:
                        raw.raw_image_visible.shape  # noqa: B018 - reads the mosaic
                except Exception as e:  # noqa: BLE001 - every failure is reported
                    unreadable.append(f"{name}: {e}")
        finally:
            server.terminate()
            server.wait(timeout=30)
    steady = [m for t, m in memory if t >= args.warmup]
    med = statistics.median(steady)
    spread = max(abs(m / med - 1) for m in steady)
    load = os.getloadavg()[0]
    pace = f"every {args.press_every:g} s" if args.press_every > 0 else "back to back"
    print(
        f"load average {load:.1f} on {os.cpu_count()} cores; {args.clients} chromium pages "
        f"watching the 1024×768 live view for {duration:.0f} s while the shutter is pressed "
        f"over HTTP {pace} (main module, binned 4096×3072)"
    )
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| frames/s per client | {', '.join(f'{f:.1f}' for f in fps)} |")
    print(
        f"| captures acknowledged | {len(acknowledged)} (median press {statistics.median(press_s):.1f} s) |"
        if press_s
        else "| captures acknowledged | 0 |"
    )
    print(
        f"| acknowledged captures readable by rawpy | {len(acknowledged) - len(unreadable)} of {len(acknowledged)} |"
    )
    print(f"| errors | {len(errors)} |")
    print(
        f"| server RSS after {args.warmup:.0f} s warm-up | median {med:.0f} MiB, min {min(steady):.0f}, "
        f"max {max(steady):.0f} (±{spread * 100:.1f} %) |"
    )
    print(
        f"| server RSS over time (MiB, every 5 s) | {' '.join(f'{m:.0f}' for _, m in memory[::5])} |"
    )
    for e in (errors + unreadable)[:10]:
        print(f"\n- {e}")


if __name__ == "__main__":
    main()
