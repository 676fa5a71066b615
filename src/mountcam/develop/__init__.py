"""develop: the RAW development pipeline (DNG or RawFrame -> Image -> JPEG/TIFF/PNG).

- :func:`develop` (:mod:`.pipeline`): the pipeline; :class:`DevelopSettings` (:mod:`.settings`);
  :class:`Image` (:mod:`.image`).
- :func:`save_image` (:mod:`.output`): encoders with EXIF and ICC profile.
- Stages: :mod:`.colour` (DNG colour model), :mod:`.white_balance`, :mod:`.highlights`,
  :mod:`.demosaic`, :mod:`.denoise`, :mod:`.lens_correction`, :mod:`.tone`, :mod:`.looks`,
  :mod:`.sharpen`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mountcam.develop.settings import DevelopSettings

if TYPE_CHECKING:
    from mountcam.develop.image import Image
    from mountcam.develop.output import save_image
    from mountcam.develop.pipeline import develop

__all__ = ["DevelopSettings", "Image", "develop", "save_image"]


def __getattr__(name: str):
    # Loaded when first asked for: the pipeline pulls in numba and its kernels, the encoders
    # Pillow/imagecodecs. A command that only needs the settings (the client of
    # `develop --cluster`, which hands the pictures to workers) starts without them.
    if name == "develop":
        from mountcam.develop.pipeline import develop

        return develop
    if name == "Image":
        from mountcam.develop.image import Image

        return Image
    if name == "save_image":
        from mountcam.develop.output import save_image

        return save_image
    raise AttributeError(f"module 'mountcam.develop' has no attribute {name!r}")
