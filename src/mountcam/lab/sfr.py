"""Slanted-edge MTF: the e-SFR of ISO 12233:2017 Annex D, on any image or DNG.

:func:`slanted_edge_mtf` measures the spatial frequency response (SFR, the system MTF up to
and beyond Nyquist) from a region of interest (ROI) that holds one straight, slightly tilted
edge. The steps are those of ISO 12233:2017 Annex D and of P. D. Burns's reference
implementations ``sfrmat3`` / ``sfrmat4`` (Burns, "Slanted-edge MTF for digital camera and
scanner analysis", Proc. IS&T PICS 2000, 135–138; sfrmat4 adds the polynomial edge fit):

1. Orientation: a near-horizontal edge is transposed to a near-vertical one.
2. Edge location per row: the 1-D derivative of the row with the FIR [−½, +½] (its samples
   lie half-way between pixels), weighted by a Hamming window, and its centroid. A first pass
   centres the window on the ROI, a second on the edge fitted after the first pass.
3. A polynomial fit of the centroids against the row (degree 1 as in the standard; degree 2
   as in sfrmat4 for a slightly curved edge), giving the edge angle θ.
4. Only the first rows that hold a whole number of phase cycles are kept (the edge moves
   across a whole number of pixels), so every sub-pixel phase is equally represented.
5. Projection: every pixel's signed distance from the fitted edge, measured along the edge
   normal, is binned into 1/``oversampling``-pixel bins: the ``oversampling``× (4×) edge
   spread function (ESF). Bins that received no pixel are filled by linear interpolation from
   their neighbours (their number is reported).
6. Line spread function (LSF): the derivative of the ESF with the FIR [−½, 0, +½].
7. A Hamming window centred on the LSF peak, the DFT, its modulus normalised to 1 at zero
   frequency.
8. Correction for the derivative filter: division by its frequency response,
   sinc(2ν/oversampling) (``np.sinc(x) = sin(πx)/(πx)``), capped at 10 as in sfrmat.

Frequencies are in cycles per pixel *along the edge normal* — what ISO 12233 reports (sfrmat
projects along the row and rescales the frequency by cos θ; projecting onto the normal
directly is the same). The result runs from 0 to ``oversampling``/4 cycles per pixel (1 cy/px
at 4×, twice the Nyquist frequency of the pixel grid).

Binning has two side effects that Annex D leaves in the result. Averaging each bin over its
width multiplies the MTF by sinc(ν/oversampling): 0.974 at Nyquist for 4× bins (−2.6 %),
0.90 at 1 cy/px. And where tan θ is close to a simple fraction (1/4 at 14°, 1/3 at 18.4°,
...) the sub-pixel phases of the rows cluster, so the bins sample the ESF unevenly; the error
depends on the angle and the ROI height (a few % at Nyquist at 14° or 20° with 128 rows;
``SfrResult.bin_offset_rms_px`` flags it). ``correct_binning=True`` removes both — each
bin's mean is placed at the mean position of its samples and resampled onto the regular
grid, and the MTF is divided by sinc(ν/oversampling) — a departure from Annex D, recorded in
``SfrResult.binning_corrected``. Keep the default to compare with other ISO 12233 tools; turn
it on to compare with a physical prediction (:mod:`mountcam.lab.mtf_prediction`).

:func:`mtf_from_dng` does the same on one colour plane of a raw Bayer DNG (see there for the
frequency convention).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from mountcam.errors import MountcamError
from mountcam.lab.mtf_prediction import mtf50_of

__all__ = ["DNG_CHANNELS", "SfrError", "SfrResult", "mtf_from_dng", "slanted_edge_mtf"]

#: Smallest ROI side, pixels (of the analysed image).
MIN_ROI_PX = 16
#: Accepted edge angles from the nearest pixel axis, degrees. Below 1° there are too few
#: sub-pixel phases in a practical ROI; near 45° vertical and horizontal cannot be told apart.
MIN_ANGLE_DEG, MAX_ANGLE_DEG = 1.0, 44.0
#: The ESF must reach at least this far (pixels along the normal) on both sides of the edge.
MIN_HALF_WIDTH_PX = 4.0
#: Largest share of empty ESF bins that interpolation may fill.
MAX_EMPTY_BIN_FRACTION = 0.1
#: Largest RMS distance (pixels) of the per-row edge locations from the fitted edge.
MAX_EDGE_RESIDUAL_PX = 1.0
#: The edge step must exceed this many times the per-pixel noise.
MIN_STEP_OVER_NOISE = 4.0
#: Cap of the derivative correction (as sfrmat's fir2fix).
MAX_DERIVATIVE_CORRECTION = 10.0
#: ``mtf_from_dng`` channels: one Bayer colour plane, or the white-balanced 2×2 quad average.
DNG_CHANNELS = ("G", "G1", "G2", "R", "B", "luminance")


class SfrError(MountcamError, ValueError):
    """A region of interest in which no slanted-edge MTF can be measured, and why."""


@dataclass
class SfrResult:
    """A slanted-edge measurement.

    ``freq_cy_px`` / ``mtf``: the SFR along the edge normal, frequencies in cycles per pixel
    (per *full-resolution* pixel for :func:`mtf_from_dng`; ``sample_pitch_px`` says how far
    apart, in those pixels, the analysed samples were: 1, or 2 for a Bayer colour plane).
    ``angle_deg``: the edge's tilt from the nearest pixel axis (from the vertical for a
    ``"vertical"`` edge, counter-clockwise as the image is viewed, row 0 at the top, is
    positive; from the horizontal for a ``"horizontal"`` one, the sign then measured in the
    transposed image). ``mtf50_cy_px``: the first frequency where the SFR falls to 0.5, by
    linear interpolation (NaN if it does not within the range). ``esf`` / ``lsf`` on
    ``esf_position_px`` (distance from the edge along its normal, pixels; positive on the
    right of a vertical edge / below a horizontal one): the binned edge spread function as
    measured, and its derivative per pixel with the sign made positive (dark to light).
    """

    freq_cy_px: np.ndarray = field(repr=False)
    mtf: np.ndarray = field(repr=False)
    angle_deg: float
    mtf50_cy_px: float
    esf: np.ndarray = field(repr=False)
    lsf: np.ndarray = field(repr=False)
    esf_position_px: np.ndarray = field(repr=False)
    orientation: str
    oversampling: int
    #: rows (along the edge) used: a whole number of phase cycles.
    rows_used: int
    #: ESF bins that received no pixel and were interpolated.
    empty_bins: int
    #: RMS distance (pixels) between the ESF bins' centres and the mean positions of the
    #: pixels binned into them. Near 0 (0.003 px at 5°) when the angle spreads the sub-pixel
    #: phases evenly; above about 0.01 px (tan θ close to 1/4, 1/3, ...) the ISO ESF is
    #: distorted and ``correct_binning=True`` or another angle is advised.
    bin_offset_rms_px: float
    #: the step across the edge (light side minus dark side, image units, signed: positive
    #: when the image gets lighter to the right of a vertical / below a horizontal edge) and
    #: the per-pixel noise (robust standard deviation along the edge).
    edge_step: float
    noise_rms: float
    #: edge column as a polynomial of the row (``np.polyval`` order), in the analysed ROI
    #: (transposed for a horizontal edge), in its samples.
    edge_fit: tuple[float, ...]
    binning_corrected: bool = False
    sample_pitch_px: float = 1.0
    #: for :func:`mtf_from_dng`: which plane was analysed.
    channel: str | None = None

    def mtf_at(self, nu_cy_px) -> np.ndarray | float:
        """The SFR at ``nu_cy_px`` (cycles per pixel), interpolated linearly."""
        value = np.interp(nu_cy_px, self.freq_cy_px, self.mtf, right=np.nan)
        return float(value) if np.ndim(value) == 0 else value


def slanted_edge_mtf(
    image: np.ndarray,
    *,
    roi: tuple[int, int, int, int] | None = None,
    oversampling: int = 4,
    edge_fit_degree: int = 1,
    correct_binning: bool = False,
) -> SfrResult:
    """The e-SFR (ISO 12233:2017 Annex D) of a slanted edge in ``image``.

    ``image``: (H, W) linear values (raw DN less black level, or any linear image; a
    gamma-encoded image gives the SFR of the encoded signal, not the camera's MTF). ``roi``:
    ``(top, left, height, width)`` in pixels, default the whole image; it must hold one
    straight edge tilted 1–44° (ISO 12233 recommends about 5°) from a pixel axis, either
    polarity, with some flat field on both sides. ``oversampling``: ESF bins per pixel (4 in
    the standard). ``edge_fit_degree``: 1 (the standard) or 2 (sfrmat4, for a slightly curved
    edge). ``correct_binning``: remove the two binning errors that Annex D leaves in (see the
    module docstring); off by default, for results comparable with other ISO 12233 tools.

    Raises :class:`SfrError` (a ``ValueError`` and a ``MountcamError``) for an ROI that is too
    small or outside the image, has no edge, or an edge at an unusable angle.
    """
    a = np.asarray(image)
    if a.ndim != 2:
        raise SfrError(f"slanted-edge MTF needs one plane (H, W); got an array of shape {a.shape}")
    a = _crop(a, roi).astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise SfrError("the ROI holds NaN or infinite values; pick a region of valid pixels")
    if int(oversampling) != oversampling or not 1 <= oversampling <= 16:
        raise SfrError(f"oversampling must be a whole number from 1 to 16 (got {oversampling})")
    oversampling = int(oversampling)
    if edge_fit_degree not in (1, 2):
        raise SfrError(f"edge_fit_degree must be 1 or 2 (got {edge_fit_degree})")
    if min(a.shape) < MIN_ROI_PX:
        raise SfrError(
            f"ROI of {a.shape[0]}×{a.shape[1]} px is too small; the slanted-edge method needs "
            f"at least {MIN_ROI_PX}×{MIN_ROI_PX} px (a practical ROI is about 60 px across the "
            "edge and 100 px or more along it)"
        )

    # 1. Orientation: an edge at θ from the vertical puts gradient energy in the ratio
    # cos²θ : sin²θ into d/dx and d/dy, whatever the ROI's shape; less each one's noise share.
    dx, dy = np.diff(a, axis=1), np.diff(a, axis=0)
    energy_x = np.sum(dx * dx) - dx.size * (1.4826 * np.median(np.abs(dx))) ** 2
    energy_y = np.sum(dy * dy) - dy.size * (1.4826 * np.median(np.abs(dy))) ** 2
    vertical = energy_x >= energy_y
    if not vertical:
        a = a.T
    orientation = "vertical" if vertical else "horizontal"
    n_rows, n_cols = a.shape

    # Is there an edge at all? Step between the outer columns against the pixel noise.
    k = max(2, n_cols // 8)
    step = float(a[:, -k:].mean() - a[:, :k].mean())
    noise = float(1.4826 * np.median(np.abs(np.diff(a, axis=0))) / np.sqrt(2.0))
    scale = float(np.abs(a).max())
    if not (abs(step) > MIN_STEP_OVER_NOISE * noise and abs(step) > 1e-9 * scale):
        raise SfrError(
            "no edge found in the ROI: the two sides differ by "
            f"{step:.3g} with a pixel noise of {noise:.3g}; put the ROI across one dark/light "
            "edge of the chart"
        )
    sign = 1.0 if step > 0 else -1.0

    # 2.–3. Edge location per row: centroid of the Hamming-windowed derivative, two passes.
    deriv = sign * np.diff(a, axis=1)  # samples at x = m + 1/2
    x_deriv = np.arange(n_cols - 1) + 0.5
    rows = np.arange(n_rows, dtype=np.float64)
    loc = _centroids(deriv, x_deriv, np.full(n_rows, (n_cols - 1) / 2.0))
    fit = np.polyfit(rows, loc, edge_fit_degree)
    loc = _centroids(deriv, x_deriv, np.polyval(fit, rows))
    fit = np.polyfit(rows, loc, edge_fit_degree)
    residual = float(np.sqrt(np.mean((loc - np.polyval(fit, rows)) ** 2)))
    if not residual <= MAX_EDGE_RESIDUAL_PX:
        hint = " or try edge_fit_degree=2" if edge_fit_degree == 1 else ""
        raise SfrError(
            f"no straight edge in the ROI: the edge found in each row wanders {residual:.2f} px "
            f"(RMS) from a fitted line; put the ROI across one straight edge{hint}"
        )
    mid_row = (n_rows - 1) / 2.0
    slope = float(np.polyval(np.polyder(fit), mid_row))
    angle = float(np.degrees(np.arctan(slope)))
    if not MIN_ANGLE_DEG <= abs(angle) <= MAX_ANGLE_DEG:
        raise SfrError(
            f"the edge is tilted {abs(angle):.2f}° from the {orientation}; the slanted-edge "
            f"method needs {MIN_ANGLE_DEG:g}–{MAX_ANGLE_DEG:g}° (ISO 12233 uses about 5°): "
            "rotate the chart or the camera"
        )

    # 4. Keep a whole number of phase cycles.
    cycles = int(np.floor(n_rows * abs(slope)))
    if cycles < 1:
        raise SfrError(
            f"ROI of {n_rows} px along a {abs(angle):.2f}° edge is too short: the edge must "
            f"move across at least one whole pixel, which needs {int(np.ceil(1 / abs(slope)))} "
            "px; make the ROI longer along the edge"
        )
    used = min(n_rows, int(round(cycles / abs(slope))))
    a, rows = a[:used], rows[:used]

    # 5. Project onto the edge normal, bin into the oversampled ESF.
    x_edge = np.polyval(fit, rows)
    cos_local = 1.0 / np.sqrt(1.0 + np.polyval(np.polyder(fit), rows) ** 2)
    dist = (np.arange(n_cols)[None, :] - x_edge[:, None]) * cos_local[:, None]
    half = min(-dist[:, 0].max(), dist[:, -1].min())
    if not half >= MIN_HALF_WIDTH_PX:
        raise SfrError(
            f"the edge runs within {max(half, 0.0):.1f} px of the ROI's side; centre the ROI on "
            f"the edge with at least {MIN_HALF_WIDTH_PX:g} px of flat field on both sides"
        )
    n_half = int(np.floor(half * oversampling))
    n_bins = 2 * n_half
    index = np.floor(dist * oversampling).astype(np.int64) + n_half
    inside = (index >= 0) & (index < n_bins)
    counts = np.bincount(index[inside], minlength=n_bins)
    sums = np.bincount(index[inside], weights=a[inside], minlength=n_bins)
    filled = counts > 0
    empty = int(n_bins - filled.sum())
    if empty > MAX_EMPTY_BIN_FRACTION * n_bins:
        raise SfrError(
            f"{empty} of {n_bins} ESF bins got no pixel: too few rows for {oversampling}× "
            f"oversampling at {abs(angle):.2f}°; make the ROI longer along the edge, change "
            "the angle slightly, or lower the oversampling"
        )
    position = (np.arange(n_bins) - n_half + 0.5) / oversampling
    # Where the samples of each bin lie on average: at its centre when the sub-pixel phases
    # are evenly spread, off it when the angle makes them cluster (tan θ near 1/2, 1/3, ...).
    mean_at = np.bincount(index[inside], weights=dist[inside], minlength=n_bins)[filled]
    mean_at = mean_at / counts[filled]
    bin_offset = float(np.sqrt(np.mean((mean_at - position[filled]) ** 2)))
    # ISO: each bin's mean stands at the bin centre. Corrected: at its samples' mean position.
    at = mean_at if correct_binning else position[filled]
    esf = np.interp(position, at, sums[filled] / counts[filled])

    # 6. LSF: derivative [-1/2, 0, +1/2], per pixel, positive.
    lsf = np.empty_like(esf)
    lsf[1:-1] = 0.5 * (esf[2:] - esf[:-2]) * oversampling * sign
    lsf[0], lsf[-1] = lsf[1], lsf[-2]

    # 7. Hamming window on the LSF peak, DFT, normalise.
    peak = float(np.mean(np.flatnonzero(lsf == lsf.max())))
    window = _hamming(np.arange(n_bins, dtype=np.float64), peak, 0.0, n_bins - 1.0)
    spectrum = np.abs(np.fft.rfft(lsf * window))
    if not spectrum[0] > 0:
        raise SfrError("no edge found in the ROI: the line spread function sums to zero")
    freq = np.fft.rfftfreq(n_bins, d=1.0 / oversampling)
    mtf = spectrum / spectrum[0]

    # 8. Derivative correction (and optionally the bins' own sinc).
    mtf = mtf * np.minimum(1.0 / _sinc_floor(2.0 * freq / oversampling), MAX_DERIVATIVE_CORRECTION)
    if correct_binning:
        mtf = mtf * np.minimum(1.0 / _sinc_floor(freq / oversampling), MAX_DERIVATIVE_CORRECTION)
    keep = freq <= oversampling / 4.0 + 1e-12
    freq, mtf = freq[keep], mtf[keep]

    return SfrResult(
        freq_cy_px=freq,
        mtf=mtf,
        angle_deg=angle,
        mtf50_cy_px=mtf50_of(freq, mtf),
        esf=esf,
        lsf=lsf,
        esf_position_px=position,
        orientation=orientation,
        oversampling=oversampling,
        rows_used=used,
        empty_bins=empty,
        bin_offset_rms_px=bin_offset,
        edge_step=step,
        noise_rms=noise,
        edge_fit=tuple(float(c) for c in fit),
        binning_corrected=bool(correct_binning),
    )


def mtf_from_dng(
    path: str | os.PathLike,
    *,
    roi: tuple[int, int, int, int] | None = None,
    channel: str = "G",
    oversampling: int = 4,
    edge_fit_degree: int = 1,
    correct_binning: bool = False,
) -> SfrResult:
    """Slanted-edge MTF of a raw Bayer DNG, measured on the undemosaiced data.

    The file is read with :func:`mountcam.dng.read_dng`; ``roi`` = ``(top, left, height,
    width)`` is in full-resolution pixels relative to the DNG's default crop (the area a raw
    converter outputs; default: all of it). The per-site black level is subtracted; an ROI
    with pixels at the white level is refused (a clipped edge has no meaningful MTF).

    ``channel``:

    - ``"G"`` (default; ``"G1"`` is the same), ``"G2"``, ``"R"``, ``"B"``: one colour plane of
      the mosaic — the sites of one position of the 2×2 CFA (``"G"`` is the green in the first
      row of the pattern, ``"G2"`` the other). No demosaicing and no white balance touch the
      data, so this is the sensor's own pre-sampling MTF for that colour: the lens at those
      wavelengths × the 1-pixel aperture of each photosite.
    - ``"luminance"``: each 2×2 quad (one R, two G, one B) white-balanced with AsShotNeutral
      (each site divided by its channel's neutral value) and averaged. For a neutral edge that
      is the image sampled through a 2×2-pixel box, so the result includes that box's MTF,
      ``pixel_aperture_mtf(ν, fill=2.0, angle_deg=θ)``, near zero at the full-resolution
      Nyquist frequency; its lens part mixes the three colour bands.

    ``"G"`` is the default because it measures what the sensor delivers with the least
    processing and no extra blur, and green carries most of the luminance signal.

    **Frequency convention.** Either way the analysed samples are 2 pixels apart (one Bayer
    plane, or one quad per 2×2 block), but the result is reported in cycles per
    *full-resolution pixel* (``sample_pitch_px`` = 2), so it compares directly with the
    full-resolution Nyquist frequency, 0.5 cy/px, and with
    :func:`mountcam.lab.mtf_prediction.predicted_mtf` at the sensor's pixel pitch. The slant
    recovers the MTF beyond the plane's own Nyquist frequency (0.25 cy/px) as it does beyond a
    monochrome sensor's. ``oversampling`` is ESF bins per full-resolution pixel (so bins per
    plane sample are twice that); ``esf_position_px`` is in full-resolution pixels.
    ``edge_fit_degree`` and ``correct_binning`` are as for :func:`slanted_edge_mtf`.
    """
    from mountcam.dng import read_dng

    if channel not in DNG_CHANNELS:
        raise SfrError(f"channel '{channel}' is not one of {', '.join(DNG_CHANNELS)}")
    if int(oversampling) != oversampling or not 1 <= oversampling <= 8:
        raise SfrError(
            f"oversampling must be a whole number of bins per pixel from 1 to 8 for a Bayer "
            f"plane (got {oversampling})"
        )
    info = read_dng(path)
    rows, cols = info.crop_slices
    crop_h, crop_w = rows.stop - rows.start, cols.stop - cols.start
    top, left, height, width = _check_roi(roi, (crop_h, crop_w), what="the DNG's default crop")
    r0, c0 = rows.start + top, cols.start + left
    sub = info.mosaic[r0 : r0 + height, c0 : c0 + width].astype(np.float64)
    # The CFA pattern starts at the top-left of the active area (DNG 1.4, ActiveArea).
    phase_r = (r0 - info.active_area[0]) % 2
    phase_c = (c0 - info.active_area[1]) % 2
    clipped = int(np.count_nonzero(sub >= info.white_level_dn))
    if clipped:
        raise SfrError(
            f"{clipped} pixel(s) in the ROI are at the white level ({info.white_level_dn} DN): "
            "the edge is clipped; expose less or move the ROI"
        )

    def cfa_site(letter: str, which: int = 0) -> tuple[int, int]:
        sites = [divmod(i, 2) for i, c in enumerate(info.cfa_pattern) if c == letter]
        if len(sites) <= which:
            raise SfrError(f"the CFA pattern {info.cfa_pattern} has no site for '{channel}'")
        return sites[which]

    def plane(i: int, j: int, h: int | None = None, w: int | None = None) -> np.ndarray:
        """Black-subtracted samples of CFA position (i, j) in the ROI."""
        p = sub[(i - phase_r) % 2 :: 2, (j - phase_c) % 2 :: 2][:h, :w]
        return p - info.black_level_dn[2 * i + j]

    if channel == "luminance":
        neutral = info.as_shot_neutral
        if neutral is None or min(neutral) <= 0:
            raise SfrError("the DNG has no usable AsShotNeutral to white-balance a luminance")
        h, w = height // 2, width // 2
        quads = np.zeros((h, w))
        for pos, letter in enumerate(info.cfa_pattern):
            i, j = divmod(pos, 2)
            quads += plane(i, j, h, w) / neutral["RGB".index(letter)]
        samples = quads / 4.0
    else:
        letter = channel[0]
        samples = plane(*cfa_site(letter, 1 if channel == "G2" else 0))

    try:
        result = slanted_edge_mtf(
            samples,
            oversampling=2 * oversampling,
            edge_fit_degree=edge_fit_degree,
            correct_binning=correct_binning,
        )
    except SfrError as exc:
        raise SfrError(
            f"{info.path.name}, channel {channel} (half-resolution plane): {exc}"
        ) from None
    pitch = 2.0
    result.freq_cy_px = result.freq_cy_px / pitch
    result.mtf50_cy_px = result.mtf50_cy_px / pitch
    result.esf_position_px = result.esf_position_px * pitch
    result.lsf = result.lsf / pitch
    result.oversampling = oversampling
    result.sample_pitch_px = pitch
    result.channel = channel
    return result


# --- helpers ---------------------------------------------------------------------------------


def _check_roi(roi, shape: tuple[int, int], *, what: str) -> tuple[int, int, int, int]:
    if roi is None:
        return 0, 0, shape[0], shape[1]
    try:
        top, left, height, width = (int(v) for v in roi)
    except (TypeError, ValueError):
        raise SfrError(f"ROI must be (top, left, height, width) in pixels, got {roi!r}") from None
    if height <= 0 or width <= 0:
        raise SfrError(f"ROI {roi} is empty; height and width must be positive")
    if top < 0 or left < 0 or top + height > shape[0] or left + width > shape[1]:
        raise SfrError(
            f"ROI {roi} (top, left, height, width) reaches outside {what} of "
            f"{shape[0]}×{shape[1]} px"
        )
    return top, left, height, width


def _crop(a: np.ndarray, roi) -> np.ndarray:
    top, left, height, width = _check_roi(roi, a.shape, what="the image")
    return a[top : top + height, left : left + width]


def _hamming(x: np.ndarray, mid, lo: float, hi: float) -> np.ndarray:
    """sfrmat's asymmetric Hamming window: centred on ``mid``, half-width its distance to the
    farther end of [lo, hi] (so it is 0.08 there)."""
    half = np.maximum(np.asarray(mid) - lo, hi - np.asarray(mid))
    return 0.54 + 0.46 * np.cos(np.pi * (x - np.asarray(mid)) / half)


def _centroids(deriv: np.ndarray, x: np.ndarray, mids: np.ndarray) -> np.ndarray:
    """Per row, the centroid of ``deriv`` (sampled at ``x``) under a Hamming window on ``mids``."""
    w = deriv * _hamming(x[None, :], mids[:, None], x[0], x[-1])
    total = w.sum(axis=1)
    if not np.all(total > 0):
        bad = int(np.count_nonzero(~(total > 0)))
        raise SfrError(
            f"no edge found in {bad} row(s) of the ROI; put the ROI across one dark/light edge "
            "that runs through all of it"
        )
    return (w * x[None, :]).sum(axis=1) / total


def _sinc_floor(x: np.ndarray) -> np.ndarray:
    """np.sinc, kept away from zero so its reciprocal stays finite."""
    return np.maximum(np.sinc(x), 1e-12)
