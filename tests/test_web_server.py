"""The camera app as a process (issue 14, reliability and safety): ``mountcam serve`` on
uvicorn, killed with SIGKILL in the middle of writing a capture and started again; raw HTTP
request lines that no client library would normalise.

A SIGKILL runs no clean-up, so "all or none" for a burst holds only for errors the process
survives; what a kill must never leave is a partial file under a capture's name (files are
written to a temporary name, fsynced and renamed), and a restart must list every capture that
was acknowledged."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

import httpx
import rawpy

from web_app_server import Server


def raw_request(port: int, target: str, method: str = "GET") -> tuple[int, bytes]:
    """Send ``target`` exactly as written (no dot-segment removal, no re-encoding)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(
            f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


def temporaries(folder) -> list[str]:
    return [e.name for e in os.scandir(folder) if e.name.endswith(".tmp")]


def test_kill_during_capture_leaves_no_partial_file_and_restart_lists_acknowledged(tmp_path):
    captures = tmp_path / "captures"
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret")
    server = Server(captures)
    try:
        with server.client() as c:
            # Raw request lines: literal and encoded dot segments, an absolute path.
            for target in (
                "/captures/../secret.txt",
                "/captures/..%2fsecret.txt",
                "/captures/%2e%2e/secret.txt",
                "/captures/..%252fsecret.txt",
                f"/captures/{secret}",
                "/captures/MTC_0001.dng/../../secret.txt",
            ):
                for method in ("GET", "DELETE"):
                    status, body = raw_request(server.port, target, method)
                    assert status in (400, 403, 404, 405), (target, method, status)
                    assert b"the secret" not in body
            assert secret.read_text() == "the secret"

            assert c.post("/api/settings", json={"crop": [512, 384]}).status_code == 200
            acknowledged = []
            for _ in range(2):
                r = c.post("/api/capture")
                assert r.status_code == 200, r.text
                acknowledged += r.json()["files"]
            # A burst of three large frames, written all or none: kill the server the moment
            # the first of them exists as a temporary file (mid-write).
            c.post(
                "/api/settings", json={"crop": [2048, 1536], "drive": {"mode": "burst", "count": 3}}
            )

        def press() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server dies under it
                httpx.post(f"{server.url}/api/capture", timeout=300)

        pressed = threading.Thread(target=press, daemon=True)
        pressed.start()
        deadline = time.monotonic() + 240
        caught: list[str] = []
        while not caught and time.monotonic() < deadline and server.process.poll() is None:
            caught = temporaries(captures)
        server.kill()
        assert caught, "the burst finished before a temporary file was seen"
        # Whatever the kill interrupted, no file under a capture's name is partial: each is a
        # whole DNG (frames of the burst published before the kill may be there, complete).
        visible = sorted(p.name for p in captures.glob("MTC_*"))
        assert set(acknowledged) <= set(visible), visible

        def readable(data: bytes, name: str) -> None:
            path = tmp_path / f"read-{name}"
            path.write_bytes(data)
            with rawpy.imread(str(path)) as raw:
                assert raw.raw_image_visible.shape[1] >= 496, name

        for name in visible:
            readable((captures / name).read_bytes(), name)

        server = Server(captures)
        with server.client() as c:
            listed = [item["name"] for item in c.get("/api/captures").json()]
            assert listed == visible  # every acknowledged capture, and only whole files
            for name in acknowledged:
                readable(c.get(f"/captures/{name}").content, name)
            assert temporaries(captures) == []  # the killed write's leftover is cleaned up
    finally:
        server.stop()
