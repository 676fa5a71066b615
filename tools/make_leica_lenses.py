"""Write the Leica M lens files of the catalogue (``src/mountcam/data/lenses/*.toml``).

The 6-bit codes, frame-selector bits, exiftool's lens names and the article numbers in its
comments are read from exiftool's Leica table (``Image/ExifTool/Panasonic.pm``,
``%leicaLensTypes`` and ``%frameSelectorBits``; Debian package ``libimage-exiftool-perl``).
Everything else is in the table below, each figure with its source, or computed by the rules
in ``assumed_*`` (documented in ``docs/lenses.md``) and then labelled ``assumed``.

The TOML files are the catalogue; this script is how they were made and how they can be
remade after editing the table. It refuses to overwrite files unless ``--force``::

    .venv/bin/python tools/make_leica_lenses.py [--force] [--exiftool PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

EXIFTOOL_PM = Path("/usr/share/perl5/Image/ExifTool/Panasonic.pm")
OUT = Path(__file__).resolve().parents[1] / "src" / "mountcam" / "data" / "lenses"
HALF_DIAG_MM = math.hypot(36.0, 24.0) / 2.0  # ρ = 1
LENSFUN_UNIT_MM = 12.0  # lensfun distortion/TCA unit for a 36 x 24 mm calibration (crop 1, 3:2)

FULL_STOPS = (1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0, 11.0, 16.0, 22.0, 32.0)
HALF_STOPS = (1.2, 1.7, 2.4, 3.4, 4.8, 6.7, 9.5, 13.0, 19.0, 27.0)

SPEC_SOURCE = (
    "Leica technical data (focal length, aperture range, close focus) as widely published; "
    "recalled for this catalogue, not re-checked against each data-sheet PDF"
)
STOPS_SOURCE = (
    "assumed: Leica M aperture rings click at half stops between the engraved full stops; "
    "marks from the standard sqrt(2) series, the first full stop after full aperture"
)
TRANSMITTANCE_SOURCE = (
    "assumed: about 0.5 % loss per multi-coated surface plus glass absorption gives ~0.90 "
    "for a 6-11 element lens; Leica publishes no T-stops"
)
BLADES_UNKNOWN = "unknown: not in the sources used; 0 means not known (render a round stop)"

LENSFUN = "lensfun database rf-leica.xml (as bundled with lensfunpy 1.18.0)"


@dataclass
class Lens:
    id: str
    key: str | None  # exiftool %leicaLensTypes key ("26", "6 0"); None: not in the table
    name: str
    focal: float | tuple[float, ...]
    max_f: float
    min_f: float
    focus_m: float
    tca_class: str  # apo / modern / classic
    blades: tuple[int, str] = (0, BLADES_UNKNOWN)
    spec_source: str = SPEC_SOURCE
    stops_source: str = STOPS_SOURCE
    articles: tuple[tuple[str, ...], str] | None = None  # override exiftool's comment
    vignetting: tuple[list[dict], str] | None = None  # documented points + source
    distortion: tuple[list[float], str] | None = None  # documented poly k + source
    lateral: tuple[float, float, str] | None = None  # documented red/blue µm + source
    notes: str = ""
    extra: dict = field(default_factory=dict)


def ptlens_to_poly(a: float, b: float, c: float) -> list[float]:
    """lensfun ptlens (unit 12 mm) → mountcam poly in ρ (unit 21.633 mm), paraxially normalised:
    r_d/r_u = 1 + (c s/d) ρ + (b s²/d) ρ² + (a s³/d) ρ³ with s = 21.633/12, d = 1 − a − b − c."""
    s, d = HALF_DIAG_MM / LENSFUN_UNIT_MM, 1.0 - a - b - c
    return [1.0, c * s / d, b * s**2 / d, a * s**3 / d]


def poly3_to_poly(k1: float) -> list[float]:
    """lensfun poly3 R(1 − k1 + k1 R²) → mountcam poly: r_d/r_u = 1 + k1 s²/(1 − k1) ρ²."""
    s = HALF_DIAG_MM / LENSFUN_UNIT_MM
    return [1.0, 0.0, k1 * s**2 / (1.0 - k1)]


def tca_um(v: float) -> float:
    """lensfun TCA linear term v (r_c = v·r) → displacement at the 35 mm corner, µm."""
    return (v - 1.0) * HALF_DIAG_MM * 1e3


def _r(x: float, nd: int = 6) -> float:
    return float(f"{x:.{nd}g}")


def lensfun_distortion(model: str, terms: dict, camera: str) -> tuple[list[float], str]:
    k = ptlens_to_poly(**terms) if model == "ptlens" else poly3_to_poly(**terms)
    args = " ".join(f"{n}={v}" for n, v in terms.items())
    return (
        [_r(x) for x in k],
        f'{LENSFUN} <distortion model="{model}" {args}> (taken with {camera}), converted '
        "exactly to mountcam 'poly' in ρ (tools/make_leica_lenses.py)",
    )


def lensfun_tca(vr: float, vb: float, camera: str) -> tuple[float, float, str]:
    return (
        round(tca_um(vr), 2),
        round(tca_um(vb), 2),
        f'{LENSFUN} <tca model="poly3" vr="{vr}" vb="{vb}"> (taken with {camera}): '
        "(v - 1) x 21.633 mm",
    )


SUMMILUX_21_DOC = (
    "Leica instructions for the Summilux-M 21 mm f/1.4 ASPH. ('Besondere Eigenschaften', text "
    "reproduced on preim.de): about 3.2 stops in the 35 mm corners at full aperture (1.9 on the "
    "M8 format), 1.7 (0.8) at f/2.8, no notable reduction beyond"
)
ELMAR_24_DOC = (
    "Leica instructions for the Elmar-M 24 mm f/3.8 ASPH. (English text at "
    "bruksanvisningpdf.no): about 1.9 stops in the 35 mm corners at full aperture (1.1 on the "
    "M8 format), 1.4 (0.8) at f/5.6, no notable reduction beyond"
)
SUMMARON_28_DOC = (
    "Leica instructions for the Summaron-M 28 mm f/5.6 ('Besondere Eigenschaften', esmanual.top):"
    " about 2.5 stops in the corners at full aperture, about 1.8 at f/8"
)
SUMMILUX_28_DOC = (
    "Leica instructions for the Summilux-M 28 mm f/1.4 ASPH. ('Besondere Eigenschaften', "
    "manualslib): about 3.4 stops in the 35 mm corners at full aperture (2 on the M8 format), "
    "1.8 (0.8) at f/5.6"
)

LENSES: list[Lens] = [
    Lens(
        "elmarit-m-21",
        "1",
        "Elmarit-M 21 mm f/2.8",
        21,
        2.8,
        16,
        0.7,
        "classic",
        notes="The non-aspherical Elmarit-M 21 (1980-1997).",
    ),
    Lens("elmarit-m-28-iii", "3", "Elmarit-M 28 mm f/2.8 (III)", 28, 2.8, 22, 0.7, "classic"),
    Lens("tele-elmarit-m-90", "4", "Tele-Elmarit-M 90 mm f/2.8 (II)", 90, 2.8, 22, 1.0, "classic"),
    Lens("summilux-m-50", "5", "Summilux-M 50 mm f/1.4 (II)", 50, 1.4, 16, 1.0, "classic"),
    Lens("summicron-m-35-iv", "6", "Summicron-M 35 mm f/2 (IV)", 35, 2.0, 16, 0.7, "classic"),
    Lens("summicron-m-90", "7", "Summicron-M 90 mm f/2 (II)", 90, 2.0, 16, 1.0, "classic"),
    Lens(
        "elmarit-m-135",
        "9",
        "Elmarit-M 135 mm f/2.8 (I/II)",
        135,
        2.8,
        32,
        1.5,
        "classic",
        notes="exiftool also lists key '9 0' (Apo-Telyt-M 135 mm f/3.4 chosen manually on an "
        "M9); see apo-telyt-m-135.",
    ),
    Lens(
        "summaron-m-28",
        "11",
        "Summaron-M 28 mm f/5.6",
        28,
        5.6,
        22,
        1.0,
        "classic",
        vignetting=(
            [{"f_number": 5.6, "corner_ev": 2.5}, {"f_number": 8.0, "corner_ev": 1.8}],
            SUMMARON_28_DOC,
        ),
        distortion=(
            [1.0, 0.0, 0.0],
            "Leica instructions (as vignetting): distortion "
            "'vernachlässigbar gering' (negligible); modelled as none",
        ),
        notes="The 2016 re-issue of the 1955 design, with 6-bit coding.",
    ),
    Lens(
        "thambar-m-90",
        "12",
        "Thambar-M 90 mm f/2.2",
        90,
        2.2,
        25,
        1.0,
        "classic",
        notes="Soft-focus portrait lens (1935 design, re-issued 2017): its deliberate spherical "
        "aberration is not modelled here, only geometry and fall-off.",
    ),
    Lens(
        "tri-elmar-m-16-18-21",
        "16",
        "Tri-Elmar-M 16-18-21 mm f/4 ASPH.",
        (16.0, 18.0, 21.0),
        4.0,
        22,
        0.5,
        "modern",
        notes="Three focal lengths on a ring (a lens state); the lens sets frame-selector bits "
        "1/2/3 for 16/18/21 mm (exiftool keys '16 1', '16 2', '16 3'). Optical character is "
        "given for the widest setting.",
    ),
    Lens(
        "summicron-m-50-iii",
        "23",
        "Summicron-M 50 mm f/2 (III)",
        50,
        2.0,
        16,
        0.7,
        "classic",
        notes="exiftool: shown as version (I) in the camera menu.",
    ),
    Lens("elmarit-m-21-asph", "24", "Elmarit-M 21 mm f/2.8 ASPH.", 21, 2.8, 16, 0.7, "modern"),
    Lens("elmarit-m-24", "25", "Elmarit-M 24 mm f/2.8 ASPH.", 24, 2.8, 16, 0.7, "modern"),
    Lens(
        "summicron-m-28",
        "26",
        "Summicron-M 28 mm f/2 ASPH.",
        28,
        2.0,
        16,
        0.7,
        "modern",
        distortion=lensfun_distortion(
            "ptlens", {"a": 0.0135748, "b": -0.0502846, "c": 0.0486119}, "Leica M9"
        ),
        lateral=lensfun_tca(1.0001441, 0.9999670, "Leica M9"),
    ),
    Lens("elmarit-m-28-iv", "27", "Elmarit-M 28 mm f/2.8 (IV)", 28, 2.8, 22, 0.7, "classic"),
    Lens(
        "elmarit-m-28",
        "28",
        "Elmarit-M 28 mm f/2.8 ASPH.",
        28,
        2.8,
        16,
        0.7,
        "modern",
        distortion=lensfun_distortion(
            "ptlens", {"a": 0.00349, "b": -0.00508, "c": -0.01721}, "Leica M (Typ 240)"
        ),
    ),
    Lens(
        "summilux-m-35-asph",
        "29",
        "Summilux-M 35 mm f/1.4 ASPH.",
        35,
        1.4,
        16,
        0.7,
        "modern",
        notes="exiftool also lists key '29 0' for the 1990 Summilux-M 35 mm f/1.4 ASPHERICAL; "
        "see summilux-m-35-aspherical.",
    ),
    Lens("summicron-m-35", "30", "Summicron-M 35 mm f/2 ASPH.", 35, 2.0, 16, 0.7, "modern"),
    Lens("noctilux-m-50-f1", "31", "Noctilux-M 50 mm f/1", 50, 1.0, 16, 1.0, "classic"),
    Lens(
        "summilux-m-50-asph",
        "32",
        "Summilux-M 50 mm f/1.4 ASPH.",
        50,
        1.4,
        16,
        0.7,
        "modern",
        blades=(9, "review at answerhow.to ('9 aperture blades'); single secondary source"),
    ),
    Lens(
        "summicron-m-50",
        "33",
        "Summicron-M 50 mm f/2 (IV, V)",
        50,
        2.0,
        16,
        0.7,
        "classic",
        distortion=lensfun_distortion("poly3", {"k1": -0.00072}, "Leica M (Typ 240)"),
        lateral=lensfun_tca(0.9999915, 0.9998735, "Leica M (Typ 240)"),
        notes="exiftool: shown as version (II, III) in the camera menu.",
    ),
    Lens(
        "elmar-m-50",
        "34",
        "Elmar-M 50 mm f/2.8",
        50,
        2.8,
        16,
        1.0,
        "classic",
        notes="Collapsible (1994). exiftool's comment also lists 11825, which it gives for the "
        "Summicron-M 50 too.",
    ),
    Lens("summilux-m-75", "35", "Summilux-M 75 mm f/1.4", 75, 1.4, 16, 0.75, "classic"),
    Lens("apo-summicron-m-75", "36", "Apo-Summicron-M 75 mm f/2 ASPH.", 75, 2.0, 16, 0.7, "apo"),
    Lens("apo-summicron-m-90", "37", "Apo-Summicron-M 90 mm f/2 ASPH.", 90, 2.0, 16, 1.0, "apo"),
    Lens(
        "elmarit-m-90",
        "38",
        "Elmarit-M 90 mm f/2.8",
        90,
        2.8,
        22,
        1.0,
        "classic",
        distortion=lensfun_distortion(
            "ptlens", {"a": -0.00423, "b": 0.01406, "c": -0.00692}, "Leica M (Typ 240)"
        ),
        notes="exiftool: shown as version (II) in the camera menu.",
    ),
    Lens(
        "macro-elmar-m-90",
        "39",
        "Macro-Elmar-M 90 mm f/4",
        90,
        4.0,
        22,
        0.8,
        "modern",
        notes="0.8 m without the Macro-Adapter-M (code 40, not a lens). exiftool also lists "
        "key '39 0' (Tele-Elmar-M 135 mm f/4 chosen manually); see tele-elmar-m-135.",
    ),
    Lens(
        "apo-summicron-m-50",
        "41",
        "Apo-Summicron-M 50 mm f/2 ASPH.",
        50,
        2.0,
        16,
        0.7,
        "apo",
        blades=(
            11,
            "pebbleplace.com review data table and itreviews.com review ('11 aperture blades')",
        ),
        spec_source="pebbleplace.com review data table (minimum focus 0.7 m, f/2 to f/16) and "
        "itreviews.com review; agrees with Leica's data",
        stops_source="pebbleplace.com and itreviews.com reviews: f/2 to f/16 in half-stop clicks",
        articles=(
            ("11141", "11142"),
            "pebbleplace.com review data table (11141 black, 11142 silver)",
        ),
        notes="Frame bits 3 from exiftool key '41 3' (%frameSelectorBits has no entry). "
        "exiftool also lists '53 3' as 'Apo-Summicron-M 50mm f/2 (VI)'; not modelled.",
    ),
    Lens(
        "tri-elmar-m-28-35-50",
        "42",
        "Tri-Elmar-M 28-35-50 mm f/4 ASPH.",
        (28.0, 35.0, 50.0),
        4.0,
        22,
        1.0,
        "modern",
        notes="Three focal lengths on a ring (a lens state) that also moves the frame lines: "
        "bits 1/2/3 for 28/35/50 mm (exiftool keys '42 1', '42 2', '42 3'). Optical character "
        "is given for the widest setting.",
    ),
    Lens("summarit-m-35", "43", "Summarit-M 35 mm f/2.5", 35, 2.5, 16, 0.8, "modern"),
    Lens("summarit-m-50", "44", "Summarit-M 50 mm f/2.5", 50, 2.5, 16, 0.8, "modern"),
    Lens("summarit-m-75", "45", "Summarit-M 75 mm f/2.5", 75, 2.5, 16, 0.9, "modern"),
    Lens("summarit-m-90", "46", "Summarit-M 90 mm f/2.5", 90, 2.5, 16, 1.0, "modern"),
    Lens(
        "summilux-m-21",
        "47",
        "Summilux-M 21 mm f/1.4 ASPH.",
        21,
        1.4,
        16,
        0.7,
        "modern",
        vignetting=(
            [
                {"f_number": 1.4, "corner_ev": 3.2, "m8_corner_ev": 1.9},
                {"f_number": 2.8, "corner_ev": 1.7, "m8_corner_ev": 0.8},
            ],
            SUMMILUX_21_DOC,
        ),
        distortion=(
            [1.0, 0.0, -0.023],
            "Leica instructions (as vignetting): maximum distortion "
            "2.3 %; its sign is not stated (assumed: barrel) and it is put at the "
            "35 mm corner",
        ),
    ),
    Lens("summilux-m-24", "48", "Summilux-M 24 mm f/1.4 ASPH.", 24, 1.4, 16, 0.7, "modern"),
    Lens("noctilux-m-50-f0.95", "49", "Noctilux-M 50 mm f/0.95 ASPH.", 50, 0.95, 16, 1.0, "modern"),
    Lens(
        "elmar-m-24",
        "50",
        "Elmar-M 24 mm f/3.8 ASPH.",
        24,
        3.8,
        16,
        0.7,
        "modern",
        vignetting=(
            [
                {"f_number": 3.8, "corner_ev": 1.9, "m8_corner_ev": 1.1},
                {"f_number": 5.6, "corner_ev": 1.4, "m8_corner_ev": 0.8},
            ],
            ELMAR_24_DOC,
        ),
        distortion=(
            [1.0, 0.0, -0.01],
            "Leica instructions (as vignetting): maximum distortion "
            "'around 1 %'; sign not stated (assumed: barrel), put at the 35 mm corner",
        ),
    ),
    Lens(
        "super-elmar-m-21",
        "51",
        "Super-Elmar-M 21 mm f/3.4 ASPH.",
        21,
        3.4,
        16,
        0.7,
        "modern",
        notes="exiftool also lists '51 2' as 'Super-Elmar-M 14mm f/3.8 Asph', a lens Leica "
        "never made (probably a mis-set frame selector); not modelled.",
    ),
    Lens(
        "super-elmar-m-18",
        "52",
        "Super-Elmar-M 18 mm f/3.8 ASPH.",
        18,
        3.8,
        16,
        0.7,
        "modern",
        notes="exiftool names code 52 'Apo-Telyt-M 18mm f/3.8 ASPH.'; the only 18 mm f/3.8 "
        "M lens is the Super-Elmar-M 18 mm f/3.8 ASPH., so the catalogue uses that name.",
    ),
    Lens(
        "apo-telyt-m-135",
        "53",
        "Apo-Telyt-M 135 mm f/3.4",
        135,
        3.4,
        22,
        1.5,
        "apo",
        articles=(
            ("11889",),
            "exiftool %leicaLensTypes comment on key '9 0' (the same lens chosen manually)",
        ),
        notes="exiftool keys '53', '53 2' (frame bits 2) and '9 0' (chosen manually on an M9, "
        "before the lens was coded).",
    ),
    Lens(
        "noctilux-m-75",
        "58",
        "Noctilux-M 75 mm f/1.25 ASPH.",
        75,
        1.25,
        16,
        0.85,
        "modern",
        notes="Frame bits 3 inferred from the 50/75 frame lines (%frameSelectorBits has no entry).",
    ),
    # ---- lenses without a code of their own ------------------------------------------------
    Lens(
        "summilux-m-35",
        "6 0",
        "Summilux-M 35 mm f/1.4",
        35,
        1.4,
        16,
        0.7,
        "classic",
        notes="No 6-bit code of its own: exiftool key '6 0' is what an M9 records when this "
        "lens is chosen in its lens menu (ID 6 of the Summicron-M 35 (IV), frame bits 0).",
    ),
    Lens(
        "summilux-m-35-aspherical",
        "29 0",
        "Summilux-M 35 mm f/1.4 ASPHERICAL",
        35,
        1.4,
        16,
        0.7,
        "modern",
        notes="The 1990 hand-polished aspherical version, different from the ASPH. (code 29). "
        "No code of its own: exiftool key '29 0' is the M9 lens-menu entry.",
    ),
    Lens(
        "noctilux-m-50-f1.2",
        "31 0",
        "Noctilux-M 50 mm f/1.2",
        50,
        1.2,
        16,
        1.0,
        "classic",
        notes="No code of its own: exiftool key '31 0' is the M9 lens-menu entry.",
    ),
    Lens(
        "tele-elmar-m-135",
        "39 0",
        "Tele-Elmar-M 135 mm f/4 (II)",
        135,
        4.0,
        22,
        1.5,
        "classic",
        notes="No code of its own: exiftool key '39 0' is the M9 lens-menu entry.",
    ),
    Lens(
        "summilux-m-28",
        None,
        "Summilux-M 28 mm f/1.4 ASPH.",
        28,
        1.4,
        16,
        0.7,
        "modern",
        spec_source="photoreview.com.au review (close focus 70 cm); f/1.4 to f/16 as widely "
        "published",
        vignetting=(
            [
                {"f_number": 1.4, "corner_ev": 3.4, "m8_corner_ev": 2.0},
                {"f_number": 5.6, "corner_ev": 1.8, "m8_corner_ev": 0.8},
            ],
            SUMMILUX_28_DOC,
        ),
        distortion=(
            [1.0, 0.0, 0.011],
            "Leica instructions (as vignetting): maximum distortion "
            "1.1 %, pincushion; put at the 35 mm corner",
        ),
        notes="The real lens is 6-bit coded, but exiftool's table (12.x) does not list its "
        "code; treated as uncoded (choose it in lens detection) until the code is known.",
    ),
]


# ---- exiftool's table ----------------------------------------------------------------------


def read_exiftool(path: Path) -> tuple[dict[str, tuple[str, str]], dict[int, tuple[int, str]]]:
    """({key: (name, comment)}, {code: (frame bits, comment)}) from Panasonic.pm."""
    text = path.read_text(encoding="utf-8")
    types_block = text.split("%leicaLensTypes = (", 1)[1].split("\n);", 1)[0]
    frames_block = text.split("my %frameSelectorBits = (", 1)[1].split("\n);", 1)[0]
    types = {}
    for m in re.finditer(
        r"^\s*'?(\d+(?: \d)?)'?\s*=>\s*'([^']*)',[ \t]*(#[^\n]*)?$", types_block, re.M
    ):
        types[m.group(1)] = (m.group(2), (m.group(3) or "").lstrip("# ").strip())
    frames = {}
    for m in re.finditer(r"^\s*(\d+)\s*=>\s*(\d),[ \t]*(#[^\n]*)?$", frames_block, re.M):
        frames[int(m.group(1))] = (int(m.group(2)), (m.group(3) or "").lstrip("# ").strip())
    return types, frames


# ---- assumed figures -----------------------------------------------------------------------


def natural_ev(focal: float) -> float:
    """cos⁴ fall-off at the 35 mm corner's field angle, EV."""
    theta = math.atan(HALF_DIAG_MM / focal)
    return -math.log2(math.cos(theta) ** 4)


def assumed_vignetting(focal: float, max_f: float) -> tuple[list[dict], str]:
    """Two stops down (the first full stop at 2 x max_f or beyond): the natural cos⁴ fall-off
    at the 35 mm corner. At full aperture: that plus (0.2 EV per stop faster than f/5.6 +
    0.6 EV) x min(1, 28 mm / f). Fitted to Leica's figures for the Summilux-M 21 and 28,
    Elmar-M 24 and Summaron-M 28: all eight published values within 0.7 EV."""
    stopped = next(s for s in FULL_STOPS if s >= 2.0 * max_f * 0.95)
    floor = natural_ev(focal)
    faster = max(0.0, 2.0 * math.log2(5.6 / max_f))
    excess = (0.2 * faster + 0.6) * min(1.0, 28.0 / focal)
    points = [
        {"f_number": max_f, "corner_ev": round(floor + excess, 1)},
        {"f_number": stopped, "corner_ev": round(floor, 1)},
    ]
    return points, (
        "assumed: rule fitted to Leica's published figures for 21/24/28 mm lenses (all within "
        "0.7 EV): from two stops down, the natural cos^4 fall-off at the 35 mm corner; at full "
        "aperture that plus (0.2 EV per stop faster than f/5.6 + 0.6 EV) x min(1, 28 mm / "
        "focal length); profile exponent 2"
    )


def assumed_distortion(focal: float) -> tuple[list[float], str]:
    table = ((18, -2.0), (21, -1.5), (28, -1.0), (35, -0.8), (50, -0.5), (75, 0.5), (1e9, 0.7))
    pct = next(p for f, p in table if focal <= f + 1e-9)
    return [1.0, 0.0, pct / 100.0], (
        f"assumed: {pct:+.1f} % at the 35 mm corner, typical of the focal-length class among "
        "measured M lenses (21 mm 2.3 %, 24 mm ~1 %, 28 mm -2.7 to +0.4 %, 50 mm -0.2 %, "
        "90 mm +0.8 %; wides barrel, teles pincushion), ±1 %"
    )


def assumed_lateral(tca_class: str) -> tuple[float, float, str]:
    red, blue, why = {
        "apo": (0.5, -0.5, "apochromatic design (Leica 'Apo': anomalous-dispersion glasses)"),
        "modern": (
            1.0,
            -2.0,
            "like the measured Summicron-M 28 ASPH. and 50 (lensfun: "
            "2.5-3.8 µm red-blue spread at the 35 mm corner)",
        ),
        "classic": (
            1.5,
            -3.0,
            "older design with few anomalous-dispersion glasses: about 1.5x the modern figure",
        ),
    }[tca_class]
    return red, blue, f"assumed: {why}; ±100 %"


# ---- writing -------------------------------------------------------------------------------


def stops_for(max_f: float, min_f: float) -> list[float]:
    marks = sorted(FULL_STOPS + HALF_STOPS)
    out = [max_f] + [s for s in marks if max_f * 1.1 <= s <= min_f + 1e-9]
    if out[-1] < min_f:
        out.append(min_f)
    return out


def q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def num(x: float) -> str:
    return repr(float(x)) if not float(x).is_integer() else f"{float(x):.1f}"


def render(lens: Lens, types: dict, frames: dict) -> str:
    focal_settings = lens.focal if isinstance(lens.focal, tuple) else None
    focal = focal_settings[0] if focal_settings else float(lens.focal)
    lines = [
        f"# {lens.name}: Leica M lens profile. Written by tools/make_leica_lenses.py; the",
        "# radial models (ρ = r / 21.633 mm) and the assumption rules are in docs/lenses.md.",
        f"id = {q(lens.id)}",
        f"name = {q(lens.name)}",
        'mount = "M"',
        f"focal_mm = {num(focal)}",
    ]
    if focal_settings:
        lines.append(f"focal_settings_mm = [{', '.join(num(f) for f in focal_settings)}]")
    lines += [
        f"max_f = {num(lens.max_f)}",
        f"min_f = {num(lens.min_f)}",
        f"min_focus_m = {num(lens.focus_m)}",
        f"spec_source = {q(lens.spec_source)}",
        f"stops = [{', '.join(num(s) for s in stops_for(lens.max_f, lens.min_f))}]",
        f"stops_source = {q(lens.stops_source)}",
        f"blades = {lens.blades[0]}",
        f"blades_source = {q(lens.blades[1])}",
    ]
    # code, frame selector, articles from exiftool
    articles: tuple[str, ...] = ()
    articles_src = "unknown: exiftool gives none for this lens; not verified elsewhere"
    if lens.key is not None:
        ex_name, comment = types[lens.key]
        ident, _, bits = lens.key.partition(" ")
        code = int(ident) if not bits else 0
        found = tuple(re.findall(r"\b1\d{4}\b", comment))
        if found:
            articles, articles_src = found, "exiftool %leicaLensTypes comment (model numbers)"
        if code:
            if code in frames:
                frame, fcomment = frames[code]
                nc = " (exiftool marks it NC: not confirmed)" if "NC" in fcomment else ""
                frame_src = f"exiftool %frameSelectorBits{nc}"
            elif f"{code} 3" in types and focal == 50:
                frame, frame_src = 3, "exiftool key '41 3' (no %frameSelectorBits entry)"
            else:
                frame = {28: 1, 90: 1, 75: 3, 50: 3, 35: 2, 24: 2}[int(focal)]
                frame_src = (
                    "inferred from the frame lines (28/90: 1, 24/35: 2, 50/75: 3); "
                    "exiftool has no %frameSelectorBits entry"
                )
            lines += [
                f"code = {code}",
                f"frame_selector = {frame}",
            ]
            if focal_settings:
                lines.append("frame_selector_settings = [1, 2, 3]")
            lines.append(
                f"code_source = {q(f'exiftool Image/ExifTool/Panasonic.pm %leicaLensTypes key {lens.key!r}; frame bits: {frame_src}')}"
            )
        else:
            lines += [
                "code = 0",
                "frame_selector = 0",
                f"code_source = {q(f'exiftool %leicaLensTypes key {lens.key!r}: an M9 lens-menu entry, no code of its own')}",
            ]
        lines += [f"exiftool_key = {q(lens.key)}", f"exiftool_name = {q(ex_name)}"]
    else:
        lines += [
            "code = 0",
            "frame_selector = 0",
            'code_source = "not in exiftool\'s %leicaLensTypes (12.x): code unknown, treated as uncoded"',
        ]
    if lens.articles is not None:
        articles, articles_src = lens.articles
    lines += [
        f"article_numbers = [{', '.join(q(a) for a in articles)}]",
        f"article_numbers_source = {q(articles_src)}",
        "transmittance = 0.9",
        f"transmittance_source = {q(TRANSMITTANCE_SOURCE)}",
    ]
    if lens.notes:
        lines.append(f"notes = {q(lens.notes)}")

    points, vsrc = lens.vignetting or assumed_vignetting(focal, lens.max_f)
    lines += ["", "[vignetting]", 'model = "corner-ev"', "points = ["]
    for p in points:
        inner = ", ".join(f"{k} = {num(v)}" for k, v in p.items())
        lines.append(f"    {{ {inner} }},")
    lines += ["]", f"source = {q(vsrc)}"]

    k, dsrc = lens.distortion or assumed_distortion(focal)
    pct = (sum(k) - 1.0) * 100.0
    lines += [
        "",
        "[distortion]",
        f"# {pct:+.2f} % at the 35 mm corner (ρ = 1); on the 1-inch sensor's corner (ρ = 0.379): "
        f"{(sum(c * 0.3786**i for i, c in enumerate(k)) - 1.0) * 100:+.2f} %",
        'model = "poly"',
        f"c = [{', '.join(repr(float(x)) for x in k)}]",
        f"source = {q(dsrc)}",
    ]
    red, blue, lsrc = lens.lateral or assumed_lateral(lens.tca_class)
    lines += [
        "",
        "[lateral_color]",
        "# radial shift of red and blue against green at the 35 mm corner, µm (linear in ρ)",
        'model = "linear-um"',
        f"red_um = {num(red)}",
        f"blue_um = {num(blue)}",
        f"source = {q(lsrc)}",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exiftool", type=Path, default=EXIFTOOL_PM)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--force", action="store_true", help="overwrite existing files")
    args = ap.parse_args(argv)
    if not args.exiftool.is_file():
        print(f"no {args.exiftool}: apt-get install libimage-exiftool-perl", file=sys.stderr)
        return 1
    types, frames = read_exiftool(args.exiftool)
    missing = [lens.key for lens in LENSES if lens.key is not None and lens.key not in types]
    if missing:
        print(f"exiftool's table lacks keys {missing}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    written = 0
    for lens in LENSES:
        path = args.out / f"{lens.id}.toml"
        text = render(lens, types, frames)
        if path.exists() and not args.force:
            if path.read_text(encoding="utf-8") != text:
                print(f"{path} differs; --force to overwrite", file=sys.stderr)
            continue
        path.write_text(text, encoding="utf-8")
        written += 1
    print(f"{written} of {len(LENSES)} lens files written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
