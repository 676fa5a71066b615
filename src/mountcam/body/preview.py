"""The live preview: preview readouts on a background thread, auto-exposed frame by frame.

:meth:`mountcam.body.camera.Camera.start_preview` starts a :class:`PreviewStream`. Its thread
reads preview frames of the selected module (the whole field at ``size``, through the sensor
model with its own noise) at the exposure the last frame asked for, so a change of light is
followed frame by frame; the thread reads one frame ahead of its consumer and then waits for
it (back-pressure: a frame nobody shows is never read, and what is shown is at most one frame
old). A capture (``camera.capture()``) takes the camera's lock:
the preview pauses for it and resumes, as on a real camera. Iterating over the stream yields
frames as they come; ``stop()`` (or leaving a ``with`` block) ends it.

Settings changed on the camera (controls, the lens's rings, the scene of a twin) show in the
next frame the thread reads: every frame is read with the camera's current state.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Protocol

from mountcam.sensor.rawframe import RawFrame

#: Frames read ahead of the consumer: one, so the next frame is read while the consumer shows
#: this one, and a setting changed now shows at most two frames later.
QUEUE_FRAMES = 1


class Previewing(Protocol):
    """What the stream needs of a camera (:class:`mountcam.body.camera.Camera` is one)."""

    def preview_step(self, size: tuple[int, int]) -> RawFrame: ...

    @property
    def settings_version(self) -> object: ...


class PreviewStream:
    """Preview frames from a background thread (see the module docstring). ``fps``: the most
    frames a second it reads (None: as fast as it can)."""

    def __init__(self, camera: Previewing, size: tuple[int, int], fps: float | None = None) -> None:
        self.camera = camera
        self.size = size
        self.fps = fps
        self.frames_read = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue[tuple[RawFrame, object]] = queue.Queue(maxsize=QUEUE_FRAMES)
        self.frames_dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mountcam-preview", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        period = 0.0 if not self.fps else 1.0 / self.fps
        try:
            while not self._stop.is_set():
                t0 = time.monotonic()
                version = self.camera.settings_version
                frame = self.camera.preview_step(self.size)
                self.frames_read += 1
                # Wait for the consumer rather than read frames nobody will see: on two cores a
                # dropped frame's readout is time taken from the frame being shown.
                while not self._stop.is_set():
                    try:
                        self._queue.put((frame, version), timeout=0.05)
                        break
                    except queue.Full:
                        continue
                wait = period - (time.monotonic() - t0)
                if wait > 0:
                    self._stop.wait(wait)
        except BaseException as e:  # handed to the consumer, which re-raises it
            self.error = e
            self._stop.set()

    def get(self, timeout: float | None = 10.0) -> RawFrame:
        """The next frame read with the camera's current settings (waits up to ``timeout``
        s); re-raises what stopped the thread."""
        while True:
            if self.error is not None:
                raise self.error
            try:
                frame, version = self._queue.get(
                    timeout=0.05 if timeout is None else min(timeout, 0.05)
                )
                if version != self.camera.settings_version:
                    # Read before a setting changed: it would show the old lens, exposure or
                    # scene, so the change would seem to lag by the frame read ahead.
                    self.frames_dropped += 1
                    continue
                return frame
            except queue.Empty:
                if self._stop.is_set() and self.error is None:
                    raise StopIteration from None
                if timeout is not None:
                    timeout -= 0.05
                    if timeout <= 0:
                        raise TimeoutError("no preview frame came") from None

    def __iter__(self) -> Iterator[RawFrame]:
        while True:
            try:
                yield self.get()
            except StopIteration:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> PreviewStream:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
