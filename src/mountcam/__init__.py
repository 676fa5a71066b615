"""mountcam: a two-module 1-inch phone camera, its physically based twin, DNG and RAW development.

See ``ARCHITECTURE.md`` (shared) for the map: scene -> optics -> sensor -> RawFrame -> dng -> develop.

The camera you can script (docs/camera-api.md)::

    from mountcam import Camera, SimulatedBackend
    camera = Camera(SimulatedBackend("chart:colorchecker"))
    frame = camera.capture()

``Camera``, ``Configuration``, ``Controls``, ``SimulatedBackend``, ``ReplayBackend``,
``write_dng`` and ``read_dng`` are importable from here; they load on first use, so
``import mountcam`` stays fast. (``develop`` is the subpackage ``mountcam.develop``; its
function is ``from mountcam.develop import develop``.)
"""

__version__ = "0.1.0"

_LAZY = {
    "Camera": "mountcam.body.camera",
    "Configuration": "mountcam.body.settings",
    "Controls": "mountcam.body.settings",
    "WhiteBalance": "mountcam.body.settings",
    "SimulatedBackend": "mountcam.body.backend",
    "ReplayBackend": "mountcam.body.replay",
    "RawFrame": "mountcam.sensor.rawframe",
    "TwinTruth": "mountcam.sensor.rawframe",
    "write_dng": "mountcam.dng.writer",
    "read_dng": "mountcam.dng.reader",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mountcam' has no attribute {name!r}")
