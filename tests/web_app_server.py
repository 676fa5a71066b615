"""The camera app as a user runs it: ``mountcam serve`` in its own process on a free loopback
port (the tests of the app's HTTP API, its safety and the real-browser tests share it)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

#: Live view size and frame-rate cap for tests: small and slow enough to leave the machine's
#: other work alone, large enough for peaking and histograms to mean something.
TEST_PREVIEW = "256x192"
TEST_MAX_FPS = "8"
START_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running ``mountcam serve``; ``url`` is its address, ``captures`` its folder."""

    def __init__(self, captures: Path, *extra: str, port: int | None = None) -> None:
        self.captures = captures
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = captures.parent / f"serve-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mountcam",
                "serve",
                "--port",
                str(self.port),
                "--captures",
                str(captures),
                "--preview",
                TEST_PREVIEW,
                "--max-fps",
                TEST_MAX_FPS,
                *extra,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mountcam serve exited early:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/status", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"mountcam serve did not answer in {START_TIMEOUT_S:.0f} s:\n{self.log()}"
        )

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)

    def kill(self) -> None:
        """SIGKILL: no clean-up runs, as when the power goes."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if not self._log.closed:
            self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
