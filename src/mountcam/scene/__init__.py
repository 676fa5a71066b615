"""Scenes: linear-light radiance with an absolute scale, charts, image files and samples.

Start with :func:`load_scene` (``"chart:colorchecker"``, ``"sample:motorcycle"``, a file path);
the sensor turns a rendered sample into per-channel signal with :func:`channel_signal`.
"""

from mountcam.scene.charts import (
    ColorChecker,
    FlatField,
    GrayRamp,
    SiemensStar,
    SlantedEdge,
    colorchecker_patch_boxes,
    colorchecker_patch_centres,
    colorchecker_spectra,
)
from mountcam.scene.illuminants import illuminant, illuminant_names
from mountcam.scene.loaders import ImageContent, load_depth, load_image_content, read_linear_rgb
from mountcam.scene.scene import (
    Illuminant,
    PaletteSample,
    RgbSample,
    Scene,
    SceneContent,
    SceneSample,
    ViewGrid,
)
from mountcam.scene.scene_catalogue import DEFAULT_WHITE_LUMINANCE_CD_M2, list_scenes, load_scene
from mountcam.scene.spectral import (
    RgbLut,
    apply_lut,
    apply_lut_mosaic,
    channel_signal,
    integrate_lut,
    palette_signal,
    palette_signal_mosaic,
    reflectance_spectra_lut,
    reflectance_spectrum,
)

__all__ = [
    "DEFAULT_WHITE_LUMINANCE_CD_M2",
    "ColorChecker",
    "FlatField",
    "GrayRamp",
    "Illuminant",
    "ImageContent",
    "PaletteSample",
    "RgbLut",
    "RgbSample",
    "Scene",
    "SceneContent",
    "SceneSample",
    "SiemensStar",
    "SlantedEdge",
    "ViewGrid",
    "apply_lut",
    "apply_lut_mosaic",
    "channel_signal",
    "colorchecker_patch_boxes",
    "colorchecker_patch_centres",
    "colorchecker_spectra",
    "illuminant",
    "illuminant_names",
    "integrate_lut",
    "list_scenes",
    "load_depth",
    "load_image_content",
    "load_scene",
    "palette_signal",
    "palette_signal_mosaic",
    "read_linear_rgb",
    "reflectance_spectra_lut",
    "reflectance_spectrum",
]
