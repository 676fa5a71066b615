"""One exception hierarchy for everything a photographer can get wrong or run into.

Every message is meant to be read by a person at a terminal: it says what is wrong and, where
there is one, the valid range or the way out. The CLI prints ``str(error)`` and exits with
status 2; it never shows a traceback for these.
"""

from __future__ import annotations


class MountcamError(Exception):
    """Base class: a request mountcam cannot carry out, explained in plain words."""


class InvalidSetting(MountcamError, ValueError):
    """A setting outside what the hardware (or the twin of it) can do."""


class SceneError(MountcamError):
    """A scene name that does not exist or a scene description that makes no sense."""


class UnreadableFile(MountcamError):
    """A file that is missing, truncated, corrupt, or not of the expected kind."""


class NoLensAttached(MountcamError):
    """The M module was asked to capture with nothing on its bayonet."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message or "the M module has no lens; attach one, or shoot with the main module"
        )


class LensNotIdentified(InvalidSetting):
    """The M mount holds a lens the body cannot identify (uncoded, or an unknown code) and no
    manual choice was made."""


class OutputExists(MountcamError):
    """Refusing to overwrite a file that is already there."""


class CannotWrite(MountcamError):
    """An output file could not be written (no permission, disk full, ...)."""
