"""``shoot`` never overwrites: numbers count up, a number another process takes first is
skipped, and the truth TIFF is put in place without replacing anything. The numbering is the
library's (:mod:`mountcam.file_naming`), shared with ``develop``'s counted names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import shoot
from mountcam.body.backend import write_truth_tiff as _write_truth
from mountcam.errors import OutputExists
from mountcam.file_naming import camera_stems as _next_stems
from mountcam.file_naming import counted, free_counted, write_counted
from mountcam.file_naming import write_numbered as _write_numbered

ARGS = ("--scene", "chart:flat", "--crop", "64x48", "--shutter", "1/100", "--iso", "100")


def test_numbers_count_up_and_old_files_stay(tmp_path):
    out = tmp_path / "shots"
    first = shoot(out, *ARGS, "--seed", "1", "--truth")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    second = shoot(out, *ARGS, "--seed", "2", "--count", "2", "--truth")
    assert [Path(f).name for f in first["files"]] == ["MTC_0001.dng"]
    assert [Path(f).name for f in second["files"]] == ["MTC_0002.dng", "MTC_0003.dng"]
    assert Path(second["truth"]).name == "MTC_0002_truth.tif"
    for name, data in before.items():
        assert (out / name).read_bytes() == data
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left


def test_a_number_taken_meanwhile_is_skipped(tmp_path):
    """Another process writes MTC_0001.dng between our look at the folder and our write: the
    DNG writer refuses the name atomically and the frame goes to the next number."""
    intruder = b"someone else's picture"
    calls = []

    def write(frame, path: Path) -> Path:
        calls.append(path.name)
        if len(calls) == 1:
            path.write_bytes(intruder)  # the other process wins the race
            if path.exists():
                raise OutputExists(f"{path} already exists")
        path.write_bytes(frame)
        return path

    written = _write_numbered(tmp_path, [b"ours"], write)
    assert calls == ["MTC_0001.dng", "MTC_0002.dng"]
    assert written == [tmp_path / "MTC_0002.dng"]
    assert (tmp_path / "MTC_0001.dng").read_bytes() == intruder


def test_real_writer_refuses_existing_name(tmp_path):
    """The refusal _write_numbered relies on: write_dng links, never renames over a file."""
    from mountcam.atomic_file import publish

    target = tmp_path / "MTC_0001.dng"
    target.write_bytes(b"old")
    tmp = tmp_path / ".new.tmp"
    tmp.write_bytes(b"new")
    with pytest.raises(OutputExists):
        publish(tmp, target, overwrite=False)
    assert target.read_bytes() == b"old"


def test_truth_is_never_replaced(tmp_path):
    path = tmp_path / "MTC_0001_truth.tif"
    path.write_bytes(b"keep me")
    with pytest.raises(OutputExists):
        _write_truth(path, np.zeros((4, 4, 3), np.float32))
    assert path.read_bytes() == b"keep me"
    assert list(tmp_path.iterdir()) == [path]


def test_next_stem_counts_truth_files_too(tmp_path):
    (tmp_path / "MTC_0007_truth.tif").write_bytes(b"")
    assert _next_stems(tmp_path, 2) == ["MTC_0008", "MTC_0009"]


def test_counted_names_for_develop(tmp_path):
    base = tmp_path / "MTC_0001.jpg"
    base.write_bytes(b"first")
    assert free_counted(base) == tmp_path / "MTC_0001-1.jpg"
    assert free_counted(base, {tmp_path / "MTC_0001-1.jpg"}) == tmp_path / "MTC_0001-2.jpg"
    assert counted(base, 0) == base

    def write(path: Path) -> Path:
        if path.exists():
            raise OutputExists(str(path))
        path.write_bytes(b"new")
        return path

    _, target = write_counted(base, write)
    assert target == tmp_path / "MTC_0001-1.jpg" and base.read_bytes() == b"first"
    with pytest.raises(OutputExists):
        write_counted(base, write, exact=True)
