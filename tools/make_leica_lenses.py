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

FOCAL_FROM_EXIFTOOL = (
    "exiftool %leicaLensTypes name {name!r} (focal length and widest f-number; "
    "tests/test_lens_catalogue.py checks both against exiftool's table)"
)
MIN_F_ASSUMED = (
    "assumed: f/{min_f:g}, the smallest stop Leica M lenses of this class and period engrave; "
    "recalled, not found in the sources searched (lens-db.com, pebbleplace.com, "
    "leicalenslist.com and reviews in the search corpus)"
)
FOCUS_ASSUMED = (
    "assumed: {focus:g} m, the near end of the M rangefinder's coupling range that most M "
    "lenses of this class reach (reddotforum.com, 2023: 'almost all M lenses are constrained "
    "to a minimum focus distance of 0.7m'); this lens's own figure was not found in the "
    "sources searched"
)
STOPS_SOURCE = (
    "assumed: Leica M aperture rings click at half stops between the engraved full stops; "
    "marks from the standard sqrt(2) series, the first full stop after full aperture"
)
TRANSMITTANCE_SOURCE = (
    "assumed: about 0.5 % loss per multi-coated surface plus glass absorption gives ~0.90 "
    "for a 6-11 element lens; Leica publishes no T-stops"
)
BLADES_UNKNOWN = (
    "unknown: not found in the sources searched (lens-db.com, pebbleplace.com, "
    "leicalenslist.com, reviews); 0 means not known (the twin renders a round stop)"
)

LENSFUN = "lensfun database rf-leica.xml (as bundled with lensfunpy 1.18.0)"
LENSFUN_2025 = (
    "lensfun database data/db/rf-leica.xml (lensfun/lensfun on GitHub, commit 3f06050c, "
    "2025; not yet in lensfunpy 1.18.0)"
)


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
    min_f_source: str = ""  # "" -> MIN_F_ASSUMED
    focus_source: str = ""  # "" -> FOCUS_ASSUMED
    focal_source: str = ""  # "" -> the exiftool name (FOCAL_FROM_EXIFTOOL)
    stepless: bool = False  # no click stops: any f-number on the ring
    stops_source: str = STOPS_SOURCE
    articles: tuple[tuple[str, ...], str] | None = None  # override exiftool's comment
    vignetting: tuple[list[dict], str] | None = None  # documented points + source
    distortion: tuple[list[float], str] | None = None  # documented poly k + source
    lateral: tuple[float, float, str] | None = None  # documented red/blue µm + source
    notes: str = ""
    extra: dict = field(default_factory=dict)


#: ρ of the IMX989's corner (13.1072 x 9.8304 mm): the part of the field the twin uses.
SENSOR_CORNER_RHO = math.hypot(13.1072, 9.8304) / 2.0 / HALF_DIAG_MM
#: Samples of ρ for the refits below.
_RHO = [i / 2000.0 for i in range(2001)]


def _lstsq(rows: list[list[float]], target: list[float], weight: list[float]) -> list[float]:
    """Weighted least squares by the normal equations (a handful of unknowns; no numpy, so
    the tool runs with the standard library)."""
    n = len(rows[0])
    ata = [[0.0] * n for _ in range(n)]
    atb = [0.0] * n
    for row, t, w in zip(rows, target, weight, strict=True):
        for i in range(n):
            atb[i] += w * row[i] * t
            for j in range(n):
                ata[i][j] += w * row[i] * row[j]
    # Gauss-Jordan elimination with partial pivoting.
    m = [ata[i] + [atb[i]] for i in range(n)]
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[piv] = m[piv], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [a - f * b for a, b in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def ptlens_refit(a: float, b: float, c: float) -> tuple[list[float], float, float]:
    """lensfun "ptlens" (unit 12 mm) → mountcam "poly" (1, 0, k2, 0, k4) in ρ, the largest
    difference from lensfun's curve in µm on the 35 mm field, and the ρ where it is.

    lensfun's curve R_d = R (a R³ + b R² + c R + d) has odd powers of R in the ratio, so the
    distortion it implies grows *linearly* from the centre (a ptlens fit trades the image
    scale against the c R term). A rotationally symmetric lens has r_d = r (k0 + k2 r² + k4 r⁴
    + …): the ratio's slope is zero at the centre. So the curve is refitted over the field it
    was calibrated on (the 35 mm frame, ρ ≤ 1), r_d ≈ ρ·s·(1 + k2 ρ² + k4 ρ⁴) with the scale s
    free (it only renames the focal length), least squares in position weighted by the area at
    ρ. Converting exactly instead (dividing by d) gave the Summicron-M 28 ASPH. +1.42 % on the
    1-inch sensor's corner against +0.38 % at the 35 mm corner."""
    s = HALF_DIAG_MM / LENSFUN_UNIT_MM
    d = 1.0 - a - b - c
    rows, target, weight = [], [], []
    for rho in _RHO:
        big_r = rho * s
        rows.append([rho, rho**3, rho**5])
        target.append(rho * (a * big_r**3 + b * big_r**2 + c * big_r + d))
        weight.append(rho)
    s0, s2, s4 = _lstsq(rows, target, weight)
    worst, at = max(
        (abs(r[0] * s0 + r[1] * s2 + r[2] * s4 - t) / s0, r[0])
        for r, t in zip(rows, target, strict=True)
    )
    return [1.0, 0.0, s2 / s0, 0.0, s4 / s0], worst * HALF_DIAG_MM * 1e3, at


def poly3_to_poly(k1: float) -> list[float]:
    """lensfun poly3 R(1 − k1 + k1 R²) → mountcam poly: r_d/r_u = 1 + k1 s²/(1 − k1) ρ²
    (exact: poly3 is already even)."""
    s = HALF_DIAG_MM / LENSFUN_UNIT_MM
    return [1.0, 0.0, k1 * s**2 / (1.0 - k1)]


def tca_um(v: float) -> float:
    """lensfun TCA linear term v (r_c = v·r) → displacement at the 35 mm corner, µm."""
    return (v - 1.0) * HALF_DIAG_MM * 1e3


def tca_refit_um(v: float, b: float) -> tuple[float, float]:
    """lensfun TCA "poly3" r_c = r (b R² + v) (c = 0) → the linear shift at ρ = 1 (µm) that
    fits it best on the 1-inch sensor's field (ρ ≤ 0.379, weighted by area), and the worst
    residual there in µm. The twin's lateral colour is a radial scale per band."""
    s = HALF_DIAG_MM / LENSFUN_UNIT_MM
    rows, target, weight = [], [], []
    for rho in (r * SENSOR_CORNER_RHO for r in _RHO):
        r_um = rho * HALF_DIAG_MM * 1e3
        rows.append([rho])
        target.append(r_um * (b * (rho * s) ** 2 + v - 1.0))
        weight.append(rho)
    (k,) = _lstsq(rows, target, weight)
    worst = max(abs(r[0] * k - t) for r, t in zip(rows, target, strict=True))
    return k, worst


def _r(x: float, nd: int = 6) -> float:
    return float(f"{x:.{nd}g}")


def lensfun_distortion(
    model: str, terms: dict, camera: str, database: str = LENSFUN
) -> tuple[list[float], str]:
    args = " ".join(f"{n}={v}" for n, v in terms.items())
    where = f'{database} <distortion model="{model}" {args}> (taken with {camera})'
    if model == "poly3":
        return [_r(x) for x in poly3_to_poly(**terms)], (
            f"{where}, converted exactly to mountcam 'poly' in ρ (tools/make_leica_lenses.py)"
        )
    k, worst_um, at = ptlens_refit(**terms)
    return [_r(x) for x in k], (
        f"{where}, refitted as an even polynomial in ρ (zero slope at the centre, image scale "
        f"free) over the calibrated 35 mm field: it departs from lensfun's curve by at most "
        f"{worst_um:.1f} µm (at ρ = {at:.2f}, where ptlens's linear term, which no rotationally "
        "symmetric lens has, dominates) (tools/make_leica_lenses.py:ptlens_refit)"
    )


def lensfun_tca(
    vr: float,
    vb: float,
    camera: str,
    br: float = 0.0,
    bb: float = 0.0,
    database: str = LENSFUN,
) -> tuple[float, float, str]:
    if not br and not bb:
        return (
            round(tca_um(vr), 2),
            round(tca_um(vb), 2),
            f'{database} <tca model="poly3" vr="{vr}" vb="{vb}"> (taken with {camera}): '
            "(v - 1) x 21.633 mm",
        )
    red, red_err = tca_refit_um(vr, br)
    blue, blue_err = tca_refit_um(vb, bb)
    return (
        round(red, 2),
        round(blue, 2),
        f'{database} <tca model="poly3" vr="{vr}" br="{br}" vb="{vb}" bb="{bb}"> (taken with '
        f"{camera}), refitted as a shift linear in ρ on the 1-inch sensor's field (ρ ≤ 0.379); "
        f"worst residual there {max(red_err, blue_err):.2f} µm "
        "(tools/make_leica_lenses.py:tca_refit_um)",
    )


# ---- sources found (search corpus "pages"; reviews and databases citing Leica's data) --------
LENSDB_APO75 = (
    "lens-db.com/leica-apo-summicron-m-75mm-f2-asph-2005 (source of data: Leica's technical "
    "data): 9 blades, closest focus 0.7 m, order nos. 11637 black / 11701 silver"
)
PEBBLE_LUX28 = (
    "pebbleplace.com/reviews/rangefinder/leica_28mm_summilux (data table): f/1.4 to f/16 in "
    "half-stop detents, 11 blades, minimum focus 0.7 m, 11668 black / 11911 silver"
)
PEBBLE_LUX75 = (
    "pebbleplace.com/reviews/rangefinder/leica_75mm_summilux (data table): 10 blades, f/16, "
    "minimum focus 0.75 m for 11815 (1982) and 11810 (1998), 1 m for the first 11814 (1980)"
)
MARINE_LUX35 = (
    "marinewildlife.co.uk/info/leica-35mm-f1-4-pre-aspheric-summilux-m (technical "
    "information): f/1.4 to f/16, 10 aperture blades, 11870 black / 11860 titanium"
)
KHELLEK_LUX35 = (
    "khellek.blogspot.com (2011-08, history of the 35 mm Summilux): the 35 mm f/1.4 "
    "Summilux-M (11 870) 'focuses to 1m' (0.65 m only with the M3 finder optics)"
)
THAMBAR = (
    "lens-db.com/leica-thambar-m-90mm-f22-classic-2017 (source of data: Leica's technical "
    "data): order no. 11697, 20 blades, closest focus 1 m; leicalenslist.com (Thambar-M "
    "90mm f/2.2): 'stepless 20-blade aperture', 'click-less'; digitalkamera.de, 2017-10-17: "
    "'20 Lamellen ... stufenlos verstellt'"
)
MACRO90 = (
    "wetzlar-historica-italia.it/90MACRO.html: closest focus ('mdmaf') 77 cm, 50 cm with the "
    "Macro-Adapter-M (11633/11634); jokulfrosti.org (2021-10-16): 0.76 m"
)
LENSDB_LUX50_I = (
    "lens-db.com/leitz-wetzlar-summilux-50mm-f14-i-1959: order nos. 11113 black, 'SOOME / "
    "11114 - silver' of the 1959 Summilux 50 mm f/1.4 [I]"
)
ISSUE9_REVIEW = (
    'assumed: {value} from the review of issue 9 ("the lens data held against independent '
    'sources"), which names no source; not found in the sources searched here'
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
    Lens(
        "tele-elmarit-m-90",
        "4",
        "Tele-Elmarit-M 90 mm f/2.8 (II)",
        90,
        2.8,
        16,
        1.0,
        "classic",
        min_f_source=ISSUE9_REVIEW.format(value="f/16 (was f/22)"),
    ),
    Lens(
        "summilux-m-50",
        "5",
        "Summilux-M 50 mm f/1.4 (II)",
        50,
        1.4,
        16,
        0.7,
        "classic",
        focus_source=ISSUE9_REVIEW.format(
            value="0.7 m for the coded lenses 11868/11856 (1.0 m applies to the 1961-91 lenses)"
        ),
        articles=(
            ("11868", "11856"),
            "exiftool %leicaLensTypes comment lists 11868/11856/11114; 11114 is left out: it "
            "is the 1959 Summilux 50 mm f/1.4 [I], not this lens (" + LENSDB_LUX50_I + ")",
        ),
    ),
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
        blades=(20, THAMBAR),
        focus_source=THAMBAR,
        stepless=True,
        stops_source="the engraved marks of the aperture ring (white scale); the ring is "
        "stepless, so any f-number between them can be set (" + THAMBAR + ")",
        articles=(("11697",), THAMBAR),
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
    Lens(
        "summicron-m-35",
        "30",
        "Summicron-M 35 mm f/2 ASPH.",
        35,
        2.0,
        16,
        0.7,
        "modern",
        distortion=lensfun_distortion(
            "ptlens",
            {"a": 0.0183736, "b": -0.0506454, "c": 0.0446071},
            "Leica M10",
            LENSFUN_2025,
        ),
        lateral=lensfun_tca(
            1.0001994, 0.9996237, "Leica M10", br=-0.0001021, bb=0.0002990, database=LENSFUN_2025
        ),
    ),
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
        blades=(
            9,
            "review at answerhow.to ('9 aperture blades'); amateurphotographer.com on the 2023 "
            "successor: '11 curved blades rather than 9'",
        ),
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
        0.7,
        "classic",
        focus_source=ISSUE9_REVIEW.format(value="0.7 m for 11831/11823 (1994-2007)"),
        blades=(
            6,
            "kenrockwell.com/leica/50mm-f28.htm: unlike the 1957 Elmar's round 15-blade iris, "
            "the 'simpler, newer 50mm f/2.8 ELMAR-M' opens as a hexagon (6 blades)",
        ),
        notes="Collapsible (1994). exiftool's comment also lists 11825, which it gives for the "
        "Summicron-M 50 too.",
    ),
    Lens(
        "summilux-m-75",
        "35",
        "Summilux-M 75 mm f/1.4",
        75,
        1.4,
        16,
        0.75,
        "classic",
        blades=(10, PEBBLE_LUX75),
        min_f_source=PEBBLE_LUX75,
        focus_source=PEBBLE_LUX75,
        notes="0.75 m is the close focus of 11815 and 11810; the first version, 11814 (1980, "
        "separate hood), focuses to 1.0 m only. One profile covers all three.",
    ),
    Lens(
        "apo-summicron-m-75",
        "36",
        "Apo-Summicron-M 75 mm f/2 ASPH.",
        75,
        2.0,
        16,
        0.7,
        "apo",
        blades=(9, LENSDB_APO75),
        focus_source=LENSDB_APO75,
        articles=(("11637", "11701"), LENSDB_APO75),
        distortion=lensfun_distortion(
            "ptlens",
            {"a": -0.005889, "b": 0.0201916, "c": -0.0106667},
            "Leica M10",
            LENSFUN_2025,
        ),
        lateral=lensfun_tca(
            1.0000099, 0.9999321, "Leica M10", br=0.0000240, bb=-0.0000089, database=LENSFUN_2025
        ),
    ),
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
        0.77,
        "modern",
        focus_source=MACRO90,
        notes="0.77 m without the Macro-Adapter-M (code 40, not a lens). exiftool also lists "
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
        min_f_source="pebbleplace.com review data table (f/2 to f/16) and itreviews.com review",
        focus_source="pebbleplace.com review data table (minimum focus 0.7 m)",
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
        1.0,
        "classic",
        blades=(10, MARINE_LUX35),
        min_f_source=MARINE_LUX35,
        focus_source=KHELLEK_LUX35,
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
        blades=(
            16,
            "gmpphoto.blogspot.com (2019-11, the 1966 Noctilux-M 50 mm f/1.2): 'the 16 blade "
            "lens diaphragm'; single secondary source",
        ),
        focus_source="lhsa.squarespace.com blog (2021-04) on the re-issued Noctilux-M 50 mm "
        "f/1.2 ASPH. of the same design: 'It only focuses down to one metre'",
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
        focal_source="pebbleplace.com data table and photoreview.com.au review: 28 mm f/1.4 "
        "(exiftool's table does not list this lens)",
        min_f_source=PEBBLE_LUX28 + "; amateurphotographer.co.uk review: minimum aperture f/16",
        focus_source=PEBBLE_LUX28 + "; photoreview.com.au review: 'close focus limit ... 70 cm'",
        blades=(11, PEBBLE_LUX28),
        stops_source=PEBBLE_LUX28,
        articles=(("11668", "11911"), PEBBLE_LUX28),
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
        "measured M lenses (21 mm 2.3 %, 24 mm ~1 %, 28 mm -1.4 to -1.9 %, 35 mm +0.9 %, "
        "50 mm -0.2 %, 75 mm +1.5 %, 90 mm +1.1 %; wides barrel, teles pincushion), ±1 %"
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
    ]
    focal_src = lens.focal_source or FOCAL_FROM_EXIFTOOL.format(name=types[lens.key][0])
    lines += [
        f"focal_source = {q(focal_src)}",
        f"max_f_source = {q(focal_src)}",
        f"min_f_source = {q(lens.min_f_source or MIN_F_ASSUMED.format(min_f=lens.min_f))}",
        f"min_focus_source = {q(lens.focus_source or FOCUS_ASSUMED.format(focus=lens.focus_m))}",
        f"stops = [{', '.join(num(s) for s in stops_for(lens.max_f, lens.min_f))}]",
        f"stops_source = {q(lens.stops_source)}",
    ]
    if lens.stepless:
        lines.append("stepless = true")
    lines += [
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
