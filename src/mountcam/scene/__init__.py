"""Scenes: linear-light radiance with an absolute scale, charts, image files and samples."""

from mountcam.scene.scene import (
    Illuminant,
    PaletteSample,
    RgbSample,
    Scene,
    SceneContent,
    SceneSample,
    ViewGrid,
)

__all__ = [
    "Illuminant",
    "PaletteSample",
    "RgbSample",
    "Scene",
    "SceneContent",
    "SceneSample",
    "ViewGrid",
]
