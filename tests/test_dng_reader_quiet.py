"""A damaged DNG gives one line, never tifffile's own log lines (issue 9 §1).

tifffile logs every tag it cannot read (``<TiffTag.fromfile> raised TiffFileError(...)``) as a
warning, which Python prints on stderr when nobody configured logging: a DNG cut at 1000 bytes
printed six such lines before mountcam's own error. ``read_dng`` now passes tifffile's records
on at DEBUG level under ``mountcam.dng.reader``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli, shoot
from mountcam.dng import read_dng
from mountcam.errors import UnreadableFile

#: Lengths the file is cut to: inside the IFDs, at their values, in the pixels (from the end).
CUTS = (300, 1000, 2500, -100)


@pytest.fixture(scope="module")
def cut_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("cut")
    res = shoot(folder, "--scene", "chart:colorchecker", "--crop", "64x48", "--seed", "5")
    data = Path(res["files"][0]).read_bytes()
    paths = []
    for n in CUTS:
        path = folder / f"cut{n % len(data)}.dng"
        path.write_bytes(data[:n])
        paths.append(path)
    return paths


def test_read_dng_of_cut_files_prints_nothing(cut_files):
    """In a fresh interpreter (no logging configured, as in a user's script): each cut file
    raises UnreadableFile and nothing reaches stderr."""
    script = (
        "import sys\n"
        "from mountcam.dng import read_dng\n"
        "from mountcam.errors import UnreadableFile\n"
        "for p in sys.argv[1:]:\n"
        "    try:\n"
        "        read_dng(p)\n"
        "    except UnreadableFile as e:\n"
        "        print('refused', e)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, *map(str, cut_files)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("refused") == len(cut_files), proc.stdout
    assert proc.stderr == ""


def test_tifffiles_records_stay_available_at_debug_level(cut_files, caplog):
    with caplog.at_level(logging.DEBUG, logger="mountcam.dng.reader"):
        with pytest.raises(UnreadableFile, match="truncated"):
            read_dng(cut_files[1])
    debug = [r for r in caplog.records if r.name == "mountcam.dng.reader"]
    assert any("TiffFileError" in r.getMessage() for r in debug)
    assert not [r for r in caplog.records if r.name == "tifffile"]


def test_other_tifffile_users_still_see_its_warnings(cut_files, caplog):
    """Only read_dng's own records are diverted."""
    import tifffile

    with caplog.at_level(logging.WARNING, logger="tifffile"):
        with tifffile.TiffFile(cut_files[1]) as tif:
            _ = tif.pages[0].tags
    assert any(r.name == "tifffile" for r in caplog.records)


def test_the_cli_gives_one_line_per_cut_file(cut_files):
    code, _, stderr = run_cli("develop", *map(str, cut_files), "--jobs", "1")
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == len(cut_files), stderr
    assert all(line.startswith("error: ") for line in lines), stderr
