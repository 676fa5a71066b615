"""Image formation: field of view (issue 3, acceptance 1) and relative illumination."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import assert_kernels_agree, twin_capture
from mountcam.body.camera import Camera
from mountcam.optics.imaging import image_distance_m
from mountcam.optics.lens import FULL_FRAME_HALF_DIAGONAL_MM
from mountcam.optics.lens_catalogue import find_lens
from mountcam.scene import Scene, load_scene
from mountcam.scene.loaders import ImageContent

SCENE_HFOV_DEG = 80.0  # wider than any lens here, so the scene covers every frame


def bar_scene(edge_u: float) -> Scene:
    """A vertical white bar on black, its edges at known angles: tan = ±edge_u·tan(hfov/2)."""
    width = 40001
    u = (np.arange(width) + 0.5) / width * 2 - 1
    row = (np.abs(u) <= edge_u).astype(np.float32)
    rgb = np.repeat(np.repeat(row[None, :, None], 9, axis=0), 3, axis=2)
    base = load_scene("chart:flat")
    return base.with_(name="bars", content=ImageContent(rgb), hfov_rad=math.radians(SCENE_HFOV_DEG))


def edge_positions(profile: np.ndarray) -> tuple[float, float]:
    """Sub-pixel positions (pixel units, 0 = left edge of pixel 0) of the two 50 % crossings."""
    level = 0.5 * profile.max()
    above = np.flatnonzero(profile >= level)
    left, right = above[0], above[-1]

    def crossing(i0, i1):
        a, b = profile[i0], profile[i1]
        return i0 + 0.5 + (level - a) / (b - a) * (i1 - i0)

    return crossing(left - 1, left), crossing(right, right + 1)


@pytest.mark.parametrize(
    "module, lens_id, focus_m",
    [
        ("main", None, math.inf),
        ("m", "summilux-m-21", math.inf),
        ("m", "summicron-m-28", 1.0),
        ("m", "noctilux-m-50-f0.95", 2.0),
        ("m", "apo-summicron-m-90", 5.0),
        ("m", "apo-telyt-m-135", math.inf),
    ],
)
def test_field_of_view_matches_the_image_distance(module, lens_id, focus_m):
    """FOV = 2·atan(w / 2v), v = f·z/(z − f), measured from where known angles land."""
    camera = Camera()
    if lens_id:
        camera.attach_lens(find_lens(lens_id))
    lens = camera.module(module).lens
    crop_w = 1024
    v = image_distance_m(lens.focal_mm * 1e-3, focus_m)
    # Put the edges (known angles in the scene) about a third of the way out in the crop.
    edge_u = 0.35 * crop_w / 2 * 3.2e-6 / v / math.tan(math.radians(SCENE_HFOV_DEG) / 2)
    twin, (frame,) = twin_capture(
        bar_scene(edge_u),
        module=module,
        lens=lens_id,
        crop=(crop_w, 32),
        truth=True,
        seed=1,
        focus_m=focus_m,
        iso=100,
        exposure_s=1 / 1000,
    )
    profile = twin.truth(frame).image[16, :, 1].astype(np.float64)
    x1, x2 = edge_positions(profile)
    tan_per_px = 2 * edge_u * math.tan(math.radians(SCENE_HFOV_DEG) / 2) / (x2 - x1)
    full_w_px = frame.metadata.full_size[1]
    measured = 2 * math.atan(full_w_px / 2 * tan_per_px)
    expected = 2 * math.atan(camera.module(module).sensor.width_m / (2 * v))
    assert measured == pytest.approx(expected, rel=0.005)


def test_a_lens_profile_replaces_cos4_with_its_own_fall_off():
    lens = find_lens("summilux-m-21")
    scene = load_scene("chart:flat", luminance_cd_m2=300)
    for f_number in (1.4, 4.0):
        twin, (frame,) = twin_capture(
            scene, module="m", lens=lens, f_number=f_number, truth=True, iso=100, exposure_s=1e-3
        )
        t = twin.truth(frame).image[..., 1]
        h, w = t.shape
        pitch_mm = frame.metadata.pixel_pitch_m * 1e3
        rho = (
            math.hypot((w / 2 - 0.5) * pitch_mm, (h / 2 - 0.5) * pitch_mm)
            / FULL_FRAME_HALF_DIAGONAL_MM
        )
        expected = float(lens.vignetting.relative_illumination(rho, f_number))
        centre = t[h // 2 - 1 : h // 2 + 1, w // 2 - 1 : w // 2 + 1].mean()
        assert t[0, 0] / centre == pytest.approx(expected, rel=2e-3)
    # The main lens's own profile (issue 11 §5), beyond cos⁴θ.
    main_lens = find_lens("main-8.7")
    twin, (main,) = twin_capture(scene, truth=True, iso=100, exposure_s=1e-3, crop=(4096, 32))
    t = twin.truth(main).image
    rho = (4096 / 2 - 0.5) * 3.2e-3 / FULL_FRAME_HALF_DIAGONAL_MM
    expected = float(main_lens.vignetting.relative_illumination(rho, 1.9))
    assert t[16, 0, 1] / t[16, 2048, 1] == pytest.approx(expected, rel=2e-3)
    tan = (4096 / 2 - 0.5) * 3.2e-6 / 8.7e-3
    assert expected < 1 / (1 + tan**2) ** 2


def test_a_uniform_scene_keeps_its_cfa_phase_behind_an_odd_margin():
    """A flat field skips the lens's blur and resampling, but its sample is rendered on the
    window grown by the lens's margin: the CFA phase must start that margin earlier. With an
    odd margin the colours came out swapped (a grey under tungsten read blue where red was)."""
    from mountcam.optics.imaging import form_image
    from mountcam.optics.lens import LensState
    from mountcam.optics.sensor_window import SensorWindow
    from mountcam.sensor.model import load_sensor

    scene = load_scene("chart:flat", reflectance=0.5, illuminant="A", luminance_cd_m2=300)
    lens = find_lens("main-8.7")
    model = load_sensor("imx989")
    cfa = np.array([["RGB".index(c) for c in "RG"], ["RGB".index(c) for c in "GB"]])
    weights = model.qe
    for origin in ((100, 200), (101, 201)):
        window = SensorWindow(3.2e-6, 4096, 3072, origin[0], origin[1], 40, 30)
        optical = form_image(scene, lens, LensState(1.9), window)
        assert optical.effects is not None and optical.effects.margin_px % 2 == 1
        mosaic = optical.mosaic(weights, cfa, origin)
        planes = optical.planes(weights)
        rows = (np.arange(30) + origin[0]) % 2
        cols = (np.arange(40) + origin[1]) % 2
        index = cfa[rows[:, None], cols[None, :]]
        expected = np.take_along_axis(planes, index[..., None], axis=2)[..., 0]
        assert np.allclose(mosaic, expected, rtol=1e-5)


@pytest.mark.parametrize("scene_name", ["chart:colorchecker", "sample:coffee"])
@pytest.mark.parametrize("mode", ["binned", "full"])
def test_the_band_by_band_mosaic_equals_picking_from_the_blurred_planes(scene_name, mode):
    """With diffraction as the only lens effect the capture renders, blurs and picks one band
    at a time (no (H, W, 3) image); every pixel must equal the one picked from the three
    blurred planes the general path forms."""
    from mountcam.optics.imaging import form_image
    from mountcam.optics.lens import LensState, load_lens
    from mountcam.sensor.capture import readout_cfa, readout_window
    from mountcam.sensor.model import load_sensor

    model, lens = load_sensor(), load_lens("main-8.7")
    window = readout_window(model, mode, (200, 144))
    optical = form_image(load_scene(scene_name), lens, LensState(lens.max_f), window)
    assert optical.effects is not None and not optical.effects.defocus
    weights = model.photoelectron_weights(optical.spectral_irradiance_w_m2_nm, mode)
    cfa = readout_cfa(model, mode)
    origin = (window.origin_row, window.origin_col)
    fast = optical.mosaic(weights, cfa, origin)

    planes = optical.planes(weights)
    rows = (np.arange(window.height) + origin[0]) % cfa.shape[0]
    cols = (np.arange(window.width) + origin[1]) % cfa.shape[1]
    picked = np.take_along_axis(planes, cfa[rows[:, None], cols[None, :]][..., None], axis=2)
    assert np.array_equal(fast, picked[..., 0])


def test_a_lens_with_distortion_and_lateral_colour_picks_the_same_mosaic():
    """A lens with distortion and lateral colour but no field blur (an M lens): the mosaic,
    resampled at each pixel's own CFA band, equals the three resampled planes picked by
    numpy's take_along_axis."""
    from mountcam.optics.imaging import form_image
    from mountcam.optics.lens import LensState
    from mountcam.sensor.capture import readout_cfa, readout_window
    from mountcam.sensor.model import load_sensor

    model, lens = load_sensor(), find_lens("summilux-m-21")
    assert lens.distortion is not None
    window = readout_window(model, "binned", (160, 96))
    optical = form_image(load_scene("chart:siemens-star"), lens, LensState(2.8), window)
    weights = model.photoelectron_weights(optical.spectral_irradiance_w_m2_nm, "binned")
    cfa = readout_cfa(model, "binned")
    origin = (window.origin_row + 1, window.origin_col)  # an odd phase too
    planes = optical.planes(weights)
    rows = (np.arange(window.height) + origin[0]) % 2
    cols = (np.arange(window.width) + origin[1]) % 2
    picked = np.take_along_axis(planes, cfa[rows[:, None], cols[None, :]][..., None], axis=2)
    # The mosaic resamples each pixel's own band only (aberrations._remap_mosaic), the planes
    # every band (_remap_bands): two kernels, so to float32 rounding.
    assert_kernels_agree(optical.mosaic(weights, cfa, origin), picked[..., 0])


def test_the_fall_off_map_is_reused_for_the_same_settings_and_only_for_them():
    """The relative illumination depends on the lens, the f-number and the window (without a
    profile, on the image distance, i.e. the focus), never on the scene: a new scene re-uses
    the map, any change of what it depends on makes another one, and nobody can edit it."""
    import dataclasses

    from mountcam.optics.imaging import relative_illumination
    from mountcam.optics.lens import LensState
    from mountcam.sensor.capture import readout_window
    from mountcam.sensor.model import load_sensor

    model = load_sensor()
    window = readout_window(model, "binned", (64, 48))
    other_window = readout_window(model, "binned", (64, 48), centre_px=(100.0, 80.0))

    def ri(lens, f_number=None, focus_m=math.inf, win=window):
        state = LensState(f_number or lens.max_f, focus_m)
        v = image_distance_m(lens.focal_mm * 1e-3, focus_m)
        return relative_illumination(lens, state, win, win.grid_m().scaled(1.0 / v))

    summilux = find_lens("summilux-m-21")
    first = ri(summilux, 1.4)
    assert not first.flags.writeable
    assert ri(summilux, 1.4) is first  # the same settings: the same map
    assert not np.array_equal(ri(summilux, 4.0), first)  # another aperture
    assert not np.array_equal(ri(summilux, 1.4, win=other_window), first)  # another window
    assert not np.array_equal(ri(find_lens("main-8.7")), ri(find_lens("summicron-m-28")))
    # A lens without a profile: cos⁴θ of the image distance, so the focus changes it.
    plain = dataclasses.replace(find_lens("summicron-m-28"), vignetting=None)
    far, near = ri(plain, focus_m=math.inf), ri(plain, focus_m=0.7)
    assert ri(plain, focus_m=math.inf) is far
    assert float(near[0, 0]) > float(far[0, 0])  # a longer image distance: a narrower field
    # The maps equal a fresh computation (the cache returns what the function computes).
    from mountcam.optics.imaging import _profile_falloff

    assert np.array_equal(first, _profile_falloff(summilux.vignetting, 1.4, window))


@pytest.mark.parametrize("sigmas_um", [(0.75, 1.55), (3.0, 9.0)])
def test_the_fused_field_blur_pick_equals_blurring_the_band_and_picking(sigmas_um):
    """The capture blurs each band's rows only where the band has pixels, then blurs down the
    columns only at its CFA sites, cut to the window and times the fall-off, in one pass: it
    must equal the whole-band field blur (apply_field_blur) cut, multiplied and picked. Quad
    Bayer at an odd phase; the wide blur reaches past the border (mirrored rows)."""
    from mountcam.optics.field_blur import apply_field_blur, field_blur_mosaic_band
    from mountcam.optics.sensor_window import SensorWindow, expand_window
    from mountcam.sensor.capture import readout_cfa
    from mountcam.sensor.model import load_sensor

    cfa = readout_cfa(load_sensor(), "full")
    assert cfa.shape == (4, 4)
    border = 8
    window = SensorWindow(1.6e-6, 8192, 6144, 5001, 7001, 90, 70)  # near a corner: σ varies
    grown = expand_window(window, border)
    rng = np.random.default_rng(3)
    plane = rng.random((grown.height, grown.width), dtype=np.float32)
    fall_off = rng.uniform(0.5, 1.0, (window.height, window.width)).astype(np.float32)
    blur = dict(
        sigma_centre_m=sigmas_um[0] * 1e-6, sigma_corner_m=sigmas_um[1] * 1e-6, corner_rho=0.38
    )
    whole = apply_field_blur(plane, grown, **blur)[border:-border, border:-border] * fall_off
    origin = (window.origin_row + 1, window.origin_col + 3)
    rows = (np.arange(window.height) + origin[0]) % 4
    cols = (np.arange(window.width) + origin[1]) % 4
    index = cfa[rows[:, None], cols[None, :]]
    out = np.full((window.height, window.width), np.nan, dtype=np.float32)
    for band in np.unique(cfa):
        field_blur_mosaic_band(
            plane.copy(), grown, border, fall_off, cfa, origin, int(band), out, **blur
        )
        assert np.allclose(out[index == band], whole[index == band], rtol=1e-6, atol=0)
    assert not np.isnan(out).any()


def test_the_source_window_grows_to_fast_transform_sizes_and_the_window_barely_moves():
    """The scene is rendered around the window out to 5-smooth sizes, so the diffraction's
    DCTs avoid pocketfft's slow passes for large prime factors. The window's origin in the
    source stays the margin; its pixels move only by what a few more pixels of real scene
    beyond the margin change (the mirrored border moves away)."""
    from mountcam.optics.diffraction import fast_plane_shape
    from mountcam.optics.imaging import form_image
    from mountcam.optics.lens import LensState
    from mountcam.optics.sensor_window import expand_window
    from mountcam.sensor.capture import readout_cfa, readout_window
    from mountcam.sensor.model import load_sensor

    def five_smooth(n: int) -> bool:
        for p in (2, 3, 5):
            while n % p == 0:
                n //= p
        return n == 1

    assert fast_plane_shape(3276, 4300) == (3375, 4320)
    model, lens = load_sensor(), find_lens("main-8.7")
    window = readout_window(model, "binned", (302, 214))
    scene = load_scene("chart:siemens-star")
    fast = form_image(scene, lens, LensState(1.9), window)
    plain = form_image(scene, lens, LensState(1.9), window, fast_transform_sizes=False)
    grown = expand_window(window, fast.effects.margin_px)
    assert plain.source_window == grown
    src = fast.source_window
    assert (src.origin_row, src.origin_col) == (grown.origin_row, grown.origin_col)
    assert src.height >= grown.height and src.width >= grown.width
    assert (src.height, src.width) != (grown.height, grown.width)
    assert five_smooth(src.height) and five_smooth(src.width)
    weights = model.photoelectron_weights(fast.spectral_irradiance_w_m2_nm, "binned")
    cfa, origin = readout_cfa(model, "binned"), (window.origin_row, window.origin_col)
    a, b = fast.mosaic(weights, cfa, origin), plain.mosaic(weights, cfa, origin)
    assert a.shape == b.shape == (window.height, window.width)
    assert 0 < np.abs(a - b).max() <= 1e-4 * b.max()


def test_a_scene_with_depth_keeps_the_margin_it_needs_as_its_source_window():
    """The layered defocus plans its layers from the whole rendered area, so a scene with
    depth is not rendered beyond its margin (its result would move)."""
    from mountcam.optics.imaging import form_image
    from mountcam.optics.lens import LensState
    from mountcam.optics.sensor_window import expand_window
    from mountcam.sensor.capture import readout_window
    from mountcam.sensor.model import load_sensor

    window = readout_window(load_sensor(), "binned", (302, 214))
    optical = form_image(
        load_scene("sample:motorcycle"), find_lens("main-8.7"), LensState(1.9), window
    )
    assert optical.effects.defocus
    assert optical.source_window == expand_window(window, optical.effects.margin_px)
