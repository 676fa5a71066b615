"""Lens profiles (data files under ``mountcam/data/lenses``) and the lens's set state.

A :class:`LensProfile` is what a lens *is*: focal length, apertures, close focus, the 6-bit
code on its bayonet and, where known, its optical character (vignetting, distortion, lateral
colour). Every figure in a data file carries a ``*_source`` string or the word ``assumed`` with
the reason. The radial models are defined in ``docs/lenses.md``; in short, all of them take the
normalised image height

    ρ = r / 21.633 mm        (r: ideal image height on the sensor, 21.633 mm = 35 mm half-diagonal)

so the same profile applies on any sensor (the 1-inch IMX989 uses ρ ≤ 0.379).

A :class:`LensState` is what the photographer has set on the lens: aperture, focus distance and,
on a lens with several focal lengths (the Tri-Elmars), the focal length selected on its ring.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mountcam.errors import InvalidSetting, UnreadableFile

#: Diagonal of the 35 mm format, mm (36 × 24 mm), for "equivalent focal length".
FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)
#: The unit of the normalised radius ρ of every radial model in the catalogue, mm.
FULL_FRAME_HALF_DIAGONAL_MM = FULL_FRAME_DIAGONAL_MM / 2.0
#: Half-diagonal of the Leica M8 sensor (18 × 27 mm), where Leica quotes a second fall-off value.
M8_HALF_DIAGONAL_MM = math.hypot(27.0, 18.0) / 2.0
#: Exponent of the fall-off profile ev(ρ) = corner_ev · ρ^p when the data give only the corner.
DEFAULT_VIGNETTING_EXPONENT = 2.0


def equivalent_focal_mm(focal_mm: float, crop_factor: float) -> float:
    """The 35 mm focal length with the same diagonal angle of view on a sensor whose diagonal
    is ``crop_factor`` times smaller than 35 mm's (the IMX989's: × ≈ 2.64, see
    :attr:`mountcam.sensor.model.SensorModel.crop_factor`)."""
    return focal_mm * crop_factor


MOUNTS = ("M", "fixed", "adapted")
VIGNETTING_MODELS = ("corner-ev", "pa")
DISTORTION_MODELS = ("poly", "poly3", "poly5", "ptlens")
LATERAL_COLOR_MODELS = ("linear-um", "linear", "poly3")


def _rho_array(rho):
    return np.asarray(rho, dtype=np.float64)


def _scalar_or_array(value: np.ndarray, like) -> Any:
    return float(value) if np.ndim(like) == 0 else value


@dataclass(frozen=True)
class Vignetting:
    """Light fall-off towards the image corner, in EV below the centre, as a function of ρ and
    the f-number. It is the *total* fall-off (natural cos⁴ included), as Leica quotes it.

    ``corner-ev`` (mountcam): ``points`` are ``(f_number, corner_ev, exponent)``;
    ev(ρ, N) = corner_ev(N) · ρ^exponent(N), both interpolated linearly in log₂ N between points
    and held constant outside them (stopping down further leaves natural vignetting only).

    ``pa`` (lensfun): ``points`` are ``(f_number, k1, k2, k3)``; the relative illumination is
    1 + k1·R² + k2·R⁴ + k3·R⁶ with R = ρ · 21.633 mm / ``unit_mm`` (lensfun normalises R to the
    half-diagonal of its calibration sensor); interpolated the same way in log₂ N.
    """

    model: str
    points: tuple[tuple[float, ...], ...]
    source: str
    unit_mm: float = FULL_FRAME_HALF_DIAGONAL_MM

    def ev(self, rho, f_number: float):
        """Fall-off in EV (≥ 0 means darker than the centre) at normalised radius ``rho``."""
        r = _rho_array(rho)
        evs = [self._ev_at_point(p, r) for p in self.points]
        fs = [p[0] for p in self.points]
        out = _interp_log2(f_number, fs, evs)
        return _scalar_or_array(out, rho)

    def relative_illumination(self, rho, f_number: float):
        """2^−ev: the fraction of the centre's illuminance that reaches radius ``rho``."""
        return np.exp2(-np.asarray(self.ev(rho, f_number)))

    def pa_in_rho(self, f_number: float, rho_max: float = 1.0) -> tuple[float, float, float]:
        """(k1, k2, k3) of lensfun's "pa" model in ρ (g = 1 + k1 ρ² + k2 ρ⁴ + k3 ρ⁶), the form
        :func:`mountcam.optics.aberrations.vignetting_gain` takes: exact for a ``pa`` profile
        at one of its f-numbers, otherwise a least-squares fit of g on 0 ≤ ρ ≤ ``rho_max``
        (pass the sensor's corner ρ for the best fit where it matters)."""
        if self.model == "pa":
            for f, k1, k2, k3 in self.points:
                if math.isclose(f, f_number, rel_tol=1e-6):
                    c2 = (FULL_FRAME_HALF_DIAGONAL_MM / self.unit_mm) ** 2
                    return (k1 * c2, k2 * c2**2, k3 * c2**3)
        rho = np.linspace(0.0, rho_max, 201)
        u = rho * rho
        g = np.asarray(self.relative_illumination(rho, f_number), dtype=np.float64)
        a = np.stack([u, u**2, u**3], axis=1)
        k, *_ = np.linalg.lstsq(a, g - 1.0, rcond=None)
        return (float(k[0]), float(k[1]), float(k[2]))

    def _ev_at_point(self, point: tuple[float, ...], r: np.ndarray) -> np.ndarray:
        if self.model == "corner-ev":
            _, corner_ev, exponent = point
            return corner_ev * np.power(np.abs(r), exponent)
        _, k1, k2, k3 = point
        big_r2 = (r * FULL_FRAME_HALF_DIAGONAL_MM / self.unit_mm) ** 2
        illum = 1.0 + k1 * big_r2 + k2 * big_r2**2 + k3 * big_r2**3
        return -np.log2(np.clip(illum, 1e-6, None))


def _interp_log2(f_number: float, fs: list[float], values: list[np.ndarray]) -> np.ndarray:
    if len(fs) == 1 or f_number <= fs[0]:
        return values[0]
    if f_number >= fs[-1]:
        return values[-1]
    x = math.log2(f_number)
    for i in range(len(fs) - 1):
        a, b = math.log2(fs[i]), math.log2(fs[i + 1])
        if a <= x <= b:
            t = 0.0 if b == a else (x - a) / (b - a)
            return (1.0 - t) * values[i] + t * values[i + 1]
    return values[-1]


@dataclass(frozen=True)
class Distortion:
    """Radial distortion: ``scale(ρ)`` = r_distorted / r_ideal, normalised so that scale(0) = 1
    (the paraxial magnification is the lens's focal length).

    - ``poly`` (mountcam): r_d = r_u · (c0 + c1 ρ + c2 ρ² + …) for ``terms`` = (c0, c1, …),
      c0 = 1 in the data files (the same "poly" as :mod:`mountcam.optics.aberrations`). A lens
      known only by its distortion D % at the 35 mm corner has terms (1, 0, D/100).
    - lensfun models with R = ρ · 21.633 mm / ``unit_mm`` (lensfun's unit is the half *height*
      of the calibration frame): ``ptlens`` (a, b, c): R·(a R³ + b R² + c R + 1 − a − b − c);
      ``poly3`` (k1): R·(1 − k1 + k1 R²); ``poly5`` (k1, k2): R·(1 + k1 R² + k2 R⁴); each
      divided by its value's slope at R = 0.
    """

    model: str
    terms: tuple[float, ...]
    source: str
    unit_mm: float = FULL_FRAME_HALF_DIAGONAL_MM

    def scale(self, rho):
        r = _rho_array(rho)
        t = self.terms
        if self.model == "poly":
            out = np.zeros_like(r)
            for i, c in enumerate(t):
                out = out + c * np.power(np.abs(r), i)
            return _scalar_or_array(out / t[0], rho)
        big_r = np.abs(r) * FULL_FRAME_HALF_DIAGONAL_MM / self.unit_mm
        if self.model == "ptlens":
            a, b, c = t
            d = 1.0 - a - b - c
            out = (a * big_r**3 + b * big_r**2 + c * big_r + d) / d
        elif self.model == "poly3":
            (k1,) = t
            out = (1.0 - k1 + k1 * big_r**2) / (1.0 - k1)
        else:  # poly5
            k1, k2 = t
            out = 1.0 + k1 * big_r**2 + k2 * big_r**4
        return _scalar_or_array(out, rho)

    def percent(self, rho=1.0):
        """Distortion in % at ``rho`` (negative: barrel, positive: pincushion)."""
        return _scalar_or_array((np.asarray(self.scale(rho)) - 1.0) * 100.0, rho)

    def as_rho_poly(self) -> tuple[str, tuple[float, ...]]:
        """``("poly", (c0, …))`` in ρ with c0 = 1, whatever the model: the form
        :func:`mountcam.optics.aberrations.distort` takes."""
        t = self.terms
        if self.model == "poly":
            return ("poly", tuple(c / t[0] for c in t))
        s = FULL_FRAME_HALF_DIAGONAL_MM / self.unit_mm
        if self.model == "ptlens":
            a, b, c = t
            coeffs = (1.0 - a - b - c, c * s, b * s**2, a * s**3)
        elif self.model == "poly3":
            (k1,) = t
            coeffs = (1.0 - k1, 0.0, k1 * s**2)
        else:
            k1, k2 = t
            coeffs = (1.0, 0.0, k1 * s**2, 0.0, k2 * s**4)
        return ("poly", tuple(c / coeffs[0] for c in coeffs))


@dataclass(frozen=True)
class LateralColor:
    """Lateral (transverse) chromatic aberration: the radial displacement of the red and blue
    images relative to green, in µm on the sensor (outward positive).

    - ``linear-um`` (mountcam): ``terms`` = (red_um, blue_um) at ρ = 1, proportional to ρ.
    - lensfun ``linear`` (kr, kb): r_c = r · k; ``poly3`` (vr, vb, cr, cb, br, bb):
      r_c = r · (b R² + c R + v) with R = ρ · 21.633 mm / ``unit_mm``.
    """

    model: str
    terms: tuple[float, ...]
    source: str
    unit_mm: float = FULL_FRAME_HALF_DIAGONAL_MM

    def shift_um(self, rho) -> tuple[Any, Any]:
        """(red, blue) displacement in µm at normalised radius ``rho``."""
        r = _rho_array(rho)
        r_um = np.abs(r) * FULL_FRAME_HALF_DIAGONAL_MM * 1e3
        t = self.terms
        if self.model == "linear-um":
            red, blue = t[0] * np.abs(r), t[1] * np.abs(r)
        elif self.model == "linear":
            red, blue = r_um * (t[0] - 1.0), r_um * (t[1] - 1.0)
        else:
            vr, vb, cr, cb, br, bb = t
            big_r = np.abs(r) * FULL_FRAME_HALF_DIAGONAL_MM / self.unit_mm
            red = r_um * (br * big_r**2 + cr * big_r + vr - 1.0)
            blue = r_um * (bb * big_r**2 + cb * big_r + vb - 1.0)
        return _scalar_or_array(red, rho), _scalar_or_array(blue, rho)


@dataclass(frozen=True)
class FieldBlur:
    """What the lens's residual aberrations add to diffraction: a Gaussian point spread whose
    standard deviation grows from the centre to the field's corner,

        σ(ρ) = σ_centre + (σ_corner − σ_centre) · (ρ / corner_rho)²      (µm on the sensor)

    (the quadratic growth of the Seidel field aberrations, astigmatism and field curvature, with
    image height). Its MTF is exp(−2π²σ²ν²), multiplied with the diffraction MTF.
    ``mtf50_lp_mm`` states (centre, corner) MTF50 of the lens, diffraction at 550 nm included,
    for a lab measurement to be held against."""

    sigma_centre_um: float
    sigma_corner_um: float
    corner_rho: float
    mtf50_lp_mm: tuple[float, ...]
    source: str

    def sigma_um(self, rho):
        """σ in µm at normalised radius ``rho`` (the growth continues past the corner)."""
        t = (np.asarray(rho, dtype=np.float64) / self.corner_rho) ** 2
        out = self.sigma_centre_um + (self.sigma_corner_um - self.sigma_centre_um) * t
        return _scalar_or_array(out, rho)


@dataclass(frozen=True)
class LensfunCalibration:
    """Where an adapted lens's data came from in lensfun, kept in lensfun's own terms.

    ``crop_factor`` and ``aspect_ratio`` describe the calibration sensor: lensfun's distortion
    and TCA radius is 1 at its half height (21.633 / crop / √(1 + aspect²) mm), its vignetting
    radius 1 at its half-diagonal (21.633 / crop mm). ``distortion`` and ``tca`` are
    ``(focal_mm, model, terms)``; ``vignetting`` is ``(focal_mm, f_number, distance_m, k1, k2,
    k3)`` (model ``pa``).
    """

    maker: str
    model: str
    mounts: tuple[str, ...]
    crop_factor: float
    aspect_ratio: float
    lens_type: str
    distortion: tuple[tuple[float, str, tuple[float, ...]], ...] = ()
    tca: tuple[tuple[float, str, tuple[float, ...]], ...] = ()
    vignetting: tuple[tuple[float, ...], ...] = ()
    database: str = ""

    @property
    def distortion_unit_mm(self) -> float:
        return FULL_FRAME_HALF_DIAGONAL_MM / self.crop_factor / math.hypot(1.0, self.aspect_ratio)

    @property
    def vignetting_unit_mm(self) -> float:
        return FULL_FRAME_HALF_DIAGONAL_MM / self.crop_factor

    def character(self, focal_mm: float) -> dict:
        """Distortion, lateral colour and vignetting at ``focal_mm`` (the nearest calibrated
        focal length; vignetting at the farthest calibrated distance), in lensfun's own models
        and normalisation: the keyword arguments of a :class:`LensProfile` for that focal."""
        where = (
            f"lensfun ({self.database}): {self.maker} {self.model}, calibration crop factor "
            f"{self.crop_factor:g}, aspect {self.aspect_ratio:g}"
        )
        out: dict = {"distortion": None, "lateral_color": None, "vignetting": None}
        f = _nearest_focal([d[0] for d in self.distortion], focal_mm)
        if f is not None:
            _, model, terms = next(d for d in self.distortion if d[0] == f)
            out["distortion"] = Distortion(
                model, terms, f"{where}; {model} at {f:g} mm", self.distortion_unit_mm
            )
        f = _nearest_focal([t[0] for t in self.tca], focal_mm)
        if f is not None:
            _, model, terms = next(t for t in self.tca if t[0] == f)
            out["lateral_color"] = LateralColor(
                model, terms, f"{where}; TCA {model} at {f:g} mm", self.distortion_unit_mm
            )
        f = _nearest_focal(sorted({v[0] for v in self.vignetting}), focal_mm)
        if f is not None:
            rows = [v for v in self.vignetting if v[0] == f]
            best: dict[float, tuple[float, ...]] = {}
            for v in rows:
                if v[1] not in best or v[2] > best[v[1]][2]:
                    best[v[1]] = v
            points = tuple((ap, *best[ap][3:6]) for ap in sorted(best))
            out["vignetting"] = Vignetting(
                "pa", points, f"{where}; vignetting pa at {f:g} mm", self.vignetting_unit_mm
            )
        return out


def _nearest_focal(focals: list[float], focal_mm: float) -> float | None:
    """The calibrated focal length nearest ``focal_mm`` in ratio (ties: the shorter)."""
    if not focals:
        return None
    return min(focals, key=lambda f: (abs(math.log(f / focal_mm)), f))


@dataclass(frozen=True)
class LensProfile:
    """What a lens is: focal length in mm, f-number range, focus range, throughput, and (where
    known) its 6-bit code, frame-selector bits and optical character.

    ``code`` is the 6-bit code the catalogue assigns to this lens (unique across the catalogue;
    0 for an uncoded lens, None for an adapted lens that has no M flange at all).
    ``frame_selector`` is the 2-bit frame-line position a coded lens sets (1: 28/90, 2: 24/35,
    3: 50/75; 0: none or not known). A lens with several focal lengths lists them in
    ``focal_settings_mm`` (``focal_mm`` is the first) and the bits each one sets in
    ``frame_selector_settings``. ``stops`` are the aperture ring's click stops, or its
    engraved marks when ``stepless`` (a ring without clicks, e.g. the Thambar-M: any f-number
    from ``max_f`` to ``min_f`` can be set). ``sources`` maps each ``*_source`` key of the data file (e.g.
    ``"transmittance"``) to its source text.
    """

    id: str
    name: str
    mount: str
    focal_mm: float
    max_f: float
    min_f: float
    min_focus_m: float
    transmittance: float
    stops: tuple[float, ...] = ()
    stepless: bool = False
    code: int | None = 0
    blades: int = 0
    focal_settings_mm: tuple[float, ...] = ()
    focal_range_mm: tuple[float, float] | None = None
    frame_selector: int = 0
    frame_selector_settings: tuple[int, ...] = ()
    article_numbers: tuple[str, ...] = ()
    exiftool_key: str | None = None
    exiftool_name: str | None = None
    vignetting: Vignetting | None = None
    distortion: Distortion | None = None
    lateral_color: LateralColor | None = None
    sources: tuple[tuple[str, str], ...] = ()
    notes: str = ""
    lensfun: LensfunCalibration | None = None
    field_blur: FieldBlur | None = None

    @property
    def focal_m(self) -> float:
        return self.focal_mm * 1e-3

    @property
    def coded(self) -> bool:
        return bool(self.code)

    def source(self, key: str) -> str | None:
        """The ``<key>_source`` text of the data file, or None."""
        return dict(self.sources).get(key)

    def focal_for(self, state: LensState) -> float:
        """The focal length in mm the state selects (the lens's own one if the state says none)."""
        return self.focal_mm if state.focal_mm is None else float(state.focal_mm)

    def frame_selector_for(self, focal_mm: float | None = None) -> int:
        """Frame-selector bits the lens sets at ``focal_mm`` (Tri-Elmars: per focal setting)."""
        if focal_mm is not None and self.focal_settings_mm and self.frame_selector_settings:
            for f, bits in zip(self.focal_settings_mm, self.frame_selector_settings, strict=True):
                if math.isclose(f, focal_mm):
                    return bits
        return self.frame_selector

    def lens_type_value(self, focal_mm: float | None = None) -> int:
        """Leica's MakerNote ``LensType`` value: code · 4 + frame-selector bits (exiftool splits
        it the same way). Uncoded lenses give 0; a lens known only by a menu entry (exiftool key
        "ID 0") gives ID · 4."""
        if self.code:
            return self.code * 4 + self.frame_selector_for(focal_mm)
        if self.exiftool_key:
            ident, _, bits = self.exiftool_key.partition(" ")
            return int(ident) * 4 + int(bits or 0)
        return 0

    def at_focal(self, focal_mm: float) -> LensProfile:
        """The profile with its optical character for ``focal_mm`` (lensfun zooms: the nearest
        calibrated focal length); other lenses return themselves."""
        if self.lensfun is None:
            return self
        return replace(self, **self.lensfun.character(focal_mm))


@dataclass(frozen=True)
class LensState:
    """What the photographer has set on the lens: aperture (f-number), focus distance (m) and,
    on a lens with several focal lengths, the selected one in mm (None: the lens's own)."""

    f_number: float
    focus_m: float = math.inf
    focal_mm: float | None = None


def check_state(lens: LensProfile, state: LensState) -> LensState:
    """Refuse an aperture outside the lens's range, focus nearer than its minimum, or a focal
    length the lens cannot be set to."""
    lo, hi = lens.max_f, lens.min_f
    if not (math.isfinite(state.f_number) and lo * (1 - 1e-6) <= state.f_number <= hi * (1 + 1e-6)):
        rng = f"f/{lo:g}" if lo == hi else f"f/{lo:g} to f/{hi:g}"
        raise InvalidSetting(
            f"aperture f/{state.f_number:g} is not available on {lens.name}: {rng}"
        )
    if not state.focus_m >= lens.min_focus_m:
        raise InvalidSetting(
            f"{lens.name} focuses no closer than {lens.min_focus_m:g} m (asked {state.focus_m:g} m)"
        )
    if state.focal_mm is not None:
        f = float(state.focal_mm)
        if lens.focal_settings_mm:
            if not any(math.isclose(f, s) for s in lens.focal_settings_mm):
                choices = ", ".join(f"{s:g}" for s in lens.focal_settings_mm)
                raise InvalidSetting(f"{lens.name} can be set to {choices} mm (asked {f:g} mm)")
        elif lens.focal_range_mm is not None:
            a, b = lens.focal_range_mm
            if not a * (1 - 1e-6) <= f <= b * (1 + 1e-6):
                raise InvalidSetting(f"{lens.name} zooms from {a:g} to {b:g} mm (asked {f:g} mm)")
        elif not math.isclose(f, lens.focal_mm):
            raise InvalidSetting(f"{lens.name} is a {lens.focal_mm:g} mm lens (asked {f:g} mm)")
    return state


# ---- data files ----------------------------------------------------------------------------


def lens_data_dir() -> Path:
    """The folder of the shipped lens files."""
    return Path(str(resources.files("mountcam.data") / "lenses"))


@lru_cache(maxsize=64)
def load_lens(lens_id: str) -> LensProfile:
    """A lens profile from ``mountcam/data/lenses/<id>.toml``."""
    path = lens_data_dir() / f"{lens_id}.toml"
    if "/" in lens_id or "\\" in lens_id or not path.is_file():
        raise InvalidSetting(f"no lens '{lens_id}' in the catalogue; see `mountcam lenses`")
    return load_lens_file(path)


def load_lens_file(path: str | Path) -> LensProfile:
    """Read and check one lens file; a malformed file raises :class:`UnreadableFile` naming it."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UnreadableFile(f"lens file {path}: cannot be read ({e.strerror or e})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UnreadableFile(f"lens file {path} is not valid TOML: {e}") from None
    try:
        lens = parse_lens(data)
    except _Bad as e:
        raise UnreadableFile(f"lens file {path}: {e}") from None
    if lens.id != path.stem:
        raise UnreadableFile(f"lens file {path}: id '{lens.id}' differs from the file name")
    return lens


class _Bad(ValueError):
    pass


def _get(d: dict, key: str, kind, where: str = "", default=...):
    if key not in d:
        if default is ...:
            raise _Bad(f"missing key '{where}{key}'")
        return default
    value = d[key]
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Bad(f"'{where}{key}' must be a number (got {value!r})")
        if not math.isfinite(value):
            raise _Bad(f"'{where}{key}' must be finite (got {value!r})")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(f"'{where}{key}' must be an integer (got {value!r})")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise _Bad(f"'{where}{key}' must be true or false (got {value!r})")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise _Bad(f"'{where}{key}' must be a string (got {value!r})")
        return value
    if kind is list:
        if not isinstance(value, list):
            raise _Bad(f"'{where}{key}' must be a list (got {value!r})")
        return value
    if kind is dict:
        if not isinstance(value, dict):
            raise _Bad(f"'{where}{key}' must be a table (got {value!r})")
        return value
    raise AssertionError(kind)


def _floats(d: dict, key: str, where: str = "") -> tuple[float, ...]:
    items = _get(d, key, list, where, default=[])
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise _Bad(f"'{where}{key}' must hold numbers (got {v!r})")
        out.append(float(v))
    return tuple(out)


def _source(table: dict, where: str) -> str:
    src = _get(table, "source", str, where)
    if not src.strip():
        raise _Bad(f"'{where}source' is empty: give the source or 'assumed: <reason>'")
    return src


def parse_lens(d: dict) -> LensProfile:
    """A :class:`LensProfile` from the dictionary of a lens file (raises ``ValueError`` subclass
    with the offending key on bad data; :func:`load_lens_file` adds the file name)."""
    mount = _get(d, "mount", str)
    if mount not in MOUNTS:
        raise _Bad(f"'mount' must be one of {', '.join(MOUNTS)} (got {mount!r})")
    focal = _get(d, "focal_mm", float)
    max_f, min_f = _get(d, "max_f", float), _get(d, "min_f", float)
    min_focus = _get(d, "min_focus_m", float)
    transmittance = _get(d, "transmittance", float)
    if focal <= 0:
        raise _Bad(f"'focal_mm' must be positive (got {focal:g})")
    if not 0 < max_f <= min_f:
        raise _Bad(f"need 0 < max_f <= min_f (got max_f={max_f:g}, min_f={min_f:g})")
    if min_focus < 0:
        raise _Bad(f"'min_focus_m' must not be negative (got {min_focus:g})")
    if not 0 < transmittance <= 1:
        raise _Bad(f"'transmittance' must be in (0, 1] (got {transmittance:g})")
    stops = _floats(d, "stops")
    if any(not max_f * (1 - 1e-6) <= s <= min_f * (1 + 1e-6) for s in stops):
        raise _Bad(f"'stops' must lie within f/{max_f:g} to f/{min_f:g}")
    if list(stops) != sorted(stops):
        raise _Bad("'stops' must be in ascending order")
    code = _get(d, "code", int, default=0)
    if not 0 <= code <= 63:
        raise _Bad(f"'code' is a 6-bit lens code, 0-63 (got {code})")
    frame = _get(d, "frame_selector", int, default=0)
    if not 0 <= frame <= 3:
        raise _Bad(f"'frame_selector' is 2 bits, 0-3 (got {frame})")
    settings = _floats(d, "focal_settings_mm")
    frame_settings = tuple(_get(d, "frame_selector_settings", list, default=[]))
    if not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 3 for v in frame_settings
    ):
        raise _Bad("'frame_selector_settings' must hold 2-bit frame positions, 0-3")
    if settings and not math.isclose(settings[0], focal):
        raise _Bad("'focal_mm' must be the first of 'focal_settings_mm'")
    if frame_settings and len(frame_settings) != len(settings):
        raise _Bad("'frame_selector_settings' needs one entry per focal setting")
    articles = _get(d, "article_numbers", list, default=[])
    if not all(isinstance(a, str) for a in articles):
        raise _Bad("'article_numbers' must be a list of strings")
    sources = []
    for key, value in d.items():
        if key.endswith("_source"):
            if not isinstance(value, str) or not value.strip():
                raise _Bad(f"'{key}' must be a non-empty string")
            sources.append((key.removesuffix("_source"), value))
    return LensProfile(
        id=_get(d, "id", str),
        name=_get(d, "name", str),
        mount=mount,
        focal_mm=focal,
        max_f=max_f,
        min_f=min_f,
        min_focus_m=min_focus,
        transmittance=transmittance,
        stops=stops,
        stepless=_get(d, "stepless", bool, default=False),
        code=code,
        blades=_get(d, "blades", int, default=0),
        focal_settings_mm=settings,
        frame_selector=frame,
        frame_selector_settings=frame_settings,
        article_numbers=tuple(articles),
        exiftool_key=_get(d, "exiftool_key", str, default=None),
        exiftool_name=_get(d, "exiftool_name", str, default=None),
        vignetting=_parse_vignetting(_get(d, "vignetting", dict, default=None)),
        distortion=_parse_distortion(_get(d, "distortion", dict, default=None)),
        lateral_color=_parse_lateral_color(_get(d, "lateral_color", dict, default=None)),
        field_blur=_parse_field_blur(_get(d, "field_blur", dict, default=None)),
        sources=tuple(sources),
        notes=_get(d, "notes", str, default=""),
    )


def _parse_vignetting(t: dict | None) -> Vignetting | None:
    if t is None:
        return None
    w = "vignetting."
    model = _get(t, "model", str, w)
    if model == "pa":
        return _parse_pa_vignetting(t, w)
    if model != "corner-ev":
        raise _Bad(f"'{w}model' must be 'corner-ev' or 'pa' in a data file (got {model!r})")
    points = []
    for p in _get(t, "points", list, w):
        if not isinstance(p, dict):
            raise _Bad(f"'{w}points' must hold tables {{f_number = …, corner_ev = …}}")
        f = _get(p, "f_number", float, w + "points.")
        ev = _get(p, "corner_ev", float, w + "points.")
        if ev < 0:
            raise _Bad(f"'{w}points.corner_ev' must not be negative (got {ev:g})")
        exponent = _get(p, "exponent", float, w + "points.", default=None)
        m8 = _get(p, "m8_corner_ev", float, w + "points.", default=None)
        if exponent is None and m8 is not None and ev > 0 and 0 < m8 < ev:
            exponent = math.log(m8 / ev) / math.log(
                M8_HALF_DIAGONAL_MM / FULL_FRAME_HALF_DIAGONAL_MM
            )
        points.append((f, ev, DEFAULT_VIGNETTING_EXPONENT if exponent is None else exponent))
    if not points:
        raise _Bad(f"'{w}points' is empty")
    if [p[0] for p in points] != sorted(p[0] for p in points):
        raise _Bad(f"'{w}points' must be in ascending f-number")
    return Vignetting(model, tuple(points), _source(t, w))


def _parse_pa_vignetting(t: dict, w: str) -> Vignetting:
    """lensfun's "pa" model in a data file: ``unit_mm`` (the radius where R = 1) and points
    {f_number, k1, k2, k3}."""
    unit = _get(t, "unit_mm", float, w)
    if not unit > 0:
        raise _Bad(f"'{w}unit_mm' must be positive (got {unit:g})")
    points = []
    for p in _get(t, "points", list, w):
        if not isinstance(p, dict):
            raise _Bad(f"'{w}points' must hold tables {{f_number = …, k1 = …, k2 = …, k3 = …}}")
        where = w + "points."
        points.append(
            (
                _get(p, "f_number", float, where),
                _get(p, "k1", float, where),
                _get(p, "k2", float, where, default=0.0),
                _get(p, "k3", float, where, default=0.0),
            )
        )
    if not points:
        raise _Bad(f"'{w}points' is empty")
    if [p[0] for p in points] != sorted(p[0] for p in points):
        raise _Bad(f"'{w}points' must be in ascending f-number")
    v = Vignetting("pa", tuple(points), _source(t, w), unit_mm=unit)
    g = v.relative_illumination(
        np.linspace(0.0, unit / FULL_FRAME_HALF_DIAGONAL_MM, 101), points[0][0]
    )
    if not (np.all(g > 0) and np.all(np.diff(g) <= 1e-9)):
        raise _Bad(f"'{w}points' must give a fall-off that stays positive and never rises")
    return v


def _parse_field_blur(t: dict | None) -> FieldBlur | None:
    if t is None:
        return None
    w = "field_blur."
    model = _get(t, "model", str, w)
    if model != "gaussian":
        raise _Bad(f"'{w}model' must be 'gaussian' (got {model!r})")
    centre = _get(t, "sigma_centre_um", float, w)
    corner = _get(t, "sigma_corner_um", float, w)
    rho = _get(t, "corner_rho", float, w)
    if not (centre >= 0 and corner >= 0 and rho > 0):
        raise _Bad(f"'{w}' needs sigmas >= 0 µm and corner_rho > 0")
    mtf50 = _floats(t, "mtf50_lp_mm", w)
    if mtf50 and len(mtf50) != 2:
        raise _Bad(f"'{w}mtf50_lp_mm' is [centre, corner]")
    return FieldBlur(centre, corner, rho, tuple(mtf50), _source(t, w))


def _parse_distortion(t: dict | None) -> Distortion | None:
    if t is None:
        return None
    w = "distortion."
    model = _get(t, "model", str, w)
    if model != "poly":
        raise _Bad(f"'{w}model' must be 'poly' in a data file (got {model!r})")
    c = _floats(t, "c", w)
    if not c:
        raise _Bad(f"'{w}c' is empty")
    if not c[0] > 0:
        raise _Bad(f"'{w}c' must start with the centre scale c0 > 0 (1 in the catalogue)")
    return Distortion(model, c, _source(t, w))


def _parse_lateral_color(t: dict | None) -> LateralColor | None:
    if t is None:
        return None
    w = "lateral_color."
    model = _get(t, "model", str, w)
    if model != "linear-um":
        raise _Bad(f"'{w}model' must be 'linear-um' in a data file (got {model!r})")
    terms = (_get(t, "red_um", float, w), _get(t, "blue_um", float, w))
    return LateralColor(model, terms, _source(t, w))
