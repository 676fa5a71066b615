"""Process-wide memory-allocator tuning for applications that develop large pictures.

An explicit opt-in for an application's entry point (the ``mountcam`` command and its worker
processes call :func:`tune_malloc_for_large_arrays`); the library never changes process-wide
settings behind its caller's back.
"""

from __future__ import annotations

import ctypes
import os
import sys

_tuned = False

#: The same tuning as :func:`tune_malloc_for_large_arrays`, as the environment variables glibc
#: reads when a process starts (glibc manual, "Memory Allocation Tunables"), for processes
#: whose threads exist before they could call it: a Dask worker's task thread has its own
#: arena by the time the first task runs, and ``mallopt(M_ARENA_MAX, 1)`` does not move it,
#: so its large arrays were mapped and faulted in afresh for every picture (binned develop
#: in a 1-worker LocalCluster: 0.62 s per file, 3–4 thousand faults; with these at start-up
#: 0.53 s and none, as in a plain process).
MALLOC_TUNING_ENV = {
    "MALLOC_ARENA_MAX": "1",
    "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
    "MALLOC_TRIM_THRESHOLD_": str(1 << 31),
}


def malloc_tuning_wanted() -> bool:
    """Whether this process may tune glibc's malloc: Linux, and not switched off by
    ``MOUNTCAM_MALLOC_TUNING=0``."""
    return os.environ.get("MOUNTCAM_MALLOC_TUNING", "1") != "0" and sys.platform.startswith("linux")


def tune_malloc_for_large_arrays() -> bool:
    """Keep glibc's malloc from handing every large array back to the kernel (once per
    process). Returns whether the tuning is in place.

    Why: a 50 MP development allocates and frees hundreds of strip-sized arrays (OpenCV's and
    NumPy's results in the ``high`` demosaic, 12–36 MB each). By default glibc serves them
    with ``mmap`` or from per-thread arenas that it trims, so each one is faulted in afresh:
    measured 350 000 page faults and 3.6 s of system time per ``high`` development (0.4 s
    for ``fast``). With one arena, large blocks from the heap and no trimming
    (``mallopt(M_ARENA_MAX, 1)``, ``M_MMAP_THRESHOLD`` 1 GiB, ``M_TRIM_THRESHOLD`` 2 GiB) the
    freed blocks are reused: no faults after the first picture, ~0.1 s of system time, and a
    lower peak (1.50 GB instead of 1.61 GB for ``high``). The price: the process keeps its
    peak memory after developing instead of returning it, which suits a command that exits
    but not every host process. ``MOUNTCAM_MALLOC_TUNING=0`` switches it off; other C
    libraries and other platforms are left alone.
    """
    global _tuned
    if _tuned:
        return True
    if not malloc_tuning_wanted():
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8  # glibc <malloc.h>
    mallopt(m_arena_max, 1)
    mallopt(m_mmap_threshold, 1 << 30)
    mallopt(m_trim_threshold, 1 << 31)
    _tuned = True
    return True
