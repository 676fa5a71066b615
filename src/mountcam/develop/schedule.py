"""How a development is executed, apart from what it computes (Halide's algorithm/schedule split).

A :class:`Schedule` says how many output rows each strip holds and how many strips run at
once. It changes the speed and the memory of :func:`~mountcam.develop.develop`, never its
pixels: every stage reads the context rows it needs around a strip, so any strip height gives
the same output bit for bit (the equality tests develop with tiny strips to prove it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from mountcam.errors import InvalidSetting

#: Output rows per strip for ``quality="fast"``: ~256 rows of an 8192-wide image keep a strip's
#: float32 RGB (25 MB) near the last-level cache while the per-strip overhead stays negligible.
FAST_STRIP_ROWS = 256
#: Output rows per strip for ``quality="high"``: MLRI reads 32 rows of context on each side
#: (plus its own 16-row mirrored pad), so 256-row strips compute 1.42 mosaic rows per output
#: row and 384-row strips 1.28 (measured at 50 MP: 14 % less CPU, peak RSS 1.40 -> 1.61 GB;
#: 512 rows reach 1.96 GB, too close to the 2 GB budget).
HIGH_STRIP_ROWS = 384


def default_workers() -> int:
    """Strips developed at once: two threads (the numba kernels release the GIL), fewer on a
    one-core machine. Two strips in flight keep two cores busy through the serial parts of
    each stage (Python glue, OpenCV calls, allocation) that a single strip leaves idle."""
    return min(2, os.cpu_count() or 1)


@dataclass(frozen=True)
class Schedule:
    """``strip_rows``: output rows per strip (``None``: :data:`FAST_STRIP_ROWS` or
    :data:`HIGH_STRIP_ROWS` by quality). ``workers``: strips in flight at once (threads),
    each running its numba kernels on one thread."""

    strip_rows: int | None = None
    workers: int = field(default_factory=default_workers)

    def __post_init__(self) -> None:
        if self.strip_rows is not None and int(self.strip_rows) < 2:
            raise InvalidSetting(f"a strip needs at least 2 rows, got {self.strip_rows}")
        if int(self.workers) < 1:
            raise InvalidSetting(f"strip workers must be at least 1, got {self.workers}")

    def rows_for(self, quality: str) -> int:
        """Output rows per strip for a development of ``quality``."""
        if self.strip_rows is not None:
            return int(self.strip_rows)
        return FAST_STRIP_ROWS if quality == "fast" else HIGH_STRIP_ROWS
