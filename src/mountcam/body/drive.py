"""Drive modes: single, burst, exposure bracketing, self-timer, interval shooting.

A :class:`Drive` says how many frames a press of the shutter takes and when; :func:`shoot`
takes them with a :class:`~mountcam.body.camera.Camera` and writes them as camera-numbered
DNGs. A burst and a bracket are written whole or not at all (their frames are one picture to
the photographer: an HDR merge needs every exposure); interval frames are written as they
are taken, so a long series loses nothing already shot when it is stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from mountcam.errors import InvalidSetting

if TYPE_CHECKING:
    from mountcam.body.camera import Camera
    from mountcam.sensor.rawframe import RawFrame

DRIVE_MODES = ("single", "burst", "bracket", "interval")
BRACKET_FRAMES = (3, 5, 7, 9)
BRACKET_STEP_EV = (1 / 3, 3.0)
MAX_BURST = 100
TIMER_RANGE_S = (0.0, 30.0)
INTERVAL_RANGE_S = (0.0, 86400.0)
MAX_INTERVAL_COUNT = 9999


@dataclass(frozen=True)
class Drive:
    """``mode``: single (``count`` frames, 1 by default, written as they come), burst
    (``count`` frames, all or none), bracket (``count`` frames ``step_ev`` apart, all or
    none), interval (``count`` shots ``interval_s`` apart). ``timer_s``: self-timer delay
    before the first frame."""

    mode: str = "single"
    count: int = 1
    step_ev: float = 1.0
    interval_s: float = 0.0
    timer_s: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in DRIVE_MODES:
            raise InvalidSetting(
                f"drive '{self.mode}' does not exist; use {', '.join(DRIVE_MODES)}"
            )
        lo, hi = TIMER_RANGE_S
        if not (math.isfinite(self.timer_s) and lo <= self.timer_s <= hi):
            raise InvalidSetting(f"self-timer {self.timer_s:g} s is outside {lo:g} to {hi:g} s")
        if self.mode == "bracket":
            if self.count not in BRACKET_FRAMES:
                raise InvalidSetting(f"a bracket has 3, 5, 7 or 9 frames (asked {self.count})")
            a, b = BRACKET_STEP_EV
            if not (math.isfinite(self.step_ev) and a - 1e-6 <= self.step_ev <= b):
                raise InvalidSetting(
                    f"a bracket step is 1/3 to {b:g} EV (asked {self.step_ev:g} EV)"
                )
        elif self.mode == "burst":
            if not 2 <= self.count <= MAX_BURST:
                raise InvalidSetting(f"a burst has 2 to {MAX_BURST} frames (asked {self.count})")
        elif self.mode == "interval":
            lo, hi = INTERVAL_RANGE_S
            if not (math.isfinite(self.interval_s) and lo < self.interval_s <= hi):
                raise InvalidSetting(
                    f"interval {self.interval_s:g} s is outside {lo:g} (exclusive) to {hi:g} s"
                )
            if not 1 <= self.count <= MAX_INTERVAL_COUNT:
                raise InvalidSetting(
                    f"interval shooting takes 1 to {MAX_INTERVAL_COUNT} shots (asked {self.count})"
                )
        elif self.count < 1:
            raise InvalidSetting(f"count must be at least 1 (got {self.count})")

    @property
    def all_or_none(self) -> bool:
        return self.mode in ("burst", "bracket")


def parse_bracket(text: str) -> tuple[int, float]:
    """``"N:STEP"`` -> (frames, EV step); STEP may be a fraction (``5:1/3``)."""
    frames, sep, step = str(text).partition(":")
    try:
        if not sep:
            raise ValueError
        n = int(frames)
        ev = float(Fraction(step.strip()))
    except (ValueError, ZeroDivisionError):
        raise InvalidSetting(
            f"bracket '{text}' is not N:STEP (3, 5, 7 or 9 frames, 1/3 to 3 EV apart, e.g. 3:1)"
        ) from None
    Drive("bracket", count=n, step_ev=ev)  # validates, naming the range
    return n, ev


def take(camera: Camera, drive: Drive) -> Iterator[list[RawFrame]]:
    """The frames a press takes, in groups written together: one group for single, burst and
    bracket; one group per shot for interval."""
    if drive.timer_s > 0:
        time.sleep(drive.timer_s)
    if drive.mode == "bracket":
        yield camera.bracket(drive.count, drive.step_ev)
    elif drive.mode == "burst":
        yield camera.burst(drive.count)
    elif drive.mode == "interval":
        for frame in camera.frames(drive.interval_s, drive.count):
            yield [frame]
    else:
        for frame in camera.iter_frames(drive.count):
            yield [frame]


def shoot(
    camera: Camera,
    drive: Drive,
    folder: str | Path,
    *,
    on_written: Callable[[RawFrame, Path], None] | None = None,
    **dng_options,
) -> list[tuple[RawFrame, Path]]:
    """Press the shutter: take the drive's frames and write each as the next camera-numbered
    DNG in ``folder`` (created if missing). ``dng_options`` go to
    :func:`~mountcam.dng.write_dng`; ``on_written(frame, path)`` is called per file written.
    Returns (frame, path) pairs in order."""
    done: list[tuple[RawFrame, Path]] = []
    for frame, path in shots(camera, drive, folder, **dng_options):
        done.append((frame, path))
        if on_written is not None:
            on_written(frame, path)
    return done


def shots(
    camera: Camera, drive: Drive, folder: str | Path, **dng_options
) -> Iterator[tuple[RawFrame, Path]]:
    """:func:`shoot`, one (frame, path) at a time, each yielded once its DNG is on disk: a
    caller that keeps only what it needs of each frame holds one frame in memory, however long
    the series (``--count 2000``); a burst or a bracket is still written all or none."""
    for group in take(camera, drive):
        if drive.all_or_none:
            paths = camera.save_dngs(group, folder, **dng_options)
        else:
            paths = [camera.save_dng(frame, folder, **dng_options) for frame in group]
        yield from zip(group, paths, strict=True)
