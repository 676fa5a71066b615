"""Randomised trials of the M module's aperture estimate against the twin's true setting.

Each trial mounts a random coded M lens — a physical sample whose transmittance differs from
the catalogue's by a random 1σ = 4.5 %, as real lenses differ from data sheets — sets a random click stop, focus distance (half the
trials at infinity, the rest log-uniform from close focus to 10 m) and Tri-Elmar focal
setting, and shoots a random scene under a random illuminant and luminance with metered
exposure. The error is the exposure difference between estimated and true f-number, in stops:
2·log2(N_est / N_true).

    python -m mountcam.lab.aperture_trials --trials 200
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, replace

import numpy as np

from mountcam.body.backend import SimulatedBackend
from mountcam.body.camera import Camera
from mountcam.control.f_number_estimate import TRANSMITTANCE_REL_SIGMA
from mountcam.optics.lens_catalogue import all_lenses
from mountcam.scene import load_scene

SCENES = (
    "chart:colorchecker",
    "chart:siemens-star",
    "chart:gray-ramp",
    "chart:slanted-edge",
    "sample:astronaut",
    "sample:coffee",
    "sample:chelsea",
    "sample:rocket",
    "sample:motorcycle",
)
ILLUMINANTS = ("D65", "D50", "A", "FL2", "FL11", "3200K", "5600K")
CROP = (384, 288)


@dataclass(frozen=True)
class Trial:
    lens_id: str
    f_number: float
    focus_m: float
    scene: str
    illuminant: str
    luminance_cd_m2: float
    estimate: float | None
    sigma_stops: float | None

    @property
    def error_stops(self) -> float | None:
        if self.estimate is None:
            return None
        return 2.0 * math.log2(self.estimate / self.f_number)


def run_trials(count: int, seed: int = 2026) -> list[Trial]:
    """``count`` reproducible trials (see the module docstring)."""
    rng = np.random.default_rng(seed)
    lenses = [lens for lens in all_lenses() if lens.mount == "M" and lens.code]
    trials = []
    for i in range(count):
        lens = lenses[rng.integers(len(lenses))]
        stops = lens.stops or (lens.max_f,)
        f_number = float(stops[rng.integers(len(stops))])
        focal = (
            float(lens.focal_settings_mm[rng.integers(len(lens.focal_settings_mm))])
            if lens.focal_settings_mm
            else None
        )
        focus = (
            math.inf
            if rng.random() < 0.5
            else float(np.exp(rng.uniform(math.log(lens.min_focus_m), math.log(10.0))))
        )
        scene_name = SCENES[rng.integers(len(SCENES))]
        illuminant = ILLUMINANTS[rng.integers(len(ILLUMINANTS))]
        luminance = float(np.exp(rng.uniform(math.log(30.0), math.log(5000.0))))
        # This sample of the lens: its own transmittance (the body still believes the catalogue).
        sample = replace(
            lens,
            transmittance=lens.transmittance * float(1 + TRANSMITTANCE_REL_SIGMA * rng.normal()),
        )
        scene = load_scene(scene_name, illuminant=illuminant, luminance_cd_m2=luminance)
        camera = Camera(SimulatedBackend(scene, seed=seed * 1000 + i))
        camera.attach_lens(sample)
        camera.configure(module="m", crop=CROP)
        camera.set_lens(f_number=f_number, focus_m=focus, focal_mm=focal)
        frame = camera.capture()
        est = frame.metadata.extra.get("f_number_estimate")
        trials.append(
            Trial(
                lens.id,
                f_number,
                focus,
                scene_name,
                illuminant,
                luminance,
                est["f_number"] if est else None,
                est["sigma_stops"] if est else None,
            )
        )
    return trials


def report(trials: list[Trial]) -> str:
    """A markdown summary: share within 1/3 and 1/6 stop, error percentiles, failures."""
    errors = np.array([t.error_stops for t in trials if t.error_stops is not None])
    failed = sum(t.estimate is None for t in trials)
    abs_e = np.abs(errors)
    lines = [
        f"{len(trials)} trials, {failed} without an estimate (a clipped or black M frame).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| within 1/3 stop | {100 * np.mean(abs_e <= 1 / 3):.1f} % |",
        f"| within 1/6 stop | {100 * np.mean(abs_e <= 1 / 6):.1f} % |",
        f"| mean error | {errors.mean():+.3f} stop |",
        f"| median absolute error | {np.median(abs_e):.3f} stop |",
        f"| 90th / 99th percentile of absolute error | {np.percentile(abs_e, 90):.3f} / "
        f"{np.percentile(abs_e, 99):.3f} stop |",
        f"| largest absolute error | {abs_e.max():.3f} stop |",
        f"| mean stated uncertainty (1σ) | "
        f"{np.mean([t.sigma_stops for t in trials if t.sigma_stops]):.3f} stop |",
        "",
        "Error histogram (stops, estimated minus true):",
        "",
        "```",
    ]
    edges = np.arange(-0.5, 0.51, 0.1)
    counts, _ = np.histogram(np.clip(errors, -0.5, 0.5), bins=edges)
    for lo, n in zip(edges[:-1], counts, strict=True):
        lines.append(f"{lo:+.1f} … {lo + 0.1:+.1f}  {'#' * int(n)} {n}")
    lines.append("```")
    worst = sorted(
        (t for t in trials if t.error_stops is not None), key=lambda t: -abs(t.error_stops)
    )[:5]
    lines += [
        "",
        "Largest errors:",
        "",
        "| lens | true f | estimate | focus (m) | scene |",
        "|---|---|---|---|---|",
    ]
    for t in worst:
        lines.append(
            f"| {t.lens_id} | {t.f_number:g} | {t.estimate:.2f} | {t.focus_m:.2f} | {t.scene} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    print(report(run_trials(args.trials, args.seed)))


if __name__ == "__main__":
    main()
