"""``mountcam inspect``: what a raw file holds, measured from its raw data.

``--histogram`` gives the raw histogram of any Bayer DNG: counts of raw DN values over the
ActiveArea (the part of the sensor that holds the picture; LibRaw's "visible" raw image) per
CFA colour, both greens in G, and the same samples on the EV-below-clipping scale with the
clipped count and headroom of each colour (:mod:`mountcam.assist.histogram`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def inspect_command(
    path: Annotated[Path, typer.Argument(help="A DNG file (any Bayer CFA DNG).")],
    histogram: Annotated[
        bool, typer.Option("--histogram", help="The raw histogram per CFA colour.")
    ] = False,
    bins: Annotated[
        int,
        typer.Option(
            "--bins", min=1, max=65536, help="DN bins from 0 to the white level (equal widths)."
        ),
    ] = 256,
    as_json: Annotated[
        bool, typer.Option("--json", help="Machine-readable output on stdout.")
    ] = False,
) -> None:
    """Measure a raw file: its levels and, with --histogram, its raw histogram."""
    from mountcam.assist.histogram import raw_histogram, raw_histogram_dn
    from mountcam.dng.reader import read_dng
    from mountcam.errors import MountcamError

    try:
        info = read_dng(path)
        top, left, bottom, right = info.active_area
        area = info.mosaic[top:bottom, left:right]
        # The CFA pattern starts at the active area's top-left corner (DNG 1.4, ActiveArea).
        pattern = info.cfa_pattern
        report: dict = {
            "file": str(path),
            "cfa_pattern": pattern,
            "active_area": list(info.active_area),
            "black_level_dn": list(info.black_level_dn),
            "white_level_dn": info.white_level_dn,
        }
        if histogram:
            edges = np.linspace(0, info.white_level_dn + 1, bins + 1)
            counts = raw_histogram_dn(area, pattern, edges)
            report["histogram"] = {
                "edges_dn": [float(e) for e in edges],
                **{c: [int(v) for v in counts[c]] for c in "RGB"},
            }
            report["raw_ev"] = raw_histogram(
                area, pattern, info.black_level_dn, info.white_level_dn
            ).as_dict()
    except MountcamError as exc:
        err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(report))
        return
    out.print(
        f"{path}: {pattern}, active area {info.active_area}, "
        f"black {info.black_level_dn}, white {info.white_level_dn} DN"
    )
    if histogram:
        ev = report["raw_ev"]
        for c in "RGB":
            total = max(ev["total"][c], 1)
            out.print(
                f"  {c}: {100 * ev['clipped'][c] / total:.3f} % clipped, "
                f"{100 * ev['floor'][c] / total:.3f} % at black, "
                f"headroom {ev['headroom_ev'][c]:.2f} EV"
            )
