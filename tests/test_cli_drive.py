"""``shoot``'s programs and drive modes (issue 12 §3, acceptance 6): every impossible value of a
new flag exits 2 with one line naming the valid range, nothing written; bracket and burst
write every frame or none."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli, shoot
from mountcam import Camera, SimulatedBackend
from mountcam.dng import read_dng

BASE = ("--scene", "chart:flat", "--crop", "64x48", "--seed", "1")


@pytest.mark.parametrize(
    "args, words",
    [
        (["--program", "X"], "P, A, S or M"),
        (["--program", "S"], "needs a shutter"),
        (["--program", "M", "--shutter", "1/100"], "both a shutter speed and an ISO"),
        (["--program", "A", "--shutter", "1/100"], "use S or M"),
        (["--metering", "eye"], "matrix, centre, spot, highlight, average"),
        (["--wb", "sunset"], "auto, daylight, cloudy, shade, tungsten, fluorescent, flash"),
        (["--wb", "500K"], "1800-20000 K"),
        (["--wb", "50000"], "1800-20000 K"),
        (["--bracket", "4:1"], "3, 5, 7 or 9 frames"),
        (["--bracket", "3:5"], "1/3 to 3 EV"),
        (["--bracket", "3:0.1"], "1/3 to 3 EV"),
        (["--bracket", "three"], "N:STEP"),
        (["--burst", "1"], "2 to 100 frames"),
        (["--burst", "500"], "2 to 100 frames"),
        (["--timer", "-1"], "0 to 30 s"),
        (["--timer", "31"], "0 to 30 s"),
        (["--interval", "0"], "0 (exclusive) to 86400 s"),
        (["--interval", "1", "--count", "0"], "1 to 9999 shots"),
        (["--burst", "3", "--bracket", "3:1"], "one drive mode"),
        (["--ev", "-6"], "-5 to +5 EV"),
        (["--ae-lock", "/no/such.dng"], "no such file"),
        (["--ae-lock", "x.dng", "--iso", "200"], "drop --shutter/--iso"),
    ],
)
def test_impossible_values_exit_2_with_one_line(tmp_path, args, words):
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("shoot", *BASE, *args, "--out", str(out))
    assert code == 2, (stdout, stderr)
    assert words.lower() in stderr.lower(), stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "Traceback" not in stderr + stdout
    assert not out.exists() or not any(out.iterdir())


def test_bracket_writes_its_frames_stops_apart(tmp_path):
    res = shoot(tmp_path, *BASE, "--bracket", "3:1", "--metering", "average")
    assert [Path(f).name for f in res["files"]] == ["MTC_0001.dng", "MTC_0002.dng", "MTC_0003.dng"]
    times = [read_dng(f).exposure_s for f in res["files"]]
    assert times[1] / times[0] == pytest.approx(2.0, rel=1e-3)
    assert times[2] / times[1] == pytest.approx(2.0, rel=1e-3)
    assert res["settings"]["exposure_bias_ev"] == [-1.0, 0.0, 1.0]
    # In S the shutter is the photographer's: the bracket moves ISO (where the range allows:
    # at ISO 100 it cannot go lower, and the frame says what it got).
    res = shoot(tmp_path, *BASE, "--bracket", "3:1/3", "--shutter", "1/500", "--luminance", "50")
    isos = [read_dng(f).iso for f in res["files"]]
    assert {read_dng(f).exposure_s for f in res["files"]} == {1 / 500}
    assert isos[2] / isos[0] == pytest.approx(2 ** (2 / 3), rel=0.02)
    res = shoot(tmp_path, *BASE, "--bracket", "3:1", "--shutter", "1/30", "--luminance", "2000")
    assert [read_dng(f).iso for f in res["files"]] == [100, 100, 200]
    assert res["settings"]["exposure_bias_ev"] == [0.0, 0.0, 1.0]


def test_burst_and_interval(tmp_path):
    res = shoot(tmp_path / "burst", *BASE, "--burst", "3")
    assert len(res["files"]) == 3 and len({read_dng(f).exposure_s for f in res["files"]}) == 1
    res = shoot(tmp_path / "interval", *BASE, "--interval", "0.2", "--count", "3")
    stamps = [read_dng(f).datetime_original for f in res["files"]]
    assert len(res["files"]) == 3
    # Two intervals (0.4 s), less the jitter of where in each shot the time is stamped (it
    # came out 0.34 s once under load); three shots without the interval take ~0.1 s.
    assert (stamps[2] - stamps[0]).total_seconds() >= 0.3


def test_ae_lock_reuses_an_earlier_exposure(tmp_path):
    first = shoot(tmp_path, *BASE, "--luminance", "300")
    again = shoot(tmp_path, *BASE, "--luminance", "3000", "--ae-lock", first["files"][0])
    a, b = read_dng(first["files"][0]), read_dng(again["files"][0])
    assert (a.exposure_s, a.iso) == (b.exposure_s, b.iso)


def test_programs_and_metering_reach_the_exif(tmp_path):
    res = shoot(tmp_path, *BASE, "--program", "S", "--shutter", "1/250", "--metering", "spot")
    info = read_dng(res["files"][0])
    assert info.exif["ExposureProgram"] == 4 and info.exif["MeteringMode"] == 3
    assert info.exposure_s == pytest.approx(1 / 250)
    res = shoot(tmp_path, *BASE, "--wb", "tungsten", "--illuminant", "A")
    assert res["settings"]["white_balance"] == "tungsten"
    assert read_dng(res["files"][-1]).exif["WhiteBalance"] == 1  # manual
    n, t = np.array(res["settings"]["as_shot_neutral"]), np.array(res["settings"]["true_neutral"])
    assert math.degrees(math.acos(n @ t / np.linalg.norm(n) / np.linalg.norm(t))) < 0.3


def test_a_burst_is_written_whole_or_not_at_all(tmp_path):
    """One frame of the group cannot be written: the ones already written are taken back."""
    camera = Camera(SimulatedBackend("chart:flat", seed=1))
    camera.configure(crop=(64, 48))
    frames = camera.burst(3)
    frames[1].metadata.as_shot_neutral = (0.0, 1.0, 1.0)  # the writer refuses it
    with pytest.raises(ValueError, match="as_shot_neutral"):
        camera.save_dngs(frames, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_manually_chosen_zoom_records_the_focal_length_set(tmp_path):
    """An uncoded Tri-Elmar cannot report its focal ring: --focal is what the photographer set
    and tells the body (was: the body believed the shortest, 16 mm)."""
    res = shoot(
        tmp_path,
        *("--scene", "chart:flat", "--module", "m", "--crop", "64x48"),
        *("--lens", "tri-elmar-m-16-18-21", "--lens-code", "0"),
        *("--manual-lens", "tri-elmar-m-16-18-21", "--focal", "21"),
    )
    assert res["settings"]["focal_mm"] == 21.0
    assert read_dng(res["files"][0]).focal_mm == 21.0
