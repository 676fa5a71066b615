"""The live preview stream (the Camera API's side of issue 13): preview readouts on a thread,
AE following the light frame by frame, captures pausing it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mountcam import Camera, SimulatedBackend
from mountcam.body import three_a
from mountcam.errors import InvalidSetting
from mountcam.scene import load_scene


def grey(luminance: float):
    return load_scene("chart:flat", reflectance=0.18, luminance_cd_m2=luminance)


def test_preview_frames_are_sensor_readouts_of_the_whole_field():
    camera = Camera(SimulatedBackend(grey(500), seed=1))
    with camera.start_preview(size=(256, 192)) as stream:
        frames = [stream.get() for _ in range(3)]
    assert not stream.running
    for f in frames:
        assert f.mosaic.shape == (192, 256) and f.metadata.mode == "preview"
        assert f.metadata.full_size == (192, 256) and f.calibration is not None
    # Each frame has noise of its own.
    assert not np.array_equal(frames[-1].mosaic, frames[-2].mosaic)
    with pytest.raises(InvalidSetting, match="sensor's shape"):
        camera.start_preview(size=(256, 256))


def test_ae_follows_a_four_stop_step_within_five_frames_without_overshoot():
    camera = Camera(SimulatedBackend(grey(100), seed=2))
    camera.set_controls(metering="average")
    steps = [camera.preview_step((256, 192)) for _ in range(4)]
    settled = steps[-1].metadata.exposure_s * steps[-1].metadata.iso
    camera.backend.set_scene(grey(1600))  # 4 EV brighter
    products = []
    for _ in range(5):
        f = camera.preview_step((256, 192))
        products.append(f.metadata.exposure_s * f.metadata.iso)
    target = settled / 16
    errors_ev = [math.log2(p / target) for p in products]
    assert abs(errors_ev[-1]) < 1 / 3 and abs(errors_ev[-2]) < 1 / 3  # converged, and stays
    assert min(errors_ev) > -1 / 3  # never darker than the target by more than 1/3 EV
    level, _ = three_a.green_level(f)  # on axis, where the lens's fall-off is nil
    h, w = level.shape
    centre = level[h // 2 - 8 : h // 2 + 8, w // 2 - 8 : w // 2 + 8].mean()
    assert centre == pytest.approx(three_a.TARGET_LEVEL, rel=0.05)


def test_a_capture_pauses_the_preview_and_it_goes_on():
    camera = Camera(SimulatedBackend("chart:colorchecker", seed=3))
    camera.configure(crop=(128, 96))
    with camera.start_preview(size=(256, 192)) as stream:
        stream.get()
        frame = camera.capture()
        before = stream.frames_read
        for _ in range(10):
            stream.get()
            if stream.frames_read > before:
                break
        assert stream.frames_read > before
    assert frame.mosaic.shape == (96, 128) and frame.metadata.mode == "binned"
