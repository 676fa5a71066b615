"""The live view (issue 13): aids on a preview stream of the twin, and how fast they follow."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from conftest import run_cli
from mountcam import Camera, SimulatedBackend
from mountcam.app.liveview import LiveViewSettings, render_live_frame
from mountcam.scene import Scene, illuminant
from mountcam.scene.dead_leaves import DeadLeaves
from mountcam.scene.scene import RgbSample, ViewGrid

SIZE = (1024, 768)


@dataclass(frozen=True)
class TwoPlanes:
    """Fine dead-leaves texture: the left half at ``near_m``, the right half at ``far_m``."""

    near_m: float
    far_m: float
    aspect: float | None = field(default=None, init=False)
    framing: str = field(default="cover", init=False)

    @property
    def depth_m(self) -> np.ndarray:
        """The depths the content holds (the optics read its range to plan the defocus)."""
        return np.array([[self.near_m, self.far_m]], np.float32)

    def render(self, grid: ViewGrid) -> RgbSample:
        left = DeadLeaves(seed=1, r_min=0.003, r_max=0.03).render(grid).rgb
        right = DeadLeaves(seed=2, r_min=0.003, r_max=0.03).render(grid).rgb
        x = grid.xs()[None, :]
        near = np.broadcast_to(x < 0, (grid.height, grid.width))
        rgb = np.where(near[..., None], left, right)
        depth = np.where(near, self.near_m, self.far_m).astype(np.float32)
        return RgbSample(rgb=np.ascontiguousarray(rgb, np.float32), depth_m=depth)


def two_planes(near_m: float, far_m: float) -> Scene:
    return Scene("two-planes", TwoPlanes(near_m, far_m), illuminant("D65"), 1000.0)


def _camera(scene: Scene, lens: str, seed: int = 3) -> Camera:
    camera = Camera(SimulatedBackend(scene, seed=seed))
    camera.attach_lens(lens)
    camera.configure(module="m")
    return camera


PEAKING_ONLY = LiveViewSettings(assists=frozenset({"peaking"}), composite=False)


def precision_recall(mask: np.ndarray, block: int = 64, margin: int = 24) -> tuple[float, float]:
    """Precision: lit pixels on the near (left) half over all lit pixels, a band of ``margin``
    pixels around the seam left out. Recall: the share of ``block``-pixel squares of the near
    half that hold a lit pixel (its texture has edges in every square)."""
    h, w = mask.shape
    seam = w // 2
    left = mask[:, : seam - margin]
    right = mask[:, seam + margin :]
    lit = left.sum() + right.sum()
    precision = float(left.sum() / lit) if lit else 0.0
    rows, cols = (h - 2 * margin) // block, (seam - 2 * margin) // block
    squares = left[margin : margin + rows * block, margin : margin + cols * block]
    squares = squares.reshape(rows, block, cols, block).any(axis=(1, 3))
    return precision, float(squares.mean())


@pytest.mark.parametrize("lens", ["summicron-m-50", "summilux-m-75", "apo-summicron-m-90"])
def test_peaking_marks_the_plane_in_focus_at_every_f_number(lens):
    camera = _camera(two_planes(1.2, 12.0), lens)
    profile = camera.module().lens
    for f_number in profile.stops:
        camera.set_lens(f_number=f_number, focus_m=1.2)
        live = render_live_frame(camera.preview_step(SIZE), PEAKING_ONLY)
        precision, recall = precision_recall(live.peaking)
        assert precision >= 0.9 and recall >= 0.9, (lens, f_number, precision, recall)


def test_peaking_lights_almost_nothing_when_nothing_is_in_focus():
    camera = _camera(two_planes(3.0, 12.0), "noctilux-m-50-f0.95")
    camera.set_lens(f_number=0.95, focus_m=1.0)  # its close focus; both planes far behind
    live = render_live_frame(camera.preview_step(SIZE), PEAKING_ONLY)
    assert live.peaking.mean() < 0.0005


def _peaking_side(live) -> str:
    h, w = live.peaking.shape
    left = live.peaking[:, : w // 2 - 24].sum()
    right = live.peaking[:, w // 2 + 24 :].sum()
    return "near" if left > 4 * right else "far" if right > 4 * left else "both"


def test_turning_the_focus_ring_moves_the_peaking_within_two_frames():
    camera = _camera(two_planes(1.5, 30.0), "noctilux-m-50-f0.95")
    camera.set_lens(f_number=0.95, focus_m=math.inf)
    camera.preview_step(SIZE)  # first frame: loads and compiles, not part of the stream
    stream = camera.start_preview(size=SIZE)
    try:
        settings = PEAKING_ONLY
        assert _peaking_side(render_live_frame(stream.get(timeout=120), settings)) == "far"
        camera.set_lens(focus_m=1.5)
        sides = [
            _peaking_side(render_live_frame(stream.get(timeout=120), settings)) for _ in range(2)
        ]
    finally:
        stream.stop()
    assert sides[-1] == "near", sides


def test_a_shutter_change_shows_in_the_raw_histogram_within_two_frames():
    camera = Camera(SimulatedBackend("chart:colorchecker", seed=5))
    camera.set_controls(program="M", exposure_s=1 / 500, iso=100)
    camera.preview_step(SIZE)
    stream = camera.start_preview(size=SIZE)
    raw_only = LiveViewSettings(assists=frozenset({"raw-histogram"}), composite=False)

    def median_ev(live) -> float:
        counts = live.raw_histogram.counts["G"]
        centres = 0.5 * (live.raw_histogram.edges_ev[1:] + live.raw_histogram.edges_ev[:-1])
        return float(centres[np.searchsorted(np.cumsum(counts), counts.sum() / 2)])

    try:
        before = median_ev(render_live_frame(stream.get(timeout=120), raw_only))
        camera.set_controls(program="M", exposure_s=1 / 125, iso=100)
        after = [median_ev(render_live_frame(stream.get(timeout=120), raw_only)) for _ in range(2)]
    finally:
        stream.stop()
    assert after[-1] - before == pytest.approx(2.0, abs=0.3)


def test_the_preview_raw_histogram_matches_a_captures_within_the_noise():
    camera = Camera(SimulatedBackend("chart:colorchecker", seed=9))
    camera.set_controls(program="M", exposure_s=1 / 250, iso=200)
    settings = LiveViewSettings(assists=frozenset({"raw-histogram"}), composite=False)
    preview = render_live_frame(camera.preview_step(SIZE), settings).raw_histogram
    frame = camera.capture()
    from mountcam.assist import raw_histogram

    capture = raw_histogram(
        frame.mosaic, frame.cfa_pattern, frame.black_level_dn, frame.white_level_dn
    )
    centres = 0.5 * (capture.edges_ev[1:] + capture.edges_ev[:-1])
    for c in "RGB":
        p, q = preview.counts[c] / preview.total[c], capture.counts[c] / capture.total[c]
        for share in (0.25, 0.5, 0.75):
            ev_p = centres[np.searchsorted(np.cumsum(p), share)]
            ev_q = centres[np.searchsorted(np.cumsum(q), share)]
            assert abs(ev_p - ev_q) <= 0.5, (c, share, ev_p, ev_q)  # two 1/4-EV bins
        assert preview.clipped_fraction(c) == pytest.approx(capture.clipped_fraction(c), abs=0.01)


def test_liveview_command_reports_rate_and_stages_and_saves_frames(tmp_path):
    code, stdout, stderr = run_cli(
        "liveview",
        "--scene",
        "chart:siemens-star",
        "--frames",
        "4",
        "--size",
        "512x384",
        "--assists",
        "histogram,zebra,peaking,waveform",
        "--save",
        str(tmp_path),
        "--save-every",
        "2",
        "--json",
    )
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["frames"] == 4 and report["fps"] > 0
    assert {"develop", "peaking", "zebra", "histogram", "waveform"} <= set(report["stages_ms"])
    assert len(report["saved"]) == 2 and all(p.endswith(".png") for p in report["saved"])
    code, _, stderr = run_cli("liveview", "--scene", "chart:siemens-star", "--assists", "sparkles")
    assert code == 2 and "sparkles" in stderr and len(stderr.strip().splitlines()) == 1


def test_the_magnifier_reads_the_full_resolution_window_at_the_point():
    camera = Camera(SimulatedBackend("chart:siemens-star", seed=2))
    full_w, full_h = camera.module().sensor.output_size("full")
    centre = camera.magnifier_frame((0.5, 0.5), (256, 192))
    assert centre.metadata.mode == "full" and (centre.width, centre.height) == (256, 192)
    assert centre.metadata.window_origin == (
        (full_h - 192) // 2 // 4 * 4,
        (full_w - 256) // 2 // 4 * 4,
    )
    corner = camera.magnifier_frame((0.0, 1.0), (256, 192))  # moved inward, not shrunk
    assert corner.metadata.window_origin == ((full_h - 192) // 4 * 4, 0)
    assert (corner.width, corner.height) == (256, 192)
    with pytest.raises(Exception, match="fraction"):
        camera.magnifier_frame((1.5, 0.5))
    # On the star's hub the window holds all its spokes at the sensor's own pitch: both tones.
    g = centre.mosaic[0::2, 1::2].astype(float)
    assert np.percentile(g, 90) > 3 * np.percentile(g, 10)


def test_magnifier_two_to_one_is_the_one_to_one_centre_in_pixel_blocks():
    from mountcam.app.liveview import LiveView

    camera = Camera(SimulatedBackend("chart:siemens-star", seed=4))
    camera.set_controls(program="M", exposure_s=1 / 250, iso=400)
    with LiveView(camera, LiveViewSettings(composite=False), size=(512, 384)) as view:
        one = view.magnifier((0.4, 0.6), zoom=1, view=(256, 192))
        two = view.magnifier((0.4, 0.6), zoom=2, view=(256, 192))
    assert one.shape == two.shape == (192, 256, 3)
    np.testing.assert_array_equal(two[::2, ::2], two[1::2, 1::2])  # 2x2 blocks
    # The 2:1 view is the middle half of the 1:1 view (new noise, so compare the means).
    middle = one[48:144, 64:192].astype(float)
    assert abs(middle.mean() - two[::2, ::2].astype(float).mean()) < 6


def test_the_stream_shows_the_exposure_compensation_without_swinging():
    """Live view is what the shot will be: at +2 EV the stream settles 2 EV above its 0 EV
    exposure (the highlights it clips on purpose do not make it step down and back up)."""

    def settled_products(ev: float) -> list[float]:
        camera = Camera(SimulatedBackend("chart:colorchecker", seed=5))
        camera.set_controls(ev=ev)
        frames = [camera.preview_step((256, 192)) for _ in range(10)]
        return [f.metadata.exposure_s * f.metadata.iso for f in frames[-4:]]

    base, bright = settled_products(0.0), settled_products(2.0)
    assert math.log2(bright[-1] / base[-1]) == pytest.approx(2.0, abs=1 / 3)
    assert max(bright) / min(bright) < 2 ** (1 / 6)
