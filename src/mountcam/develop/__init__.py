"""develop: the RAW development pipeline (DNG or RawFrame -> Image -> JPEG/TIFF/PNG).

- :func:`develop` (:mod:`.pipeline`): the pipeline; :class:`DevelopSettings` (:mod:`.settings`);
  :class:`Image` (:mod:`.image`).
- :func:`save_image` (:mod:`.output`): encoders with EXIF and ICC profile.
- Stages: :mod:`.colour` (DNG colour model), :mod:`.white_balance`, :mod:`.highlights`,
  :mod:`.demosaic`, :mod:`.denoise`, :mod:`.lens_correction`, :mod:`.tone`, :mod:`.looks`,
  :mod:`.sharpen`.
"""

from mountcam.develop.image import Image
from mountcam.develop.pipeline import develop
from mountcam.develop.settings import DevelopSettings

__all__ = ["DevelopSettings", "Image", "develop", "save_image"]


def __getattr__(name: str):
    # The encoders pull in Pillow/imagecodecs; load them only when asked for.
    if name == "save_image":
        from mountcam.develop.output import save_image

        return save_image
    raise AttributeError(f"module 'mountcam.develop' has no attribute {name!r}")
