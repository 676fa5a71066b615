"""develop(): settings, inputs, geometry, exposure, highlights, tone curve and looks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from mountcam.develop import DevelopSettings, Image, develop
from mountcam.develop.colour import srgb_decode, srgb_encode, xy_to_xyz
from mountcam.develop.highlights import reconstruct_highlights
from mountcam.develop.looks import load_look, look_names, parse_look
from mountcam.develop.schedule import Schedule
from mountcam.develop.tone import ToneCurve, build_lut, lut_lookup
from mountcam.dng import DngInfo, read_dng, write_dng
from mountcam.dng.calibration import BASELINE_EXPOSURE_EV, ColorCalibration
from mountcam.errors import InvalidSetting, UnreadableFile
from mountcam.sensor.rawframe import CaptureMetadata, RawFrame

NEUTRAL = (0.5, 1.0, 0.6)
_S = np.array([[0.9, 0.35, -0.15], [-0.3, 1.2, 0.1], [0.05, -0.2, 1.0]])
CM = _S / (_S @ xy_to_xyz((0.3127, 0.3290))).max()
PLAIN = {"denoise": False, "sharpen": False, "lens_correction": False}


def mosaic_of(cam: np.ndarray, pattern: str, black: float, white: int) -> np.ndarray:
    """uint16 CFA mosaic of unbalanced camera RGB ``cam`` (1.0 = white level)."""
    h, w, _ = cam.shape
    plane = np.empty((h, w))
    for k, c in enumerate(pattern):
        dy, dx = divmod(k, 2)
        plane[dy::2, dx::2] = cam[dy::2, dx::2, "RGB".index(c)]
    return np.clip(np.round(black + plane * (white - black)), 0, white).astype(np.uint16)


def make_info(
    cam: np.ndarray,
    pattern: str = "RGGB",
    black: float = 64.0,
    white: int = 4095,
    crop_origin: tuple[float, float] = (4.0, 4.0),
    crop_size: tuple[float, float] | None = None,
    baseline_ev: float = 0.0,
) -> DngInfo:
    h, w, _ = cam.shape
    ox, oy = crop_origin
    info = DngInfo(
        path=Path("synthetic.dng"),
        mosaic=mosaic_of(cam, pattern, black, white),
        cfa_pattern=pattern,
        black_level_dn=(black,) * 4,
        white_level_dn=white,
        as_shot_neutral=NEUTRAL,
        color_matrix_1=CM,
        calibration_illuminant_1=21,
        default_crop_origin=(ox, oy),
        default_crop_size=crop_size or (w - 2 * ox, h - 2 * oy),
        active_area=(0, 0, h, w),
        dng_version=(1, 4, 0, 0),
    )
    info.baseline_exposure = baseline_ev
    return info


def grey_scene(h: int = 48, w: int = 64, level: float = 0.2) -> np.ndarray:
    """Unbalanced camera RGB of a uniform neutral surface."""
    return np.broadcast_to(np.array(NEUTRAL) * level, (h, w, 3)).copy()


def textured_scene(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 0.15 + 0.1 * np.sin(x / 5.0)[..., None] * np.array([1.0, 0.6, 0.2])
    base = base + 0.05 * np.cos(y / 3.0)[..., None] * np.array([0.1, 0.5, 1.0])
    base = base + 0.02 * rng.random((h, w, 3))
    return np.clip(base, 0, None) * np.array(NEUTRAL)


# --------------------------------------------------------------------------------- settings


def test_settings_refuse_what_cannot_be_done() -> None:
    for bad in (
        {"quality": "best"},
        {"look": "sepia"},
        {"wb": "moonlight"},
        {"wb": 900},
        {"exposure_ev": 9.0},
        {"exposure_ev": float("nan")},
        {"output_space": "adobe-rgb"},
    ):
        with pytest.raises(InvalidSetting):
            DevelopSettings(**bad)
    assert DevelopSettings(wb="5600K").wb == 5600
    assert DevelopSettings(wb=" Daylight ").wb == "daylight"
    eff = DevelopSettings(linear=True, exposure_ev=1.0, look="vibrant").effective
    assert (eff.exposure_ev, eff.look, eff.denoise, eff.sharpen) == (0.0, "standard", False, False)


# ---------------------------------------------------------------------------- geometry, input


@pytest.mark.parametrize("origin", [(4.0, 4.0), (3.0, 5.0), (2.0, 1.0)])
@pytest.mark.parametrize("pattern", ["RGGB", "BGGR", "GRBG", "GBRG"])
def test_linear_output_is_the_default_crop_and_neutral_stays_neutral(origin, pattern) -> None:
    """Any CFA phase and any crop origin (odd ones shift the pattern) give a neutral grey."""
    info = make_info(grey_scene(), pattern=pattern, crop_origin=origin, crop_size=(50.0, 36.0))
    img = develop(info, DevelopSettings(linear=True, **PLAIN))
    assert isinstance(img, Image) and img.color_space == "linear-rec709" and img.linear
    assert img.pixels.shape == (36, 50, 3) and img.pixels.dtype == np.float32
    # 0.2 of clip, white-balanced: reaches the output as 0.2 on all three channels.
    np.testing.assert_allclose(img.pixels, 0.2, atol=2e-3)


def test_path_dnginfo_and_rawframe_develop_the_same(tmp_path: Path) -> None:
    cam = textured_scene(64, 80)
    info = make_info(cam)
    md = CaptureMetadata(
        sensor="imx989", module="main", mode="binned", bits=12, exposure_s=0.01, iso=100.0,
        analog_gain=1.0, digital_gain=1.0, temperature_c=25.0, seed=1, frame_index=0,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        lens_name="", focal_mm=8.7, f_number=1.9, as_shot_neutral=NEUTRAL,
    )  # fmt: skip
    frame = RawFrame(info.mosaic, "RGGB", (64.0,) * 4, 4095, md)
    cal = ColorCalibration(color_matrix_1=CM, calibration_illuminant_1=21)
    path = write_dng(frame, tmp_path / "x.dng", calibration=cal)
    settings = DevelopSettings(**PLAIN)
    a = develop(path, settings).pixels
    b = develop(read_dng(path), settings).pixels
    c = develop(frame, settings, calibration=cal).pixels
    np.testing.assert_array_equal(a, b)
    # The DNG stores the matrix as rationals with denominator 10 000: tiny differences only.
    np.testing.assert_allclose(a, c, atol=2e-3)
    with pytest.raises(TypeError):
        develop(42)


def test_strips_do_not_show() -> None:
    info = make_info(textured_scene(96, 128, seed=2))
    settings = DevelopSettings(denoise=False, lens_correction=False)
    whole = develop(info, settings, schedule=Schedule(strip_rows=200)).pixels
    for schedule in (Schedule(strip_rows=10), Schedule(strip_rows=10, workers=1)):
        strips = develop(info, settings, schedule=schedule).pixels
        np.testing.assert_array_equal(strips, whole)


def test_integer_outputs_are_the_rounded_float_output() -> None:
    info = make_info(textured_scene(48, 64, seed=3))
    settings = DevelopSettings(**PLAIN)
    f = develop(info, settings).pixels
    u8 = develop(info, settings, output_dtype=np.uint8).pixels
    u16 = develop(info, settings, output_dtype=np.uint16).pixels
    assert u8.dtype == np.uint8 and u16.dtype == np.uint16
    # 8-bit comes from the fixed-point LUT (tone.build_lut_fixed): at most one code from the
    # float output, whose interpolated LUT has its own 1/20 of a code of error.
    assert np.abs(u8.astype(float) - f * 255).max() <= 1.0
    assert np.mean(u8 == np.round(f * 255)) > 0.99
    assert np.abs(u16.astype(float) - f * 65535).max() <= 0.5 + 0.1
    img = Image(u16, "srgb", False, None, settings)
    np.testing.assert_array_equal(
        img.to_uint8(), Image(f, "srgb", False, None, settings).to_uint8()
    )


def test_unsupported_or_broken_raw_data_is_refused() -> None:
    info = make_info(grey_scene())
    with pytest.raises(UnreadableFile, match="CFA"):
        develop(replace(info, cfa_pattern="RGBW"))
    with pytest.raises(UnreadableFile, match="black"):
        develop(replace(info, black_level_dn=(5000.0,) * 4))
    with pytest.raises(UnreadableFile, match="ColorMatrix1"):
        develop(replace(info, color_matrix_1=None))


# --------------------------------------------------------------------------------- exposure


def test_linear_exposure_is_baseline_exposure_only() -> None:
    base = develop(make_info(grey_scene(level=0.1)), DevelopSettings(linear=True, **PLAIN))
    plus = develop(
        make_info(grey_scene(level=0.1), baseline_ev=1.0),
        DevelopSettings(linear=True, exposure_ev=2.0, **PLAIN),
    )
    np.testing.assert_allclose(plus.pixels, 2.0 * base.pixels, rtol=1e-5)


def test_user_exposure_is_a_linear_gain_before_the_tone_curve() -> None:
    s = DevelopSettings(**PLAIN)
    one_up = develop(make_info(grey_scene(level=0.05)), replace(s, exposure_ev=1.0)).pixels
    double = develop(make_info(grey_scene(level=0.10)), s).pixels
    np.testing.assert_allclose(one_up, double, atol=2e-3)
    assert one_up.mean() > develop(make_info(grey_scene(level=0.05)), s).pixels.mean() + 0.05


def test_metered_grey_lands_on_display_mid_grey() -> None:
    # ISO 12232: 18 % grey at 10/78 of clip; the DNG's BaselineExposure lifts it to 0.18 and
    # the standard look puts that on the 18 % display grey (sRGB 118).
    info = make_info(grey_scene(level=10 / 78), baseline_ev=BASELINE_EXPOSURE_EV)
    img = develop(info, DevelopSettings(**PLAIN))
    np.testing.assert_allclose(img.pixels * 255, 118.0, atol=1.0)


# ------------------------------------------------------------------------------- highlights


def _white_ramp(h: int = 32, w: int = 256, top: float = 4.0) -> np.ndarray:
    """A neutral ramp from 0.2 to ``top`` × clip of the most sensitive channel, raw clipped."""
    ramp = np.linspace(0.2, top, w)
    cam = ramp[None, :, None] * np.array(NEUTRAL)[None, None, :]
    return np.clip(np.broadcast_to(cam, (h, w, 3)), 0.0, 1.0)


def test_clipped_white_stays_neutral_not_magenta() -> None:
    info = make_info(_white_ramp())
    img = develop(info, DevelopSettings(linear=True, **PLAIN)).pixels[10:20, 8:-8]
    row = img.mean(axis=0)
    r, g, b = row[:, 0], row[:, 1], row[:, 2]
    magenta = (r + b) / 2 - g
    assert np.abs(magenta).max() < 0.01 * row.max()
    # The test can fail: the same data without reconstruction is strongly magenta.
    wb = np.clip(np.linspace(0.2, 4.0, 256)[:, None] * np.array(NEUTRAL), 0, 1) / np.array(NEUTRAL)
    assert ((wb[:, 0] + wb[:, 2]) / 2 - wb[:, 1]).max() > 0.5


def test_clipped_highlights_keep_gradation() -> None:
    """Beyond the green clip (1.0) the red and blue channels still rise to their own clip
    (1/0.6 and 1/0.5): the reconstructed highlight keeps rising instead of going flat."""
    img = develop(make_info(_white_ramp()), DevelopSettings(linear=True, **PLAIN)).pixels
    lum = img[10:20].mean(axis=(0, 2))
    ramp = np.linspace(0.2, 4.0, 256)[4:-4]  # the default crop drops 4 columns each side
    zone = (ramp > 1.05) & (ramp < 1.6)  # green clipped, blue (clip 1.67) and red not yet
    assert np.all(np.diff(lum[zone]) > 0)
    assert lum[zone][-1] > 1.3 * lum[zone][0]


def test_reconstruct_highlights_pixel_rules() -> None:
    clip = (2.0, 1.0, 1.6)
    px = np.array(
        [[[0.5, 0.4, 0.3], [1.8, 1.0, 1.6], [1.9, 1.0, 1.2], [2.0, 0.3, 0.2]]], dtype=np.float32
    )
    out = reconstruct_highlights(px, clip)[0]
    np.testing.assert_array_equal(out[0], px[0, 0])  # nothing clipped: untouched
    np.testing.assert_allclose(out[1], px[0, 1].mean(), atol=1e-6)  # white: neutral, same mean
    assert out[2].mean() == pytest.approx(px[0, 2].mean(), abs=1e-6)
    assert out[2][1] >= out[2][2] - 1e-6  # no magenta: green not below blue
    np.testing.assert_allclose(out[3], px[0, 3], atol=1e-6)  # red clipped alone keeps its chroma


# ------------------------------------------------------------------------------- tone, looks


def test_tone_curve_is_monotonic_hits_its_anchors_and_keeps_detail_near_white() -> None:
    for name in look_names():
        curve = load_look(name).tone
        x = np.linspace(0, curve.white_in, 20001)
        y = curve(x)
        assert np.all(np.diff(y) > 0), name
        assert curve(np.array(curve.grey_in)) == pytest.approx(curve.grey_out, rel=1e-6)
        assert curve(np.array(curve.white_in)) == pytest.approx(1.0, abs=1e-9)
        # Detail near white: the last 10 % of the input range still spans several 8-bit codes.
        top = srgb_encode(curve(np.array([0.9 * curve.white_in, curve.white_in]))) * 255
        assert top[1] - top[0] >= 2.0, name
        # A shoulder, not a clip: the reference white (0.71 of clip) is below display white.
        assert srgb_encode(curve(np.array(1.0))) * 255 < 235


def test_tone_lut_matches_the_curve() -> None:
    curve = ToneCurve()
    lut = build_lut(curve, curve.white_in, encode=True)
    x = np.geomspace(1e-5, curve.white_in, 5000)
    exact = srgb_encode(curve(x))
    assert np.abs(lut_lookup(lut, x, curve.white_in) - exact).max() < 0.05 / 255


def test_looks_load_from_data_with_a_reason_for_every_value() -> None:
    assert set(look_names()) >= {"standard", "authentic", "vibrant"}
    for name in look_names():
        look = load_look(name)
        assert len(look.rationale) == 7 and all(len(w) > 20 for w in look.rationale.values())
        assert look.description
    text = '[exposure_ev]\nvalue = 0.0\n[saturation]\nvalue = 1.0\nwhy = "x"\n'
    with pytest.raises(InvalidSetting, match="why"):
        parse_look("broken", text)


def _chroma(rgb_encoded: np.ndarray) -> float:
    lin = srgb_decode(rgb_encoded)
    return float(np.mean(lin.max(axis=-1) - lin.min(axis=-1)))


def test_vibrant_is_brighter_and_more_saturated_authentic_more_contrasty() -> None:
    info = make_info(textured_scene(64, 96, seed=4))
    out = {n: develop(info, DevelopSettings(look=n, **PLAIN)).pixels for n in look_names()}
    assert out["vibrant"].mean() > out["standard"].mean() + 0.02
    assert _chroma(out["vibrant"]) > 1.15 * _chroma(out["standard"])
    # Contrast: the spread of a tonal range around mid grey is larger with the authentic look.
    levels = np.array([0.05, 0.18, 0.4])
    std = srgb_encode(load_look("standard").tone(levels))
    auth = srgb_encode(load_look("authentic").tone(levels))
    assert auth[2] - auth[0] > std[2] - std[0]
