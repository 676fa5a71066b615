"""atomic_output: a file is all there or not there, and never replaces another."""

from __future__ import annotations

import pytest

from mountcam.atomic_file import atomic_output
from mountcam.errors import OutputExists


def test_the_bytes_appear_under_the_name_only_at_the_end(tmp_path):
    path = tmp_path / "a.bin"
    with atomic_output(path) as stream:
        stream.write(b"hello")
        assert not path.exists()  # still under its temporary name
        (tmp,) = tmp_path.iterdir()
        assert tmp.name.startswith(".a.bin.") and tmp.name.endswith(".tmp")
    assert path.read_bytes() == b"hello"
    assert list(tmp_path.iterdir()) == [path]


def test_an_error_while_writing_leaves_nothing(tmp_path):
    path = tmp_path / "a.bin"
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_output(path) as stream:
            stream.write(b"half")
            raise RuntimeError("disk on fire")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_refused_before_writing(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"keep")
    with pytest.raises(OutputExists, match="already exists"):
        with atomic_output(path):
            pytest.fail("the block must not run")
    assert path.read_bytes() == b"keep"
    assert list(tmp_path.iterdir()) == [path]


def test_a_file_that_appears_while_writing_is_not_replaced(tmp_path):
    path = tmp_path / "a.bin"
    with pytest.raises(OutputExists):
        with atomic_output(path) as stream:
            stream.write(b"ours")
            path.write_bytes(b"theirs")  # another process took the name meanwhile
    assert path.read_bytes() == b"theirs"
    assert list(tmp_path.iterdir()) == [path]


def test_overwrite_replaces_when_asked(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    with atomic_output(path, overwrite=True) as stream:
        stream.write(b"new")
    assert path.read_bytes() == b"new"
    assert list(tmp_path.iterdir()) == [path]


def test_a_missing_folder_is_an_os_error_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_output(tmp_path / "nope" / "a.bin"):
            pass
    assert list(tmp_path.iterdir()) == []
