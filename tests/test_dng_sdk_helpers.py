"""Validate a DNG with the Adobe DNG SDK through dngpy, collecting what the SDK complains about.

The dngpy wheel's libdng is built with the SDK's validation on (``qDNGValidate``): while it
parses a file, ``ReportWarning`` / ``ReportError`` print ``*** Warning: ... ***`` and
``*** Error: ... ***`` with C ``fprintf``, which Python's ``sys.stderr`` never sees. So the
process's file descriptors 1 and 2 are pointed at a temporary file while the SDK reads the DNG
(open, Stage 1 pixels, metadata), and the lines are collected from there.

Imported by ``test_dng_file.py`` and ``test_acceptance_dng_readers.py``; has no tests itself.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
from contextlib import contextmanager


@contextmanager
def _capture_c_output():
    """Redirect fds 1 and 2 (C stdio included) to a file; yields a list filled on exit."""
    lines: list[str] = []
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            for fd in (1, 2):
                os.dup2(sink.fileno(), fd)
            yield lines
        finally:
            libc.fflush(None)
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", "replace").splitlines())


def sdk_validate(dngpy, path) -> list[str]:
    """Problems the DNG SDK reports reading ``path``: its warning/error lines, or the failure.

    An empty list means the SDK opened the file, read the raw (Stage 1) image and the metadata,
    and printed no warning or error.
    """
    problems: list[str] = []
    with _capture_c_output() as lines:
        try:
            dng = dngpy.Dng(str(path))
            pixels = dng.raw_pixels
            _ = (dng.metadata, dng.exif, dng.image_info, dng.color_info)
            _ = (dng.get_bayer_pattern(), dng.get_white_balance(), dng.get_baseline_exposure())
            if pixels is None or pixels.size == 0:
                problems.append("SDK returned no raw pixels")
        except Exception as exc:  # the SDK's own refusal is a problem to report, not a crash
            problems.append(f"SDK failed: {exc}")
    problems[:0] = [line.strip() for line in lines if line.lstrip().startswith("***")]
    return problems
