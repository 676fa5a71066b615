"""mountcam: a two-module 1-inch phone camera, its physically based twin, DNG and RAW development.

See ``ARCHITECTURE.md`` (shared) for the map: scene -> optics -> sensor -> RawFrame -> dng -> develop.
"""

__version__ = "0.1.0"
