"""Auto white balance accuracy on the twin (issue 12, acceptance 2).

    python bench/awb_accuracy.py [--scenes chart:colorchecker,sample:coffee,...] [--size 320x240]

Each scene is shot under each of ten lights (A, D50, D65, D75, FL2, FL11, 2800 K, 4300 K,
6500 K, 9000 K) as a preview-sized frame of the main module: a centred binned window of the
sensor with the scene's field of view narrowed to fill it (what a 320×240 live-view frame of
the whole scene would see), at a fixed exposure (2.5 ms, ISO 100: a reflectance-1 white at
about 60 % of clip for 1000 cd/m²) so the comparison is about colour, not metering. The
estimators see only the raw mosaic (DN, CFA phase, black and white level); the true camera
neutral of the light (the camera's response to a grey card under it) is used only to score:
angular error in camera RGB (Hordley & Finlayson 2006).

Rows: ``correlation`` (mountcam's AWB with the camera's spectral sensitivities, what the
camera writes as AsShotNeutral), ``correlation (matrices)`` (the same estimator knowing only
the DNG's colour matrices: what ``develop --wb auto`` uses), grey world, white patch and
shades of grey (p = 6, the develop auto before this change). Then ``develop --wb auto`` of the
ColorChecker shots: CIELAB a*, b* (D65 white, linear Rec.709 output) of the six grey patches.
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from mountcam.body.backend import SimulatedBackend
from mountcam.body.camera import Camera
from mountcam.body.settings import Controls
from mountcam.control import awb
from mountcam.develop import DevelopSettings, develop
from mountcam.develop.colour import ColourProfile
from mountcam.develop.pipeline import rawframe_info
from mountcam.dng.calibration import calibrate_dual
from mountcam.scene import colorchecker_patch_boxes, load_scene
from mountcam.sensor.model import load_sensor

ILLUMINANTS = ("A", "D50", "D65", "D75", "FL2", "FL11", "2800K", "4300K", "6500K", "9000K")
SCENES = (
    "chart:colorchecker",
    "sample:coffee",
    "sample:chelsea",
    "sample:astronaut",
    "sample:motorcycle",
    "sample:rocket",
)
#: Exposure of every shot (s at ISO 100): white at ~60 % of clip at 1000 cd/m².
EXPOSURE_S = 2.5e-3


def preview_frame(camera: Camera, scene_name: str, light: str, size: tuple[int, int], seed=1):
    """A preview-sized raw frame of the whole scene (see module docstring)."""
    module = camera.module("main")
    lens = module.fixed_lens
    pitch = module.sensor.output_pitch_m("binned")
    hfov = 2.0 * math.atan(size[0] * pitch / (2.0 * lens.focal_m))
    scene = load_scene(scene_name, illuminant=light).with_(hfov_rad=hfov)
    camera.backend.set_scene(scene)
    camera.backend.seed = seed
    camera.configure(crop=size)
    camera.set_controls(Controls.for_exposure(EXPOSURE_S, 100, focus_mode="manual"))
    frame = camera.capture()
    # Scored against a grey card under the same light: the twin's true camera neutral, set as
    # a custom white balance (the frame's own AsShotNeutral is the camera's auto estimate).
    frame.metadata.as_shot_neutral = camera.truth(frame).camera_neutral
    return frame


def shades_of_grey(cells: np.ndarray, p: float = 6.0) -> np.ndarray:
    """Finlayson & Trezzi (CIC 2004), p = 6: the develop auto white balance before issue 12."""
    use = cells[(cells.max(axis=1) < 0.95) & (cells.max(axis=1) > 0.01)]
    est = np.power(np.mean(np.power(np.clip(use, 0, None), p), axis=0), 1.0 / p)
    return est / est.max()


def grey_patch_ab(frame, wb: str, calibration) -> np.ndarray:
    """(6, 2) CIELAB a*, b* of the ColorChecker's grey patches after ``develop --wb wb``."""
    info = rawframe_info(frame, calibration)
    img = develop(info, DevelopSettings(wb=wb, linear=True)).pixels
    h, w = img.shape[:2]
    # The scene's field of view is the frame's: canvas u in [-1, 1] spans the frame's width
    # (the developed image is the DNG's DefaultCrop, centred on the frame).
    k = frame.width / 2.0
    cx, cy = (w - 1) / 2, (h - 1) / 2
    rgb = []
    for u0, v0, u1, v1 in colorchecker_patch_boxes()[18:24]:
        du, dv = (u1 - u0) * 0.3, (v1 - v0) * 0.3
        x0, x1 = int(math.ceil(cx + k * (u0 + du))), int(math.floor(cx + k * (u1 - du)))
        y0, y1 = int(math.ceil(cy + k * (v0 + dv))), int(math.floor(cy + k * (v1 - dv)))
        rgb.append(img[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0))
    return lab_ab(np.array(rgb))


def lab_ab(linear_rec709: np.ndarray) -> np.ndarray:
    """a*, b* (n, 2) of linear Rec.709 / sRGB values, D65 white (CIE 015:2018 §8.2.1)."""
    m = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )  # IEC 61966-2-1
    xyz = linear_rec709 @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", default=",".join(SCENES))
    parser.add_argument("--size", default="320x240")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    qe = load_sensor("imx989").qe
    calibration = calibrate_dual(qe)
    profile = ColourProfile(calibration.color_matrix_1, 2850.0, calibration.color_matrix_2, 6500.0)
    estimators = {
        "correlation (spectral, AsShotNeutral)": awb.model_from_quantum_efficiency(qe),
        "correlation (DNG matrices, develop --wb auto)": awb.model_from_colour_matrices(
            profile.xyz_to_camera
        ),
    }
    camera = Camera(SimulatedBackend(seed=1))
    errors: dict[str, dict[str, list[float]]] = {}
    ab_rows = []
    seconds = []
    for scene in args.scenes.split(","):
        for light in ILLUMINANTS:
            frame = preview_frame(camera, scene, light, size)
            truth = np.asarray(frame.metadata.as_shot_neutral)  # the grey card: scoring only
            cells = awb.cfa_cells(
                frame.mosaic, frame.cfa_pattern, frame.black_level_dn, frame.white_level_dn
            )
            ests = {}
            for name, model in estimators.items():
                t0 = time.perf_counter()
                ests[name] = awb.estimate_neutral(cells, model).neutral
                seconds.append(time.perf_counter() - t0)
            ests["grey world"] = awb.grey_world(cells)
            ests["white patch"] = awb.white_patch(cells)
            ests["shades of grey p=6 (old develop auto)"] = shades_of_grey(cells)
            for name, est in ests.items():
                errors.setdefault(name, {}).setdefault(scene, []).append(
                    awb.angular_error_deg(est, truth)
                )
            if scene == "chart:colorchecker":
                auto = np.abs(grey_patch_ab(frame, "auto", calibration)).max(axis=0)
                shot = np.abs(grey_patch_ab(frame, "as-shot", calibration)).max(axis=0)
                ab_rows.append((light, auto, shot))

    scenes = args.scenes.split(",")
    print(f"\nAngular error (°) over {len(scenes)} scenes × {len(ILLUMINANTS)} lights, {args.size}")
    print(
        "\n| estimator | median | 90th pct | max | "
        + " | ".join(f"{s.split(':')[1]} median" for s in scenes)
        + " |"
    )
    print("|---|---|---|---|" + "---|" * len(scenes))
    for name, per_scene in errors.items():
        all_e = np.concatenate([np.asarray(v) for v in per_scene.values()])
        cols = " | ".join(f"{np.median(per_scene[s]):.2f}" for s in scenes)
        print(
            f"| {name} | {np.median(all_e):.2f} | {np.percentile(all_e, 90):.2f} | "
            f"{all_e.max():.2f} | {cols} |"
        )
    print(f"\ncorrelation estimate: {1e3 * np.median(seconds):.0f} ms per frame (median)")
    if ab_rows:
        print("\n`develop --wb auto`, ColorChecker grey patches 19-24, largest |a*| and |b*|:\n")
        print(
            "| light | auto: max abs a* | auto: max abs b* | true neutral: a* | true neutral: b* |"
        )
        print("|---|---|---|---|---|")
        for light, (a, b), (ta, tb) in ab_rows:
            print(f"| {light} | {a:.2f} | {b:.2f} | {ta:.2f} | {tb:.2f} |")


if __name__ == "__main__":
    main()
