"""The camera body on the twin: windows, metering from preview frames, white balance, the
truth kept apart, programs and drive modes, and the lens-less M module."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from conftest import twin_capture
from mountcam import Camera, SimulatedBackend, TwinTruth
from mountcam.body.settings import Configuration, Controls, WhiteBalance
from mountcam.errors import InvalidSetting, NoLensAttached
from mountcam.optics.lens import load_lens
from mountcam.scene import load_scene
from mountcam.sensor.rawframe import RawFrame


def green_mean(frame) -> float:
    m = frame.mosaic.astype(np.float64)
    return float(np.concatenate([m[0::2, 1::2].ravel(), m[1::2, 0::2].ravel()]).mean())


def test_a_crop_holds_the_pixels_of_the_whole_sensor():
    """Noise is drawn per physical pixel, so a window is the same pixels of a whole capture:
    bit for bit for analytic charts; for resampled images up to the odd 1-DN rounding flip
    (the resampler's coordinates differ in the last float bits between a window and the whole).
    Ideal optics here; with lens blur see the next test.
    """
    req = dict(iso=800, exposure_s=1 / 500, seed=3, ideal_optics=True)
    for name in ("chart:colorchecker", "sample:coffee"):
        scene = load_scene(name)
        _, (whole,) = twin_capture(scene, **req)
        _, (crop,) = twin_capture(scene, crop=(200, 120), **req)
        r, c = crop.metadata.window_origin
        assert (r, c) == ((3072 - 120) // 2, (4096 - 200) // 2)
        same = whole.mosaic[r : r + 120, c : c + 200].astype(int)
        diff = np.abs(same - crop.mosaic)
        if name.startswith("chart:"):
            assert np.array_equal(same, crop.mosaic)
        else:
            assert np.mean(diff == 0) > 0.999 and diff.max() <= 1


def test_with_lens_blur_a_crop_matches_the_whole_sensor():
    """With diffraction a window's edge sees a rendered margin, not the whole scene, so its
    electron rates differ by ~0.01 %: in the Gaussian shot-noise regime that is the odd 1-DN
    rounding flip; below 256 e- the exact Poisson sampler may draw a different count."""
    req = dict(iso=800, exposure_s=1 / 500, seed=3)
    for name in ("chart:siemens-star", "chart:colorchecker"):
        scene = load_scene(name)
        _, (whole,) = twin_capture(scene, **req)
        _, (crop,) = twin_capture(scene, crop=(200, 120), **req)
        r, c = crop.metadata.window_origin
        same = whole.mosaic[r : r + 120, c : c + 200].astype(int)
        diff = same - crop.mosaic
        assert np.mean(np.abs(diff) <= 2) > 0.97  # one electron is 1.7 DN at ISO 800
        assert abs(diff.mean()) < 1e-3 * (same.mean() - crop.black_level_dn[0])


def test_full_mode_windows_agree_away_from_their_edges():
    scene = load_scene("chart:siemens-star")
    req = dict(mode="full", iso=400, exposure_s=1 / 1000, seed=5, ideal_optics=True)
    _, (big,) = twin_capture(scene, crop=(256, 256), **req)
    _, (small,) = twin_capture(scene, crop=(128, 128), **req)
    (rb, cb), (rs, cs) = big.metadata.window_origin, small.metadata.window_origin
    assert rs % 4 == 0 and cs % 4 == 0  # Quad Bayer phase kept
    dr, dc = rs - rb, cs - cb
    from mountcam.sensor.remosaic import REACH_PX

    inner = (slice(REACH_PX, -REACH_PX), slice(REACH_PX, -REACH_PX))
    assert np.array_equal(big.mosaic[dr : dr + 128, dc : dc + 128][inner], small.mosaic[inner])


def test_average_metering_from_a_preview_frame_places_mid_grey_where_iso_2720_says():
    """t·S = K·N²/L (K = 12.5) for an 18 % grey, now read from a noisy low-resolution preview
    frame (lens fall-off divided out with the believed lens's profile) instead of the scene:
    within 3 %, and the same whatever crop the capture reads."""
    scene = load_scene("chart:flat", reflectance=0.18, illuminant="D55", luminance_cd_m2=1000)
    camera, (frame,) = twin_capture(scene, crop=(64, 64))
    lens = camera.module("main").lens
    md = frame.metadata
    assert md.metered and md.iso == 100 and md.metering_mode == "average"
    expected_t = 12.5 * lens.max_f**2 / (0.18 * 1000 * 100)
    assert md.exposure_s == pytest.approx(expected_t, rel=0.03)
    span = frame.white_level_dn - frame.black_level_dn[0]
    fraction = (green_mean(frame) - frame.black_level_dn[0]) / span
    assert fraction == pytest.approx(math.pi * lens.transmittance * 12.5 / 4 / 78, rel=0.04)
    _, (other,) = twin_capture(scene, crop=(512, 128))
    assert other.metadata.exposure_s == pytest.approx(md.exposure_s, rel=0.02)


def test_metering_converges_from_far_off_and_from_clipping():
    """The meter's first preview frame may be 10 stops off (clipped white, or black): it takes
    more preview frames until one is readable, and lands where a well-started meter does."""
    for luminance in (30.0, 30_000.0):
        scene = load_scene("chart:flat", reflectance=0.18, luminance_cd_m2=luminance)
        camera, (frame,) = twin_capture(scene, crop=(64, 64))
        again = camera.capture()  # starts from the last metered exposure
        product = frame.metadata.exposure_s * frame.metadata.iso
        assert again.metadata.exposure_s * again.metadata.iso == pytest.approx(product, rel=0.03)
        expected = 12.5 * 1.9**2 / (0.18 * luminance)
        assert product == pytest.approx(expected, rel=0.04)


def test_dim_scenes_raise_iso_before_passing_the_handheld_limit():
    dim = load_scene("chart:flat", reflectance=0.18, luminance_cd_m2=2.0)
    camera, (frame,) = twin_capture(dim, crop=(64, 64))
    meta = frame.metadata
    limit = camera.exposure_limits(camera.module("main")).handheld_limit_s
    assert meta.iso > 100
    assert meta.exposure_s == pytest.approx(limit, rel=1e-2)
    assert limit == pytest.approx(1 / 23, rel=0.02)  # 1/(35 mm-equivalent focal length)


def angle_deg(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return math.degrees(math.acos(min(1.0, a @ b / np.linalg.norm(a) / np.linalg.norm(b))))


def test_auto_white_balance_comes_from_the_preview_frame():
    """The neutral is control.awb's estimate on a metered preview frame's raw cells: on a grey
    scene, the twin's true camera neutral, under lights ~20° apart to this sensor."""
    for light in ("D65", "A", "FL11"):
        scene = load_scene("chart:flat", reflectance=0.5, illuminant=light, luminance_cd_m2=300)
        # A dark manual shot (grey at 2 % of clip) is balanced from a metered preview.
        camera, (f,) = twin_capture(scene, crop=(64, 64), iso=100, exposure_s=1e-4, seed=2)
        assert angle_deg(f.metadata.as_shot_neutral, camera.truth(f).camera_neutral) < 1.5
        assert f.metadata.white_balance == "auto"
        if light == "A":
            assert f.metadata.as_shot_neutral[0] > 2 * f.metadata.as_shot_neutral[2]


def test_the_neutral_is_estimated_not_read_from_the_truth(tmp_path):
    """A uniformly blue-green wall under daylight reads like a grey wall under a cooler light:
    from the frame alone the two cannot be told apart, so the camera's neutral moves away from
    the true one. (Reading the truth would not be fooled.)"""
    from PIL import Image

    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((64, 64, 3), (90, 150, 170), np.uint8)).save(wall)
    camera, (f,) = twin_capture(str(wall), crop=(64, 64), iso=100, exposure_s=1 / 100)
    assert angle_deg(f.metadata.as_shot_neutral, camera.truth(f).camera_neutral) > 3.0


def test_presets_and_kelvin_are_the_lights_neutrals():
    from mountcam.body.settings import KELVIN_RANGE
    from mountcam.control import awb

    assert KELVIN_RANGE == awb.KELVIN_RANGE
    scene = load_scene("chart:flat", illuminant="A", luminance_cd_m2=300)
    camera, (tungsten,) = twin_capture(
        scene, crop=(64, 64), iso=100, exposure_s=1 / 400, white_balance="tungsten"
    )
    assert angle_deg(tungsten.metadata.as_shot_neutral, camera.truth(tungsten).camera_neutral) < 0.2
    assert tungsten.metadata.white_balance == "manual"
    _, (warm,) = twin_capture(scene, crop=(64, 64), iso=100, exposure_s=1e-3, white_balance=2850)
    assert angle_deg(warm.metadata.as_shot_neutral, tungsten.metadata.as_shot_neutral) < 0.3
    _, (cool,) = twin_capture(scene, crop=(64, 64), iso=100, exposure_s=1e-3, white_balance=9000)
    assert cool.metadata.as_shot_neutral[0] < warm.metadata.as_shot_neutral[0]


def test_truth_stays_with_the_twin_and_is_white_balanced_linear_srgb():
    assert "truth" not in {f.name for f in dataclasses.fields(RawFrame)}
    for name in ("D65", "A"):
        scene = load_scene("chart:flat", reflectance=0.5, illuminant=name)
        camera, (f,) = twin_capture(scene, crop=(64, 64), truth=True)
        truth = camera.truth(f)
        assert isinstance(truth, TwinTruth) and truth.illuminant == name
        centre = truth.image[28:36, 28:36].reshape(-1, 3).mean(axis=0)
        assert centre == pytest.approx([0.5, 0.5, 0.5], abs=2e-3)
    # Off axis the truth falls as the main lens's profile, like the raw.
    camera, (f,) = twin_capture("chart:flat", truth=True, crop=(4096, 64))
    rho = 2048 * 3.2e-3 / 21.633
    main = load_lens("main-8.7")
    expected = float(main.vignetting.relative_illumination(rho, main.max_f))
    assert camera.truth(f).image[32, 0, 1] == pytest.approx(expected, rel=2e-3)


def test_a_dng_never_carries_the_truth(tmp_path):
    """The writer is handed a frame; the truth is not in it. Replacing the twin's truth record
    of a frame with a different one (another light, another f-number) leaves the file's bytes
    as they were."""
    from mountcam.dng import write_dng

    camera, (frame,) = twin_capture("chart:colorchecker", crop=(64, 48), truth=True)
    first = write_dng(frame, tmp_path / "a.dng").read_bytes()
    backend = camera.backend
    backend._truth[frame] = dataclasses.replace(
        backend.truth(frame),
        illuminant="A",
        camera_neutral=(1.0, 0.5, 0.2),
        f_number=16.0,
        focus_m=0.3,
        image=None,
    )
    second = write_dng(frame, tmp_path / "b.dng").read_bytes()
    assert first == second
    assert b"colorchecker" not in first and b"D65" not in first


def test_the_camera_needs_only_the_backend_protocol():
    """A backend that only reads frames (no truth, as hardware) drives the same decisions."""

    class Hardware:
        def __init__(self, twin):
            self._twin = twin

        def modules(self):
            return self._twin.modules()

        def calibration(self, module):
            return self._twin.calibration(module)

        def read(self, module, readout):
            return self._twin.read(module, readout)

    scene = load_scene("sample:coffee")
    plain = Camera(Hardware(SimulatedBackend(scene, seed=4)))
    twin = Camera(SimulatedBackend(scene, seed=4))
    for camera in (plain, twin):
        camera.configure(crop=(96, 64))
    a, b = plain.capture(), twin.capture()
    assert plain.truth(a) is None
    assert np.array_equal(a.mosaic, b.mosaic)
    assert a.metadata.as_shot_neutral == b.metadata.as_shot_neutral


def test_programs_ev_and_ae_lock():
    scene = load_scene("chart:flat", reflectance=0.18, luminance_cd_m2=200)
    camera = Camera(SimulatedBackend(scene, seed=1))
    camera.configure(crop=(64, 64))
    camera.set_controls(metering="average")
    p = camera.capture().metadata
    assert (p.exposure_program, p.iso) == ("program", 100)
    camera.set_controls(ev=1.0)
    plus = camera.capture().metadata
    assert plus.exposure_s == pytest.approx(2 * p.exposure_s, rel=0.03)
    assert plus.exposure_bias_ev == 1.0
    camera.set_controls(program="S", exposure_s=1 / 500, ev=0.0)
    s = camera.capture().metadata
    assert s.exposure_s == 1 / 500 and s.exposure_program == "shutter priority"
    assert s.exposure_s * s.iso == pytest.approx(p.exposure_s * p.iso, rel=0.05)
    camera.set_controls(program="M", exposure_s=1 / 60, iso=400)
    m = camera.capture().metadata
    assert (m.exposure_s, m.iso, m.metered, m.exposure_program) == (1 / 60, 400, False, "manual")
    camera.set_controls(Controls(metering="average"))
    locked = camera.capture().metadata
    camera.backend.set_scene(load_scene("chart:flat", reflectance=0.18, luminance_cd_m2=2000))
    camera.set_controls(ae_lock=True)
    assert camera.capture().metadata.exposure_s == locked.exposure_s  # light changed, AE-L held
    camera.set_controls(ae_lock=False)
    assert camera.capture().metadata.exposure_s < locked.exposure_s / 5


def test_bracket_and_burst():
    camera = Camera(SimulatedBackend("chart:flat", seed=2))
    camera.configure(crop=(64, 64))
    frames = camera.bracket(3, 1.0)
    times = [f.metadata.exposure_s for f in frames]
    assert times[1] / times[0] == pytest.approx(2.0) and times[2] / times[1] == pytest.approx(2.0)
    assert [f.metadata.exposure_bias_ev for f in frames] == [-1.0, 0.0, 1.0]
    burst = camera.burst(3)
    assert len({f.metadata.exposure_s for f in burst}) == 1
    assert not np.array_equal(burst[0].mosaic, burst[1].mosaic)  # independent noise
    assert len({f.metadata.frame_index for f in burst}) == 3


def test_settings_are_validated_on_their_own_with_their_ranges():
    with pytest.raises(InvalidSetting, match="binned or full"):
        Configuration(mode="quad")
    with pytest.raises(InvalidSetting, match="P, A, S or M"):
        Controls(program="X")
    with pytest.raises(InvalidSetting, match="-5 to \\+5 EV"):
        Controls(ev=6)
    with pytest.raises(InvalidSetting, match="needs a shutter"):
        Controls(program="S")
    with pytest.raises(InvalidSetting, match="1800-20000 K"):
        WhiteBalance.parse("500K")
    camera = Camera(SimulatedBackend("chart:flat"))
    with pytest.raises(InvalidSetting, match="ISO 100-25600"):
        camera.set_controls(program="M", exposure_s=0.01, iso=50)
    with pytest.raises(InvalidSetting, match="4096x3072"):
        camera.configure(crop=(99998, 10))
    with pytest.raises(InvalidSetting, match="f/0.95 to f/16"):
        camera.attach_lens("noctilux-m-50-f0.95")
        camera.configure(module="m")
        camera.set_lens(f_number=0.7)


def test_the_m_module_needs_a_lens():
    camera = Camera(SimulatedBackend("chart:flat"))
    camera.configure(module="m", crop=(64, 64))
    with pytest.raises(NoLensAttached, match="no lens"):
        camera.capture()


@pytest.mark.parametrize("module", ["main", "m"])
def test_a_still_scene_is_rendered_once_whatever_a_press_reads(module):
    """A press reads several optical images: the preview it meters on and the capture, and an
    M lens in program A also the main module's preview and the crop its aperture estimate
    compares with. On a still scene with the same rings each is rendered once; the second
    press renders nothing (an LRU of three optical images missed all four every press). A new
    scene renders them again."""
    twin = SimulatedBackend("chart:colorchecker", seed=3)
    camera = Camera(twin)
    if module == "m":
        camera.attach_lens("summicron-m-50")
    camera.configure(module=module, crop=(320, 240))
    if module == "m":
        camera.set_lens(f_number=2.8, focus_m=3.0)
        camera.set_controls(program="A")
    camera.capture()
    first = twin.optics_renders
    assert first >= (4 if module == "m" else 2)
    camera.capture()
    assert twin.optics_renders == first
    twin.set_scene(load_scene("chart:colorchecker", luminance_cd_m2=700))
    camera.capture()
    assert twin.optics_renders == 2 * first


@pytest.mark.parametrize("module", ["main", "m"])
def test_prepare_renders_the_light_of_the_next_capture(module):
    """Camera.prepare renders the light of the metering preview and of the capture before the
    press: the press then renders nothing, and its frame is the one an unprepared camera
    takes (bit for bit). A capture that starts while another thread prepares waits for that
    light instead of rendering it again."""
    import threading

    scene = load_scene("chart:colorchecker", luminance_cd_m2=600)

    def camera() -> Camera:
        c = Camera(SimulatedBackend(scene, seed=5))
        if module == "m":
            c.attach_lens("summicron-m-50")
            c.configure(module="m", crop=(320, 240))
            c.set_lens(f_number=4.0, focus_m=3.0)
        else:
            c.configure(crop=(320, 240))
        return c

    plain = camera().capture()
    ready = camera()
    ready.prepare()
    renders = ready.backend.optics_renders
    assert renders == 2  # the preview and the capture
    frame = ready.capture()
    if module == "main":  # (an M lens's aperture estimate reads a main-module crop besides)
        assert ready.backend.optics_renders == renders
    assert np.array_equal(frame.mosaic, plain.mosaic)
    assert frame.metadata.exposure_s == plain.metadata.exposure_s
    both = camera()
    thread = threading.Thread(target=both.prepare)
    thread.start()
    frame = both.capture()
    thread.join()
    assert np.array_equal(frame.mosaic, plain.mosaic)
    assert both.backend.optics_renders == ready.backend.optics_renders


def test_prepare_leaves_what_it_cannot_know():
    """With autofocus at each shot the loop moves the lens first: only the metering preview is
    rendered ahead. A scene changed while a prepare runs is the one the next press sees. With
    no lens on the mount there is nothing to prepare (refused as a capture is)."""
    import threading

    camera = Camera(SimulatedBackend("chart:colorchecker", seed=2))
    camera.configure(crop=(256, 192))
    camera.set_controls(focus_mode="auto")
    camera.prepare()
    assert camera.backend.optics_renders == 1
    camera.set_controls(focus_mode="manual")
    other = load_scene("chart:siemens-star")
    thread = threading.Thread(target=camera.prepare)
    thread.start()
    camera.backend.set_scene(other)
    thread.join()
    frame = camera.capture()
    fresh = Camera(SimulatedBackend(other, seed=2))
    fresh.configure(crop=(256, 192))
    assert np.array_equal(frame.mosaic, fresh.capture().mosaic)
    camera.configure(module="m")
    with pytest.raises(NoLensAttached):
        camera.prepare()


def test_a_frame_develops_as_its_dng_does(tmp_path):
    """The frame carries what the DNG writer and develop need (calibration, believed lens and
    its corrections, neutral): developing the frame and developing its DNG give one picture
    (up to the DNG's fixed-point matrices and opcode parameters)."""
    from mountcam.develop import develop
    from mountcam.dng import read_dng, write_dng

    camera, (frame,) = twin_capture(
        "sample:coffee", crop=(192, 128), lens="summilux-m-21", module="m", f_number=2.8
    )
    path = write_dng(frame, tmp_path / "a.dng")
    assert read_dng(path).opcode_list_3  # the believed lens's corrections went in
    direct, via_file = develop(frame).pixels, develop(path).pixels
    assert direct.shape == via_file.shape
    assert np.abs(direct - via_file).max() < 2e-3


def test_autofocus_finds_a_near_subject_and_refuses_m_lenses(tmp_path):
    """control.af's loop driven by the camera: a textured plane at 0.3 m comes into focus from
    infinity, inside the depth of field the loop reports."""
    from PIL import Image

    rng = np.random.default_rng(1)
    texture = np.kron(rng.integers(30, 220, (48, 64, 3)), np.ones((4, 4, 1))).astype(np.uint8)
    Image.fromarray(texture).save(tmp_path / "wall.png")
    np.save(tmp_path / "wall_depth.npy", np.full((192, 256), 0.3))
    scene = load_scene(str(tmp_path / "wall.png"), depth_path=str(tmp_path / "wall_depth.npy"))
    camera = Camera(SimulatedBackend(scene, seed=5))
    result = camera.autofocus()
    assert result.in_focus, result
    assert result.dof_near_m <= 0.3 <= result.dof_far_m
    assert camera.module("main").focus_m == result.focus_m
    camera.set_lens(focus_m=math.inf)
    camera.set_controls(focus_mode="auto")  # capture() focuses first
    frame = camera.capture()
    assert frame.metadata.focus_m == pytest.approx(result.focus_m, rel=0.05)
    assert frame.metadata.extra["autofocus"]["point"] == [0.5, 0.5]
    camera.attach_lens("summicron-m-50")
    camera.configure(module="m")
    with pytest.raises(InvalidSetting, match="focuses by its ring"):
        camera.autofocus()


def test_the_af_point_moves_the_region_focused_on():
    """set:portrait through the main lens: the AF region at the centre holds the face and its
    eyes and finds the subject at 1.5 m; on the dark wall left of the head (0.15, 0.5) there is
    no contrast (parked at the hyperfocal distance); on an eye it is the subject again. A 96 px
    square at the centre sees only the face's uniform skin. The point is a fraction of the
    field, checked as a setting."""
    camera = Camera(SimulatedBackend("set:portrait", seed=1))
    centre = camera.autofocus()
    assert centre.in_focus and abs(1 / centre.focus_m - 1 / 1.5) < 0.1  # dioptres
    skin = camera.autofocus(region=(96, 96))
    assert not skin.in_focus and "no contrast" in skin.reason
    camera.set_controls(focus_mode="auto", af_point=(0.15, 0.5))
    wall = camera.autofocus()
    assert not wall.in_focus and "no contrast" in wall.reason
    camera.set_controls(af_point=(0.484, 0.488))
    eye = camera.autofocus()
    assert eye.in_focus and eye.dof_near_m <= 1.5 <= eye.dof_far_m
    assert abs(1 / eye.focus_m - 1 / 1.5) < 0.1  # dioptres
    for bad in [(1.2, 0.5), (0.5, float("nan")), (0.5,), "centre"]:
        with pytest.raises(InvalidSetting, match="AF point"):
            camera.set_controls(af_point=bad)
    with pytest.raises(InvalidSetting, match="AF point"):
        camera.autofocus(point=(-0.1, 0.5))
