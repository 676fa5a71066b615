"""One entry point for every scene: ``load_scene("chart:siemens-star")``, ``"sample:coffee"``,
or a path to an image file.

Absolute scale. A reflectance-1 white in the scene has luminance ``luminance_cd_m2``; the
default, :data:`DEFAULT_WHITE_LUMINANCE_CD_M2` = 1000 cd/m², is a white card under about
3100 lux (L = E·ρ/π), i.e. bright overcast daylight or a well-lit studio; full sun is about
30 times more.
"""

from __future__ import annotations

import math
import os

from mountcam.errors import SceneError
from mountcam.scene.charts import ColorChecker, FlatField, GrayRamp, SiemensStar, SlantedEdge
from mountcam.scene.illuminants import illuminant as get_illuminant
from mountcam.scene.loaders import load_image_content
from mountcam.scene.procedural import PROCEDURAL_HFOV_RAD, load_set, set_names
from mountcam.scene.samples import load_sample, natural_hfov_rad, sample_names
from mountcam.scene.scene import Illuminant, Scene, SceneContent

#: Luminance of a perfect white (reflectance 1) unless told otherwise, cd/m².
DEFAULT_WHITE_LUMINANCE_CD_M2 = 1000.0

CHARTS: dict[str, type] = {
    "colorchecker": ColorChecker,
    "slanted-edge": SlantedEdge,
    "siemens-star": SiemensStar,
    "flat": FlatField,
    "gray-ramp": GrayRamp,
}


def list_scenes() -> list[str]:
    """Names of the built-in scenes (charts, procedural sets, samples); anything else is a
    file path."""
    return (
        [f"chart:{n}" for n in CHARTS]
        + [f"set:{n}" for n in set_names()]
        + [f"sample:{n}" for n in sample_names()]
    )


#: What each chart is, for ``scenes list``.
CHART_DESCRIPTIONS = {
    "colorchecker": "24-patch ColorChecker (N. Ohta spectra), 250x170 mm, framed whole",
    "slanted-edge": "ISO 12233 slanted edge, 4:1 contrast, 5°, fills the view",
    "siemens-star": "Siemens star, 36 cycles, framed whole",
    "flat": "uniform flat field (any reflectance; above 1 a light box)",
    "gray-ramp": "neutral ramp 0-1, linear in reflectance, across the view",
}


def describe_scenes() -> list[tuple[str, str, str, str, str]]:
    """(name, what it is, size, horizontal field of view, depth range) of every built-in
    scene, for ``scenes list``."""
    from mountcam.scene.samples import SAMPLES, load_sample

    rows = []
    for name in CHARTS:
        rows.append((f"chart:{name}", CHART_DESCRIPTIONS[name], "drawn at any sampling",
                     "frames to the lens", "flat (no depth)"))  # fmt: skip
    for name in set_names():
        content = load_set(name)
        near, far = content.depth_range_m()
        far_text = "infinity" if math.isinf(far) else f"{far:.3g} m"
        rows.append((f"set:{name}", content.description, "drawn at any sampling",
                     "the lens's own (a world in metres)", f"{near:.3g} m to {far_text}"))  # fmt: skip
    for name in sample_names():
        info = SAMPLES[name]
        content = load_sample(name)
        calibrated = not info.hfov_source.startswith("assumed")  # else from a source
        fov = f"{info.hfov_deg:.3g}° ({'sourced' if calibrated else 'assumed'})"
        if content.depth_m is None:
            depth = "none (one distance)"
        else:
            depth = (
                f"{float(content.depth_m.min()):.2g} m to {float(content.depth_m.max()):.2g} m "
                f"({100 * content.depth_filled_fraction:.1f} % filled)"
            )
        rows.append((f"sample:{name}", info.description, f"{content.width}x{content.height} px",
                     fov, depth))  # fmt: skip
    return rows


def _chart(name: str, reflectance: float) -> SceneContent:
    kind = CHARTS.get(name)
    if kind is None:
        raise SceneError(
            f"unknown chart '{name}'; choose one of: " + ", ".join(f"chart:{n}" for n in CHARTS)
        )
    if kind is FlatField:
        return FlatField(reflectance=reflectance)
    return kind()


def _builtin_like(name: str) -> str | None:
    """The built-in scene a name that is no file probably means: ``motorcycle`` ->
    ``sample:motorcycle``, ``colourchecker`` -> ``chart:colorchecker`` (None if nothing is
    close)."""
    import difflib

    scenes = list_scenes()
    bare = {s.split(":", 1)[1]: s for s in scenes}
    key = name.strip().casefold()
    if key in bare:
        return bare[key]
    close = difflib.get_close_matches(key, list(bare) + scenes, n=1, cutoff=0.75)
    return bare.get(close[0], close[0]) if close else None


def load_scene(
    name_or_path: str | os.PathLike,
    *,
    illuminant: str | Illuminant = "D65",
    luminance_cd_m2: float | None = None,
    reflectance: float | None = 1.0,
    hfov_deg: float | None = None,
    depth_path: str | os.PathLike | None = None,
) -> Scene:
    """Build a :class:`Scene` from a built-in name or an image file.

    ``name_or_path``: ``chart:colorchecker|slanted-edge|siemens-star|flat|gray-ramp``,
    ``set:dof-rail|portrait|street`` (procedural 3-D worlds, :mod:`mountcam.scene.procedural`),
    ``sample:<name>`` (see :func:`list_scenes`) or a PNG / JPEG / TIFF / EXR path.
    ``illuminant``: a CIE name ("D65", "A", "FL11", ...) or a temperature ("3200K").
    ``luminance_cd_m2``: luminance of reflectance 1 (default 1000 cd/m²).
    ``reflectance``: the flat field's reflectance (``chart:flat`` only; 0-100, >1 emits).
    ``hfov_deg``: horizontal field of view the content spans, in (0, 180) degrees; default:
    the sample's own where known, else fill the view.
    ``depth_path``: depth map for an image file (see :func:`~mountcam.scene.loaders.load_depth`).

    Raises :class:`~mountcam.errors.SceneError` for unknown names or bad values and
    :class:`~mountcam.errors.UnreadableFile` for missing or unreadable files.
    """
    name = os.fspath(name_or_path)
    if luminance_cd_m2 is None:
        luminance = DEFAULT_WHITE_LUMINANCE_CD_M2
    else:
        luminance = float(luminance_cd_m2)
        if not math.isfinite(luminance) or luminance <= 0:
            raise SceneError(
                f"white luminance must be a positive number of cd/m² (got {luminance_cd_m2!r}); "
                "e.g. 1000 for overcast daylight, 30000 for sun"
            )
    hfov_rad = None
    if hfov_deg is not None:
        hfov = float(hfov_deg)
        if not (math.isfinite(hfov) and 0.0 < hfov < 180.0):
            raise SceneError(f"field of view must be between 0 and 180 degrees (got {hfov_deg!r})")
        hfov_rad = math.radians(hfov)
    light = get_illuminant(illuminant)

    if reflectance is None:  # tolerated: "not given"
        reflectance = 1.0
    # Built-in names are case-insensitive; file paths are taken as given.
    lowered = name.casefold()
    builtin = lowered.startswith(("chart:", "sample:", "set:"))
    if lowered != "chart:flat" and reflectance != 1.0:
        raise SceneError("a reflectance applies only to chart:flat")
    if depth_path is not None and builtin:
        raise SceneError("a depth map can be given only with an image file")

    content: SceneContent
    if lowered.startswith("chart:"):
        content = _chart(lowered.removeprefix("chart:"), reflectance)
    elif lowered.startswith("set:"):
        if hfov_rad is not None:
            raise SceneError(
                "a procedural set is a world in metres that every lens frames by its own "
                "angles; a field of view applies to image scenes only"
            )
        content = load_set(lowered.removeprefix("set:"))
        hfov_rad = PROCEDURAL_HFOV_RAD
    elif lowered.startswith("sample:"):
        sample = lowered.removeprefix("sample:")
        content = load_sample(sample)
        if hfov_rad is None:
            hfov_rad = natural_hfov_rad(sample)
    else:
        if not os.path.exists(name):
            hint = _builtin_like(name)
            if hint:
                raise SceneError(f"no scene or file '{name}'; did you mean {hint}?")
        content = load_image_content(name, depth_path=depth_path)
    return Scene(
        name=name,
        content=content,
        illuminant=light,
        white_luminance_cd_m2=luminance,
        hfov_rad=hfov_rad,
    )
