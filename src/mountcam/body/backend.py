"""Where a camera's frames come from: the backend protocol and the simulated backend.

The :class:`~mountcam.body.camera.Camera` decides (exposure, white balance, focus, what it
believes about the lens); a backend only reads the sensor out as it is told, like a sensor
driver does. Three kinds stand behind the same :class:`Backend` protocol:

- :class:`SimulatedBackend`: the twin. The scene, the noise seed, the sensor temperature and
  the other simulation knobs belong to it, not to a capture request. It alone knows the
  truth (the scene's light, the lens's real rings), which it keeps beside each frame
  (:meth:`SimulatedBackend.truth`) and never puts into one.
- :class:`~mountcam.body.replay.ReplayBackend`: a folder of DNGs replayed as the sensor.
- a hardware backend (libcamera, gphoto2) would implement :meth:`Backend.read` by setting the
  sensor mode, exposure and gain and dequeuing a buffer; nothing in the camera changes.

A :class:`Readout` is what the body asks of the sensor for one frame. Its ``mode`` is a
capture mode (``binned``, ``full``) or ``preview``: a low-resolution readout of the whole
field (every output pixel one binned pixel of a Bayer grid thinned to ``size``, i.e. line and
column skipping), read through the sensor's noise model, used by metering, white balance and
the live view.
"""

from __future__ import annotations

import secrets
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from mountcam.body.module import Module, ModuleSpec, SensorInfo
from mountcam.errors import InvalidSetting, NoLensAttached
from mountcam.sensor.rawframe import CaptureMetadata, RawFrame, TwinTruth

if TYPE_CHECKING:
    import numpy as np

    from mountcam.scene import Scene

__all__ = ["Backend", "Module", "ModuleSpec", "Readout", "SensorInfo", "SimulatedBackend"]

#: Default size of a preview readout (metering, white balance), output pixels.
PREVIEW_SIZE = (256, 192)
#: Optical images kept: a preview, a capture and a reference crop per module. A press with an
#: M lens in program A reads four (its module's preview and capture, the main module's
#: preview and the crop it compares with), and an LRU of three then missed every one of them:
#: a still scene's capture was rendered afresh on every press.
OPTICS_CACHE_ENTRIES = 6
#: ... while their electron-rate planes stay under this (a full-mode frame's alone is 200 MB).
OPTICS_CACHE_BYTES = 256 * 2**20
#: Key mixed into the seed of preview frames, so they never repeat a capture's noise.
_PREVIEW_STREAM = 0x9E3779B97F4A7C15 & (2**63 - 1)


@dataclass(frozen=True)
class Readout:
    """One frame as the body asks the sensor for it.

    ``crop`` (width, height): a window of a capture mode, output pixels (None: all), centred
    on the sensor or on ``centre`` (x, y in the mode's output pixels: the magnifier's point).
    ``size`` (width, height): the grid of a ``preview`` readout. ``frame_index`` keys the
    frame's noise. ``view_of``: twin only (a real scene has one field of view): render a scene
    that has no field of view of its own at the angles it took in this other module's last
    frame, so two modules see the same world. ``purpose``: ``capture`` (a picture asked for)
    or ``focus`` (a frame of the autofocus loop: binned, whatever the capture's mode and the
    twin's photodiode pattern).
    """

    mode: str
    bits: int
    exposure_s: float
    iso: float
    crop: tuple[int, int] | None = None
    size: tuple[int, int] | None = None
    frame_index: int = 0
    centre: tuple[float, float] | None = None
    view_of: str | None = None
    purpose: str = "capture"


class Backend(Protocol):
    """Where frames come from. See the module docstring."""

    def modules(self) -> tuple[ModuleSpec, ...]:
        """The modules this backend can read, in order (the first is the default)."""
        ...

    def calibration(self, module: str):
        """The module's colour calibration (:class:`~mountcam.dng.calibration.
        ColorCalibration`): what the camera knows about its own colour."""
        ...

    def read(self, module: Module, readout: Readout) -> RawFrame:
        """One frame of ``module`` as ``readout`` asks. The frame's belief fields (lens,
        lens state, neutral, decisions) are the camera's to fill in."""
        ...

    def prepare(self, module: Module, readout: Readout) -> None:
        """Get ready to read ``readout`` of ``module`` soon, reading nothing: what a read
        would otherwise wait for is done now (the twin renders the light on the sensor; a
        sensor driver might switch the mode). Its exposure and frame index do not matter.
        May run beside :meth:`read` in another thread; a backend with nothing to get ready
        returns at once."""
        ...


def check_preview_size(sensor: SensorInfo, size: tuple[int, int]) -> tuple[int, int]:
    """A preview grid must be even-sided, no larger than the binned readout, and of its shape."""
    w, h = (int(v) for v in size)
    full_w, full_h = sensor.output_size("binned")
    if not (16 <= w <= full_w and 16 <= h <= full_h) or w % 2 or h % 2:
        raise InvalidSetting(
            f"preview size {w}x{h} must have even sides from 16x16 to {full_w}x{full_h}"
        )
    if abs(w / h - full_w / full_h) > 0.01 * full_w / full_h:
        raise InvalidSetting(f"preview size {w}x{h} must keep the sensor's shape {full_w}:{full_h}")
    return w, h


class SimulatedBackend:
    """The twin as a camera backend: ``scene`` (a :class:`~mountcam.scene.Scene` or a name
    :func:`~mountcam.scene.load_scene` knows) seen through the physical lens of each module and
    read out by the sensor model.

    ``seed``: noise seed (None: a random one, fixed for this backend's life); frames are
    reproducible from (seed, frame index). ``temperature_c``: sensor temperature (None: the
    preset's). ``ideal_optics``: an aberration- and diffraction-free lens (the sensor alone).
    ``truth_image``: also render the noise-free image of each capture into its truth record.
    ``sensor_cfa``: the photodiodes' colour filter array, ``quad`` (the IMX989's Quad Bayer,
    remosaicked on the chip in full read-out) or ``bayer`` (an ideal Bayer sensor of the same
    1.6 µm pitch, full read-out only: the reference the remosaic is measured against).
    ``cache_optics``: reuse the optical image while nothing that shapes it changes (a still
    scene, the same rings and window); off, every frame renders it afresh (for timing).
    ``optics_renders`` counts the optical images rendered so far.
    """

    def __init__(
        self,
        scene: Scene | str = "chart:colorchecker",
        *,
        seed: int | None = None,
        sensor: str = "imx989",
        temperature_c: float | None = None,
        ideal_optics: bool = False,
        truth_image: bool = False,
        cache_optics: bool = True,
        sensor_cfa: str = "quad",
    ) -> None:
        from mountcam.optics.lens import load_lens
        from mountcam.sensor.capture import SENSOR_CFAS
        from mountcam.sensor.model import load_sensor

        self.sensor_model = load_sensor(sensor)
        self.seed = secrets.randbits(63) if seed is None else int(seed)
        if not 0 <= self.seed < 2**63:
            raise InvalidSetting("the noise seed must be a whole number from 0 to 2^63-1")
        if temperature_c is not None and not -40.0 <= temperature_c <= 125.0:
            raise InvalidSetting(f"sensor temperature {temperature_c:g} °C is outside -40..125 °C")
        self.temperature_c = temperature_c
        if sensor_cfa not in SENSOR_CFAS:
            raise InvalidSetting(f"sensor CFA '{sensor_cfa}' is not simulated; use quad or bayer")
        self.sensor_cfa = sensor_cfa
        self.ideal_optics = ideal_optics
        self.truth_image = truth_image
        self.cache_optics = cache_optics
        self._main_lens = load_lens("main-8.7")
        self._truth: weakref.WeakKeyDictionary[RawFrame, TwinTruth] = weakref.WeakKeyDictionary()
        #: key -> (optical image, electron rate), most recent last: the preview's and the
        #: capture's windows (and a reference crop) each keep theirs.
        self._optics_cache: dict[tuple, tuple[object, np.ndarray]] = {}
        self._fitted: dict[str, Scene] = {}
        #: Guards the scene, the caches and the counters: :meth:`prepare` renders in another
        #: thread than :meth:`read`. Keys being rendered, with the event their render sets.
        self._lock = threading.Lock()
        self._rendering: dict[tuple, threading.Event] = {}
        self.optics_renders = 0
        #: Scenes put in front of the camera after the first (Camera.settings_version).
        self.scene_changes = -1
        self.set_scene(scene)

    # ---- the world ---------------------------------------------------------------------------
    def set_scene(self, scene: Scene | str) -> None:
        """Put another scene in front of the camera (invalidates the cached optical image)."""
        if isinstance(scene, str):
            from mountcam.scene import load_scene

            scene = load_scene(scene)
        with self._lock:
            self.scene = scene
            self._optics_cache = {}
            self._fitted = {}
            self.scene_changes += 1

    def truth(self, frame: RawFrame) -> TwinTruth | None:
        """What only the twin knows about ``frame`` (None for a frame it did not make)."""
        return self._truth.get(frame)

    # ---- Backend -----------------------------------------------------------------------------
    def modules(self) -> tuple[ModuleSpec, ...]:
        return (
            ModuleSpec("main", self.sensor_model, fixed_lens=self._main_lens),
            ModuleSpec("m", self.sensor_model, has_mount=True),
        )

    def calibration(self, module: str):
        from mountcam.dng.calibration import calibrate_dual

        return calibrate_dual(self.sensor_model.qe)

    def read(self, module: Module, readout: Readout) -> RawFrame:
        from mountcam.sensor.capture import check_cfa, read_out, remosaic_gains
        from mountcam.sensor.model import SensorSettings
        from mountcam.sensor.remosaic import remosaic

        model = self.sensor_model
        lens, state, window, sensor_mode = self._light_path(module, readout)
        preview = readout.mode == "preview"
        if not preview and readout.purpose == "capture":
            check_cfa(sensor_mode, self.sensor_cfa)
        settings = model.validate(
            SensorSettings(
                sensor_mode, readout.bits, readout.iso, readout.exposure_s, self.temperature_c
            )
        )
        op = model.operating_point(settings)
        optical, rate = self._optics(module.name, lens, state, window, sensor_mode, readout)
        seed = self.seed ^ _PREVIEW_STREAM if preview else self.seed
        mosaic = read_out(model, op, rate, window, settings.exposure_s, seed, readout.frame_index)
        if sensor_mode == "full" and self.sensor_cfa == "quad":
            mosaic = remosaic(
                mosaic,
                model.cfa_pattern,
                (window.origin_row, window.origin_col),
                black_level_dn=op.black_level_dn,
                white_level_dn=float(op.white_level_dn),
                channel_gains=remosaic_gains(model),
            )
        meta = CaptureMetadata(
            sensor=model.name,
            module=module.name,
            mode=readout.mode,
            bits=settings.bits,
            exposure_s=settings.exposure_s,
            iso=settings.iso,
            analog_gain=op.analog_gain,
            digital_gain=op.digital_gain,
            temperature_c=op.temperature_c,
            seed=self.seed,
            frame_index=readout.frame_index,
            timestamp=datetime.now().astimezone(),
            lens_name="",
            focal_mm=0.0,
            f_number=0.0,
            as_shot_neutral=(1.0, 1.0, 1.0),
            window_origin=(window.origin_row, window.origin_col),
            full_size=(window.full_height, window.full_width),
            pixel_pitch_m=window.pitch_m,
            # The photodiodes' pattern (the mosaic is Bayer either way): its noise differs.
            extra={"sensor_cfa": self.sensor_cfa if sensor_mode == "full" else "quad"},
        )
        frame = RawFrame(
            mosaic, model.cfa_pattern, (op.black_level_dn,) * 4, op.white_level_dn, meta
        )
        self._truth[frame] = self._truth_of(optical, lens, state, sensor_mode, preview)
        return frame

    def prepare(self, module: Module, readout: Readout) -> None:
        """Render the light ``read(module, readout)`` would read (the optical image and the
        electron rate), so that the read is only the sensor's readout: the twin's light is on
        the sensor before the shutter opens, as a real scene's is. Kept while the scene, the
        lens state and the window stay as they are; a read that comes while it renders waits
        for it rather than render it again."""
        lens, state, window, sensor_mode = self._light_path(module, readout)
        self._optics(module.name, lens, state, window, sensor_mode, readout)

    # ---- internals ---------------------------------------------------------------------------
    def _light_path(self, module: Module, readout: Readout):
        """(lens, lens state, sensor window, sensor mode) of a readout: what its light depends
        on besides the scene."""
        from mountcam.optics.lens import check_state
        from mountcam.sensor.capture import readout_window

        lens, state = module.physical_optics()
        if lens is None:
            raise NoLensAttached()
        state = check_state(lens, state)
        if readout.mode == "preview":
            window = _preview_window(self.sensor_model, readout.size or PREVIEW_SIZE)
            return lens, state, window, "binned"
        window = readout_window(self.sensor_model, readout.mode, readout.crop, readout.centre)
        return lens, state, window, readout.mode

    def _optics(self, module: str, lens, state, window, mode: str, readout: Readout):
        """The optical image and the noise-free electron rate for this lens state and window,
        reused while nothing that shapes them changes (a still scene, the same rings). One
        render per key at a time: a second thread asking for a key being rendered waits."""
        from mountcam.optics.imaging import form_image, with_fixed_fov
        from mountcam.sensor.capture import electron_rate

        with self._lock:
            scene, generation = self.scene, self.scene_changes
            if readout.view_of is not None and readout.view_of in self._fitted:
                scene = self._fitted[readout.view_of]
        # The scene's generation as well as its id: an id may be reused once a scene is gone.
        key = (generation, id(scene), module, lens.id, state, window, mode, self.ideal_optics)
        while True:
            with self._lock:
                if key in self._optics_cache:
                    self._optics_cache[key] = self._optics_cache.pop(key)  # most recent last
                    return self._optics_cache[key]
                pending = self._rendering.get(key)
                if pending is None:
                    done = self._rendering[key] = threading.Event()
                    break
            pending.wait()  # then look again (not cached: cache off, or the render failed)
        try:
            if readout.view_of is None and scene.hfov_rad is None:
                from mountcam.sensor.capture import readout_window

                full = readout_window(self.sensor_model, mode, None)
                fitted = with_fixed_fov(scene, lens, state, full)
            else:
                fitted = scene
            optical = form_image(scene, lens, state, window, ideal=self.ideal_optics)
            rate = electron_rate(self.sensor_model, optical, window, mode, self.sensor_cfa)
            with self._lock:
                self.optics_renders += 1
                if generation == self.scene_changes:  # not for a scene already replaced
                    self._fitted[module] = fitted
                    if self.cache_optics:
                        self._optics_cache[key] = (optical, rate)
                        self._evict()
        finally:
            with self._lock:
                del self._rendering[key]
            done.set()
        return optical, rate

    def _evict(self) -> None:
        cache = self._optics_cache
        while len(cache) > OPTICS_CACHE_ENTRIES or (
            len(cache) > 1 and sum(r.nbytes for _, r in cache.values()) > OPTICS_CACHE_BYTES
        ):
            del cache[next(iter(cache))]

    def _truth_of(self, optical, lens, state, mode: str, preview: bool) -> TwinTruth:
        weights = self.sensor_model.photoelectron_weights(optical.spectral_irradiance_w_m2_nm, mode)
        neutral = weights.sum(axis=0)
        image = None
        if self.truth_image and not preview:
            from mountcam.optics.truth import render_truth

            image = render_truth(optical)
        scene = self.scene
        return TwinTruth(
            scene=scene.name,
            illuminant=scene.illuminant.name,
            luminance_cd_m2=float(scene.white_luminance_cd_m2),
            camera_neutral=tuple(float(x) for x in neutral / neutral.max()),
            lens_id=lens.id,
            f_number=float(state.f_number),
            focus_m=float(state.focus_m),
            focal_mm=float(lens.focal_for(state)),
            image=image,
            scene_info=scene.info() | {"beyond_scene_fraction": _beyond(optical.scene, optical)},
        )


def _beyond(scene, optical) -> float:
    """Share of the frame that looks beyond the scene's picture (where the twin extends it:
    see :class:`mountcam.scene.loaders.ImageContent`), rounded to 0.1 %."""
    window, v = optical.window, optical.image_distance_m
    half_w = window.full_width * window.pitch_m / (2.0 * v)
    half_h = window.full_height * window.pitch_m / (2.0 * v)
    return round(scene.fraction_beyond(optical.grid_tan, scene.half_width_tan(half_w, half_h)), 3)


def _preview_window(model, size: tuple[int, int]):
    """The preview grid: the whole binned field thinned to ``size`` output pixels."""
    from mountcam.optics.imaging import SensorWindow

    w, h = check_preview_size(model, size)
    full_w, _ = model.output_size("binned")
    pitch = model.output_pitch_m("binned") * full_w / w
    return SensorWindow(pitch, w, h, 0, 0, w, h)


def write_truth_tiff(path, image: np.ndarray) -> None:
    """A truth record's noise-free image as a float TIFF (zlib); never replaces a file."""
    import numpy as np
    import tifffile

    from mountcam.atomic_file import atomic_output

    with atomic_output(path) as stream:
        tifffile.imwrite(
            stream,
            np.asarray(image, dtype=np.float32),
            photometric="rgb",
            compression="zlib",
            metadata={"colorspace": "linear sRGB (D65)", "white": 1.0},
        )
