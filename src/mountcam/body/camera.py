"""The camera you can script: configure, set controls, capture (in the spirit of Picamera2).

::

    from mountcam import Camera, SimulatedBackend
    camera = Camera(SimulatedBackend("sample:motorcycle", seed=1))
    camera.attach_lens("summicron-m-50")              # the M module's bayonet
    camera.configure(module="m", crop=(512, 384))     # sensor readout
    camera.set_lens(f_number=4, focus_m=3)            # the lens's own rings
    camera.set_controls(program="A", white_balance="auto")
    frame = camera.capture()                          # a RawFrame
    camera.save_dng(frame, "shots")                   # shots/MTC_0001.dng

Three things are kept apart, each validated on its own: the :class:`~mountcam.body.settings.
Configuration` (module, readout mode, bits, crop), the :class:`~mountcam.body.settings.
Controls` (program, shutter, ISO, EV, white balance, metering, focus mode, locks) and the lens
state, which stays on the lens (the M mount's rings; the main module's focus motor).

A capture decides from frames only, as a camera on real hardware must: it reads preview frames
(:data:`~mountcam.body.backend.PREVIEW_SIZE`, whole field, through the sensor model) to meter
and to balance white, and a main-module reference frame to estimate an M lens's f-number. The
decisions are the pure functions of :mod:`mountcam.body.three_a` and
:mod:`mountcam.body.reference_frame`; the loops that take the frames are here.

Frames come from a backend (:mod:`mountcam.body.backend`): the twin by default, a folder of
DNGs (:class:`~mountcam.body.replay.ReplayBackend`) or, later, hardware. Each frame carries what
the body believes (lens profile and state, colour calibration, typed metadata) so that
``write_dng(frame, path)`` and ``develop(frame)`` need nothing else; the twin's truth stays
with the twin (:meth:`Camera.truth`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from mountcam.body import three_a
from mountcam.body.backend import PREVIEW_SIZE, Backend, Readout, SimulatedBackend
from mountcam.body.module import Module
from mountcam.body.mount import Identification, Mount
from mountcam.body.settings import Configuration, Controls
from mountcam.control.f_number_estimate import ApertureEstimate
from mountcam.control.metering import ExposureLimits, exposure_for_product
from mountcam.errors import InvalidSetting
from mountcam.optics.lens import LensProfile, LensState, check_state
from mountcam.sensor.rawframe import RawFrame, TwinTruth

#: Preview frames the meter may take before it settles (each one corrects the last).
MAX_METER_FRAMES = 6
#: Longest preview exposure: a live readout runs at no less than 8 frames a second.
MAX_PREVIEW_EXPOSURE_S = 1 / 8
#: 2×2 cells the live stream's AWB reads, whatever the screen size: as many as a capture's
#: metering preview holds, so the stream and the shot balance alike and a 1024×768 stream costs
#: what a 256×192 one does (a camera's AWB statistics are a fixed grid, not the display).
STREAM_AWB_CELLS = (PREVIEW_SIZE[0] // 2) * (PREVIEW_SIZE[1] // 2)
#: Frames the aperture estimate may re-take shorter when one clips.
MAX_RETAKES = 6
#: Frame indices of the extra frames a capture reads (reference, re-takes), kept apart from the
#: capture's own 0, 1, 2 … so a frame's noise never repeats another's.
_REFERENCE_INDEX = 1 << 20
_RETAKE_INDEX = 1 << 21
_AF_INDEX = 1 << 22
#: The autofocus region's size in the binned readout (binned pixels), centred on the AF point:
#: 4.7 % of the width, a camera's centre AF area rather than its small spot. At 96 × 96 the
#: centre of ``set:portrait`` held only the face's uniform skin and the lens parked at the
#: hyperfocal distance; at 192 the eyes are in it and it focuses on the 1.5 m subject. 100
#: randomised trials focus as well at either size (99/100, ``mountcam.lab.focus_trials``).
AF_REGION = (192, 192)
#: Where the autofocus region is centred unless told: the middle of the field (x, y fractions).
AF_POINT = (0.5, 0.5)

_PROGRAM_NAMES = {"P": "program", "A": "aperture priority", "S": "shutter priority", "M": "manual"}
_METERING_NAMES = {
    "matrix": "matrix",
    "centre": "center weighted average",
    "spot": "spot",
    "highlight": "other",
    "average": "average",
}


@dataclass(frozen=True)
class Exposure:
    """A decided exposure and how it was decided (for the frame's metadata)."""

    exposure_s: float
    iso: float
    program: str
    metered: bool
    metering_mode: str


class Camera:
    """The two-module phone camera over a backend (the twin by default). See the module text."""

    def __init__(self, backend: Backend | None = None) -> None:
        self.backend: Backend = backend if backend is not None else SimulatedBackend()
        self.modules: dict[str, Module] = {}
        self.mount: Mount | None = None
        for spec in self.backend.modules():
            mount = Mount(_catalogue_lens_by_code) if spec.has_mount else None
            self.modules[spec.name] = Module(spec.name, spec.sensor, spec.fixed_lens, mount)
            if mount is not None and self.mount is None:
                self.mount = mount
        self.configuration = Configuration(module=next(iter(self.modules)))
        self.controls = Controls()
        #: M module: estimate the f-number of the attached lens from a main-module reference
        #: frame (needs a module with a fixed lens on the same backend).
        self.estimate_aperture = True
        self.started = False
        self._locked_exposure: tuple[float, float] | None = None
        self._locked_neutral: tuple[float, float, float] | None = None
        self._last_product: dict[str, float] = {}
        self._calibrations: dict[str, object] = {}
        self._awb_models: dict[str, object] = {}
        self._frame_index = 0
        self._preview_index = 0
        self._estimates: dict[str, ApertureEstimate] = {}
        self._shading_cache: dict[tuple, np.ndarray] = {}
        #: Held by every capture and preview step: a live preview pauses while a capture runs.
        self._lock = threading.RLock()
        self._settings_changes = 0

    # ---- setting up ----------------------------------------------------------------------------
    def module(self, name: str | None = None) -> Module:
        name = self.configuration.module if name is None else name
        if name not in self.modules:
            raise InvalidSetting(f"module '{name}' does not exist; use {' or '.join(self.modules)}")
        return self.modules[name]

    def configure(self, configuration: Configuration | None = None, **changes) -> Configuration:
        """Set the readout (a :class:`Configuration`, or fields of one to change)."""
        config = configuration if configuration is not None else self.configuration
        config = replace(config, **changes) if changes else config
        module = self.module(config.module)
        self.configuration = config.check(module.sensor, tuple(self.modules))
        self._changed()
        return self.configuration

    def set_controls(self, controls: Controls | None = None, **changes) -> Controls:
        """Set the shot's controls (a :class:`Controls`, or fields of one to change)."""
        ctl = controls if controls is not None else self.controls
        ctl = replace(ctl, **changes) if changes else ctl
        self.controls = ctl.check(self.module().sensor)
        self._changed()
        return self.controls

    def _changed(self) -> None:
        self._settings_changes += 1

    @property
    def settings_version(self) -> tuple[int, int]:
        """Changes so far to the camera's settings and to the backend's world (a twin's scene):
        a preview frame read before the last change shows the old state (the live stream drops
        such frames)."""
        return (self._settings_changes, getattr(self.backend, "scene_changes", 0))

    def start(self) -> None:
        """Make the camera ready to capture (checks the selected module has a lens)."""
        self.module().require_lens()
        self.started = True

    def stop(self) -> None:
        self.started = False

    # ---- the lens --------------------------------------------------------------------------------
    def attach_lens(self, lens: LensProfile | str, code_read: int | None = None) -> LensProfile:
        """Put ``lens`` (a profile, or an id or name from the catalogue) on the M mount."""
        if self.mount is None:
            raise InvalidSetting("this camera has no lens mount")
        if isinstance(lens, str):
            from mountcam.optics.lens_catalogue import find_lens

            lens = find_lens(lens)
        self.mount.attach(lens, code_read=code_read)
        self._estimates.pop("m", None)
        self._changed()
        return lens

    def detach_lens(self) -> LensProfile:
        if self.mount is None:
            raise InvalidSetting("this camera has no lens mount")
        self._estimates.pop("m", None)
        self._changed()
        return self.mount.detach()

    def set_lens(
        self,
        f_number: float | None = None,
        focus_m: float | None = None,
        focal_mm: float | None = None,
    ) -> LensState:
        """Turn the selected module's lens: an M lens's aperture ring, focus ring and focal
        selector; on a fixed lens the focus (manual focus; its aperture is fixed)."""
        module = self.module()
        if module.mount is not None:
            self._estimates.pop(module.name, None)
            state = module.mount.turn_rings(f_number, focus_m, focal_mm)
            self._changed()
            return state
        lens = module.require_lens()
        state = check_state(
            lens,
            LensState(
                lens.max_f if f_number is None else float(f_number),
                module.focus_m if focus_m is None else float(focus_m),
                focal_mm,
            ),
        )
        module.focus_m = state.focus_m
        self._changed()
        return state

    def set_lens_detection(self, mode: str, manual_lens: LensProfile | None = None) -> None:
        """The M body's lens-detection menu: ``auto``, ``manual`` or ``off``, and the lens
        chosen for uncoded lenses (see :mod:`mountcam.body.mount`)."""
        if self.mount is None:
            raise InvalidSetting("this camera has no lens mount")
        self.mount.set_detection(mode)
        self.mount.choose_manually(manual_lens)
        self._changed()

    def believed_lens(
        self, module: Module | None = None
    ) -> tuple[LensProfile | None, Identification | None]:
        """The lens profile the body believes in for ``module`` (None: no lens data, detection
        off) and, on a mount, how it identified it."""
        module = module or self.module()
        module.require_lens()
        if module.mount is None:
            return module.fixed_lens, None
        ident = module.mount.require_identified()
        believed = ident.profile
        if believed is not None and ident.method == "code" and module.mount.rings is not None:
            # A coded lens with several focal lengths reports the set one through its
            # frame-selector bits (how an M body knows a Tri-Elmar's setting).
            believed = replace(believed, focal_mm=module.mount.lens.focal_for(module.mount.rings))
        elif believed is not None and module.mount.declared_focal_mm is not None:
            # A zoom the body cannot read (uncoded, adapted): the focal length the photographer
            # entered, as bodies ask for it for adapted lenses.
            believed = replace(believed, focal_mm=module.mount.declared_focal_mm)
        return believed, ident

    def declare_lens(
        self,
        f_number: float | None = None,
        focal_mm: float | None = None,
        focus_m: float | None = None,
    ) -> None:
        """Tell the body how the M lens is set, where it cannot read it: the aperture (then
        it is believed instead of estimated), on a zoom without frame-selector coding the
        focal length, and the focus ring's distance (Exif SubjectDistance). Checked against
        the lens the body believes is attached; None forgets."""
        if self.mount is None:
            raise InvalidSetting("this camera has no lens mount")
        module = next(m for m in self.modules.values() if m.mount is self.mount)
        believed, _ = self.believed_lens(module)
        if believed is not None and (f_number is not None or focal_mm is not None):
            check_state(
                believed,
                LensState(
                    believed.max_f if f_number is None else float(f_number),
                    math.inf if focus_m is None else float(focus_m),
                    focal_mm,
                ),
            )
        self.mount.declared_f_number = None if f_number is None else float(f_number)
        self.mount.declared_focal_mm = None if focal_mm is None else float(focal_mm)
        self.mount.declared_focus_m = None if focus_m is None else float(focus_m)
        self._changed()

    # ---- capture ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Get the backend ready for a capture with the present settings, reading nothing: on
        the twin, render the light of the metering preview and of the capture's window at the
        lens's present state, so that a press that follows with nothing changed is only the
        sensor's readout, as on a still scene (``bench/camera_speed.py``: "prepared"). The
        camera app calls it while the photographer frames; a script may call it before
        ``capture()``.

        The camera is not held while the backend works: a capture that starts meanwhile
        waits for the light being rendered instead of rendering it twice. With autofocus at
        each shot the capture's light is not rendered (the loop moves the lens first), nor
        is the main-module crop an M lens's aperture estimate compares with (it depends on
        the capture)."""
        with self._lock:
            config, ctl = self.configuration, self.controls
            module = self.module(config.module)
            module.require_lens()
            s = module.sensor
            # A readout's exposure does not shape its light: any allowed one will do.
            t, iso = s.min_exposure_s, s.iso_min
            readouts = [Readout("preview", min(s.bits_allowed), t, iso, size=PREVIEW_SIZE)]
            if not _autofocuses(module, ctl):
                readouts.append(Readout(config.mode, config.bits, t, iso, crop=config.crop))
        for readout in readouts:
            self.backend.prepare(module, readout)

    def capture(self) -> RawFrame:
        """One frame with the current configuration, controls and lens."""
        return self.capture_frames(1)[0]

    def burst(self, count: int) -> list[RawFrame]:
        """``count`` frames with one decided exposure and white balance, independent noise."""
        return self.capture_frames(count)

    def bracket(self, count: int, step_ev: float) -> list[RawFrame]:
        """``count`` frames around the decided exposure, ``step_ev`` apart (−, 0, + … order:
        the middle frame first is not what cameras do; they go from darkest to brightest)."""
        if count < 2 or count % 2 == 0 or count > 9:
            raise InvalidSetting(f"a bracket has 3, 5, 7 or 9 frames (asked {count})")
        if not (math.isfinite(step_ev) and 1 / 3 - 1e-6 <= step_ev <= 3.0):
            raise InvalidSetting(f"a bracket step is 1/3 to 3 EV (asked {step_ev:g} EV)")
        half = count // 2
        return self.capture_frames(count, bias_ev=[(i - half) * step_ev for i in range(count)])

    def capture_frames(
        self, count: int = 1, *, bias_ev: list[float] | None = None
    ) -> list[RawFrame]:
        """``count`` frames; ``bias_ev`` (one per frame) offsets each from the decided exposure
        (by the shutter; by ISO where the shutter is the photographer's)."""
        return list(self.iter_frames(count, bias_ev=bias_ev))

    def iter_frames(
        self, count: int = 1, *, bias_ev: list[float] | None = None
    ) -> Iterator[RawFrame]:
        """:meth:`capture_frames` one frame at a time (exposure and white balance decided once,
        before the first), so a long series need not be held in memory."""
        if count < 1:
            raise InvalidSetting(f"count must be at least 1 (got {count})")
        offsets = list(bias_ev) if bias_ev is not None else [0.0] * count
        if len(offsets) != count:
            raise ValueError("bias_ev needs one value per frame")
        with self._lock:
            config, ctl = self.configuration, self.controls
            module = self.module(config.module)
            module.require_lens()
            ctl.check(module.sensor)
            believed, ident = self.believed_lens(module)
            self.started = True
            focused = None
            if _autofocuses(module, ctl):
                focused = self.autofocus(point=ctl.af_point).as_dict()
            exposure, preview = self._decide_exposure(module, believed, ctl)
            neutral = self._decide_white_balance(module, believed, ctl, preview)
        estimate = None
        for i, offset in enumerate(offsets):
            with self._lock:
                t, iso = self._biased(module, exposure, offset)
                # What the sensor's ranges allowed of the offset (a bracket at ISO 100 cannot go
                # lower in ISO): the frame records the offset it got.
                offset = math.log2(t * iso / (exposure.exposure_s * exposure.iso))
                frame = self.backend.read(
                    module,
                    Readout(
                        config.mode,
                        config.bits,
                        t,
                        iso,
                        crop=config.crop,
                        frame_index=self._next_index(),
                    ),
                )
                declared = module.mount is not None and module.mount.declared_f_number is not None
                if (
                    i == 0
                    and ident is not None
                    and believed is not None
                    and self.estimate_aperture
                    and not declared
                ):
                    estimate = self._estimate_aperture(module, believed, frame)
                self._fill_beliefs(
                    frame, module, believed, ident, exposure, ctl, neutral, offset, estimate
                )
                if focused is not None:
                    # Where the autofocus left the lens before this series, and why.
                    frame.metadata.extra["autofocus"] = dict(focused)
            yield frame

    def autofocus(
        self, region: tuple[int, int] = AF_REGION, point: tuple[float, float] | None = None
    ):
        """Contrast-detect autofocus of the selected module's fixed lens
        (:class:`mountcam.control.af.ContrastAf`): frames of a ``region`` (binned pixels)
        centred on ``point`` (x, y fractions of the field; default the controls' ``af_point``,
        or the centre) read at the metered exposure while the focus motor steps; the motor is
        left where the loop ends. Returns the :class:`~mountcam.control.af.AfResult`. M lenses
        focus by their ring (refused)."""
        from mountcam.body.settings import check_af_point
        from mountcam.control import af

        point = check_af_point(point or self.controls.af_point or AF_POINT)
        with self._lock:
            module = self.module()
            lens = module.fixed_lens
            if lens is None or module.mount is not None:
                raise InvalidSetting(
                    "autofocus works on the main module; an M lens focuses by its ring"
                )
            exposure, _ = self._decide_exposure(module, lens, replace(self.controls, ae_lock=False))
            travel = af.FocusTravel.of_lens(
                lens.focal_mm, lens.max_f, lens.min_focus_m, module.crop_factor
            )
            loop = af.ContrastAf(travel, module.focus_m)
            full_w, full_h = module.sensor.output_size("binned")
            centre = (point[0] * full_w, point[1] * full_h)
            step = 0
            while loop.next_focus_m is not None:
                module.focus_m = loop.next_focus_m
                frame = self.backend.read(
                    module,
                    Readout(
                        "binned",
                        self.configuration.bits,
                        exposure.exposure_s,
                        exposure.iso,
                        crop=region,
                        frame_index=_AF_INDEX + step,
                        centre=centre,
                        purpose="focus",
                    ),
                )
                loop.observe(frame.mosaic, frame.cfa_pattern, frame.black_level_dn)
                step += 1
            result = replace(loop.result, point=point)
            module.focus_m = result.focus_m
            return result

    def preview(self, size: tuple[int, int] = PREVIEW_SIZE) -> RawFrame:
        """One preview frame (the whole field at ``size``) at the last metered exposure (or a
        fresh metering), for metering, white balance and the live view."""
        with self._lock:
            module = self.module()
            believed, _ = self.believed_lens(module)
            product = self._last_product.get(module.name)
            if product is None:
                exposure, _ = self._decide_exposure(module, believed, self.controls)
                product = exposure.exposure_s * exposure.iso
            return self._read_preview(module, product, size)

    def start_preview(self, size: tuple[int, int] = (1024, 768), fps: float | None = None):
        """Start the live preview (:class:`~mountcam.body.preview.PreviewStream`): preview
        frames of the selected module at ``size`` from a background thread, auto-exposed frame
        by frame; iterate over it, ``stop()`` it. Captures pause it while they run."""
        from mountcam.body.backend import check_preview_size
        from mountcam.body.preview import PreviewStream

        module = self.module()
        module.require_lens()
        return PreviewStream(self, check_preview_size(module.sensor, size), fps)

    def preview_step(self, size: tuple[int, int]) -> RawFrame:
        """One frame of the live preview: read at the exposure the last frame asked for, then
        metered (AE follows the light one frame at a time; AE lock and manual exposure hold
        it), white-balanced and given the body's beliefs like a capture."""
        with self._lock:
            ctl = self.controls
            module = self.module()
            believed, ident = self.believed_lens(module)
            manual = ctl.exposure_s is not None and ctl.iso is not None
            if manual:
                product = ctl.exposure_s * ctl.iso
            else:
                product = self._last_product.get(module.name, 1.0)
            frame = self._read_preview(module, product, size)
            md = frame.metadata
            if not manual and not ctl.ae_lock:
                metering = three_a.meter(
                    frame, ctl.metering, self._shading(module, believed, frame)
                )
                # The stream shows the exposure the shot will have: compensation included. A
                # frame brightened on purpose may clip; only without that is clipping a reason
                # to step down hard (else the stream would swing between the two).
                if metering.clipped_fraction > three_a.MAX_CLIPPED and ctl.ev <= 0:
                    wanted = min(metering.wanted_product(ctl.ev), metering.exposure_product / 8)
                else:
                    wanted = metering.wanted_product(ctl.ev)
                self._last_product[module.name] = self._clamp_product(module, wanted)
            exposure = Exposure(
                md.exposure_s,
                md.iso,
                "manual" if manual else _PROGRAM_NAMES[ctl.program],
                not manual,
                "unknown" if manual else _METERING_NAMES[ctl.metering],
            )
            wb = ctl.white_balance
            model = self.awb_model(module.name)
            if wb.mode != "auto":
                neutral = three_a.preset_neutral(model, wb.preset, wb.kelvin)
            elif ctl.awb_lock and self._locked_neutral is not None:
                neutral = self._locked_neutral
            else:
                neutral = self._locked_neutral = three_a.auto_neutral(
                    frame, model, max_cells=STREAM_AWB_CELLS
                )
            estimate = self._estimates.get(module.name) if ident is not None else None
            self._fill_beliefs(
                frame, module, believed, ident, exposure, ctl, neutral, 0.0, estimate
            )
            return frame

    def magnifier_frame(
        self, point: tuple[float, float], size: tuple[int, int] = (512, 384)
    ) -> RawFrame:
        """The sensor's own pixels around ``point`` for the magnifier: a ``size`` (width,
        height) window of the full readout, centred on ``point`` (x, y as fractions 0–1 of the
        frame's width and height; moved inward at the edges), at the live view's exposure and
        white balance. It neither meters nor balances: the magnifier shows, it decides nothing.
        """
        from mountcam.body.backend import Readout

        x, y = (float(v) for v in point)
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise InvalidSetting(
                f"a magnifier point is a fraction of the frame, 0 to 1 (got {x:g}, {y:g})"
            )
        with self._lock:
            ctl = self.controls
            module = self.module()
            s = module.sensor
            full_w, full_h = s.output_size("full")
            w, h = (int(v) for v in size)
            if not (32 <= w <= full_w and 32 <= h <= full_h) or w % 4 or h % 4:
                raise InvalidSetting(
                    f"a magnifier window is 32x32 to {full_w}x{full_h} pixels, sides multiples "
                    f"of 4 (got {w}x{h})"
                )
            believed, ident = self.believed_lens(module)
            manual = ctl.exposure_s is not None and ctl.iso is not None
            product = (
                ctl.exposure_s * ctl.iso if manual else self._last_product.get(module.name, 1.0)
            )
            t, iso = (ctl.exposure_s, ctl.iso) if manual else self._preview_exposure(s, product)
            self._preview_index += 1
            frame = self.backend.read(
                module,
                Readout(
                    "full",
                    min(s.bits_allowed),
                    t,
                    iso,
                    crop=(w, h),
                    frame_index=self._preview_index,
                    centre=(x * full_w, y * full_h),
                ),
            )
            wb = ctl.white_balance
            if wb.mode != "auto":
                neutral = three_a.preset_neutral(self.awb_model(module.name), wb.preset, wb.kelvin)
            elif self._locked_neutral is not None:
                neutral = self._locked_neutral
            else:
                neutral = self._locked_neutral = three_a.auto_neutral(
                    frame, self.awb_model(module.name)
                )
            exposure = Exposure(
                t,
                iso,
                "manual" if manual else _PROGRAM_NAMES[ctl.program],
                not manual,
                "unknown" if manual else _METERING_NAMES[ctl.metering],
            )
            estimate = self._estimates.get(module.name) if ident is not None else None
            self._fill_beliefs(
                frame, module, believed, ident, exposure, ctl, neutral, 0.0, estimate
            )
            return frame

    def frames(self, interval_s: float, count: int) -> Iterator[RawFrame]:
        """Interval shooting: ``count`` captures, one every ``interval_s`` seconds (each
        metered and balanced on its own), yielded as they are taken."""
        if count < 1:
            raise InvalidSetting(f"count must be at least 1 (got {count})")
        if not (math.isfinite(interval_s) and 0 <= interval_s <= 86400):
            raise InvalidSetting(f"interval {interval_s:g} s is outside 0 to 86400 s (one day)")
        start = time.monotonic()
        for i in range(count):
            wait = start + i * interval_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            yield self.capture()

    def truth(self, frame: RawFrame) -> TwinTruth | None:
        """What only the twin knows about ``frame`` (None on a backend that is not the twin)."""
        ask = getattr(self.backend, "truth", None)
        return ask(frame) if ask is not None else None

    def save_dng(self, frame: RawFrame, folder: str | Path, **options) -> Path:
        """Write ``frame`` as the next camera-numbered DNG in ``folder`` (``MTC_0001.dng`` …,
        never overwriting); ``options`` go to :func:`~mountcam.dng.write_dng`."""
        return self.save_dngs([frame], folder, **options)[0]

    def save_dngs(self, frames: list[RawFrame], folder: str | Path, **options) -> list[Path]:
        """Write every frame or none: if one fails, those already written are removed."""
        from mountcam.dng import write_dng
        from mountcam.file_naming import write_numbered

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        try:
            for frame in frames:
                written += write_numbered(folder, [frame], lambda f, p: write_dng(f, p, **options))
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        return written

    def calibration(self, module: str | None = None):
        """The module's colour calibration (fitted once per camera)."""
        name = self.module(module).name
        if name not in self._calibrations:
            self._calibrations[name] = self.backend.calibration(name)
        return self._calibrations[name]

    def awb_model(self, module: str | None = None):
        """The module's auto-white-balance model (:func:`mountcam.body.three_a.awb_model`)."""
        name = self.module(module).name
        if name not in self._awb_models:
            self._awb_models[name] = three_a.awb_model(
                self.module(name).sensor, self.calibration(name)
            )
        return self._awb_models[name]

    def exposure_limits(self, module: Module, focal_mm: float | None = None) -> ExposureLimits:
        """Hardware limits and the handheld limit for a focal length the body knows (or not)."""
        s = module.sensor
        if focal_mm is None and module.fixed_lens is not None:
            focal_mm = module.fixed_lens.focal_mm
        return ExposureLimits(
            min_exposure_s=s.min_exposure_s,
            max_exposure_s=s.max_exposure_s,
            iso_min=s.iso_min,
            iso_max=s.iso_max,
            # ISO 19093:2018 §3.1: handheld limit 1/f s for 35 mm-equivalent focal length f;
            # a body that does not know its lens assumes 1/30 s.
            handheld_limit_s=1.0 / (focal_mm * module.crop_factor) if focal_mm else 1.0 / 30,
        )

    # ---- decisions -------------------------------------------------------------------------------
    def _meter(
        self, module: Module, believed: LensProfile | None, mode: str
    ) -> tuple[three_a.Metering, RawFrame]:
        """Meter from preview frames, starting at the last metered exposure and re-taking a
        frame that clipped or was black; returns the last reading and a preview frame taken
        within 1 EV of the metered exposure (for the white balance's statistics)."""
        shading = None
        product = self._last_product.get(module.name, 1.0)  # 1/100 s at ISO 100
        for _ in range(MAX_METER_FRAMES):
            frame = self._read_preview(module, product, PREVIEW_SIZE)
            if shading is None:
                shading = self._shading(module, believed, frame)
            metering = three_a.meter(frame, mode, shading)
            if metering.reliable:
                break
            if metering.clipped_fraction > three_a.MAX_CLIPPED:
                product = min(metering.wanted_product(), metering.exposure_product / 8)
            else:
                product = max(metering.wanted_product(), metering.exposure_product * 16)
            product = self._clamp_product(module, product)
        wanted = self._clamp_product(module, metering.wanted_product())
        self._last_product[module.name] = wanted
        if abs(math.log2(wanted / metering.exposure_product)) > 1.0:
            frame = self._read_preview(module, wanted, PREVIEW_SIZE)
        return metering, frame

    def _decide_exposure(
        self, module: Module, believed: LensProfile | None, ctl: Controls
    ) -> tuple[Exposure, RawFrame | None]:
        """Shutter and ISO for the program, metered from preview frames where it asks; and the
        well-exposed preview frame the metering ended on (None when it did not meter)."""
        program = _PROGRAM_NAMES[ctl.program]
        if ctl.exposure_s is not None and ctl.iso is not None:
            return Exposure(ctl.exposure_s, ctl.iso, "manual", False, "unknown"), None
        limits = self.exposure_limits(module, believed.focal_mm if believed else None)
        if ctl.ae_lock and self._locked_exposure is not None:
            t, iso = self._locked_exposure
            return Exposure(t, iso, program, True, _METERING_NAMES[ctl.metering]), None
        metering, frame = self._meter(module, believed, ctl.metering)
        wanted = metering.wanted_product(ctl.ev)
        t, iso = exposure_for_product(wanted, limits, exposure_s=ctl.exposure_s, iso=ctl.iso)
        iso = float(round(iso))
        self._locked_exposure = (t, iso)
        return Exposure(t, iso, program, True, _METERING_NAMES[ctl.metering]), frame

    def _decide_white_balance(
        self,
        module: Module,
        believed: LensProfile | None,
        ctl: Controls,
        preview: RawFrame | None,
    ) -> tuple[float, float, float]:
        """The neutral of a preset or colour temperature, or estimated from a preview frame
        exposed by the meter (whatever the shot's own exposure: a camera's statistics come
        from its auto-exposed stream, so a dark manual shot is balanced as well as any)."""
        wb = ctl.white_balance
        model = self.awb_model(module.name)
        if wb.mode != "auto":
            return three_a.preset_neutral(model, wb.preset, wb.kelvin)
        if ctl.awb_lock and self._locked_neutral is not None:
            return self._locked_neutral
        if preview is None:
            _, preview = self._meter(module, believed, "average")
        neutral = three_a.auto_neutral(preview, model)
        self._locked_neutral = neutral
        return neutral

    def _clamp_product(self, module: Module, product: float) -> float:
        s = module.sensor
        return min(max(product, s.min_exposure_s * s.iso_min), MAX_PREVIEW_EXPOSURE_S * s.iso_max)

    @staticmethod
    def _preview_exposure(s, product: float) -> tuple[float, float]:
        """Shutter and ISO of a live frame for an exposure product (s·ISO): the lowest ISO
        whose shutter is no longer than a preview frame may take."""
        t = min(max(product / s.iso_min, s.min_exposure_s), MAX_PREVIEW_EXPOSURE_S)
        return t, min(max(product / t, s.iso_min), s.iso_max)

    def _read_preview(self, module: Module, product: float, size: tuple[int, int]) -> RawFrame:
        s = module.sensor
        t, iso = self._preview_exposure(s, product)
        self._preview_index += 1
        return self.backend.read(
            module,
            Readout(
                "preview", min(s.bits_allowed), t, iso, size=size, frame_index=self._preview_index
            ),
        )

    def _shading(
        self, module: Module, believed: LensProfile | None, frame: RawFrame
    ) -> np.ndarray | None:
        """Relative illumination of the believed lens on the frame's 2×2 cells (None: no lens
        data, so no correction)."""
        if believed is None:
            return None
        from mountcam.body.reference_frame import frame_window
        from mountcam.optics.imaging import relative_illumination

        window = frame_window(frame)
        estimate = self._estimates.get(module.name)
        f_number = estimate.f_number if estimate is not None else believed.max_f
        f_number = min(max(f_number, believed.max_f), believed.min_f)
        key = (believed, round(f_number, 3), window)
        if key not in self._shading_cache:
            grid_tan = window.grid_m().scaled(1.0 / believed.focal_m)
            ri = relative_illumination(believed, LensState(f_number), window, grid_tan)
            h, w = ri.shape[0] // 2 * 2, ri.shape[1] // 2 * 2
            if len(self._shading_cache) > 8:
                self._shading_cache.clear()
            self._shading_cache[key] = ri[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        return self._shading_cache[key]

    def _biased(self, module: Module, exposure: Exposure, offset_ev: float) -> tuple[float, float]:
        if offset_ev == 0:
            return exposure.exposure_s, exposure.iso
        s = module.sensor
        factor = 2.0**offset_ev
        if self.controls.exposure_s is None:  # the camera's shutter: bracket with it
            t = min(max(exposure.exposure_s * factor, s.min_exposure_s), s.max_exposure_s)
            return t, exposure.iso
        iso = min(max(exposure.iso * factor, s.iso_min), s.iso_max)
        return exposure.exposure_s, float(round(iso))

    def _next_index(self) -> int:
        index = self._frame_index
        self._frame_index += 1
        return index

    # ---- the M lens's f-number -------------------------------------------------------------------
    def _estimate_aperture(
        self, module: Module, believed: LensProfile, frame: RawFrame
    ) -> ApertureEstimate | None:
        """Compare ``frame`` with a main-module reference of the same view (re-taking either
        shorter while it clips); None when no estimate is possible."""
        from mountcam.body.reference_frame import (
            MAX_CLIPPED,
            estimate_from_frames,
            frame_rate,
            reference_region,
        )

        main = next((m for m in self.modules.values() if m.fixed_lens is not None), None)
        if main is None or module.sensor is not main.sensor:
            return None
        model = module.sensor
        config = self.configuration
        retake = 0
        while frame_rate(model, frame).clipped_fraction > MAX_CLIPPED:
            retake += 1
            if retake > MAX_RETAKES:
                return None
            md = frame.metadata
            frame = self.backend.read(
                module,
                Readout(
                    md.mode,
                    md.bits,
                    max(md.exposure_s / 4, model.min_exposure_s),
                    md.iso,
                    crop=config.crop,
                    frame_index=_RETAKE_INDEX + retake,
                ),
            )
        region = reference_region(frame, believed, model, main.fixed_lens)
        exposure, _ = self._decide_exposure(main, main.fixed_lens, Controls(metering="average"))
        t, iso = exposure.exposure_s, exposure.iso
        for attempt in range(MAX_RETAKES + 1):
            reference = self.backend.read(
                main,
                Readout(
                    "binned",
                    config.bits,
                    t,
                    iso,
                    crop=region.crop,
                    frame_index=_REFERENCE_INDEX + attempt,
                    view_of=module.name,
                ),
            )
            if (
                frame_rate(model, reference, region.weights(reference)).clipped_fraction
                <= MAX_CLIPPED
            ):
                break
            t = max(t / 4, model.min_exposure_s)
        else:
            return None
        estimate = estimate_from_frames(frame, believed, reference, region, model, main.fixed_lens)
        if estimate is not None:
            self._estimates[module.name] = estimate
        return estimate

    # ---- what the frame says the body believes -----------------------------------------------------
    def _fill_beliefs(
        self,
        frame: RawFrame,
        module: Module,
        believed: LensProfile | None,
        ident: Identification | None,
        exposure: Exposure,
        ctl: Controls,
        neutral: tuple[float, float, float],
        offset_ev: float,
        estimate: ApertureEstimate | None,
    ) -> None:
        md = frame.metadata
        if believed is not None or ident is not None:  # else: the backend's own lens record
            md.lens_name = believed.name if believed else ""
            md.focal_mm = believed.focal_mm if believed else 0.0
        if ident is None and believed is not None:
            md.f_number = believed.max_f  # a fixed lens: the body knows its aperture
            md.focus_m = module.focus_m
        elif module.mount is not None and module.mount.declared_f_number is not None:
            md.f_number = module.mount.declared_f_number
        elif estimate is not None:
            md.f_number = estimate.f_number
        if ident is not None and module.mount.declared_focus_m is not None:
            md.focus_m = module.mount.declared_focus_m
        md.as_shot_neutral = tuple(float(v) for v in neutral)
        md.exposure_program = exposure.program
        md.metered = exposure.metered
        md.metering_mode = exposure.metering_mode
        md.white_balance = "auto" if ctl.white_balance.mode == "auto" else "manual"
        md.exposure_bias_ev = round((ctl.ev if exposure.metered else 0.0) + offset_ev, 6)
        md.extra["lens_detection"] = ident.as_dict() if ident else None
        md.extra["white_balance_setting"] = str(ctl.white_balance)
        if ident is not None:
            md.extra["f_number_estimate"] = estimate.as_dict() if estimate else None
        frame.lens = believed
        if believed is not None:
            focal = md.focal_mm if believed.focal_settings_mm or believed.focal_range_mm else None
            frame.lens_state = LensState(
                md.f_number or 0.0, md.focus_m if md.focus_m is not None else math.inf, focal
            )
        frame.calibration = self.calibration(module.name)


def _catalogue_lens_by_code(code: int) -> LensProfile | None:
    from mountcam.optics.lens_catalogue import lens_by_code

    return lens_by_code(code)


def _autofocuses(module: Module, ctl: Controls) -> bool:
    """Whether a capture with ``ctl`` runs the autofocus loop first (a fixed lens, AF mode)."""
    return ctl.focus_mode == "auto" and module.fixed_lens is not None and module.mount is None
