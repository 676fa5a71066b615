"""DNG files from write_dng, checked with independent readers.

LibRaw (rawpy), the Adobe DNG SDK (dngpy; its built-in validator prints "*** Warning ..." /
"*** Error ..." from C, collected by ``test_dng_sdk_helpers.sdk_validate``), ExifTool
(-validate) and our own tifffile-based read_dng.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import colour
import numpy as np
import pytest
import rawpy
import tifffile

import mountcam.dng.writer as dng_writer
from mountcam import __version__
from mountcam.dng import DEMOSAIC_MARGIN_PX, calibrate, read_dng, write_dng
from mountcam.dng.calibration import BASELINE_EXPOSURE_EV
from mountcam.dng.preview import camera_to_srgb_matrix, srgb_encode
from mountcam.dng.tags import TAG_IDS, put
from mountcam.errors import OutputExists, UnreadableFile
from mountcam.sensor.rawframe import CaptureMetadata, RawFrame
from mountcam.spectra import resample, sd_on_grid
from test_dng_sdk_helpers import sdk_validate

WHEN = datetime(2025, 3, 4, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=1)))


@pytest.fixture(scope="module")
def calibration():
    s = colour.MSDS_CAMERA_SENSITIVITIES["Nikon 5100 (NPL)"]
    qe = resample(s.wavelengths, s.values.T).T
    return calibrate(qe, sd_on_grid(colour.SDS_ILLUMINANTS["D65"]))


def make_frame(
    calibration,
    *,
    height: int = 48,
    width: int = 64,
    bits: int = 12,
    pattern: str = "RGGB",
    exposure_s: float = 1 / 250,
    iso: float = 100,
    seed: int = 0,
    mosaic: np.ndarray | None = None,
) -> RawFrame:
    base = 64 << (bits - 10)  # 64 DN at 10 bit, 256 at 12, 1024 at 14
    black = (base, base + 2, base - 1, base + 1)  # distinct per CFA position
    white = (1 << bits) - 1
    if mosaic is None:
        rng = np.random.default_rng(seed)
        mosaic = rng.integers(base - 1, white + 1, size=(height, width), dtype=np.uint16)
    md = CaptureMetadata(
        sensor="IMX989",
        module="main",
        mode="binned",
        bits=bits,
        exposure_s=exposure_s,
        iso=iso,
        analog_gain=1.0,
        digital_gain=1.0,
        temperature_c=35.0,
        seed=seed,
        frame_index=0,
        timestamp=WHEN,
        lens_name="mountcam 8.7mm f/1.9",
        focal_mm=8.7,
        f_number=1.9,
        as_shot_neutral=calibration.camera_neutral_1,
        pixel_pitch_m=1.6e-6,
    )
    return RawFrame(mosaic, pattern, black, white, md)


CASES = [
    pytest.param(10, 48, 64, "RGGB", id="10bit-64x48-RGGB"),
    pytest.param(12, 152, 200, "RGGB", id="12bit-200x152-RGGB"),
    pytest.param(14, 48, 64, "RGGB", id="14bit-64x48-RGGB"),
    pytest.param(12, 153, 201, "BGGR", id="12bit-201x153-BGGR"),
    pytest.param(14, 48, 64, "GRBG", id="14bit-64x48-GRBG"),
]


# --- LibRaw -------------------------------------------------------------------------------


@pytest.mark.parametrize(("bits", "height", "width", "pattern"), CASES)
def test_rawpy_reads_exactly_what_was_written(tmp_path, calibration, bits, height, width, pattern):
    frame = make_frame(calibration, height=height, width=width, bits=bits, pattern=pattern)
    path = write_dng(frame, tmp_path / "f.dng", calibration=calibration)
    with rawpy.imread(str(path)) as raw:
        np.testing.assert_array_equal(raw.raw_image, frame.mosaic)
        letters = raw.color_desc.decode()
        got = "".join(letters[raw.raw_pattern[i, j]] for i in range(2) for j in range(2))
        assert got == pattern
        for pos in range(4):
            i, j = divmod(pos, 2)
            assert raw.black_level_per_channel[raw.raw_pattern[i, j]] == frame.black_level_dn[pos]
        assert raw.white_level == frame.white_level_dn
        wb = np.array(raw.camera_whitebalance[:3])
        expected = 1.0 / np.array(frame.metadata.as_shot_neutral)
        np.testing.assert_allclose(wb / wb[1], expected / expected[1], rtol=1e-5)
        # LibRaw's rgb_cam is dcraw's camera->sRGB derived from ColorMatrix1: same as ours.
        np.testing.assert_allclose(
            raw.color_matrix[:, :3], camera_to_srgb_matrix(calibration.color_matrix_1), atol=2e-3
        )
        s = raw.sizes
        m = DEMOSAIC_MARGIN_PX
        assert (s.raw_height, s.raw_width) == (height, width)
        assert (s.crop_top_margin, s.crop_left_margin) == (m, m)
        assert (s.crop_height, s.crop_width) == (height - 2 * m, width - 2 * m)
        rgb = raw.postprocess()
        assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8


# --- Adobe DNG SDK --------------------------------------------------------------------------


@pytest.mark.parametrize(("bits", "height", "width", "pattern"), CASES)
def test_adobe_dng_sdk_validates_and_reads_it(tmp_path, calibration, bits, height, width, pattern):
    dngpy = pytest.importorskip("dngpy")
    frame = make_frame(calibration, height=height, width=width, bits=bits, pattern=pattern)
    path = write_dng(frame, tmp_path / "f.dng", calibration=calibration)
    assert sdk_validate(dngpy, path) == []
    dng = dngpy.Dng(str(path))
    np.testing.assert_array_equal(dng.raw_pixels[..., 0], frame.mosaic)
    m = DEMOSAIC_MARGIN_PX
    meta, info, exif = dng.metadata, dng.image_info, dng.exif
    assert (meta.raw_width, meta.raw_height) == (width, height)
    assert (info.width, info.height) == (width - 2 * m, height - 2 * m)
    assert dng.get_bayer_pattern() == pattern
    np.testing.assert_allclose(dng.get_white_balance(), frame.metadata.as_shot_neutral, atol=1e-6)
    # +0.49 EV: the ISO 12232 mid-grey (12.8 % of white) lifted to 18 % (dng.calibration).
    assert dng.get_baseline_exposure() == pytest.approx(BASELINE_EXPOSURE_EV, abs=0.01)
    assert exif.exposure_time == pytest.approx(1 / 250)
    assert exif.f_number == pytest.approx(1.9)
    assert exif.iso == 100
    assert exif.focal_length == pytest.approx(8.7)
    assert (meta.make, meta.model) == ("mountcam", "mountcam twin main")


def test_adobe_dng_sdk_check_can_fail(tmp_path, calibration, monkeypatch):
    """The SDK harness does see problems: a 0.5 mm focal length is reported as a warning,
    a CFA pattern naming a colour that is not a plane as an error."""
    dngpy = pytest.importorskip("dngpy")
    build_exif, build_dng = dng_writer.build_exif, dng_writer.build_dng

    def odd_exif(frame):
        exif = build_exif(frame)
        put(exif, "FocalLength", 0.5)
        return exif

    def bad_cfa(frame, **kwargs):
        ifd0 = build_dng(frame, **kwargs)
        put(ifd0.children[TAG_IDS["SubIFDs"]][0], "CFAPattern", bytes((0, 1, 1, 3)))
        return ifd0

    monkeypatch.setattr(dng_writer, "build_exif", odd_exif)
    path = write_dng(make_frame(calibration), tmp_path / "odd.dng", calibration=calibration)
    problems = sdk_validate(dngpy, path)
    assert any("Warning" in p and "FocalLength" in p for p in problems), problems

    monkeypatch.setattr(dng_writer, "build_dng", bad_cfa)
    path = write_dng(make_frame(calibration), tmp_path / "bad.dng", calibration=calibration)
    problems = sdk_validate(dngpy, path)
    assert any("Error" in p and "CFAPattern" in p for p in problems), problems
    assert any("SDK failed" in p for p in problems), problems


# --- ExifTool -------------------------------------------------------------------------------


def exiftool(path: Path) -> dict:
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool not installed")
    out = subprocess.run(
        ["exiftool", "-j", "-G1", "-a", "-validate", "-warning", "-error", "-all", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(out)[0]


@pytest.mark.parametrize(
    ("exposure_s", "printed", "iso"),
    [(1 / 250, "1/250", 100), (2.0, "2", 3200), (1 / 8000, "1/8000", 102400)],
)
def test_exiftool_validates_and_prints_the_capture(tmp_path, calibration, exposure_s, printed, iso):
    frame = make_frame(calibration, exposure_s=exposure_s, iso=iso)
    path = write_dng(frame, tmp_path / "f.dng", calibration=calibration)
    tags = exiftool(path)
    problems = {k: v for k, v in tags.items() if "Warning" in k or "Error" in k}
    assert problems == {}
    assert tags["ExifTool:Validate"] == "OK"
    assert str(tags["ExifIFD:ExposureTime"]) == printed
    assert tags["File:FileType"] == "DNG"
    assert tags["IFD0:Make"] == "mountcam"
    assert tags["IFD0:Model"] == "mountcam twin main"
    assert tags["IFD0:UniqueCameraModel"] == "mountcam IMX989 twin"
    assert tags["IFD0:Software"] == f"mountcam {__version__}"
    assert tags["IFD0:DNGVersion"] == "1.4.0.0"
    assert tags["IFD0:CalibrationIlluminant1"] == "D65"
    assert tags["IFD0:SubfileType"] == "Reduced-resolution image"
    assert tags["SubIFD:SubfileType"] == "Full-resolution image"
    assert tags["SubIFD:PhotometricInterpretation"] == "Color Filter Array"
    assert tags["Composite:CFAPattern"] == "[Red,Green][Green,Blue]"
    assert tags["ExifIFD:ISO"] == min(iso, 65535)
    assert tags["ExifIFD:ISOSpeed"] == iso
    assert tags["ExifIFD:SensitivityType"] == "ISO Speed"
    assert tags["ExifIFD:FNumber"] == 1.9
    assert tags["ExifIFD:FocalLength"] == "8.7 mm"
    assert tags["ExifIFD:DateTimeOriginal"] == "2025:03:04 12:30:15"
    assert tags["Composite:SubSecDateTimeOriginal"] == "2025:03:04 12:30:15.123456+01:00"
    assert tags["ExifIFD:ExifVersion"] == "0231"
    assert tags["ExifIFD:LensModel"] == "mountcam 8.7mm f/1.9"


# --- read_dng -------------------------------------------------------------------------------


def test_read_dng_round_trip(tmp_path, calibration):
    frame = make_frame(calibration, height=152, width=200, bits=14, pattern="GBRG", seed=3)
    path = write_dng(frame, tmp_path / "f.dng", calibration=calibration)
    info = read_dng(path)
    np.testing.assert_array_equal(info.mosaic, frame.mosaic)
    assert info.mosaic.dtype == np.uint16
    assert info.cfa_pattern == "GBRG"
    assert info.black_level_dn == frame.black_level_dn
    assert info.white_level_dn == frame.white_level_dn
    np.testing.assert_allclose(info.as_shot_neutral, frame.metadata.as_shot_neutral, atol=1e-6)
    np.testing.assert_allclose(info.color_matrix_1, calibration.color_matrix_1, atol=5e-5)
    assert info.calibration_illuminant_1 == 21
    m = DEMOSAIC_MARGIN_PX
    assert info.default_crop_origin == (m, m)
    assert info.default_crop_size == (200 - 2 * m, 152 - 2 * m)
    assert info.crop_slices == (slice(m, 152 - m), slice(m, 200 - m))
    assert info.dng_version == (1, 4, 0, 0)
    assert (info.make, info.model, info.unique_camera_model) == (
        "mountcam",
        "mountcam twin main",
        "mountcam IMX989 twin",
    )
    assert info.exposure_time == Fraction(1, 250)
    assert info.f_number == pytest.approx(1.9)
    assert info.iso == 100
    assert info.focal_mm == pytest.approx(8.7)
    assert info.datetime_original == WHEN
    assert info.lens_model == "mountcam 8.7mm f/1.9"
    assert info.preview is not None and info.preview.shape == (76, 100, 3)


def test_preview_of_a_grey_card_is_neutral_grey_and_small(tmp_path, calibration):
    # A flat 18 % grey lit by D65: each CFA site reads black + 0.18 · neutral · (white - black).
    frame = make_frame(calibration, height=1200, width=1608, bits=12)
    neutral = dict(zip("RGB", frame.metadata.as_shot_neutral, strict=True))
    mosaic = np.empty((1200, 1608), dtype=np.uint16)
    for pos, letter in enumerate(frame.cfa_pattern):
        i, j = divmod(pos, 2)
        black = frame.black_level_dn[pos]
        mosaic[i::2, j::2] = round(black + 0.18 * neutral[letter] * (frame.white_level_dn - black))
    frame.mosaic = mosaic
    path = write_dng(frame, tmp_path / "grey.dng", calibration=calibration)
    info = read_dng(path)
    # 2×2 sites per pixel gives 804 px wide; 4×4 blocks of those bring it to 201 ≤ 256.
    assert info.preview.shape == (150, 201, 3)
    # exposed as a converter exposes it: the DNG's BaselineExposure brightens the preview
    lifted = 0.18 * 2.0**BASELINE_EXPOSURE_EV
    expected = round(float(srgb_encode(np.array(lifted))) * 255)
    assert np.abs(info.preview.astype(int) - expected).max() <= 1


def test_read_dng_rejects_what_is_not_a_raw_dng(tmp_path, calibration):
    text = tmp_path / "notes.dng"
    text.write_text("this is not a DNG\n")
    with pytest.raises(UnreadableFile, match="not a TIFF"):
        read_dng(text)
    with pytest.raises(UnreadableFile, match="no such file"):
        read_dng(tmp_path / "missing.dng")

    good = write_dng(make_frame(calibration), tmp_path / "good.dng", calibration=calibration)
    data = good.read_bytes()
    for cut in (len(data) // 2, 600, 100, 6):
        bad = tmp_path / f"cut{cut}.dng"
        bad.write_bytes(data[:cut])
        with pytest.raises(UnreadableFile):
            read_dng(bad)

    rgb = tmp_path / "rgb.tif"
    tifffile.imwrite(rgb, np.zeros((8, 8, 3), np.uint8), photometric="rgb")
    with pytest.raises(UnreadableFile, match="not a DNG"):
        read_dng(rgb)
    rgb_only = tmp_path / "rgb_only.dng"  # a DNG holding only an RGB (preview-like) image
    tifffile.imwrite(
        rgb_only,
        np.zeros((8, 8, 3), np.uint16),
        photometric="rgb",
        extratags=[(50706, 1, 4, b"\x01\x04\0\0", True)],
    )
    with pytest.raises(UnreadableFile, match=r"no raw image \(CFA or LinearRaw\)"):
        read_dng(rgb_only)


# --- safe writing ---------------------------------------------------------------------------


def test_refuses_to_overwrite_and_leaves_the_file_alone(tmp_path, calibration):
    target = tmp_path / "shot.dng"
    target.write_bytes(b"precious")
    with pytest.raises(OutputExists, match="already exists"):
        write_dng(make_frame(calibration), target, calibration=calibration)
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.dng"]

    write_dng(make_frame(calibration), target, calibration=calibration, overwrite=True)
    assert read_dng(target).mosaic.shape == (48, 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.dng"]


def test_file_appearing_during_the_write_is_not_clobbered(tmp_path, calibration, monkeypatch):
    target = tmp_path / "shot.dng"
    write_tiff = dng_writer.write_tiff

    def racing_write(stream, chain):
        target.write_bytes(b"someone else's")
        return write_tiff(stream, chain)

    monkeypatch.setattr(dng_writer, "write_tiff", racing_write)
    with pytest.raises(OutputExists):
        write_dng(make_frame(calibration), target, calibration=calibration)
    assert target.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.dng"]


def test_failure_midway_leaves_no_file(tmp_path, calibration, monkeypatch):
    def broken_write(stream, chain):
        stream.write(b"II*\0" + bytes(4096))
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(dng_writer, "write_tiff", broken_write)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_dng(make_frame(calibration), tmp_path / "shot.dng", calibration=calibration)
    assert list(tmp_path.iterdir()) == []


def test_written_file_has_ordinary_permissions(tmp_path, calibration):
    umask = os.umask(0)
    os.umask(umask)
    path = write_dng(make_frame(calibration), tmp_path / "f.dng", calibration=calibration)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_malformed_frames_are_refused(tmp_path, calibration):
    frame = make_frame(calibration)
    for change in (
        {"mosaic": frame.mosaic.astype(np.int32)},
        {"cfa_pattern": "RGBX"},
        {"black_level_dn": (5000, 0, 0, 0)},
        {"mosaic": frame.mosaic[:10, :10]},
    ):
        bad = RawFrame(**{**vars(frame), **change})
        with pytest.raises(ValueError):
            write_dng(bad, tmp_path / "bad.dng", calibration=calibration)
    assert list(tmp_path.iterdir()) == []


def test_optional_exif_fields_naive_time_and_determinism(tmp_path, calibration):
    frame = make_frame(calibration)
    frame.metadata.extra = {"exposure_program": "manual", "metering_mode": "matrix"}
    frame.metadata.timestamp = WHEN.replace(tzinfo=None)
    a = write_dng(frame, tmp_path / "a.dng", calibration=calibration)
    b = write_dng(frame, tmp_path / "b.dng", calibration=calibration)
    assert a.read_bytes() == b.read_bytes()  # same frame, same bytes: no wall-clock time inside
    info = read_dng(a)
    assert info.exif["ExposureProgram"] == 1 and info.exif["MeteringMode"] == 5
    assert "OffsetTimeOriginal" not in info.exif
    assert info.datetime_original == WHEN.replace(tzinfo=None)
