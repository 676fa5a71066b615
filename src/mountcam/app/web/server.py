"""The camera app's HTTP API and page (FastAPI): a thin adapter over :class:`CameraService`.

Every route maps a request to one service call; the guards of :mod:`.safety` run first, in
:class:`Guard` (an ASGI middleware, so they cover the page, the API, the downloads and the
WebSocket alike). FastAPI documents the API at ``/docs`` (OpenAPI at ``/openapi.json``).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import FastAPI, File, Form, Query, Request, UploadFile, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.websockets import WebSocketDisconnect

from mountcam import __version__
from mountcam.app.web.safety import (
    DEPTH_SUFFIXES,
    IMAGE_SUFFIXES,
    MAX_UPLOAD_BYTES,
    Refused,
    capture_path,
    check_dimensions,
    loopback_hosts,
    open_capture,
    origin_allowed,
    token_matches,
    upload_suffix,
)
from mountcam.app.web.service import VIEW_AIDS, CameraService, Viewer
from mountcam.errors import MountcamError

STATIC = Path(__file__).with_name("static")
TOKEN_COOKIE = "mountcam_token"
#: Methods that change something (a GET never does here).
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def max_body_bytes(max_upload_bytes: int) -> int:
    """The largest request body: two upload files and the form around them."""
    return 2 * max_upload_bytes + 2**20


class Guard:
    """ASGI middleware: token, Host (loopback only), Origin (state changes and the live
    stream) and body size, each refused with one line before the app sees the request."""

    def __init__(
        self,
        app,
        *,
        token: str | None,
        allowed_hosts: frozenset[str] | None,
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.token = token
        self.allowed_hosts = allowed_hosts
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        why = self.refusal(scope, headers)
        if why is not None:
            status, message = why
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4403, "reason": message[:120]})
                return None
            return await _send_json(send, status, {"error": message})
        return await self.app(scope, receive, send)

    def refusal(self, scope, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host")
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return 421, f"this camera answers on {', '.join(sorted(self.allowed_hosts))} only"
        method = scope.get("method", "GET")
        if (scope["type"] == "websocket" or method in UNSAFE_METHODS) and not origin_allowed(
            headers.get("origin"), host
        ):
            return 403, "a request from another site may not use this camera"
        if self.token is not None and not self.authorised(scope, headers):
            return 401, "this camera needs its access token (open the address with ?token=...)"
        if scope["type"] == "http" and method in UNSAFE_METHODS:
            length = headers.get("content-length")
            if length is None and headers.get("transfer-encoding"):
                return 411, "send the upload with a Content-Length"
            if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                return 413, f"the request is larger than {self.max_body_bytes / 2**20:.0f} MiB"
        return None

    def authorised(self, scope, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer ") and token_matches(auth[7:], self.token):
            return True
        cookie = SimpleCookie(headers.get("cookie", ""))
        if TOKEN_COOKIE in cookie and token_matches(cookie[TOKEN_COOKIE].value, self.token):
            return True
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return token_matches((query.get("token") or [None])[0], self.token)


async def _send_json(send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(data)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def create_app(
    service: CameraService,
    *,
    token: str | None = None,
    allowed_hosts: frozenset[str] | None = None,
    port: int = 8000,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
) -> FastAPI:
    """The app. ``allowed_hosts``: the ``Host`` values accepted (default: loopback names on
    ``port``; with a ``token`` any Host, since the token is what admits a client).
    ``max_upload_bytes``: the largest uploaded file (a scene picture, a depth map)."""
    if allowed_hosts is None and token is None:
        allowed_hosts = loopback_hosts(port)
    app = FastAPI(
        title="mountcam camera app",
        version=__version__,
        description="The camera's screen in a browser: live view with aids, the M lens, "
        "exposure, drive, capture and gallery. Every state change needs the app's own "
        "Origin (or none, from a script).",
    )
    app.state.service = service

    @app.exception_handler(MountcamError)
    async def _mountcam_error(request: Request, exc: MountcamError):
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    # ---- the page --------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def index(token_: str | None = Query(None, alias="token")):
        if token is not None and token_ is not None:
            # Trade the address's token for a cookie, so it leaves the address bar.
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(TOKEN_COOKIE, token_, httponly=True, samesite="strict")
            return response
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ---- status and settings ---------------------------------------------------------------
    @app.get(
        "/api/status", summary="The camera's state: module, settings, lens, live view, capture"
    )
    def status() -> dict:
        return service.status() | {"version": __version__, "token_required": token is not None}

    @app.get("/api/settings", summary="Exposure, white balance, focus, drive, look, format")
    def get_settings() -> dict:
        return service.settings()

    @app.post(
        "/api/settings",
        summary="Change settings (any subset of GET /api/settings' keys; all or nothing)",
    )
    def post_settings(changes: dict) -> dict:
        return service.update_settings(changes)

    @app.post("/api/autofocus", summary="Contrast-detect autofocus (main module)")
    def autofocus() -> dict:
        return service.autofocus()

    # ---- the lens ----------------------------------------------------------------------------
    @app.get("/api/lenses", summary="The M lens catalogue, filtered by words of q")
    def lenses(q: str = "") -> list[dict]:
        return service.lenses(q)

    @app.get("/api/lens", summary="The selected module's lens, rings and depth of field")
    def get_lens() -> dict:
        return service.lens_status()

    @app.post(
        "/api/lens",
        summary="Mount (lens: id) or remove (lens: null) an M lens, set lens detection "
        "(detection, manual_lens), turn its rings (f_number, focus_m, focal_mm)",
    )
    def post_lens(changes: dict) -> dict:
        return service.update_lens(changes)

    # ---- capture and gallery -------------------------------------------------------------------
    @app.post(
        "/api/capture",
        summary="Press the shutter; answers {files: [...]} once every file is on disk",
        responses={409: {"description": "a capture is already running"}},
    )
    def capture() -> dict:
        return service.capture()

    @app.get("/api/captures", summary="Every capture on disk, oldest first, with EXIF")
    def captures() -> list[dict]:
        return service.captures_list()

    @app.get("/api/captures/{name}", summary="One capture's EXIF, raw histogram, estimate")
    def capture_record(name: str) -> dict:
        return service.capture_record(name)

    @app.get("/captures/{name}", summary="Download a capture (DNG or JPEG)")
    def download(name: str):
        path = capture_path(service.captures, name)
        media = "image/x-adobe-dng" if path.suffix == ".dng" else "image/jpeg"
        with open_capture(path) as f:
            data = f.read()
        return Response(
            data,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{path.name}"'},
        )

    @app.get("/captures/{name}/thumbnail", summary="A capture's thumbnail (JPEG)")
    def thumbnail(name: str):
        return FileResponse(service.thumbnail(name), media_type="image/jpeg")

    @app.delete("/captures/{name}", summary="Delete a capture (a DNG with its JPEGs)")
    def delete(name: str) -> dict:
        return {"deleted": service.delete(name)}

    # ---- scenes ----------------------------------------------------------------------------
    @app.get("/api/scenes", summary="The scene in front of the simulated camera, and the built-ins")
    def scenes() -> dict:
        return service.scenes()

    @app.post("/api/scene", summary="Choose a built-in scene (name, luminance_cd_m2, illuminant)")
    def set_scene(body: dict) -> dict:
        unknown = set(body) - {"name", "luminance_cd_m2", "illuminant", "hfov_deg"}
        if unknown or "name" not in body:
            raise Refused(400, "a scene is {name, luminance_cd_m2?, illuminant?, hfov_deg?}")
        return service.set_scene(
            str(body["name"]),
            luminance_cd_m2=_float_or_none(body.get("luminance_cd_m2")),
            hfov_deg=_float_or_none(body.get("hfov_deg")),
            illuminant=str(body.get("illuminant") or "D65"),
        )

    @app.post(
        "/api/scene/upload",
        summary="Upload a picture (PNG, JPEG, TIFF, EXR) as the scene, with an optional depth "
        "map (.npy metres, 16-bit PNG mm, float TIFF m), its field of view and light level",
    )
    def upload_scene(
        image: Annotated[UploadFile, File()],
        depth: Annotated[UploadFile | None, File()] = None,
        hfov_deg: Annotated[float | None, Form()] = None,
        luminance_cd_m2: Annotated[float | None, Form()] = None,
        illuminant: Annotated[str, Form()] = "D65",
    ) -> dict:
        folder = service.upload_folder()
        kept: list[Path] = []
        try:
            image_path = _receive(
                image, folder, IMAGE_SUFFIXES, "the picture", kept, max_upload_bytes
            )
            check_dimensions(image_path)
            depth_path = None
            if depth is not None and depth.filename:
                depth_path = _receive(
                    depth, folder, DEPTH_SUFFIXES, "the depth map", kept, max_upload_bytes
                )
                check_dimensions(depth_path)
            label = "upload:" + re.sub(r"[^\w.\- ]", "_", Path(image.filename or "").name)[:80]
            result = service.set_scene(
                str(image_path),
                luminance_cd_m2=luminance_cd_m2,
                hfov_deg=hfov_deg,
                illuminant=illuminant,
                depth_path=depth_path,
                label=label,
            )
        except BaseException:
            for p in kept:
                p.unlink(missing_ok=True)
            raise
        for p in folder.iterdir():  # the scene is loaded: earlier uploads are not needed
            if p not in kept:
                p.unlink(missing_ok=True)
        return result

    # ---- live view -------------------------------------------------------------------------
    @app.get("/api/magnifier", summary="The magnifier: 1:1 or 2:1 of the full readout at x, y")
    def magnifier(
        x: float = Query(..., ge=0, le=1), y: float = Query(..., ge=0, le=1), zoom: int = 1
    ):
        return Response(service.magnifier_jpeg((x, y), zoom), media_type="image/jpeg")

    @app.websocket("/api/live")
    async def live(ws: WebSocket):
        """The live view: the client sends {aids: [...], peaking_colour, zebra_over}; the
        server sends, per frame, a JSON text message then the JPEG as a binary message."""
        await ws.accept()
        viewer = Viewer()
        key = service.add_viewer(viewer)
        reader = asyncio.create_task(_read_viewer(ws, viewer))
        last = 0
        try:
            while not reader.done():
                pub = await run_in_threadpool(service.wait_frame, last, 1.0)
                if pub is None:
                    await ws.send_text(
                        json.dumps(
                            {
                                "type": "status",
                                "error": service.live_error,
                                "progress": service.progress,
                            }
                        )
                    )
                    continue
                jpeg = await run_in_threadpool(service.frame_jpeg, pub, viewer)
                info = {k: v for k, v in pub.info.items() if _wanted(k, viewer)}
                await ws.send_text(
                    json.dumps({"type": "frame", **info, "progress": service.progress})
                )
                await ws.send_bytes(jpeg)
                last = pub.index
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            reader.cancel()
            service.remove_viewer(key)

    return Guard(  # type: ignore[return-value]
        app,
        token=token,
        allowed_hosts=allowed_hosts,
        max_body_bytes=max_body_bytes(max_upload_bytes),
    )


_AID_OF_KEY = {
    "raw_histogram": "raw-histogram",
    "histogram": "histogram",
    "waveform": "waveform",
    "peaking": "peaking",
    "zebra_over_fraction": "zebra",
}


def _wanted(key: str, viewer: Viewer) -> bool:
    aid = _AID_OF_KEY.get(key)
    return aid is None or aid in viewer.aids


async def _read_viewer(ws: WebSocket, viewer: Viewer) -> None:
    """Apply what the client asks to see; ends when it goes away."""
    from mountcam.assist import PEAKING_COLOURS

    while True:
        try:
            message = await ws.receive_json()
        except (WebSocketDisconnect, RuntimeError, ValueError):
            return
        if not isinstance(message, dict):
            continue
        aids = message.get("aids")
        if isinstance(aids, list):
            viewer.aids = frozenset(str(a) for a in aids) & frozenset(VIEW_AIDS)
        colour = message.get("peaking_colour")
        if colour in PEAKING_COLOURS:
            viewer.peaking_colour = colour
        over = message.get("zebra_over")
        if isinstance(over, int | float) and 0 <= over <= 255:
            viewer.zebra_over = float(over)


def _receive(
    upload: UploadFile, folder: Path, suffixes, what: str, kept: list[Path], limit: int
) -> Path:
    """Copy an upload to a name of our choosing (never the client's), at most ``limit``
    bytes."""
    suffix = upload_suffix(upload.filename, suffixes, what)
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    kept.append(path)
    with open(path, "xb") as out:
        copied = 0
        while chunk := upload.file.read(1 << 20):
            copied += len(chunk)
            if copied > limit:
                raise Refused(413, f"{what} is larger than {limit / 2**20:.0f} MiB")
            out.write(chunk)
    if copied == 0:
        raise Refused(400, f"{what} is empty")
    return path


def _float_or_none(v) -> float | None:
    if v in (None, ""):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise Refused(400, f"{v!r} is not a number") from None
