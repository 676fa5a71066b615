"""Every M-mount state through the real CLI: what is refused, what is recorded."""

from __future__ import annotations

import math

import pytest

from conftest import run_cli, shoot
from mountcam.dng import read_dng

BASE = ("--scene", "chart:flat", "--module", "m", "--crop", "64x64", "--seed", "1")


def detection(tmp_path, *args) -> dict:
    return shoot(tmp_path, *BASE, *args)["settings"]["lens_detection"]


def refused(tmp_path, *args) -> str:
    out = tmp_path / "refused"
    code, _, stderr = run_cli("shoot", *BASE, *args, "--out", str(out))
    assert code == 2 and "Traceback" not in stderr
    assert not out.exists() or not any(out.iterdir())
    return stderr


def test_a_coded_lens_is_identified_by_its_code(tmp_path):
    d = detection(tmp_path, "--lens", "summicron-m-28")
    assert d == {
        "detection_state": "coded",
        "code_read": 26,
        "lens_id": "summicron-m-28",
        "lens_name": d["lens_name"],
        "identified_by": "code",
    }


def test_no_lens_uncoded_and_unknown_codes_are_refused_without_a_manual_choice(tmp_path):
    assert "no lens" in refused(tmp_path)
    assert "uncoded" in refused(tmp_path, "--lens", "summicron-m-50", "--lens-code", "0")
    assert "code 60" in refused(tmp_path, "--lens", "summicron-m-50", "--lens-code", "60")


def test_a_manual_choice_identifies_uncoded_and_unknown_lenses(tmp_path):
    d = detection(
        tmp_path, "--lens", "summicron-m-50", "--lens-code", "0", "--manual-lens", "summicron-m-50"
    )
    assert (d["detection_state"], d["identified_by"], d["lens_id"]) == (
        "uncoded",
        "manual",
        "summicron-m-50",
    )
    d = detection(
        tmp_path, "--lens", "summicron-m-50", "--lens-code", "60", "--manual-lens", "elmarit-m-90"
    )
    assert (d["detection_state"], d["code_read"], d["lens_id"]) == (
        "unknown-code",
        60,
        "elmarit-m-90",
    )


def test_a_coded_lens_overrides_a_manual_choice(tmp_path):
    d = detection(
        tmp_path,
        "--lens",
        "apo-summicron-m-50",
        "--lens-detection",
        "manual",
        "--manual-lens",
        "elmarit-m-28",
    )
    assert (d["lens_id"], d["identified_by"]) == ("apo-summicron-m-50", "code")


def test_detection_off_captures_without_lens_data(tmp_path):
    res = shoot(tmp_path, *BASE, "--lens", "noctilux-m-50-f0.95", "--lens-detection", "off")
    d = res["settings"]["lens_detection"]
    assert (d["detection_state"], d["lens_id"]) == ("off", None)
    assert res["settings"]["simulated_lens"]["id"] == "noctilux-m-50-f0.95"


def test_the_rings_are_checked_against_the_lens(tmp_path):
    assert "f/2 to f/16" in refused(tmp_path, "--lens", "summicron-m-50", "--aperture", "1.4")
    assert "0.7 m" in refused(tmp_path, "--lens", "summicron-m-50", "--focus", "0.3")
    res = shoot(tmp_path, *BASE, "--lens", "summicron-m-50", "--aperture", "3.2", "--focus", "2")
    assert res["settings"]["simulated_lens"]["f_number"] == 3.2  # between clicks is fine


def test_the_aperture_ring_is_estimated_not_read(tmp_path):
    """FNumber in the DNG is the estimate from the main module's reference, not the ring."""
    res = shoot(tmp_path, *BASE, "--lens", "summicron-m-50", "--aperture", "8")
    settings = res["settings"]
    assert abs(2 * math.log2(settings["f_number"] / 8)) < 1 / 3
    assert settings["f_number"] != 8  # an estimate, not a read-out
    info = read_dng(res["files"][0])
    assert info.f_number == pytest.approx(settings["f_number"], rel=0.01)
    assert info.focal_mm == pytest.approx(50)
    assert "Summicron-M 50" in info.lens_model
    res = shoot(tmp_path, *BASE, "--lens", "summicron-m-50", "--lens-detection", "off")
    assert res["settings"]["f_number"] is None  # no lens data, no focal length: no estimate


def test_main_module_options_are_checked(tmp_path):
    out = tmp_path / "x"
    code, _, stderr = run_cli(
        "shoot",
        "--scene",
        "chart:flat",
        "--crop",
        "64x64",
        "--lens",
        "summicron-m-50",
        "--out",
        str(out),
    )
    assert code == 2 and "fixed lens" in stderr
    code, _, stderr = run_cli(
        "shoot", "--scene", "chart:flat", "--crop", "64x64", "--aperture", "2.8", "--out", str(out)
    )
    assert code == 2 and "f/1.9" in stderr
    code, _, stderr = run_cli("shoot", *BASE, "--lens-code", "5", "--out", str(out))
    assert code == 2 and "--lens" in stderr


def test_lenses_cli_lists_the_catalogue():
    import json

    code, stdout, _ = run_cli("lenses", "--json")
    lenses = json.loads(stdout)
    coded_m = [x for x in lenses if x["mount"] == "M" and x["code"]]
    assert code == 0 and len(coded_m) >= 24
    assert {
        "id",
        "name",
        "mount",
        "focal_mm",
        "max_f",
        "min_f",
        "stops",
        "min_focus_m",
        "code",
        "blades",
    } <= set(lenses[0])
    code, stdout, _ = run_cli("lenses", "show", "summicron-m-50", "--json")
    assert json.loads(stdout)["equivalent_focal_mm"] == pytest.approx(132, abs=0.5)


def test_an_adapted_lensfun_lens_is_uncoded_and_chosen_manually(tmp_path):
    pytest.importorskip("lensfunpy")
    lens = "lensfun:zeiss-carl-zeiss-planar-t-1-4-50-zf-2"
    assert "uncoded" in refused(tmp_path, "--lens", lens)
    res = shoot(tmp_path, *BASE, "--lens", lens, "--manual-lens", lens, "--aperture", "2.8")
    d = res["settings"]["lens_detection"]
    assert (d["detection_state"], d["identified_by"], d["lens_id"]) == ("uncoded", "manual", lens)
    assert abs(2 * math.log2(res["settings"]["f_number"] / 2.8)) < 1 / 3


def test_the_dng_marks_the_f_number_as_estimated_in_xmp(tmp_path):
    import json
    import shutil
    import subprocess

    res = shoot(tmp_path, *BASE, "--lens", "summilux-m-35-asph", "--aperture", "2.8")
    path = res["files"][0]
    dngpy = pytest.importorskip("dngpy")
    from test_dng_sdk_helpers import sdk_validate

    assert sdk_validate(dngpy, path) == []
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is installed by `make test`")
    doc = json.loads(
        subprocess.run(
            ["exiftool", "-j", "-G1", "-a", "-XMP:all", "-EXIF:FNumber", path],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )[0]
    assert (
        doc["XMP-mountcam:FNumberEstimated"] is True
        or doc["XMP-mountcam:FNumberEstimated"] == "True"
    )
    assert 0 < float(doc["XMP-mountcam:FNumberUncertaintyStops"]) < 0.3
    assert doc["XMP-mountcam:LensDetection"] == "coded"
    assert float(doc["ExifIFD:FNumber"]) == pytest.approx(res["settings"]["f_number"], abs=0.06)


def test_an_adapted_zoom_is_corrected_at_the_focal_length_set(tmp_path):
    """Issue 12: a manually chosen lensfun zoom was believed (EXIF FocalLength, the DNG's
    OpcodeList3) at its shortest focal length whatever ``--focal`` said: both shots below
    carried the same warp, fitted to the 24 mm calibration, and FocalLength 24."""
    pytest.importorskip("lensfunpy")
    import subprocess

    from mountcam.dng.opcodes import WarpRectilinear, decode_opcode_list

    zoom = "lensfun:canon-canon-ef-24-105mm-f-4l-is-ii-usm"
    warps, focal_tags = {}, {}
    for focal in (24, 105):
        res = shoot(
            tmp_path / f"f{focal}", *BASE, "--lens", zoom, "--manual-lens", zoom,
            "--focal", str(focal), "--scene", "chart:siemens-star", "--crop", "256x192",
        )  # fmt: skip
        path = res["files"][0]
        (warp,) = [
            op
            for op in decode_opcode_list(read_dng(path).opcode_list_3)
            if isinstance(op, WarpRectilinear)
        ]
        warps[focal] = warp.coefficients[1][1]  # green's r² term: the distortion
        out = subprocess.run(
            ["exiftool", "-s3", "-n", "-ExifIFD:FocalLength", path], capture_output=True, text=True
        )
        focal_tags[focal] = float(out.stdout) if out.returncode == 0 and out.stdout else None
    # lensfun calibrates the EF 24-105 with different distortion at 24 and at 105 mm
    assert abs(warps[105] - warps[24]) > 1e-3, warps
    if focal_tags[24] is not None:
        assert focal_tags == {24: 24.0, 105: 105.0}
