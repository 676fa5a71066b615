"""The lens catalogue: the coded Leica M lenses as data files, lookup, radial models, the
``mountcam lenses`` CLI, and adapted lenses from lensfun (skipped when lensfunpy is absent)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from mountcam.app.lenses_cli import lenses_app
from mountcam.errors import InvalidSetting, UnreadableFile
from mountcam.optics.lens import (
    FULL_FRAME_HALF_DIAGONAL_MM,
    M8_HALF_DIAGONAL_MM,
    Distortion,
    LateralColor,
    LensState,
    Vignetting,
    check_state,
    equivalent_focal_mm,
    load_lens,
    load_lens_file,
)
from mountcam.optics.lens_catalogue import all_lenses, find_lens, lens_by_code, load_catalogue
from mountcam.optics.lensfun import lensfun_available
from mountcam.sensor.model import load_sensor

#: From the IMX989 preset: 35 mm diagonal / active diagonal, and the corner's ρ.
CROP_FACTOR = load_sensor("imx989").crop_factor
SENSOR_CORNER_RHO = load_sensor("imx989").corner_rho

REQUIRED_IDS = [
    "summicron-m-28",
    "summilux-m-35-asph",
    "summicron-m-50",
    "noctilux-m-50-f0.95",
    "apo-summicron-m-50",
    "summilux-m-21",
    "summilux-m-24",
    "elmarit-m-28",
    "super-elmar-m-21",
    "tri-elmar-m-16-18-21",
    "tri-elmar-m-28-35-50",
    "apo-summicron-m-75",
    "apo-summicron-m-90",
    "macro-elmar-m-90",
    "apo-telyt-m-135",
    "noctilux-m-75",
]
EXIFTOOL_PM = Path("/usr/share/perl5/Image/ExifTool/Panasonic.pm")

M_LENSES = [lens for lens in all_lenses() if lens.mount == "M"]


def coded():
    return [lens for lens in M_LENSES if lens.code]


# ---- the data ------------------------------------------------------------------------------


def test_at_least_24_coded_m_lenses_and_the_required_ids():
    assert len(coded()) >= 24
    ids = {lens.id for lens in all_lenses()}
    assert not set(REQUIRED_IDS) - ids


def test_codes_are_unique_6_bit_and_set_frame_bits():
    codes = [lens.code for lens in coded()]
    assert len(codes) == len(set(codes))
    assert all(1 <= c <= 63 for c in codes)
    assert all(1 <= lens.frame_selector <= 3 for lens in coded())
    for lens in coded():
        assert lens.lens_type_value() == lens.code * 4 + lens.frame_selector
    assert find_lens("summilux-m-35").lens_type_value() == 24  # exiftool '6 0': a menu entry


def test_every_figure_has_a_source_or_a_reasoned_assumption():
    for lens in M_LENSES:
        sources = dict(lens.sources)
        for key in (
            "focal",
            "max_f",
            "min_f",
            "min_focus",
            "stops",
            "blades",
            "code",
            "article_numbers",
            "transmittance",
        ):
            assert sources.get(key, "").strip(), (lens.id, key)
        texts = list(sources.values())
        for part in (lens.vignetting, lens.distortion, lens.lateral_color):
            assert part is not None, lens.id
            texts.append(part.source)
        for text in texts:
            assert text.strip() and text.strip().casefold() != "assumed", (lens.id, text)
            if text.startswith("assumed"):
                assert len(text) > len("assumed: ") + 10, (lens.id, text)


def test_codes_and_names_agree_with_exiftool():
    if not EXIFTOOL_PM.is_file():
        pytest.skip("exiftool's Panasonic.pm is not installed (libimage-exiftool-perl)")
    text = EXIFTOOL_PM.read_text(encoding="utf-8")
    types_block = text.split("%leicaLensTypes = (", 1)[1].split("\n);", 1)[0]
    frames_block = text.split("my %frameSelectorBits = (", 1)[1].split("\n);", 1)[0]
    types = dict(re.findall(r"^\s*'?(\d+(?: \d)?)'?\s*=>\s*'([^']*)'", types_block, re.M))
    frames = {int(a): int(b) for a, b in re.findall(r"^\s*(\d+)\s*=>\s*(\d),", frames_block, re.M)}
    for lens in M_LENSES:
        if lens.exiftool_key is None:
            assert not lens.code
            continue
        assert types[lens.exiftool_key] == lens.exiftool_name, lens.id
        ident, _, bits = lens.exiftool_key.partition(" ")
        assert lens.code == (0 if bits else int(ident)), lens.id
        if lens.code in frames:
            assert lens.frame_selector == frames[lens.code], lens.id


def test_main_lens_still_loads_as_before():
    main = load_lens("main-8.7")
    assert (main.mount, main.focal_mm, main.max_f, main.min_f, main.code) == (
        "fixed",
        8.7,
        1.9,
        1.9,
        0,
    )
    # a real phone lens now (issue 11 §5): fall-off, distortion, lateral colour, field blur
    assert main.vignetting.model == "pa" and main.distortion is not None
    assert main.lateral_color is not None and main.field_blur is not None
    assert round(equivalent_focal_mm(main.focal_mm, CROP_FACTOR)) == 23


# ---- lookup --------------------------------------------------------------------------------


def test_find_lens_by_id_by_name_and_refusals():
    assert find_lens("summicron-m-28").code == 26
    assert find_lens("Summicron-M 28").id == "summicron-m-28"
    assert find_lens("summicron-m 28mm f/2").id == "summicron-m-28"  # spaces do not matter
    assert find_lens("Summicron-M 28mm f/2 ASPH.").id == "summicron-m-28"  # exiftool's name
    with pytest.raises(InvalidSetting, match="matches 3 lenses.*apo-summicron-m-50"):
        find_lens("Summicron-M 50")
    with pytest.raises(InvalidSetting, match="no lens 'summicron-m-5'.*summicron-m-50"):
        find_lens("summicron-m-5")


def test_lens_by_code():
    assert lens_by_code(26).id == "summicron-m-28"
    assert lens_by_code(49).id == "noctilux-m-50-f0.95"
    assert lens_by_code(0) is None
    assert lens_by_code(2) is None  # a code no lens has


def test_the_mount_identifies_a_catalogue_lens_by_its_code():
    from mountcam.body.mount import Mount

    mount = Mount(lens_by_code)
    mount.attach(find_lens("summilux-m-35-asph"))
    assert mount.identify().profile.id == "summilux-m-35-asph"


def test_equivalent_focal_length_uses_the_imx989_diagonal():
    # 8192 × 6144 pixels of 1.6 µm: 13.1072 × 9.8304 mm, diagonal 16.384 mm.
    assert CROP_FACTOR == pytest.approx(43.2666 / 16.384, rel=1e-4)
    assert equivalent_focal_mm(50, CROP_FACTOR) == pytest.approx(132.0, abs=0.1)
    assert SENSOR_CORNER_RHO == pytest.approx(0.3787, abs=1e-4)


def test_tri_elmar_focal_setting_is_a_lens_state():
    lens = find_lens("tri-elmar-m-28-35-50")
    assert lens.focal_settings_mm == (28.0, 35.0, 50.0) and lens.focal_mm == 28.0
    check_state(lens, LensState(4.0, focal_mm=35))
    with pytest.raises(InvalidSetting, match="28, 35, 50 mm"):
        check_state(lens, LensState(4.0, focal_mm=40))
    assert lens.frame_selector_for(35.0) == 2
    assert lens.lens_type_value(50.0) == 42 * 4 + 3
    assert lens.focal_for(LensState(4.0)) == 28.0


# ---- radial models -------------------------------------------------------------------------


def test_vignetting_reproduces_leicas_figures_and_levels_off():
    v = find_lens("summilux-m-21").vignetting
    assert v.ev(0.0, 1.4) == 0.0
    assert v.ev(1.0, 1.4) == pytest.approx(3.2)
    assert v.ev(M8_HALF_DIAGONAL_MM / FULL_FRAME_HALF_DIAGONAL_MM, 1.4) == pytest.approx(1.9)
    assert v.ev(1.0, 2.8) == pytest.approx(1.7)
    assert v.ev(1.0, 8.0) == pytest.approx(1.7)  # only natural vignetting left
    assert 1.7 < v.ev(1.0, 2.0) < 3.2
    rho = np.linspace(0, 1, 11)
    assert np.all(np.diff(v.ev(rho, 1.4)) > 0)
    assert v.relative_illumination(1.0, 1.4) == pytest.approx(2**-3.2)


def test_distortion_from_lensfun_poly3_is_exact_and_leica_figures_hold():
    mine = find_lens("summicron-m-50").distortion
    theirs = Distortion("poly3", (-0.00072,), "lensfun", unit_mm=12.0)
    rho = np.linspace(0, 1, 21)
    assert np.allclose(mine.scale(rho), theirs.scale(rho), atol=2e-6)
    assert mine.percent(0.0) == 0.0
    assert find_lens("summilux-m-21").distortion.percent(1.0) == pytest.approx(-2.3)
    model, c = theirs.as_rho_poly()
    assert model == "poly" and c == pytest.approx(mine.terms, abs=1e-6)
    assert mine.as_rho_poly() == ("poly", mine.terms)


def test_vignetting_as_pa_coefficients():
    v = find_lens("summilux-m-21").vignetting
    k1, k2, k3 = v.pa_in_rho(1.4, rho_max=SENSOR_CORNER_RHO)
    u = SENSOR_CORNER_RHO**2
    g = 1 + k1 * u + k2 * u**2 + k3 * u**3
    assert -math.log2(g) == pytest.approx(v.ev(SENSOR_CORNER_RHO, 1.4), abs=0.01)
    pa = Vignetting("pa", ((2.0, -0.5, 0.1, 0.0),), "lensfun", unit_mm=21.633 / 1.5)
    assert pa.pa_in_rho(2.0) == pytest.approx((-0.5 * 1.5**2, 0.1 * 1.5**4, 0.0), rel=1e-3)


def test_lateral_colour_is_linear_in_rho():
    lc = find_lens("summicron-m-28").lateral_color
    red, blue = lc.shift_um(1.0)
    assert (red, blue) == pytest.approx((3.12, -0.71))
    assert lc.shift_um(0.5)[0] == pytest.approx(1.56)
    lf = LateralColor("poly3", (1.0001441, 0.999967, 0, 0, 0, 0), "lensfun", unit_mm=12.0)
    assert lf.shift_um(1.0)[0] == pytest.approx(red, abs=0.01)


# ---- malformed files -----------------------------------------------------------------------

GOOD = """
id = "{id}"
name = "Test-M 50 mm f/2"
mount = "M"
focal_mm = 50.0
max_f = 2.0
min_f = 16.0
min_focus_m = 0.7
transmittance = 0.9
transmittance_source = "assumed: test"
code = {code}
"""


def test_malformed_toml_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('id = "broken"\nname = "Broken\n')
    with pytest.raises(UnreadableFile, match=re.escape(str(path))):
        load_lens_file(path)


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (("focal_mm = 50.0\n", ""), "missing key 'focal_mm'"),
        (("code = 7", "code = 64"), "6-bit lens code"),
        (("max_f = 2.0", "max_f = 22.0"), "max_f <= min_f"),
        (('mount = "M"', 'mount = "K"'), "'mount' must be one of"),
        (("focal_mm = 50.0", 'focal_mm = "fifty"'), "'focal_mm' must be a number"),
    ],
)
def test_bad_values_are_refused_naming_the_file_and_key(tmp_path, replace, message):
    path = tmp_path / "test-m-50.toml"
    path.write_text(GOOD.format(id="test-m-50", code=7).replace(*replace))
    with pytest.raises(UnreadableFile, match=re.escape(str(path)) + ".*" + re.escape(message)):
        load_lens_file(path)


def test_optical_tables_need_a_source(tmp_path):
    path = tmp_path / "test-m-50.toml"
    path.write_text(
        GOOD.format(id="test-m-50", code=7) + '[distortion]\nmodel = "poly"\nc = [1.0, 0.0, 0.01]\n'
    )
    with pytest.raises(UnreadableFile, match="missing key 'distortion.source'"):
        load_lens_file(path)


def test_id_must_match_file_name_and_codes_must_be_unique(tmp_path):
    (tmp_path / "a-lens.toml").write_text(GOOD.format(id="other", code=7))
    with pytest.raises(UnreadableFile, match="differs from the file name"):
        load_catalogue(tmp_path)
    (tmp_path / "a-lens.toml").write_text(GOOD.format(id="a-lens", code=7))
    (tmp_path / "b-lens.toml").write_text(GOOD.format(id="b-lens", code=7))
    with pytest.raises(UnreadableFile, match=r"b-lens.toml: code 7 is also in .*a-lens.toml"):
        load_catalogue(tmp_path)


# ---- CLI -----------------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()
    app.add_typer(lenses_app, name="lenses")

    @app.command()
    def version() -> None:  # a second command keeps "lenses" a sub-command
        pass

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_lists_all_lenses_as_json():
    code, stdout, _ = run("lenses", "--json")
    assert code == 0
    listing = json.loads(stdout)
    assert len(listing) == len(all_lenses())
    fields = {"id", "name", "mount", "focal_mm", "max_f", "min_f", "stops", "min_focus_m"}
    fields |= {"code", "blades"}
    assert all(fields <= set(item) for item in listing)
    by_id = {item["id"]: item for item in listing}
    assert by_id["main-8.7"]["mount"] == "fixed" and by_id["main-8.7"]["code"] == 0
    assert by_id["summicron-m-28"]["mount"] == "M" and by_id["summicron-m-28"]["code"] == 26


def test_cli_show_gives_equivalent_focal_length_and_character():
    code, stdout, _ = run("lenses", "show", "summicron-m-50", "--json")
    assert code == 0
    d = json.loads(stdout)
    assert d["equivalent_focal_mm"] == pytest.approx(132.0, abs=0.1)
    assert d["code"] == 33 and d["frame_selector"] == 3
    for part in ("vignetting", "distortion", "lateral_color"):
        assert d[part]["source"]
    assert d["distortion"]["corner_percent"] == pytest.approx(-0.234, abs=0.001)
    code, stdout, _ = run("lenses", "show", "summicron-m-50")
    assert code == 0 and "132" in stdout


def test_cli_refuses_unknown_or_ambiguous_lens_in_one_line():
    code, stdout, stderr = run("lenses", "show", "noctilux", "--json")
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and "noctilux-m-75" in stderr


# ---- lensfun -------------------------------------------------------------------------------

needs_lensfun = pytest.mark.skipif(
    not lensfun_available(), reason="lensfunpy is not installed (pip install lensfunpy)"
)


@needs_lensfun
def test_lensfun_lens_is_adapted_and_keeps_lensfuns_models():
    from mountcam.optics.lensfun import lensfun_lens

    lens = lensfun_lens("Summicron-M 1:2/28 ASPH.")
    assert (lens.mount, lens.code, lens.max_f) == ("adapted", None, 2.0)
    assert lens.lensfun.crop_factor == 1.0 and lens.lensfun.aspect_ratio == 1.5
    assert lens.distortion.model == "ptlens"
    assert lens.distortion.unit_mm == pytest.approx(12.0)
    # lensfun's own model and coefficients, exactly (the catalogue's Summicron-M 28 refits them)
    theirs = Distortion("ptlens", (0.0135748, -0.0502846, 0.0486119), "lensfun", unit_mm=12.0)
    assert lens.distortion.percent(1.0) == pytest.approx(theirs.percent(1.0), abs=1e-3)
    assert find_lens(lens.id) == lens


@needs_lensfun
def test_lensfun_search_zoom_and_refusals():
    from mountcam.optics.lensfun import lensfun_lens, search_lensfun

    zooms = [x for x in search_lensfun("24-105", limit=None) if x.focal_range_mm]
    assert zooms
    zoom = zooms[0]
    check_state(zoom, LensState(zoom.max_f, focal_mm=zoom.focal_range_mm[1]))
    assert zoom.at_focal(zoom.focal_range_mm[1]).lensfun == zoom.lensfun
    mirrorless = [x for x in search_lensfun("sony fe", limit=5, adaptable_only=False)]
    assert mirrorless
    with pytest.raises(InvalidSetting, match="cannot be adapted to the M bayonet"):
        lensfun_lens(mirrorless[0].id)
    with pytest.raises(InvalidSetting, match="matches .* lensfun lenses"):
        lensfun_lens("canon")


@needs_lensfun
def test_cli_lists_adapted_lenses_on_request():
    code, stdout, _ = run("lenses", "--lensfun", "summicron", "--json")
    assert code == 0
    adapted = [item for item in json.loads(stdout) if item["mount"] == "adapted"]
    assert adapted and all(item["code"] is None for item in adapted)


def test_models_are_finite_on_the_sensor():
    for lens in M_LENSES:
        for f in lens.stops:
            ev = lens.vignetting.ev(SENSOR_CORNER_RHO, f)
            assert 0 <= ev < 2, (lens.id, f, ev)
        assert abs(lens.distortion.percent(SENSOR_CORNER_RHO)) < 3
        assert all(math.isfinite(x) for x in lens.lateral_color.shift_um(SENSOR_CORNER_RHO))


@needs_lensfun
def test_a_lensfun_zoom_is_rendered_with_the_character_of_the_focal_length_set():
    from mountcam.optics.imaging import form_image
    from mountcam.optics.lensfun import search_lensfun
    from mountcam.optics.sensor_window import SensorWindow
    from mountcam.scene import load_scene

    zooms = [
        x
        for x in search_lensfun("24-105", limit=None)
        if x.focal_range_mm and len({d[0] for d in x.lensfun.distortion}) > 1
    ]
    assert zooms
    zoom = zooms[0]
    long_mm = zoom.focal_range_mm[1]
    at_long = zoom.at_focal(long_mm)
    assert at_long.distortion != zoom.distortion  # the calibration differs along the range
    window = SensorWindow(3.2e-6, 4096, 3072, 1536, 2048, 64, 64)
    optical = form_image(
        load_scene("chart:colorchecker"),
        zoom,
        LensState(zoom.max_f, focal_mm=long_mm),
        window,
    )
    assert optical.effects.distortion == at_long.distortion.as_rho_poly()
    assert optical.effects.focal_m == pytest.approx(long_mm * 1e-3)
