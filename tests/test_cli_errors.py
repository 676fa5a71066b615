"""Bad requests: exit status 2, a line or two a photographer understands, nothing in --out."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import run_cli


@pytest.mark.parametrize(
    "args, words",
    [
        (["--scene", "chart:nope"], "chart:colorchecker"),
        (["--scene", "sample:nope"], "sample:"),
        (["--scene", "/no/such/file.png"], "file.png"),
        (["--scene", "chart:flat", "--shutter", "0"], "longer than 0"),
        (["--scene", "chart:flat", "--shutter", "-1/250"], "longer than 0"),
        (["--scene", "chart:flat", "--shutter", "fast"], "not a time"),
        (["--scene", "chart:flat", "--shutter", "100"], "30 s"),
        (["--scene", "chart:flat", "--iso", "50"], "ISO 100-25600"),
        (["--scene", "chart:flat", "--iso", "409600"], "ISO 100-25600"),
        (["--scene", "chart:flat", "--bits", "16"], "10, 12, 14"),
        (["--scene", "chart:flat", "--mode", "quad"], "binned or full"),
        (["--scene", "chart:flat", "--crop", "0x0"], "crop 0x0"),
        (["--scene", "chart:flat", "--crop", "99999x10"], "4096x3072"),
        (["--scene", "chart:flat", "--crop", "wide"], "WIDTHxHEIGHT"),
        (["--scene", "chart:flat", "--module", "m"], "no lens"),
        (["--scene", "chart:flat", "--module", "tele"], "main or m"),
        (["--scene", "chart:flat", "--count", "0"], "at least 1"),
        (["--scene", "chart:flat", "--illuminant", "Z99"], "Z99"),
        (["--scene", "chart:flat", "--luminance", "-5"], "luminance"),
        (["--scene", "chart:flat", "--ev", "9"], "-5 to +5 EV"),
    ],
)
def test_bad_request_exits_2_with_a_short_message_and_writes_nothing(tmp_path, args, words):
    out = tmp_path / "out"
    code, stdout, stderr = (
        run_cli("shoot", *args, "--crop", "64x64", "--out", str(out))
        if "--crop" not in args
        else run_cli("shoot", *args, "--out", str(out))
    )
    assert code == 2, (stdout, stderr)
    assert words.lower() in stderr.lower()
    assert "Traceback" not in stderr and "Traceback" not in stdout
    assert len(stderr.strip().splitlines()) <= 2
    assert not out.exists() or not any(out.iterdir())


def test_non_image_and_truncated_files_are_refused(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    import numpy as np
    from PIL import Image

    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8) + 100).save(good)
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(good.read_bytes()[:60])
    for bad in (text, truncated):
        out = tmp_path / f"out_{bad.stem}"
        code, stdout, stderr = run_cli(
            "shoot", "--scene", str(bad), "--crop", "64x64", "--out", str(out)
        )
        assert code == 2, stderr
        assert bad.name in stderr
        assert "Traceback" not in stderr
        assert not out.exists() or not any(out.iterdir())


def test_existing_files_are_never_overwritten(tmp_path):
    from conftest import shoot

    first = shoot(tmp_path, "--scene", "chart:flat", "--crop", "64x64", "--seed", "1")["files"][0]
    before = open(first, "rb").read()
    second = shoot(tmp_path, "--scene", "chart:flat", "--crop", "64x64", "--seed", "2")["files"][0]
    assert first != second
    assert open(first, "rb").read() == before


def test_json_is_the_only_thing_on_stdout(tmp_path):
    import json

    code, stdout, stderr = run_cli(
        "shoot",
        "--scene",
        "chart:gray-ramp",
        "--crop",
        "64x48",
        "--out",
        str(tmp_path),
        "--json",
        "--truth",
    )
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert set(doc) == {"files", "truth", "settings"}
    assert doc["truth"].endswith(".tif")
    # The truth lies on the pixel grid of the DNG's DefaultCrop.
    import tifffile

    from mountcam.dng import read_dng

    info = read_dng(doc["files"][0])
    truth = tifffile.imread(doc["truth"])
    assert truth.dtype == np.float32 and truth.shape == (*info.default_crop_size[::-1], 3)
    assert doc["settings"]["metered"] is True


def test_help_is_there():
    code, stdout, _ = run_cli("shoot", "--help")
    assert code == 0 and "--scene" in stdout and "--crop" in stdout


def test_camera_api_refuses_zero_iso_and_zero_shutter():
    from mountcam.body.settings import Controls
    from mountcam.errors import InvalidSetting

    for settings in (dict(program="P", iso=0), dict(program="S", exposure_s=0.0)):
        with pytest.raises(InvalidSetting):
            Controls(**settings)
