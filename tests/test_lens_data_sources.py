"""The lens and sensor data held against independent sources (issue 9 §4).

- every coded lens's focal length and widest f-number against exiftool's ``%leicaLensTypes``
  names (an independent table: Phil Harvey's, from Leica bodies' files);
- every figure carries a citation or ``assumed: <why>``, and none says "recalled";
- lensfun's calibrations converted without the ``ptlens`` artefact (a distortion that grows
  linearly from the centre) and lensfun's 2025 calibrations of the Summicron-M 35 ASPH. and
  APO-Summicron-M 75 reproduced on the 1-inch field;
- the corrections the review found, each held against what the file now says;
- the sensor preset: every figure with a source or a reasoned ``assumed``.
"""

from __future__ import annotations

import math
import re
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from mountcam.optics.lens import Distortion, LateralColor
from mountcam.optics.lens_catalogue import all_lenses, find_lens

EXIFTOOL_PM = Path("/usr/share/perl5/Image/ExifTool/Panasonic.pm")
M_LENSES = [lens for lens in all_lenses() if lens.mount == "M"]
#: ρ of the IMX989's corner (13.1072 × 9.8304 mm active area): the field the twin uses.
SENSOR_CORNER_RHO = math.hypot(13.1072, 9.8304) / 2.0 / 21.633
FIGURE_KEYS = ("focal", "max_f", "min_f", "min_focus", "stops", "blades", "article_numbers")


def _exiftool_names() -> dict[str, str]:
    if not EXIFTOOL_PM.is_file():
        pytest.skip("exiftool's Panasonic.pm is not installed (libimage-exiftool-perl)")
    text = EXIFTOOL_PM.read_text(encoding="utf-8")
    block = text.split("%leicaLensTypes = (", 1)[1].split("\n);", 1)[0]
    return dict(re.findall(r"^\s*'?(\d+(?: \d)?)'?\s*=>\s*'([^']*)'", block, re.M))


def _focal_and_f(name: str) -> tuple[tuple[float, ...], float]:
    """('Tri-Elmar-M 16-18-21mm f/4 ASPH.') -> ((16, 18, 21), 4.0)."""
    m = re.search(r"(\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)*)\s*mm\s+f/(\d+(?:\.\d+)?)", name)
    assert m, name
    return tuple(float(f) for f in m.group(1).split("-")), float(m.group(2))


def test_every_code_focal_length_and_aperture_agree_with_exiftool():
    names = _exiftool_names()
    checked = 0
    for lens in M_LENSES:
        if lens.exiftool_key is None:
            continue
        name = names[lens.exiftool_key]
        assert name == lens.exiftool_name, lens.id
        ident, _, bits = lens.exiftool_key.partition(" ")
        assert lens.code == (0 if bits else int(ident)), lens.id
        focals, f_number = _focal_and_f(name)
        mine = lens.focal_settings_mm or (lens.focal_mm,)
        assert tuple(mine) == focals, (lens.id, name)
        assert lens.max_f == f_number, (lens.id, name)
        checked += 1
    assert checked >= 45


def test_every_figure_is_cited_or_assumed_with_a_reason_and_none_is_recalled():
    for lens in M_LENSES:
        sources = dict(lens.sources)
        for key in FIGURE_KEYS:
            text = sources.get(key, "")
            assert text.strip(), (lens.id, key)
            assert "recalled for this catalogue" not in text, (lens.id, key)
            assert "not re-checked" not in text, (lens.id, key)
            if text.startswith("assumed"):
                assert len(text) > 40, (lens.id, key, text)
        # a known blade count names where it comes from; 0 says it is unknown
        assert (lens.blades == 0) == sources["blades"].startswith("unknown"), lens.id


def test_published_blade_counts_are_filled_in():
    counts = {lens.id: lens.blades for lens in M_LENSES if lens.blades}
    assert counts["summilux-m-28"] == 11
    assert counts["apo-summicron-m-75"] == 9
    assert counts["summilux-m-35"] == 10
    assert counts["elmar-m-50"] == 6
    assert counts["thambar-m-90"] == 20
    assert len(counts) >= 9


def test_the_reviewed_specifications():
    lux35 = find_lens("summilux-m-35")
    assert lux35.min_focus_m == 1.0  # 11869/11870/11860, not 0.7
    assert find_lens("elmar-m-50").min_focus_m == 0.7  # 11831/11823, 1994-2007
    lux50 = find_lens("summilux-m-50")
    assert lux50.min_focus_m == 0.7  # the coded 11868/11856
    assert "11114" not in lux50.article_numbers  # the 1959 Summilux 50 [I]
    assert "1959" in lux50.source("article_numbers")
    assert find_lens("macro-elmar-m-90").min_focus_m == 0.77
    assert "11814" in find_lens("summilux-m-75").source("min_focus")
    tele = find_lens("tele-elmarit-m-90")
    assert tele.min_f == 16.0 and tele.stops[-1] == 16.0
    thambar = find_lens("thambar-m-90")
    assert thambar.stepless and thambar.blades == 20
    assert thambar.article_numbers == ("11697",)
    assert not any(lens.stepless for lens in M_LENSES if lens.id != "thambar-m-90")


def test_distortion_has_zero_slope_at_the_centre():
    """A rotationally symmetric lens has r_d = r (k0 + k2 r² + …): no odd term in the ratio.
    (The exact ptlens conversion put +1.42 % on the 1-inch corner of the Summicron-M 28 and
    +0.38 % at the 35 mm corner: a distortion growing linearly from the centre.)"""
    for lens in M_LENSES:
        terms = lens.distortion.terms
        assert all(c == 0.0 for c in terms[1::2]), (lens.id, terms)
    rho = np.linspace(0.0, SENSOR_CORNER_RHO, 50)
    for lens_id in ("summicron-m-28", "elmarit-m-28"):
        pct = find_lens(lens_id).distortion.percent(rho)
        assert np.all(np.diff(pct) <= 0), lens_id  # barrel, growing from the centre
        assert abs(pct[-1]) < 1.0, lens_id


def _ptlens_shape_error_um(mine: Distortion, abc: tuple[float, float, float]) -> float:
    """Largest difference in µm (35 mm scale) between the catalogue's curve and lensfun's
    ptlens curve once the image scale (which ptlens trades against its linear term) is
    matched."""
    theirs = Distortion("ptlens", abc, "lensfun", unit_mm=12.0)
    rho = np.linspace(0.0, 1.0, 1001)
    a = rho * mine.scale(rho)
    b = rho * theirs.scale(rho)
    scale = float(np.dot(a * rho, b) / np.dot(a * rho, a))
    return float(np.max(np.abs(scale * a - b))) * 21633.0


@pytest.mark.parametrize(
    ("lens_id", "abc", "limit_um"),
    [
        ("summicron-m-28", (0.0135748, -0.0502846, 0.0486119), 25.0),
        ("elmarit-m-28", (0.00349, -0.00508, -0.01721), 15.0),
        ("elmarit-m-90", (-0.00423, 0.01406, -0.00692), 5.0),
        ("summicron-m-35", (0.0183736, -0.0506454, 0.0446071), 20.0),
        ("apo-summicron-m-75", (-0.005889, 0.0201916, -0.0106667), 5.0),
    ],
)
def test_lensfun_distortion_refit_follows_lensfuns_curve(lens_id, abc, limit_um):
    lens = find_lens(lens_id)
    assert "ptlens" in lens.distortion.source
    assert _ptlens_shape_error_um(lens.distortion, abc) < limit_um


@pytest.mark.parametrize(
    ("lens_id", "poly3"),
    [
        ("summicron-m-35", (1.0001994, 0.9996237, 0.0, 0.0, -0.0001021, 0.0002990)),
        ("apo-summicron-m-75", (1.0000099, 0.9999321, 0.0, 0.0, 0.0000240, -0.0000089)),
    ],
)
def test_lensfun_2025_tca_is_reproduced_on_the_1_inch_field(lens_id, poly3):
    lens = find_lens(lens_id)
    assert "3f06050c" in lens.lateral_color.source and "3f06050c" in lens.distortion.source
    theirs = LateralColor("poly3", poly3, "lensfun", unit_mm=12.0)
    rho = np.linspace(0.0, SENSOR_CORNER_RHO, 40)
    mine_r, mine_b = lens.lateral_color.shift_um(rho)
    their_r, their_b = theirs.shift_um(rho)
    # within a quarter of a 1.6 µm photodiode everywhere on the sensor: the twin's lateral
    # colour is a radial scale per band, which lensfun's quadratic term bends away from
    assert np.max(np.abs(mine_r - their_r)) < 0.4
    assert np.max(np.abs(mine_b - their_b)) < 0.4


# ---- the sensor preset ---------------------------------------------------------------------


def _preset() -> dict:
    path = resources.files("mountcam.data") / "sensors" / "imx989.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _is_figure(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, list) and any(_is_figure(v) for v in value)


def test_every_sensor_figure_has_a_source_or_a_reasoned_assumption():
    missing = []
    for section, table in _preset().items():
        groups = [table] + [v for v in table.values() if isinstance(v, dict)]
        for group in groups:
            sources = {
                k.removesuffix("_source"): v for k, v in group.items() if k.endswith("_source")
            }
            for key, value in group.items():
                if not _is_figure(value):
                    continue
                cover = [v for prefix, v in sources.items() if key.startswith(prefix)]
                if "source" in group:
                    cover.append(group["source"])
                if not cover:
                    missing.append(f"{section}.{key}")
                for text in cover:
                    assert text.strip() and text.strip().casefold() != "assumed", (key, text)
                    if text.startswith("assumed"):
                        assert len(text) > 30, (key, text)
    assert not missing, f"figures without a source: {', '.join(missing)}"


def test_sensor_preset_states_the_figures_the_review_asked_for():
    p = _preset()
    for section, key in [
        ("adc", "bits"),
        ("gain", "analog_min"),
        ("gain", "analog_max"),
        ("gain", "iso_at_unity"),
        ("gain", "iso_max"),
        ("electrons", "default_temperature_c"),
        ("timing", "max_exposure_s"),
        ("electrons", "binned_full_well_factor"),
    ]:
        assert key in p[section], (section, key)
    main = find_lens("main-8.7")
    assert main.source("min_focus") and math.isfinite(main.min_focus_m)
