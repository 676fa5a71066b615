"""A folder of DNGs replayed as if they were the sensor (any Bayer DNG, ours or another camera's).

Each capture reads the next file of the folder (in name order, starting over at the end);
preview readouts show the file the next capture will read, as a live view shows the scene.
The camera's decisions then run on real raw data: metering, white balance (through the file's
own colour matrices and CFA phase) and everything that works on frames.

A recorded frame is scaled to the exposure the camera asks for, linearly from the exposure
product it was recorded at (t·S from its Exif; the raw level is proportional to it below
clipping), and clipped at the white level. That is how the file's sensor would have answered
within what the recording holds: highlights it clipped stay clipped and its noise is scaled
with it, so replay suits exposure *decisions*, not noise measurements. A ``preview`` readout
area-averages each CFA plane of the file down to the preview grid.

What the camera believes about the lens comes from the file (LensModel, FocalLength,
FNumber); the colour calibration is the file's ColorMatrix1/2 and ForwardMatrix1/2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mountcam.body.backend import ModuleSpec, Readout, check_preview_size
from mountcam.errors import InvalidSetting, UnreadableFile
from mountcam.sensor.rawframe import CaptureMetadata, RawFrame

if TYPE_CHECKING:
    from mountcam.body.module import Module
    from mountcam.dng.reader import DngInfo

#: Exposure range a replayed "sensor" accepts (any the camera may ask for), s.
REPLAY_EXPOSURE_RANGE_S = (1 / 32000, 60.0)
#: ISO range a replayed "sensor" accepts.
REPLAY_ISO_RANGE = (50.0, 102400.0)
#: Pixel pitch assumed when a file records none (FocalPlaneXResolution), m.
ASSUMED_PITCH_M = 4.0e-6


@dataclass(frozen=True)
class ReplaySensor:
    """The replayed files' sensor as the body sees it: their size, CFA and levels."""

    name: str
    cfa_pattern: str
    width: int
    height: int
    bits: int
    pitch_m: float
    iso_min: float = REPLAY_ISO_RANGE[0]
    iso_max: float = REPLAY_ISO_RANGE[1]
    min_exposure_s: float = REPLAY_EXPOSURE_RANGE_S[0]
    max_exposure_s: float = REPLAY_EXPOSURE_RANGE_S[1]

    @property
    def bits_allowed(self) -> tuple[int, ...]:
        return (self.bits,)

    def output_size(self, mode: str) -> tuple[int, int]:
        return self.width, self.height

    def output_pitch_m(self, mode: str) -> float:
        return self.pitch_m


def _dng_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise UnreadableFile(f"{folder}: no such folder of DNG files")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".dng" and p.is_file())
    if not files:
        raise UnreadableFile(f"{folder}: holds no .dng files to replay")
    return files


def _active(info: DngInfo) -> np.ndarray:
    top, left, bottom, right = info.active_area
    return info.mosaic[top:bottom, left:right]


def _pattern_at(pattern: str, row: int, col: int) -> str:
    """The 2×2 pattern seen from (row, col) of a mosaic laid out in ``pattern``."""
    return "".join(pattern[((row + r) % 2) * 2 + (col + c) % 2] for r in (0, 1) for c in (0, 1))


class ReplayBackend:
    """Replay the DNG files of ``folder`` as the sensor of one module, ``main``."""

    def __init__(self, folder: str | Path) -> None:
        from mountcam.dng import read_dng

        self.folder = Path(folder)
        self.files = _dng_files(self.folder)
        self._position = 0
        self._cache: tuple[Path, DngInfo] | None = None
        first = read_dng(self.files[0])
        top, left, bottom, right = first.active_area
        pattern = _pattern_at(first.cfa_pattern, top, left)
        pitch = _pitch_m(first)
        self.sensor = ReplaySensor(
            name=first.unique_camera_model or first.model or "replayed camera",
            cfa_pattern=pattern,
            width=(right - left) // 2 * 2,
            height=(bottom - top) // 2 * 2,
            bits=max(8, int(first.white_level_dn).bit_length()),
            pitch_m=pitch,
        )
        self._calibration = calibration_of(first)

    # ---- Backend -----------------------------------------------------------------------------
    def modules(self) -> tuple[ModuleSpec, ...]:
        return (ModuleSpec("main", self.sensor),)

    def calibration(self, module: str):
        return self._calibration

    def current(self) -> Path:
        """The file the next capture reads."""
        return self.files[self._position % len(self.files)]

    def prepare(self, module: Module, readout: Readout) -> None:
        """Nothing to get ready: a replayed frame is a file read."""

    def read(self, module: Module, readout: Readout) -> RawFrame:
        path = self.current()
        info = self._read(path)
        raw = _active(info)
        top, left = info.active_area[:2]
        pattern = _pattern_at(info.cfa_pattern, top, left)
        h, w = raw.shape[0] // 2 * 2, raw.shape[1] // 2 * 2
        if (w, h) != (self.sensor.width, self.sensor.height) or pattern != self.sensor.cfa_pattern:
            raise UnreadableFile(
                f"{path}: {w}x{h} {pattern} differs from the folder's first file "
                f"({self.sensor.width}x{self.sensor.height} {self.sensor.cfa_pattern}); "
                "replay one camera's files at a time"
            )
        blacks = tuple(float(b) for b in _blacks_at(info, top, left))
        white = int(info.white_level_dn)
        recorded_t = info.exposure_s or 1 / 100
        recorded_iso = float(info.iso or 100)
        gain = (readout.exposure_s * readout.iso) / (recorded_t * recorded_iso)
        origin = (0, 0)
        if readout.mode == "preview":
            size = check_preview_size(self.sensor, readout.size or (256, 192))
            mosaic = _bin_mosaic(raw[:h, :w], blacks, size)
            full = size
            pitch = self.sensor.pitch_m * w / size[0]
        else:
            mosaic = raw[:h, :w]
            if readout.crop is not None:
                cw, ch = readout.crop
                cx, cy = readout.centre if readout.centre is not None else (w / 2, h / 2)
                r0 = min(max(int(cy - ch / 2), 0), h - ch) // 2 * 2
                c0 = min(max(int(cx - cw / 2), 0), w - cw) // 2 * 2
                mosaic = mosaic[r0 : r0 + ch, c0 : c0 + cw]
                origin = (r0, c0)
            full = (w, h)
            pitch = self.sensor.pitch_m
            self._position += 1
        mosaic = _scaled(mosaic, blacks, white, gain)
        extra: dict = {"replayed_from": str(path)}
        if info.noise_profile:
            # Variance S·x + O of the normalised signal x: a digital gain g makes it g·S·x' + g²·O.
            extra["noise_profile"] = [(s * gain, o * gain * gain) for s, o in info.noise_profile]
        meta = CaptureMetadata(
            sensor=self.sensor.name,
            module=module.name,
            mode=readout.mode,
            bits=self.sensor.bits,
            exposure_s=readout.exposure_s,
            iso=readout.iso,
            analog_gain=1.0,
            digital_gain=gain,
            temperature_c=float("nan"),
            seed=0,
            frame_index=readout.frame_index,
            timestamp=info.datetime_original or datetime.now().astimezone(),
            lens_name=info.lens_model or "",
            focal_mm=info.focal_mm or 0.0,
            f_number=info.f_number or 0.0,
            as_shot_neutral=tuple(info.as_shot_neutral or (1.0, 1.0, 1.0)),
            window_origin=origin,
            full_size=(full[1], full[0]),
            pixel_pitch_m=pitch,
            extra=extra,
        )
        return RawFrame(np.ascontiguousarray(mosaic), self.sensor.cfa_pattern, blacks, white, meta)

    def _read(self, path: Path) -> DngInfo:
        from mountcam.dng import read_dng

        if self._cache is None or self._cache[0] != path:
            self._cache = (path, read_dng(path))
        return self._cache[1]


def _pitch_m(info: DngInfo) -> float:
    """Pixel pitch from FocalPlaneXResolution and its unit (Exif 2.32 §4.6.5), else assumed."""
    res = info.exif.get("FocalPlaneXResolution")
    unit = info.exif.get("FocalPlaneResolutionUnit", 2)
    try:
        value = res[0] / res[1] if isinstance(res, tuple) else float(res)
    except (TypeError, ValueError, ZeroDivisionError):
        return ASSUMED_PITCH_M
    per_m = {2: 1 / 0.0254, 3: 100.0, 4: 1000.0}.get(int(unit), 1 / 0.0254)
    if not (value > 0 and math.isfinite(value)):
        return ASSUMED_PITCH_M
    return 1.0 / (value * per_m)


def _blacks_at(info: DngInfo, top: int, left: int) -> list[float]:
    b = info.black_level_dn
    return [b[((top + r) % 2) * 2 + (left + c) % 2] for r in (0, 1) for c in (0, 1)]


def _scaled(mosaic: np.ndarray, blacks, white: int, gain: float) -> np.ndarray:
    """black + gain·(DN − black), rounded and clipped to [0, white], per CFA position."""
    out = np.empty(mosaic.shape, dtype=np.uint16)
    for k in range(4):
        r, c = divmod(k, 2)
        plane = mosaic[r::2, c::2].astype(np.float32)
        black = np.float32(blacks[k])
        v = black + np.float32(gain) * (plane - black)
        out[r::2, c::2] = np.clip(np.rint(v), 0, white).astype(np.uint16)
    return out


def _bin_mosaic(mosaic: np.ndarray, blacks, size: tuple[int, int]) -> np.ndarray:
    """Each CFA plane area-averaged to (size / 2) and interleaved again: a Bayer mosaic of the
    same pattern on the preview grid."""
    import cv2

    w, h = size
    out = np.empty((h, w), dtype=np.uint16)
    for k in range(4):
        r, c = divmod(k, 2)
        plane = np.ascontiguousarray(mosaic[r::2, c::2], dtype=np.float32)
        small = cv2.resize(plane, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        out[r::2, c::2] = np.clip(np.rint(small), 0, 65535).astype(np.uint16)
    return out


def calibration_of(info: DngInfo):
    """The file's colour calibration as a :class:`~mountcam.dng.calibration.ColorCalibration`."""
    from mountcam.dng.calibration import ColorCalibration

    if info.color_matrix_1 is None:
        raise UnreadableFile(f"{info.path}: no ColorMatrix1, so its colours cannot be interpreted")
    cm2 = info.color_matrix_2
    ill2 = info.calibration_illuminant_2 if cm2 is not None else None
    if cm2 is not None and ill2 is None:
        cm2 = None
    fm1, fm2 = info.forward_matrix_1, info.forward_matrix_2 if cm2 is not None else None
    if cm2 is not None and (fm1 is None) != (fm2 is None):
        fm1 = fm2 = None
    try:
        return ColorCalibration(
            color_matrix_1=np.asarray(info.color_matrix_1, dtype=np.float64).reshape(3, 3),
            calibration_illuminant_1=int(info.calibration_illuminant_1 or 21),
            color_matrix_2=None if cm2 is None else np.asarray(cm2, dtype=np.float64).reshape(3, 3),
            calibration_illuminant_2=None if cm2 is None else int(ill2),
            forward_matrix_1=None if fm1 is None else np.asarray(fm1).reshape(3, 3),
            forward_matrix_2=None if fm2 is None else np.asarray(fm2).reshape(3, 3),
        )
    except ValueError as e:
        raise InvalidSetting(f"{info.path}: its colour matrices cannot be used ({e})") from None
