"""DNG opcode lists (mountcam.dng.opcodes): the byte format, refusal of damaged lists, and lens
corrections that undo what the twin's lens did.

The fit is checked against the twin's own code, not against the opcode module's formulas: the
distortion against :func:`mountcam.optics.aberrations.distorted_rho` and an image rendered by
:func:`~mountcam.optics.aberrations.apply_lens_geometry`, the vignetting against
:func:`mountcam.optics.imaging.relative_illumination`. The Adobe DNG SDK (dngpy) must open the
files without a word, and refuse a list we deliberately break (so it does parse them).
"""

from __future__ import annotations

import dataclasses
import math
import struct
from datetime import datetime, timedelta, timezone

import colour
import numpy as np
import pytest

from mountcam.dng import calibrate, read_dng, write_dng
from mountcam.dng.opcodes import (
    FLAG_OPTIONAL,
    FixVignetteRadial,
    GainMap,
    UnknownOpcode,
    WarpRectilinear,
    decode_opcode_list,
    encode_opcode_list,
    fit_lens_opcodes,
    lens_opcodes_for_frame,
    vignette_gain,
    warp_source_positions,
)
from mountcam.errors import UnreadableFile
from mountcam.optics.aberrations import (
    apply_lens_geometry,
    distorted_rho,
    lateral_scale_from_um,
    source_margin_px,
)
from mountcam.optics.imaging import image_distance_m, relative_illumination
from mountcam.optics.lens import Distortion, LateralColor, LensState, Vignetting, load_lens
from mountcam.optics.sensor_window import FULL_FRAME_HALF_DIAGONAL_M, SensorWindow, expand_window
from mountcam.sensor.rawframe import CaptureMetadata, RawFrame
from mountcam.spectra import resample, sd_on_grid

BINNED = (3072, 4096, 3.2e-6)  # rows, cols, pitch of the binned readout grid
FULL = (6144, 8192, 1.6e-6)

WARP = WarpRectilinear(
    ((1.0, -0.01, 0.002, -1e-4, 1e-5, -2e-5), (1.0001, -0.011, 0.0, 0.0, 0.0, 0.0)),
    0.49,
    0.51,
)
VIGNETTE = FixVignetteRadial((0.4, 0.05, -0.01, 0.001, -1e-4), 0.5, 0.5)


def _gain_map() -> GainMap:
    gains = np.linspace(1.0, 1.5, 4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3)
    return GainMap(0, 0, 120, 160, 0, 3, 1, 1, 1 / 3, 1 / 4, 0.0, 0.0, gains)


# --- format -----------------------------------------------------------------------------------


def test_round_trip_keeps_every_field():
    unknown = UnknownOpcode(4, (1, 3, 0, 0), 3, b"\x00\x01\x02\x03")  # FixBadPixelsConstant
    ops = [VIGNETTE, WARP, _gain_map(), unknown]
    back = decode_opcode_list(encode_opcode_list(ops))
    assert back[0] == VIGNETTE and back[1] == WARP and back[3] == unknown
    gm = back[2]
    assert isinstance(gm, GainMap)
    assert np.array_equal(gm.gains, _gain_map().gains) and gm.gains.dtype == np.float32
    assert (gm.top, gm.bottom, gm.right, gm.planes, gm.map_spacing_v) == (0, 120, 160, 3, 1 / 3)
    assert encode_opcode_list(back) == encode_opcode_list(ops)


def test_bytes_are_big_endian_as_dng_requires():
    data = encode_opcode_list([VIGNETTE])
    # DNG 1.4 ch. 6: count, then ID, version 1.3.0.0, flags, parameter bytes, parameters
    assert data[:20] == struct.pack(">IIIII", 1, 3, 0x01030000, FLAG_OPTIONAL, 56)
    assert struct.unpack(">7d", data[20:]) == (*VIGNETTE.k, 0.5, 0.5)
    warp = encode_opcode_list([WARP])
    assert struct.unpack_from(">I", warp, 20) == (2,)  # planes
    assert len(warp) == 4 + 16 + 4 + 2 * 48 + 16


def test_malformed_lists_raise_unreadable_file_only():
    good = encode_opcode_list([VIGNETTE, WARP, _gain_map()])
    for n in range(len(good)):  # every truncation
        with pytest.raises(UnreadableFile):
            decode_opcode_list(good[:n])
    bad = [
        good + b"\x00",  # trailing bytes
        struct.pack(">I", 2**31) + good[4:],  # absurd count
        struct.pack(">I", 4) + good[4:],  # more opcodes than there are
        encode_opcode_list([VIGNETTE])[:-16] + struct.pack(">2d", 1.5, 0.5),  # centre outside
        encode_opcode_list([VIGNETTE])[:20] + struct.pack(">d", math.nan) + b"\0" * 48,
    ]
    warp = bytearray(encode_opcode_list([WARP]))
    warp[23] = 9  # 9 planes in a 2-plane record
    bad.append(bytes(warp))
    for data in bad:
        with pytest.raises(UnreadableFile):
            decode_opcode_list(data)
    # Random damage: either it still decodes or it is refused as unreadable, nothing else.
    rng = np.random.default_rng(5)
    for _ in range(2000):
        data = bytearray(good)
        for pos in rng.integers(0, len(data), size=rng.integers(1, 6)):
            data[pos] = int(rng.integers(0, 256))
        try:
            decode_opcode_list(bytes(data))
        except UnreadableFile:
            pass


def test_encoder_refuses_what_readers_would_reject():
    with pytest.raises(ValueError):
        encode_opcode_list([dataclasses.replace(VIGNETTE, center_x=1.2)])
    with pytest.raises(ValueError):
        encode_opcode_list([dataclasses.replace(WARP, coefficients=())])
    with pytest.raises(ValueError):
        encode_opcode_list([dataclasses.replace(VIGNETTE, k=(math.inf, 0, 0, 0, 0))])


def test_opcode_math_follows_the_sdk_conventions():
    # r = 1 at the farthest corner; the warp puts pixel (r, c) at (r, c), the vignette at +1/2.
    op = WarpRectilinear(((2.0, 0.0, 0.0, 0.0, 0.0, 0.0),), 0.5, 0.5)
    rows, cols = warp_source_positions(
        op, 0, np.array([50.0, 0.0]), np.array([100.0, 0.0]), (100, 200)
    )
    assert rows.tolist() == [50.0, -50.0] and cols.tolist() == [100.0, -100.0]
    vig = FixVignetteRadial((1.0, 0.0, 0.0, 0.0, 0.0), 0.5, 0.5)
    g = vignette_gain(vig, np.array([-0.5, 49.5]), np.array([-0.5, 99.5]), (100, 200))
    assert g.tolist() == pytest.approx([2.0, 1.0])


# --- the fit against the twin ---------------------------------------------------------------------

STRONG = dataclasses.replace(
    load_lens("summicron-m-50"),
    # A strongly distorting lens with an odd term (what lensfun's ptlens model gives) and
    # large lateral colour: the even polynomial of WarpRectilinear can only approximate it.
    distortion=Distortion("poly", (1.0, 0.04, -0.35, 0.12), "test"),
    lateral_color=LateralColor("linear-um", (9.0, -7.0), "test"),
    vignetting=Vignetting("corner-ev", ((2.0, 4.0, 3.0),), "test"),
)


def _twin_distorted_px(lens, plane: int, rows, cols, axis_rc, pitch_m):
    """Where the twin images the ideal point at pixel (rows, cols): r_d = s·ρ_u·P(ρ_u)."""
    dv, dh = rows - axis_rc[0], cols - axis_rc[1]
    rho_u = np.hypot(dv, dh) * pitch_m / FULL_FRAME_HALF_DIAGONAL_M
    model, coeffs = lens.distortion.as_rho_poly()
    s = 1.0
    if lens.lateral_color is not None and plane != 1:
        s = lateral_scale_from_um(float(lens.lateral_color.shift_um(1.0)[0 if plane == 0 else 1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(rho_u > 0, s * distorted_rho(rho_u, model, coeffs) / rho_u, s)
    return axis_rc[0] + dv * ratio, axis_rc[1] + dh * ratio


@pytest.mark.parametrize(
    "lens_id, grid, window, tolerance_px",
    [
        ("summicron-m-50", BINNED, None, 1e-6),
        ("super-elmar-m-18", FULL, None, 1e-6),
        # The odd term costs a fifth of a pixel at the 1-inch corner on the binned grid.
        ("strong", BINNED, None, 0.25),
        ("strong", FULL, None, 0.5),
        ("strong", BINNED, (1500, 1900, 240, 320), 0.01),  # an off-centre crop window
    ],
)
def test_warp_puts_every_pixel_back_where_the_ideal_lens_would(lens_id, grid, window, tolerance_px):
    lens = STRONG if lens_id == "strong" else load_lens(lens_id)
    full_h, full_w, pitch = grid
    origin, (h, w) = ((0, 0), (full_h, full_w)) if window is None else (window[:2], window[2:])
    fit = fit_lens_opcodes(
        lens,
        LensState(lens.max_f),
        image_hw=(h, w),
        pixel_pitch_m=pitch,
        window_origin=origin,
        full_size=(full_h, full_w),
    )
    warp = next(op for op in fit.ops if isinstance(op, WarpRectilinear))
    assert len(warp.coefficients) == 3  # lateral colour: one warp per plane
    rows, cols = np.meshgrid(np.linspace(0, h, 61), np.linspace(0, w, 81), indexing="ij")
    axis = (full_h / 2 - 0.5 - origin[0], full_w / 2 - 0.5 - origin[1])
    worst = 0.0
    for plane in range(3):
        got = warp_source_positions(warp, plane, rows, cols, (h, w))
        want = _twin_distorted_px(lens, plane, rows, cols, axis, pitch)
        worst = max(worst, float(np.max(np.hypot(got[0] - want[0], got[1] - want[1]))))
    assert worst <= tolerance_px
    assert fit.warp_error_px == pytest.approx(worst, rel=0.2, abs=1e-6)  # the report is honest


def _remap(image: np.ndarray, map_rows: np.ndarray, map_cols: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.remap(
        image,
        map_cols.astype(np.float32),
        map_rows.astype(np.float32),
        cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REFLECT,
    )


@pytest.mark.parametrize(
    "origin, size, before_min",
    [((0, 0), (384, 512), 0.05), ((150, 100), (120, 160), 0.004)],  # whole frame, crop
)
def test_rendered_distortion_and_lateral_colour_are_undone(origin, size, before_min):
    """Render a pattern through the twin's lens geometry, correct it with the opcode (cubic
    resampling, as the SDK does): it matches the ideal image to 0.5 % RMS, where the captured
    image is off by more than 5 % (whole frame). The sensor is the 1-inch one on a coarse 25.6 µm grid, so
    the whole frame, corners and all, renders in a moment."""
    full_h, full_w, pitch = 384, 512, 25.6e-6
    window = SensorWindow(pitch, full_w, full_h, origin[0], origin[1], size[1], size[0])
    scales = [
        lateral_scale_from_um(float(STRONG.lateral_color.shift_um(1.0)[0])),
        1.0,
        lateral_scale_from_um(float(STRONG.lateral_color.shift_um(1.0)[1])),
    ]
    distortion = STRONG.distortion.as_rho_poly()
    margin = source_margin_px(window, distortion=distortion, lateral_scale_per_band=scales) + 8
    source = expand_window(window, margin)
    yy, xx = np.mgrid[0 : source.height, 0 : source.width].astype(np.float32)
    ideal = np.stack(
        [0.5 + 0.4 * np.sin(xx / 5.0 + k) * np.cos(yy / 6.0 - k) for k in (0.0, 1.0, 2.0)],
        axis=2,
    ).astype(np.float32)
    captured = apply_lens_geometry(
        ideal, window, distortion=distortion, lateral_scale_per_band=scales, source_window=source
    )
    fit = fit_lens_opcodes(
        STRONG,
        LensState(2.0),
        image_hw=(window.height, window.width),
        pixel_pitch_m=pitch,
        window_origin=(window.origin_row, window.origin_col),
        full_size=(full_h, full_w),
    )
    warp = next(op for op in fit.ops if isinstance(op, WarpRectilinear))
    rows, cols = np.mgrid[0 : window.height, 0 : window.width].astype(np.float64)
    corrected = np.stack(
        [
            _remap(
                captured[..., p], *warp_source_positions(warp, p, rows, cols, captured.shape[:2])
            )
            for p in range(3)
        ],
        axis=2,
    )
    truth = ideal[margin:-margin, margin:-margin]
    inner = (slice(12, -12), slice(12, -12))
    err = float(np.sqrt(np.mean((corrected[inner] - truth[inner]) ** 2)))
    before = float(np.sqrt(np.mean((captured[inner] - truth[inner]) ** 2)))
    assert err < 0.005 and err < before / 5 and before > before_min, (err, before)


@pytest.mark.parametrize(
    "lens_id, f_number, grid, window, tolerance",
    [
        # the main lens's 2 EV profile: 1/I is no polynomial in r² (cos⁴'s was), 0.2 %
        ("main-8.7", 1.9, FULL, None, 2e-3),
        ("summicron-m-50", 2.0, BINNED, None, 1e-5),
        ("noctilux-m-50-f0.95", 1.4, BINNED, None, 1e-5),
        ("super-elmar-m-18", 3.8, BINNED, (1400, 1800, 400, 600), 1e-5),
        ("strong", 2.0, BINNED, None, 2e-3),
    ],
)
def test_vignette_gain_restores_a_flat_field(lens_id, f_number, grid, window, tolerance):
    lens = STRONG if lens_id == "strong" else load_lens(lens_id)
    state = LensState(f_number)
    full_h, full_w, pitch = grid
    step = 4 if window is None else 1  # every 4th pixel of a whole frame keeps this quick
    origin, (h, w) = ((0, 0), (full_h, full_w)) if window is None else (window[:2], window[2:])
    win = SensorWindow(pitch, full_w, full_h, origin[0], origin[1], w, h)
    v = image_distance_m(lens.focal_for(state) * 1e-3, state.focus_m)
    twin = relative_illumination(lens, state, win, win.grid_m().scaled(1.0 / v))[::step, ::step]
    fit = fit_lens_opcodes(
        lens,
        state,
        image_hw=(h, w),
        pixel_pitch_m=pitch,
        window_origin=origin,
        full_size=(full_h, full_w),
        vignetting="radial",
    )
    vig = fit.ops[0]
    assert isinstance(vig, FixVignetteRadial) and fit.list2 == ()
    rows, cols = np.mgrid[0:h:step, 0:w:step]
    flat = twin * vignette_gain(vig, rows, cols, (h, w))
    worst = float(np.max(np.abs(flat - 1.0)))
    assert worst <= tolerance
    assert twin.min() < (0.97 if window is None else 0.995)  # there was fall-off to correct
    assert fit.vignette_error <= tolerance


@pytest.mark.parametrize(
    "lens_id, crop",
    [
        ("summilux-m-35", (1024, 768)),
        ("summicron-m-35-iv", (1024, 768)),
        ("summaron-m-28", (512, 384)),
        ("summicron-m-90", (64, 32)),
        ("summilux-m-21", (32, 32)),
    ],
)
def test_warp_fit_of_an_exactly_representable_lens(lens_id, crop):
    """Issue 9 §0: where the even polynomial reproduces the lens exactly (the catalogue's
    P = 1 + c2 ρ², and any lens on a small window) the first solve leaves only rounding noise;
    Lawson's reweighting by that noise used to zero every weight and crash LAPACK ("SVD did
    not converge"). The fit must come back exact, and read where the twin imaged."""
    width, height = crop
    full_h, full_w, pitch = BINNED
    origin = ((full_h - height) // 2 // 2 * 2, (full_w - width) // 2 // 2 * 2)
    lens = load_lens(lens_id)
    fit = fit_lens_opcodes(
        lens,
        LensState(lens.max_f),
        image_hw=(height, width),
        pixel_pitch_m=pitch,
        window_origin=origin,
        full_size=(full_h, full_w),
    )
    warp = next(op for op in fit.ops if isinstance(op, WarpRectilinear))
    assert fit.warp_error_px < 1e-6
    # Independently of the fit: the corner pixel reads where distorted_rho puts it.
    axis_r, axis_c = full_h / 2 - 0.5 - origin[0], full_w / 2 - 0.5 - origin[1]
    green = 1 if len(warp.coefficients) == 3 else 0  # red and blue carry lateral colour too
    src_r, src_c = warp_source_positions(
        warp, green, np.array([0.0]), np.array([0.0]), (height, width)
    )
    r_u = math.hypot(axis_r, axis_c) * pitch
    rho_d = distorted_rho(r_u / FULL_FRAME_HALF_DIAGONAL_M, *lens.distortion.as_rho_poly())
    r_d = rho_d * FULL_FRAME_HALF_DIAGONAL_M / pitch
    assert math.hypot(src_r[0] - axis_r, src_c[0] - axis_c) == pytest.approx(r_d, abs=1e-4)


def _gain_map_gain(op, rows, cols, hw):
    """The gain a GainMap applies at stage-2 pixel(s) (rows, cols) of an H × W image, written
    out from the DNG SDK (``dng_gain_map::Interpolate``): the map is read at the pixel's
    centre relative to the image, v = ((row + ½)/H − MapOriginV)/MapSpacingV (likewise u),
    bilinearly between map points, held at the map's ends."""
    height, width = hw
    g = op.gains[:, :, 0].astype(np.float64)
    n_v, n_h = g.shape
    v = np.clip(((rows + 0.5) / height - op.map_origin_v) / op.map_spacing_v, 0, n_v - 1)
    u = np.clip(((cols + 0.5) / width - op.map_origin_h) / op.map_spacing_h, 0, n_h - 1)
    v0 = np.minimum(np.floor(v).astype(int), n_v - 2)
    u0 = np.minimum(np.floor(u).astype(int), n_h - 2)
    fv, fu = v - v0, u - u0
    return (
        (1 - fv) * (1 - fu) * g[v0, u0]
        + (1 - fv) * fu * g[v0, u0 + 1]
        + fv * (1 - fu) * g[v0 + 1, u0]
        + fv * fu * g[v0 + 1, u0 + 1]
    )


@pytest.mark.parametrize(
    "lens_id, f_number, grid, window, tolerance",
    [
        ("main-8.7", 1.9, FULL, None, 2.5e-3),  # 2 EV in the corners, the steepest
        ("summicron-m-50", 2.0, BINNED, None, 1e-3),
        ("noctilux-m-50-f0.95", 1.4, BINNED, None, 1e-3),
        ("elmarit-m-21-asph", 2.8, BINNED, None, 1e-3),
        ("super-elmar-m-18", 3.8, BINNED, (1400, 1800, 400, 600), 1e-3),
        ("summilux-m-21", 1.4, BINNED, (0, 0, 300, 400), 1e-3),  # a corner: axis outside
        ("strong", 2.0, BINNED, None, 1e-3),
    ],
)
def test_gain_maps_restore_a_flat_field(lens_id, f_number, grid, window, tolerance):
    """OpcodeList2's four GainMaps, applied as the DNG SDK applies them, turn the twin's
    flat-field fall-off back into a flat field within 0.1 % (0.25 %, 0.004 EV, for the main
    lens's 2 EV corners) at every pixel checked."""
    lens = STRONG if lens_id == "strong" else load_lens(lens_id)
    state = LensState(f_number)
    full_h, full_w, pitch = grid
    step = 3 if window is None else 1
    origin, (h, w) = ((0, 0), (full_h, full_w)) if window is None else (window[:2], window[2:])
    win = SensorWindow(pitch, full_w, full_h, origin[0], origin[1], w, h)
    v = image_distance_m(lens.focal_for(state) * 1e-3, state.focus_m)
    twin = relative_illumination(lens, state, win, win.grid_m().scaled(1.0 / v))
    fit = fit_lens_opcodes(
        lens,
        state,
        image_hw=(h, w),
        pixel_pitch_m=pitch,
        window_origin=origin,
        full_size=(full_h, full_w),
    )
    assert [(m.top, m.left, m.row_pitch, m.col_pitch) for m in fit.list2] == [
        (0, 0, 2, 2), (0, 1, 2, 2), (1, 0, 2, 2), (1, 1, 2, 2)
    ]  # fmt: skip
    assert all(type(op).__name__ != "FixVignetteRadial" for op in fit.ops)
    for m in fit.list2:
        rows, cols = np.mgrid[m.top : h : 2 * step, m.left : w : 2 * step]
        flat = twin[rows, cols] * _gain_map_gain(m, rows, cols, (h, w))
        assert float(np.max(np.abs(flat - 1.0))) < tolerance
    assert twin.min() < (0.97 if window is None else 0.995)  # there was fall-off to correct
    assert fit.vignette_error < tolerance


def test_no_f_number_no_vignette_and_axis_outside_the_window_nothing():
    lens = load_lens("summicron-m-50")
    fit = fit_lens_opcodes(
        lens,
        LensState(0.0),
        image_hw=(3072, 4096),
        pixel_pitch_m=3.2e-6,
    )
    assert [type(op) for op in fit.ops] == [WarpRectilinear] and fit.skipped
    corner = fit_lens_opcodes(
        lens,
        LensState(2.0),
        image_hw=(200, 200),
        pixel_pitch_m=3.2e-6,
        window_origin=(0, 0),
        full_size=(3072, 4096),
    )
    assert corner.ops == () and "outside" in corner.skipped[0]
    # the lens shading needs no centre: the GainMaps are written for any window
    assert len(corner.list2) == 4


def test_a_frame_without_pixel_pitch_gets_no_opcodes(calibration, tmp_path):
    frame = _frame(calibration)
    frame.metadata.pixel_pitch_m = 0.0
    fit = lens_opcodes_for_frame(frame, load_lens("summicron-m-50"), LensState(2.0))
    assert fit.ops == () and "pixel pitch" in fit.skipped[0]
    path = write_dng(
        frame, tmp_path / "p.dng", calibration=calibration,
        lens_profile=load_lens("summicron-m-50"), lens_state=LensState(2.0),
    )  # fmt: skip
    assert read_dng(path).opcode_list_3 is None


# --- in the file --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def calibration():
    s = colour.MSDS_CAMERA_SENSITIVITIES["Nikon 5100 (NPL)"]
    return calibrate(
        resample(s.wavelengths, s.values.T).T, sd_on_grid(colour.SDS_ILLUMINANTS["D65"])
    )


def _frame(calibration, height=120, width=160) -> RawFrame:
    rng = np.random.default_rng(1)
    mosaic = rng.integers(256, 4096, size=(height, width), dtype=np.uint16)
    md = CaptureMetadata(
        sensor="IMX989",
        module="m",
        mode="binned",
        bits=12,
        exposure_s=1 / 125,
        iso=200,
        analog_gain=2.0,
        digital_gain=1.0,
        temperature_c=35.0,
        seed=4,
        frame_index=0,
        timestamp=datetime(2026, 5, 6, 7, 8, 9, 10, tzinfo=timezone(timedelta(hours=2))),
        lens_name="Summicron-M 50 mm f/2 (IV, V)",
        focal_mm=50.0,
        f_number=2.0,
        as_shot_neutral=calibration.camera_neutral_1,
        window_origin=((3072 - height) // 2, (4096 - width) // 2),
        full_size=(3072, 4096),
        pixel_pitch_m=3.2e-6,
    )
    return RawFrame(mosaic, "RGGB", (256.0,) * 4, 4095, md)


def test_written_opcodes_read_back_and_the_sdk_accepts_them(calibration, tmp_path):
    dngpy = pytest.importorskip("dngpy")
    from test_dng_sdk_helpers import sdk_validate

    frame = _frame(calibration)
    lens = load_lens("summicron-m-50")
    path = write_dng(
        frame,
        tmp_path / "a.dng",
        calibration=calibration,
        lens_profile=lens,
        lens_state=LensState(2.0),
    )
    info = read_dng(path)
    fit = lens_opcodes_for_frame(frame, lens, LensState(2.0))
    assert decode_opcode_list(info.opcode_list_3) == list(fit.ops)
    written = decode_opcode_list(info.opcode_list_2)
    assert len(written) == 4 and all(isinstance(op, GainMap) for op in written)
    for ours, theirs in zip(written, fit.list2, strict=True):
        assert np.array_equal(ours.gains, theirs.gains)
        assert (ours.top, ours.left, ours.map_spacing_v) == (
            theirs.top, theirs.left, theirs.map_spacing_v
        )  # fmt: skip
    assert info.opcode_list_1 is None
    assert info.dng_version == (1, 4, 0, 0)
    assert sdk_validate(dngpy, path) == []

    plain = read_dng(write_dng(frame, tmp_path / "b.dng", calibration=calibration))
    assert plain.opcode_list_3 is None
    off = write_dng(
        frame,
        tmp_path / "c.dng",
        calibration=calibration,
        lens_profile=lens,
        lens_state=LensState(2.0),
        lens_corrections=False,
    )
    assert read_dng(off).opcode_list_3 is None and read_dng(off).lens_make == "Leica"


def test_the_sdk_parses_our_lists_it_refuses_a_broken_one(calibration, tmp_path):
    """Negative control: the SDK does read OpcodeList3 (a centre outside the image and a cut
    list are refused), so its silence about ours means something."""
    dngpy = pytest.importorskip("dngpy")
    import mountcam.dng.writer as writer
    from mountcam.dng.tags import put
    from mountcam.dng.tiff import write_tiff
    from test_dng_sdk_helpers import sdk_validate

    good = encode_opcode_list([VIGNETTE])
    for data, ok in (
        (good, True),
        (good[:-8], False),
        (good[:-16] + struct.pack(">2d", 1.5, 0.5), False),
    ):
        root = writer.build_dng(_frame(calibration), calibration=calibration)
        put(root.children[330][0], "OpcodeList3", data)
        path = tmp_path / f"v{len(data)}_{ok}.dng"
        with open(path, "wb") as f:
            write_tiff(f, [root])
        assert (sdk_validate(dngpy, path) == []) is ok
