"""Names for new files that never replace an old one: camera numbers and counted copies.

Two schemes, one rule (nothing is ever overwritten, also not when another process picks the
same name at the same moment):

- camera numbering, ``MTC_0001.dng``, ``MTC_0002.dng`` … (DCF-style, as cameras name their
  files): the next number after the highest one in the folder, whatever its extension
  (``MTC_0007_truth.tif`` takes 7 too), so a number is never reused;
- counted copies, ``name.jpg``, ``name-1.jpg``, ``name-2.jpg`` …: how ``develop`` names its
  output beside a source that already has a developed copy.

Both take the name by asking the writer to create the file and moving on when it refuses
(:class:`~mountcam.errors.OutputExists`, raised atomically by
:func:`mountcam.atomic_file.atomic_output`): looking first and writing later would race.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from mountcam.errors import OutputExists

T = TypeVar("T")

#: Prefix and digits of camera numbers (MTC = mountcam).
CAMERA_PREFIX = "MTC_"
CAMERA_DIGITS = 4
#: How many names a writer moves on through when other processes keep taking them first.
NAME_RETRIES = 1000


def camera_stems(folder: Path, count: int, prefix: str = CAMERA_PREFIX) -> list[str]:
    """The next ``count`` free camera-number stems in ``folder`` (``MTC_0001`` …), after the
    highest number any file there carries (a number is never reused, even when its file was
    deleted meanwhile only the highest counts)."""
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)(?:[._]|$)")
    highest = 0
    if folder.is_dir():
        for p in folder.iterdir():
            m = pattern.match(p.name)
            if m:
                highest = max(highest, int(m.group(1)))
    return [f"{prefix}{highest + i + 1:0{CAMERA_DIGITS}d}" for i in range(count)]


def write_numbered(
    folder: Path | str,
    items: Iterable[T],
    write: Callable[[T, Path], Path],
    *,
    suffix: str = ".dng",
    prefix: str = CAMERA_PREFIX,
) -> list[Path]:
    """Write each item under the next free camera number with ``write(item, path)``, which
    must refuse an existing ``path`` with OutputExists (as every mountcam writer does); a
    number another process takes first is skipped. Returns the paths written, in order."""
    folder = Path(folder)
    paths = []
    for item in items:
        for _ in range(NAME_RETRIES):
            path = folder / f"{camera_stems(folder, 1, prefix)[0]}{suffix}"
            try:
                paths.append(write(item, path))
                break
            except OutputExists:
                continue
        else:
            raise OutputExists(f"no free file name in {folder} after {NAME_RETRIES} tries")
    return paths


def counted(path: Path, n: int) -> Path:
    """``path`` itself for n = 0, else ``stem-n.suffix`` beside it."""
    return path if n == 0 else path.with_name(f"{path.stem}-{n}{path.suffix}")


def free_counted(path: Path, claimed: set[Path] | frozenset[Path] = frozenset()) -> Path:
    """The first of ``path``, ``stem-1``, ``stem-2`` … that does not exist and is not in
    ``claimed`` (names this run has already promised to other files)."""
    n = 0
    while counted(path, n) in claimed or counted(path, n).exists():
        n += 1
    return counted(path, n)


def write_counted(path: Path, write: Callable[[Path], T], *, exact: bool = False) -> tuple[T, Path]:
    """``write(path)``, moving on to ``stem-1``, ``stem-2`` … when the name is taken (unless
    ``exact``: then OutputExists passes through). Returns (what write returned, the path)."""
    for attempt in range(NAME_RETRIES):
        target = counted(path, attempt)
        try:
            return write(target), target
        except OutputExists:
            if exact:
                raise
    raise OutputExists(f"no free name beside {path} after {NAME_RETRIES} tries")
