"""Randomised trials of the main module's contrast autofocus against the twin (issue 12,
acceptance 4).

Each trial puts a flat subject (a scene picked at random, drawn at one distance) in front of
the main lens at a random distance from 0.1 m to "infinity" (10 km), picks a random start
position of the lens, a random light and luminance, meters the AF region with the AE loop, and
runs :class:`mountcam.control.af.ContrastAf` on a centred binned region, the twin rendering
each frame at the lens position the loop asks for. Score: a slanted edge at the subject's
distance shot with the lens where AF left it, against the same edge with the lens focused
exactly at that distance (the best the lens can do there): in focus when MTF50 reaches
:data:`IN_FOCUS_FRACTION` of that.

    python -m mountcam.lab.focus_trials --trials 100 [--seed 1] [--size 96]
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import numpy as np

from mountcam.body.backend import Readout
from mountcam.body.camera import Camera
from mountcam.control.ae import AeController, AeSettings, Exposure
from mountcam.control.af import ContrastAf, FocusTravel
from mountcam.lab.exposure_trials import frame_luminance, main_module_limits, twin_camera
from mountcam.lab.sfr import SfrError, slanted_edge_mtf
from mountcam.scene import load_scene
from mountcam.scene.scene import Scene

IN_FOCUS_FRACTION = 0.9
#: Side of the slanted-edge frames that score a trial, binned pixels (64×64 per green plane).
SCORE_SIZE = 128
#: "Infinity" for a subject: far beyond the hyperfocal distance (≈ 3.5 m).
FAR_M = 1e4
SCENES = (
    "chart:slanted-edge",
    "sample:camera",
    "chart:colorchecker",
    "sample:astronaut",
    "sample:coffee",
    "sample:chelsea",
)
LIGHTS = ("D65", "A", "FL11", "4300K")


@dataclass(frozen=True)
class AtDistance:
    """Scene content drawn on a plane ``distance_m`` from the camera (a depth map of one
    value), so the optics renders its defocus."""

    inner: object
    distance_m: float

    @property
    def aspect(self):
        return self.inner.aspect

    @property
    def framing(self) -> str:
        return getattr(self.inner, "framing", "cover")

    @property
    def depth_m(self) -> np.ndarray:
        return np.array([self.distance_m])

    def render(self, grid):
        sample = self.inner.render(grid)
        sample.depth_m = np.full((grid.height, grid.width), self.distance_m, dtype=np.float32)
        return sample


def at_distance(scene: Scene, distance_m: float) -> Scene:
    return scene.with_(content=AtDistance(scene.content, distance_m))


def main_travel(camera: Camera) -> FocusTravel:
    module = camera.module("main")
    lens = module.fixed_lens
    return FocusTravel.of_lens(lens.focal_mm, lens.max_f, lens.min_focus_m, module.crop_factor)


@dataclass
class Trial:
    scene: str
    light: str
    luminance_cd_m2: float
    subject_m: float
    start_m: float
    focus_m: float
    frames: int
    ae_frames: int
    in_focus_reported: bool
    mtf50: float
    mtf50_best: float

    @property
    def ratio(self) -> float:
        return self.mtf50 / self.mtf50_best

    @property
    def in_focus(self) -> bool:
        return self.ratio >= IN_FOCUS_FRACTION


def _capture(camera: Camera, exposure: Exposure, focus_m: float, size: int, index: int):
    """A centred ``size``² binned frame of the main module with its lens focused at
    ``focus_m`` (the focus motor; the twin renders the defocus)."""
    module = camera.module("main")
    camera.set_lens(focus_m=max(focus_m, module.fixed_lens.min_focus_m))
    readout = Readout(
        "binned", 12, exposure.exposure_s, exposure.iso, crop=(size, size), frame_index=index
    )
    return camera.backend.read(module, readout)


def _mtf50(frame) -> tuple[float, float]:
    """(MTF50 in cycles per green sample, edge step) of the slanted edge, the means over both
    green planes; an SFR that stays above 0.5 over the measured range counts as its top
    frequency. The edge step tells a sharp edge from one blurred wider than the frame (whose
    ESF never reaches its plateaus, and whose SFR means nothing)."""
    values, steps = [], []
    for dy, dx in ((0, 1), (1, 0)):  # the two green sites of RGGB
        g = frame.mosaic[dy::2, dx::2].astype(np.float64) - frame.black_level_dn[1]
        try:
            r = slanted_edge_mtf(g)
        except SfrError:
            values.append(0.0)
            steps.append(0.0)
            continue
        top = float(r.freq_cy_px[-1])
        values.append(float(r.mtf50_cy_px) if math.isfinite(r.mtf50_cy_px) else top)
        steps.append(abs(float(r.edge_step)))
    return float(np.mean(values)), float(np.mean(steps))


def region_hfov(camera: Camera, width_px: int) -> float:
    """Horizontal field of view of ``width_px`` binned pixels of the main module (at infinity
    focus)."""
    module = camera.module("main")
    pitch = module.sensor.output_pitch_m("binned")
    return 2.0 * math.atan(width_px * pitch / (2.0 * module.fixed_lens.focal_m))


def run_trial(camera: Camera, rng: np.random.Generator, size: int = 96) -> Trial:
    """One trial on ``camera`` (over the twin; its scene is replaced)."""
    travel = main_travel(camera)
    d_max = travel.max_diopters
    u = rng.random()
    if u < 0.1:
        subject = FAR_M
    elif u < 0.55:
        subject = 1.0 / rng.uniform(0.1, d_max)  # uniform in diopters: the lens's own scale
    else:
        subject = float(np.exp(rng.uniform(math.log(0.1), math.log(100.0))))
    start = 1.0 / rng.uniform(1e-3, d_max)
    name = SCENES[rng.integers(len(SCENES))]
    light = LIGHTS[rng.integers(len(LIGHTS))]
    luminance = float(np.exp(rng.uniform(math.log(30.0), math.log(3000.0))))
    seed = int(rng.integers(1 << 30))
    return run_af(camera, name, light, luminance, subject, start, size, seed)


def run_af(
    camera: Camera,
    name: str,
    light: str,
    luminance: float,
    subject: float,
    start: float,
    size: int = 96,
    seed: int = 1,
) -> Trial:
    """Meter, autofocus and score one subject (see the module docstring)."""
    travel = main_travel(camera)
    # The subject spans two AF regions across, so the region sees its detail.
    hfov_deg = math.degrees(region_hfov(camera, 2 * size))
    scene = load_scene(name, illuminant=light, luminance_cd_m2=luminance, hfov_deg=hfov_deg)
    camera.backend.set_scene(at_distance(scene, subject))

    # Meter the AF region first (program P, matrix), the lens where it starts.
    ae = AeController(AeSettings(), main_module_limits(camera))
    exposure = Exposure(1 / 100, 100.0, travel.f_number)
    ae_frames = 0
    for i in range(6):
        frame = _capture(camera, exposure, start, size, seed + i)
        ae_frames += 1
        exposure = ae.update(frame_luminance(camera, frame), exposure)
        if ae.converged:
            break

    af = ContrastAf(travel, start)
    k = 0
    while af.next_focus_m is not None:
        frame = _capture(camera, exposure, af.next_focus_m, size, seed + 100 + k)
        af.observe(frame.mosaic, frame.cfa_pattern, frame.black_level_dn)
        k += 1
    result = af.result

    edge = load_scene("chart:slanted-edge", illuminant=light, luminance_cd_m2=luminance)
    camera.backend.set_scene(at_distance(edge, subject))
    got, got_step = _mtf50(_capture(camera, exposure, result.focus_m, SCORE_SIZE, seed + 500))
    best_focus = max(subject, travel.min_focus_m)
    best, best_step = _mtf50(_capture(camera, exposure, best_focus, SCORE_SIZE, seed + 501))
    if got_step < 0.8 * best_step:
        got = 0.0  # blurred beyond the frame: as out of focus as it gets
    return Trial(
        name, light, luminance, subject, start, result.focus_m, result.frames, ae_frames,
        result.in_focus, got, max(best, 1e-9),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", type=int, default=96, help="AF region, binned pixels square")
    args = parser.parse_args()
    camera = twin_camera("chart:flat", args.seed)
    rng = np.random.default_rng(args.seed)
    trials = []
    t0 = time.perf_counter()
    for i in range(args.trials):
        trials.append(run_trial(camera, rng, args.size))
        t = trials[-1]
        print(
            f"{i + 1:3d} {t.scene:20s} {t.light:5s} {t.luminance_cd_m2:7.0f} cd/m² subject "
            f"{t.subject_m:8.3f} m start {t.start_m:7.3f} m -> {t.focus_m:8.3f} m, "
            f"{t.frames:2d} frames, MTF50 {t.ratio:.2f} of best"
            f"{'' if t.in_focus else '  OUT OF FOCUS'}",
            flush=True,
        )
    elapsed = time.perf_counter() - t0
    ratios = np.array([t.ratio for t in trials])
    frames = np.array([t.frames for t in trials])
    ok = np.array([t.in_focus for t in trials])
    reported = np.array([t.in_focus_reported for t in trials])
    print(f"\n{args.trials} trials, AF region {args.size}×{args.size} binned px, {elapsed:.0f} s\n")
    print("| | value |\n|---|---|")
    print(
        f"| in focus (MTF50 ≥ {IN_FOCUS_FRACTION:.0%} of best) | {ok.mean():.1%} ({ok.sum()}/{len(ok)}) |"
    )
    print(
        "| MTF50 / best: min, 5th pct, median | "
        f"{ratios.min():.2f}, {np.percentile(ratios, 5):.2f}, {np.median(ratios):.2f} |"
    )
    print(
        f"| AF frames: median, 90th pct, max | {np.median(frames):.0f}, "
        f"{np.percentile(frames, 90):.0f}, {frames.max()} |"
    )
    print(f"| AE frames before AF: median | {np.median([t.ae_frames for t in trials]):.0f} |")
    print(f"| loop says in focus, and is | {np.sum(reported & ok)} |")
    print(f"| loop says in focus, is not | {np.sum(reported & ~ok)} |")
    print(f"| loop says not in focus | {np.sum(~reported)} |")
    bands = [(0.1, 0.2), (0.2, 0.5), (0.5, 2.0), (2.0, 20.0), (20.0, math.inf)]
    print("\n| subject distance (m) | trials | in focus | median frames |\n|---|---|---|---|")
    for lo, hi in bands:
        sel = [t for t in trials if lo <= t.subject_m < hi]
        if sel:
            print(
                f"| {lo:g}–{hi:g} | {len(sel)} | {np.mean([t.in_focus for t in sel]):.0%} | "
                f"{np.median([t.frames for t in sel]):.0f} |"
            )


if __name__ == "__main__":
    main()
