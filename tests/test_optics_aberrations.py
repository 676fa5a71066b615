"""Vignetting, distortion and lateral colour on windows of the 1-inch sensor."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from conftest import assert_kernels_agree
from mountcam.optics.aberrations import (
    apply_lens_geometry,
    distort,
    distorted_rho,
    distortion_percent_at,
    falloff_ev,
    geometry_maps,
    lateral_scale_from_um,
    lensfun_distortion_to_rho,
    lensfun_vignetting_to_rho,
    relative_illumination,
    smia_tv_distortion_percent,
    source_margin_px,
    undistorted_rho,
    vignetting_from_ev,
    vignetting_gain,
)
from mountcam.optics.imaging import cos4_falloff
from mountcam.optics.sensor_window import (
    FULL_FRAME_HALF_DIAGONAL_M,
    SensorWindow,
    expand_window,
    radial_grid,
)

PITCH = 1.6e-6
FULL_W, FULL_H = 8192, 6144  # 13.1072 × 9.8304 mm
R = FULL_FRAME_HALF_DIAGONAL_M
BARREL = ("poly5", (-0.3, 0.05))  # −4.2 % at the 1-inch corner: a strong wide-angle
PINCUSHION = ("poly5", (0.2,))


def window(row=0, col=0, w=FULL_W, h=FULL_H):
    return SensorWindow(PITCH, FULL_W, FULL_H, row, col, w, h)


def centre_m(win, r, c):
    """Metres from the axis of pixel (r, c) of ``win`` (x right, y down)."""
    x = (win.origin_col + c + 0.5 - win.full_width / 2) * win.pitch_m
    y = (win.origin_row + r + 0.5 - win.full_height / 2) * win.pitch_m
    return x, y


def to_px(win, x, y):
    """(row, col) in ``win`` of the point (x, y) metres."""
    return (
        y / win.pitch_m + win.full_height / 2 - 0.5 - win.origin_row,
        x / win.pitch_m + win.full_width / 2 - 0.5 - win.origin_col,
    )


def blobs(win, points_m, sigma_px=1.5):
    """Gaussian spots at ``points_m`` [(x, y), …], point-sampled on ``win``, (H, W) float32."""
    rows = np.arange(win.height)[:, None]
    cols = np.arange(win.width)[None, :]
    img = np.zeros((win.height, win.width))
    for x, y in points_m:
        r0, c0 = to_px(win, x, y)
        img += np.exp(-((rows - r0) ** 2 + (cols - c0) ** 2) / (2 * sigma_px**2))
    return img.astype(np.float32)


def centroid(img, r0, c0, half=7):
    r0, c0 = int(round(r0)), int(round(c0))
    patch = img[r0 - half : r0 + half + 1, c0 - half : c0 + half + 1].astype(np.float64)
    rr, cc = np.mgrid[-half : half + 1, -half : half + 1]
    s = patch.sum()
    return r0 + (rr * patch).sum() / s, c0 + (cc * patch).sum() / s


# --- the radial grid and relative illumination ----------------------------------------------


def test_radial_grid_matches_the_window_convention():
    corner = window(0, 0, 3, 2)
    rho, phi = radial_grid(corner)
    assert rho.shape == (2, 3) and rho.dtype == np.float32 and phi.dtype == np.float32
    x, y = centre_m(corner, 0, 0)
    assert rho[0, 0] == pytest.approx(math.hypot(x, y) / R, rel=1e-6)
    assert rho[0, 0] == pytest.approx(8.192 / 21.633, abs=1e-4)  # 1-inch corner in ρ
    assert phi[0, 0] == pytest.approx(math.atan2(y, x), abs=1e-6)  # top left: y < 0, x < 0
    bottom_right = window(FULL_H - 1, FULL_W - 1, 1, 1)
    assert radial_grid(bottom_right)[1][0, 0] == pytest.approx(math.atan2(3, 4), abs=1e-3)
    middle = radial_grid(window(FULL_H // 2 - 2, FULL_W // 2 - 2, 4, 4))[0]
    assert middle.min() == pytest.approx(math.hypot(0.5, 0.5) * PITCH / R, rel=1e-4)
    np.testing.assert_array_equal(middle, middle[::-1, ::-1])  # the axis is the centre


@pytest.mark.parametrize("shape", ["quadratic", "cos4"])
@pytest.mark.parametrize("ev", [0.0, 0.7, 2.0, 3.0])
def test_vignetting_from_ev_gives_the_requested_fall_off(shape, ev):
    k = vignetting_from_ev(ev, shape)
    assert float(falloff_ev(1.0, k)) == pytest.approx(ev, abs=1e-5)
    rho = np.linspace(0, 1, 201)
    g = vignetting_gain(rho, k).astype(np.float64)
    assert g[0] == pytest.approx(1.0) and np.all(np.diff(g) <= 1e-7)
    if shape == "cos4":
        t2 = 2 ** (ev / 2) - 1
        shape_err_ev = np.abs(np.log2(g * (1 + t2 * rho**2) ** 2))
        assert shape_err_ev.max() < {0.0: 1e-9, 0.7: 0.002, 2.0: 0.03, 3.0: 0.17}[ev]
        assert shape_err_ev[rho <= 0.38].max() < {0.0: 1e-9, 0.7: 0.002, 2.0: 0.015, 3.0: 0.065}[ev]


def test_vignetting_from_ev_refuses_what_the_polynomial_cannot_shape():
    with pytest.raises(ValueError, match="quadratic"):
        vignetting_from_ev(4.5, "cos4")
    assert vignetting_from_ev(4.5, "quadratic")[0] == pytest.approx(2**-4.5 - 1)
    with pytest.raises(ValueError):
        vignetting_from_ev(-1.0)
    with pytest.raises(ValueError):
        vignetting_from_ev(1.0, "natural")


def test_vignetting_gain_formula_and_lensfun_crop_conversion():
    rho = np.array([0.0, 0.2, 0.379, 1.0])
    k = (-0.4, 0.1, -0.02)
    np.testing.assert_allclose(
        vignetting_gain(rho, k), 1 - 0.4 * rho**2 + 0.1 * rho**4 - 0.02 * rho**6, rtol=1e-6
    )
    # the same lens calibrated on APS-C (crop 1.5): r_lf = 1.5 ρ
    k_aps = (-0.9, 0.3, -0.1)
    k_rho = lensfun_vignetting_to_rho(k_aps, 1.5)
    np.testing.assert_allclose(
        vignetting_gain(rho / 1.5, k_rho), vignetting_gain(rho, k_aps), rtol=1e-6
    )
    with pytest.raises(ValueError):
        vignetting_gain(rho, (1, 2, 3, 4))


def test_relative_illumination_without_profile_is_cos4():
    f = 8.7e-3
    win = window(0, 0, 40, 30)
    ri = relative_illumination(win, f)
    x, y = centre_m(win, np.arange(30)[:, None], np.arange(40)[None, :])
    theta = np.arctan(np.hypot(x, y) / f)
    np.testing.assert_allclose(ri, np.cos(theta) ** 4, rtol=1e-6)
    assert ri[0, 0] == pytest.approx(math.cos(math.atan(8.19e-3 / f)) ** 4, rel=1e-3)  # ≈ 0.33
    # and it is the same as the ideal lens of imaging.py at infinity focus (v = f)
    np.testing.assert_allclose(ri, cos4_falloff(win.grid_m().scaled(1 / f)), rtol=1e-6)


def test_relative_illumination_with_profile_replaces_cos4():
    win = window(0, 0, 40, 30)
    k = vignetting_from_ev(2.0, "cos4")
    ri = relative_illumination(win, 8.7e-3, k)
    np.testing.assert_allclose(ri, vignetting_gain(radial_grid(win)[0], k))
    # published character at ρ ≤ 0.379 only: a 2 EV corner of the 35 mm frame is ~0.4 EV here
    assert float(-np.log2(ri[0, 0])) == pytest.approx(float(falloff_ev(0.3789, k)), abs=1e-3)


# --- distortion: the model ---------------------------------------------------------------


def test_distortion_percent_formula_and_sign():
    rho = np.array([0.1, 0.25, 0.379])
    np.testing.assert_allclose(
        distortion_percent_at(rho, *BARREL), 100 * (-0.3 * rho**2 + 0.05 * rho**4)
    )
    assert np.all(distortion_percent_at(rho, *BARREL) < 0)  # barrel: negative
    assert np.all(distortion_percent_at(rho, *PINCUSHION) > 0)  # pincushion: positive
    a, b, c = 0.01, -0.03, 0.004
    np.testing.assert_allclose(
        distortion_percent_at(rho, "ptlens", (a, b, c)),
        100 * (a * rho**3 + b * rho**2 + c * rho + 1 - a - b - c - 1),
    )
    np.testing.assert_allclose(
        distortion_percent_at(rho, "poly3", (0.02,)), 100 * (0.02 * rho**2 - 0.02)
    )
    ru = np.linspace(0, 0.38, 50)
    np.testing.assert_allclose(undistorted_rho(distorted_rho(ru, *BARREL), *BARREL), ru, atol=1e-12)


def test_smia_tv_distortion():
    w, h = 13.1072e-3, 9.8304e-3
    k1 = -0.1
    tv = smia_tv_distortion_percent("poly5", (k1,), w, h)
    ra, rb = math.hypot(w, h) / 2 / R, h / 2 / R
    assert tv == pytest.approx(100 * ((1 + k1 * ra**2) / (1 + k1 * rb**2) - 1))
    assert tv < 0 < smia_tv_distortion_percent(*PINCUSHION, w, h)


def test_lensfun_distortion_conversion():
    """A full-frame 3:2 calibration has r_lf = 1 at 12 mm; the conversion keeps r_d(r_u)."""
    r_mm = np.linspace(0.5, 8.19, 20)
    a, b, c = 0.012, -0.036, 0.01
    r_lf = r_mm / 12.0
    rd_lensfun = r_mm * (a * r_lf**3 + b * r_lf**2 + c * r_lf + 1 - a - b - c)
    model = lensfun_distortion_to_rho("ptlens", (a, b, c), keep_centre_scale=False)
    np.testing.assert_allclose(distorted_rho(r_mm / (R * 1e3), *model) * R * 1e3, rd_lensfun)
    model1 = lensfun_distortion_to_rho("ptlens", (a, b, c))
    assert model1[1][0] == 1.0
    np.testing.assert_allclose(
        distorted_rho(r_mm / (R * 1e3), *model1) * R * 1e3, rd_lensfun / (1 - a - b - c)
    )
    k1, k2 = -0.02, 0.003
    poly = lensfun_distortion_to_rho("poly5", (k1, k2), crop_factor=1.0)
    s = 21.633 / 12.0
    np.testing.assert_allclose(poly[1], [1, 0, k1 * s**2, 0, k2 * s**4, 0], rtol=1e-4)


def test_folding_model_and_bad_names_are_refused():
    with pytest.raises(ValueError, match="folds over"):
        geometry_maps(window(0, 0, 8, 8), distortion=("poly5", (-4.0,)))
    with pytest.raises(ValueError, match="unknown distortion model"):
        distortion_percent_at(0.1, "fisheye", (1,))
    with pytest.raises(ValueError):
        distortion_percent_at(0.1, "poly5", (1, 2, 3))


# --- distortion: the image --------------------------------------------------------------------


@pytest.mark.parametrize("dist", [BARREL, PINCUSHION, ("ptlens", (0.02, -0.05, 0.01))])
def test_geometry_maps_invert_the_model(dist):
    win = window(0, 0, 96, 64)
    mx, my = geometry_maps(win, distortion=dist)
    rr, cc = np.mgrid[0:64, 0:96]
    xo, yo = centre_m(win, rr, cc)
    xs, ys = centre_m(win, my.astype(np.float64), mx.astype(np.float64))
    rho_d = distorted_rho(np.hypot(xs, ys) / R, *dist)
    err_px = np.abs(rho_d - np.hypot(xo, yo) / R) * R / PITCH
    assert err_px.max() < 1e-3
    np.testing.assert_allclose(np.arctan2(ys, xs), np.arctan2(yo, xo), atol=1e-6)


@pytest.mark.parametrize("dist", [BARREL, PINCUSHION])
def test_a_grid_of_points_moves_where_the_model_says(dist):
    """Spots near the corner of the 1-inch sensor land within 0.05 px of r_d(r_u)."""
    win = window(16, 16, 160, 120)  # top-left corner, ρ ≈ 0.35 to 0.38
    margin = source_margin_px(win, distortion=dist)
    src = expand_window(win, margin)
    targets = []
    for r in np.linspace(20, 100, 5):
        for c in np.linspace(20, 140, 7):
            targets.append(centre_m(win, r, c))  # where the spot must land (distorted)
    sources = []
    for xd, yd in targets:
        rd = math.hypot(xd, yd) / R
        ru = float(undistorted_rho(rd, *dist))
        sources.append((xd * ru / rd, yd * ru / rd))
    img = blobs(src, sources)
    out = distort(img, win, *dist, source_window=src)
    errs = []
    for (xd, yd), (xu, yu) in zip(targets, sources, strict=True):
        r0, c0 = to_px(win, xd, yd)
        rm, cm = centroid(out, r0, c0)
        errs.append(math.hypot(rm - r0, cm - c0))
        ru0, cu0 = to_px(win, xu, yu)
        assert math.hypot(ru0 - r0, cu0 - c0) > (50 if dist is BARREL else 20)  # they do move
    assert max(errs) < 0.05


def test_margins_barrel_reads_outside_the_frame_pincushion_inside():
    full = window()
    barrel = source_margin_px(full, distortion=BARREL)
    assert barrel > 150  # the corners read ~215 px beyond the frame
    assert source_margin_px(full, distortion=PINCUSHION) == 2  # only the bicubic support
    assert source_margin_px(full) == 0
    # a window off the axis needs a margin on its inner sides even for pincushion
    part = window(0, 0, 256, 192)
    assert source_margin_px(part, distortion=PINCUSHION) > 50
    margin = source_margin_px(part, distortion=BARREL)
    mx, my = geometry_maps(part, distortion=BARREL, source_window=expand_window(part, margin))
    assert mx.min() >= 2 and my.min() >= 2  # the remap never reaches the border
    assert mx.max() <= 256 + 2 * margin - 3 and my.max() <= 192 + 2 * margin - 3


def test_identity_geometry_is_exact():
    rng = np.random.default_rng(3)
    img = rng.random((24, 32, 3), dtype=np.float32)
    win = window(100, 200, 32, 24)
    np.testing.assert_array_equal(apply_lens_geometry(img, win), img)
    src = expand_window(win, 4)
    big = rng.random((32, 40, 3), dtype=np.float32)
    np.testing.assert_array_equal(apply_lens_geometry(big, win, source_window=src), big[4:-4, 4:-4])


def test_the_border_is_a_half_sample_mirror():
    win = window(100, 200, 32, 24)
    src = dataclasses.replace(win, origin_row=102, origin_col=203, width=26, height=20)
    img = np.random.default_rng(4).random((20, 26), dtype=np.float32)
    out = apply_lens_geometry(img, win, source_window=src)  # reads 2-3 px beyond the source
    np.testing.assert_allclose(out, np.pad(img, ((2, 2), (3, 3)), mode="symmetric"), atol=1e-6)


# --- lateral colour ----------------------------------------------------------------------------


def test_lateral_scale_from_um():
    assert lateral_scale_from_um(0.0) == 1.0
    assert lateral_scale_from_um(21.633) == pytest.approx(1.001, rel=1e-6)


def _edge(win, axis, at_m, sigma_px=0.8):
    """A smooth dark-to-bright edge across ``axis`` (1: vertical edge, x = at_m) on ``win``."""
    from scipy.special import erf

    n = win.width if axis == 1 else win.height
    pos = np.arange(n) + 0.5 + (win.origin_col if axis == 1 else win.origin_row)
    pos = (pos - (win.full_width if axis == 1 else win.full_height) / 2) * win.pitch_m
    prof = 0.5 * (1 + erf((pos - at_m) / (math.sqrt(2) * sigma_px * win.pitch_m)))
    img = np.broadcast_to(prof[None, :] if axis == 1 else prof[:, None], (win.height, win.width))
    return np.repeat(img[:, :, None].astype(np.float32), 3, axis=2)


@pytest.mark.parametrize("um_at_rho1", [2.5, -4.0])
def test_lateral_colour_shifts_red_against_green_at_the_corner(um_at_rho1):
    """R edge moves by X·ρ µm (X µm at ρ = 1) radially against G at the 1-inch corner."""
    win = window(0, 0, 48, 48)  # the top-left corner
    scales = [lateral_scale_from_um(um_at_rho1), 1.0, 1.0]
    margin = source_margin_px(win, lateral_scale_per_band=scales)
    src = expand_window(win, margin)
    xc, yc = centre_m(win, 24, 24)
    shift = []
    for axis, at in ((1, xc), (0, yc)):
        out = apply_lens_geometry(
            _edge(src, axis, at), win, lateral_scale_per_band=scales, source_window=src
        )
        # a dark-to-bright edge moved by +d px along the axis loses d of its sum per line
        sums = out.sum(axis=axis, dtype=np.float64)  # per line across the edge
        d = -(sums[:, 0] - sums[:, 1])
        assert np.ptp(d) < 0.02  # the same on every line
        shift.append(float(d.mean()))
    x_shift_px, y_shift_px = shift
    s = scales[0] - 1.0
    assert x_shift_px == pytest.approx(s * xc / PITCH, abs=0.05)
    assert y_shift_px == pytest.approx(s * yc / PITCH, abs=0.05)
    rho = math.hypot(xc, yc) / R
    radial_um = math.hypot(x_shift_px, y_shift_px) * PITCH * 1e6
    assert radial_um == pytest.approx(abs(um_at_rho1) * rho, abs=0.05 * PITCH * 1e6)
    # outward for positive X: both components point away from the axis (x, y < 0 here)
    assert np.sign(x_shift_px) == np.sign(xc) * np.sign(um_at_rho1)


def test_distortion_and_lateral_colour_in_one_remap():
    win = window(8, 8, 64, 48)
    scales = [lateral_scale_from_um(3.0), 1.0, lateral_scale_from_um(-2.0)]
    margin = source_margin_px(win, distortion=BARREL, lateral_scale_per_band=scales)
    src = expand_window(win, margin)
    target = centre_m(win, 24, 32)
    rd = math.hypot(*target) / R
    spots = []
    for s in scales:
        ru = float(undistorted_rho(rd / s, *BARREL))  # so that s·r_u·P(r_u) = r_d
        spots.append((target[0] * ru / rd, target[1] * ru / rd))
    img = np.stack([blobs(src, [p]) for p in spots], axis=2)
    out = apply_lens_geometry(
        img, win, distortion=BARREL, lateral_scale_per_band=scales, source_window=src
    )
    for b in range(3):
        rm, cm = centroid(out[:, :, b], 24, 32)
        assert math.hypot(rm - 24, cm - 32) < 0.05


def test_shapes_and_bad_input():
    win = window(0, 0, 16, 12)
    img = np.zeros((12, 16, 3), np.float32)
    with pytest.raises(ValueError):
        apply_lens_geometry(img, win, lateral_scale_per_band=[1.0, 1.0])
    with pytest.raises(ValueError):
        apply_lens_geometry(img[:10], win)
    with pytest.raises(ValueError):
        apply_lens_geometry(img, win, interpolation="nearest-ish")
    with pytest.raises(ValueError):
        apply_lens_geometry(img, win, source_window=dataclasses.replace(win, pitch_m=1e-6))
    assert apply_lens_geometry(img[:, :, 0], win, distortion=BARREL).shape == (12, 16)


@pytest.mark.parametrize(("interpolation", "kept"), [("cubic", 0.884), ("linear", 0.707)])
def test_half_pixel_resampling_keeps_the_documented_modulation(interpolation, kept):
    """Stripes at half Nyquist (0.25 cy/px) shifted by ½ px keep 0.88 (Catmull-Rom) or 0.71."""
    win = window(FULL_H // 2 - 4, FULL_W - 72, 64, 8)  # right edge, on the horizontal axis
    src = expand_window(win, 4)
    xc = centre_m(win, 4, 32)[0]
    scale = 1.0 + 0.5 * PITCH / xc  # the middle column moves out by exactly ½ px
    cols = np.arange(src.width)
    stripes = np.tile((1 + np.cos(2 * np.pi * 0.25 * cols))[None, :], (src.height, 1))
    out = apply_lens_geometry(
        stripes.astype(np.float32),
        win,
        lateral_scale_per_band=[scale],
        source_window=src,
        interpolation=interpolation,
    )
    row = out[4, 16:48].astype(np.float64) - 1.0  # 8 periods
    amplitude = 2 * np.abs(np.fft.rfft(row)[8]) / row.size
    assert amplitude == pytest.approx(kept, abs=0.01)


@pytest.mark.parametrize("interpolation", ["cubic", "linear"])
@pytest.mark.parametrize("scales", [(1.0004, 1.0, 0.9997), (1.0, 1.0, 1.0)])
def test_the_all_bands_remap_equals_the_one_band_reference(interpolation, scales):
    """The capture remaps all bands in one pass; each band must equal the one-band kernel it
    replaced (to float32 rounding: see assert_kernels_agree), including where the source runs
    out (mirrored: no margin here)."""
    from mountcam.optics.aberrations import _radial_table
    from remap_reference import remap_one_band

    win = window(40, 60, 97, 71)
    src = expand_window(win, 3)
    rng = np.random.default_rng(7)
    img = rng.random((src.height, src.width, 3), dtype=np.float32)
    out = apply_lens_geometry(
        img,
        win,
        distortion=BARREL,
        lateral_scale_per_band=scales,
        source_window=src,
        interpolation=interpolation,
    )
    for b, s in enumerate(scales):
        ref = np.empty((win.height, win.width), np.float32)
        table = _radial_table(win, BARREL, s, src)
        plane = np.ascontiguousarray(img[:, :, b])
        remap_one_band(plane, ref, *table, interpolation == "cubic", True)
        assert_kernels_agree(out[:, :, b], ref)
    # The identity band (no distortion, scale 1) is a crop, the others are remapped.
    mixed = apply_lens_geometry(img, win, lateral_scale_per_band=scales, source_window=src)
    assert np.array_equal(mixed[:, :, 1], img[3:-3, 3:-3, 1])


@pytest.mark.parametrize(
    ("cfa", "origin"),
    [
        (np.array([[0, 1], [1, 2]]), (1, 0)),  # Bayer at an odd phase
        (np.repeat(np.repeat(np.array([[0, 1], [1, 2]]), 2, 0), 2, 1), (3, 1)),  # Quad Bayer
    ],
)
def test_the_mosaic_remap_equals_remapping_every_band_and_picking(cfa, origin):
    """A lens without a field blur resamples only each pixel's own CFA band, clipped and
    times the fall-off, in one pass: what remapping all bands and picking gives (to float32
    rounding: see assert_kernels_agree), including where the source runs out (mirrored)."""
    from mountcam.optics.aberrations import lens_geometry_bands, lens_geometry_mosaic

    win = window(40, 60, 97, 71)
    src = expand_window(win, 3)
    rng = np.random.default_rng(11)
    bands = rng.normal(0.5, 0.4, (3, src.height, src.width)).astype(np.float32)  # some < 0
    fall_off = rng.uniform(0.5, 1.0, (win.height, win.width)).astype(np.float32)
    scales = (1.0004, 1.0, 0.9997)
    whole = lens_geometry_bands(
        bands, win, distortion=BARREL, lateral_scale_per_band=scales, source_window=src
    )
    rows = (np.arange(win.height) + origin[0]) % cfa.shape[0]
    cols = (np.arange(win.width) + origin[1]) % cfa.shape[1]
    index = cfa[rows[:, None], cols[None, :]]
    expected = np.take_along_axis(whole, index[None], axis=0)[0] * fall_off
    out = np.full((win.height, win.width), np.nan, np.float32)
    lens_geometry_mosaic(
        bands,
        win,
        cfa,
        origin,
        fall_off,
        out,
        distortion=BARREL,
        lateral_scale_per_band=scales,
        source_window=src,
    )
    assert_kernels_agree(out, expected)
    assert (out == 0).any()  # the clip at 0 was exercised
    with pytest.raises(ValueError, match="distortion"):
        lens_geometry_mosaic(
            bands, win, cfa, origin, fall_off, out, distortion=None, source_window=src
        )
    with pytest.raises(ValueError, match="window's size"):
        lens_geometry_mosaic(
            bands, win, cfa, origin, fall_off[1:], out, distortion=BARREL, source_window=src
        )
    with pytest.raises(ValueError, match="name bands"):
        lens_geometry_mosaic(
            bands, win, cfa + 1, origin, fall_off, out, distortion=BARREL, source_window=src
        )
