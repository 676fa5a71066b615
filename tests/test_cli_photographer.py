"""Issue 9 §2: the command line as a photographer meets it.

Each item of the issue, as the photographer typed it: an unwritable ``--out`` refused before
anything is simulated; ``--count`` frames made and written one at a time and refused up front
when the disk cannot hold them; ``--shutter 250`` answered with "did you mean 1/250?"; a
clipped or black frame warned about; focus distance and exposure compensation in the EXIF,
the JSON and the summary, the Tri-Elmar's focal setting in the summary; a 1024-px JPEG preview
that exiftool, LibRaw and the DNG SDK read; ``lenses show`` text with brackets; ``--format
jpg``; ``--illuminant tungsten``; ``--scene motorcycle``.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli, shoot

SMALL = ("--scene", "chart:colorchecker", "--crop", "64x48", "--seed", "5")


def refusal(*args: str) -> str:
    code, _, stderr = run_cli(*args)
    assert code == 2, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def read_only_folder() -> Path:
    """A folder nobody can write in, not even root: /sys is mounted read-only or refuses."""
    target = Path("/sys/mountcam-test-shots")
    try:
        target.mkdir()
    except OSError:
        return target
    target.rmdir()
    pytest.skip("/sys is writable here")


# ---- --out ---------------------------------------------------------------------------------


def test_an_unwritable_folder_is_refused_before_anything_else(tmp_path):
    folder = read_only_folder()
    # The scene file does not exist either: the folder is checked first, before the scene is
    # even loaded, let alone simulated.
    line = refusal("shoot", "--scene", str(tmp_path / "missing.png"), "--out", str(folder))
    assert f"cannot write in {folder}" in line
    a_file = tmp_path / "shots"
    a_file.write_bytes(b"not a folder")
    line = refusal("shoot", *SMALL, "--out", str(a_file / "sub"))
    assert "is a file, not a folder" in line and a_file.read_bytes() == b"not a folder"


# ---- --count -------------------------------------------------------------------------------


def test_a_series_the_disk_cannot_hold_is_refused_up_front(tmp_path):
    line = refusal("shoot", *SMALL, "--count", "1000000000", "--out", str(tmp_path / "s"))
    assert "1000000000 frames need about" in line and " free" in line
    assert not (tmp_path / "s").exists()


def test_a_series_is_written_one_frame_at_a_time(tmp_path):
    from mountcam import Camera, SimulatedBackend
    from mountcam.body import drive

    camera = Camera(SimulatedBackend("chart:colorchecker", seed=3))
    camera.configure(crop=(64, 48))
    camera.set_controls(program="M", exposure_s=0.01, iso=100)
    series = drive.shots(camera, drive.Drive("single", count=10**9), tmp_path)
    # A billion frames taken before the first is written would never come back: each is on
    # disk when it is handed over, and the next is not made yet.
    frame, path = next(series)
    assert path.is_file() and frame.metadata.frame_index == 0
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    frame, path = next(series)
    assert frame.metadata.frame_index == 1 and len(list(tmp_path.iterdir())) == 2


def test_count_writes_every_frame(tmp_path):
    import rawpy

    res = shoot(tmp_path, *SMALL, "--count", "3", "--shutter", "1/100", "--iso", "200")
    assert [Path(f).name for f in res["files"]] == [f"MTC_000{i}.dng" for i in (1, 2, 3)]
    assert res["settings"]["count"] == 3
    mosaics = []
    for f in res["files"]:
        with rawpy.imread(f) as raw:
            mosaics.append(raw.raw_image.copy())
    assert not np.array_equal(mosaics[0], mosaics[1])  # independent noise


# ---- --shutter and exposure warnings ---------------------------------------------------------


def test_a_shutter_typed_as_on_the_dial_gets_a_hint(tmp_path):
    line = refusal("shoot", *SMALL, "--shutter", "250", "--out", str(tmp_path))
    assert line.endswith("did you mean 1/250?")
    assert "did you mean" not in refusal(
        "shoot", *SMALL, "--shutter", "90000", "--out", str(tmp_path)
    )


@pytest.mark.parametrize(
    "args, warning",
    [
        (("--shutter", "20", "--iso", "100"), "100 % of the frame is clipped"),
        (("--shutter", "1/16000", "--iso", "100", "--luminance", "1"), "nearly black"),
        ((), None),
    ],
)
def test_a_clipped_or_black_frame_is_warned_about(tmp_path, args, warning):
    code, stdout, stderr = run_cli("shoot", *SMALL, *args, "--out", str(tmp_path), "--json")
    assert code == 0 and json.loads(stdout)["files"]
    if warning is None:
        assert stderr == ""
    else:
        assert stderr.startswith("warning: ") and warning in stderr and stderr.count("\n") == 1


# ---- focus, EV and focal setting in the file, the JSON and the summary -------------------------


def _exiftool(path) -> dict:
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is installed by `make test`")
    out = subprocess.run(["exiftool", "-j", "-n", "-G1", str(path)], capture_output=True, text=True)
    return json.loads(out.stdout)[0]


def test_focus_distance_and_exposure_compensation_are_recorded(tmp_path):
    res = shoot(tmp_path / "a", *SMALL, "--module", "m", "--lens", "noctilux-m-50-f0.95",
                "--aperture", "0.95", "--focus", "2.6", "--ev", "0.7")  # fmt: skip
    n = _exiftool(res["files"][0])
    assert n["ExifIFD:SubjectDistance"] == 2.6 and n["ExifIFD:ExposureCompensation"] == 0.7
    assert res["settings"]["focus_m"] == 2.6 and res["settings"]["exposure_bias_ev"] == [0.7]
    res = shoot(tmp_path / "b", *SMALL, "--shutter", "1/100", "--iso", "100", "--ev", "0.7",
                "--no-af")  # fmt: skip
    n = _exiftool(res["files"][0])
    # The main lens left at infinity: Exif's 0xFFFFFFFF (null in the JSON, which has no
    # infinity). Manual exposure: no bias.
    assert n["ExifIFD:SubjectDistance"] in (4294967295, "inf")
    assert res["settings"]["focus_m"] is None and n["ExifIFD:ExposureCompensation"] == 0
    assert res["settings"]["autofocus"] is None


def test_the_main_module_autofocuses_by_default(tmp_path):
    """A plain shoot of the main module focuses on the centre first (contrast AF from the
    frames): the file, the JSON and the summary say where, and whether it is in focus."""
    args = ("--scene", "sample:motorcycle", "--crop", "256x192", "--seed", "5")
    res = shoot(tmp_path / "a", *args)
    af = res["settings"]["autofocus"]
    assert af["in_focus"] and af["reason"] == "" and 5 <= af["frames"] <= 20
    near, far = af["dof_m"]
    assert near < af["focus_m"] < far and res["settings"]["focus_m"] == af["focus_m"]
    n = _exiftool(res["files"][0])
    assert n["ExifIFD:SubjectDistance"] == pytest.approx(af["focus_m"], abs=5e-4)
    # --focus is manual focus; --no-af leaves the lens where it is (infinity).
    assert shoot(tmp_path / "b", *args, "--focus", "2")["settings"]["autofocus"] is None
    assert shoot(tmp_path / "b", *args, "--no-af")["settings"]["focus_m"] is None
    # A scene the twin draws without depth is as sharp at any focus: no peak, and the lens
    # waits at the hyperfocal distance (everything from half of it to infinity sharp).
    flat = shoot(tmp_path / "c", *SMALL)["settings"]["autofocus"]
    assert not flat["in_focus"] and "hyperfocal" in flat["reason"] and flat["dof_m"][1] is None
    code, stdout, stderr = run_cli("shoot", *args, "--out", str(tmp_path / "d"))
    assert code == 0, stderr
    text = " ".join(stdout.split())
    assert f"autofocus, {af['frames']} frames; in focus, depth of field" in text
    # --af-point: where in the field to focus (set:portrait's centre is uniform skin, an eye
    # is not).
    eye = shoot(tmp_path / "e", "--scene", "set:portrait", "--crop", "128x96",
                "--af-point", "0.484,0.488")["settings"]["autofocus"]  # fmt: skip
    assert eye["in_focus"] and eye["point"] == [0.484, 0.488] and 1.2 < eye["focus_m"] < 1.9


@pytest.mark.parametrize(
    "args, message",
    [
        (("--af", "--focus", "2"), "--af or --focus: "),
        (
            ("--af", "--module", "m", "--lens", "summicron-m-50"),
            "--af: autofocus works on the main",
        ),
        (("--af-point", "0.5,0.5", "--module", "m", "--lens", "summicron-m-50"), "--af-point: "),
        (("--af-point", "0.5,0.5", "--no-af"), "--af-point is where to autofocus"),
        (("--af-point", "0.5,0.5", "--focus", "2"), "--af-point or --focus: "),
        (("--af-point", "1.5,0.5"), "--af-point 1.5,0.5: AF point 1.5, 0.5 is outside the field"),
        (("--af-point", "middle"), "--af-point middle: an AF point is two numbers"),
    ],
)
def test_impossible_autofocus_requests_are_refused(tmp_path, args, message):
    code, stdout, stderr = run_cli("shoot", *SMALL, *args, "--out", str(tmp_path / "x"))
    assert code == 2 and stderr.startswith(f"error: {message}") and stderr.count("\n") == 1
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_the_summary_shows_focus_ev_and_the_focal_setting(tmp_path):
    code, stdout, stderr = run_cli("shoot", *SMALL, "--module", "m", "--lens",
                                   "tri-elmar-m-16-18-21", "--focal", "18", "--focus", "1.5",
                                   "--ev", "-1", "--out", str(tmp_path))  # fmt: skip
    assert code == 0, stderr
    text = " ".join(stdout.split())
    assert "set to 18 mm" in text and "focus 1.5 m" in text and "-1 EV" in text


# ---- the JPEG preview --------------------------------------------------------------------------


def test_a_1024_px_jpeg_preview_that_readers_extract(tmp_path):
    from PIL import Image

    res = shoot(tmp_path, "--scene", "chart:colorchecker", "--crop", "2048x1536", "--seed", "1")
    path = res["files"][0]
    if shutil.which("exiftool") is not None:
        jpeg = subprocess.run(["exiftool", "-b", "-PreviewImage", path], capture_output=True).stdout
        assert Image.open(io.BytesIO(jpeg)).size == (1024, 768)
    import rawpy

    with rawpy.imread(path) as raw:
        thumb = raw.extract_thumb()
    assert thumb.format == rawpy.ThumbFormat.JPEG
    picture = np.asarray(Image.open(io.BytesIO(thumb.data)))
    assert picture.shape == (768, 1024, 3) and 40 < picture.mean() < 220
    dngpy = pytest.importorskip("dngpy")
    from test_dng_sdk_helpers import sdk_validate

    assert sdk_validate(dngpy, path) == []


# ---- names the CLI now understands --------------------------------------------------------------


def test_lens_notes_keep_their_brackets():
    import dataclasses

    from rich.console import Console

    from mountcam.app.lenses_cli import lens_table
    from mountcam.optics.lens import load_lens

    # main-8.7's notes said "no [vignetting], [distortion] or [lateral_color] tables" and
    # printed as "no ,  or  tables": rich read the words as markup.
    notes = "no [vignetting], [distortion] or [lateral_color] tables"
    lens = dataclasses.replace(load_lens("main-8.7"), notes=notes)
    console = Console(record=True, width=200)
    console.print(lens_table(lens))
    assert notes in console.export_text()
    code, stdout, _ = run_cli("lenses", "show", "main-8.7")
    assert code == 0 and "main-8.7" in stdout


def test_develop_accepts_jpg(tmp_path):
    res = shoot(tmp_path, *SMALL)
    code, _, stderr = run_cli(
        "develop", res["files"][0], "--format", "jpg", "--out-dir", str(tmp_path / "o")
    )
    assert code == 0, stderr
    assert [p.suffix for p in (tmp_path / "o").iterdir()] == [".jpg"]


def test_the_white_balance_preset_names_are_illuminants_too(tmp_path):
    from mountcam.colorimetry import xyz_to_xy
    from mountcam.develop.white_balance import PRESET_XY
    from mountcam.scene.illuminants import illuminant
    from mountcam.spectra import cie_xyz_cmfs

    for name, xy in PRESET_XY.items():
        light = illuminant(name.capitalize())  # any case, as develop --wb takes them
        assert np.allclose(xyz_to_xy(light.spd @ cie_xyz_cmfs()), xy, atol=5e-4), name
    a = shoot(tmp_path / "a", *SMALL, "--illuminant", "tungsten")
    b = shoot(tmp_path / "b", *SMALL, "--illuminant", "A")
    assert a["settings"]["as_shot_neutral"] == b["settings"]["as_shot_neutral"]


def test_a_sample_name_without_its_prefix_gets_a_hint(tmp_path):
    line = refusal("shoot", "--scene", "motorcycle", "--out", str(tmp_path))
    assert line.endswith("did you mean sample:motorcycle?")


# ---- develop --linear keeps its highlights ---------------------------------------------------


def _flat_patches_dng(path: Path, levels: tuple[float, ...]) -> Path:
    """A DNG of vertical bands at ``levels`` of the raw range (neutral, no lens)."""
    from datetime import UTC, datetime

    from mountcam.dng import calibrate_dual, write_dng
    from mountcam.sensor.model import load_sensor
    from mountcam.sensor.rawframe import CaptureMetadata, RawFrame

    black, white = 256, 4095
    band = 64
    flat = np.concatenate(
        [np.full((96, band), black + v * (white - black)) for v in levels], axis=1
    )
    # Noise as a sensor has it: a perfectly flat band would look like a clipped pile at the top
    # of the histogram (how develop finds a channel's real clip point).
    noisy = flat + np.random.default_rng(2).normal(0.0, 6.0, flat.shape)
    mosaic = np.clip(np.round(noisy), 0, white).astype(np.uint16)
    cal = calibrate_dual(load_sensor("imx989").qe)
    meta = CaptureMetadata(
        sensor="IMX989", module="main", mode="binned", bits=12, exposure_s=0.01, iso=100,
        analog_gain=1.0, digital_gain=1.0, temperature_c=35.0, seed=1, frame_index=0,
        timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), lens_name="", focal_mm=0.0, f_number=0.0, as_shot_neutral=cal.camera_neutral_2,
    )  # fmt: skip
    raw = RawFrame(mosaic, "RGGB", (float(black),) * 4, white, meta)
    return write_dng(raw, path, calibration=cal)


def test_linear_output_keeps_the_highlights(tmp_path):
    import tifffile

    levels = (0.3, 0.75, 0.85)  # a grey, and two whites that a 16-bit TIFF clipped alike
    dng = _flat_patches_dng(tmp_path / "bands.dng", levels)
    code, _, stderr = run_cli("develop", str(dng), "--linear", "-o", str(tmp_path / "lin.tif"))
    assert code == 0, stderr
    rgb = tifffile.imread(tmp_path / "lin.tif")
    assert rgb.dtype == np.float32
    centre = rgb[40:56]  # rows away from the crop edges; band centres below
    means = [float(centre[:, 32 + 64 * i - 8 : 32 + 64 * i + 8 - 8].mean()) for i in range(3)]
    assert means[2] > means[1] > 1.0 > means[0]  # above white, and still apart
    ratios = np.array(means) / means[0]
    np.testing.assert_allclose(ratios, np.array(levels) / levels[0], rtol=0.01)  # linear
