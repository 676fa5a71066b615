"""Which parameters sample ``index`` of a spec gets: a pure function of (spec, index).

Nothing here depends on which worker renders a sample, in which order, or how many samples
were asked for: every draw comes from its own random stream keyed by (master seed, sample
index, axis) (NumPy ``SeedSequence`` with that entropy tuple; O'Neill's PCG64 behind it), so a
sample can be rendered anywhere, at any time, any number of times, and comes out the same.

- **random** sampling draws each axis per sample: a list uniformly, a range log-uniformly
  (ISO, shutter, f-number, luminance), uniformly in dioptres (focus distance) or uniformly
  (EV). A *stratified* list axis of K values takes each value exactly once in every block of
  K consecutive indexes (a random permutation per block), so any prefix of the dataset is
  balanced to within one sample per value.
- **grid** sampling enumerates every combination of the lists (the last axis fastest; the
  optics — module, lens and aperture — as one axis of (module, lens, f-number) triples, since
  the apertures depend on the lens); indexes past the grid's size repeat it with new noise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from mountcam.dataset.spec import AXES, LOG_AXES, Spec

#: The main module's lens and its fixed aperture.
MAIN_LENS = "main-8.7"


@dataclass(frozen=True)
class SampleParams:
    """Everything that decides one sample. ``f_number`` is None on the main module (fixed
    f/1.9); ``iso``/``shutter_s`` None mean the camera's auto exposure; ``focus_m`` is the
    distance asked for (the lens's ring stops at its close focus)."""

    index: int
    scene: str
    module: str
    lens: str
    f_number: float | None
    focus_m: float
    illuminant: str
    luminance_cd_m2: float
    mode: str
    bits: int
    iso: float | None
    shutter_s: float | None
    ev: float
    #: Seed of the sensor noise (and of a random scene's content).
    noise_seed: int
    scene_seed: int

    def as_record(self) -> dict:
        record = asdict(self)
        record["focus_m"] = None if math.isinf(self.focus_m) else self.focus_m
        return record


def _stream(spec: Spec, index: int, axis: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([spec.seed, index, AXES.index(axis) + 1]))


def _seed(spec: Spec, index: int, salt: int) -> int:
    state = np.random.SeedSequence([spec.seed, index, 1000 + salt]).generate_state(1, np.uint64)
    return int(state[0]) & (2**63 - 1)


def _draw(spec: Spec, index: int, name: str):
    axis = spec.axis(name)
    if axis.word is not None:
        return axis.word
    if axis.categorical:
        if name in spec.stratify:
            k = len(axis.values)
            block, position = divmod(index, k)
            perm = np.random.default_rng(
                np.random.SeedSequence([spec.seed, block, 500 + AXES.index(name)])
            ).permutation(k)
            return axis.values[int(perm[position])]
        return axis.values[int(_stream(spec, index, name).integers(len(axis.values)))]
    u = float(_stream(spec, index, name).random())
    if name in LOG_AXES:
        return math.exp(math.log(axis.low) + u * (math.log(axis.high) - math.log(axis.low)))
    if name == "focus_m":  # uniform in dioptres: as much near focus as far
        lo, hi = 1.0 / axis.high, 1.0 / axis.low
        return 1.0 / (lo + u * (hi - lo))
    return axis.low + u * (axis.high - axis.low)


@lru_cache(maxsize=64)
def _lens_stops(lens_id: str) -> tuple[float, ...]:
    from mountcam.optics.lens_catalogue import find_lens

    lens = find_lens(lens_id)
    return tuple(lens.stops) if lens.stops else (lens.max_f,)


def _aperture_for(spec: Spec, index: int, lens_id: str) -> float:
    axis = spec.axis("aperture")
    if axis.word == "stops":
        stops = _lens_stops(lens_id)
        return float(stops[int(_stream(spec, index, "aperture").integers(len(stops)))])
    return float(_draw(spec, index, "aperture"))


def _optics_grid(spec: Spec) -> list[tuple[str, str, float | None]]:
    triples: list[tuple[str, str, float | None]] = []
    for module in spec.axis("module").values:
        if module == "main":
            triples.append(("main", MAIN_LENS, None))
            continue
        for lens in spec.axis("lens").values:
            axis = spec.axis("aperture")
            apertures = _lens_stops(lens) if axis.word == "stops" else axis.values
            triples += [("m", lens, float(f)) for f in apertures]
    return triples


_GRID_AXES = (
    "scene",
    "focus_m",
    "illuminant",
    "luminance_cd_m2",
    "mode",
    "bits",
    "iso",
    "shutter_s",
    "ev",
)


def grid_size(spec: Spec) -> int:
    """How many distinct combinations a grid spec has."""
    size = len(_optics_grid(spec))
    for name in _GRID_AXES:
        axis = spec.axis(name)
        size *= len(axis.values) if axis.categorical else 1
    return size


def sample_params(spec: Spec, index: int) -> SampleParams:
    """The parameters of sample ``index`` (0-based) of ``spec``."""
    if not 0 <= index < spec.samples:
        raise IndexError(f"sample {index} is outside the dataset's {spec.samples} samples")
    values: dict = {}
    if spec.sampling == "grid":
        rest = index % grid_size(spec)
        for name in reversed(_GRID_AXES):
            axis = spec.axis(name)
            if axis.categorical:
                rest, i = divmod(rest, len(axis.values))
                values[name] = axis.values[i]
            else:
                values[name] = axis.word
        optics = _optics_grid(spec)
        module, lens, f_number = optics[rest % len(optics)]
    else:
        for name in _GRID_AXES:
            values[name] = _draw(spec, index, name)
        module = _draw(spec, index, "module")
        if module == "main":
            lens, f_number = MAIN_LENS, None
        else:
            lens = _draw(spec, index, "lens")
            f_number = _aperture_for(spec, index, lens)
    focus = values["focus_m"]
    return SampleParams(
        index=index,
        scene=values["scene"],
        module=module,
        lens=lens,
        f_number=f_number,
        focus_m=math.inf if focus == "infinity" else float(focus),
        illuminant=values["illuminant"],
        luminance_cd_m2=float(values["luminance_cd_m2"]),
        mode=values["mode"],
        bits=int(values["bits"]),
        iso=None if values["iso"] == "auto" else float(values["iso"]),
        shutter_s=None if values["shutter_s"] == "auto" else float(values["shutter_s"]),
        ev=float(values["ev"]),
        noise_seed=_seed(spec, index, 1),
        scene_seed=_seed(spec, index, 2),
    )
