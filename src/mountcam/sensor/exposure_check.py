"""Is a frame usable? Warn about frames that are mostly clipped or nearly black.

A shutter typed as ``20`` when 1/20 was meant gives a frame that is white everywhere, and
nothing in a DNG says so until it is developed. The check reads the raw frame only (what the
body has): the share of photosites at the white level, and how bright its brightest part is (a
scene may be dark around a lit subject; a frame whose brightest 1 % is still near black holds
nothing).
"""

from __future__ import annotations

import numpy as np

from mountcam.sensor.rawframe import RawFrame

#: More than this share of photosites at white: "mostly clipped".
MOSTLY_CLIPPED = 0.5
#: The brightest 1 % of photosites below this share of the range between black and white:
#: "nearly black" (1/256, 8 EV under clipping: 15 DN at 12 bits).
NEARLY_BLACK = 1.0 / 256.0
#: Photosites looked at (a regular subsample of the mosaic): enough for shares to 0.1 %.
_SAMPLES = 1 << 18


def exposure_warning(frame: RawFrame) -> str | None:
    """One line saying what is wrong with the exposure of ``frame``, or None if nothing is."""
    mosaic = frame.mosaic
    step = max(1, int(np.sqrt(mosaic.size / _SAMPLES)))
    if step > 1 and step % 2 == 0:
        step += 1  # an even step would see one CFA colour only; an odd one visits all four
    sites = mosaic[::step, ::step]
    black = float(np.mean(frame.black_level_dn))
    white = float(frame.white_level_dn)
    clipped = float(np.count_nonzero(sites >= white)) / sites.size
    if clipped > MOSTLY_CLIPPED:
        return (
            f"{100 * clipped:.0f} % of the frame is clipped at white: shorten the shutter, "
            "stop down or lower the ISO"
        )
    level = (float(np.percentile(sites, 99.0)) - black) / (white - black)
    if level < NEARLY_BLACK:
        return (
            f"the frame is nearly black (its brightest 1 % at {100 * max(level, 0.0):.2f} % of "
            "the raw range): lengthen the shutter, open up or raise the ISO"
        )
    return None
