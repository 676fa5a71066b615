"""The camera app in a real browser (issue 14, acceptance 1): Playwright drives Debian's
chromium, headless, against ``mountcam serve`` on the simulated camera, on a desktop window and
on a 390x844 phone screen: tap the picture to focus there, switch to the M module, mount a
lens, turn the aperture ring and see the histogram move, turn the focus ring and see the
peaking move, shoot, find the shot in the gallery, download its DNG (read with rawpy, i.e.
LibRaw) and its JPEG, delete it after a confirmation.

``make test`` installs chromium (tools/install-system-deps.sh) when it is missing.
"""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from PIL import Image

from web_app_server import TEST_PREVIEW, Server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is missing (tools/install-system-deps.sh installs it)"
)

VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
#: The summicron-m-50's closest focus; the page's focus ring runs linear in dioptres from there.
MIN_FOCUS_M = 0.7


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


def ring_position(distance_m: float) -> int:
    """The focus ring's slider position for a distance (app.js's distanceToRing)."""
    if math.isinf(distance_m):
        return 1000
    return round(1000 * (1 - MIN_FOCUS_M / distance_m))


def after_frames(page, n: int = 3) -> None:
    """Wait until the viewfinder has shown ``n`` more live frames (so what is read next was
    taken after the last change)."""
    start = int(page.get_attribute("#viewfinder-wrap", "data-frame-index") or 0)
    page.wait_for_function(
        f"+document.querySelector('#viewfinder-wrap').dataset.frameIndex >= {start + n}",
        timeout=60_000,
    )


def median_ev(page) -> float:
    return float(page.get_attribute("#histogram", "data-median-ev"))


def peaking(page) -> tuple[float, float, np.ndarray]:
    wrap = page.locator("#viewfinder-wrap")
    x, y = wrap.get_attribute("data-peaking-x"), wrap.get_attribute("data-peaking-y")
    grid = np.array(json.loads(wrap.get_attribute("data-peaking-grid")))
    return float(x or "nan"), float(y or "nan"), grid


def tap_field(page, screen: str, fx: float, fy: float) -> tuple[float, float, float]:
    """Tap (phone) or click the live picture where it shows the point (fx, fy) of the field
    (fractions); returns the page coordinates and the page pixels per preview pixel. The
    picture is the preview readout less the
    DNG's demosaic margin on each side (its DefaultCrop), drawn centred in the viewfinder at
    the largest size that fits."""
    from mountcam.dng import DEMOSAIC_MARGIN_PX as m

    pw, ph = (int(v) for v in TEST_PREVIEW.split("x"))
    nw, nh = pw - 2 * m, ph - 2 * m
    page.wait_for_function("document.querySelector('#viewfinder').naturalWidth > 0")
    natural = page.eval_on_selector("#viewfinder", "i => [i.naturalWidth, i.naturalHeight]")
    assert natural == [nw, nh]
    box = page.locator("#viewfinder").bounding_box()
    scale = min(box["width"] / nw, box["height"] / nh)
    left = box["x"] + (box["width"] - nw * scale) / 2
    top = box["y"] + (box["height"] - nh * scale) / 2
    x, y = left + (fx * pw - m) * scale, top + (fy * ph - m) * scale
    if screen == "phone":
        page.touchscreen.tap(x, y)
    else:
        page.mouse.click(x, y)
    return x, y, scale


def tab(page, name: str) -> None:
    page.click(f"#tab-{name}")
    page.wait_for_selector(f".tabpanel[data-panel={name}]:not([hidden])")


@pytest.mark.parametrize("screen", list(VIEWPORTS))
def test_m_lens_aperture_focus_shoot_download(browser, tmp_path, screen):
    import rawpy

    errors: list[str] = []
    with Server(tmp_path / "captures") as server:
        context = browser.new_context(accept_downloads=True, **VIEWPORTS[screen])
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(server.url + "/")
        page.wait_for_selector("body[data-ready=true]")
        after_frames(page, 1)

        # Tap to focus on the main module: the AF region goes where the tap is, and the lens
        # with it (the workshop at the upper right stands about 4 m away, the motorcycle at the
        # centre 2.4 m); the box is drawn there, green once in focus. "Centre" takes it back.
        *tap, scale = tap_field(page, screen, 0.8, 0.3)
        page.wait_for_selector("#af-box[data-state=in-focus]", timeout=60_000)
        settings = page.request.get(server.url + "/api/settings").json()
        assert settings["af_point"] == pytest.approx([0.8, 0.3], abs=0.003)
        assert 3.0 < settings["focus_m"] < 6.0, settings["focus_m"]
        drawn = page.locator("#af-box").bounding_box()
        assert abs(drawn["x"] + drawn["width"] / 2 - tap[0]) < 2
        assert abs(drawn["y"] + drawn["height"] / 2 - tap[1]) < 2
        # 192 binned px of the field's 4096, which the preview reads as 256 columns.
        assert drawn["width"] == pytest.approx(256 * scale * 192 / 4096, abs=2)
        page.click("#af-centre")
        page.wait_for_selector("#af-box", state="hidden")
        assert page.request.get(server.url + "/api/settings").json()["af_point"] is None

        # A small centre readout keeps the shot quick. Changes made in quick succession land
        # in order, and the page shows the last: here the first answer is held back 1.5 s (a
        # slow network), and the drive panel once showed it after the newer one (a single
        # shot, no frame count).
        held: list[str] = []

        def hold_first_answer(route) -> None:
            if route.request.method == "POST" and not held:
                held.append(route.request.post_data or "")
                response = route.fetch()
                page.wait_for_timeout(1500)
                route.fulfill(response=response)
            else:
                route.continue_()

        page.route("**/api/settings", hold_first_answer)
        page.select_option("#crop", "512x384")
        tab(page, "drive")
        page.select_option("#drive-mode", "burst")
        page.wait_for_timeout(2500)
        page.unroute("**/api/settings")
        assert "crop" in held[0]
        assert page.is_visible("#drive-count-row") and page.input_value("#drive-count") == "3"
        page.select_option("#drive-mode", "single")
        page.wait_for_selector("#drive-count-row", state="hidden")
        tab(page, "exposure")
        assert page.input_value("#crop") == "512x384"
        page.click("#module-m")
        page.wait_for_selector("#module-m[aria-pressed=true]")

        # Mount a lens from the searchable catalogue: the body reads its code.
        tab(page, "lens")
        page.fill("#lens-search", "summicron 50")
        page.click("#lens-list button[data-lens='summicron-m-50']")
        page.wait_for_selector("#lens-name:has-text('Summicron-M 50')")
        assert "coded" in page.inner_text("#lens-detection")
        assert "132" in page.inner_text("#lens-equiv")  # 50 mm x 2.64 (1-inch crop)

        # Manual exposure, so the aperture ring changes the exposure the histogram shows.
        tab(page, "exposure")
        page.click("#mode-M")
        page.wait_for_selector("#mode-M[aria-pressed=true]")
        tab(page, "lens")
        page.click("#aperture-ring button[data-f='2']")
        page.wait_for_selector("#aperture-ring button[data-f='2'][aria-pressed=true]")
        after_frames(page, 3)
        open_ev = median_ev(page)
        drawn_open = page.eval_on_selector("#histogram", "c => c.toDataURL()")
        page.click("#aperture-ring button[data-f='8']")
        page.wait_for_selector("#aperture-ring button[data-f='8'][aria-pressed=true]")
        after_frames(page, 3)
        stopped_ev = median_ev(page)
        # f/2 -> f/8 is four stops less light at the same shutter and ISO.
        assert 3.0 < open_ev - stopped_ev < 5.0, (open_ev, stopped_ev)
        assert page.eval_on_selector("#histogram", "c => c.toDataURL()") != drawn_open

        # Focus peaking on, the lens wide open: focused at 2 m the motorcycle lights up, at
        # infinity the workshop behind it on the right.
        page.click("#aperture-ring button[data-f='2']")
        page.click("#aid-peaking")
        page.wait_for_selector("#aid-peaking[aria-pressed=true]")
        page.fill("#focus-ring", str(ring_position(2.0)))
        page.wait_for_selector("#focus-value:has-text('2 m')")
        assert "Depth of field" in page.inner_text("#dof-text")
        after_frames(page, 3)
        near = peaking(page)
        page.fill("#focus-ring", str(ring_position(math.inf)))
        page.wait_for_selector("#focus-value:has-text('∞')")
        after_frames(page, 3)
        far = peaking(page)
        assert math.hypot(far[0] - near[0], far[1] - near[1]) > 0.12, (near[:2], far[:2])
        # A good part of what lit at 2 m is dark at infinity (the motorcycle is out of focus).
        assert near[2][far[2] == 0].sum() > 0.2 * near[2].sum(), (near[2], far[2])

        # The other aids: waveform and zebra from the stream, grid and level drawn by the
        # page, the magnifier by a tap on the picture (the full readout at that point).
        for aid in ("waveform", "zebra", "grid", "level", "magnifier"):
            page.click(f"#aid-{aid}")
        after_frames(page, 2)
        assert page.is_visible("#waveform") and page.is_visible("#grid-overlay")
        assert page.get_attribute("#viewfinder-wrap", "data-zebra-fraction") is not None
        assert page.get_attribute("#level-overlay", "data-roll") == "0.00"
        tap_field(page, screen, 0.7, 0.6)
        page.wait_for_selector("#magnifier-caption:has-text('1:1 at 70 %, 60 %')")
        assert page.eval_on_selector("#magnifier", "i => i.complete && i.naturalWidth") == 512
        page.click("#magnifier-close")

        # Shoot RAW + JPEG, pressed right after choosing it: the press waits for the change
        # (once it did not, and a slow change came too late for the shot). The button answers
        # once the files are on disk.
        page.fill("#focus-ring", str(ring_position(2.0)))
        page.wait_for_selector("#focus-value:has-text('2 m')")
        tab(page, "exposure")

        def slow_request(route) -> None:  # the change reaches the camera a second late
            page.wait_for_timeout(1000)
            route.continue_()

        page.route("**/api/settings", slow_request)
        page.select_option("#format", "raw+jpeg")
        page.click("#shutter-button")
        page.wait_for_selector("#capture-status[data-files]", timeout=120_000)
        page.unroute("**/api/settings")
        name, jpeg = page.get_attribute("#capture-status", "data-files").split(",")
        assert (server.captures / name).is_file() and (server.captures / jpeg).is_file()
        tab(page, "lens")
        # The body's f-number estimate from the shot, shown with its uncertainty.
        page.wait_for_selector("#estimate:has-text('±')")
        estimate = float(page.get_attribute("#estimate", "data-f-number"))
        assert abs(math.log2(estimate / 2.0)) < 0.5, estimate

        # Find it in the gallery, read its EXIF, download the DNG and open it with LibRaw.
        tab(page, "gallery")
        page.click(f"#gallery button[data-name='{name}']")
        page.wait_for_selector(f"#detail-name:has-text('{name}')")
        exif = page.inner_text("#detail-exif")
        assert "Summicron-M 50" in exif and "1/125" in exif and "400" in exif
        with page.expect_download() as info:
            page.click("#download-dng")
        saved = tmp_path / f"downloaded-{screen}.dng"
        info.value.save_as(saved)
        assert saved.read_bytes() == (server.captures / name).read_bytes()
        with rawpy.imread(str(saved)) as raw:
            mosaic = raw.raw_image_visible.copy()
            assert raw.camera_whitebalance[1] > 0
        assert mosaic.shape[0] >= 368 and mosaic.shape[1] >= 496
        assert 0 < float(np.mean(mosaic)) < 4095
        with page.expect_download() as info:
            page.click(f"#download-jpegs a[download='{jpeg}']")
        info.value.save_as(tmp_path / jpeg)
        with Image.open(tmp_path / jpeg) as picture:
            assert picture.format == "JPEG" and picture.size[0] >= 496

        # Delete, after a confirmation: cancelling keeps it, confirming removes it.
        page.click("#detail-delete")
        page.click("#confirm-cancel")
        assert (server.captures / name).is_file()
        page.click("#detail-delete")
        page.click("#confirm-ok")
        page.wait_for_selector(f"#gallery button[data-name='{name}']", state="detached")
        assert not (server.captures / name).exists()

        context.close()
    assert not errors, errors
