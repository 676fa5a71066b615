"""The camera app: ``mountcam serve`` gives the camera's screen in a browser.

- :mod:`.service`: :class:`~.service.CameraService`, the one object that owns the camera, its
  lock, the live stream, captures and the gallery;
- :mod:`.server`: the FastAPI app (HTTP API, WebSocket live view, the page), a thin adapter;
- :mod:`.safety`: binding, tokens, origins, file names and upload limits;
- :mod:`.serve_cli`: the ``serve`` command;
- ``static/``: the page (plain HTML, CSS and JavaScript, no build step).
"""
