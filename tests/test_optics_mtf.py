"""Issue 3, acceptance 3: slanted-edge MTF50 at f/16 against diffraction × pixel aperture.

The edge is shot through the CLI onto a DNG and measured with the ISO 12233 e-SFR method on
the raw green plane (``mountcam.lab.mtf_from_dng``); the prediction is the polychromatic
diffraction OTF of the green channel's spectral response times the square pixel's aperture
MTF along the edge normal (``mountcam.lab.mtf_prediction.predicted_mtf``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import shoot
from mountcam.lab.mtf_prediction import mtf50_of, predicted_mtf
from mountcam.lab.sfr import mtf_from_dng
from mountcam.optics.imaging import on_axis_irradiance
from mountcam.optics.lens import LensState
from mountcam.optics.lens_catalogue import find_lens
from mountcam.scene import load_scene
from mountcam.sensor.model import load_sensor


@pytest.mark.parametrize(
    "lens_id, mode", [("summicron-m-50", "binned"), ("apo-summicron-m-90", "full")]
)
def test_mtf50_at_f16_matches_diffraction_and_pixel_aperture(tmp_path, lens_id, mode):
    res = shoot(
        tmp_path,
        "--scene",
        "chart:slanted-edge",
        "--module",
        "m",
        "--lens",
        lens_id,
        "--aperture",
        "16",
        "--mode",
        mode,
        "--crop",
        "320x320",
        "--iso",
        "100",
        "--ev",
        "2",
        "--count",
        "4",
        "--seed",
        "11",
    )
    measured = [mtf_from_dng(path, correct_binning=True) for path in res["files"]]
    angle = float(np.mean([abs(m.angle_deg) for m in measured]))
    assert 4.0 < angle < 6.0  # the ISO 12233 5° edge
    mtf50 = float(np.mean([m.mtf50_cy_px for m in measured]))

    model, lens, scene = load_sensor(), find_lens(lens_id), load_scene("chart:slanted-edge")
    green = model.photoelectron_weights(on_axis_irradiance(scene, lens, LensState(16.0)), mode)[
        :, 1
    ]
    nu = np.linspace(0.0, 0.5, 2001)
    predicted = mtf50_of(
        nu, predicted_mtf(nu, model.output_pitch_m(mode), 16.0, weights=green, angle_deg=angle)
    )
    assert mtf50 == pytest.approx(predicted, rel=0.05)
    assert math.isfinite(mtf50)
