"""Contrast autofocus (control.af): the focus measure, depth of field, the loop on a synthetic
defocus model (fast, many distances) and on the twin (a few trials; the 100-trial acceptance
run is ``python -m mountcam.lab.focus_trials``, docs/3a.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from mountcam.control import af
from mountcam.control.af import ContrastAf, FocusTravel
from mountcam.errors import InvalidSetting

#: The main module: 8.7 mm f/1.9, 10 cm close focus, 1-inch (crop 2.64).
TRAVEL = FocusTravel.of_lens(8.7, 1.9, 0.1, 2.64)
PITCH_M = 3.2e-6  # binned pixel


def texture(seed: int = 0, n: int = 96) -> np.ndarray:
    """A 1/f-like texture (octaves of smoothed noise, equal contrast each), 0.1 to 0.9."""
    rng = np.random.default_rng(seed)
    t = sum(
        (lambda x: (x - x.mean()) / x.std())(gaussian_filter(rng.normal(size=(n, n)), s))
        for s in (0.7, 1.5, 3.0, 6.0)
    )
    return 0.5 + 0.4 * np.tanh(t / 4)


def synthetic_frame(scene, focus_m, subject_m, seed, level=800.0, read_dn=3.0):
    """A Bayer-free stand-in for a frame: the scene blurred by the thin-lens defocus disc (as
    a Gaussian of the same second moment, σ = c/4), photon and read noise, as a 'mosaic'
    whose four sites are one grey plane (the measure reads the greens)."""
    c_px = TRAVEL.blur_m(focus_m, subject_m) / PITCH_M
    img = gaussian_filter(scene, c_px / 4.0) if c_px > 0.05 else scene
    rng = np.random.default_rng(seed)
    e = img * level
    dn = rng.poisson(e) + rng.normal(0.0, read_dn, e.shape) + 64.0
    mosaic = np.repeat(np.repeat(dn, 2, axis=0), 2, axis=1)
    return np.clip(mosaic, 0, 4095).astype(np.uint16)


def run_loop(subject_m, start_m, scene=None, seed=0):
    scene = texture(seed) if scene is None else scene
    loop = ContrastAf(TRAVEL, start_m)
    k = 0
    while loop.next_focus_m is not None:
        frame = synthetic_frame(scene, loop.next_focus_m, subject_m, seed * 1000 + k)
        loop.observe(frame, "RGGB", (64.0,) * 4)
        k += 1
    return loop.result


def test_depth_of_field_against_the_hyperfocal_formulas() -> None:
    f, n, c = 8.7e-3, 1.9, 0.030e-3 / 2.64
    h = f * f / (n * c) + f
    near, far = af.depth_of_field_m(TRAVEL, math.inf)
    assert near == pytest.approx(h) and far == math.inf
    near, far = af.depth_of_field_m(TRAVEL, h)  # focused at H: H/2 to infinity
    assert near == pytest.approx(h / 2, rel=1e-3) and far == math.inf
    near, far = af.depth_of_field_m(TRAVEL, 0.5)
    assert near < 0.5 < far and 1 / near - 1 / far == pytest.approx(2 * n * c / f**2, rel=0.05)


def test_focus_measure_ignores_exposure_and_noise_falls_with_blur() -> None:
    scene = texture(1)
    sharp = af.focus_measure(scene * 1000)
    assert af.focus_measure(scene * 250) == pytest.approx(sharp, rel=1e-9)
    blurred = [af.focus_measure(gaussian_filter(scene, s) * 1000) for s in (0.5, 1, 2, 4)]
    assert sharp > blurred[0] > blurred[1] > blurred[2] > blurred[3]
    rng = np.random.default_rng(2)
    flat_noisy = 500 + rng.normal(0, 20, (96, 96))  # a uniform patch: noise, no subject
    assert af.focus_measure(flat_noisy) < 0.1 * af.MIN_CONTRAST
    noisy = scene * 1000 + rng.normal(0, 20, scene.shape)
    assert af.focus_measure(noisy) == pytest.approx(sharp, rel=0.15)  # noise removed


def test_noise_sigma_is_the_white_noise_sigma() -> None:
    rng = np.random.default_rng(3)
    assert af.noise_sigma(rng.normal(0, 7.0, (200, 200))) == pytest.approx(7.0, rel=0.05)


@pytest.mark.parametrize(
    "subject_m, start_m",
    [(0.1, math.inf), (0.13, 0.5), (0.3, 0.1), (1.0, 0.2), (3.0, math.inf), (1e4, 0.1)],
)
def test_loop_lands_within_the_in_focus_tolerance(subject_m, start_m) -> None:
    """On the synthetic defocus model the loop ends within 0.05 D of the subject (the twin's
    MTF50 stays above 90 % within about ±0.07 D, docs/3a.md) in at most 20 frames."""
    r = run_loop(subject_m, start_m, seed=int(subject_m * 100) % 7)
    assert abs(1 / r.focus_m - 1 / subject_m) < 0.05
    assert r.in_focus and r.dof_near_m <= subject_m <= r.dof_far_m
    assert r.frames <= 20
    assert len(r.trace) == r.frames


def test_no_contrast_and_too_close_are_reported_not_in_focus() -> None:
    flat = np.full((96, 96), 0.5)
    r = run_loop(1.0, math.inf, scene=flat)
    assert not r.in_focus and "no contrast" in r.reason
    h_near, _ = af.depth_of_field_m(TRAVEL, math.inf)
    assert r.focus_m == pytest.approx(h_near)  # parked at the hyperfocal distance
    close = run_loop(0.095, math.inf)  # 9.5 cm: closer than the lens focuses (10 cm)
    assert not close.in_focus and "closer" in close.reason
    assert close.focus_m == pytest.approx(0.1, rel=0.02)
    much_closer = run_loop(0.05, math.inf)  # so blurred everywhere that nothing registers
    assert not much_closer.in_focus


def test_a_lone_coarse_frame_over_the_threshold_is_not_a_subject() -> None:
    """Detail in one coarse frame and in none of the fine frames around it (the noise of a
    uniform region at a high ISO can do that): not a focus lock on noise, but no contrast."""
    flat = np.full((96, 96), 0.5)
    loop = ContrastAf(TRAVEL, math.inf)
    seen: set[float] = set()
    k = 0
    while loop.next_focus_m is not None:
        d = round(1.0 / loop.next_focus_m, 6)
        lone = d == 2.0 and d not in seen  # the first visit of 2 D only
        seen.add(d)
        frame = synthetic_frame(texture(3) if lone else flat, loop.next_focus_m, 0.5, seed=k)
        loop.observe(frame, "RGGB", (64.0,) * 4)
        k += 1
    r = loop.result
    assert 2.0 in seen and len(seen) > 6  # the coarse sweep reached 2 D and went past it
    assert not r.in_focus and "no contrast" in r.reason


def test_detail_as_sharp_at_every_focus_has_no_peak() -> None:
    """A subject that is sharp wherever the lens is (as the twin draws a scene without depth)
    has no contrast peak: the loop says so and waits at the hyperfocal distance."""
    scene = texture(4)
    loop = ContrastAf(TRAVEL, math.inf)
    k = 0
    while loop.next_focus_m is not None:
        focus = loop.next_focus_m
        loop.observe(synthetic_frame(scene, focus, focus, seed=k), "RGGB", (64.0,) * 4)
        k += 1
    r = loop.result
    assert not r.in_focus and "does not change with focus" in r.reason
    assert r.focus_m == pytest.approx(af.depth_of_field_m(TRAVEL, math.inf)[0])


def test_bad_requests() -> None:
    with pytest.raises(InvalidSetting, match="10 cm|0.1 m"):
        ContrastAf(TRAVEL, 0.05)
    loop = run_loop(1.0, math.inf)
    assert loop.frames > 0
    with pytest.raises(InvalidSetting, match="Bayer"):
        af.green_cells(np.zeros((8, 8), np.uint16), "RGBW", 0)


# ---- on the twin -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def camera():
    from mountcam.lab.exposure_trials import twin_camera

    return twin_camera("chart:flat", seed=4)


@pytest.mark.parametrize("name, subject_m, start_m", [("sample:astronaut", 0.15, 0.12)])
def test_twin_subject_ends_in_focus(camera, name, subject_m, start_m) -> None:
    from mountcam.lab.focus_trials import IN_FOCUS_FRACTION, run_af

    t = run_af(camera, name, "D65", 300.0, subject_m, start_m, size=64, seed=5)
    assert t.in_focus_reported and t.ratio >= IN_FOCUS_FRACTION, t
