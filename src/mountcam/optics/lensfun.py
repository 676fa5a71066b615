"""Lenses from the lensfun database (``pip install lensfunpy``), adapted to the M bayonet.

:func:`lensfun_lens` / :func:`search_lensfun` turn a lensfun entry into an ``adapted``
:class:`~mountcam.optics.lens.LensProfile` whose distortion, TCA and vignetting stay in
lensfun's models and normalisation (see :class:`~mountcam.optics.lens.LensfunCalibration`,
which also picks the character for a focal length of a zoom). A lens adapts only from a mount
whose flange distance is longer than the M's 27.8 mm.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from mountcam.errors import InvalidSetting
from mountcam.optics.lens import LensfunCalibration, LensProfile

#: Flange focal distances (mm) of lensfun mount names. A lens adapts to the M bayonet (27.8 mm)
#: only from a mount with a longer flange distance; mirrorless mounts and fixed lenses cannot.
FLANGE_MM = {
    "Leica M": 27.8,
    "M39/1": 28.8,
    "Leica R": 47.0,
    "Canon EF": 44.0,
    "Canon EF-S": 44.0,
    "Canon FD": 42.0,
    "Canon FL": 42.0,
    "Nikon F": 46.5,
    "Nikon F AI": 46.5,
    "Nikon F AI-S": 46.5,
    "Nikon F AF": 46.5,
    "Sony Alpha": 44.5,
    "Minolta AF": 44.5,
    "Minolta MD": 43.5,
    "Sigma SA": 44.0,
    "Pentax K": 45.46,
    "Pentax KA": 45.46,
    "Pentax KAF": 45.46,
    "Pentax KAF2": 45.46,
    "Pentax KAF3": 45.46,
    "Pentax KAF4": 45.46,
    "M42": 45.46,
    "Olympus OM": 46.0,
    "Contax/Yashica": 45.5,
    "4/3 System": 38.67,
    "DKL": 44.7,
    "T2": 55.0,
    "Mamiya 645": 63.3,
    "Pentax 645": 70.87,
    "Kiev 88": 74.1,
    "Hasselblad V": 74.9,
    "Sony E": 18.0,
    "Canon EF-M": 18.0,
    "Canon RF": 20.0,
    "Nikon Z": 16.0,
    "Nikon CX": 17.0,
    "Fujifilm X": 17.7,
    "Fujifilm G": 26.7,
    "Micro 4/3 System": 19.25,
    "Leica L": 20.0,
    "Samsung NX": 25.5,
    "Samsung NX mini": 6.95,
}
M_FLANGE_MM = 27.8
DEBIAN_LENSFUN_DIR = Path("/usr/share/lensfun/version_1")


def lensfun_available() -> bool:
    """True when lensfunpy imports and its database holds lenses."""
    try:
        return bool(_lensfun_index())
    except InvalidSetting:
        return False


def adaptable(mounts: tuple[str, ...]) -> bool:
    """Whether a lens of these lensfun mounts can be put on the M bayonet (with an adapter)."""
    return any(FLANGE_MM.get(m, 0.0) >= M_FLANGE_MM for m in mounts)


@lru_cache(maxsize=1)
def _lensfun_db():
    try:
        import lensfunpy
    except ImportError:
        raise InvalidSetting(
            "adapted lenses need lensfun: pip install lensfunpy (its database comes with it)"
        ) from None
    db = lensfunpy.Database()
    files = sorted((Path(lensfunpy.__file__).parent / "db_files").glob("*.xml"))
    name = f"lensfunpy {getattr(lensfunpy, '__version__', '?')} bundled database"
    if not db.lenses and DEBIAN_LENSFUN_DIR.is_dir():
        files = sorted(DEBIAN_LENSFUN_DIR.glob("*.xml"))
        paths = [str(p) for p in files]
        db = lensfunpy.Database(paths=paths, load_common=False, load_bundled=False)
        name = f"lensfun database {DEBIAN_LENSFUN_DIR}"
    if not db.lenses:
        raise InvalidSetting("lensfunpy found no lens database")
    return db, tuple(files), name


def _aspect_ratios(files: tuple[Path, ...]) -> dict[tuple[str, str], float]:
    """(maker, model) → the calibration frame's aspect ratio (lensfun's default is 3:2)."""
    import xml.etree.ElementTree as ET

    out: dict[tuple[str, str], float] = {}
    for path in files:
        try:
            root = ET.parse(path).getroot()
        except (ET.ParseError, OSError):
            continue
        for lens in root.iter("lens"):
            text = lens.findtext("aspect-ratio")
            if not text:
                continue
            maker = next((m.text for m in lens.findall("maker") if "lang" not in m.attrib), "")
            model = next((m.text for m in lens.findall("model") if "lang" not in m.attrib), "")
            a, _, b = text.partition(":")
            try:
                ratio = float(a) / float(b) if b else float(a)
            except ValueError:
                continue
            out[((maker or "").strip(), (model or "").strip())] = ratio
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


@lru_cache(maxsize=1)
def _lensfun_index() -> tuple[tuple[str, object, float], ...]:
    """(id, lensfunpy lens, aspect ratio) for every lensfun lens, ids made unique."""
    db, files, _ = _lensfun_db()
    aspects = _aspect_ratios(files)
    out: list[tuple[str, object, float]] = []
    seen: set[str] = set()
    for lf in db.lenses:
        base = "lensfun:" + _slug(f"{lf.maker} {lf.model}")
        ident = base if base not in seen else f"{base}-crop{lf.crop_factor:g}"
        n = 2
        while ident in seen:
            ident, n = f"{base}-{n}", n + 1
        seen.add(ident)
        out.append((ident, lf, aspects.get((lf.maker.strip(), lf.model.strip()), 1.5)))
    return tuple(out)


def search_lensfun(
    query: str, limit: int | None = 50, adaptable_only: bool = True
) -> list[LensProfile]:
    """lensfun lenses whose "maker model" contains every word of ``query`` (case-insensitive),
    as adapted profiles; by default only those that fit the M bayonet with an adapter."""
    words = query.casefold().split()
    out: list[LensProfile] = []
    for ident, lf, aspect in _lensfun_index():
        text = f"{lf.maker} {lf.model}".casefold()
        if not all(w in text or w in ident for w in words):
            continue
        if adaptable_only and not adaptable(tuple(lf.mounts)):
            continue
        try:
            out.append(_adapted_profile(ident, lf, aspect))
        except InvalidSetting:
            continue
        if limit is not None and len(out) >= limit:
            break
    return out


def lensfun_lens(maker_model: str) -> LensProfile:
    """An ``adapted`` profile for a lensfun lens: its id (``lensfun:…``), its exact
    "maker model" or model name, or words only one lensfun lens matches."""
    query = maker_model.strip()
    if query.casefold().startswith("lensfun:"):
        query = query.split(":", 1)[1].strip()
    index = _lensfun_index()
    wanted = query.casefold()
    hits = [
        entry
        for entry in index
        if entry[0] == f"lensfun:{wanted}"
        or f"{entry[1].maker} {entry[1].model}".casefold() == wanted
        or entry[1].model.casefold() == wanted
    ]
    if not hits:
        words = wanted.split()
        hits = [
            e
            for e in index
            if words and all(w in f"{e[1].maker} {e[1].model}".casefold() for w in words)
        ]
    if not hits:
        raise InvalidSetting(f"no lensfun lens matches '{maker_model}'")
    if len(hits) > 1:
        names = ", ".join(f"{e[0]} ({e[1].maker} {e[1].model})" for e in hits[:10])
        more = f" and {len(hits) - 10} more" if len(hits) > 10 else ""
        raise InvalidSetting(f"'{maker_model}' matches {len(hits)} lensfun lenses: {names}{more}")
    ident, lf, aspect = hits[0]
    if not adaptable(tuple(lf.mounts)):
        mounts = ", ".join(lf.mounts) or "no mount"
        raise InvalidSetting(
            f"{lf.maker} {lf.model} ({mounts}) cannot be adapted to the M bayonet: only lenses "
            f"for mounts with a flange distance above the M's {M_FLANGE_MM} mm can"
        )
    return _adapted_profile(ident, lf, aspect)


#: The f-number in a lens name: "f/1.4", "1:1.4", "F1.4", or Zeiss's "1,4/50" (f-number/focal).
_F_IN_NAME = re.compile(
    r"(?:f/|1:|\bF(?=\d))\s*(\d+(?:[.,]\d+)?)|\b(\d+(?:[.,]\d+)?)/\d{2,3}\b", re.I
)

_DIST_TERMS = {"PTLENS": ("ptlens", 3), "POLY3": ("poly3", 1), "POLY5": ("poly5", 2)}
_TCA_TERMS = {"LINEAR": ("linear", 2), "POLY3": ("poly3", 6)}


def _calibration(lf, aspect: float, database: str) -> LensfunCalibration:
    dist = tuple(
        (
            float(c.focal),
            _DIST_TERMS[c.model.name][0],
            tuple(c.terms[: _DIST_TERMS[c.model.name][1]]),
        )
        for c in lf.calib_distortion
        if c.model.name in _DIST_TERMS
    )
    tca = tuple(
        (float(c.focal), _TCA_TERMS[c.model.name][0], tuple(c.terms[: _TCA_TERMS[c.model.name][1]]))
        for c in lf.calib_tca
        if c.model.name in _TCA_TERMS
    )
    vig = tuple(
        (float(c.focal), float(c.aperture), float(c.distance), *map(float, c.terms[:3]))
        for c in lf.calib_vignetting
        if c.model.name == "PA"
    )
    return LensfunCalibration(
        maker=lf.maker,
        model=lf.model,
        mounts=tuple(lf.mounts),
        crop_factor=float(lf.crop_factor),
        aspect_ratio=float(aspect),
        lens_type=lf.type.name.lower(),
        distortion=dist,
        tca=tca,
        vignetting=vig,
        database=database,
    )


#: Full and half stops as engraved / clicked on aperture rings.
_MARKS = (1.0, 1.2, 1.4, 1.7, 2.0, 2.4, 2.8, 3.4, 4.0, 4.8, 5.6, 6.7, 8.0, 9.5, 11.0, 13.0)
_MARKS += (16.0, 19.0, 22.0, 27.0, 32.0, 38.0, 45.0, 64.0)


def _half_stops(max_f: float, min_f: float) -> tuple[float, ...]:
    out = [max_f] + [s for s in _MARKS if max_f * 1.1 <= s <= min_f + 1e-9]
    if out[-1] < min_f:
        out.append(min_f)
    return tuple(out)


def _adapted_profile(ident: str, lf, aspect: float) -> LensProfile:
    _, _, database = _lensfun_db()
    name = f"{lf.maker} {lf.model}"
    max_f = lf.min_aperture  # lensfun's MinAperture: the smallest f-number (widest opening)
    aperture_source = "lensfun MinAperture"
    m = _F_IN_NAME.search(lf.model)
    named = float((m.group(1) or m.group(2)).replace(",", ".")) if m else None
    # Some lensfun entries give as MinAperture the widest aperture they were calibrated at
    # (the Planar 1,4/50 ZF.2 says 4.0); the name's f-number is the lens's own.
    if named is not None and (not max_f or named < max_f):
        max_f, aperture_source = named, "parsed from the lensfun model name"
    if not max_f:
        raise InvalidSetting(f"lensfun gives no aperture for {name}")
    min_f = lf.max_aperture if lf.max_aperture and lf.max_aperture > max_f else None
    min_f_source = "lensfun MaxAperture"
    if min_f is None:
        min_f, min_f_source = max(22.0, float(max_f)), "assumed: f/22 (lensfun has no MaxAperture)"
    focal = float(lf.min_focal)
    zoom = lf.max_focal and lf.max_focal > lf.min_focal * (1 + 1e-6)
    cal = _calibration(lf, aspect, database)
    spec = (
        f"lensfun: focal length {focal:g} mm; widest f-number from {aperture_source}; "
        f"smallest: {min_f_source}"
    )
    sources = (
        ("spec", spec),
        (
            "min_focus",
            "assumed: 10x the longest focal length, typical of SLR lenses; lensfun has no close-focus data",
        ),
        ("stops", "assumed: half stops from the widest to the smallest f-number"),
        ("transmittance", "assumed: ~0.90 for a multi-coated lens"),
        ("code", "adapted lens: no 6-bit code (choose it in lens detection)"),
    )
    return LensProfile(
        id=ident,
        name=name,
        mount="adapted",
        focal_mm=focal,
        max_f=float(max_f),
        min_f=float(min_f),
        min_focus_m=round(10.0 * float(lf.max_focal or focal) * 1e-3, 2),
        transmittance=0.9,
        stops=_half_stops(float(max_f), float(min_f)),
        code=None,
        blades=0,
        focal_range_mm=(focal, float(lf.max_focal)) if zoom else None,
        sources=sources,
        notes=f"lensfun mounts: {', '.join(lf.mounts) or 'none'}; projection {cal.lens_type}",
        lensfun=cal,
        **cal.character(focal),
    )
