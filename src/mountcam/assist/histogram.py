"""Histograms for the live view and for files: the raw one (what the DNG will hold) and the
rendered one (what the screen shows).

**Raw histogram.** Per CFA colour, straight from the mosaic, on an exposure-value scale
below clipping: a sample with black-subtracted value ``x = (DN − black) / (white − black)``
sits at ``log2(x)`` EV (0 EV is the clip point, −1 EV is half of it). This is the histogram
that says how much headroom the *raw file* has, which the usual JPEG histogram hides behind
white balance, the tone curve and the colour matrix (a JPEG histogram can clip a channel
that the raw file still holds, and show headroom in one the raw has already clipped).
Samples at or above the white level are counted as *clipped*; samples at or below black (no
signal, noise below zero) as *floor*; neither is put in a bin.

**DN histogram** (``mountcam inspect --histogram``): counts of raw DN values per CFA colour
over caller-given bin edges, both greens in G, over whatever mosaic (area) it is given —
the same counts ``numpy.histogram`` gives on each colour's samples.

**Rendered histogram**: 256-bin counts of the 8-bit display image's R, G, B and its luma
Y' = 0.2126 R' + 0.7152 G' + 0.0722 B' (ITU-R BT.709-6 §3.2, on the encoded values, as
cameras' luminance histograms are).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Rec. 709 luma weights (ITU-R BT.709-6, item 3.2).
LUMA_WEIGHTS = (0.2126, 0.7152, 0.0722)

#: The colours a CFA pattern letter stands for, in the order histograms report them.
CHANNELS = ("R", "G", "B")


@dataclass(frozen=True)
class RawHistogram:
    """Counts per CFA colour over ``edges_ev`` (EV below clipping, ascending, ending at 0).

    ``counts[c]`` has ``len(edges_ev) - 1`` entries; ``clipped[c]`` counts samples at or above
    the white level, ``floor[c]`` samples at or below black, ``total[c]`` all samples of the
    colour. ``headroom_ev[c]`` is how far the brightest unclipped sample of the colour is
    below clipping (``-log2`` of its value), or 0 when the colour clipped.
    """

    edges_ev: np.ndarray
    counts: dict[str, np.ndarray]
    clipped: dict[str, int]
    floor: dict[str, int]
    total: dict[str, int]
    headroom_ev: dict[str, float]

    def clipped_fraction(self, channel: str) -> float:
        return self.clipped[channel] / max(self.total[channel], 1)

    def as_dict(self) -> dict:
        return {
            "edges_ev": [float(e) for e in self.edges_ev],
            **{c: [int(v) for v in self.counts[c]] for c in CHANNELS},
            "clipped": dict(self.clipped),
            "floor": dict(self.floor),
            "total": dict(self.total),
            "headroom_ev": dict(self.headroom_ev),
        }


def _check_pattern(cfa_pattern: str) -> str:
    pattern = cfa_pattern.upper()
    if len(pattern) != 4 or set(pattern) - set("RGB") or not set("RGB") <= set(pattern):
        raise ValueError(
            f"CFA pattern {cfa_pattern!r} is not a 2×2 Bayer pattern of R, G and B (e.g. RGGB)"
        )
    return pattern


def _colour_planes(mosaic: np.ndarray, pattern: str) -> dict[str, list[np.ndarray]]:
    """Each colour's sample planes (strided views, no copies), keyed R, G, B."""
    if mosaic.ndim != 2:
        raise ValueError(f"a mosaic is (H, W); got shape {mosaic.shape}")
    planes: dict[str, list[np.ndarray]] = {c: [] for c in CHANNELS}
    for i, letter in enumerate(pattern):
        planes[letter].append(mosaic[i // 2 :: 2, i % 2 :: 2])
    return planes


def raw_histogram(
    mosaic: np.ndarray,
    cfa_pattern: str,
    black_level_dn: float | tuple[float, float, float, float],
    white_level_dn: float,
    *,
    lowest_ev: float = -12.0,
    bins_per_ev: int = 4,
) -> RawHistogram:
    """The raw histogram of a Bayer ``mosaic`` (DN, any integer or float dtype).

    ``black_level_dn`` is one value or four in pattern order (as
    :class:`~mountcam.sensor.rawframe.RawFrame` and DNG BlackLevel give it). Bins run from
    ``lowest_ev`` to 0 EV in steps of ``1/bins_per_ev``; samples darker than ``lowest_ev`` (but
    above black) fall in the first bin, so every sample is counted exactly once: in a bin, as
    clipped, or as floor.
    """
    pattern = _check_pattern(cfa_pattern)
    if not lowest_ev < 0 or bins_per_ev < 1:
        raise ValueError("the histogram needs lowest_ev < 0 and at least one bin per EV")
    blacks = np.broadcast_to(np.asarray(black_level_dn, np.float64), (4,))
    if float(white_level_dn) <= float(blacks.max()):
        raise ValueError(
            f"white level {white_level_dn} DN is not above the black level {blacks.max()} DN"
        )
    if not np.issubdtype(mosaic.dtype, np.integer):
        raise ValueError(f"a raw mosaic holds integer DN; got {mosaic.dtype}")
    n_bins = int(round(-lowest_ev * bins_per_ev))
    edges = np.linspace(lowest_ev, 0.0, n_bins + 1)
    counts = {c: np.zeros(n_bins, np.int64) for c in CHANNELS}
    clipped = dict.fromkeys(CHANNELS, 0)
    floor = dict.fromkeys(CHANNELS, 0)
    total = dict.fromkeys(CHANNELS, 0)
    brightest = dict.fromkeys(CHANNELS, 0.0)
    white = float(white_level_dn)
    top_dn = int(max(white, int(mosaic.max()) if mosaic.size else 0))
    dn = np.arange(top_dn + 1, dtype=np.float64)
    for i, letter in enumerate(pattern):
        # Count DN values first (one pass over the plane), then fold those counts into EV bins
        # with a DN -> bin table: the live view's histogram costs one bincount per plane.
        plane = mosaic[i // 2 :: 2, i % 2 :: 2]
        per_dn = np.bincount(plane.ravel(), minlength=top_dn + 1)
        black = float(blacks[i])
        with np.errstate(divide="ignore", invalid="ignore"):
            ev = np.log2((dn - black) / (white - black))
        table = np.floor((ev - lowest_ev) * bins_per_ev)
        table = np.clip(np.nan_to_num(table, nan=0.0, neginf=0.0), 0, n_bins - 1) + 1
        table[dn <= black] = 0  # floor
        table[dn >= white] = n_bins + 1  # clipped
        per_bin = np.bincount(table.astype(np.intp), weights=per_dn, minlength=n_bins + 2)
        per_bin = per_bin.astype(np.int64)
        counts[letter] += per_bin[1 : n_bins + 1]
        floor[letter] += int(per_bin[0])
        clipped[letter] += int(per_bin[n_bins + 1])
        total[letter] += int(plane.size)
        signal_dn = np.flatnonzero((per_dn > 0) & (dn > black) & (dn < white))
        if signal_dn.size:
            top = (float(signal_dn[-1]) - black) / (white - black)
            brightest[letter] = max(brightest[letter], top)
    headroom = {
        c: 0.0 if clipped[c] or brightest[c] <= 0 else float(-np.log2(brightest[c]))
        for c in CHANNELS
    }
    return RawHistogram(edges, counts, clipped, floor, total, headroom)


def raw_histogram_dn(
    mosaic: np.ndarray, cfa_pattern: str, edges_dn: np.ndarray | list[float]
) -> dict[str, np.ndarray]:
    """Counts of raw DN values per CFA colour over ``edges_dn`` (both greens in G).

    The bins follow :func:`numpy.histogram`: half-open ``[e_i, e_{i+1})`` except the last,
    which is closed; values outside the edges are not counted.
    """
    pattern = _check_pattern(cfa_pattern)
    edges = np.asarray(edges_dn, np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("histogram bin edges must be at least two strictly increasing values")
    out = {}
    for colour, planes in _colour_planes(mosaic, pattern).items():
        total = np.zeros(edges.size - 1, np.int64)
        for plane in planes:
            total += np.histogram(plane, bins=edges)[0]
        out[colour] = total
    return out


def luma8(rgb8: np.ndarray) -> np.ndarray:
    """Rec. 709 luma of an (H, W, 3) uint8 image, uint8, rounded."""
    if rgb8.ndim != 3 or rgb8.shape[2] != 3 or rgb8.dtype != np.uint8:
        raise ValueError(f"a display image is (H, W, 3) uint8; got {rgb8.shape} {rgb8.dtype}")
    import cv2

    # OpenCV's transform rounds to nearest and saturates, in one pass over the pixels.
    y = cv2.transform(rgb8, np.array([LUMA_WEIGHTS], np.float32))
    return y if y.ndim == 2 else y[..., 0]


def rendered_histogram(rgb8: np.ndarray, luma: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """256-bin counts of the display image's R, G, B and luma Y (pass ``luma`` if computed)."""
    if luma is None:
        luma = luma8(rgb8)
    if rgb8.shape[0] * rgb8.shape[1] >= 1 << 24:  # cv2 counts in float32: exact below 2**24
        out = {
            c: np.bincount(rgb8[..., i].ravel(), minlength=256).astype(np.int64)
            for i, c in enumerate(CHANNELS)
        }
        out["Y"] = np.bincount(luma.ravel(), minlength=256).astype(np.int64)
        return out
    import cv2

    # OpenCV counts an interleaved channel in place (np.bincount needs a strided copy of each):
    # ~5x faster on a live-view frame.
    rgb8 = np.ascontiguousarray(rgb8)
    out = {
        c: cv2.calcHist([rgb8], [i], None, [256], [0, 256]).ravel().astype(np.int64)
        for i, c in enumerate(CHANNELS)
    }
    out["Y"] = cv2.calcHist([np.ascontiguousarray(luma)], [0], None, [256], [0, 256])
    out["Y"] = out["Y"].ravel().astype(np.int64)
    return out
