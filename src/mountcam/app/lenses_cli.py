"""``mountcam lenses``: the lens catalogue (list, show one lens with its optical character).

Registered in :mod:`mountcam.app.cli` with ``app.add_typer(lenses_app, name="lenses")``.
``--json`` prints only JSON on stdout; refusals print one line on stderr and exit with 2.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from mountcam.errors import MountcamError
from mountcam.optics.lens import LensProfile, equivalent_focal_mm

lenses_app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    help="The lens catalogue: the main module's lens, coded Leica M lenses, adapted lenses.",
)

_err = Console(stderr=True, highlight=False)
_out = Console(highlight=False)

_MOUNT_ORDER = {"fixed": 0, "M": 1, "adapted": 2}
#: The sensor both camera modules carry: crop factor and corner ρ come from its preset.
_SENSOR = "imx989"


def _crop_factor() -> float:
    from mountcam.sensor.model import load_sensor

    return load_sensor(_SENSOR).crop_factor


def _fail(error: Exception) -> None:
    _err.print(f"[bold red]error:[/] {error}", soft_wrap=True)
    raise typer.Exit(2)


def lens_summary(lens: LensProfile) -> dict:
    """The list view of a lens (what ``mountcam lenses --json`` prints for each)."""
    return {
        "id": lens.id,
        "name": lens.name,
        "mount": lens.mount,
        "focal_mm": lens.focal_mm,
        "focal_settings_mm": list(lens.focal_settings_mm),
        "focal_range_mm": list(lens.focal_range_mm) if lens.focal_range_mm else None,
        "equivalent_focal_mm": round(equivalent_focal_mm(lens.focal_mm, _crop_factor()), 1),
        "max_f": lens.max_f,
        "min_f": lens.min_f,
        "stops": list(lens.stops),
        "min_focus_m": lens.min_focus_m,
        "code": lens.code,
        "frame_selector": lens.frame_selector,
        "blades": lens.blades,
    }


def lens_details(lens: LensProfile) -> dict:
    """Everything about one lens (``mountcam lenses show ID --json``), with its optical
    character evaluated at the 35 mm corner (ρ = 1) and at the IMX989's corner."""
    crop = _crop_factor()
    rho_s = 1.0 / crop  # the sensor's corner: its half-diagonal over 35 mm's
    d = lens_summary(lens) | {
        "crop_factor": round(crop, 4),
        "frame_selector_settings": list(lens.frame_selector_settings),
        "lens_type_value": lens.lens_type_value(),
        "exiftool_key": lens.exiftool_key,
        "exiftool_name": lens.exiftool_name,
        "article_numbers": list(lens.article_numbers),
        "transmittance": lens.transmittance,
        "sources": dict(lens.sources),
        "notes": lens.notes,
        "sensor_corner_rho": round(rho_s, 4),
    }
    v = lens.vignetting
    d["vignetting"] = (
        None
        if v is None
        else {
            "model": v.model,
            "points": [list(p) for p in v.points],
            "unit_mm": v.unit_mm,
            "corner_ev_full_aperture": round(float(v.ev(1.0, lens.max_f)), 3),
            "sensor_corner_ev_full_aperture": round(float(v.ev(rho_s, lens.max_f)), 3),
            "source": v.source,
        }
    )
    dist = lens.distortion
    d["distortion"] = (
        None
        if dist is None
        else {
            "model": dist.model,
            "terms": list(dist.terms),
            "unit_mm": dist.unit_mm,
            "corner_percent": round(float(dist.percent(1.0)), 3),
            "sensor_corner_percent": round(float(dist.percent(rho_s)), 3),
            "source": dist.source,
        }
    )
    lc = lens.lateral_color
    if lc is None:
        d["lateral_color"] = None
    else:
        red, blue = lc.shift_um(1.0)
        red_s, blue_s = lc.shift_um(rho_s)
        d["lateral_color"] = {
            "model": lc.model,
            "terms": list(lc.terms),
            "unit_mm": lc.unit_mm,
            "corner_um": {"red": round(float(red), 3), "blue": round(float(blue), 3)},
            "sensor_corner_um": {"red": round(float(red_s), 3), "blue": round(float(blue_s), 3)},
            "source": lc.source,
        }
    cal = lens.lensfun
    d["lensfun"] = (
        None
        if cal is None
        else {
            "maker": cal.maker,
            "model": cal.model,
            "mounts": list(cal.mounts),
            "crop_factor": cal.crop_factor,
            "aspect_ratio": cal.aspect_ratio,
            "projection": cal.lens_type,
            "distortion_unit_mm": round(cal.distortion_unit_mm, 4),
            "vignetting_unit_mm": round(cal.vignetting_unit_mm, 4),
            "database": cal.database,
        }
    )
    return d


def _write_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def _fmt_aperture(lens: LensProfile) -> str:
    return f"f/{lens.max_f:g}" if lens.max_f == lens.min_f else f"f/{lens.max_f:g}-{lens.min_f:g}"


def _fmt_focal(lens: LensProfile) -> str:
    if lens.focal_settings_mm:
        return "-".join(f"{f:g}" for f in lens.focal_settings_mm)
    if lens.focal_range_mm:
        return f"{lens.focal_range_mm[0]:g}-{lens.focal_range_mm[1]:g}"
    return f"{lens.focal_mm:g}"


@lenses_app.callback(invoke_without_command=True)
def lenses_list(
    ctx: typer.Context,
    lensfun: Annotated[
        str | None,
        typer.Option(
            "--lensfun",
            metavar="WORDS",
            help="Also list lensfun lenses (adaptable to M) whose name has these words.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON.")] = False,
) -> None:
    """List the lenses: the main module's, the Leica M lenses, adapted ones on request.

    "code" is the 6-bit code / frame-selector bits a coded M lens sets on the bayonet.
    """
    if ctx.invoked_subcommand is not None:
        return
    from mountcam.optics.lens_catalogue import all_lenses
    from mountcam.optics.lensfun import search_lensfun

    try:
        lenses = all_lenses()
        if lensfun is not None:
            lenses += search_lensfun(lensfun, limit=None)
    except MountcamError as e:
        _fail(e)
    lenses.sort(key=lambda x: (_MOUNT_ORDER.get(x.mount, 9), x.focal_mm, x.max_f, x.id))
    if as_json:
        _write_json([lens_summary(lens) for lens in lenses])
        return
    t = Table(title=f"mountcam lenses ({len(lenses)})", box=None, header_style="bold")
    width = max((len(lens.id) for lens in lenses), default=2)
    t.add_column("id", no_wrap=True, min_width=width)
    t.add_column("mm", justify="right", no_wrap=True, min_width=8)
    t.add_column("equiv.", justify="right", no_wrap=True, min_width=6)
    t.add_column("aperture", no_wrap=True, min_width=9)
    t.add_column("code", justify="right", no_wrap=True, min_width=5)
    t.add_column("name", no_wrap=True, overflow="ellipsis")
    crop = _crop_factor()
    previous = None
    for lens in lenses:
        if previous is not None and lens.mount != previous:
            t.add_section()
        previous = lens.mount
        code = "-" if not lens.code else f"{lens.code}/{lens.frame_selector}"
        t.add_row(
            lens.id,
            _fmt_focal(lens),
            f"{equivalent_focal_mm(lens.focal_mm, crop):.0f}",
            _fmt_aperture(lens),
            code,
            Text(lens.name),
        )
    _out.print(t)


@lenses_app.command("show")
def lenses_show(
    lens: Annotated[
        str, typer.Argument(help="Lens id, a unique part of its name, or lensfun:MAKER MODEL.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON.")] = False,
) -> None:
    """One lens: figures, 1-inch equivalent focal length, optical character, sources."""
    from mountcam.optics.lens_catalogue import find_lens

    try:
        profile = find_lens(lens)
    except MountcamError as e:
        _fail(e)
    if as_json:
        _write_json(lens_details(profile))
        return
    _out.print(lens_table(profile))


def lens_table(profile) -> Table:
    """The table ``lenses show`` prints for ``profile``."""
    details = lens_details(profile)
    # Data files' text goes in as Text, never as markup: rich would eat "[vignetting]".
    t = Table(title=Text(profile.name), show_header=False, box=None)
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    t.add_row("id", profile.id)
    t.add_row("mount", profile.mount)
    t.add_row(
        "focal length",
        f"{_fmt_focal(profile)} mm (≈ {details['equivalent_focal_mm']:g} mm equivalent on the "
        f"1-inch sensor, crop {details['crop_factor']:.2f})",
    )
    t.add_row(
        "aperture", f"{_fmt_aperture(profile)}; stops {', '.join(f'{s:g}' for s in profile.stops)}"
    )
    t.add_row("close focus", f"{profile.min_focus_m:g} m" if profile.min_focus_m else "unknown")
    if profile.code is not None:
        t.add_row(
            "6-bit code",
            f"{profile.code or 'none'}  frame selector {profile.frame_selector or '-'}"
            + (f"  exiftool '{escape(profile.exiftool_key)}'" if profile.exiftool_key else ""),
        )
    if profile.article_numbers:
        t.add_row("article no.", Text(", ".join(profile.article_numbers)))
    t.add_row("blades", str(profile.blades or "unknown"))
    t.add_row("transmittance", f"{profile.transmittance:g}")
    v, dist, lc = details["vignetting"], details["distortion"], details["lateral_color"]
    if v:
        t.add_row(
            "vignetting",
            f"{v['corner_ev_full_aperture']:.1f} EV at the 35 mm corner, "
            f"{v['sensor_corner_ev_full_aperture']:.2f} EV at the sensor corner (f/{profile.max_f:g})",
        )
    if dist:
        t.add_row(
            "distortion",
            f"{dist['corner_percent']:+.2f} % at the 35 mm corner, "
            f"{dist['sensor_corner_percent']:+.2f} % at the sensor corner",
        )
    if lc:
        t.add_row(
            "lateral colour",
            f"red {lc['corner_um']['red']:+.1f} µm, blue {lc['corner_um']['blue']:+.1f} µm at "
            f"the 35 mm corner; {lc['sensor_corner_um']['red']:+.2f} / "
            f"{lc['sensor_corner_um']['blue']:+.2f} µm at the sensor corner",
        )
    for key, text in details["sources"].items():
        t.add_row(f"{key} source", Text(text))
    for name, part in (("vignetting", v), ("distortion", dist), ("lateral colour", lc)):
        if part:
            t.add_row(f"{name} source", Text(part["source"]))
    if profile.notes:
        t.add_row("notes", Text(profile.notes))
    return t


def lensfun_user_folder() -> Path:
    """Where lensfun reads a user's own database files: ``$XDG_DATA_HOME/lensfun`` (by default
    ``~/.local/share/lensfun``; lensfun 0.3 ``lf_db_load``, GLib's user data dir)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "lensfun"


@lenses_app.command("lensfun-xml")
def lenses_lensfun_xml(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the file here instead of printing it."),
    ] = None,
    install: Annotated[
        bool,
        typer.Option(
            "--install",
            help="Write it as mountcam.xml into lensfun's user folder "
            "($XDG_DATA_HOME/lensfun, else ~/.local/share/lensfun), replacing an older one.",
        ),
    ] = False,
) -> None:
    """mountcam's cameras and lenses as a lensfun database file.

    RawTherapee 5.9, darktable's lens module, Hugin and GIMP correct lenses through lensfun;
    with this file installed they correct mountcam's DNGs (vignetting, distortion, lateral
    colour) as mountcam's own develop does. See docs/interop.md.
    """
    from mountcam.atomic_file import atomic_output
    from mountcam.optics.lens_catalogue import all_lenses
    from mountcam.optics.lensfun_profile import lensfun_xml

    if out is not None and install:
        _fail(ValueError("give either --out or --install, not both"))
    try:
        lenses = all_lenses()
        main = next(lens for lens in lenses if lens.mount == "fixed")
        text = lensfun_xml(main, [lens for lens in lenses if lens.mount == "M"], _crop_factor())
    except MountcamError as e:
        _fail(e)
    if out is None and not install:
        sys.stdout.write(text)
        return
    path = out if out is not None else lensfun_user_folder() / "mountcam.xml"
    try:
        if install:
            path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path, overwrite=install) as stream:
            stream.write(text.encode("utf-8"))
    except MountcamError as e:
        _fail(e)
    except OSError as e:
        _fail(OSError(f"cannot write {path}: {e.strerror or e}"))
    _out.print(f"wrote {path}")
