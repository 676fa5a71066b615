"""NoiseProfile (DNG 1.4 tag 51041) against the twin's own noise (acceptance 6).

The profile is computed from the sensor model (:mod:`mountcam.dng.noise_profile`); here it is
checked against the temporal variance measured on simulated flat-field pairs, the EMVA 1288
§6.2 way: half the variance of the difference of two frames, which removes the fixed pattern.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import twin_capture
from mountcam.dng import read_dng, write_dng
from mountcam.dng.calibration import calibrate_dual
from mountcam.dng.noise_profile import noise_profile, noise_profile_for_frame
from mountcam.scene import load_scene
from mountcam.sensor.model import SensorSettings, load_sensor

CROP = (384, 256)
#: Signal levels (fraction of white − black in the brightest channel) the pairs are shot at.
LEVELS = (0.004, 0.03, 0.12, 0.35, 0.7)
TOLERANCE = 0.05


def _flat_pair(iso: float, level: float, mode: str, seed: int):
    """Two frames of a D65 flat field at ``iso`` exposed so the brightest channel sits near
    ``level`` of the range (found from a short probe exposure: the raw is linear in time)."""
    # Dim enough that the shortest level needs more than the 1/16000 s shutter.
    scene = load_scene("chart:flat", illuminant="D65", luminance_cd_m2=2000.0 / iso)
    probe_s = 1e-3
    _, (probe,) = twin_capture(
        scene, mode=mode, crop=CROP, iso=iso, exposure_s=probe_s, seed=seed, ideal_optics=True
    )
    black = probe.black_level_dn[0]
    span = probe.white_level_dn - black
    x_probe = max(_plane(probe.mosaic, probe.cfa_pattern, ch).mean() - black for ch in "RGB") / span
    exposure_s = probe_s * level / x_probe
    print(f"probe x {x_probe:.4f} -> {exposure_s:.3g} s")
    return twin_capture(
        scene,
        mode=mode,
        crop=CROP,
        iso=iso,
        exposure_s=exposure_s,
        seed=seed,
        count=2,
        ideal_optics=True,
    )[1]


def _plane(mosaic: np.ndarray, pattern: str, colour: str) -> np.ndarray:
    sites = [(i // 2, i % 2) for i, c in enumerate(pattern) if c == colour]
    return np.concatenate([mosaic[r::2, c::2].astype(np.float64).ravel() for r, c in sites])


def _measured(frames, colour: str) -> tuple[float, float]:
    """(mean x, temporal variance of x) of one CFA colour from a flat pair, DNG units."""
    a, b = frames
    black = a.black_level_dn[0]
    span = a.white_level_dn - black
    pa, pb = _plane(a.mosaic, a.cfa_pattern, colour), _plane(b.mosaic, b.cfa_pattern, colour)
    x = ((pa + pb) / 2 - black).mean() / span
    var = np.var(pa - pb) / 2 / span**2
    return float(x), float(var)


@pytest.mark.parametrize("iso", [100, 3200])
def test_noise_profile_matches_flat_pairs_binned(iso):
    worst = 0.0
    for k, level in enumerate(LEVELS):
        frames = _flat_pair(iso, level, "binned", seed=100 + k)
        profile = noise_profile_for_frame(frames[0])
        assert profile is not None and len(profile) == 3
        for i, colour in enumerate("RGB"):
            x, var = _measured(frames, colour)
            assert np.max(_plane(frames[0].mosaic, "RGGB", colour)) < frames[0].white_level_dn
            s, o = profile[i]
            predicted = s * x + o
            error = predicted / var - 1.0
            print(
                f"ISO {iso} x={x:.4f} {colour}: measured {var:.4g} predicted {predicted:.4g} "
                f"({100 * error:+.1f} %)"
            )
            worst = max(worst, abs(error))
    assert worst < TOLERANCE


@pytest.mark.parametrize("iso", [100, 3200])
def test_noise_profile_matches_flat_pairs_full_mode(iso):
    # Remosaicked full readout: 10 of 16 sites are estimates, mostly from another colour's
    # photodiode scaled by the remosaic's white-balance gains.
    for k, level in enumerate((0.01, 0.3)):
        frames = _flat_pair(iso, level, "full", seed=200 + k)
        profile = noise_profile_for_frame(frames[0])
        for i, colour in enumerate("RGB"):
            x, var = _measured(frames, colour)
            s, o = profile[i]
            error = (s * x + o) / var - 1.0
            print(f"full ISO {iso} x={x:.4f} {colour}: {100 * error:+.1f} %")
            assert abs(error) < TOLERANCE
    # Greens estimated at red and blue photodiodes carry their fewer electrons' noise, scaled
    # up by the gains; reds and blues estimated at green photodiodes are quieter.
    model = load_sensor("imx989")
    md = frames[0].metadata
    op = model.operating_point(SensorSettings(md.mode, md.bits, md.iso, md.exposure_s))
    single = noise_profile(model, op, "bayer")
    assert profile[1][0] > single[1][0]
    assert profile[0][0] < single[0][0] and profile[2][0] < single[2][0]


def test_profile_scales_with_gain_as_dng_units_require():
    model = load_sensor("imx989")
    low = noise_profile(model, model.operating_point(SensorSettings(iso=100)))
    high = noise_profile(model, model.operating_point(SensorSettings(iso=3200)))
    dig = noise_profile(model, model.operating_point(SensorSettings(iso=12800)))
    # S is the conversion gain over the range: 32× the gain -> 32× S (shot noise in DN units).
    assert high[0][0] / low[0][0] == pytest.approx(32.0, rel=1e-9)
    # Above ISO 6400 digital gain 2 doubles S again and quadruples O (exactly: integer gain).
    assert dig[0][0] / high[0][0] == pytest.approx(4.0, rel=1e-9)  # 2× analog, 2× digital
    op = model.operating_point(SensorSettings(iso=12800))
    assert op.digital_gain == 2.0 and op.analog_gain == 64.0
    # At ISO 100 and 12-bit the read noise (≈2.75 e⁻ × 0.214 DN/e⁻) and quantisation dominate O.
    op100 = model.operating_point(SensorSettings(iso=100))
    k = op100.conversion_gain_dn_per_e
    span = op100.white_level_dn - op100.black_level_dn
    expected_o = (k * k * (op100.read_noise_e**2 + op100.row_noise_e**2) + 1 / 12) / span**2
    assert low[1][1] == pytest.approx(expected_o, rel=1e-12)
    assert low[1][0] == pytest.approx(k / span, rel=1e-12)


def test_profile_is_written_and_read_back(tmp_path):
    _, (frame,) = twin_capture("chart:flat", crop=(64, 48), iso=800, exposure_s=1e-3, seed=1)
    path = write_dng(frame, tmp_path / "a.dng", calibration=calibrate_dual(load_sensor().qe))
    info = read_dng(path)
    assert info.noise_profile == noise_profile_for_frame(frame)  # DOUBLE: exact
    # A frame whose levels do not match its sensor preset gets no profile rather than a wrong one.
    frame.white_level_dn = 1000
    assert noise_profile_for_frame(frame) is None
    frame.metadata.extra["noise_profile"] = [(1e-4, 1e-7)]
    assert noise_profile_for_frame(frame) == ((1e-4, 1e-7),)
