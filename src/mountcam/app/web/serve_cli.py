"""``mountcam serve``: the camera app on this machine (loopback) or, with a token, a network."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

#: The scene the simulated camera starts on (a motorcycle in a workshop, with real depth).
DEFAULT_SCENE = "sample:motorcycle"


def make_camera(backend: str):
    """A camera on ``sim`` (the twin) or ``replay:DIR`` (a folder of DNGs)."""
    from mountcam import Camera, ReplayBackend, SimulatedBackend
    from mountcam.errors import InvalidSetting

    if backend == "sim":
        camera = Camera(SimulatedBackend(DEFAULT_SCENE))
        camera.backend.set_scene(default_scene(camera))
        return camera
    if backend.startswith("replay:") and backend[7:]:
        return Camera(ReplayBackend(Path(backend[7:])))
    raise InvalidSetting(f"backend '{backend}' does not exist; use sim or replay:FOLDER")


def default_scene(camera):
    """:data:`DEFAULT_SCENE` spread over the main module's whole field of view (its own field
    is narrower, which leaves the main module's frame mostly black and its meter fooled)."""
    import math

    from mountcam.scene import load_scene

    main = camera.module("main")
    hfov_deg = 2 * math.degrees(
        math.atan(main.sensor.width_m / 2 / (main.fixed_lens.focal_mm * 1e-3))
    )
    return load_scene(DEFAULT_SCENE, hfov_deg=hfov_deg)


def serve_command(
    host: Annotated[
        str, typer.Option(help="Address to listen on; other than loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    captures: Annotated[
        Path, typer.Option(help="Folder the captures are written to (and the gallery shows).")
    ] = Path("captures"),
    token: Annotated[
        str | None,
        typer.Option(help="Access token (at least 8 characters); open the page with ?token=..."),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="sim (the simulated camera) or replay:FOLDER (a folder of DNGs).")
    ] = "sim",
    preview: Annotated[
        str, typer.Option(help="Live view size WxH (4:3), the sensor's preview readout.")
    ] = "1024x768",
    max_fps: Annotated[float, typer.Option(min=1, max=120, help="Live view frame-rate cap.")] = 20,
    prepare: Annotated[
        bool,
        typer.Option(
            help="Render the capture's light while the live view stands still, so a press is "
            "only the readout and the DNG (more CPU while framing)."
        ),
    ] = True,
) -> None:
    """Serve the camera app: live view with aids, the M lens, exposure, drive, gallery."""
    import uvicorn

    from mountcam.app.web.safety import check_bind
    from mountcam.app.web.server import create_app
    from mountcam.app.web.service import CameraService
    from mountcam.body.backend import check_preview_size
    from mountcam.errors import MountcamError
    from mountcam.units import parse_crop

    try:
        check_bind(host, token)
        if captures.exists() and not captures.is_dir():
            raise MountcamError(f"--captures {captures} is a file, not a folder")
        camera = make_camera(backend)
        size = check_preview_size(camera.module().sensor, parse_crop(preview))
        service = CameraService(
            camera,
            captures,
            preview_size=size,
            max_fps=max_fps,
            backend_name=backend,
            prepare=prepare,
        )
    except MountcamError as e:
        err.print(f"[bold red]error:[/] {e}", soft_wrap=True)
        raise typer.Exit(2) from None
    app = create_app(service, token=token, port=port)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    out.print(
        f"mountcam camera app: [bold]{address}[/]  (captures in {captures.resolve()})",
        soft_wrap=True,
    )
    out.print("Ctrl+C stops it.")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", ws_max_size=1 << 16)
    finally:
        service.close()
