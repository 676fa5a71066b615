"""develop: the RAW development pipeline (DNG or RawFrame -> Image -> JPEG/TIFF/PNG).

- :func:`develop` (:mod:`.pipeline`): the pipeline; :class:`DevelopSettings` (:mod:`.settings`);
  :class:`Image` (:mod:`.image`).
- :func:`save_image` (:mod:`.output`): encoders with EXIF and ICC profile.
- Stages: :mod:`.colour` (DNG colour model), :mod:`.white_balance`, :mod:`.highlights`,
  :mod:`.demosaic`, :mod:`.denoise`, :mod:`.lens_correction`, :mod:`.tone`, :mod:`.looks`,
  :mod:`.sharpen`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from mountcam.develop.settings import DevelopSettings

if TYPE_CHECKING:
    from mountcam.develop.image import Image
    from mountcam.develop.output import save_image
    from mountcam.develop.pipeline import develop

__all__ = ["DevelopSettings", "Image", "develop", "save_image"]


#: Where each name loaded on first use lives: the pipeline pulls in numba and its kernels, the
#: encoders Pillow/imagecodecs. A command that only needs the settings (the client of
#: `develop --cluster`, which hands the pictures to workers) starts without them.
_HOMES = {"develop": "pipeline", "Image": "image", "save_image": "output"}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f"mountcam.develop.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'mountcam.develop' has no attribute {name!r}")
