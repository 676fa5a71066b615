"""Sample scenes from the images scikit-image ships in its wheel (no download, ever).

The files are read straight from ``skimage/data`` (scikit-image's fetchers could go to the
network for files that are not bundled; these are). All are 8-bit sRGB, read like any other
image file (:mod:`mountcam.scene.loaders`).

``Each sample has the horizontal field of view it was taken with (:data:`SAMPLES`: calibrated
for the motorcycle and the Deep Field, assumed from the picture's content for the others), so
that a lens frames it as it would frame the real thing: a 90 mm sees a small part of the
motorcycle, a 23 mm-equivalent main lens sees it whole with a surround beyond it
(:class:`~mountcam.scene.loaders.ImageContent`: mirrored, fading to its mean; never black).

``sample:motorcycle`` is the left view of the Middlebury 2014 "Motorcycle" stereo pair
(Scharstein et al., GCPR 2014), down-sampled 4× by scikit-image, with depth from its
ground-truth disparity and the calibration quoted in ``skimage.data.stereo_motorcycle``:
``Z = baseline · f / (d + doffs)`` with f = 994.978 px, baseline = 193.001 mm, doffs =
31.086 px. Pixels without ground truth (disparity inf or NaN) get NaN depth. Its natural
horizontal field of view is ``2 atan(W / 2f)`` (W = 741 px): about 40.9°. The principal point
is not at the image centre (311.2 px, not 370.5 px); scene content is centred on the axis, so
the view is that of a camera shifted by ~60 px, which is harmless for depth-of-field work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from mountcam.errors import SceneError
from mountcam.scene.loaders import ImageContent, read_linear_rgb

#: Middlebury 2014 Motorcycle calibration for the 4× down-sampled images (skimage docstring).
MOTORCYCLE_FOCAL_PX = 994.978
MOTORCYCLE_BASELINE_MM = 193.001
MOTORCYCLE_DOFFS_PX = 31.086


@dataclass(frozen=True)
class SampleInfo:
    """A bundled picture: its file, what it shows, the horizontal field of view it was taken
    with (degrees) and where that figure comes from (a calibration, or ``assumed`` with the
    reasoning and its range)."""

    file: str
    description: str
    hfov_deg: float
    hfov_source: str


#: Hubble eXtreme Deep Field: the field is 2.3 × 2.0 arcminutes (NASA/ESA, HubbleSite news
#: release STScI-2012-37, the image scikit-image ships).
XDF_HFOV_DEG = 2.3 / 60.0

SAMPLES: dict[str, SampleInfo] = {
    "astronaut": SampleInfo(
        "astronaut.png",
        "Eileen Collins, NASA portrait",
        17.0,
        "assumed (12-24°): a studio portrait; the frame spans about 0.9 m at the sitter "
        "(shoulders, helmet) from about 3 m",
    ),
    "camera": SampleInfo(
        "camera.png",
        "cameraman, grey",
        35.0,
        "assumed (28-45°): a man at a tripod about 3.5 m away, the frame about 2.2 m wide at him",
    ),
    "chelsea": SampleInfo(
        "chelsea.png",
        "Chelsea the cat",
        28.0,
        "assumed (20-40°): a cat's face, the frame about 0.25 m wide at 0.5 m",
    ),
    "coffee": SampleInfo(
        "coffee.png",
        "a cup of coffee",
        33.0,
        "assumed (25-45°): a cup and saucer, the frame about 0.3 m wide at 0.5 m",
    ),
    "hubble": SampleInfo(
        "hubble_deep_field.jpg",
        "Hubble eXtreme Deep Field",
        XDF_HFOV_DEG,
        "NASA/ESA XDF release STScI-2012-37: 2.3 arcmin wide",
    ),
    "motorcycle": SampleInfo(
        "motorcycle_left.png",
        "Middlebury motorcycle with depth",
        math.degrees(2.0 * math.atan(741 / 2.0 / MOTORCYCLE_FOCAL_PX)),
        "Middlebury 2014 calibration (f = 994.978 px at 741 px, 4x down-sampled)",
    ),
    "rocket": SampleInfo(
        "rocket.jpg",
        "SpaceX Falcon 9 launch",
        12.0,
        "assumed (8-18°): a telephoto view of the pad, the 70 m rocket a third of the "
        "frame's height, from about 1.5 km",
    ),
}


def sample_names() -> list[str]:
    """Names accepted after ``sample:``."""
    return sorted(SAMPLES)


def _data_dir() -> Path:
    import skimage.data

    return Path(skimage.data.__file__).parent


def _bundled(file: str) -> Path:
    path = _data_dir() / file
    if not path.is_file():
        raise SceneError(
            f"sample image {file} is not in this scikit-image installation ({path.parent}); "
            "reinstall scikit-image"
        )
    return path


def motorcycle_depth_m(disparity_px: np.ndarray) -> np.ndarray:
    """Depth in metres from Middlebury disparity (4× down-sampled calibration), NaN if unknown."""
    d = np.asarray(disparity_px, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        z_mm = MOTORCYCLE_BASELINE_MM * MOTORCYCLE_FOCAL_PX / (d + MOTORCYCLE_DOFFS_PX)
    z = z_mm / 1000.0
    z[~np.isfinite(d) | ~np.isfinite(z) | (z <= 0)] = np.nan
    return z.astype(np.float32)


def motorcycle_hfov_rad() -> float:
    """Horizontal field of view of the motorcycle image, radians (≈ 0.713, 40.9°)."""
    width = 741
    return 2.0 * math.atan(width / 2.0 / MOTORCYCLE_FOCAL_PX)


@lru_cache(maxsize=8)
def load_sample(name: str) -> ImageContent:
    """Content of ``sample:<name>`` (cached; the content is treated as read-only)."""
    info = SAMPLES.get(name)
    if info is None:
        raise SceneError(
            f"unknown sample '{name}'; choose one of: "
            + ", ".join(f"sample:{n}" for n in sample_names())
        )
    path = _bundled(info.file)
    rgb = read_linear_rgb(path)
    depth = None
    if name == "motorcycle":
        with np.load(_bundled("motorcycle_disp.npz"), allow_pickle=False) as data:
            disparity = data["arr_0"]
        depth = motorcycle_depth_m(disparity)
    content = ImageContent(rgb=rgb, depth_m=depth, source=f"sample:{name}")
    content.rgb.setflags(write=False)
    if content.depth_m is not None:
        content.depth_m.setflags(write=False)
    return content


def natural_hfov_rad(name: str) -> float:
    """The horizontal field of view a sample was shot with (radians): calibrated for the
    motorcycle and the Deep Field, assumed from what the picture shows for the others (see
    :data:`SAMPLES`)."""
    info = SAMPLES.get(name)
    if info is None:
        raise SceneError(f"unknown sample '{name}'")
    return math.radians(info.hfov_deg)
