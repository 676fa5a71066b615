"""Render one sample: the camera (the twin behind the Camera API) shoots what the parameters say.

The DNG is what the camera writes, decided from its own frames (metering, white balance); the
truth — the noise-free image on the DNG's pixel grid, the true camera neutral of the light,
the lens really attached and how its rings are set — comes from the twin's truth record,
never from a decision. The truth image is written as an uncompressed float16 TIFF: a training
loader reads it with one contiguous read (tifffile memory-maps it; no decompression), it is
half the bytes of float32, and float16's relative step 2⁻¹¹ ≈ 0.05 % is below the relative
shot noise 1/√N of even a full pixel (6000 e⁻ full, 24 000 e⁻ binned: 1.3 % and 0.65 %), so the rounding is
invisible beside the noise of the raw it is paired with.
"""

from __future__ import annotations

import io
import math
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from mountcam.dataset.plan import SampleParams
from mountcam.dataset.spec import Spec


@dataclass
class RenderedSample:
    """The bytes of a sample's files and what was measured making them."""

    dng: bytes
    truth_tiff: bytes | None
    info: dict
    render_s: float


@lru_cache(maxsize=8)
def _builtin_scene(name: str):
    from mountcam.scene import load_scene

    return load_scene(name)


def scene_for(spec: Spec, params: SampleParams):
    """The scene of a sample, with its light (a random scene gets the sample's own seed)."""
    from mountcam.scene import illuminant

    if params.scene == "random:dead-leaves":
        from mountcam.scene.dead_leaves import dead_leaves_scene

        scene = dead_leaves_scene(params.scene_seed)
    elif params.scene.startswith("folder:"):
        from mountcam.scene import load_scene

        path = params.scene.removeprefix("folder:")
        depth = dict(spec.folder_images).get(path)
        scene = load_scene(path, depth_path=depth, hfov_deg=spec.folder_hfov_deg)
    else:
        scene = _builtin_scene(params.scene)
    return scene.with_(
        illuminant=illuminant(params.illuminant), white_luminance_cd_m2=params.luminance_cd_m2
    )


def render_sample(spec: Spec, params: SampleParams) -> RenderedSample:
    """Shoot sample ``params`` of ``spec`` and return its DNG and truth bytes."""
    from mountcam.body.backend import SimulatedBackend
    from mountcam.body.camera import Camera
    from mountcam.dng.writer import write_dng

    start = time.perf_counter()
    backend = SimulatedBackend(
        scene_for(spec, params), seed=params.noise_seed, truth_image=spec.truth
    )
    camera = Camera(backend)
    camera.configure(module=params.module, mode=params.mode, bits=params.bits, crop=spec.crop)
    if params.module == "m":
        lens = camera.attach_lens(params.lens)
        focus = max(params.focus_m, lens.min_focus_m)
        camera.set_lens(f_number=params.f_number, focus_m=focus)
    else:
        lens = camera.module().lens
        focus = max(params.focus_m, lens.min_focus_m)
        camera.set_lens(focus_m=focus)
    program = "M" if params.shutter_s and params.iso else "S" if params.shutter_s else "P"
    camera.set_controls(
        program=program,
        exposure_s=params.shutter_s,
        iso=params.iso,
        ev=params.ev,
        focus_mode="manual",
    )
    frame = camera.capture()
    truth = camera.truth(frame)
    with tempfile.TemporaryDirectory(prefix="mountcam-sample-") as folder:
        path = Path(folder) / "sample.dng"
        write_dng(frame, path)
        dng = path.read_bytes()
    truth_tiff = None
    if spec.truth and truth is not None and truth.image is not None:
        import tifffile

        buffer = io.BytesIO()
        tifffile.imwrite(buffer, truth.image.astype(np.float16), photometric="rgb")
        truth_tiff = buffer.getvalue()
    meta = frame.metadata
    info = {
        "width": frame.width,
        "height": frame.height,
        "cfa_pattern": frame.cfa_pattern,
        "exposure_s": meta.exposure_s,
        "iso_set": meta.iso,
        "focus_set_m": None if math.isinf(focus) else focus,
        "as_shot_neutral": list(meta.as_shot_neutral),
        "black_level_dn": list(frame.black_level_dn),
        "white_level_dn": frame.white_level_dn,
        "true_camera_neutral": list(truth.camera_neutral) if truth else None,
        "true_f_number": truth.f_number if truth else None,
    }
    return RenderedSample(dng, truth_tiff, info, time.perf_counter() - start)
