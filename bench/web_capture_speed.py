"""Shutter press over HTTP to DNG acknowledged, beside the same press through the Camera API
(issue 14, acceptance 4).

One warm process. The camera app runs on uvicorn in a thread of it, on its own camera (the
twin, main module, binned 4096×3072, 12-bit, program P, matrix metering, auto white balance —
bench/camera_speed.py's set-up); a press is ``POST /api/capture``, timed until its answer,
which comes once the DNG is written, fsynced and read back (the gallery record). The Camera
API press is ``camera.capture()`` + ``camera.save_dng()`` on a second camera. The presses
alternate, so both see the same load; the scene's light changes before every press (the
optical image is rendered each time, as on a real shot). A third row presses over HTTP while
one client watches the live view (1024×768 stream), as with the page open; a fourth does
too, but presses once the new scene has stood still long enough for the app to ready the
capture (``GET /api/status``'s ``live.capture_ready``: the capture's light rendered while the
photographer frames, :meth:`~mountcam.body.camera.Camera.prepare`), and prints how long
after the scene change that was.

    python bench/web_capture_speed.py [--repeat 5]

Prints a Markdown table: median wall time and the process's CPU time per press, and the
load average (wall time on a shared machine says more about the machine than the code).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from mountcam import Camera, SimulatedBackend
from mountcam.app.web.server import create_app
from mountcam.app.web.service import CameraService
from mountcam.scene import load_scene


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(service: CameraService) -> tuple[uvicorn.Server, str]:
    port = free_port()
    app = create_app(service, port=port)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def watch_live(url: str, stop: threading.Event, counts: dict) -> None:
    """One live-view client: reads frames until ``stop`` (needs the ``websockets`` client)."""
    import websockets

    async def run() -> None:
        async with websockets.connect(url.replace("http", "ws") + "/api/live") as ws:
            await ws.send(json.dumps({"aids": ["raw-histogram"]}))
            while not stop.is_set():
                try:
                    message = await asyncio.wait_for(ws.recv(), 1.0)
                except TimeoutError:
                    continue
                if isinstance(message, bytes):
                    counts["frames"] = counts.get("frames", 0) + 1

    asyncio.run(run())


def timed(fn) -> tuple[float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    scenes = [load_scene("chart:colorchecker", luminance_cd_m2=800 + 50 * i) for i in range(64)]
    api_twin = SimulatedBackend(scenes[0], seed=1)
    api_camera = Camera(api_twin)
    web_twin = SimulatedBackend(scenes[0], seed=2)
    rows: dict[str, list[tuple[float, float]]] = {
        "Camera API: capture() + save_dng()": [],
        "HTTP: POST /api/capture": [],
        "HTTP, one live viewer at 1024×768": [],
        "HTTP, one live viewer, pressed once the capture is ready": [],
    }
    framing: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        api_folder = Path(tmp) / "api"
        service = CameraService(Camera(web_twin), Path(tmp) / "web", preview_size=(1024, 768))
        server, url = start_app(service)
        try:
            with httpx.Client(base_url=url, timeout=600) as client:

                def http_press() -> None:
                    r = client.post("/api/capture")
                    r.raise_for_status()
                    assert (service.captures / r.json()["files"][0]).is_file()

                def api_press() -> None:
                    api_camera.save_dng(api_camera.capture(), api_folder)

                # Warm-up: JIT, calibrations, the first optical image of each camera.
                for crop in ([64, 64], None):
                    client.post("/api/settings", json={"crop": crop})
                    api_camera.configure(crop=tuple(crop) if crop else None)
                    http_press()
                    api_press()
                i = 0
                for _ in range(args.repeat):
                    i += 1
                    api_twin.set_scene(scenes[i % len(scenes)])
                    rows["Camera API: capture() + save_dng()"].append(timed(api_press))
                    web_twin.set_scene(scenes[i % len(scenes)])
                    rows["HTTP: POST /api/capture"].append(timed(http_press))
                stop = threading.Event()
                counts: dict = {}
                viewer = threading.Thread(target=watch_live, args=(url, stop, counts), daemon=True)
                viewer.start()
                time.sleep(3.0)  # the stream running
                for _ in range(args.repeat):
                    i += 1
                    web_twin.set_scene(scenes[i % len(scenes)])
                    rows["HTTP, one live viewer at 1024×768"].append(timed(http_press))
                for _ in range(args.repeat):
                    i += 1
                    web_twin.set_scene(scenes[i % len(scenes)])
                    t0 = time.perf_counter()
                    while not client.get("/api/status").json()["live"]["capture_ready"]:
                        time.sleep(0.02)
                    framing.append(time.perf_counter() - t0)
                    label = "HTTP, one live viewer, pressed once the capture is ready"
                    rows[label].append(timed(http_press))
                stop.set()
                viewer.join(timeout=10)
        finally:
            server.should_exit = True
            service.close()
    load = os.getloadavg()[0]
    print(
        f"load average {load:.1f} on {os.cpu_count()} cores; median of {args.repeat} presses; "
        "main module, binned 4096×3072, P / matrix / auto WB, new scene light each press"
    )
    print()
    print("| press | wall | CPU (whole process) | vs Camera API (wall) |")
    print("|---|---|---|---|")
    base = statistics.median(w for w, _ in rows["Camera API: capture() + save_dng()"])
    for label, runs in rows.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"| {label} | {wall * 1e3:.0f} ms | {cpu * 1e3:.0f} ms | {wall / base:.2f}× |")
    print()
    print(f"capture ready {statistics.median(framing):.2f} s after the scene changed (median)")


if __name__ == "__main__":
    main()
