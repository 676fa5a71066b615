"""Executing a development plan in horizontal strips: the three routes from mosaic to pixels.

The picture is processed in strips of a few hundred output rows plus the context rows the
neighbourhood stages need (demosaic, denoise, sharpening), so each strip's intermediates stay
near the cache; :func:`run_strips` hands the strips to a few threads (the numba kernels
release the GIL) and every strip first gets its levels (:func:`levels_kernel`: black level,
white level, white balance) into a per-thread buffer. A route then finishes the strip:

- :func:`fused_fast_strip` — 8-bit output, ``fast`` demosaic, nothing between demosaic and
  colour (the JPEG path at base ISO): the demosaic runs band by band inside the fixed-point
  colour kernel, so the strip's float RGB never goes to memory.
- :func:`fixed_strip` — 8-bit output otherwise: demosaic, then the stages on linear RGB
  (highlights, denoise, lens corrections) when there are any, then the fixed-point colour
  kernel.
- :func:`float_strip` — float32 and 16-bit output: the same, with the interpolated float LUT.

The colour kernels apply the highlights (unless a stage before them needed them first), a lone
vignette gain, one 3×3 matrix (colour profile, exposure, look saturation) and the tone +
encoding LUT in one pass; with sharpening on they write the encoded strip and its luma, and the
unsharp mask and the quantisation are one more pass into the output
(:func:`~mountcam.develop.sharpen.sharpen_into`, :func:`~mountcam.develop.sharpen.sharpen_fixed_into`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from mountcam.develop.demosaic_fast import BAND_ROWS
from mountcam.develop.highlights import reconstruct_highlights
from mountcam.develop.linear_raw import linear_levels_kernel
from mountcam.develop.raw_opcodes import RawOpcodes, apply_raw_opcodes
from mountcam.develop.schedule import Schedule
from mountcam.develop.sharpen import sharpen_fixed_into, sharpen_into
from mountcam.develop.strip_kernels import (
    colour_fixed_kernel,
    colour_float_kernel,
    demosaic_colour_fixed_kernel,
    levels_kernel,
)
from mountcam.errors import UnreadableFile
from mountcam.jit import concurrent_launches_are_safe, get_num_threads, set_num_threads

#: Stage names of :attr:`mountcam.develop.image.Image.timings_s` that the strips book.
STAGES = (
    "levels", "demosaic", "highlights", "denoise", "lens", "colour_tone",
    "demosaic_colour_tone", "sharpen",
)  # fmt: skip
#: Stand-ins for the kernels' optional arrays (numba needs an array of the right type).
_NO_VIGNETTE = (np.zeros(1, np.float32), np.zeros(1, np.float32), np.zeros(5, np.float32))
_NO_LUMA = np.zeros((1, 1), np.float32)


# --------------------------------------------------------------------------------------------
# What the routes are given


@dataclass(frozen=True)
class Levels:
    """How raw DN become the demosaic's input: ``(DN − black)·scale`` clipped at ``top`` (the
    channel's white after white balance, or its clip point), per 2×2 CFA position (float32
    (2, 2) each), or per plane (float32 (3,)) for a LinearRaw image (``per_plane``); then
    OpcodeList2 (``raw_opcodes``, :func:`~mountcam.develop.raw_opcodes.apply_raw_opcodes`,
    with ``unit`` the value of white at each CFA position and ``area_origin`` the mosaic's
    (row, col) of the ActiveArea's corner)."""

    black: np.ndarray
    scale: np.ndarray
    top: np.ndarray
    per_plane: bool = False
    raw_opcodes: RawOpcodes | None = None
    unit: np.ndarray | None = None
    area_origin: tuple[int, int] = (0, 0)

    def apply(self, mosaic: np.ndarray, r0: int, c0: int, out: np.ndarray) -> None:
        """Level the window of ``mosaic`` whose top-left is (``r0``, ``c0``) into ``out``."""
        if self.per_plane:
            linear_levels_kernel(mosaic, self.black, self.scale, self.top, out)
        else:
            levels_kernel(mosaic, r0 & 1, c0 & 1, self.black, self.scale, self.top, out)
        if self.raw_opcodes is not None:
            origin = (r0 - self.area_origin[0], c0 - self.area_origin[1])
            apply_raw_opcodes(
                out, self.raw_opcodes, window_rc=origin, unit=self.unit, parity=(r0 & 1, c0 & 1)
            )


@dataclass(frozen=True)
class Frame:
    """The mosaic and the part of it to develop: ``rows``/``cols`` (the output), ``margin``
    context rows and columns around each strip (even), ``strip_rows`` output rows per strip.

    With a warp among the stages, ``source_rows`` ((rows [a, b), cols [c0, c1)) -> mosaic rows
    [first, stop) the warp reads for them) sets each strip's demosaic window: the rows the
    warp reads for the strip's rows and ``post_margin`` more on each side (the context of the
    stages after the warp: the sharpening), plus ``pre_margin`` (the demosaic's and the
    denoise's context); ``margin`` then still sets the columns (it includes the warp's reach).
    """

    mosaic: np.ndarray
    pattern: str
    levels: Levels
    rows: slice
    cols: slice
    margin: int
    strip_rows: int
    source_rows: Callable[[tuple[int, int], tuple[int, int]], tuple[int, int]] | None = None
    pre_margin: int = 0
    post_margin: int = 0


@dataclass(frozen=True)
class Colour:
    """The per-pixel colour step: ``clip`` (float32 (3,), each channel's clip level after white
    balance, for the highlights), ``matrix`` (float32 3×3, camera -> output RGB), ``vignette``
    (origin_rc, shape_hw) -> (dv², dh², k) of a vignette gain applied in the same pass, or None.
    """

    clip: np.ndarray
    matrix: np.ndarray
    vignette: Callable[[tuple[int, int], tuple[int, int]], tuple] | None = None

    def vignette_args(self, origin_rc: tuple[int, int], shape_hw: tuple[int, int]) -> tuple:
        """(on, dv², dh², k) of the vignette for a block, as the colour kernels take them."""
        if self.vignette is None:
            return (False, *_NO_VIGNETTE)
        return (True, *self.vignette(origin_rc, shape_hw))


@dataclass(frozen=True)
class LinearStages:
    """The stages on the demosaicked strip before the colour kernel: ``demosaic`` (cfa,
    pattern) -> RGB, then ``denoise`` and ``lens`` (each None when off; ``lens`` takes the
    RGB window, its origin (row, col) in the mosaic and the mosaic rows [a, b) to return). When
    either runs, the highlights are reconstructed first, on the strip (they must precede
    both)."""

    demosaic: Callable[[np.ndarray, str], np.ndarray] | None
    denoise: Callable[[np.ndarray], np.ndarray] | None = None
    lens: Callable[[np.ndarray, tuple[int, int], tuple[int, int]], np.ndarray] | None = None

    @property
    def highlights_first(self) -> bool:
        return self.denoise is not None or self.lens is not None


@dataclass(frozen=True)
class FloatEncoding:
    """Tone + encoding through the interpolated float LUT (``lut`` over 0..``x_max``; None for
    linear output), quantised to 0..``out_scale`` for integer output (1.0: float output)."""

    lut: np.ndarray | None
    x_max: float
    out_scale: float


@dataclass(frozen=True)
class FixedEncoding:
    """Tone + encoding through a fixed-point LUT (:class:`~mountcam.develop.tone.FixedLut`):
    8-bit output."""

    table: np.ndarray
    base: int
    shift: int


@dataclass(frozen=True)
class Sharpening:
    """Unsharp mask on the encoded luma: ``amount``, Gaussian σ ``radius_px``."""

    amount: float
    radius_px: float


# --------------------------------------------------------------------------------------------
# One strip


@dataclass(frozen=True)
class Strip:
    """One strip: output rows ``first``..``stop`` − 1 of the mosaic, levelled and demosaicked
    through the window ``r0``..``r1`` × ``c0``..``c1`` (the margins included), coloured over
    the rows ``w0``..``w1`` (the same rows unless a warp moved them); the output starts at
    ``oy``, ``ox`` of that window and goes to ``target`` (its rows of the output array)."""

    first: int
    stop: int
    r0: int
    r1: int
    w0: int
    w1: int
    c0: int
    c1: int
    ox: int
    out_cols: int
    target: np.ndarray
    pattern: str  # the 2×2 pattern seen from the window's top-left pixel

    @property
    def oy(self) -> int:
        return self.first - self.w0

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the window the colour step sees."""
        return self.w1 - self.w0, self.c1 - self.c0

    @property
    def region(self) -> tuple[int, int, int, int]:
        """(row, col, rows, cols) of the output inside the window."""
        return self.oy, self.ox, self.stop - self.first, self.out_cols


@dataclass
class Workspace:
    """A strip thread's buffers, reused from strip to strip (a fresh 25 MB array per strip
    pays its page faults again), and the time it spent per stage."""

    cfa_buffer: np.ndarray | None = None
    enc: np.ndarray | None = None
    luma: np.ndarray | None = None
    scratch: dict = field(default_factory=dict)
    spent: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    _tic: float = 0.0

    def start_clock(self) -> None:
        self._tic = time.perf_counter()

    def book(self, stage: str) -> None:
        """Add the time since the last booking to ``stage``."""
        toc = time.perf_counter()
        self.spent[stage] += toc - self._tic
        self._tic = toc

    def cfa(self, shape: tuple[int, ...], rows_hint: int) -> np.ndarray:
        """The levelled-mosaic buffer for a window of ``shape`` ((h, w), or (h, w, 3) for a
        LinearRaw image; at least ``rows_hint`` rows are kept, so that the usual strips never
        reallocate)."""
        h = shape[0]
        buf = self.cfa_buffer
        if buf is None or buf.shape[0] < h or buf.shape[1:] != shape[1:]:
            buf = self.cfa_buffer = np.empty((max(h, rows_hint), *shape[1:]), np.float32)
        return buf[:h]

    def encoded(self, shape_hw: tuple[int, int], dtype) -> tuple[np.ndarray, np.ndarray]:
        """The encoded-RGB and luma buffers of a strip of ``shape_hw`` for the sharpening."""
        sh, sw = shape_hw
        if self.enc is None or self.enc.shape[0] < sh or self.enc.shape[1] != sw or self.enc.dtype != dtype:  # fmt: skip
            self.enc = np.empty((max(sh, self.cfa_buffer.shape[0]), sw, 3), dtype=dtype)
            self.luma = np.empty(self.enc.shape[:2], dtype=np.float32)
            self.scratch = {}
        return self.enc[:sh], self.luma[:sh]


def _linear_rgb(cfa: np.ndarray, strip: Strip, ws: Workspace, stages: LinearStages, clip):
    """Demosaic the strip's levelled mosaic (a LinearRaw strip is RGB already), then the
    stages on linear RGB."""
    rgb = cfa
    if stages.demosaic is not None:
        rgb = np.ascontiguousarray(stages.demosaic(cfa, strip.pattern), dtype=np.float32)
        ws.book("demosaic")
    if stages.highlights_first:
        reconstruct_highlights(rgb, clip, out=rgb)
        ws.book("highlights")
    if stages.denoise is not None:
        rgb = np.ascontiguousarray(stages.denoise(rgb), dtype=np.float32)
        ws.book("denoise")
    if stages.lens is not None:
        rgb = stages.lens(rgb, (strip.r0, strip.c0), (strip.w0, strip.w1))
        rgb = np.ascontiguousarray(rgb, dtype=np.float32)
        ws.book("lens")
    return rgb


def fused_fast_strip(
    cfa: np.ndarray,
    strip: Strip,
    ws: Workspace,
    *,
    colour: Colour,
    encoding: FixedEncoding,
    sharpening: Sharpening | None,
) -> None:
    """The ``fast`` demosaic and the fixed-point colour kernel fused band by band
    (:func:`~mountcam.develop.strip_kernels.demosaic_colour_fixed_kernel`): 8-bit output."""
    rr, rc = divmod(strip.pattern.index("R"), 2)
    sh, sw = strip.shape
    runs = max(1, min(-(-sh // BAND_ROWS), get_num_threads()))
    y, x, oh, ow = strip.region
    enc = (encoding.table, np.int32(encoding.base), np.int32(encoding.shift))
    if sharpening is None:
        vig, dv2, dh2, kv = colour.vignette_args((strip.first, strip.c0 + x), (oh, ow))
        demosaic_colour_fixed_kernel(
            cfa, rr, rc, y, x, oh, ow, colour.clip, True, vig, dv2, dh2, kv, colour.matrix,
            *enc, strip.target, False, _NO_LUMA, BAND_ROWS, runs,
        )  # fmt: skip
        ws.book("demosaic_colour_tone")
        return
    e16, luma = ws.encoded((sh, sw), np.uint16)
    vig, dv2, dh2, kv = colour.vignette_args((strip.w0, strip.c0), (sh, sw))
    demosaic_colour_fixed_kernel(
        cfa, rr, rc, 0, 0, sh, sw, colour.clip, True, vig, dv2, dh2, kv, colour.matrix, *enc,
        e16, True, luma, BAND_ROWS, runs,
    )  # fmt: skip
    ws.book("demosaic_colour_tone")
    a = sharpening
    sharpen_fixed_into(e16, luma, a.amount, a.radius_px, strip.region, strip.target, ws.scratch)
    ws.book("sharpen")


def fixed_strip(
    cfa: np.ndarray,
    strip: Strip,
    ws: Workspace,
    *,
    stages: LinearStages,
    colour: Colour,
    encoding: FixedEncoding,
    sharpening: Sharpening | None,
) -> None:
    """Demosaic, the linear-RGB stages, then the fixed-point colour kernel
    (:func:`~mountcam.develop.strip_kernels.colour_fixed_kernel`): 8-bit output."""
    rgb = _linear_rgb(cfa, strip, ws, stages, colour.clip)
    recon = not stages.highlights_first
    y, x, oh, ow = strip.region
    enc = (encoding.table, np.int32(encoding.base), np.int32(encoding.shift))
    if sharpening is None:
        vig, dv2, dh2, kv = colour.vignette_args((strip.first, strip.c0 + x), (oh, ow))
        colour_fixed_kernel(
            rgb, y, x, oh, ow, colour.clip, recon, vig, dv2, dh2, kv, colour.matrix, *enc,
            strip.target, False, _NO_LUMA,
        )  # fmt: skip
        ws.book("colour_tone")
        return
    sh, sw = strip.shape
    e16, luma = ws.encoded((sh, sw), np.uint16)
    vig, dv2, dh2, kv = colour.vignette_args((strip.w0, strip.c0), (sh, sw))
    colour_fixed_kernel(
        rgb, 0, 0, sh, sw, colour.clip, recon, vig, dv2, dh2, kv, colour.matrix, *enc, e16,
        True, luma,
    )  # fmt: skip
    ws.book("colour_tone")
    a = sharpening
    sharpen_fixed_into(e16, luma, a.amount, a.radius_px, strip.region, strip.target, ws.scratch)
    ws.book("sharpen")


def float_strip(
    cfa: np.ndarray,
    strip: Strip,
    ws: Workspace,
    *,
    stages: LinearStages,
    colour: Colour,
    encoding: FloatEncoding,
    sharpening: Sharpening | None,
) -> None:
    """Demosaic, the linear-RGB stages, then the float colour kernel
    (:func:`~mountcam.develop.strip_kernels.colour_float_kernel`): float32, uint16 or uint8."""
    rgb = _linear_rgb(cfa, strip, ws, stages, colour.clip)
    recon = not stages.highlights_first
    use_lut = encoding.lut is not None
    lut = encoding.lut if use_lut else np.zeros(2, dtype=np.float32)
    tone = (lut, np.float32(encoding.x_max), use_lut)
    y, x, oh, ow = strip.region
    if sharpening is None:
        vig, dv2, dh2, kv = colour.vignette_args((strip.first, strip.c0 + x), (oh, ow))
        colour_float_kernel(
            rgb, y, x, oh, ow, colour.clip, recon, vig, dv2, dh2, kv, colour.matrix, *tone,
            np.float32(encoding.out_scale), strip.target, False, _NO_LUMA,
        )  # fmt: skip
        ws.book("colour_tone")
        return
    sh, sw = strip.shape
    enc, luma = ws.encoded((sh, sw), np.float32)
    vig, dv2, dh2, kv = colour.vignette_args((strip.w0, strip.c0), (sh, sw))
    colour_float_kernel(
        rgb, 0, 0, sh, sw, colour.clip, recon, vig, dv2, dh2, kv, colour.matrix, *tone,
        np.float32(1.0), enc, True, luma,
    )  # fmt: skip
    ws.book("colour_tone")
    a = sharpening
    sharpen_into(
        enc, luma, a.amount, a.radius_px, strip.region, encoding.out_scale, strip.target,
        ws.scratch,
    )  # fmt: skip
    ws.book("sharpen")


# --------------------------------------------------------------------------------------------
# All strips

StripRoute = Callable[[np.ndarray, Strip, Workspace], None]


def run_strips(frame: Frame, out: np.ndarray, route: StripRoute, schedule: Schedule) -> dict:
    """Develop ``frame`` into ``out`` strip by strip with ``route`` (one of the ``*_strip``
    functions with its keyword arguments bound) on ``schedule.workers`` threads. Returns the
    time spent per stage, summed over the threads (CPU-side cost per stage)."""
    h, w = frame.mosaic.shape[:2]
    rows, cols, margin = frame.rows, frame.cols, frame.margin
    lv = frame.levels
    # A LinearRaw image has no 2×2 cells to keep whole.
    window = plain_window if lv.per_plane else even_window
    c0, c1 = window(cols.start - margin, cols.stop + margin, cols.start, cols.stop, w)
    buffer_rows = min(h, frame.strip_rows + 2 * margin + 2)
    local = threading.local()
    spaces: list[Workspace] = []
    lock = threading.Lock()

    def strip(first: int) -> None:
        ws = getattr(local, "ws", None)
        if ws is None:
            ws = local.ws = Workspace()
            with lock:
                spaces.append(ws)
        ws.start_clock()
        stop = min(rows.stop, first + frame.strip_rows)
        w0, w1 = window(first - margin, stop + margin, first, stop, h)
        r0, r1 = w0, w1
        if frame.source_rows is not None:
            post = frame.post_margin
            w0, w1 = window(first - post, stop + post, first, stop, h)
            lo, hi = frame.source_rows((w0, w1), (c0, c1))
            r0, r1 = window(lo - frame.pre_margin, hi + frame.pre_margin, lo, hi, h)
        cfa = ws.cfa((r1 - r0, c1 - c0, *frame.mosaic.shape[2:]), buffer_rows)
        lv.apply(frame.mosaic[r0:r1, c0:c1], r0, c0, cfa)
        ws.book("levels")
        target = out[first - rows.start : stop - rows.start]
        pattern = "" if lv.per_plane else pattern_at(frame.pattern, r0, c0)
        s = Strip(
            first, stop, r0, r1, w0, w1, c0, c1, cols.start - c0, out.shape[1], target, pattern
        )
        route(cfa, s, ws)

    starts = list(range(rows.start, rows.stop, frame.strip_rows))
    workers = min(schedule.workers, len(starts))
    if not concurrent_launches_are_safe():
        workers = 1  # numba's workqueue layer would abort on concurrent kernel launches
    if workers > 1:
        # One numba thread per strip worker (numba's setting is per calling thread): the
        # strips already keep the cores busy, and a parallel kernel launched from each of
        # them would split every strip again and wait on the other's threads.
        with ThreadPoolExecutor(
            max_workers=workers, initializer=set_num_threads, initargs=(1,)
        ) as pool:
            list(pool.map(strip, starts))
    else:
        for first in starts:
            strip(first)
    spent = dict.fromkeys(STAGES, 0.0)
    for ws in spaces:
        for k, v in ws.spent.items():
            spent[k] += v
    return {k: v for k, v in spent.items() if v > 0}


def even_window(lo: int, hi: int, need_lo: int, need_hi: int, size: int) -> tuple[int, int]:
    """[lo, hi) clipped to [0, size), widened or trimmed to an even start and an even length
    (whole 2×2 CFA cells, as demosaicking needs) while still covering [need_lo, need_hi)."""
    lo = max(0, lo)
    lo -= lo & 1
    hi = min(size, hi)
    if (hi - lo) & 1:
        if hi < size:
            hi += 1
        elif hi - 1 >= need_hi:
            hi -= 1
        elif lo > 0:
            lo -= 1  # an odd start; pattern_at follows the phase
        else:
            raise UnreadableFile(
                f"the raw image is {size} pixels across, an odd number; a Bayer mosaic needs "
                "whole 2×2 cells"
            )
    return lo, hi


def plain_window(lo: int, hi: int, need_lo: int, need_hi: int, size: int) -> tuple[int, int]:
    """[lo, hi) clipped to [0, size) (for images without CFA cells)."""
    return max(0, lo), min(size, hi)


def pattern_at(pattern: str, row: int, col: int) -> str:
    """The 2×2 pattern seen from a window whose top-left is at (row, col) of the mosaic."""
    p = [pattern[0:2], pattern[2:4]]
    return "".join(p[(row + dy) % 2][(col + dx) % 2] for dy in (0, 1) for dx in (0, 1))
