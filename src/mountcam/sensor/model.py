"""The sensor twin's model: a preset (TOML) and the figures derived from it at given settings.

Photon-to-DN model, in electrons, following EMVA 1288 Release 4.0 (§2 "Sensor model") and the
order of ISETCam's ``sensorCompute``:

    μ_e   = η·μ_p · (1 + PRNU)                        mean photo-electrons (spectral QE η)
    μ_d   = I_d(T)·t · (1 + DSNU_rel)                 mean dark electrons
    n_e   = Poisson(μ_e + μ_d), clipped at the well   shot noise on signal and dark current
    y     = K·(n_e + n_read + n_row + o_DSNU) + black quantised, clipped to the ADC range
    y'    = black + g_dig·(y − black)                 digital gain above the analog range

with I_d(T) = I_d,ref · 2^((T − T_ref)/T_d) and read noise σ_read² = σ_pre² + (σ_post/g)².
The conversion gain K (DN/e⁻) at 1× analog gain is fixed by the saturation-based ISO speed
of ISO 12232:2019 §6.2, S = 78 / H_sat: at ISO 100 the ADC clips exactly at H_sat = 0.78 lux·s
of focal-plane exposure for a neutral under the reference daylight (ISO 7589 ≈ CIE D55).
"""

from __future__ import annotations

import csv
import math
import tomllib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np

from mountcam.errors import InvalidSetting
from mountcam.optics.lens import FULL_FRAME_DIAGONAL_MM
from mountcam.spectra import STEP_NM, WAVELENGTHS_NM, luminance_integral, resample
from mountcam.units import LIGHT_SPEED_M_S, PLANCK_J_S, dial_shutter_hint

MODES = ("binned", "full")
#: ISO 12232:2019 §6.2: saturation-based speed S_sat = 78 / H_sat (H in lux·s).
ISO_SATURATION_CONSTANT_LUX_S = 78.0


@dataclass(frozen=True)
class SensorSettings:
    """What a capture asks of the sensor. Validated by :meth:`SensorModel.validate`."""

    mode: str = "binned"
    bits: int = 12
    iso: float = 100.0
    exposure_s: float = 0.01
    temperature_c: float | None = None


@dataclass(frozen=True)
class OperatingPoint:
    """The sensor's figures at one set of settings (all per output pixel of the mode)."""

    mode: str
    bits: int
    iso: float
    analog_gain: float
    digital_gain: float
    pixel_pitch_m: float
    width_px: int
    height_px: int
    conversion_gain_dn_per_e: float
    well_capacity_e: float
    full_well_e: float  # the smaller of the well and what the ADC can hold
    read_noise_e: float
    row_noise_e: float
    dark_current_e_per_s: float
    prnu: float
    dsnu_dark_current_rel: float
    dsnu_offset_e: float
    black_level_dn: float
    white_level_dn: int
    temperature_c: float

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class SensorModel:
    """A sensor preset: geometry, CFA, spectral QE, electrons, ADC and gain figures."""

    def __init__(self, spec: dict, qe: np.ndarray) -> None:
        self.spec = spec
        #: spectral quantum efficiency (81, 3) of the R, G, B channels on the common grid.
        self.qe = qe
        s = spec["sensor"]
        self.name: str = s["name"]
        self.active_width_px: int = int(s["active_width_px"])
        self.active_height_px: int = int(s["active_height_px"])
        self.pixel_pitch_m: float = float(s["pixel_pitch_um"]) * 1e-6
        self.cfa_pattern: str = spec["cfa"]["output_pattern"]
        el = spec["electrons"]
        self.full_well_e: float = float(el["full_well_e"])
        self.binned_full_well_factor: float = float(el.get("binned_full_well_factor", 4.0))
        self.read_noise_pre_e: float = float(el["read_noise_pre_e"])
        self.read_noise_post_e: float = float(el["read_noise_post_e"])
        self.row_noise_e: float = float(el["row_noise_e"])
        self.dark_current_e_per_s: float = float(el["dark_current_e_per_s"])
        self.dark_reference_c: float = float(el["dark_current_reference_c"])
        self.dark_doubling_c: float = float(el["dark_current_doubling_c"])
        self.default_temperature_c: float = float(el["default_temperature_c"])
        self.prnu: float = float(el["prnu"])
        self.dsnu_dark_current_rel: float = float(el["dsnu_dark_current_rel"])
        self.dsnu_offset_e: float = float(el["dsnu_offset_e"])
        self.fpn_seed: int = int(el["fpn_seed"])
        self.bits_allowed: tuple[int, ...] = tuple(int(b) for b in spec["adc"]["bits"])
        self.black_10bit_dn: float = float(spec["adc"]["black_level_10bit_dn"])
        g = spec["gain"]
        self.analog_min: float = float(g["analog_min"])
        self.analog_max: float = float(g["analog_max"])
        self.iso_at_unity: float = float(g["iso_at_unity"])
        self.iso_max: float = float(g["iso_max"])
        self.iso_reference_illuminant: str = g["iso_reference_illuminant"]
        self.min_exposure_s: float = float(spec["timing"]["min_exposure_s"])
        self.max_exposure_s: float = float(spec["timing"]["max_exposure_s"])

    # ---- geometry -------------------------------------------------------------------------
    def binning(self, mode: str) -> int:
        return int(self.spec["modes"][mode]["binning"])

    def output_size(self, mode: str) -> tuple[int, int]:
        """(width, height) in output pixels of the mode."""
        b = self.binning(mode)
        return self.active_width_px // b, self.active_height_px // b

    def output_pitch_m(self, mode: str) -> float:
        return self.pixel_pitch_m * self.binning(mode)

    @property
    def width_m(self) -> float:
        return self.active_width_px * self.pixel_pitch_m

    @property
    def height_m(self) -> float:
        return self.active_height_px * self.pixel_pitch_m

    @property
    def diagonal_m(self) -> float:
        return math.hypot(self.width_m, self.height_m)

    @property
    def crop_factor(self) -> float:
        """35 mm diagonal over this sensor's active diagonal (≈ 2.641 for the IMX989's
        13.1072 × 9.8304 mm): multiplies a focal length into its 35 mm equivalent."""
        return FULL_FRAME_DIAGONAL_MM * 1e-3 / self.diagonal_m

    @property
    def corner_rho(self) -> float:
        """The normalised radius ρ = r / 21.633 mm of the active area's corner: how much of a
        35 mm lens's field the sensor sees (≈ 0.379 for the IMX989)."""
        return 1.0 / self.crop_factor

    # ---- settings -------------------------------------------------------------------------
    @property
    def iso_min(self) -> float:
        return self.iso_at_unity * self.analog_min

    def validate(self, settings: SensorSettings) -> SensorSettings:
        """Return the settings with defaults filled in, or raise InvalidSetting."""
        if settings.mode not in MODES:
            raise InvalidSetting(f"mode '{settings.mode}' does not exist; use binned or full")
        if settings.bits not in self.bits_allowed:
            allowed = ", ".join(str(b) for b in self.bits_allowed)
            raise InvalidSetting(f"{settings.bits}-bit output is not available; use {allowed}")
        iso = settings.iso
        if not (math.isfinite(iso) and self.iso_min <= iso <= self.iso_max):
            raise InvalidSetting(
                f"ISO {iso:g} is outside the sensor's range ISO {self.iso_min:g}-{self.iso_max:g}"
            )
        t = settings.exposure_s
        if not (math.isfinite(t) and t > 0):
            raise InvalidSetting("shutter must be longer than 0 s")
        if not self.min_exposure_s * (1 - 1e-9) <= t <= self.max_exposure_s * (1 + 1e-9):
            hint = dial_shutter_hint(t, self.min_exposure_s, self.max_exposure_s)
            raise InvalidSetting(
                f"shutter {t:g} s is outside the sensor's range "
                f"1/{round(1 / self.min_exposure_s)} s to {self.max_exposure_s:g} s{hint}"
            )
        temp = (
            self.default_temperature_c if settings.temperature_c is None else settings.temperature_c
        )
        if not -40.0 <= temp <= 125.0:
            raise InvalidSetting(f"sensor temperature {temp:g} °C is outside -40..125 °C")
        return SensorSettings(settings.mode, settings.bits, float(iso), float(t), float(temp))

    def gains(self, iso: float) -> tuple[float, float]:
        """(analog, digital) gain for an ISO setting: analog first, digital above its maximum."""
        total = iso / self.iso_at_unity
        analog = min(max(total, self.analog_min), self.analog_max)
        return analog, total / analog

    def black_level_dn(self, bits: int) -> float:
        return self.black_10bit_dn * 2.0 ** (bits - 10)

    @staticmethod
    def white_level_dn(bits: int) -> int:
        return 2**bits - 1

    # ---- photometry -----------------------------------------------------------------------
    def photoelectron_weights(
        self, spectral_irradiance_w_m2_nm: np.ndarray, mode: str
    ) -> np.ndarray:
        """Weights w(λ) (81, 3) so that electrons/s of a pixel = Σ ρ(λ)·w(λ) over the grid.

        For focal-plane spectral irradiance E(λ) per unit reflectance:
        ``w_c(λ) = E(λ)·η_c(λ)·A·λ/(h·c)·Δλ`` (photon energy h·c/λ; A the pixel area).
        """
        area_m2 = self.output_pitch_m(mode) ** 2
        photons_per_j = WAVELENGTHS_NM * 1e-9 / (PLANCK_J_S * LIGHT_SPEED_M_S)
        e = np.asarray(spectral_irradiance_w_m2_nm, dtype=np.float64)
        return (e * photons_per_j * area_m2 * STEP_NM)[:, None] * self.qe

    def electrons_per_lux_s(self, illuminant_spd: np.ndarray, mode: str) -> np.ndarray:
        """Mean electrons (R, G, B) per pixel per lux·s of focal-plane exposure, for a neutral."""
        spd = np.asarray(illuminant_spd, dtype=np.float64)
        per_lux = spd / float(luminance_integral(spd))  # spectral irradiance of 1 lux
        return self.photoelectron_weights(per_lux, mode).sum(axis=0)

    @cached_property
    def _iso_reference_spd(self) -> np.ndarray:
        from mountcam.spectra import tabulated_illuminant

        return tabulated_illuminant(self.iso_reference_illuminant)

    def saturation_electrons_iso100(self, mode: str) -> float:
        """Electrons in the first channel to clip at H_sat = 78/100 lux·s (ISO 12232)."""
        h_sat = ISO_SATURATION_CONSTANT_LUX_S / self.iso_at_unity
        return float(self.electrons_per_lux_s(self._iso_reference_spd, mode).max() * h_sat)

    def operating_point(self, settings: SensorSettings) -> OperatingPoint:
        """All figures at validated settings, per output pixel of the mode."""
        s = self.validate(settings)
        analog, digital = self.gains(s.iso)
        bits, mode = s.bits, s.mode
        black = self.black_level_dn(bits)
        white = self.white_level_dn(bits)
        n_sub = self.binning(mode) ** 2  # photodiodes summed into one output pixel
        k_unity = (white - black) / self.saturation_electrons_iso100(mode)
        k = k_unity * analog
        well = self.full_well_e * (self.binned_full_well_factor if n_sub > 1 else 1.0)
        read = math.hypot(self.read_noise_pre_e, self.read_noise_post_e / analog)
        dark = (
            self.dark_current_e_per_s
            * n_sub
            * 2.0 ** ((s.temperature_c - self.dark_reference_c) / self.dark_doubling_c)
        )
        # Summing n_sub independent photodiodes shrinks the relative spread by sqrt(n_sub);
        # the offset arises once per readout.
        spread = math.sqrt(n_sub)
        width, height = self.output_size(mode)
        return OperatingPoint(
            mode=mode,
            bits=bits,
            iso=s.iso,
            analog_gain=analog,
            digital_gain=digital,
            pixel_pitch_m=self.output_pitch_m(mode),
            width_px=width,
            height_px=height,
            conversion_gain_dn_per_e=k,
            well_capacity_e=well,
            full_well_e=min(well, (white - black) / k),
            read_noise_e=read,
            row_noise_e=self.row_noise_e,
            dark_current_e_per_s=dark,
            prnu=self.prnu / spread,
            dsnu_dark_current_rel=self.dsnu_dark_current_rel / spread,
            dsnu_offset_e=self.dsnu_offset_e,
            black_level_dn=black,
            white_level_dn=white,
            temperature_c=s.temperature_c,
        )


def _read_qe_csv(text: str) -> np.ndarray:
    rows = [r for r in csv.reader(line for line in text.splitlines() if not line.startswith("#"))]
    data = np.array([[float(x) for x in r] for r in rows[1:]])
    return resample(data[:, 0], data[:, 1:].T).T


@lru_cache(maxsize=8)
def load_sensor(name: str = "imx989") -> SensorModel:
    """Load a sensor preset from ``mountcam/data/sensors/<name>.toml``."""
    folder = resources.files("mountcam.data") / "sensors"
    preset = folder / f"{name.lower()}.toml"
    if not preset.is_file():
        known = sorted(
            p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
        )
        raise InvalidSetting(f"no sensor preset '{name}'; known: {', '.join(known)}")
    spec = tomllib.loads(preset.read_text())
    qe = _read_qe_csv((folder / spec["spectral"]["qe_file"]).read_text())
    return SensorModel(spec, qe)
