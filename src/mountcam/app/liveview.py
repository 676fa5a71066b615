"""The live view: preview frames developed for the screen, with the photographer's aids.

:class:`LiveView` runs on a camera's preview stream (:meth:`~mountcam.body.camera.Camera.
start_preview`: preview readouts of the sensor model on a background thread, auto-exposed and
white-balanced frame by frame) and turns each raw preview frame into a :class:`LiveFrame`:

1. **develop** for display: the ``fast`` demosaic through the DNG colour model and the tone
   curve, straight to 8-bit (no denoise, sharpening or lens warp: a viewfinder needs speed);
2. **aids** (:mod:`mountcam.assist`), each only when asked for: the raw histogram per CFA
   colour from the mosaic, the rendered RGB + luma histogram, zebra (rendered luma, or each
   raw cell's brightest channel), focus peaking, the luma waveform, clipping counts;
3. **composite**: peaking and zebra painted over the picture, the histogram and waveform as
   panels in its corners — what the screen of the camera shows (the web app draws its own).

Each stage is timed (``stages_ms``). The raw histogram is computed before development, from
the same mosaic the DNG would hold.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from mountcam.assist import (
    PeakingSettings,
    RawHistogram,
    clipping_counts,
    draw_peaking,
    draw_zebra,
    focus_peaking,
    luma8,
    peaking_colour,
    raw_clip_level,
    raw_histogram,
    rendered_histogram,
    waveform,
    zebra_masks,
)
from mountcam.errors import InvalidSetting

#: The aids a live view can compute.
ASSISTS = ("histogram", "raw-histogram", "zebra", "peaking", "waveform", "clipping")
ZEBRA_SOURCES = ("rendered", "raw")


@dataclass(frozen=True)
class LiveViewSettings:
    """What the live view shows. ``zebra_over`` / ``zebra_under``: rendered luma code values
    (0–255) or, for a raw zebra, fractions of the clip point (``over=1.0``: clipped)."""

    assists: frozenset[str] = frozenset({"histogram"})
    zebra_source: str = "rendered"
    zebra_over: float | None = 245.0
    zebra_under: float | None = None
    peaking: PeakingSettings = field(default_factory=PeakingSettings)
    peaking_colour: str = "red"
    waveform_columns: int = 256
    composite: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.assists) - set(ASSISTS)
        if unknown:
            raise InvalidSetting(
                f"unknown aid {', '.join(sorted(unknown))}; the aids are {', '.join(ASSISTS)}"
            )
        if self.zebra_source not in ZEBRA_SOURCES:
            raise InvalidSetting(f"zebra source is rendered or raw (got {self.zebra_source!r})")
        if "zebra" in self.assists and self.zebra_over is None and self.zebra_under is None:
            raise InvalidSetting("zebra needs an over or an under level")
        top = 1.0 if self.zebra_source == "raw" else 255.0
        for level in (self.zebra_over, self.zebra_under):
            if level is not None and not 0.0 <= level <= top:
                raise InvalidSetting(
                    f"a {self.zebra_source} zebra level is 0 to {top:g} (got {level:g})"
                )
        peaking_colour(self.peaking_colour)  # raises for an unknown colour

    @classmethod
    def parse_assists(cls, text: str, **kwargs) -> LiveViewSettings:
        """From a comma-separated list (``histogram,zebra,peaking``)."""
        names = frozenset(a.strip() for a in text.split(",") if a.strip())
        return cls(assists=names, **kwargs)


@dataclass
class LiveFrame:
    """One frame of the live view: the raw frame, its display picture, and the aids."""

    raw: object  # RawFrame
    rgb8: np.ndarray
    composite: np.ndarray
    stages_ms: dict[str, float]
    raw_histogram: RawHistogram | None = None
    histogram: dict[str, np.ndarray] | None = None
    zebra_over: np.ndarray | None = None
    zebra_under: np.ndarray | None = None
    peaking: np.ndarray | None = None
    waveform: np.ndarray | None = None
    clipping: dict | None = None


def display_settings():
    """The develop settings of the viewfinder (fast, no denoise, sharpening or lens warp)."""
    from mountcam.develop import DevelopSettings

    return DevelopSettings(quality="fast", denoise=False, sharpen=False, lens_correction=False)


def render_live_frame(frame, settings: LiveViewSettings, *, index: int = 0) -> LiveFrame:
    """Develop a raw preview ``frame`` for the screen and compute the asked-for aids."""
    from mountcam.develop import develop

    stages: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        stages[name] = stages.get(name, 0.0) + (now - t) * 1e3
        t = now

    out = LiveFrame(raw=frame, rgb8=None, composite=None, stages_ms=stages)  # type: ignore[arg-type]
    wants = settings.assists
    if "raw-histogram" in wants or "histogram" in wants:
        out.raw_histogram = raw_histogram(
            frame.mosaic, frame.cfa_pattern, frame.black_level_dn, frame.white_level_dn
        )
        lap("raw_histogram")
    image = develop(frame, display_settings(), output_dtype=np.uint8)
    out.rgb8 = image.pixels
    lap("develop")
    luma = None
    if wants & {"histogram", "peaking", "waveform", "zebra"}:
        luma = luma8(out.rgb8)
        lap("luma")
    if "histogram" in wants:
        out.histogram = rendered_histogram(out.rgb8, luma)
        lap("histogram")
    if "zebra" in wants:
        if settings.zebra_source == "raw":
            level = raw_clip_level(frame.mosaic, frame.black_level_dn, frame.white_level_dn)
        else:
            level = luma
        out.zebra_over, out.zebra_under = zebra_masks(
            level, over=settings.zebra_over, under=settings.zebra_under
        )
        lap("zebra")
    if "peaking" in wants:
        out.peaking = focus_peaking(luma, settings.peaking)
        lap("peaking")
    if "waveform" in wants:
        columns = min(settings.waveform_columns, luma.shape[1])
        out.waveform = waveform(luma, columns=columns)
        lap("waveform")
    if "clipping" in wants:
        out.clipping = clipping_counts(out.rgb8)
        lap("clipping")
    out.composite = compose(out, settings, phase_px=index) if settings.composite else out.rgb8
    lap("composite")
    return out


def compose(live: LiveFrame, settings: LiveViewSettings, *, phase_px: int = 0) -> np.ndarray:
    """The screen: the picture with zebra and peaking painted on, histogram and waveform panels."""
    canvas = live.rgb8.copy()
    h, w = canvas.shape[:2]
    # Over in dark stripes (the pixels under them are near white by definition, where white
    # stripes would not show), under in blue.
    for mask, colour in ((live.zebra_over, (16, 16, 16)), (live.zebra_under, (40, 90, 255))):
        if mask is not None:
            draw_zebra(
                canvas, _fit(mask, h, w), colour=colour, period_px=8, phase_px=phase_px, out=canvas
            )
    if live.peaking is not None:
        # Drawn one pixel wider than the mask, as camera screens do: a 1-px line on a busy
        # subject is hard to see at arm's length. The mask itself stays exact.
        import cv2

        wide = cv2.dilate(live.peaking.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
        draw_peaking(canvas, wide, peaking_colour(settings.peaking_colour), out=canvas)
    if live.histogram is not None:
        _panel(canvas, _histogram_panel(live.histogram, live.raw_histogram), corner="right")
    if live.waveform is not None:
        _panel(canvas, _waveform_panel(live.waveform), corner="left")
    return canvas


def _fit(mask: np.ndarray, h: int, w: int) -> np.ndarray:
    """A raw-cell mask (H/2, W/2 of the mosaic) on the picture's grid (the DefaultCrop)."""
    if mask.shape == (h, w):
        return mask
    import cv2

    return cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0


PANEL_SIZE = (256, 100)  # width, height in screen pixels
_CHANNEL_COLOURS = ((255, 70, 70), (70, 220, 70), (80, 140, 255))


def _histogram_panel(hist: dict[str, np.ndarray], raw: RawHistogram | None) -> np.ndarray:
    """RGB curves over a grey luma area (256 bins, square-root counts so the shadows show), and
    a red bar at the top right for each raw channel that clipped."""
    pw, ph = PANEL_SIZE
    panel = np.zeros((ph, pw, 3), np.float32)
    luma = np.sqrt(hist["Y"].astype(np.float32))
    top = max(float(luma.max()), 1.0)
    rows = np.arange(ph)[:, None]
    heights = (luma / top * (ph - 1)).astype(int)[None, :]
    panel[(ph - 1 - rows) <= heights] = (90, 90, 90)
    for colour, name in zip(_CHANNEL_COLOURS, "RGB", strict=True):
        values = np.sqrt(hist[name].astype(np.float32))
        ys = (ph - 1 - values / max(float(values.max()), 1.0) * (ph - 1)).astype(int)
        panel[ys, np.arange(pw)] = colour
    if raw is not None:
        for i, (colour, name) in enumerate(zip(_CHANNEL_COLOURS, "RGB", strict=True)):
            if raw.clipped[name]:
                panel[2:8, pw - 8 * (3 - i) : pw - 8 * (3 - i) + 6] = colour
    return panel.astype(np.uint8)


def _waveform_panel(counts: np.ndarray) -> np.ndarray:
    pw, ph = PANEL_SIZE
    import cv2

    level = np.sqrt(counts.astype(np.float32))
    level = level / max(float(level.max()), 1.0)
    img = cv2.resize(level, (pw, ph), interpolation=cv2.INTER_AREA)
    green = (np.clip(img * 2.0, 0, 1) * 255).astype(np.uint8)
    return np.stack([green // 3, green, green // 3], axis=-1)


def _panel(canvas: np.ndarray, panel: np.ndarray, corner: str) -> None:
    """Blend ``panel`` into the bottom corner of ``canvas`` (70 % panel, a 6-px margin)."""
    h, w = canvas.shape[:2]
    ph, pw = panel.shape[:2]
    if ph + 12 > h or pw + 12 > w:
        return
    top = h - ph - 6
    left = w - pw - 6 if corner == "right" else 6
    region = canvas[top : top + ph, left : left + pw]
    region[:] = (0.3 * region + 0.7 * panel).astype(np.uint8)


class LiveView:
    """Live view on a camera: ``for live in LiveView(camera, settings).frames(n): ...``.

    Owns the camera's preview stream while it runs (``with`` or :meth:`stop`); captures on the
    camera pause the stream and resume it."""

    def __init__(
        self,
        camera,
        settings: LiveViewSettings | None = None,
        *,
        size: tuple[int, int] = (1024, 768),
        fps: float | None = None,
    ) -> None:
        self.camera = camera
        self.settings = settings or LiveViewSettings()
        self.stream = camera.start_preview(size=size, fps=fps)
        self.index = 0

    def next(self, timeout_s: float = 30.0) -> LiveFrame:
        """The next live frame (the newest raw frame the stream has)."""
        t0 = time.perf_counter()
        raw = self.stream.get(timeout=timeout_s)
        waited = (time.perf_counter() - t0) * 1e3
        live = render_live_frame(raw, self.settings, index=self.index)
        live.stages_ms = {"wait_for_frame": waited, **live.stages_ms}
        self.index += 1
        return live

    def frames(self, count: int | None = None) -> Iterator[LiveFrame]:
        n = 0
        while count is None or n < count:
            yield self.next()
            n += 1

    def magnifier(
        self, point: tuple[float, float], zoom: int = 1, view: tuple[int, int] = (512, 384)
    ) -> np.ndarray:
        """The magnifier at ``point`` (see :func:`magnifier_view`)."""
        return magnifier_view(self.camera, point, zoom, view)

    def update(self, **changes) -> None:
        """Change what is shown (``assists=...``, ``zebra_over=...``, ...)."""
        self.settings = replace(self.settings, **changes)

    def stop(self) -> None:
        self.stream.stop()

    def __enter__(self) -> LiveView:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def magnifier_view(
    camera, point: tuple[float, float], zoom: int = 1, view: tuple[int, int] = (512, 384)
) -> np.ndarray:
    """The magnifier: ``view`` (width, height) screen pixels of the full-resolution readout
    around ``point`` (fractions of the frame), 1:1 or 2:1 (each sensor pixel a 2×2 block),
    developed like the live view. Needs no running stream (the web app asks for it by tap)."""
    from mountcam.assist import magnify
    from mountcam.develop import develop
    from mountcam.dng import DEMOSAIC_MARGIN_PX

    if zoom not in (1, 2):
        raise InvalidSetting(f"the magnifier zooms 1:1 or 2:1 (got {zoom}:1)")
    w, h = view[0] // zoom, view[1] // zoom
    pad = 2 * DEMOSAIC_MARGIN_PX  # develop returns the DefaultCrop, inside these margins
    size = ((w + pad + 3) // 4 * 4, (h + pad + 3) // 4 * 4)
    frame = camera.magnifier_frame(point, size)
    rgb = develop(frame, display_settings(), output_dtype=np.uint8).pixels
    top, left = (rgb.shape[0] - h) // 2, (rgb.shape[1] - w) // 2
    return magnify(np.ascontiguousarray(rgb[top : top + h, left : left + w]), zoom)
