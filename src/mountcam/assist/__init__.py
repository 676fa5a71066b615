"""The photographer's aids, computed on frames: arrays in, arrays out.

- :mod:`.histogram`: the raw histogram per CFA colour on an EV scale below clipping, a DN
  histogram of any Bayer mosaic, and the rendered (display) histogram with luma;
- :mod:`.zebra`: over/under-exposure masks, raw- or rendered-based, and their stripes;
- :mod:`.peaking`: focus peaking from a two-scale edge measure with an automatic threshold;
- :mod:`.waveform`: the luma waveform by column and clipping counts;
- :mod:`.magnifier`: a 1:1 or 2:1 window of the full-resolution readout;
- :mod:`.depth_of_field`: near/far limits and hyperfocal distance for this sensor's circle of
  confusion.

The module knows nothing about lenses, scenes or the twin: a focal length is a number.
"""

from mountcam.assist.depth_of_field import DepthOfField, circle_of_confusion_m, depth_of_field
from mountcam.assist.histogram import (
    RawHistogram,
    luma8,
    raw_histogram,
    raw_histogram_dn,
    rendered_histogram,
)
from mountcam.assist.magnifier import magnifier_window, magnify
from mountcam.assist.peaking import (
    PEAKING_COLOURS,
    PeakingSettings,
    draw_peaking,
    focus_peaking,
    peaking_colour,
)
from mountcam.assist.waveform import clipping_counts, waveform
from mountcam.assist.zebra import draw_zebra, raw_clip_level, zebra_masks

__all__ = [
    "PEAKING_COLOURS",
    "DepthOfField",
    "PeakingSettings",
    "RawHistogram",
    "circle_of_confusion_m",
    "clipping_counts",
    "depth_of_field",
    "draw_peaking",
    "draw_zebra",
    "focus_peaking",
    "luma8",
    "magnifier_window",
    "magnify",
    "peaking_colour",
    "raw_clip_level",
    "raw_histogram",
    "raw_histogram_dn",
    "rendered_histogram",
    "waveform",
    "zebra_masks",
]
