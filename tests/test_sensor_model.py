"""The sensor preset's derived figures against the equations they come from."""

import math

import pytest

from mountcam.errors import InvalidSetting
from mountcam.sensor.model import ISO_SATURATION_CONSTANT_LUX_S, SensorSettings, load_sensor


@pytest.fixture(scope="module")
def model():
    return load_sensor("imx989")


def test_geometry_matches_the_imx989(model):
    assert (model.active_width_px, model.active_height_px) == (8192, 6144)
    assert model.output_size("binned") == (4096, 3072)
    assert model.output_size("full") == (8192, 6144)
    assert model.width_m == pytest.approx(13.1072e-3)
    assert model.output_pitch_m("binned") == pytest.approx(3.2e-6)


@pytest.mark.parametrize("mode", ["binned", "full"])
@pytest.mark.parametrize("bits", [10, 12, 14])
def test_iso100_conversion_gain_clips_at_h_sat(model, mode, bits):
    """K at ISO 100 puts the ADC clip exactly at H_sat = 78/100 lux·s (ISO 12232 §6.2)."""
    op = model.operating_point(SensorSettings(mode=mode, bits=bits, iso=100))
    e_per_lux_s = model.electrons_per_lux_s(model._iso_reference_spd, mode).max()
    h_sat = (op.white_level_dn - op.black_level_dn) / op.conversion_gain_dn_per_e / e_per_lux_s
    assert ISO_SATURATION_CONSTANT_LUX_S / h_sat == pytest.approx(100.0, rel=1e-9)
    assert op.black_level_dn == 64 * 2 ** (bits - 10)
    assert op.white_level_dn == 2**bits - 1


def test_gain_split_and_read_noise_equation(model):
    op = model.operating_point(SensorSettings(iso=3200))
    assert (op.analog_gain, op.digital_gain) == (32.0, 1.0)
    op = model.operating_point(SensorSettings(iso=25600))
    assert (op.analog_gain, op.digital_gain) == (64.0, 4.0)
    expected = math.hypot(model.read_noise_pre_e, model.read_noise_post_e / 64.0)
    assert op.read_noise_e == pytest.approx(expected)
    k100 = model.operating_point(SensorSettings(iso=100)).conversion_gain_dn_per_e
    assert op.conversion_gain_dn_per_e == pytest.approx(64 * k100)


def test_dark_current_doubles_per_doubling_temperature(model):
    base = model.operating_point(SensorSettings(temperature_c=30.0)).dark_current_e_per_s
    warm = model.operating_point(SensorSettings(temperature_c=30.0 + model.dark_doubling_c))
    assert warm.dark_current_e_per_s == pytest.approx(2 * base)


def test_full_well_is_the_smaller_of_well_and_adc(model):
    for iso in (100, 800, 6400):
        op = model.operating_point(SensorSettings(iso=iso))
        adc = (op.white_level_dn - op.black_level_dn) / op.conversion_gain_dn_per_e
        assert op.full_well_e == pytest.approx(min(op.well_capacity_e, adc))
    assert model.operating_point(SensorSettings(mode="full")).well_capacity_e == model.full_well_e


@pytest.mark.parametrize(
    "settings, words",
    [
        (SensorSettings(bits=9), "10, 12, 14"),
        (SensorSettings(mode="half"), "binned or full"),
        (SensorSettings(iso=50), "ISO 100-25600"),
        (SensorSettings(iso=51200), "ISO 100-25600"),
        (SensorSettings(exposure_s=0.0), "longer than 0"),
        (SensorSettings(exposure_s=120.0), "30 s"),
        (SensorSettings(temperature_c=200.0), "°C"),
    ],
)
def test_impossible_settings_are_refused_with_the_range(model, settings, words):
    with pytest.raises(InvalidSetting, match=words):
        model.validate(settings)
