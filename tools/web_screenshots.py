"""Screenshots of the camera app for docs/ (desktop 1280x800 and a 390x844 phone), taken by
driving the real page in Debian's chromium with Playwright, as the browser tests do.

    .venv/bin/python tools/web_screenshots.py [--out docs]

It starts ``mountcam serve`` on a free loopback port with a scratch captures folder, sets the
camera up through the page (M module, a Summicron 50 on the mount, rings turned, one shot),
and writes PNGs reduced to 256 colours (the pages are flat colours and one photograph).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def save(page, path: Path, **kwargs) -> None:
    page.screenshot(path=str(path), **kwargs)
    Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(
        path, optimize=True
    )
    print(f"wrote {path}")


def frames(page, n: int) -> None:
    start = int(page.get_attribute("#viewfinder-wrap", "data-frame-index") or 0)
    page.wait_for_function(
        f"+document.querySelector('#viewfinder-wrap').dataset.frameIndex >= {start + n}",
        timeout=120_000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is missing: run tools/install-system-deps.sh")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory() as scratch:
        server = subprocess.Popen(
            [sys.executable, "-m", "mountcam", "serve", "--port", str(port),
             "--captures", f"{scratch}/captures", "--preview", "1024x768", "--max-fps", "10"],
        )  # fmt: skip
        try:
            for _ in range(600):
                try:
                    httpx.get(url + "api/status", timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium)
                desk = browser.new_page(viewport={"width": 1280, "height": 800})
                desk.goto(url)
                desk.wait_for_selector("body[data-ready=true]")
                desk.select_option("#crop", "1024x768")
                desk.click("#module-m")
                desk.click("#tab-lens")
                desk.fill("#lens-search", "summicron 28")
                desk.click("#lens-list button[data-lens='summicron-m-28']")
                desk.wait_for_selector("#lens-name:has-text('Summicron-M 28')")
                desk.click("#aperture-ring button[data-f='2.8']")
                desk.fill("#focus-ring", str(round(1000 * (1 - 0.7 / 2.5))))
                desk.wait_for_selector("#focus-value:has-text('2.5 m')")
                desk.click("#aid-peaking")
                desk.click("#aid-grid")
                desk.click("#shutter-button")
                desk.wait_for_selector("#capture-status[data-files]", timeout=300_000)
                desk.wait_for_selector("#estimate:has-text('±')")
                frames(desk, 3)
                save(desk, args.out / "web-app-desktop.png")
                desk.click("#tab-gallery")
                desk.click("#gallery button.thumb")
                desk.wait_for_selector("#capture-detail:not([hidden])")
                desk.click("#aid-peaking")
                desk.click("#aid-waveform")
                frames(desk, 3)
                save(desk, args.out / "web-app-desktop-gallery.png")
                desk.close()

                phone = browser.new_page(
                    viewport={"width": 390, "height": 844}, device_scale_factor=2,
                    is_mobile=True, has_touch=True,
                )  # fmt: skip
                phone.goto(url)
                phone.wait_for_selector("body[data-ready=true]")
                phone.click("#aid-zebra")
                frames(phone, 3)
                save(phone, args.out / "web-app-phone.png")
                phone.click("#tab-lens")
                phone.locator("#lens-card").scroll_into_view_if_needed()
                phone.evaluate("window.scrollBy(0, -60)")
                frames(phone, 2)
                save(phone, args.out / "web-app-phone-lens.png")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
