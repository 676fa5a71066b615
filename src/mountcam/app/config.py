"""The user's mountcam settings file: who the photographer is, for every picture's metadata.

Location: ``$MOUNTCAM_CONFIG`` if set, else ``$XDG_CONFIG_HOME/mountcam/config.toml`` (XDG Base
Directory Specification 0.8; ``$XDG_CONFIG_HOME`` defaults to ``~/.config``). The file is
optional; what it may hold::

    [owner]
    artist = "Jane Doe"                       # EXIF Artist, XMP dc:creator
    copyright = "© 2026 Jane Doe. All rights reserved."   # EXIF Copyright, XMP dc:rights

Command-line options (``mountcam shoot --artist … --copyright …``) win over the file; an empty
string on the command line leaves the field out even when the file sets it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from mountcam.errors import UnreadableFile

#: Keys the ``[owner]`` table may hold.
OWNER_KEYS = ("artist", "copyright")


@dataclass(frozen=True)
class Owner:
    """Who takes the pictures: EXIF Artist and Copyright (None: not written)."""

    artist: str | None = None
    copyright: str | None = None


def config_path() -> Path:
    """Where the settings file is looked for (it need not exist)."""
    explicit = os.environ.get("MOUNTCAM_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mountcam" / "config.toml"


def load_owner(path: Path | None = None) -> Owner:
    """The ``[owner]`` table of the settings file; an absent file gives an empty Owner.

    A file that cannot be read, is not TOML, or holds unknown keys or non-text values raises
    :class:`~mountcam.errors.UnreadableFile` naming the file and the key.
    """
    path = config_path() if path is None else Path(path)
    if not path.exists():
        return Owner()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UnreadableFile(f"settings file {path} cannot be read ({e.strerror or e})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UnreadableFile(f"settings file {path} is not valid TOML: {e}") from None
    unknown = sorted(set(data) - {"owner"})
    if unknown:
        raise UnreadableFile(
            f"settings file {path}: unknown section(s) {', '.join(unknown)}; "
            "only [owner] with artist and copyright is understood"
        )
    owner = data.get("owner", {})
    if not isinstance(owner, dict):
        raise UnreadableFile(f"settings file {path}: 'owner' must be a table ([owner])")
    unknown = sorted(set(owner) - set(OWNER_KEYS))
    if unknown:
        raise UnreadableFile(
            f"settings file {path}: unknown key(s) owner.{', owner.'.join(unknown)}; "
            f"allowed: {', '.join(OWNER_KEYS)}"
        )
    for key, value in owner.items():
        if not isinstance(value, str):
            raise UnreadableFile(f"settings file {path}: owner.{key} must be text in quotes")
    return Owner(owner.get("artist") or None, owner.get("copyright") or None)


def resolve_owner(artist: str | None, copyright: str | None) -> Owner:
    """Command-line values over the settings file's (None: take the file's; "": leave out)."""
    from_file = load_owner() if artist is None or copyright is None else Owner()
    return Owner(
        (from_file.artist if artist is None else artist) or None,
        (from_file.copyright if copyright is None else copyright) or None,
    )
