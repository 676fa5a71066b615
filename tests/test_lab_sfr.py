"""Slanted-edge MTF (ISO 12233:2017 Annex D e-SFR) against edges whose MTF is known exactly.

The edges are rendered here, independently of the rest of mountcam: a straight edge at angle θ,
optionally blurred by a Gaussian PSF of standard deviation σ pixels, integrated exactly over
square 100 %-fill pixels. Its MTF along the edge normal is

    sinc(ν cos θ) · sinc(ν sin θ) · exp(−2π²σ²ν²)      (ν in cycles per pixel)

(the square pixel projected onto the normal is two boxes, cos θ and sin θ wide).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from scipy.special import ndtr, roots_legendre

from mountcam.dng import ColorCalibration, write_dng
from mountcam.errors import MountcamError
from mountcam.lab import (
    DNG_CHANNELS,
    SfrError,
    mtf50_of,
    mtf_from_dng,
    pixel_aperture_mtf,
    predicted_mtf,
    slanted_edge_mtf,
)
from mountcam.sensor.rawframe import CaptureMetadata, RawFrame

LOW, HIGH = 0.2, 0.8  # a 4:1 edge, as the ISO 12233:2017 e-SFR chart
NOISE = 0.002  # per-pixel noise, SNR 300 on the step


# --- synthetic edges with a known MTF --------------------------------------------------------


def _box_integral(s0: np.ndarray, a: float, b: float, i2) -> np.ndarray:
    """Mean of f(a·u + b·v + s0) over the unit pixel u, v ∈ [−½, ½], where i2'' = f."""
    return (
        i2(s0 + a / 2 + b / 2)
        - i2(s0 + a / 2 - b / 2)
        - i2(s0 - a / 2 + b / 2)
        + i2(s0 - a / 2 - b / 2)
    ) / (a * b)


def _normal_distance(h: int, w: int, angle_deg: float, centre=None) -> tuple[np.ndarray, ...]:
    """Signed distance of each pixel centre from an edge through ``centre`` tilted
    ``angle_deg`` from the vertical (positive: right of the edge); and the normal's (a, b)."""
    theta = np.deg2rad(angle_deg)
    a, b = np.cos(theta), -np.sin(theta)
    yc, xc = centre if centre is not None else ((h - 1) / 2, (w - 1) / 2)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return a * (x - xc) + b * (y - yc), a, b


def render_edge(h, w, angle_deg, sigma=0.0, *, centre=None, rng=None, noise=NOISE):
    """Dark-to-light (left to right) edge, exact area coverage of box pixels, Gaussian blur."""
    s0, a, b = _normal_distance(h, w, angle_deg, centre)
    if sigma == 0:

        def i2(s):
            return 0.5 * np.maximum(s, 0.0) ** 2
    else:

        def i2(s):  # second antiderivative of Φ(s/σ)
            t = s / sigma
            phi = np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)
            return sigma**2 * (0.5 * (t * t + 1) * ndtr(t) + 0.5 * t * phi)

    image = LOW + (HIGH - LOW) * _box_integral(s0, a, b, i2)
    if rng is not None:
        image = image + rng.normal(0.0, noise, image.shape)
    return image


def analytic_mtf(nu, angle_deg, sigma):
    return pixel_aperture_mtf(nu, angle_deg=angle_deg) * np.exp(-2 * np.pi**2 * sigma**2 * nu**2)


def render_from_mtf(h, w, angle_deg, mtf, nu_max, *, rng=None):
    """Edge whose ESF along the normal is the step filtered by ``mtf`` (band-limited to
    ``nu_max`` cy/px, including the pixel aperture): ESF(x) = ½ + (1/π)∫ MTF(ν) sin(2πνx)/ν dν."""
    s0, _, _ = _normal_distance(h, w, angle_deg)
    nodes, weights = roots_legendre(600)
    nu = 0.5 * nu_max * (nodes + 1.0)
    wq = 0.5 * nu_max * weights * mtf(nu) / nu
    grid = np.arange(-60.0, 60.0, 1 / 64)
    esf = 0.5 + (np.sin(2 * np.pi * grid[:, None] * nu[None, :]) @ wq) / np.pi
    image = LOW + (HIGH - LOW) * np.interp(s0, grid, esf)
    if rng is not None:
        image = image + rng.normal(0.0, NOISE, image.shape)
    return image


def errors_to_nyquist(result, reference):
    keep = result.freq_cy_px <= 0.5 + 1e-9
    return result.mtf[keep] - reference(result.freq_cy_px[keep])


def test_renderer_integrates_the_pixel_exactly():
    """The closed form agrees with brute-force supersampling (256² points per pixel)."""
    image = render_edge(8, 8, 5.0, 0.0)
    sigma_image = render_edge(8, 8, 5.0, 0.4)
    u = (np.arange(256) + 0.5) / 256 - 0.5
    theta = np.deg2rad(5.0)
    for r, c in [(3, 3), (4, 4), (0, 3), (7, 4)]:
        s = np.cos(theta) * (c + u[None, :] - 3.5) - np.sin(theta) * (r + u[:, None] - 3.5)
        assert image[r, c] == pytest.approx(LOW + (HIGH - LOW) * np.mean(s > 0), abs=2e-3)
        blurred = LOW + (HIGH - LOW) * np.mean(ndtr(s / 0.4))
        assert sigma_image[r, c] == pytest.approx(blurred, abs=1e-5)


# --- the measurement against the analytic MTF ------------------------------------------------


@pytest.mark.parametrize("sigma", [0.0, 0.3, 0.5, 0.8])
def test_corrected_sfr_matches_the_analytic_mtf(sigma):
    """With the binning corrections the measured SFR is the true MTF: within 0.01 (MTF units)
    up to Nyquist and MTF50 within 1.5 %, from a sharp box-pixel edge to a soft one."""
    rng = np.random.default_rng(11)
    result = slanted_edge_mtf(render_edge(128, 64, 5.0, sigma, rng=rng), correct_binning=True)
    assert result.binning_corrected
    assert result.angle_deg == pytest.approx(5.0, abs=0.02)
    err = errors_to_nyquist(result, lambda f: analytic_mtf(f, 5.0, sigma))
    assert np.abs(err).max() < 0.01
    truth = mtf50_of(lambda f: analytic_mtf(f, 5.0, sigma), nu_max=1.0)
    assert result.mtf50_cy_px == pytest.approx(truth, rel=0.015)


def test_iso_sfr_within_2_percent_and_its_bias_is_the_bin_width():
    """Annex D as written (the default): for a lens-like blur the SFR is within 0.02 of the true
    MTF up to Nyquist and MTF50 within 2 %; what is left is the bins' sinc(ν/4)."""
    rng = np.random.default_rng(12)
    sigma = 0.5
    result = slanted_edge_mtf(render_edge(128, 64, 5.0, sigma, rng=rng))
    assert not result.binning_corrected and result.oversampling == 4
    assert result.rows_used == 126  # 11 whole phase cycles at tan 5° = 0.0875
    assert result.empty_bins == 0 and result.bin_offset_rms_px < 0.005
    err = errors_to_nyquist(result, lambda f: analytic_mtf(f, 5.0, sigma))
    assert np.abs(err).max() < 0.02
    truth = mtf50_of(lambda f: analytic_mtf(f, 5.0, sigma), nu_max=1.0)
    assert result.mtf50_cy_px == pytest.approx(truth, rel=0.02)
    binned = errors_to_nyquist(result, lambda f: analytic_mtf(f, 5.0, sigma) * np.sinc(f / 4))
    assert np.abs(binned).max() < 0.008
    assert result.freq_cy_px[-1] == pytest.approx(1.0, abs=0.02)  # reported to 2× Nyquist


def test_awkward_angle_is_flagged_and_corrected():
    """tan 14° ≈ 1/4: the rows' sub-pixel phases cluster; the ISO ESF is off by several %
    at Nyquist, bin_offset_rms_px says so, and correct_binning repairs it."""
    image = render_edge(256, 128, 14.0, 0.5, rng=np.random.default_rng(13))
    iso = slanted_edge_mtf(image)
    fixed = slanted_edge_mtf(image, correct_binning=True)
    assert iso.bin_offset_rms_px > 0.02
    truth = analytic_mtf(0.5, 14.0, 0.5)
    assert abs(iso.mtf_at(0.5) / (truth * np.sinc(0.5 / 4)) - 1) > 0.05
    assert np.abs(errors_to_nyquist(fixed, lambda f: analytic_mtf(f, 14.0, 0.5))).max() < 0.01


def test_steeper_angle_measures_along_the_normal():
    """At 30° and 40° the square pixel's MTF along the normal differs from sinc(ν) (0.647 and
    0.650 instead of 0.637 at Nyquist); the measurement follows the exact 2-D form."""
    for angle, exact_at_nyquist in [(30.0, 0.6472), (40.0, 0.6503)]:
        result = slanted_edge_mtf(render_edge(128, 128, angle), correct_binning=True)
        assert result.angle_deg == pytest.approx(angle, abs=0.01)
        exact = pixel_aperture_mtf(0.5, angle_deg=angle)
        assert exact == pytest.approx(exact_at_nyquist, abs=1e-4)
        assert result.mtf_at(0.5) == pytest.approx(exact, abs=0.003)
        assert result.mtf_at(0.5) - np.sinc(0.5) > 0.007


def test_diffraction_limited_edge_matches_the_prediction():
    """An edge imaged at f/4, 550 nm on 1.6 µm pixels (ν_c = 0.727 cy/px): the measured SFR
    is predicted_mtf at the edge angle, within 0.01 up to Nyquist, MTF50 within 1 %, from an
    ROI 160 px wide. The diffraction LSF has 1/x² tails (2/(π³ν_c x²)) that reach beyond any
    ROI: what the ROI and the Hamming window cut off raises the low-frequency SFR by about
    0.4/(ν_c·L) for an ESF reaching ±L px, 0.015 at L = 34 px (an 80 px wide ROI)."""
    pitch, f_number, wavelength = 1.6e-6, 4.0, 550e-9
    nu_c = pitch / (wavelength * f_number)

    def truth(nu):
        return predicted_mtf(nu, pitch, f_number, wavelength, angle_deg=5.0)

    rng = np.random.default_rng(14)
    wide = slanted_edge_mtf(
        render_from_mtf(128, 160, 5.0, truth, nu_c, rng=rng), correct_binning=True
    )
    err = errors_to_nyquist(wide, truth)
    assert np.abs(err).max() < 0.01
    assert wide.mtf50_cy_px == pytest.approx(mtf50_of(truth, nu_max=nu_c), rel=0.01)
    narrow = slanted_edge_mtf(render_from_mtf(128, 80, 5.0, truth, nu_c), correct_binning=True)
    low = narrow.mtf_at(0.05) - truth(0.05)
    assert 0.010 < low < 0.016
    assert 0.003 < wide.mtf_at(0.05) - truth(0.05) < low / 1.5


# --- orientation, polarity, ROI --------------------------------------------------------------


def test_horizontal_edge_and_reversed_polarity_give_the_same_mtf():
    image = render_edge(128, 64, 5.0, 0.5, rng=np.random.default_rng(15))
    reference = slanted_edge_mtf(image)
    assert reference.orientation == "vertical" and reference.edge_step > 0
    for variant in (image.T, HIGH + LOW - image, (HIGH + LOW - image).T, image[:, ::-1]):
        result = slanted_edge_mtf(variant)
        assert result.orientation == ("horizontal" if variant.shape[0] == 64 else "vertical")
        assert abs(result.angle_deg) == pytest.approx(abs(reference.angle_deg), abs=1e-9)
        np.testing.assert_allclose(result.mtf, reference.mtf, atol=1e-9)
    dark_to_light = slanted_edge_mtf(HIGH + LOW - image)
    assert dark_to_light.edge_step == pytest.approx(-reference.edge_step)
    assert dark_to_light.esf[0] > dark_to_light.esf[-1]  # the ESF is reported as measured
    assert dark_to_light.lsf.max() > 0 and abs(dark_to_light.lsf.min()) < 0.05
    mirrored = slanted_edge_mtf(image[::-1])
    assert mirrored.angle_deg == pytest.approx(-reference.angle_deg, abs=1e-9)


def test_esf_and_lsf_are_in_pixels_along_the_normal():
    result = slanted_edge_mtf(render_edge(128, 64, 5.0, 0.5))
    step = np.diff(result.esf_position_px)
    assert np.allclose(step, 0.25)
    assert result.esf_position_px[0] < -20 and result.esf_position_px[-1] > 20
    assert result.esf[0] == pytest.approx(LOW, abs=1e-3)
    assert result.esf[-1] == pytest.approx(HIGH, abs=1e-3)
    # the LSF integrates to the step and is centred on the edge
    assert np.sum(result.lsf) * 0.25 == pytest.approx(HIGH - LOW, rel=1e-3)
    centre = np.sum(result.lsf * result.esf_position_px) / np.sum(result.lsf)
    assert abs(centre) < 0.05


def test_roi_selects_the_edge_in_a_larger_image():
    rng = np.random.default_rng(16)
    scene = np.full((300, 400), LOW) + rng.normal(0, NOISE, (300, 400))
    scene[100:228, 200:264] = render_edge(128, 64, 5.0, 0.5, rng=rng)
    scene[20:60, 20:380] = HIGH  # another edge, horizontal, outside the ROI
    alone = slanted_edge_mtf(scene[100:228, 200:264])
    result = slanted_edge_mtf(scene, roi=(100, 200, 128, 64))
    np.testing.assert_array_equal(result.mtf, alone.mtf)
    assert result.mtf_at(np.array([0.1, 0.2])).shape == (2,)
    assert np.isnan(result.mtf_at(5.0))


def test_oversampling_and_quadratic_edge_fit():
    image = render_edge(128, 64, 5.0, 0.5, rng=np.random.default_rng(17))
    linear = slanted_edge_mtf(image, correct_binning=True)
    quadratic = slanted_edge_mtf(image, correct_binning=True, edge_fit_degree=2)
    assert len(quadratic.edge_fit) == 3 and abs(quadratic.edge_fit[0]) < 1e-4
    assert quadratic.mtf50_cy_px == pytest.approx(linear.mtf50_cy_px, rel=0.005)
    eight = slanted_edge_mtf(image, oversampling=8, correct_binning=True)
    assert eight.freq_cy_px[-1] == pytest.approx(2.0, abs=0.05)
    assert eight.mtf50_cy_px == pytest.approx(linear.mtf50_cy_px, rel=0.01)


# --- what is refused, and how ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "kwargs", "message"),
    [
        (np.random.default_rng(0).normal(0.5, 0.01, (64, 64)), {}, "no edge found"),
        (np.full((64, 64), 0.5), {}, "no edge found"),
        (render_edge(128, 64, 0.3), {}, "tilted 0.30° from the vertical"),
        (render_edge(128, 128, 45.0), {}, "needs 1–44°"),
        (render_edge(12, 12, 5.0), {}, "too small"),
        (render_edge(40, 64, 5.0, centre=(19.5, 4.0)), {}, "of the ROI's side"),
        (render_edge(16, 64, 2.0), {}, "too short"),
        (render_edge(128, 64, 5.0), {"roi": (100, 0, 64, 64)}, "reaches outside"),
        (render_edge(128, 64, 5.0), {"roi": (0, 0, 0, 64)}, "is empty"),
        (render_edge(128, 64, 5.0), {"oversampling": 0}, "oversampling"),
        (render_edge(128, 64, 5.0), {"edge_fit_degree": 3}, "edge_fit_degree"),
        (np.zeros((2, 64, 64)), {}, "one plane"),
        (np.where(np.eye(64) > 0, np.nan, render_edge(64, 64, 5.0)), {}, "NaN"),
        (render_edge(128, 128, 26.565), {}, "ESF bins got no pixel"),
    ],
    ids=[
        "noise",
        "flat",
        "vertical",
        "45deg",
        "tiny",
        "edge-at-side",
        "short",
        "roi-outside",
        "roi-empty",
        "oversampling",
        "degree",
        "3d",
        "nan",
        "tan-one-half",
    ],
)
def test_unusable_rois_are_refused_with_a_reason(image, kwargs, message):
    with pytest.raises(SfrError, match=message) as info:
        slanted_edge_mtf(image, **kwargs)
    assert isinstance(info.value, MountcamError) and isinstance(info.value, ValueError)


def test_two_edges_in_one_roi_are_not_one_edge():
    rising = render_edge(128, 96, 5.0, 0.5, centre=(63.5, 30.0))
    falling = HIGH + LOW - render_edge(128, 96, 5.0, 0.5, centre=(63.5, 66.0))
    bar = rising + falling - HIGH  # dark, light bar from x = 30 to 66, dark
    with pytest.raises(SfrError, match="no edge found"):
        slanted_edge_mtf(bar)


# --- DNG round trip ------------------------------------------------------------------------

NEUTRAL = (0.55, 1.0, 0.7)  # camera response to white: R and B sites see less light than G
BLACK = (256.0, 258.0, 255.0, 257.0)


def write_edge_dng(path, *, pattern="RGGB", sigma=0.6, height=176, width=144, peak_dn=3500):
    """A 12-bit Bayer DNG of a neutral slanted edge (5°, Gaussian σ px, box pixels)."""
    optical = render_edge(height, width, 5.0, sigma)
    rng = np.random.default_rng(21)
    gain = np.empty((height, width))
    black = np.empty((height, width))
    for pos, letter in enumerate(pattern):
        i, j = divmod(pos, 2)
        gain[i::2, j::2] = NEUTRAL["RGB".index(letter)]
        black[i::2, j::2] = BLACK[pos]
    dn = black + optical * gain * peak_dn + rng.normal(0.0, 1.0, optical.shape)
    mosaic = np.clip(np.round(dn), 0, 4095).astype(np.uint16)
    metadata = CaptureMetadata(
        sensor="IMX989",
        module="main",
        mode="binned",
        bits=12,
        exposure_s=1 / 250,
        iso=100,
        analog_gain=1.0,
        digital_gain=1.0,
        temperature_c=35.0,
        seed=0,
        frame_index=0,
        timestamp=datetime(2025, 3, 4, 12, 0, 0),
        lens_name="test",
        focal_mm=8.7,
        f_number=1.9,
        as_shot_neutral=NEUTRAL,
        pixel_pitch_m=1.6e-6,
    )
    calibration = ColorCalibration(
        color_matrix_1=np.array([[0.6, 0.3, 0.1], [0.3, 0.9, 0.0], [0.05, 0.1, 0.8]]),
        camera_neutral_1=NEUTRAL,
    )
    frame = RawFrame(mosaic, pattern, BLACK, 4095, metadata)
    return write_dng(frame, path, calibration=calibration)


@pytest.fixture(scope="module")
def edge_dngs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sfr")
    return {p: write_edge_dng(folder / f"{p}.dng", pattern=p) for p in ("RGGB", "GRBG")}


@pytest.mark.parametrize("pattern", ["RGGB", "GRBG"])
@pytest.mark.parametrize("channel", ["G", "G2", "R", "B"])
def test_dng_colour_plane_reports_full_resolution_frequencies(edge_dngs, pattern, channel):
    """One Bayer plane (samples 2 px apart) still gives the 1-px pixel's MTF, reported in
    cycles per full-resolution pixel: within 0.015 up to Nyquist, MTF50 within 2 %."""
    result = mtf_from_dng(edge_dngs[pattern], channel=channel, correct_binning=True)
    assert result.channel == channel and result.sample_pitch_px == 2.0
    assert result.oversampling == 4
    assert result.angle_deg == pytest.approx(5.0, abs=0.05)
    assert result.freq_cy_px[-1] == pytest.approx(1.0, abs=0.02)
    assert np.allclose(np.diff(result.esf_position_px), 0.25)

    def truth(f):
        return analytic_mtf(f, 5.0, 0.6)

    assert np.abs(errors_to_nyquist(result, truth)).max() < 0.015
    assert result.mtf50_cy_px == pytest.approx(mtf50_of(truth, nu_max=1.0), rel=0.02)


def test_dng_default_is_the_iso_green_plane(edge_dngs):
    default = mtf_from_dng(edge_dngs["RGGB"])
    assert default.channel == "G" and not default.binning_corrected
    same = mtf_from_dng(edge_dngs["RGGB"], channel="G1")
    np.testing.assert_array_equal(default.mtf, same.mtf)
    truth = mtf50_of(lambda f: analytic_mtf(f, 5.0, 0.6), nu_max=1.0)
    assert default.mtf50_cy_px == pytest.approx(truth, rel=0.02)


def test_dng_luminance_includes_the_quad_box(edge_dngs):
    """The white-balanced 2×2 average is the edge seen through a 2×2-pixel box: its MTF is
    pixel_aperture_mtf(ν, fill=2) × the blur, nearly 0 at Nyquist."""
    result = mtf_from_dng(edge_dngs["RGGB"], channel="luminance", correct_binning=True)

    def truth(f):
        return pixel_aperture_mtf(f, 2.0, angle_deg=5.0) * np.exp(-2 * np.pi**2 * 0.36 * f**2)

    assert np.abs(errors_to_nyquist(result, truth)).max() < 0.015
    assert result.mtf_at(0.5) < 0.02
    assert result.mtf50_cy_px == pytest.approx(mtf50_of(truth, nu_max=1.0), rel=0.02)


def test_dng_roi_is_relative_to_the_default_crop(edge_dngs):
    # the crop is the mosaic less 8 px each side: 160×128; an ROI of its middle 120×80
    whole = mtf_from_dng(edge_dngs["RGGB"], correct_binning=True)
    part = mtf_from_dng(edge_dngs["RGGB"], roi=(21, 23, 120, 80), correct_binning=True)
    assert part.angle_deg == pytest.approx(whole.angle_deg, abs=0.1)
    assert part.mtf50_cy_px == pytest.approx(whole.mtf50_cy_px, rel=0.02)
    with pytest.raises(SfrError, match="outside the DNG's default crop of 160×128"):
        mtf_from_dng(edge_dngs["RGGB"], roi=(100, 0, 100, 64))


def test_dng_errors(tmp_path, edge_dngs):
    with pytest.raises(SfrError, match="not one of"):
        mtf_from_dng(edge_dngs["RGGB"], channel="Y")
    with pytest.raises(SfrError, match="from 1 to 8"):
        mtf_from_dng(edge_dngs["RGGB"], oversampling=9)
    assert "luminance" in DNG_CHANNELS
    clipped = write_edge_dng(tmp_path / "clipped.dng", peak_dn=6000)
    with pytest.raises(SfrError, match="white level"):
        mtf_from_dng(clipped)
    with pytest.raises(SfrError, match=r"channel G \(half-resolution plane\): no edge"):
        mtf_from_dng(edge_dngs["RGGB"], roi=(0, 0, 60, 40))
