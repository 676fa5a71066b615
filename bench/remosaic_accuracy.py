"""The full read-out's remosaic against an ideal Bayer sensor (issue 11 §1, acceptance 1).

For each scene, four captures of the same window through the Camera API on the twin (main
module, ``--crop 1024x768``, ISO 100, seed 1, average metering, with the truth image):

* ``binned``: the 2×2-binned read-out (a Bayer mosaic at 3.2 µm), for reference;
* ``full, nearest mean``: the full read-out with the naive remosaic the twin had before
  (:func:`mountcam.sensor.cfa.remosaic_nearest_mean`), the very same photodiode read-out;
* ``full, remosaic``: the full read-out as ``shoot --mode full`` makes it
  (:mod:`mountcam.sensor.remosaic`);
* ``ideal Bayer``: ``shoot --mode full --cfa bayer``, a Bayer sensor of the same 1.6 µm pitch.

Each DNG is developed by ``develop --linear --quality high``'s pipeline, in float
(:func:`mountcam.lab.demosaic_accuracy.mountcam_output`, lens corrections off: the truth is the
optical image with the lens's fall-off) and scored by CPSNR against the noise-free truth
(:func:`mountcam.lab.demosaic_accuracy.cpsnr`: sRGB-encoded, 10-px border, exposure matched).
Acceptance: full read-out within 2 dB of the ideal Bayer sensor (aim 1 dB).

Also timed: the remosaic of a whole 50 MP (8192×6144) read-out, best of 3, warm.

Run: ``.venv/bin/python bench/remosaic_accuracy.py [--crop 1024x768] [--pictures DIR]``;
``--pictures`` writes the star's centre, before/after/ideal/truth, as PNG crops.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from mountcam.body.backend import SimulatedBackend
from mountcam.body.camera import Camera
from mountcam.body.settings import Controls
from mountcam.dng import DEMOSAIC_MARGIN_PX, write_dng
from mountcam.lab.demosaic_accuracy import cpsnr, mountcam_output
from mountcam.optics.imaging import form_image
from mountcam.optics.lens import LensState, load_lens
from mountcam.scene import load_scene
from mountcam.sensor.capture import electron_rate, read_out, readout_window, remosaic_gains
from mountcam.sensor.cfa import remosaic_nearest_mean
from mountcam.sensor.model import SensorSettings
from mountcam.sensor.rawframe import RawFrame
from mountcam.sensor.remosaic import remosaic

SCENES = ("chart:siemens-star", "chart:slanted-edge", "sample:motorcycle", "sample:astronaut")
KINDS = ("binned", "full, nearest mean", "full, remosaic", "ideal Bayer")


def _calibration():
    from mountcam.dng.calibration import calibrate_dual
    from mountcam.sensor.model import load_sensor

    return calibrate_dual(load_sensor("imx989").qe)


def _capture(scene, mode: str, cfa: str, crop: tuple[int, int]):
    """(camera, frame, truth record) of one capture: main module, ISO 100, metered, seed 1."""
    camera = Camera(SimulatedBackend(scene, seed=1, truth_image=True, sensor_cfa=cfa))
    camera.configure(module="main", mode=mode, bits=12, crop=crop)
    camera.set_controls(Controls.for_exposure(None, 100.0, metering="average"))
    (frame,) = camera.capture_frames(1)
    return camera, frame, camera.truth(frame)


def _photodiodes(camera: Camera, scene, frame, truth, crop):
    """The Quad Bayer read-out behind ``frame`` (before its remosaic), re-made from its
    settings, lens state and seed: the same noise, photodiode for photodiode."""
    backend = camera.backend
    model = backend.sensor_model
    md = frame.metadata
    op = model.operating_point(
        SensorSettings(md.mode, md.bits, md.iso, md.exposure_s, md.temperature_c)
    )
    window = readout_window(model, "full", crop)
    lens = load_lens(truth.lens_id)
    optical = form_image(scene, lens, LensState(truth.f_number, truth.focus_m), window)
    rate = electron_rate(model, optical, window, "full", "quad")
    quad = read_out(model, op, rate, window, md.exposure_s, md.seed, md.frame_index)
    return quad, op, window, model


def score_scene(name: str, crop: tuple[int, int], tmp: Path, pictures: Path | None) -> dict:
    scene = load_scene(name)
    m = DEMOSAIC_MARGIN_PX
    calibration = _calibration()
    frames, truths = {}, {}
    _, frames["binned"], truths["binned"] = _capture(scene, "binned", "quad", crop)
    camera, quad, truth = _capture(scene, "full", "quad", crop)
    frames["full, remosaic"], truths["full, remosaic"] = quad, truth
    _, frames["ideal Bayer"], truths["ideal Bayer"] = _capture(scene, "full", "bayer", crop)
    photodiodes, op, window, model = _photodiodes(camera, scene, quad, truth, crop)
    again = remosaic(
        photodiodes,
        model.cfa_pattern,
        (window.origin_row, window.origin_col),
        black_level_dn=op.black_level_dn,
        white_level_dn=float(op.white_level_dn),
        channel_gains=remosaic_gains(model),
    )
    if not np.array_equal(again, quad.mosaic):
        raise AssertionError("the re-made read-out is not the capture's")
    naive = remosaic_nearest_mean(
        photodiodes, model.cfa_pattern, (window.origin_row, window.origin_col)
    )
    frames["full, nearest mean"] = RawFrame(
        naive, quad.cfa_pattern, quad.black_level_dn, quad.white_level_dn, quad.metadata
    )
    truths["full, nearest mean"] = truth
    scores, outputs = {}, {}
    for kind in KINDS:
        path = tmp / f"{name.replace(':', '_')}_{kind.replace(' ', '_').replace(',', '')}.dng"
        write_dng(frames[kind], path, calibration=calibration, lens_corrections=False)
        out = mountcam_output(path, "high")
        reference = truths[kind].image[m:-m, m:-m]
        scores[kind] = cpsnr(out, reference)
        outputs[kind] = (out, reference)
        path.unlink()
    if pictures is not None and name == "chart:siemens-star":
        _save_crops(outputs, pictures)
    return scores


def _save_crops(outputs: dict, folder: Path) -> None:
    """The star's centre (160×120 px, shown at 3×) from each kind, exposure-matched, sRGB."""
    import cv2

    from mountcam.dng.preview import srgb_encode

    folder.mkdir(parents=True, exist_ok=True)
    names = {
        "full, nearest mean": "remosaic-star-before.png",
        "full, remosaic": "remosaic-star-after.png",
        "ideal Bayer": "remosaic-star-ideal-bayer.png",
    }
    for kind, file in list(names.items()) + [("truth", "remosaic-star-truth.png")]:
        out, truth = outputs["full, remosaic" if kind == "truth" else kind]
        image = truth if kind == "truth" else out * float((out * truth).sum() / (out * out).sum())
        h, w = image.shape[:2]
        crop = image[h // 2 - 60 : h // 2 + 60, w // 2 - 80 : w // 2 + 80]
        encoded = np.round(srgb_encode(np.clip(crop, 0, 1)) * 255).astype(np.uint8)
        big = np.repeat(np.repeat(encoded, 3, axis=0), 3, axis=1)
        cv2.imwrite(str(folder / file), big[..., ::-1])


def time_remosaic(repeat: int = 3) -> tuple[float, float]:
    """Seconds (best of ``repeat``) of both remosaics on a whole 8192×6144 read-out."""
    from mountcam.sensor.model import load_sensor

    model = load_sensor("imx989")
    rng = np.random.default_rng(0)
    tile = rng.integers(300, 3800, size=(768, 1024)).astype(np.uint16)
    quad = np.tile(tile, (8, 8))
    gains = remosaic_gains(model)
    best_new = best_old = float("inf")
    remosaic(quad[:64, :64], black_level_dn=256.0, white_level_dn=4095.0, channel_gains=gains)
    remosaic_nearest_mean(quad[:64, :64])
    for _ in range(repeat):
        t0 = time.perf_counter()
        remosaic(quad, black_level_dn=256.0, white_level_dn=4095.0, channel_gains=gains)
        best_new = min(best_new, time.perf_counter() - t0)
        t0 = time.perf_counter()
        remosaic_nearest_mean(quad)
        best_old = min(best_old, time.perf_counter() - t0)
    return best_new, best_old


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crop", default="1024x768")
    parser.add_argument("--scenes", default=",".join(SCENES))
    parser.add_argument("--pictures", type=Path, default=None)
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args()
    w, h = (int(v) for v in args.crop.lower().split("x"))
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.scenes.split(","):
            rows[name] = score_scene(name, (w, h), Path(tmp), args.pictures)
            print(name, {k: round(v, 2) for k, v in rows[name].items()}, flush=True)
    print()
    print(f"load: {os.getloadavg()[0]:.1f} (1-min average)")
    print()
    print(f"CPSNR (dB) of develop --linear --quality high against --truth, --crop {args.crop}:")
    print()
    print("| scene | " + " | ".join(KINDS) + " | remosaic − ideal Bayer |")
    print("|---" * (len(KINDS) + 2) + "|")
    worst = 0.0
    for name, s in rows.items():
        gap = s["full, remosaic"] - s["ideal Bayer"]
        worst = min(worst, gap)
        cells = " | ".join(f"{s[k]:.2f}" for k in KINDS)
        print(f"| {name} | {cells} | {gap:+.2f} |")
    print()
    verdict = "PASS" if worst >= -2.0 else "FAIL"
    aim = "met" if worst >= -1.0 else "not met"
    print(f"worst gap {worst:+.2f} dB (acceptance ≥ −2 dB: {verdict}; aim ≥ −1 dB: {aim})")
    if not args.no_timing:
        new, old = time_remosaic()
        print()
        print(
            f"remosaic of a whole 8192×6144 read-out (best of 3, warm): {new:.3f} s "
            f"(nearest mean {old:.3f} s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
