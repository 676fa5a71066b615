"""Keep third-party chatter off the terminal: a command's stderr holds mountcam's own lines only.

Libraries report through Python's ``logging`` and ``warnings``. A library that logs without
configuring a handler reaches stderr through logging's last-resort handler: tifffile prints a
``<TiffTag.fromfile> raised TiffFileError(...)`` line for every damaged tag of a truncated file,
before the one line that says what is wrong. Warnings of other packages (deprecations, optional
features missing) print two lines each. Neither helps a photographer, so the ``mountcam``
command drops both; mountcam's own warnings are kept.
"""

from __future__ import annotations

import logging
import warnings


def silence_third_party() -> None:
    """Drop log records and warnings that do not come from mountcam (idempotent)."""
    root = logging.getLogger()
    if not any(isinstance(h, logging.NullHandler) for h in root.handlers):
        # A handler on the root keeps records away from logging.lastResort (stderr).
        root.addHandler(logging.NullHandler())
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("default", module=r"mountcam(\.|$)")
