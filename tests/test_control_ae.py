"""Auto exposure (control.ae): metering modes on arrays, programs, and the preview loop on the
twin (procedural scenes of lab.exposure_scenes; the full 28-scene run is
``python -m mountcam.lab.exposure_trials``, docs/3a.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mountcam.control import ae
from mountcam.control.ae import AeController, AeSettings, Exposure, ExposureLimits
from mountcam.errors import InvalidSetting
from mountcam.lab import exposure_trials as trials
from mountcam.lab.exposure_scenes import exposure_scenes

SIZE = (128, 96)
LIMITS = ExposureLimits(1 / 16000, 30.0, 100.0, 25600.0, 1 / 46)


# ---- metering on arrays -------------------------------------------------------------------


def test_iso_12232_target_and_luminance_weights() -> None:
    assert ae.MID_GREY_LEVEL == pytest.approx(10 / 78)
    # A ColorMatrix normalised per DNG: its white (Y = 1) reads max 1 -> Y of that neutral is 1.
    cm = np.array([[0.9, 0.3, -0.1], [-0.2, 1.1, 0.1], [0.0, -0.1, 0.6]])
    white = np.array([0.9505, 1.0, 1.089])
    cm = cm / (cm @ white).max()
    w = ae.luminance_weights(cm)
    assert w @ (cm @ white) == pytest.approx(1.0)


def test_spot_reads_only_the_spot() -> None:
    y = np.full((90, 120), 0.9)
    y[40:50, 55:65] = 0.05  # a dark subject at the centre, 3.5 % spot fits inside
    y[30:60, 45:75] = 0.05
    r = ae.meter(y, "spot")
    assert r.level == pytest.approx(0.05)
    assert ae.meter(y, "spot", spot=(0.1, 0.1)).level == pytest.approx(0.9)


def test_centre_weighted_gives_the_centre_three_quarters() -> None:
    y = np.zeros((90, 120))
    yy, xx = np.mgrid[0:90, 0:120]
    inner = (xx + 0.5 - 60) ** 2 + (yy + 0.5 - 45) ** 2 <= (0.125 * 120) ** 2
    y[inner] = 1.0
    assert ae.meter(y, "centre").level == pytest.approx(0.75)


def test_highlight_weighted_places_the_brightest_as_a_diffuse_white() -> None:
    y = np.full((90, 120), 0.1)
    y[:20] = 0.5
    r = ae.meter(y, "highlight")
    assert r.level == pytest.approx(0.5)
    assert r.target_level == pytest.approx(ae.MID_GREY_LEVEL * 0.9 / 0.18)


def test_matrix_ignores_a_small_window_but_protects_a_large_highlight() -> None:
    room = np.full((90, 120), 0.128)
    plain = ae.meter(room, "matrix").error_ev
    assert plain == pytest.approx(0.0, abs=0.01)
    window = room.copy()
    window[10:20, 10:20] = 0.98  # 1 % of the frame, clipped
    assert abs(ae.meter(window, "matrix").error_ev) < 0.2  # an average meter: -0.6 EV
    sky = room.copy()
    sky[:30] = 0.8  # a third of the frame would clip at the average exposure, by < 1 EV
    r = ae.meter(sky, "matrix")
    gain = 2.0**r.error_ev
    assert 0.8 * gain <= ae.HIGHLIGHT_SAFE_LEVEL + 1e-6


def test_clipped_frame_steps_down_harder() -> None:
    ctrl = AeController(AeSettings(metering="highlight"), LIMITS)
    now = Exposure(0.01, 100, 1.9)
    nxt = ctrl.update(np.ones((30, 40)), now)
    # Bound from the clipped reading: log2(0.64) = -0.64 EV; one more EV because it is a bound.
    assert math.log2(nxt.product / now.product) == pytest.approx(math.log2(0.64) - 1.0, abs=0.01)


# ---- programs -----------------------------------------------------------------------------


def test_program_line_auto_iso_and_slowest_shutter() -> None:
    assert ae.slowest_handheld_shutter_s(8.7, 2.64) == pytest.approx(1 / 45.9, rel=1e-3)
    p = AeSettings()
    bright = ae.plan_exposure(Exposure(1e-3, 100, 1.9), 0.0, p, LIMITS)
    assert bright.iso == 100 and bright.exposure_s == pytest.approx(1e-3)
    dim = ae.plan_exposure(Exposure(1e-3, 100, 1.9), 6.0, p, LIMITS)  # 64x the light needed
    # t·S = 6.4 at the slowest handheld 1/46 s: ISO 294 (whole ISOs), t adjusted to match.
    assert dim.iso == 294 and dim.exposure_s == pytest.approx(1 / 46, rel=0.01)
    assert dim.product == pytest.approx(6.4 / 1.9**2, rel=1e-9)
    dark = ae.plan_exposure(Exposure(1e-3, 100, 1.9), 14.0, p, LIMITS)
    assert dark.iso == 6400 and dark.exposure_s > 1 / 46  # auto ISO at its ceiling, then longer
    assert dark.product == pytest.approx(1e-3 * 100 / 1.9**2 * 2**14, rel=1e-3)


def test_aperture_shutter_manual_lock_and_compensation() -> None:
    now = Exposure(1e-3, 100, 1.9)
    a = ae.plan_exposure(now, 0.0, AeSettings(program="A", f_number=4.0), LIMITS)
    assert a.f_number == 4.0 and a.exposure_s == pytest.approx(1e-3 * (4.0 / 1.9) ** 2)
    s = ae.plan_exposure(now, 2.0, AeSettings(program="S", shutter_s=1e-3), LIMITS)
    assert s.exposure_s == 1e-3 and s.iso == 400
    m = AeSettings(program="M", shutter_s=1 / 60, iso=800)
    assert ae.plan_exposure(now, 3.0, m, LIMITS) == Exposure(1 / 60, 800, 1.9)
    assert ae.plan_exposure(now, 3.0, AeSettings(lock=True), LIMITS) == now
    plus = ae.plan_exposure(now, 0.0, AeSettings(ev_compensation=1.0), LIMITS)
    assert plus.product == pytest.approx(2 * now.product)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"ev_compensation": 0.5}, "1/3 step"),
        ({"ev_compensation": 5 + 1 / 3}, "-5 to +5"),
        ({"program": "X"}, "P, A, S, M"),
        ({"metering": "average"}, "matrix, centre, spot, highlight"),
        ({"program": "S"}, "shutter"),
        ({"program": "M", "shutter_s": 0.01}, "ISO"),
        ({"spot": (1.5, 0.5)}, "outside the frame"),
    ],
)
def test_impossible_settings_say_what_is_allowed(kwargs, words) -> None:
    with pytest.raises(InvalidSetting, match=words.replace("+", r"\+")):
        AeSettings(**kwargs)
    assert AeSettings(ev_compensation=-5.0).ev_compensation == -5.0
    assert AeSettings(ev_compensation=2 / 3).ev_compensation == pytest.approx(2 / 3)


# ---- the preview loop on the twin ---------------------------------------------------------


@pytest.fixture(scope="module")
def camera():
    return trials.twin_camera("chart:flat", seed=3)


def scene_named(name):
    return next(s for s in exposure_scenes() if s.name == name)


@pytest.mark.parametrize("offset", [-4.0, 4.0])
def test_loop_converges_after_a_4_ev_step_without_overshoot(camera, offset) -> None:
    es = scene_named("average-1")
    camera.backend.set_scene(es.scene())
    right = trials.right_exposure(camera, es, SIZE)
    start = Exposure(right.exposure_s * 2**offset, right.iso, right.f_number)
    run = trials.run_ae(camera, AeSettings(), start, SIZE)
    assert run.converged and run.frames <= 5
    ev = [math.log2(e.product / right.product) for e in run.exposures]
    # Monotone approach (no oscillation), never past the right exposure by more than 1/3 EV.
    steps = np.diff(ev)
    assert np.all(np.sign(steps) == -np.sign(offset))
    assert max(-np.sign(offset) * np.array(ev)) <= 1 / 3
    assert abs(trials.subject_error_ev(es, run.y, SIZE)) <= 1 / 3


def test_loop_follows_the_light_changing_by_4_ev(camera) -> None:
    """Converged on a scene, the light jumps 16× brighter: ≤ 5 frames to settle again."""
    es = scene_named("average-2")
    scene = es.scene()
    camera.backend.set_scene(scene)
    start = Exposure(1 / 200, 100, 1.9)
    first = trials.run_ae(camera, AeSettings(), start, SIZE)
    camera.backend.set_scene(scene.with_(white_luminance_cd_m2=16 * scene.white_luminance_cd_m2))
    second = trials.run_ae(camera, AeSettings(), first.exposures[-1], SIZE, seed=50)
    assert second.converged and second.frames <= 5
    change = math.log2(second.exposures[-1].product / first.exposures[-1].product)
    assert change == pytest.approx(-4.0, abs=1 / 3)
    ev = [math.log2(e.product / first.exposures[-1].product) for e in second.exposures]
    assert min(ev) >= -4.0 - 1 / 3 and np.all(np.diff(ev) <= 0)


def test_ae_lock_holds_while_the_light_changes(camera) -> None:
    camera.backend.set_scene(scene_named("average-1").scene())
    start = Exposure(1 / 200, 100, 1.9)
    run = trials.run_ae(camera, AeSettings(lock=True), start, SIZE, max_frames=2)
    assert all(e == start for e in run.exposures)


@pytest.mark.parametrize(
    "name", ["backlit-2", "high-key-1", "low-key-3", "window-2", "spot-lit-3", "portrait-1"]
)
def test_subject_lands_on_target_with_the_mode_that_suits_it(camera, name) -> None:
    """Acceptance 3 (a subset; the bench runs all 28 scenes from ±4 EV)."""
    es = scene_named(name)
    camera.backend.set_scene(es.scene())
    right = trials.right_exposure(camera, es, SIZE)
    start = Exposure(right.exposure_s * 2**-4, right.iso, right.f_number)
    run = trials.run_ae(camera, AeSettings(metering=es.metering), start, SIZE)
    assert abs(trials.subject_error_ev(es, run.y, SIZE)) <= 1 / 3
    # ... where an average meter would not have been: it lets the sky decide.
    if es.kind == "backlit":
        assert math.log2(ae.MID_GREY_LEVEL / float(run.y.mean())) < -2.0


def test_colorchecker_mid_grey_holds_from_10_to_30000_cd_m2() -> None:
    rows = trials.colorchecker_grey_levels(luminances=(10, 1000, 30000), size=SIZE)
    levels = np.array([r[2] for r in rows])
    assert np.all(np.abs(np.log2(levels / levels[1])) <= 1 / 3)
    assert rows[0][1].iso > 100 and rows[0][1].exposure_s == pytest.approx(1 / 45.9, rel=0.02)
