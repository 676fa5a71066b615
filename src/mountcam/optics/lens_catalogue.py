"""The lens catalogue: the shipped lens files and lookup by 6-bit code, id or name.

- :func:`all_lenses` reads every ``mountcam/data/lenses/*.toml`` once and checks that ids and
  6-bit codes are unique across the catalogue (a malformed file is named in the error).
- :func:`lens_by_code` is what the M mount's code reader needs; :func:`find_lens` is what a
  person typing a lens needs (an id, or a unique part of a name).
- ``lensfun:MAKER MODEL`` in :func:`find_lens` reaches lenses adapted from the lensfun
  database (:mod:`mountcam.optics.lensfun`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from mountcam.errors import InvalidSetting, UnreadableFile
from mountcam.optics.lens import LensProfile, lens_data_dir, load_lens_file
from mountcam.optics.lensfun import lensfun_lens

# ---- the shipped catalogue -----------------------------------------------------------------


def all_lenses() -> list[LensProfile]:
    """Every lens of the shipped catalogue (the main module's lens and the M lenses)."""
    return list(_catalogue(str(lens_data_dir())))


@lru_cache(maxsize=4)
def _catalogue(folder: str) -> tuple[LensProfile, ...]:
    return load_catalogue(Path(folder))


def load_catalogue(folder: Path) -> tuple[LensProfile, ...]:
    """All ``*.toml`` lens files in ``folder``, checked for unique ids and 6-bit codes."""
    lenses: list[LensProfile] = []
    by_id: dict[str, Path] = {}
    by_code: dict[int, Path] = {}
    for path in sorted(folder.glob("*.toml")):
        lens = load_lens_file(path)
        if lens.id in by_id:
            raise UnreadableFile(f"lens file {path}: id '{lens.id}' is also in {by_id[lens.id]}")
        by_id[lens.id] = path
        if lens.code:
            if lens.code in by_code:
                raise UnreadableFile(
                    f"lens file {path}: code {lens.code} is also in {by_code[lens.code]}; "
                    "6-bit codes must be unique across the catalogue"
                )
            by_code[lens.code] = path
        lenses.append(lens)
    return tuple(lenses)


def lens_by_code(code: int) -> LensProfile | None:
    """The catalogue lens with this 6-bit code; None for 0 (uncoded) or a code nobody has."""
    if not code:
        return None
    return _by_code(str(lens_data_dir())).get(int(code))


@lru_cache(maxsize=4)
def _by_code(folder: str) -> dict[int, LensProfile]:
    return {lens.code: lens for lens in _catalogue(folder) if lens.code}


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def find_lens(id_or_name: str) -> LensProfile:
    """A lens by its id (exact), or by a case-insensitive part of its name that only one lens
    has (spaces are ignored: "summicron-m 28mm" finds the Summicron-M 28 mm f/2 ASPH.).
    ``lensfun:MAKER MODEL`` looks the lens up in lensfun (:func:`lensfun_lens`)."""
    query = id_or_name.strip()
    if query.casefold().startswith("lensfun:"):
        return lensfun_lens(query.split(":", 1)[1])
    lenses = all_lenses()
    for lens in lenses:
        if lens.id == query:
            return lens
    for lens in lenses:
        if lens.id.casefold() == query.casefold():
            return lens
    key = _squash(query)
    if not key:
        raise InvalidSetting("no lens given; see `mountcam lenses`")
    names = {lens.id: {_squash(lens.name), _squash(lens.exiftool_name or "")} for lens in lenses}
    exact = [lens for lens in lenses if key in names[lens.id]]
    if len(exact) == 1:
        return exact[0]
    hits = [lens for lens in lenses if any(key in n for n in names[lens.id] if n)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        listing = ", ".join(f"{lens.id} ({lens.name})" for lens in hits)
        raise InvalidSetting(f"'{query}' matches {len(hits)} lenses: {listing}; give an id")
    ids = sorted(lens.id for lens in lenses)
    import difflib

    close = difflib.get_close_matches(query.casefold(), ids, n=4, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see `mountcam lenses`"
    raise InvalidSetting(f"no lens '{query}' in the catalogue{hint}")
