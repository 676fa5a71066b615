"""Auto exposure against the twin: the AE preview loop on procedural scenes, scored on the
subject (issue 12, acceptance 3).

Each scene of :func:`mountcam.lab.exposure_scenes.exposure_scenes` fills preview frames of
the main module (the whole field, :class:`~mountcam.body.backend.Readout` ``preview``, read
from the twin through the Camera API's backend) and is metered with the mode that suits it, from
a start 4 EV under or over the right exposure; the loop runs until the controller holds. The
score is the subject's raw luminance on the last frame against where its reflectance belongs
(an 18 % card in the subject's light on the ISO 12232 mid-grey), in EV. Then the ColorChecker
is metered (matrix, program P) at white luminances from 10 to 30 000 cd/m² and its mid-grey
patch's raw level compared across them.

    python -m mountcam.lab.exposure_trials [--size 160x120]
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import numpy as np

from mountcam.body.backend import Readout, SimulatedBackend
from mountcam.body.camera import Camera
from mountcam.control.ae import (
    MID_GREY_LEVEL,
    MID_GREY_REFLECTANCE,
    AeController,
    AeSettings,
    Exposure,
    ExposureLimits,
    luminance_cells,
    luminance_weights,
    slowest_handheld_shutter_s,
)
from mountcam.lab.exposure_scenes import ExposureScene, exposure_scenes
from mountcam.scene import ViewGrid, colorchecker_patch_boxes, load_scene
from mountcam.scene.scene import CONTAIN_MARGIN, Scene

MAX_FRAMES = 8


def main_module_limits(camera: Camera) -> ExposureLimits:
    module = camera.module("main")
    s = module.sensor
    return ExposureLimits(
        min_exposure_s=s.min_exposure_s,
        max_exposure_s=s.max_exposure_s,
        iso_min=s.iso_min,
        iso_max=s.iso_max,
        slowest_handheld_s=slowest_handheld_shutter_s(
            module.fixed_lens.focal_mm, module.crop_factor
        ),
    )


def camera_luminance_weights(camera: Camera) -> np.ndarray:
    """The raw-luminance weights of the main module, from the D65 ColorMatrix the body writes."""
    return luminance_weights(camera.calibration("main").color_matrix_2)


def twin_camera(scene: Scene | str, seed: int = 1) -> Camera:
    """The camera over the twin, looking at ``scene``."""
    return Camera(SimulatedBackend(scene, seed=seed))


def lens_shading(camera: Camera, frame) -> np.ndarray:
    """Relative illumination of the main lens (wide open) on the frame's 2×2 cells: what the
    body knows of its lens's fall-off, divided out before metering."""
    from mountcam.body.reference_frame import frame_window
    from mountcam.optics.imaging import relative_illumination
    from mountcam.optics.lens import LensState

    lens = camera.module("main").fixed_lens
    window = frame_window(frame)
    grid_tan = window.grid_m().scaled(1.0 / lens.focal_m)
    ri = relative_illumination(lens, LensState(lens.max_f), window, grid_tan)
    h, w = ri.shape[0] // 2 * 2, ri.shape[1] // 2 * 2
    return ri[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def frame_luminance(camera: Camera, frame) -> np.ndarray:
    """Shading-corrected raw luminance cells of a main-module frame."""
    return luminance_cells(
        frame.mosaic,
        frame.cfa_pattern,
        frame.black_level_dn,
        frame.white_level_dn,
        camera_luminance_weights(camera),
        lens_shading(camera, frame),
    )


def read_preview(camera: Camera, exposure: Exposure, size: tuple[int, int], index: int):
    """One preview frame of the main module (the whole field at ``size``) at ``exposure``."""
    readout = Readout(
        "preview", 12, exposure.exposure_s, exposure.iso, size=size, frame_index=index
    )
    return camera.backend.read(camera.module("main"), readout)


@dataclass
class AeRun:
    exposures: list[Exposure]
    y: np.ndarray  # luminance cells of the last frame
    frames: int
    converged: bool


def run_ae(
    camera: Camera,
    settings: AeSettings,
    start: Exposure,
    size: tuple[int, int],
    seed: int = 1,
    max_frames: int = MAX_FRAMES,
) -> AeRun:
    """The preview loop on the camera's current scene: read a frame at the current exposure,
    meter, set the next, until the controller holds (or ``max_frames``)."""
    limits = main_module_limits(camera)
    ctrl = AeController(settings, limits)
    exposure = start
    exposures = [start]
    y = None
    for i in range(max_frames):
        y = frame_luminance(camera, read_preview(camera, exposure, size, seed + i))
        nxt = ctrl.update(y, exposure)
        if ctrl.converged:
            return AeRun(exposures, y, i + 1, True)
        exposure = nxt
        exposures.append(exposure)
    return AeRun(exposures, y, max_frames, False)


def cell_grid(size: tuple[int, int]) -> ViewGrid:
    """The canvas grid of a preview whose width spans the content (u in [-1, 1])."""
    w, h = size
    step = 2.0 / w
    return ViewGrid(w, h, -1.0 + step / 2, -(h / w) + step / 2, step)


def subject_cells(es: ExposureScene, size: tuple[int, int]) -> np.ndarray:
    """(H/2, W/2) bool: CFA cells wholly inside the subject, one cell in from its edge."""
    cov = es.content.coverage(cell_grid(size), es.subject)
    h, w = cov.shape
    cells = cov[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2).min(axis=(1, 3))
    inside = cells > 0.999
    if es.subject is None:
        return inside
    from scipy.ndimage import binary_erosion

    return binary_erosion(inside, iterations=1)


def subject_error_ev(es: ExposureScene, y: np.ndarray, size: tuple[int, int]) -> float:
    """Where the subject landed against where its reflectance belongs, EV."""
    mask = subject_cells(es, size)
    target = MID_GREY_LEVEL * es.subject_reflectance / MID_GREY_REFLECTANCE
    return float(math.log2(float(y[mask].mean()) / target))


def right_exposure(camera: Camera, es: ExposureScene, size) -> Exposure:
    """The exposure that puts the subject where it belongs, found with the twin's knowledge of
    the scene (the subject's mask): used only to start the loop 4 EV away from it."""
    probe = Exposure(1e-3, 100.0, camera.module("main").fixed_lens.max_f)
    y = frame_luminance(camera, read_preview(camera, probe, size, 99))
    err = subject_error_ev(es, y, size)
    return Exposure(probe.exposure_s * 2.0**-err, probe.iso, probe.f_number)


def scene_trials(size=(160, 120), offsets_ev=(-4.0, 4.0), seed: int = 1):
    """Rows (scene, kind, mode, start offset EV, frames, converged, subject error EV)."""
    camera = twin_camera("chart:flat", seed)
    rows = []
    for es in exposure_scenes():
        camera.backend.set_scene(es.scene())
        right = right_exposure(camera, es, size)
        for off in offsets_ev:
            start = Exposure(right.exposure_s * 2.0**off, right.iso, right.f_number)
            run = run_ae(camera, AeSettings(metering=es.metering), start, size, seed)
            rows.append(
                (es.name, es.kind, es.metering, off, run.frames, run.converged,
                 subject_error_ev(es, run.y, size))
            )  # fmt: skip
    return rows


def colorchecker_grey_levels(
    luminances=(10, 30, 100, 300, 1000, 3000, 10000, 30000), size=(160, 120)
):
    """Rows (white luminance, exposure, mid-grey patch raw luminance, frames) after the AE
    loop (matrix, P) on the ColorChecker (D55). Patch 22 is the chart's 'neutral 5' (≈ 19 %)."""
    camera = twin_camera("chart:flat")
    rows = []
    for lum in luminances:
        camera.backend.set_scene(
            load_scene("chart:colorchecker", illuminant="D55", luminance_cd_m2=lum)
        )
        start = Exposure(1.0 / 60, 100.0, camera.module("main").fixed_lens.max_f)
        run = run_ae(camera, AeSettings(), start, size)
        rows.append((lum, run.exposures[-1], _patch_level(run.y, 21), run.frames))
    return rows


def _patch_level(y: np.ndarray, patch: int) -> float:
    h, w = y.shape
    # A chart with no field of view of its own is shown whole with a margin: canvas u in
    # [-1, 1] spans the frame's width / CONTAIN_MARGIN (its aspect is wider than the sensor's).
    k = w / 2.0 / CONTAIN_MARGIN
    u0, v0, u1, v1 = colorchecker_patch_boxes()[patch]
    du, dv = 0.3 * (u1 - u0), 0.3 * (v1 - v0)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    x0, x1 = math.ceil(cx + k * (u0 + du)), math.floor(cx + k * (u1 - du))
    y0, y1 = math.ceil(cy + k * (v0 + dv)), math.floor(cy + k * (v1 - dv))
    return float(y[y0:y1, x0:x1].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="160x120")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    rows = scene_trials(size)
    print(f"\nAE on {len(rows) // 2} procedural scenes, {args.size} previews, start ±4 EV\n")
    print("| scene | kind | metering | start (EV) | frames | subject error (EV) |")
    print("|---|---|---|---|---|---|")
    for name, kind, mode, off, frames, conv, err in rows:
        mark = "" if conv else " (not held)"
        print(f"| {name} | {kind} | {mode} | {off:+.0f} | {frames}{mark} | {err:+.2f} |")
    errs = np.array([r[-1] for r in rows])
    frames = np.array([r[4] for r in rows])
    within = np.mean(np.abs(errs) <= 1 / 3)
    print(
        f"\nwithin ±1/3 EV: {100 * within:.0f} % ({np.sum(np.abs(errs) <= 1 / 3)}/{len(errs)}); "
        f"largest |error| {np.abs(errs).max():.2f} EV; frames median {np.median(frames):.0f}, "
        f"max {frames.max()}"
    )
    grey = colorchecker_grey_levels(size=size)
    ref = grey[len(grey) // 2][2]
    print("\nColorChecker mid-grey (patch 22) after AE, matrix, P:\n")
    print("| white luminance (cd/m²) | shutter (s) | ISO | mid-grey raw Y | vs 1000 cd/m² (EV) |")
    print("|---|---|---|---|---|")
    for lum, exp, level, _ in grey:
        print(
            f"| {lum:g} | {exp.exposure_s:.3g} | {exp.iso:.0f} | {level:.4f} | "
            f"{math.log2(level / ref):+.2f} |"
        )


if __name__ == "__main__":
    main()
