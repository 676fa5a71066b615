"""Acceptance 3: DNGs from ``shoot`` in every mode and bit depth open in the Adobe DNG SDK
(dngpy), in LibRaw (rawpy) with exactly the DN values written, and in exiftool."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from conftest import shoot
from mountcam.dng import read_dng

CASES = [(mode, bits) for mode in ("binned", "full") for bits in (10, 12, 14)]


@pytest.fixture(scope="module")
def dngs(tmp_path_factory):
    out = {}
    for mode, bits in CASES:
        d = tmp_path_factory.mktemp(f"{mode}{bits}")
        res = shoot(
            d,
            "--scene",
            "chart:colorchecker",
            "--mode",
            mode,
            "--bits",
            str(bits),
            "--crop",
            "160x120",
            "--seed",
            "9",
            "--iso",
            "400",
            "--shutter",
            "1/250",
        )
        out[(mode, bits)] = res
    return out


@pytest.mark.parametrize("mode, bits", CASES)
def test_libraw_reads_exactly_the_dn_written(dngs, mode, bits):
    import rawpy

    res = dngs[(mode, bits)]
    path = res["files"][0]
    written = read_dng(path).mosaic
    with rawpy.imread(path) as raw:
        assert np.array_equal(raw.raw_image, written)
        assert raw.raw_image.shape == (120, 160)
        assert raw.white_level == 2**bits - 1
        assert list(raw.black_level_per_channel) == [64 * 2 ** (bits - 10)] * 4
        assert "".join(chr(raw.color_desc[i]) for i in raw.raw_pattern.ravel()) in ("RGBG", "RGGB")
        rgb = raw.postprocess(use_camera_wb=True, no_auto_bright=True)
        assert rgb.shape[2] == 3 and rgb.mean() > 5
    assert written.max() <= 2**bits - 1


@pytest.mark.parametrize("mode, bits", CASES)
def test_adobe_dng_sdk_opens_without_warning(dngs, mode, bits):
    dngpy = pytest.importorskip("dngpy")
    from test_dng_sdk_helpers import sdk_validate

    problems = sdk_validate(dngpy, dngs[(mode, bits)]["files"][0])
    assert problems == []


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is installed by `make test`")
@pytest.mark.parametrize("mode, bits", CASES)
def test_exiftool_reads_it_without_warning(dngs, mode, bits):
    path = dngs[(mode, bits)]["files"][0]
    doc = json.loads(
        subprocess.run(
            ["exiftool", "-j", "-a", "-G1", path], capture_output=True, text=True, check=True
        ).stdout
    )[0]
    assert not [k for k in doc if k.endswith(":Warning") or k.endswith(":Error")], doc
    flat = {k.split(":")[-1]: v for k, v in doc.items()}
    assert flat["ExposureTime"] == "1/250"
    assert flat["ISO"] == 400
    assert flat["Make"] == "mountcam"
    assert flat["FNumber"] == 1.9
