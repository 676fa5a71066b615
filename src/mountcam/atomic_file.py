"""Write a file so that it is either all there or not there at all, and never replaces another.

Every file mountcam writes (DNG, truth TIFF, developed JPEG/TIFF/PNG) goes through
:func:`atomic_output`: the bytes go to a hidden temporary name beside the target (same
folder, so same filesystem), are flushed to disk (``fsync``), and only then get the target
name. The name is given with ``link()``, which refuses an existing name atomically: a file
that appears while we write (another process took the same number) is never replaced, where a
``rename()`` would silently replace it (POSIX.1-2017, ``link``/``rename``). On any error the
temporary file is removed, so a full disk or a denied permission leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from mountcam.errors import CannotWrite, OutputExists


@contextmanager
def atomic_output(path: Path | str, *, overwrite: bool = False) -> Iterator[BinaryIO]:
    """A binary stream whose bytes become ``path`` when the ``with`` block ends normally.

    Raises :class:`~mountcam.errors.OutputExists` (before writing anything, and again at the
    end if the name was taken meanwhile) unless ``overwrite``; ``OSError`` from the filesystem
    passes through for the caller to name. Nothing is left behind on any exception.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExists(f"{path} already exists; choose another name or allow overwriting")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    stream = open(tmp, "xb")  # noqa: SIM115 - closed below; "x": O_CREAT | O_EXCL
    try:
        with stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        publish(tmp, path, overwrite=overwrite)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def publish(tmp: Path, path: Path, *, overwrite: bool = False) -> None:
    """Give the finished file ``tmp`` the name ``path`` (and remove ``tmp``); without
    ``overwrite`` an existing ``path`` raises :class:`~mountcam.errors.OutputExists` and is
    left as it was."""
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputExists(
            f"{path} already exists; choose another name or allow overwriting"
        ) from None
    except OSError:  # filesystems without hard links: check, then rename (a small race)
        if path.exists():
            raise OutputExists(
                f"{path} already exists; choose another name or allow overwriting"
            ) from None
        os.replace(tmp, path)
        return
    tmp.unlink()


def fsync_folder(folder: Path) -> None:
    """Flush ``folder``'s entry list, so a new name survives a crash (no-op where folders
    cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def check_writable_folder(folder: Path | str) -> None:
    """Raise :class:`~mountcam.errors.CannotWrite` unless files can be made in ``folder``, so
    that a request is refused before the work that would end in a file nobody can write.

    An existing folder is tried by creating (and removing) a hidden file in it: that is what
    counts, whatever the permission bits say (root ignores them; a read-only filesystem does
    not). A missing folder is judged by its nearest existing parent, which must be a folder
    where a subfolder can be made; nothing is created there.
    """
    folder = Path(folder)
    probe_in = folder
    while not probe_in.exists():
        if probe_in.parent == probe_in:
            break
        probe_in = probe_in.parent
    if probe_in.exists() and not probe_in.is_dir():
        what = "is" if probe_in == folder else f"is inside {probe_in}, which is"
        raise CannotWrite(f"cannot write in {folder}: it {what} a file, not a folder")
    probe = probe_in / f".mountcam-write-test.{uuid.uuid4().hex[:12]}"
    try:
        probe.mkdir() if probe_in != folder else probe.touch(exist_ok=False)
    except OSError as e:
        raise CannotWrite(f"cannot write in {folder} ({e.strerror or e})") from None
    (probe.rmdir if probe.is_dir() else probe.unlink)()


def check_free_space(folder: Path | str, needed_bytes: int, what: str) -> None:
    """Raise :class:`~mountcam.errors.CannotWrite` when the disk of ``folder`` (or of its
    nearest existing parent) has less than ``needed_bytes`` free; ``what`` names the files
    in the message ("2000 frames")."""
    probe = Path(folder)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if needed_bytes > free:
        raise CannotWrite(
            f"{what} need about {_size(needed_bytes)} and {folder} has {_size(free)} free"
        )


def _size(n_bytes: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n_bytes < 1000 or unit == "TB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    raise AssertionError("unreachable")
