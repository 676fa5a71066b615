"""The camera app's HTTP API and its safety rules (issue 14, acceptance 3), in-process through
FastAPI's TestClient: the same ASGI app ``mountcam serve`` runs, the same Guard in front.

Each refusal is checked for what it must leave alone: nothing written, nothing deleted,
nothing changed."""

from __future__ import annotations

import io
import json
import struct
import threading
import time
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from conftest import run_cli
from mountcam import Camera, SimulatedBackend
from mountcam.app.web.safety import is_loopback
from mountcam.app.web.server import create_app
from mountcam.app.web.service import CameraService
from mountcam.dng import read_dng

HOST = "127.0.0.1:8000"
SAME_ORIGIN = {"Origin": f"http://{HOST}"}
FOREIGN = {"Origin": "http://evil.example"}
#: Small uploads allowed in these tests (the app's default is 64 MiB).
UPLOAD_LIMIT = 1 << 20


@pytest.fixture
def service(tmp_path):
    camera = Camera(SimulatedBackend("chart:colorchecker", seed=1))
    camera.configure(crop=(256, 192))
    svc = CameraService(camera, tmp_path / "captures", preview_size=(128, 96), max_fps=10)
    yield svc
    svc.close()


@pytest.fixture
def client(service):
    app = create_app(service, port=8000, max_upload_bytes=UPLOAD_LIMIT)
    with TestClient(app, base_url=f"http://{HOST}") as c:
        yield c


def files_in(folder) -> set[str]:
    return {p.name for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def png_bytes(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def png_bomb(side: int) -> bytes:
    """A valid 1-bit PNG of side x side pixels, all black: a few tens of kilobytes that
    decode to side² pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# ---- the API -----------------------------------------------------------------------------------
def test_status_settings_and_openapi(client):
    status = client.get("/api/status").json()
    assert status["modules"] == ["main", "m"] and status["module"] == "main"
    assert status["choices"]["programs"] == ["P", "A", "S", "M"]
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/status",
        "/api/settings",
        "/api/lens",
        "/api/capture",
        "/api/captures",
        "/captures/{name}",
        "/api/scene/upload",
        "/api/magnifier",
    ):
        assert path in paths, path
    assert "post" in paths["/api/settings"] and "delete" in paths["/captures/{name}"]

    s = client.post("/api/settings", json={"program": "S", "shutter_s": "1/250", "iso": 800})
    assert s.status_code == 200, s.text
    assert s.json()["program"] == "S" and s.json()["shutter_s"] == pytest.approx(1 / 250)
    # All or nothing: a bad ISO refuses the whole change, in one line, and changes nothing.
    bad = client.post("/api/settings", json={"ev": 1.0, "iso": 5})
    assert bad.status_code == 400 and "ISO" in bad.json()["error"]
    assert "\n" not in bad.json()["error"]
    assert client.get("/api/settings").json()["ev"] == 0.0
    assert client.post("/api/settings", json={"colour": 1}).status_code == 400
    # Values of the wrong type: one line naming the setting, never a server error.
    for bad in ({"iso": "fast"}, {"ev": [1]}, {"bits": 12.5}, {"crop": "big"}, {"crop": [1]},
                {"drive": 3}, {"drive": {"mode": "burst", "count": "many"}}, {"focus_m": "near"},
                {"wb": {"k": 1}}, {"module": 7}):  # fmt: skip
        r = client.post("/api/settings", json=bad)
        assert r.status_code == 400 and "\n" not in r.json()["error"], (bad, r.text)
    for bad in ({"lens": "summicron-m-50", "code_read": "x"}, {"f_number": "wide"},
                {"manual_lens": 5}, {"lens": "no-such-lens"}):  # fmt: skip
        r = client.post("/api/lens", json=bad)
        assert r.status_code == 400, (bad, r.text)
    r = client.post("/api/scene", json={"name": "chart:flat", "luminance_cd_m2": "bright"})
    assert r.status_code == 400
    assert client.get("/api/settings").json()["iso"] == 800  # as set above


def test_lens_detection_states(client, service):
    client.post("/api/settings", json={"module": "m"})
    coded = client.post("/api/lens", json={"lens": "summicron-m-50"}).json()
    assert coded["identification"]["detection_state"] == "coded"
    assert coded["focal_35mm_mm"] == pytest.approx(
        50 * service.camera.module("m").sensor.crop_factor, abs=0.1
    )
    assert coded["attached"]["stops"][0] == 2.0
    uncoded = client.post("/api/lens", json={"lens": "summicron-m-50", "code_read": 0}).json()
    assert uncoded["identification"]["detection_state"] == "uncoded"
    # An uncoded lens with no manual choice: the press is refused in one line, nothing written.
    refused = client.post("/api/capture")
    assert refused.status_code == 400 and "uncoded" in refused.json()["error"]
    assert files_in(service.captures) == set()
    manual = client.post("/api/lens", json={"manual_lens": "summicron-m-50"}).json()
    assert manual["identification"]["identified_by"] == "manual"
    infinity = client.post("/api/lens", json={"focus_m": "inf"}).json()
    assert infinity["rings"]["focus_m"] is None and infinity["depth_of_field"]["far_m"] is None
    rings = client.post("/api/lens", json={"f_number": 4, "focus_m": 3}).json()
    dof = rings["depth_of_field"]
    assert rings["rings"]["f_number"] == 4 and dof["near_m"] < 3 < dof["far_m"]
    assert client.post("/api/lens", json={"f_number": 1.4}).status_code == 400


def test_capture_is_on_disk_when_acknowledged_and_a_restart_lists_it(client, service, tmp_path):
    client.post("/api/settings", json={"format": "raw+jpeg"})
    r = client.post("/api/capture")
    assert r.status_code == 200, r.text
    files = r.json()["files"]
    assert [f.rsplit(".", 1)[1] for f in files] == ["dng", "jpg"]
    for name in files:
        assert (service.captures / name).stat().st_size > 0
    info = read_dng(service.captures / files[0])
    assert tuple(info.default_crop_size) <= (256, 192)
    listed = client.get("/api/captures").json()
    assert [c["name"] for c in listed] == [files[0]] and listed[0]["jpegs"] == [files[1]]
    assert listed[0]["exif"]["iso"] == info.iso
    assert client.get(f"/captures/{files[0]}").content == (service.captures / files[0]).read_bytes()
    assert client.get(f"/captures/{files[0]}/thumbnail").headers["content-type"] == "image/jpeg"

    # A restart: a new service on the same folder lists it, its gallery record rebuilt from
    # the DNG when lost.
    for p in (service.captures / ".gallery").iterdir():
        p.unlink()
    again = CameraService(Camera(SimulatedBackend("chart:flat")), service.captures)
    try:
        names = [c["name"] for c in again.captures_list()]
        assert names == [files[0]]
        assert again.capture_record(files[0])["exif"]["iso"] == info.iso
    finally:
        again.close()

    deleted = client.request("DELETE", f"/captures/{files[0]}", headers=SAME_ORIGIN)
    assert deleted.status_code == 200 and set(deleted.json()["deleted"]) == set(files)
    assert not any(p.suffix in (".dng", ".jpg") for p in service.captures.iterdir())


def test_autofocus_now_and_at_each_shot(client, service):
    """The main module's contrast AF through the app: "AF now" says where the lens ended;
    in focus mode auto each press focuses first and the answer and the gallery say so; an M
    lens focuses by its ring."""
    assert client.post("/api/scene", json={"name": "sample:motorcycle"}).status_code == 200
    now = client.post("/api/autofocus").json()
    assert now["in_focus"] and 1.0 < now["focus_m"] < 5.0 and now["reason"] == ""
    assert now["point"] == [0.5, 0.5]
    # The page draws the AF region at its size in the field (192 × 192 of 4096 × 3072).
    region = client.get("/api/status").json()["choices"]["af_region"]
    assert region == pytest.approx([192 / 4096, 192 / 3072])
    assert client.get("/api/settings").json()["focus_m"] == pytest.approx(now["focus_m"])
    client.post("/api/settings", json={"focus_mode": "manual", "focus_m": 0.2})
    client.post("/api/settings", json={"focus_mode": "auto"})
    r = client.post("/api/capture")
    assert r.status_code == 200, r.text
    af = r.json()["autofocus"]
    assert af["in_focus"] and af["focus_m"] == pytest.approx(now["focus_m"], rel=0.1)
    record = client.get("/api/captures").json()[-1]
    assert record["autofocus"] == af
    client.post("/api/settings", json={"focus_mode": "manual"})
    assert client.post("/api/capture").json()["autofocus"] is None
    # The AF point: set:portrait's wall left of the head has no contrast; an eye is the
    # subject at 1.5 m.
    client.post("/api/scene", json={"name": "set:portrait"})
    assert client.post("/api/settings", json={"af_point": [0.15, 0.5]}).status_code == 200
    assert not client.post("/api/autofocus").json()["in_focus"]
    assert client.post("/api/settings", json={"af_point": [0.484, 0.488]}).status_code == 200
    assert client.get("/api/settings").json()["af_point"] == [0.484, 0.488]
    eye = client.post("/api/autofocus").json()
    assert eye["in_focus"] and 1.2 < eye["focus_m"] < 1.9
    assert eye["point"] == [0.484, 0.488]
    bad = client.post("/api/settings", json={"af_point": [2, 0.5]})
    assert bad.status_code == 400 and "AF point" in bad.json()["error"]
    assert client.get("/api/settings").json()["af_point"] == [0.484, 0.488]
    service.camera.attach_lens("summicron-m-50")
    client.post("/api/settings", json={"module": "m"})
    refused = client.post("/api/autofocus")
    assert refused.status_code == 400 and "main module" in refused.json()["error"]


def test_a_replayed_camera_serves_too(client, service, tmp_path):
    from mountcam import ReplayBackend

    for _ in range(2):
        assert client.post("/api/capture").status_code == 200
    replay = CameraService(
        Camera(ReplayBackend(service.captures)), tmp_path / "replayed", preview_size=(128, 96)
    )
    try:
        app = create_app(replay, port=8000)
        with TestClient(app, base_url=f"http://{HOST}") as c:
            status = c.get("/api/status").json()
            assert status["modules"] == ["main"] and status["lens"]["attached"] is None
            assert c.get("/api/scenes").json()["builtin"] == []
            assert c.post("/api/scene", json={"name": "chart:flat"}).status_code == 409
            r = c.post("/api/capture")
            assert r.status_code == 200, r.text
            assert (replay.captures / r.json()["files"][0]).is_file()
    finally:
        replay.close()


def test_one_capture_at_a_time(client, service):
    client.post("/api/settings", json={"drive": {"timer_s": 2}})
    first: dict = {}
    t = threading.Thread(target=lambda: first.update(r=client.post("/api/capture")))
    t.start()
    deadline = time.monotonic() + 10
    while client.get("/api/status").json()["progress"] is None and time.monotonic() < deadline:
        time.sleep(0.02)
    progress = client.get("/api/status").json()["progress"]
    assert progress is not None and progress["phase"] == "timer"
    second = client.post("/api/capture")
    assert second.status_code == 409 and "already" in second.json()["error"]
    t.join(timeout=60)
    assert first["r"].status_code == 200
    assert [p.name for p in service.captures.glob("*.dng")] == first["r"].json()["files"]


def test_a_still_live_view_readies_the_capture(client, service):
    """While the live view shows a still scene the capture's light is rendered beforehand
    (status says when it is ready): the press then renders no optical image. A new scene is
    not ready until it too has stood still."""
    twin = service.camera.backend
    client.post("/api/scene", json={"name": "chart:siemens-star"})
    assert not client.get("/api/status").json()["live"]["capture_ready"]
    with client.websocket_connect("/api/live", headers={"host": HOST}) as ws:
        ws.send_json({"aids": ["raw-histogram"]})
        deadline = time.monotonic() + 60
        while not client.get("/api/status").json()["live"]["capture_ready"]:
            assert time.monotonic() < deadline, "the capture was never readied"
            if json.loads(ws.receive_text())["type"] == "frame":
                ws.receive_bytes()
    renders = twin.optics_renders
    assert client.post("/api/capture").status_code == 200
    assert twin.optics_renders == renders
    client.post("/api/scene", json={"name": "chart:colorchecker"})
    assert not client.get("/api/status").json()["live"]["capture_ready"]


def test_no_prepare_leaves_the_capture_to_the_press(tmp_path):
    """``prepare=False`` (``mountcam serve --no-prepare``): the live view runs, nothing renders
    the capture's light before the press."""
    camera = Camera(SimulatedBackend("chart:colorchecker", seed=1))
    camera.configure(crop=(256, 192))
    svc = CameraService(camera, tmp_path / "c", preview_size=(128, 96), max_fps=10, prepare=False)
    try:
        app = create_app(svc, port=8000)
        with TestClient(app, base_url=f"http://{HOST}") as c:
            with c.websocket_connect("/api/live", headers={"host": HOST}) as ws:
                ws.send_json({"aids": ["raw-histogram"]})
                start = time.monotonic()
                while time.monotonic() - start < 1.5:  # three times PREPARE_AFTER_S
                    if json.loads(ws.receive_text())["type"] == "frame":
                        ws.receive_bytes()
                assert not c.get("/api/status").json()["live"]["capture_ready"]
            renders = camera.backend.optics_renders
            assert c.post("/api/capture").status_code == 200
            assert camera.backend.optics_renders > renders
    finally:
        svc.close()


def test_live_stream_and_magnifier(client):
    with client.websocket_connect("/api/live", headers={"host": HOST}) as ws:
        ws.send_json({"aids": ["raw-histogram", "peaking", "waveform"]})
        for _ in range(30):
            info = json.loads(ws.receive_text())
            if info["type"] == "frame":
                jpeg = ws.receive_bytes()
                if "peaking" in info:
                    break
        # The 128x96 readout, developed to its default crop inside the demosaic margins.
        w, h = info["size"]
        assert 96 <= w <= 128 and 64 <= h <= 96 and {"R", "G", "B"} <= set(info["raw_histogram"])
        assert len(info["peaking"]["grid"]) == 6 and info["waveform"]["height"] == 64
        assert Image.open(io.BytesIO(jpeg)).size == (w, h)
        # Which part of the field that is: the readout less the 8 px margin on every side.
        assert info["field"] == pytest.approx([8 / 128, 8 / 96, (128 - 16) / 128, (96 - 16) / 96])
    m = client.get("/api/magnifier", params={"x": 0.5, "y": 0.5, "zoom": 2})
    assert m.status_code == 200 and Image.open(io.BytesIO(m.content)).size == (512, 384)
    assert client.get("/api/magnifier", params={"x": 0.5, "y": 0.5, "zoom": 3}).status_code == 400
    assert client.get("/api/magnifier", params={"x": 1.5, "y": 0.5}).status_code == 422


def test_scene_upload_with_depth(client, service):
    depth = io.BytesIO()
    np.save(depth, np.full((48, 64), 2.5, np.float32))
    r = client.post(
        "/api/scene/upload",
        files={
            "image": ("my photo.png", png_bytes(64, 48), "image/png"),
            "depth": ("depth.npy", depth.getvalue(), "application/octet-stream"),
        },
        data={"hfov_deg": "40", "luminance_cd_m2": "500"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["current"] == "upload:my photo.png"
    assert (
        client.post("/api/scene", json={"name": "chart:gray-ramp"}).json()["current"]
        == "chart:gray-ramp"
    )
    assert client.post("/api/scene", json={"name": "../../etc/passwd"}).status_code == 400


# ---- safety ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "..%2Fsecret.txt",  # encoded
        "%2e%2e%2fsecret.txt",
        "..%252Fsecret.txt",  # double-encoded
        "%252e%252e%252fsecret.txt",
        "..%5Csecret.txt",  # a backslash
        "%2Fetc%2Fpasswd",  # absolute
        "MTC_0001.dng%00.txt",
        "MTC_0001.dng%2F..%2F..%2Fsecret.txt",
    ],
)
def test_traversal_is_refused(client, service, tmp_path, name):
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret")
    service.captures.joinpath("MTC_0001.dng").write_bytes(b"not touched")
    before = files_in(tmp_path)
    for method, path in [
        ("GET", f"/captures/{name}"),
        ("GET", f"/captures/{name}/thumbnail"),
        ("GET", f"/api/captures/{name}"),
        ("DELETE", f"/captures/{name}"),
    ]:
        r = client.request(method, path)
        assert r.status_code in (400, 404, 405), (method, path, r.status_code)
        assert b"the secret" not in r.content and b"root:" not in r.content
    assert files_in(tmp_path) == before and secret.read_text() == "the secret"


def test_symlink_escape_is_refused(client, service, tmp_path):
    secret = tmp_path / "secret.dng"
    secret.write_text("the secret")
    link = service.captures / "MTC_0042.dng"
    link.symlink_to(secret)
    assert client.get("/captures/MTC_0042.dng").status_code == 404
    assert client.get("/captures/MTC_0042.dng/thumbnail").status_code == 404
    assert client.request("DELETE", "/captures/MTC_0042.dng").status_code == 404
    assert client.get("/api/captures").json() == []
    assert link.is_symlink() and secret.read_text() == "the secret"
    assert not (service.captures / ".gallery").exists()


def test_non_loopback_bind_needs_a_token():
    code, _, err = run_cli("serve", "--host", "0.0.0.0", "--port", "1")
    assert code == 2 and "token" in err and "Traceback" not in err
    code, _, err = run_cli("serve", "--host", "192.168.1.20", "--token", "short", "--port", "1")
    assert code == 2 and "at least 8" in err
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.20", "camera.local"))


def test_token(service):
    app = create_app(service, token="correct-horse")
    with TestClient(app, base_url="http://192.168.1.20:8000") as c:
        assert c.get("/api/status").status_code == 401
        assert c.post("/api/capture").status_code == 401
        assert (
            c.get("/api/status", headers={"Authorization": "Bearer wrong-horse"}).status_code == 401
        )
        assert (
            c.get("/api/status", headers={"Authorization": "Bearer correct-horse"}).status_code
            == 200
        )
        # Opening the address with ?token= trades it for a cookie and drops it from the address.
        r = c.get("/?token=correct-horse", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert "httponly" in r.headers["set-cookie"].lower()
        assert c.get("/api/status").status_code == 200
    assert files_in(service.captures) == set()


def test_cross_origin_state_changes_are_refused(client, service):
    client.post("/api/capture")
    (name,) = [p.name for p in service.captures.glob("*.dng")]
    before = files_in(service.captures)
    settings = client.get("/api/settings").json()
    for method, path, kwargs in [
        ("POST", "/api/capture", {}),
        ("POST", "/api/settings", {"json": {"program": "M"}}),
        ("POST", "/api/lens", {"json": {"lens": "summicron-m-50"}}),
        ("POST", "/api/scene", {"json": {"name": "chart:flat"}}),
        ("POST", "/api/scene/upload", {"files": {"image": ("a.png", png_bytes(32, 24))}}),
        ("DELETE", f"/captures/{name}", {}),
    ]:
        for origin in (FOREIGN, {"Origin": "null"}, {"Origin": "http://127.0.0.1:9999"}):
            r = client.request(method, path, headers=origin, **kwargs)
            assert r.status_code == 403, (method, path, origin, r.status_code)
    assert files_in(service.captures) == before
    assert client.get("/api/settings").json() == settings
    assert client.get("/api/lens").json()["module"] == "main"
    assert service.scene_name == "chart:colorchecker"
    assert list(service.upload_folder().iterdir()) == []
    # A page from another site may not watch either; DNS rebinding (a foreign Host) neither.
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/api/live", headers={"host": HOST, **FOREIGN}) as ws,
    ):
        ws.receive_text()
    assert client.get("/api/status", headers={"Host": "evil.example:8000"}).status_code == 421
    # The app's own page and a script (no Origin) may.
    assert client.post("/api/settings", json={"ev": 1}, headers=SAME_ORIGIN).status_code == 200
    assert client.post("/api/settings", json={"ev": 0}).status_code == 200


def test_oversize_upload_is_refused(client, service):
    big = png_bytes(1200, 800)  # ~2.9 MB of noise: over the 1 MiB limit, under the body cap
    assert len(big) > UPLOAD_LIMIT
    r = client.post("/api/scene/upload", files={"image": ("big.png", big, "image/png")})
    assert r.status_code == 413 and "larger than" in r.json()["error"]
    huge = client.post(
        "/api/scene/upload",
        content=b"x" * (4 * UPLOAD_LIMIT),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert huge.status_code == 413
    assert list(service.upload_folder().iterdir()) == []
    assert service.scene_name == "chart:colorchecker"


def test_decompression_bomb_is_refused_before_decoding(client, service):
    bomb = png_bomb(20_000)  # 400 Mpx in ~60 kB
    assert len(bomb) < UPLOAD_LIMIT
    t = time.perf_counter()
    r = client.post("/api/scene/upload", files={"image": ("bomb.png", bomb, "image/png")})
    assert r.status_code == 413 and "20000x20000" in r.json()["error"]
    assert time.perf_counter() - t < 5  # refused from the header, never decoded
    assert list(service.upload_folder().iterdir()) == []
    assert service.scene_name == "chart:colorchecker"
    # The same for a depth map beside a good picture.
    r = client.post(
        "/api/scene/upload",
        files={"image": ("ok.png", png_bytes(64, 48)), "depth": ("d.png", bomb)},
    )
    assert r.status_code == 413
    assert list(service.upload_folder().iterdir()) == []
    assert service.scene_name == "chart:colorchecker"
