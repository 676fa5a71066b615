"""The phone: two camera modules sharing one sensor design, and the capture loop.

``main`` has the fixed 8.7 mm f/1.9 lens. ``m`` sits behind the Leica M bayonet and cannot
capture without a lens (lens support arrives with the optics release). A capture goes
scene -> optics -> sensor -> RawFrame, metered by ``control`` when shutter or ISO are not set.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from mountcam.body.mount import Mount
from mountcam.body.reference_frame import estimate_m_aperture
from mountcam.control.metering import ExposureLimits, average_exposure
from mountcam.errors import InvalidSetting, NoLensAttached
from mountcam.optics.imaging import SensorWindow, form_image, with_fixed_fov
from mountcam.optics.lens import (
    FULL_FRAME_DIAGONAL_MM,
    LensProfile,
    LensState,
    check_state,
    load_lens,
)
from mountcam.optics.truth import render_truth
from mountcam.scene import Scene
from mountcam.scene.spectral import channel_signal
from mountcam.sensor.capture import electron_rate, expose_window, readout_window
from mountcam.sensor.model import SensorModel, SensorSettings, load_sensor
from mountcam.sensor.rawframe import CaptureMetadata, RawFrame
from mountcam.spectra import STEP_NM, photopic_v
from mountcam.units import KM_LM_PER_W

#: The smallest window worth simulating: DNG's demosaic margin on both sides plus a tile.
MIN_CROP_PX = 32
#: Grid the meter looks through (the whole field, coarse), output pixels.
METER_GRID = (128, 96)


@dataclass
class Module:
    """One camera module: a sensor and either a fixed lens or a mount that may hold one."""

    name: str
    sensor: SensorModel
    fixed_lens: LensProfile | None = None
    mount: Mount | None = None

    @property
    def lens(self) -> LensProfile | None:
        """The lens physically in front of the sensor (whatever the body believes it is)."""
        if self.mount is not None:
            return self.mount.lens
        return self.fixed_lens

    @property
    def crop_factor(self) -> float:
        """35 mm diagonal over this sensor's diagonal (≈ 2.64 for the 1-inch type)."""
        return FULL_FRAME_DIAGONAL_MM / (
            math.hypot(self.sensor.width_m, self.sensor.height_m) * 1e3
        )

    def require_lens(self) -> LensProfile:
        if self.lens is None:
            raise NoLensAttached()
        return self.lens


@dataclass(frozen=True)
class CaptureRequest:
    """What the photographer asks for. None means 'let the camera decide'."""

    module: str = "main"
    mode: str = "binned"
    bits: int = 12
    exposure_s: float | None = None
    iso: float | None = None
    f_number: float | None = None
    focus_m: float = math.inf
    #: Focal ring of a lens with several focal lengths (Tri-Elmar), mm; None: the lens's own.
    focal_mm: float | None = None
    crop: tuple[int, int] | None = None
    count: int = 1
    seed: int | None = None
    truth: bool = False
    temperature_c: float | None = None
    #: M module: estimate the f-number from a main-module reference frame (EXIF FNumber).
    estimate_aperture: bool = True
    #: Exposure compensation for metered exposures, EV (+1 doubles the exposure).
    exposure_compensation_ev: float = 0.0
    #: An aberration- and diffraction-free lens (throughput, field and fall-off only): the
    #: sensor alone, as for characterising it.
    ideal_optics: bool = False


class Camera:
    """The two-module phone camera with its simulated backend."""

    def __init__(self, sensor: str = "imx989") -> None:
        model = load_sensor(sensor)
        #: The Leica M bayonet of the ``m`` module.
        self.mount = Mount(_catalogue_lens_by_code)
        self.modules = {
            "main": Module("main", model, fixed_lens=load_lens("main-8.7")),
            "m": Module("m", model, mount=self.mount),
        }

    def module(self, name: str) -> Module:
        if name not in self.modules:
            raise InvalidSetting(f"module '{name}' does not exist; use main or m")
        return self.modules[name]

    # ---- validation --------------------------------------------------------------------------
    def _check_crop(self, model: SensorModel, mode: str, crop: tuple[int, int] | None) -> None:
        if crop is None:
            return
        full_w, full_h = model.output_size(mode)
        w, h = crop
        if not (MIN_CROP_PX <= w <= full_w and MIN_CROP_PX <= h <= full_h):
            raise InvalidSetting(
                f"crop {w}x{h} is outside {MIN_CROP_PX}x{MIN_CROP_PX} to {full_w}x{full_h} "
                f"(output pixels in {mode} mode)"
            )
        if w % 2 or h % 2:
            raise InvalidSetting(f"crop {w}x{h} must have even sides to keep whole Bayer cells")

    # ---- metering ----------------------------------------------------------------------------
    def mean_illuminance_lux(
        self, scene: Scene, lens: LensProfile, state: LensState, model: SensorModel
    ) -> float:
        """What a through-the-lens average meter reads: mean focal-plane illuminance (lux) over
        the whole field, after lens-shading correction (so fall-off does not bias it)."""
        w, h = METER_GRID
        pitch = model.width_m / w
        window = SensorWindow(pitch, w, h, 0, 0, w, h)
        optical = form_image(scene, lens, state, window, ideal=True)  # a mean needs no blur
        weights = (KM_LM_PER_W * STEP_NM * photopic_v() * optical.spectral_irradiance_w_m2_nm)[
            :, None
        ]
        return float(channel_signal(optical.sample, weights).mean())

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

    # ---- capture -----------------------------------------------------------------------------
    def capture(self, scene: Scene, request: CaptureRequest) -> list[RawFrame]:
        """Take ``request.count`` frames of ``scene``; each with independent temporal noise."""
        module = self.module(request.module)
        lens = module.require_lens()
        # What the body believes about the lens: the fixed lens, or the mount's identification.
        ident = module.mount.require_identified() if module.mount is not None else None
        believed = lens if ident is None else ident.profile
        model = module.sensor
        f_number = lens.max_f if request.f_number is None else request.f_number
        state = check_state(lens, LensState(f_number, request.focus_m, request.focal_mm))
        if believed is not None and ident is not None and ident.method == "code":
            # A coded lens with several focal lengths reports the set one through its
            # frame-selector bits (how an M body knows a Tri-Elmar's setting).
            believed = replace(believed, focal_mm=lens.focal_for(state))
        if request.count < 1:
            raise InvalidSetting(f"count must be at least 1 (got {request.count})")
        # Validate what was given before metering so errors name the user's own setting.
        probe = SensorSettings(
            request.mode,
            request.bits,
            model.iso_min if request.iso is None else request.iso,
            model.min_exposure_s if request.exposure_s is None else request.exposure_s,
            request.temperature_c,
        )
        model.validate(probe)
        self._check_crop(model, request.mode, request.crop)
        if not -5.0 <= request.exposure_compensation_ev <= 5.0:
            raise InvalidSetting(
                f"exposure compensation {request.exposure_compensation_ev:g} EV is outside -5 to +5 EV"
            )

        metered = request.exposure_s is None or request.iso is None
        if not metered:
            program = "manual"
        elif request.exposure_s is not None:
            program = "shutter priority"
        else:
            program = "program"
        exposure_s, iso = request.exposure_s, request.iso
        if metered:
            mean_e = self.mean_illuminance_lux(scene, lens, state, model)
            mean_e /= 2.0**request.exposure_compensation_ev
            exposure_s, iso = average_exposure(
                mean_e,
                self.exposure_limits(module, believed.focal_mm if believed else None),
                exposure_s=exposure_s,
                iso=iso,
            )
            iso = float(round(iso))
        settings = model.validate(
            SensorSettings(request.mode, request.bits, iso, exposure_s, request.temperature_c)
        )
        op = model.operating_point(settings)
        window = readout_window(model, request.mode, request.crop)
        optical = form_image(scene, lens, state, window, ideal=request.ideal_optics)
        rate = electron_rate(model, optical, window, request.mode)
        truth = render_truth(optical) if request.truth else None

        weights = model.photoelectron_weights(optical.spectral_irradiance_w_m2_nm, request.mode)
        neutral = weights.sum(axis=0)
        neutral = tuple(float(x) for x in neutral / neutral.max())

        seed = secrets.randbits(63) if request.seed is None else int(request.seed)
        if not 0 <= seed < 2**63:
            raise InvalidSetting("seed must be a whole number from 0 to 2^63-1")
        frames = []
        for index in range(request.count):
            mosaic = expose_window(
                model, op, optical, window, settings.exposure_s, seed, index, rate=rate
            )
            meta = CaptureMetadata(
                sensor=model.name,
                module=module.name,
                mode=request.mode,
                bits=request.bits,
                exposure_s=settings.exposure_s,
                iso=settings.iso,
                analog_gain=op.analog_gain,
                digital_gain=op.digital_gain,
                temperature_c=op.temperature_c,
                seed=seed,
                frame_index=index,
                timestamp=datetime.now().astimezone(),
                scene=scene.name,
                illuminant=scene.illuminant.name,
                lens_name=believed.name if believed else "",
                focal_mm=believed.focal_mm if believed else 0.0,
                # An M body cannot read the aperture ring: no f-number until it is estimated.
                f_number=state.f_number if ident is None else 0.0,
                as_shot_neutral=neutral,
                window_origin=(window.origin_row, window.origin_col),
                full_size=(window.full_height, window.full_width),
                pixel_pitch_m=window.pitch_m,
                extra={
                    "metered": metered,
                    "exposure_program": program,
                    "metering_mode": "average" if metered else "unknown",
                    "focus_m": state.focus_m,
                    "luminance_cd_m2": scene.white_luminance_cd_m2,
                    "lens_detection": ident.as_dict() if ident else None,
                    # The twin's ground truth, for measurement; never what the body believes.
                    "simulated_lens": {"id": lens.id, "f_number": state.f_number},
                },
            )
            black = (op.black_level_dn,) * 4
            frames.append(
                RawFrame(mosaic, model.cfa_pattern, black, op.white_level_dn, meta, truth)
            )
        if ident is not None and believed is not None and request.estimate_aperture:
            # The main module must see the scene at the angles the M module saw it.
            shared = with_fixed_fov(scene, lens, state, window)

            def retake(exposure_s: float):
                settings_short = replace(settings, exposure_s=exposure_s)
                op_short = model.operating_point(settings_short)
                mosaic = expose_window(model, op_short, optical, window, exposure_s, seed, 99, rate)
                meta = replace(frames[0].metadata, exposure_s=exposure_s)
                short = RawFrame(mosaic, model.cfa_pattern, black, op.white_level_dn, meta)
                return short, op_short

            estimate = estimate_m_aperture(
                self, shared, frames[0], op, window, believed, seed, retake
            )
            for frame in frames:
                frame.metadata.extra["f_number_estimate"] = estimate.as_dict() if estimate else None
                if estimate is not None:
                    frame.metadata.f_number = estimate.f_number
        return frames


def _catalogue_lens_by_code(code: int) -> LensProfile | None:
    from mountcam.optics.lens_catalogue import lens_by_code

    return lens_by_code(code)
