"""A dataset spec: what to render, as data (TOML), checked in full before anything is written.

A spec names the axes a sample is drawn from — scene, module and lens, aperture and focus,
ISO and shutter (or auto exposure), illuminant and light level, readout mode and bits — the
crop, the number of samples, a master seed, and how to sample: ``random`` (every axis drawn
per sample, with chosen categorical axes stratified: each value equally often) or ``grid``
(every combination of the listed values, in a fixed order). :func:`example_spec` is the
commented example ``mountcam dataset init`` writes; it runs as it is.

Axis values are given as
- a list, ``[a, b, c]``: one of these (categorical);
- a range table, ``{min = a, max = b}``: drawn between, log-uniformly for quantities that
  act multiplicatively (ISO, shutter, f-number, luminance), uniformly in dioptres for focus
  distance, uniformly otherwise (EV);
- a word where the axis allows one: ``"auto"`` (shutter/ISO: the camera's exposure), and for
  the aperture ``"stops"`` (one of the lens's click stops).

Every problem is found by :func:`parse_spec` and raised as one
:class:`~mountcam.errors.InvalidSetting` naming the key and what is allowed; nothing about a
spec is discovered halfway through a run.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mountcam.errors import InvalidSetting

SAMPLINGS = ("random", "grid")
MODES = ("binned", "full")
MODULES = ("main", "m")
#: The sampled axes, in the order a grid enumerates them (the last varies fastest).
AXES = (
    "scene",
    "module",
    "lens",
    "aperture",
    "focus_m",
    "illuminant",
    "luminance_cd_m2",
    "mode",
    "bits",
    "iso",
    "shutter_s",
    "ev",
)
#: Axes drawn log-uniformly from a range (multiplicative quantities).
LOG_AXES = ("aperture", "iso", "shutter_s", "luminance_cd_m2")
#: The largest number of samples one spec may ask for (a manifest row each).
MAX_SAMPLES = 10_000_000
#: Crop sides a spec may ask for, output pixels (a DNG needs its demosaic margins).
CROP_RANGE = (32, 8192)


@dataclass(frozen=True)
class Axis:
    """One sampled quantity: ``values`` (categorical), or a ``low``..``high`` range, or
    ``word`` (``auto``/``stops``)."""

    name: str
    values: tuple = ()
    low: float | None = None
    high: float | None = None
    word: str | None = None

    @property
    def categorical(self) -> bool:
        return bool(self.values)

    def describe(self) -> str:
        if self.values:
            return ", ".join(str(v) for v in self.values)
        if self.word:
            return self.word
        return f"{self.low:g}..{self.high:g}"


@dataclass(frozen=True)
class Spec:
    """A parsed, checked dataset spec (see the module docstring and :func:`example_spec`)."""

    samples: int
    seed: int
    sampling: str
    stratify: tuple[str, ...]
    crop: tuple[int, int]
    axes: dict[str, Axis] = field(hash=False)
    #: Image files (with optional depth maps) of a scene folder, resolved when parsed.
    folder_images: tuple[tuple[str, str | None], ...] = ()
    folder_hfov_deg: float | None = None
    truth: bool = True
    text: str = ""

    def axis(self, name: str) -> Axis:
        return self.axes[name]


# ---- the example ---------------------------------------------------------------------------
EXAMPLE_SPEC = """\
# A mountcam dataset: pairs of (noisy raw DNG, noise-free truth) with every parameter recorded.
# Run it with:  mountcam dataset run SPEC.toml --out DIR   (add --workers N, --limit N, --resume)
# Every sample is decided by this file and its index alone, whatever the workers and their order.

[dataset]
samples = 12            # how many samples
seed = 20261207         # master seed: the same spec and seed make the same dataset, bit for bit
sampling = "random"     # "random": each axis drawn per sample; "grid": every combination of lists
stratify = ["scene"]    # random sampling: list axes whose values appear equally often
crop = [256, 192]       # width, height of the simulated window, centred, in output pixels
truth = true            # write the noise-free image beside each DNG (float16 TIFF)

[scenes]
# Built-in scenes (mountcam scenes list) and "random:dead-leaves" (a new dead-leaves texture for
# every sample, ISO 19567-2's texture target). A folder of your own images is given as
#   folder = "path/to/images"    # PNG/JPEG/TIFF/EXR; NAME_depth.npy beside an image is its depth
#   folder_hfov_deg = 40         # the images' horizontal field of view
names = ["chart:colorchecker", "chart:siemens-star", "random:dead-leaves"]

[camera]
modules = ["main", "m"]                    # main: 8.7 mm f/1.9; m: the M lenses below
lenses = ["summicron-m-50", "elmarit-m-28"] # for the m module (mountcam lenses)
aperture = "stops"                         # m lenses: a click stop, a list or {min =, max =}
focus_m = { min = 0.7, max = 20.0 }        # focus distance, drawn uniformly in dioptres
mode = ["binned"]                          # readout: binned (4096x3072) and/or full (8192x6144)
bits = [12]                                # ADC bits: 10, 12 or 14

[exposure]
shutter_s = "auto"                         # "auto" (metered), a list, or {min =, max =} seconds
iso = "auto"                               # "auto", a list, or {min =, max =}
ev = { min = -1.0, max = 1.0 }             # exposure compensation for auto exposure, EV

[light]
illuminants = ["D65", "A", "D50", "FL11", "2800K", "6500K"]
luminance_cd_m2 = { min = 50.0, max = 5000.0 }  # luminance of a white, cd/m² (log-uniform)
"""


def example_spec() -> str:
    """The commented example spec (it runs as it is)."""
    return EXAMPLE_SPEC


# ---- parsing -------------------------------------------------------------------------------
_SECTIONS: dict[str, tuple[str, ...]] = {
    "dataset": ("samples", "seed", "sampling", "stratify", "crop", "truth"),
    "scenes": ("names", "folder", "folder_hfov_deg"),
    "camera": ("modules", "lenses", "aperture", "focus_m", "mode", "bits"),
    "exposure": ("shutter_s", "iso", "ev"),
    "light": ("illuminants", "luminance_cd_m2"),
}


def load_spec(path: str | Path) -> Spec:
    """Read and check the spec at ``path`` (see :func:`parse_spec`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidSetting(f"{path}: no such spec file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSetting(f"{path}: cannot read the spec ({exc})") from None
    return parse_spec(text, base=path.parent, where=str(path))


def parse_spec(text: str, *, base: Path | None = None, where: str = "spec") -> Spec:
    """Parse and check a spec's TOML text; ``base`` resolves a relative scene folder."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidSetting(f"{where}: not valid TOML ({exc})") from None
    for section, value in doc.items():
        if section not in _SECTIONS:
            raise InvalidSetting(
                f"{where}: unknown section [{section}]; the sections are "
                + ", ".join(f"[{s}]" for s in _SECTIONS)
            )
        if not isinstance(value, dict):
            raise InvalidSetting(f"{where}: [{section}] must be a table")
        for key in value:
            if key not in _SECTIONS[section]:
                raise InvalidSetting(
                    f"{where}: unknown key '{key}' in [{section}]; it takes "
                    + ", ".join(_SECTIONS[section])
                )
    get = _Getter(doc, where)
    samples = get.integer("dataset", "samples", 1, MAX_SAMPLES)
    seed = get.integer("dataset", "seed", 0, 2**63 - 1)
    sampling = get.word("dataset", "sampling", SAMPLINGS, default="random")
    crop_value = get.raw("dataset", "crop", default=[256, 192])
    if (
        not isinstance(crop_value, list)
        or len(crop_value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in crop_value)
        or not all(CROP_RANGE[0] <= v <= CROP_RANGE[1] for v in crop_value)
    ):
        raise InvalidSetting(
            f"{where}: [dataset] crop must be [width, height], whole numbers of pixels from "
            f"{CROP_RANGE[0]} to {CROP_RANGE[1]} (got {crop_value!r})"
        )
    truth = get.raw("dataset", "truth", default=True)
    if not isinstance(truth, bool):
        raise InvalidSetting(f"{where}: [dataset] truth is true or false (got {truth!r})")

    axes: dict[str, Axis] = {}
    names = get.raw("scenes", "names", default=[])
    folder = get.raw("scenes", "folder", default=None)
    folder_images: tuple[tuple[str, str | None], ...] = ()
    folder_hfov = get.raw("scenes", "folder_hfov_deg", default=None)
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise InvalidSetting(f"{where}: [scenes] names must be a list of scene names")
    scene_values = [_check_scene_name(n, where) for n in names]
    if folder is not None:
        if not isinstance(folder, str):
            raise InvalidSetting(f"{where}: [scenes] folder must be a path")
        folder_path = Path(folder) if base is None else (base / folder)
        folder_images = _folder_images(folder_path, where)
        scene_values += [f"folder:{name}" for name, _ in folder_images]
    if folder_hfov is not None:
        if not (isinstance(folder_hfov, int | float) and 0 < folder_hfov < 180):
            raise InvalidSetting(f"{where}: [scenes] folder_hfov_deg must be between 0 and 180")
        folder_hfov = float(folder_hfov)
    if not scene_values:
        raise InvalidSetting(f"{where}: [scenes] needs at least one scene (names or folder)")
    axes["scene"] = Axis("scene", tuple(scene_values))

    modules = get.categorical("camera", "modules", str, default=["main"])
    for m in modules:
        if m not in MODULES:
            raise InvalidSetting(f"{where}: [camera] modules are main and m (got '{m}')")
    axes["module"] = Axis("module", tuple(modules))
    lenses = get.categorical("camera", "lenses", str, default=[])
    if "m" in modules and not lenses:
        raise InvalidSetting(
            f"{where}: [camera] the m module needs lenses = [...] (mountcam lenses)"
        )
    profiles = _check_lenses(lenses, where)
    axes["lens"] = Axis("lens", tuple(lenses) if lenses else ("main-8.7",))
    axes["aperture"] = get.axis(
        "camera", "aperture", words=("stops",), default="stops", positive=True
    )
    _check_apertures(axes["aperture"], profiles, where)
    axes["focus_m"] = get.axis(
        "camera", "focus_m", words=("infinity",), default="infinity", positive=True
    )
    axes["mode"] = Axis("mode", tuple(get.categorical("camera", "mode", str, default=["binned"])))
    for mode in axes["mode"].values:
        if mode not in MODES:
            raise InvalidSetting(f"{where}: [camera] mode is binned or full (got '{mode}')")
    axes["bits"] = Axis("bits", tuple(get.categorical("camera", "bits", int, default=[12])))
    for bits in axes["bits"].values:
        if bits not in (10, 12, 14):
            raise InvalidSetting(f"{where}: [camera] bits are 10, 12 or 14 (got {bits})")

    axes["shutter_s"] = get.axis(
        "exposure", "shutter_s", words=("auto",), default="auto", positive=True
    )
    axes["iso"] = get.axis("exposure", "iso", words=("auto",), default="auto", positive=True)
    axes["ev"] = get.axis("exposure", "ev", words=(), default=[0.0])
    _check_exposure(axes, where)

    illuminants = get.categorical("light", "illuminants", str, default=["D65"])
    _check_illuminants(illuminants, where)
    axes["illuminant"] = Axis("illuminant", tuple(illuminants))
    axes["luminance_cd_m2"] = get.axis(
        "light", "luminance_cd_m2", words=(), default=[1000.0], positive=True
    )

    stratify_value = get.raw("dataset", "stratify", default=[])
    if not isinstance(stratify_value, list) or not all(isinstance(s, str) for s in stratify_value):
        raise InvalidSetting(f"{where}: [dataset] stratify is a list of axis names")
    for name in stratify_value:
        if name not in AXES:
            raise InvalidSetting(
                f"{where}: [dataset] cannot stratify over '{name}'; the axes are " + ", ".join(AXES)
            )
        if not axes[name].categorical:
            raise InvalidSetting(
                f"{where}: [dataset] stratify needs a list of values for '{name}', not "
                f"{axes[name].describe()}"
            )
    if sampling == "grid":
        for name, axis in axes.items():
            if axis.low is not None:
                raise InvalidSetting(
                    f"{where}: grid sampling needs a list of values for '{name}', not a range"
                )
        if stratify_value:
            raise InvalidSetting(f"{where}: stratify applies to random sampling, not grid")
    return Spec(
        samples=samples,
        seed=seed,
        sampling=sampling,
        stratify=tuple(stratify_value),
        crop=(int(crop_value[0]), int(crop_value[1])),
        axes=axes,
        folder_images=folder_images,
        folder_hfov_deg=folder_hfov,
        truth=truth,
        text=text,
    )


class _Getter:
    def __init__(self, doc: dict, where: str) -> None:
        self.doc, self.where = doc, where

    def raw(self, section: str, key: str, default: Any = None) -> Any:
        return self.doc.get(section, {}).get(key, default)

    def integer(self, section: str, key: str, low: int, high: int) -> int:
        value = self.raw(section, key)
        if value is None:
            raise InvalidSetting(f"{self.where}: [{section}] needs {key} = ...")
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidSetting(
                f"{self.where}: [{section}] {key} must be a whole number from {low} to {high} "
                f"(got {value!r})"
            )
        return value

    def word(self, section: str, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.raw(section, key, default)
        if value not in allowed:
            raise InvalidSetting(
                f"{self.where}: [{section}] {key} is one of {', '.join(allowed)} (got {value!r})"
            )
        return value

    def categorical(self, section: str, key: str, kind: type, default: list) -> list:
        value = self.raw(section, key, default)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value)
        ):
            raise InvalidSetting(
                f"{self.where}: [{section}] {key} must be a non-empty list of "
                f"{'names' if kind is str else 'whole numbers'} (got {value!r})"
            )
        if len(set(value)) != len(value):
            raise InvalidSetting(f"{self.where}: [{section}] {key} lists a value twice")
        return value

    def axis(
        self,
        section: str,
        key: str,
        *,
        words: tuple[str, ...],
        default: Any,
        positive: bool = False,
    ) -> Axis:
        value = self.raw(section, key, default)
        where = f"{self.where}: [{section}] {key}"
        if isinstance(value, str):
            if value not in words:
                allowed = " or ".join([*(f'"{w}"' for w in words), "a list", "{min =, max =}"])
                raise InvalidSetting(f"{where} is {allowed} (got {value!r})")
            return Axis(key, word=value)
        if isinstance(value, dict):
            if set(value) != {"min", "max"}:
                raise InvalidSetting(f"{where}: a range is {{min = ..., max = ...}}")
            low, high = value["min"], value["max"]
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
                raise InvalidSetting(f"{where}: a range's min and max are numbers")
            low, high = float(low), float(high)
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                raise InvalidSetting(f"{where}: a range needs min ≤ max (got {low:g}, {high:g})")
            if positive and low <= 0:
                raise InvalidSetting(f"{where}: values must be positive (got min = {low:g})")
            return Axis(key, low=low, high=high)
        if isinstance(value, list) and value:
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
                raise InvalidSetting(f"{where}: a list of numbers (got {value!r})")
            numbers = tuple(float(v) for v in value)
            if not all(math.isfinite(v) for v in numbers) or (
                positive and any(v <= 0 for v in numbers)
            ):
                raise InvalidSetting(
                    f"{where}: values must be finite{' and positive' if positive else ''}"
                )
            return Axis(key, values=numbers)
        raise InvalidSetting(f"{where}: a list, a range or a word (got {value!r})")


def _check_scene_name(name: str, where: str) -> str:
    from mountcam.errors import MountcamError
    from mountcam.scene import list_scenes

    if name == "random:dead-leaves":
        return name
    if name.casefold() in {s.casefold() for s in list_scenes()}:
        return name
    try:
        from mountcam.scene import load_scene

        load_scene(name)
    except MountcamError as exc:
        raise InvalidSetting(f"{where}: [scenes] {exc}") from None
    return name


def _folder_images(folder: Path, where: str) -> tuple[tuple[str, str | None], ...]:
    if not folder.is_dir():
        raise InvalidSetting(f"{where}: [scenes] folder {folder} does not exist")
    images = []
    kinds = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr"}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in kinds or path.stem.endswith("_depth"):
            continue
        depth = next(
            (
                str(p)
                for p in sorted(folder.glob(f"{path.stem}_depth.*"))
                if p.suffix.lower() in {".npy", ".png", ".tif", ".tiff", ".exr"}
            ),
            None,
        )
        images.append((str(path), depth))
    if not images:
        raise InvalidSetting(f"{where}: [scenes] folder {folder} holds no images")
    return tuple(images)


def _check_lenses(lenses: list[str], where: str) -> list:
    from mountcam.errors import MountcamError
    from mountcam.optics.lens_catalogue import find_lens

    profiles = []
    for lens_id in lenses:
        try:
            profile = find_lens(lens_id)
        except MountcamError as exc:
            raise InvalidSetting(f"{where}: [camera] lenses: {exc}") from None
        if profile.mount != "M" and profile.code is not None:
            raise InvalidSetting(f"{where}: [camera] {lens_id} is not an M-mount lens")
        profiles.append(profile)
    return profiles


def _check_apertures(axis: Axis, profiles: list, where: str) -> None:
    """Every aperture the spec can draw must be settable on every listed M lens."""
    if axis.word == "stops":
        return
    wanted = axis.values or (axis.low, axis.high)
    for lens in profiles:
        for f in wanted:
            if not lens.max_f - 1e-6 <= f <= lens.min_f + 1e-6:
                raise InvalidSetting(
                    f"{where}: [camera] aperture f/{f:g} is beyond {lens.name} "
                    f'(f/{lens.max_f:g} to f/{lens.min_f:g}); use "stops" for each lens\'s own'
                )


def _check_exposure(axes: dict[str, Axis], where: str) -> None:
    from mountcam.sensor.model import load_sensor

    sensor = load_sensor("imx989")
    iso = axes["iso"]
    lo_iso, hi_iso = sensor.iso_min, sensor.iso_max
    for v in iso.values or ((iso.low, iso.high) if iso.low is not None else ()):
        if not lo_iso <= v <= hi_iso:
            raise InvalidSetting(
                f"{where}: [exposure] ISO {v:g} is outside the sensor's {lo_iso:g} to {hi_iso:g}"
            )
    shutter = axes["shutter_s"]
    lo_t, hi_t = sensor.min_exposure_s, sensor.max_exposure_s
    for v in shutter.values or ((shutter.low, shutter.high) if shutter.low is not None else ()):
        if not lo_t <= v <= hi_t:
            raise InvalidSetting(
                f"{where}: [exposure] shutter {v:g} s is outside the sensor's {lo_t:g} to {hi_t:g} s"
            )
    ev = axes["ev"]
    for v in ev.values or (ev.low, ev.high):
        if not -5.0 <= v <= 5.0:
            raise InvalidSetting(f"{where}: [exposure] ev {v:g} is outside -5 to +5 EV")


def _check_illuminants(names: list[str], where: str) -> None:
    from mountcam.errors import MountcamError
    from mountcam.scene import illuminant

    for name in names:
        try:
            illuminant(name)
        except MountcamError as exc:
            raise InvalidSetting(f"{where}: [light] {exc}") from None
