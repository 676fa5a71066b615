"""The camera behind the web app: one object that owns the :class:`~mountcam.body.camera.Camera`
and its lock, and that every request and the live stream go through.

Everything here is the Camera API, the live view (:mod:`mountcam.app.liveview`), the drive
modes (:mod:`mountcam.body.drive`), ``develop`` and the aids; the service only keeps the
order of things:

- **one lock** (:attr:`CameraService.lock`) around every use of the camera: a preview step, a
  change of settings or lens, a capture. Requests announce themselves first
  (:meth:`CameraService.priority`) and the live stream waits while any is waiting, so a
  stream of preview frames never starves a shutter press or a turn of a ring;
- **one capture at a time**: a second press while one runs is refused (409), never queued
  behind a long exposure without the photographer knowing;
- **the live stream** runs only while someone watches (one producer thread, whatever the
  number of viewers): it reads a preview frame under the lock, develops it and computes the
  aids outside it, and keeps the newest frame with its JPEG per overlay combination, so four
  viewers with the same aids cost one encode;
- **the light before the press**: once the settings and the scene have stood still for
  :data:`PREPARE_AFTER_S` while someone watches, a thread readies the capture
  (:meth:`Camera.prepare <mountcam.body.camera.Camera.prepare>`: the twin renders the
  capture's light while the photographer frames, as a real sensor is lit before the shutter
  opens), so the press is the sensor's readout and the DNG; a press that comes while it
  renders waits for that light rather than render it again;
- **the gallery** is the captures folder itself: a capture is listed when its DNG is on disk
  (written atomically, fsynced, read back before the press is acknowledged), so a restart
  lists every acknowledged capture; what the gallery shows of it (EXIF, raw histogram,
  thumbnail, the body's f-number estimate) is kept in ``.gallery/`` beside it and rebuilt
  from the DNG when missing.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from mountcam.app.json_values import json_safe
from mountcam.app.web.safety import Refused, capture_path
from mountcam.errors import InvalidSetting, MountcamError

#: Standard marks of a focus ring's distance scale, metres (the lens's closest focus is added).
DISTANCE_MARKS_M = (0.3, 0.5, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0)
#: JPEG quality of live frames (a viewfinder, not a picture).
LIVE_JPEG_QUALITY = 80
#: Aids a viewer may ask for (the live view's, plus the drawing-only ones the page draws).
VIEW_AIDS = ("raw-histogram", "histogram", "zebra", "peaking", "waveform")
GALLERY_DIR = ".gallery"
THUMB_SIZE = (320, 240)
#: Leftovers of an atomic write killed before its rename (mountcam.atomic_file's names).
_STALE_TMP = re.compile(r"^\.MTC_.*\.[0-9a-f]{12}\.tmp$")
#: Seconds the settings and the scene must stand still, with the live view on, before the
#: capture is readied (a turn of a ring or a new scene starts the wait again).
PREPARE_AFTER_S = 0.5
_DEFAULT_SHUTTER_S = 1 / 125
_DEFAULT_MANUAL_ISO = 400.0


@dataclass(frozen=True)
class ShotSettings:
    """What the web app adds to the camera's controls: how a press is saved."""

    look: str = "standard"
    raw_jpeg: bool = False


@dataclass
class Published:
    """The newest live frame and what has been encoded of it."""

    index: int
    live: object  # LiveFrame
    info: dict
    jpegs: dict[tuple, bytes] = field(default_factory=dict)
    time: float = 0.0


@dataclass
class Viewer:
    """One client of the live stream: the aids it shows."""

    aids: frozenset[str] = frozenset({"histogram", "raw-histogram"})
    peaking_colour: str = "red"
    zebra_over: float = 245.0

    def variant(self) -> tuple:
        return ("zebra" in self.aids, "peaking" in self.aids, self.peaking_colour, self.zebra_over)


class CameraService:
    """See the module docstring. ``camera``: a configured :class:`Camera`; ``captures``: the
    folder captures are written to; ``preview_size``: the live view's (width, height);
    ``max_fps``: the live stream's cap; ``prepare``: ready the capture while the live view
    stands still (see the module docstring)."""

    def __init__(
        self,
        camera,
        captures: Path,
        *,
        preview_size: tuple[int, int] = (1024, 768),
        max_fps: float = 20.0,
        backend_name: str = "sim",
        prepare: bool = True,
    ) -> None:
        self.camera = camera
        self.captures = Path(captures)
        self.captures.mkdir(parents=True, exist_ok=True)
        self.preview_size = preview_size
        self.max_fps = max_fps
        self.backend_name = backend_name
        self.lock = threading.RLock()
        self.shot = ShotSettings()
        self.drive = _drive_module().Drive()
        self.shutter_s = _DEFAULT_SHUTTER_S
        self.scene_name = getattr(getattr(camera.backend, "scene", None), "name", None)
        self.last_estimate: dict | None = None
        self._waiting = 0
        self._waiting_cv = threading.Condition()
        self._capture_lock = threading.Lock()
        self.progress: dict | None = None
        self._viewers: dict[int, Viewer] = {}
        self._viewers_lock = threading.Lock()
        self._frame_cv = threading.Condition()
        self._published: Published | None = None
        self.live_error: str | None = None
        self._producer: threading.Thread | None = None
        self._stop = threading.Event()
        self._frame_times: list[float] = []
        self.prepare = prepare
        #: The settings version seen still since when, the last one tried and the last one
        #: readied, and the thread that readies.
        self._still: tuple[object, float] = (None, 0.0)
        self._tried: object = None
        self._ready: object = None
        self._preparer: threading.Thread | None = None
        self._uploads = Path(tempfile.mkdtemp(prefix="mountcam-uploads-"))
        self._remove_stale_temporaries()

    # ---- order of access ----------------------------------------------------------------------
    @contextlib.contextmanager
    def priority(self):
        """Hold the camera for a request: the live stream steps aside until it is done."""
        with self._waiting_cv:
            self._waiting += 1
        try:
            with self.lock:
                yield self.camera
        finally:
            with self._waiting_cv:
                self._waiting -= 1
                self._waiting_cv.notify_all()

    def close(self) -> None:
        self._stop.set()
        for thread in (self._producer, self._preparer):
            if thread is not None:
                thread.join(timeout=10)
        shutil.rmtree(self._uploads, ignore_errors=True)

    # ---- status and settings -------------------------------------------------------------------
    def status(self) -> dict:
        with self._viewers_lock:
            viewers = len(self._viewers)
        cam = self.camera
        return {
            "backend": self.backend_name,
            "modules": list(cam.modules),
            "module": cam.configuration.module,
            "scene": self.scene_name,
            "capturing": self.progress is not None,
            "progress": self.progress,
            "live": {
                "viewers": viewers,
                "fps": round(self.live_fps(), 2),
                "error": self.live_error,
                "capture_ready": self.capture_ready(),
            },
            "captures": len(self.capture_names()),
            "settings": self.settings(),
            "lens": self.lens_status(),
            "choices": self.choices(),
        }

    def choices(self) -> dict:
        """What each setting may be, for the selected module (the page builds its menus from
        this, so the dials offer exactly what the camera accepts)."""
        from mountcam.body import drive as drives
        from mountcam.body.camera import AF_REGION
        from mountcam.body.mount import DETECTION_MODES
        from mountcam.body.settings import (
            EV_RANGE,
            KELVIN_RANGE,
            METERING_MODES,
            PROGRAMS,
            WB_PRESETS,
        )
        from mountcam.develop.looks import look_names

        sensor = self.camera.module().sensor
        # The AF region is the fixed-lens module's (the selected one's where none has one).
        modules = self.camera.modules.values()
        af_module = next((m for m in modules if m.fixed_lens is not None), self.camera.module())
        binned_w, binned_h = af_module.sensor.output_size("binned")
        return {
            "programs": list(PROGRAMS),
            "metering": list(METERING_MODES),
            "wb_presets": list(WB_PRESETS),
            "kelvin_range": list(KELVIN_RANGE),
            "ev_range": list(EV_RANGE),
            "iso_range": [sensor.iso_min, sensor.iso_max],
            "shutter_range_s": [sensor.min_exposure_s, sensor.max_exposure_s],
            "drive_modes": list(drives.DRIVE_MODES),
            "bracket_frames": list(drives.BRACKET_FRAMES),
            "max_burst": drives.MAX_BURST,
            "looks": list(look_names()),
            "formats": ["raw", "raw+jpeg"],
            "detection_modes": list(DETECTION_MODES),
            # The AF region, as fractions of the field (the page draws it).
            "af_region": [AF_REGION[0] / binned_w, AF_REGION[1] / binned_h],
        }

    def settings(self) -> dict:
        cam = self.camera
        config, ctl, drive = cam.configuration, cam.controls, self.drive
        module = cam.module()
        return {
            "module": config.module,
            "program": ctl.program,
            "shutter_s": ctl.exposure_s if ctl.exposure_s is not None else self.shutter_s,
            "iso": ctl.iso,
            "ev": ctl.ev,
            "wb": str(ctl.white_balance),
            "metering": ctl.metering,
            "focus_mode": ctl.focus_mode if module.mount is None else "manual",
            "af_point": list(ctl.af_point) if ctl.af_point else None,
            "focus_m": _finite(module.focus_m) if module.mount is None else None,
            "ae_lock": ctl.ae_lock,
            "awb_lock": ctl.awb_lock,
            "mode": config.mode,
            "bits": config.bits,
            "crop": list(config.crop) if config.crop else None,
            "drive": {
                "mode": drive.mode,
                "count": drive.count,
                "step_ev": drive.step_ev,
                "interval_s": drive.interval_s,
                "timer_s": drive.timer_s,
            },
            "look": self.shot.look,
            "format": "raw+jpeg" if self.shot.raw_jpeg else "raw",
        }

    def update_settings(self, changes: dict) -> dict:
        """Apply a partial settings change (the keys of :meth:`settings`), all or nothing."""
        from mountcam.body.settings import Controls
        from mountcam.develop.looks import look_names

        unknown = set(changes) - set(self.settings())
        if unknown:
            raise InvalidSetting(f"unknown setting {', '.join(sorted(unknown))}")
        with self.priority() as cam:
            config = cam.configuration
            ctl = cam.controls
            new_config = replace(
                config,
                module=changes.get("module", config.module),
                mode=changes.get("mode", config.mode),
                bits=_number(changes.get("bits", config.bits), "bits", int),
                crop=_crop(changes["crop"]) if "crop" in changes else config.crop,
            )
            program = str(changes.get("program", ctl.program)).upper()
            shutter = changes.get("shutter_s", ctl.exposure_s or self.shutter_s)
            shutter = _shutter_s(shutter) if shutter is not None else self.shutter_s
            iso = changes["iso"] if "iso" in changes else ctl.iso
            iso = None if iso in (None, "", "auto") else _number(iso, "ISO")
            if program in ("S", "M"):
                exposure_s = shutter
                if program == "M" and iso is None:
                    iso = _DEFAULT_MANUAL_ISO
            else:
                exposure_s = None
            new_ctl = Controls(
                program=program,
                exposure_s=exposure_s,
                iso=iso,
                ev=_number(changes.get("ev", ctl.ev), "EV"),
                metering=changes.get("metering", ctl.metering),
                white_balance=changes.get("wb", ctl.white_balance),
                focus_mode=changes.get("focus_mode", ctl.focus_mode),
                af_point=changes.get("af_point", ctl.af_point),
                ae_lock=bool(changes.get("ae_lock", ctl.ae_lock)),
                awb_lock=bool(changes.get("awb_lock", ctl.awb_lock)),
            )
            drive = self.drive
            if "drive" in changes:
                if not isinstance(changes["drive"], dict):
                    raise InvalidSetting("drive is {mode, count, step_ev, interval_s, timer_s}")
                d = dict(changes["drive"])
                unknown = set(d) - {"mode", "count", "step_ev", "interval_s", "timer_s"}
                if unknown:
                    raise InvalidSetting(f"unknown drive setting {', '.join(sorted(unknown))}")
                mode = d.get("mode", drive.mode)
                defaults = {"single": 1, "burst": 3, "bracket": 3, "interval": 3}
                count = d.get("count", drive.count if mode == drive.mode else defaults.get(mode, 1))
                interval = d.get("interval_s", drive.interval_s)
                if mode == "interval" and not interval:
                    interval = 2.0
                drive = _drive_module().Drive(
                    mode=mode,
                    count=_number(count, "the frame count", int),
                    step_ev=_number(d.get("step_ev", drive.step_ev), "the bracket step"),
                    interval_s=_number(interval, "the interval"),
                    timer_s=_number(d.get("timer_s", drive.timer_s), "the self-timer"),
                )
            look = changes.get("look", self.shot.look)
            if look not in look_names():
                raise InvalidSetting(f"look '{look}' does not exist; use {', '.join(look_names())}")
            fmt = changes.get("format", "raw+jpeg" if self.shot.raw_jpeg else "raw")
            if fmt not in ("raw", "raw+jpeg"):
                raise InvalidSetting(f"format '{fmt}' does not exist; use raw or raw+jpeg")
            # Everything is validated; now apply (configure first: the module's sensor decides
            # the control ranges).
            old_config = cam.configuration
            cam.configure(new_config)
            try:
                cam.set_controls(new_ctl)
                if "focus_m" in changes and cam.module().mount is None:
                    cam.set_lens(focus_m=_distance_m(changes["focus_m"]))
            except BaseException:
                cam.configure(old_config)
                raise
            self.shutter_s = shutter
            self.drive = drive
            self.shot = ShotSettings(look=look, raw_jpeg=fmt == "raw+jpeg")
            return self.settings()

    def autofocus(self) -> dict:
        """Contrast-detect AF of the main module (the Camera API's loop)."""
        with self.priority() as cam:
            result = cam.autofocus()
        return json_safe(result.as_dict())

    # ---- the lens ------------------------------------------------------------------------------
    def lens_status(self, module_name: str | None = None) -> dict:
        """A module's lens (the selected module's by default) as the lens panel shows it."""
        from mountcam.assist import circle_of_confusion_m, depth_of_field
        from mountcam.assist.depth_of_field import FULL_FRAME_DIAGONAL_M

        cam = self.camera
        module = cam.module(module_name)
        mount = module.mount
        out: dict = {"module": module.name, "has_mount": mount is not None}
        if mount is not None:
            lens = mount.lens
            out["detection"] = {
                "mode": mount.detection,
                "manual_lens": _lens_id(mount.manual_choice),
            }
            if lens is None:
                out["attached"] = None
                return out
            ident = mount.identify()
            out["identification"] = ident.as_dict()
            rings = mount.rings
            f_number, focus_m = rings.f_number, rings.focus_m
            focal_mm = lens.focal_for(rings)
        else:
            lens = module.fixed_lens
            if lens is None:  # a replayed camera: the lens is whatever the files say
                out["attached"] = None
                return out
            f_number, focus_m, focal_mm = lens.max_f, module.focus_m, lens.focal_mm
        crop = module.crop_factor
        out["attached"] = _lens_dict(lens, crop)
        out["rings"] = {"f_number": f_number, "focus_m": _finite(focus_m), "focal_mm": focal_mm}
        out["focal_35mm_mm"] = round(focal_mm * crop, 1)
        coc = circle_of_confusion_m(FULL_FRAME_DIAGONAL_M / crop)
        dof = depth_of_field(focal_mm * 1e-3, f_number, focus_m, coc)
        out["depth_of_field"] = dof.as_dict()
        out["distance_marks_m"] = sorted(
            {round(lens.min_focus_m, 2)} | {m for m in DISTANCE_MARKS_M if m > lens.min_focus_m}
        )
        out["estimate"] = self.last_estimate if mount is not None else None
        return out

    def update_lens(self, changes: dict) -> dict:
        """Mount or remove a lens, set the detection menu, turn the rings (keys: ``lens`` (id,
        or null to remove), ``code_read``, ``detection``, ``manual_lens``, ``f_number``,
        ``focus_m``, ``focal_mm``)."""
        from mountcam.optics.lens_catalogue import find_lens

        known = {"lens", "code_read", "detection", "manual_lens", "f_number", "focus_m", "focal_mm"}
        unknown = set(changes) - known
        if unknown:
            raise InvalidSetting(f"unknown lens setting {', '.join(sorted(unknown))}")
        with self.priority() as cam:
            if cam.mount is None:
                raise InvalidSetting("this camera has no lens mount")
            if "lens" in changes:
                if cam.mount.lens is not None:
                    cam.detach_lens()
                if changes["lens"]:
                    code = changes.get("code_read")
                    cam.attach_lens(
                        str(changes["lens"]), None if code is None else _number(code, "code", int)
                    )
                self.last_estimate = None
            if "detection" in changes or "manual_lens" in changes:
                manual = changes.get("manual_lens", _lens_id(cam.mount.manual_choice))
                cam.set_lens_detection(
                    changes.get("detection", cam.mount.detection),
                    find_lens(str(manual)) if manual else None,
                )
            rings = {k: changes[k] for k in ("f_number", "focus_m", "focal_mm") if k in changes}
            mount_module = next(m.name for m in cam.modules.values() if m.mount is cam.mount)
            if rings:
                if cam.configuration.module != mount_module:
                    raise InvalidSetting("switch to the M module to turn its lens's rings")
                turned = {k: _number(v, k) for k, v in rings.items() if k != "focus_m"}
                if "focus_m" in rings:  # metres, or infinity
                    turned["focus_m"] = _distance_m(rings["focus_m"])
                cam.set_lens(**turned)
            return self.lens_status(mount_module)

    @staticmethod
    def lenses(query: str = "") -> list[dict]:
        """The catalogue's M-mount lenses whose name or id contains every word of ``query``."""
        from mountcam.optics.lens_catalogue import all_lenses

        words = query.lower().split()
        out = []
        for lens in all_lenses():
            if lens.mount not in ("M", "adapted"):
                continue
            text = f"{lens.id} {lens.name}".lower()
            if all(w in text for w in words):
                out.append(_lens_dict(lens, None))
        return out

    # ---- scenes --------------------------------------------------------------------------------
    def scenes(self) -> dict:
        from mountcam.scene import list_scenes

        simulated = hasattr(self.camera.backend, "set_scene")
        return {"current": self.scene_name, "builtin": list_scenes() if simulated else []}

    def set_scene(
        self,
        name: str,
        *,
        luminance_cd_m2: float | None = None,
        hfov_deg: float | None = None,
        illuminant: str = "D65",
        depth_path: Path | None = None,
        label: str | None = None,
    ) -> dict:
        """Put a built-in scene (or an uploaded file, by its server-side path) in front of the
        simulated camera."""
        from mountcam.scene import list_scenes, load_scene

        backend = self.camera.backend
        if not hasattr(backend, "set_scene"):
            raise Refused(409, "the replay backend plays recorded files; it has no scene to set")
        if label is None and name not in list_scenes():
            raise InvalidSetting(
                f"unknown scene '{name}'; choose one of {', '.join(list_scenes())}"
            )
        scene = load_scene(
            name,
            illuminant=illuminant,
            luminance_cd_m2=luminance_cd_m2,
            hfov_deg=hfov_deg,
            depth_path=str(depth_path) if depth_path is not None else None,
        )
        with self.priority():
            backend.set_scene(scene)
            self.scene_name = label or name
        return self.scenes()

    def upload_folder(self) -> Path:
        """Where uploads are kept (a private temporary folder, removed on exit)."""
        return self._uploads

    # ---- capture -------------------------------------------------------------------------------
    def capture(self) -> dict:
        """Press the shutter with the drive mode set; returns once every file is on disk."""
        from mountcam.body import drive as drives

        if not self._capture_lock.acquire(blocking=False):
            raise Refused(409, "a capture is already running; wait for it to finish")
        try:
            drive = self.drive
            total = drive.count
            self.progress = {"phase": "starting", "done": 0, "total": total, "files": []}
            deadline = time.monotonic() + drive.timer_s
            while (left := deadline - time.monotonic()) > 0:  # the live view runs meanwhile
                self.progress = {**self.progress, "phase": "timer", "timer_left_s": round(left, 1)}
                time.sleep(min(left, 0.1))
            written: list[Path] = []
            focused: list[dict] = []

            def on_written(frame, path: Path) -> None:
                written.append(path)
                extra = frame.metadata.extra
                if "f_number_estimate" in extra:
                    self.last_estimate = extra["f_number_estimate"]
                if "autofocus" in extra:  # focus mode auto: where the AF left the lens
                    focused.append(json_safe(extra["autofocus"]))
                self._write_record(path, frame)
                self.progress = {
                    **self.progress,
                    "phase": "exposing",
                    "done": len(written),
                    "files": [p.name for p in written],
                }

            self.progress = {**self.progress, "phase": "exposing"}
            with self.priority() as cam:
                cam.start()
                drives.shoot(cam, replace(drive, timer_s=0.0), self.captures, on_written=on_written)
            files = [p.name for p in written]
            if self.shot.raw_jpeg:
                self.progress = {**self.progress, "phase": "developing"}
                for path in written:
                    files.append(self._develop_jpeg(path).name)
            return {
                "files": files,
                "estimate": self.last_estimate,
                "autofocus": focused[0] if focused else None,
            }
        finally:
            self.progress = None
            self._capture_lock.release()

    def _develop_jpeg(self, dng: Path) -> Path:
        from mountcam.app.develop_cli import Job, develop_file
        from mountcam.develop.settings import DevelopSettings

        outcome = develop_file(
            Job(
                dng,
                dng.with_suffix(".jpg"),
                DevelopSettings(look=self.shot.look),
                "jpeg",
                90,
                False,
            )
        )
        if outcome.error:
            raise MountcamError(outcome.error)
        return outcome.target

    # ---- the gallery ---------------------------------------------------------------------------
    def capture_names(self) -> list[str]:
        from mountcam.app.web.safety import CAPTURE_NAME

        return sorted(
            p.name
            for p in self.captures.iterdir()
            if p.suffix == ".dng"
            and CAPTURE_NAME.fullmatch(p.name)
            and p.is_file()
            and not p.is_symlink()  # a planted link is not a capture (capture_path refuses it)
        )

    def captures_list(self) -> list[dict]:
        return [self.capture_record(name) for name in self.capture_names()]

    def capture_record(self, name: str) -> dict:
        """What the gallery shows of a capture (built from its DNG when not kept yet)."""
        path = capture_path(self.captures, name)
        record_path = self.captures / GALLERY_DIR / f"{path.stem}.json"
        record = None
        if record_path.is_file() and not record_path.is_symlink():
            with contextlib.suppress(ValueError, OSError):
                record = json.loads(record_path.read_text())
        if record is None:
            record = self._write_record(path, None)
        jpegs = sorted(
            p.name
            for p in self.captures.glob(f"{path.stem}*.jpg")
            if re.fullmatch(rf"{path.stem}(?:-\d+)?\.jpg", p.name)
        )
        return {**record, "name": name, "jpegs": jpegs, "size_bytes": path.stat().st_size}

    def thumbnail(self, name: str) -> Path:
        path = capture_path(self.captures, name)
        thumb = self.captures / GALLERY_DIR / f"{path.stem}.jpg"
        if not thumb.is_file():
            self._write_record(path, None)
        return thumb

    def _write_record(self, path: Path, frame) -> dict:
        """Read ``path`` back (proves it is a readable DNG), keep its gallery record and
        thumbnail; ``frame`` adds what only the capture knew (the f-number estimate)."""
        from mountcam.assist import raw_histogram
        from mountcam.atomic_file import atomic_output
        from mountcam.dng import read_dng

        info = read_dng(path)
        top, left, bottom, right = info.active_area
        hist = raw_histogram(
            info.mosaic[top:bottom, left:right],
            info.cfa_pattern,
            info.black_level_dn,
            info.white_level_dn,
            bins_per_ev=2,
        ).as_dict()
        exif = {
            "exposure_time": _fraction(info.exposure_time),
            "exposure_s": float(info.exposure_time) if info.exposure_time else None,
            "f_number": info.f_number,
            "iso": info.iso,
            "focal_mm": info.focal_mm,
            "lens_model": info.lens_model,
            "make": info.make,
            "model": info.model,
            "datetime": info.datetime_original.isoformat() if info.datetime_original else None,
            "width": int(info.default_crop_size[0]),
            "height": int(info.default_crop_size[1]),
            "exposure_program": info.exif.get("ExposureProgram"),
            "exposure_bias_ev": _float_or_none(info.exif.get("ExposureBiasValue")),
            "metering_mode": info.exif.get("MeteringMode"),
            "white_balance": info.exif.get("WhiteBalance"),
        }
        record: dict = {"exif": exif, "raw_histogram": hist}
        if frame is not None:
            md = frame.metadata
            record["estimate"] = md.extra.get("f_number_estimate")
            record["lens_detection"] = md.extra.get("lens_detection")
            record["autofocus"] = json_safe(md.extra.get("autofocus"))
            record["module"] = md.module
        folder = self.captures / GALLERY_DIR
        folder.mkdir(exist_ok=True)
        with atomic_output(folder / f"{path.stem}.jpg", overwrite=True) as stream:
            stream.write(_thumbnail_jpeg(info))
        with atomic_output(folder / f"{path.stem}.json", overwrite=True) as stream:
            stream.write(json.dumps(record, default=_json_default).encode())
        return record

    def delete(self, name: str) -> list[str]:
        """Delete a capture: a DNG takes its JPEGs and gallery record with it."""
        path = capture_path(self.captures, name)
        removed = [path]
        if path.suffix == ".dng":
            removed += [
                p
                for p in self.captures.glob(f"{path.stem}*.jpg")
                if re.fullmatch(rf"{path.stem}(?:-\d+)?\.jpg", p.name) and not p.is_symlink()
            ]
            for extra in (".json", ".jpg"):
                (self.captures / GALLERY_DIR / f"{path.stem}{extra}").unlink(missing_ok=True)
        for p in removed:
            p.unlink(missing_ok=True)
        return [p.name for p in removed]

    def _remove_stale_temporaries(self) -> None:
        """Remove what a write killed before its rename left (never a finished file)."""
        for p in self.captures.iterdir():
            if _STALE_TMP.fullmatch(p.name) and p.is_file() and not p.is_symlink():
                p.unlink(missing_ok=True)

    # ---- the live stream -----------------------------------------------------------------------
    def add_viewer(self, viewer: Viewer) -> int:
        with self._viewers_lock:
            key = id(viewer)
            self._viewers[key] = viewer
            if self._producer is None or not self._producer.is_alive():
                self._stop.clear()
                self._producer = threading.Thread(
                    target=self._produce, name="mountcam-web-live", daemon=True
                )
                self._producer.start()
        return key

    def remove_viewer(self, key: int) -> None:
        with self._viewers_lock:
            self._viewers.pop(key, None)

    def live_fps(self) -> float:
        times = self._frame_times[-20:]
        if len(times) < 2 or time.monotonic() - times[-1] > 2.0:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-6)

    def wait_frame(self, after: int, timeout_s: float = 5.0) -> Published | None:
        """The newest published frame with an index above ``after`` (None on timeout)."""
        with self._frame_cv:
            self._frame_cv.wait_for(
                lambda: self._published is not None and self._published.index > after,
                timeout=timeout_s,
            )
            pub = self._published
        return pub if pub is not None and pub.index > after else None

    def frame_jpeg(self, pub: Published, viewer: Viewer) -> bytes:
        """The frame as ``viewer`` sees it (zebra and peaking drawn or not), encoded once per
        combination."""
        key = viewer.variant()
        jpeg = pub.jpegs.get(key)
        if jpeg is None:
            from mountcam.app.liveview import LiveViewSettings, compose

            live = pub.live
            shown = replace(
                live,
                histogram=None,
                waveform=None,
                zebra_over=live.zebra_over if key[0] else None,
                zebra_under=None,
                peaking=live.peaking if key[1] else None,
            )
            rgb = compose(shown, LiveViewSettings(peaking_colour=key[2]), phase_px=pub.index)
            jpeg = encode_jpeg(rgb, LIVE_JPEG_QUALITY)
            pub.jpegs[key] = jpeg
        return jpeg

    def _live_settings(self):
        from mountcam.app.liveview import LiveViewSettings

        with self._viewers_lock:
            viewers = list(self._viewers.values())
        aids = set().union(*(v.aids for v in viewers)) if viewers else set()
        aids = (aids & set(VIEW_AIDS)) | {"raw-histogram", "clipping"}
        over = min((v.zebra_over for v in viewers if "zebra" in v.aids), default=245.0)
        return LiveViewSettings(
            assists=frozenset(aids), zebra_over=over, waveform_columns=128, composite=False
        )

    def _produce(self) -> None:
        """The producer thread: preview frames while anyone watches."""
        from mountcam.app.liveview import render_live_frame

        index = self._published.index if self._published is not None else 0
        while not self._stop.is_set():
            with self._viewers_lock:
                if not self._viewers:
                    self._producer = None
                    return
            t0 = time.monotonic()
            with self._waiting_cv:  # requests first: a press never waits for the stream
                self._waiting_cv.wait_for(lambda: self._waiting == 0, timeout=1.0)
            try:
                with self.lock:
                    raw = self.camera.preview_step(self.preview_size)
                settings = self._live_settings()
                live = render_live_frame(raw, settings, index=index)
                self.live_error = None
            except MountcamError as e:
                self.live_error = str(e)
                time.sleep(0.3)
                continue
            except Exception as e:  # keep the stream alive, say what broke
                self.live_error = f"the live view failed ({type(e).__name__}: {e})"
                time.sleep(0.5)
                continue
            index += 1
            info = frame_info(live, self.camera, index)
            with self._frame_cv:
                self._published = Published(index, live, info, time=time.monotonic())
                self._frame_cv.notify_all()
            self._frame_times = [*self._frame_times[-40:], time.monotonic()]
            self._maybe_prepare()
            wait = 1.0 / self.max_fps - (time.monotonic() - t0)
            if wait > 0:
                self._stop.wait(wait)

    def capture_ready(self) -> bool:
        """Whether the capture has been readied for the present settings and scene (a press
        now is the sensor's readout and the DNG; see :meth:`Camera.prepare
        <mountcam.body.camera.Camera.prepare>`)."""
        return self._ready == self.camera.settings_version

    def _maybe_prepare(self) -> None:
        """Ready the capture in its own thread once the settings and the scene have stood
        still for :data:`PREPARE_AFTER_S` (once per state; the live view goes on)."""
        if not self.prepare or self.progress is not None:
            return
        version, now = self.camera.settings_version, time.monotonic()
        if version != self._still[0]:
            self._still = (version, now)
            return
        if version == self._tried or now - self._still[1] < PREPARE_AFTER_S:
            return
        if self._preparer is not None and self._preparer.is_alive():
            return
        self._tried = version
        self._preparer = threading.Thread(
            target=self._prepare, args=(version,), name="mountcam-prepare", daemon=True
        )
        self._preparer.start()

    def _prepare(self, version: object) -> None:
        # On every core, as a press renders: a press that comes meanwhile waits for this
        # render, which then ends no later than its own would have. (On one thread the live
        # view kept 14-18 frames/s instead of 12-16 on sample:coffee and the light was ready
        # no sooner, but such a press would wait for a render at half speed.)
        try:
            self.camera.prepare()
        except MountcamError:
            return  # nothing to ready (no lens on the mount): the live view says why
        self._ready = version

    def magnifier_jpeg(self, point: tuple[float, float], zoom: int) -> bytes:
        from mountcam.app.liveview import magnifier_view

        with self.priority() as cam:
            rgb = magnifier_view(cam, point, zoom)
        return encode_jpeg(rgb, 90)


def frame_info(live, camera, index: int) -> dict:
    """What a viewer gets beside the picture: the exposure, the histograms, the waveform,
    clipping and where peaking lights (a coarse grid, for a page or a test to read)."""
    md = live.raw.metadata
    h_pic, w_pic = live.rgb8.shape[:2]
    h_raw, w_raw = live.raw.mosaic.shape
    info: dict = {
        "index": index,
        "size": [int(w_pic), int(h_pic)],
        # The part of the field the picture shows (x, y, width, height as fractions): the
        # frame's DefaultCrop, inside the demosaic margin. A tap on the picture is a point of
        # the field (AF point, magnifier) through it.
        "field": [
            (w_raw - w_pic) / 2 / w_raw,
            (h_raw - h_pic) / 2 / h_raw,
            w_pic / w_raw,
            h_pic / h_raw,
        ],
        "exposure_s": md.exposure_s,
        "iso": md.iso,
        "f_number": md.f_number or None,
        "module": md.module,
        "stages_ms": {k: round(v, 2) for k, v in live.stages_ms.items()},
    }
    if live.raw_histogram is not None:
        info["raw_histogram"] = live.raw_histogram.as_dict()
    if live.histogram is not None:
        info["histogram"] = {k: [int(x) for x in v] for k, v in live.histogram.items()}
    if live.waveform is not None:
        wf = live.waveform.reshape(64, 4, -1).sum(axis=1).astype(np.float32)
        wf = np.sqrt(wf) / max(float(np.sqrt(wf).max()), 1.0)
        data = (np.clip(wf * 2.0, 0, 1) * 255).astype(np.uint8)
        info["waveform"] = {
            "width": int(data.shape[1]),
            "height": int(data.shape[0]),
            "data": base64.b64encode(data.tobytes()).decode(),
        }
    if live.clipping is not None:
        info["clipping"] = live.clipping
    if live.peaking is not None:
        info["peaking"] = _coarse(live.peaking)
    if live.zebra_over is not None:
        info["zebra_over_fraction"] = float(live.zebra_over.mean())
    return info


def _coarse(mask: np.ndarray, cols: int = 8, rows: int = 6) -> dict:
    h, w = mask.shape
    grid = mask[: h // rows * rows, : w // cols * cols].reshape(rows, h // rows, cols, w // cols)
    return {
        "fraction": float(mask.mean()),
        "grid": np.round(grid.mean(axis=(1, 3)), 5).tolist(),
    }


def encode_jpeg(rgb8: np.ndarray, quality: int) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", rgb8[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def _thumbnail_jpeg(info) -> bytes:
    """A gallery thumbnail from the DNG's embedded preview (developed by the camera)."""
    import cv2

    if info.preview is not None and info.preview.ndim == 3:
        rgb = info.preview
    else:
        from mountcam.develop import develop
        from mountcam.develop.settings import DevelopSettings

        rgb = develop(info.path, DevelopSettings(quality="fast"), output_dtype=np.uint8).pixels
    if rgb.dtype != np.uint8:
        rgb = (np.clip(rgb.astype(np.float32) / np.iinfo(rgb.dtype).max, 0, 1) * 255).astype(
            np.uint8
        )
    h, w = rgb.shape[:2]
    scale = min(THUMB_SIZE[0] / w, THUMB_SIZE[1] / h, 1.0)
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), cv2.INTER_AREA)
    return encode_jpeg(np.ascontiguousarray(small), 85)


def _lens_dict(lens, crop_factor: float | None) -> dict:
    out = {
        "id": lens.id,
        "name": lens.name,
        "mount": lens.mount,
        "focal_mm": lens.focal_mm,
        "focal_settings_mm": list(lens.focal_settings_mm),
        "max_f": lens.max_f,
        "min_f": lens.min_f,
        "stops": list(lens.stops),
        "stepless": lens.stepless,
        "min_focus_m": lens.min_focus_m,
        "code": lens.code,
    }
    if crop_factor is not None:
        out["focal_35mm_mm"] = round(lens.focal_mm * crop_factor, 1)
    return out


def _lens_id(lens) -> str | None:
    return lens.id if lens is not None else None


def _drive_module():
    from mountcam.body import drive

    return drive


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def _float_or_none(v) -> float | None:
    try:
        return float(v[0]) / float(v[1]) if isinstance(v, tuple) else float(v)
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        return None


def _fraction(f: Fraction | None) -> str | None:
    if f is None:
        return None
    return f"1/{round(1 / f)}" if f < 1 and round(1 / f) == 1 / f else f"{float(f):g}"


def _shutter_s(value) -> float:
    from mountcam.units import parse_shutter_s

    if isinstance(value, int | float):
        if not (math.isfinite(value) and value > 0):
            raise InvalidSetting("shutter must be longer than 0 s")
        return float(value)
    return parse_shutter_s(str(value))


def _distance_m(value) -> float:
    """A focus distance: metres, or ``inf`` / null for infinity."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("inf", "infinity")):
        return math.inf
    v = _number(value, "a focus distance")
    if not v > 0:
        raise InvalidSetting(f"a focus distance is a positive number of metres (got {value})")
    return v


def _number(value, name: str, kind: type = float):
    """``value`` as a finite number of ``kind`` (float or int), or a one-line refusal."""
    if isinstance(value, bool):
        raise InvalidSetting(f"{name} must be a number (got {value!r})")
    try:
        number = kind(value) if kind is float else kind(float(value))
    except (TypeError, ValueError):
        raise InvalidSetting(f"{name} must be a number (got {value!r})") from None
    if not math.isfinite(number) or (kind is int and number != float(value)):
        raise InvalidSetting(
            f"{name} must be a {'whole ' if kind is int else ''}number (got {value!r})"
        )
    return number


def _crop(value) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, str):
        from mountcam.units import parse_crop

        return parse_crop(value)
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise InvalidSetting(f"crop is [width, height] or 'WxH' (got {value!r})")
    return _number(value[0], "the crop width", int), _number(value[1], "the crop height", int)


def _json_default(o):
    if isinstance(o, np.integer | np.floating):
        return o.item()
    if isinstance(o, Fraction):
        return float(o)
    if isinstance(o, bytes):
        return o.decode("latin-1")
    return str(o)
