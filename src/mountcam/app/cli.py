"""The ``mountcam`` command.

Bad requests exit with status 2 and a line or two a photographer understands; nothing is left
in ``--out`` when a request is refused. ``--json`` output is the only thing on stdout.
"""

from __future__ import annotations

import json
import math
import sys
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from mountcam import __version__
from mountcam.app.develop_cli import develop_command
from mountcam.app.inspect_cli import inspect_command
from mountcam.app.lenses_cli import lenses_app
from mountcam.errors import MountcamError, UnreadableFile
from mountcam.units import format_shutter, parse_crop, parse_shutter_s

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="mountcam: a two-module 1-inch camera with a Leica M mount, its physical twin, and DNG.",
)
sensors_app = typer.Typer(no_args_is_help=True, help="Sensor presets and their figures.")
scenes_app = typer.Typer(no_args_is_help=True, help="Built-in scenes: charts and samples.")
app.add_typer(sensors_app, name="sensors")
app.add_typer(scenes_app, name="scenes")
app.add_typer(lenses_app, name="lenses")
app.command("develop")(develop_command)
app.command("inspect")(inspect_command)

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def _fail(error: Exception) -> None:
    err.print(f"[bold red]error:[/] {error}", soft_wrap=True)
    raise typer.Exit(2)


@lru_cache(maxsize=4)
def _calibration(sensor_name: str):
    """The sensor's dual-illuminant profile (A and D65), fitted once per process."""
    from mountcam.dng.calibration import calibrate_dual
    from mountcam.sensor.model import load_sensor

    return calibrate_dual(load_sensor(sensor_name).qe)


def _next_stems(out_dir: Path, count: int) -> list[str]:
    """``MTC_0001`` … : the next free numbers in ``out_dir`` (never reusing a taken one)."""
    taken = {p.stem.split("_")[1] for p in out_dir.glob("MTC_*") if p.stem.split("_")[1].isdigit()}
    n = max((int(t) for t in taken), default=0)
    return [f"MTC_{n + i + 1:04d}" for i in range(count)]


def _write_truth(path: Path, truth: np.ndarray) -> None:
    """The noise-free image as a float TIFF beside its DNG; never replaces a file."""
    import tifffile

    from mountcam.atomic_file import atomic_output

    with atomic_output(path) as stream:
        tifffile.imwrite(
            stream,
            truth.astype(np.float32),
            photometric="rgb",
            compression="zlib",
            metadata={"colorspace": "linear sRGB (D65)", "white": 1.0},
        )


#: How many times shoot moves on to the next number when another process took one first.
_NAME_RETRIES = 100


def _write_numbered(out_dir: Path, frames, write) -> list[Path]:
    """Write each frame under the next free ``MTC_NNNN.dng`` with ``write(frame, path)``.

    The free number is found from the folder, and the DNG writer refuses a name that exists
    (atomically, see :func:`mountcam.dng.writer.write_dng`): if another process takes the same
    number between the look and the write, this frame moves on to the next one. Nothing is
    ever overwritten.
    """
    from mountcam.errors import OutputExists

    paths = []
    for frame in frames:
        for _ in range(_NAME_RETRIES):
            path = out_dir / f"{_next_stems(out_dir, 1)[0]}.dng"
            try:
                paths.append(write(frame, path))
                break
            except OutputExists:
                continue
        else:
            raise OutputExists(f"no free file name in {out_dir} after {_NAME_RETRIES} tries")
    return paths


def _believed_lens(camera, module: str, meta):
    """The lens profile and ring settings the body believes in (for the DNG's lens EXIF and
    corrections): the fixed lens, or the M mount's identification (None when detection is
    off); the f-number it read or estimated (0: not known), the focus it set."""
    from mountcam.optics.lens import LensState

    if module == "m":
        profile = camera.mount.require_identified().profile
    else:
        profile = camera.module(module).fixed_lens
    if profile is None:
        return None, None
    focal = meta.focal_mm if profile.focal_settings_mm or profile.focal_range_mm else None
    state = LensState(meta.f_number or 0.0, meta.extra.get("focus_m", math.inf), focal)
    return profile, state


def _mount_lens(camera, module: str, lens, code, detection: str, manual) -> None:
    """Put the requested lens on the requested module, as a photographer would."""
    from mountcam.errors import InvalidSetting

    def find_lens(name: str):
        from mountcam.optics.lens_catalogue import find_lens

        return find_lens(name)

    camera.module(module)
    if module != "m":
        if lens is not None and find_lens(lens).id != camera.module(module).fixed_lens.id:
            raise InvalidSetting(
                f"the {module} module has a fixed lens; --lens works with --module m"
            )
        if code is not None or manual is not None or detection != "auto":
            raise InvalidSetting(
                "--lens-code, --manual-lens and --lens-detection are for --module m"
            )
        return
    if lens is not None:
        camera.mount.attach(find_lens(lens), code_read=code)
    elif code is not None:
        raise InvalidSetting("--lens-code needs a lens on the mount (--lens ID)")
    camera.mount.set_detection(detection)
    if manual is not None:
        camera.mount.choose_manually(find_lens(manual))


@app.command()
def shoot(
    scene: Annotated[str, typer.Option(help="chart:NAME, sample:NAME, or an image file.")],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the DNG files (created if missing).")
    ],
    depth: Annotated[
        Path | None, typer.Option(help="Depth map in metres (.npy, or 16-bit PNG in mm).")
    ] = None,
    scene_hfov: Annotated[
        float | None, typer.Option(help="Horizontal field of view of the scene, degrees.")
    ] = None,
    illuminant: Annotated[
        str, typer.Option(help="D65, A, D50, FL2, … or a temperature like 2800K.")
    ] = "D65",
    luminance: Annotated[
        float | None, typer.Option(help="Luminance of a reflectance-1 white, cd/m².")
    ] = None,
    reflectance: Annotated[float, typer.Option(help="Reflectance of chart:flat.")] = 1.0,
    module: Annotated[str, typer.Option(help="main (8.7 mm f/1.9) or m (Leica M mount).")] = "main",
    lens: Annotated[
        str | None,
        typer.Option(help="Lens to attach to the M mount: id or name (`mountcam lenses`)."),
    ] = None,
    lens_code: Annotated[
        int | None,
        typer.Option(help="The 6-bit code the body reads (default: the lens's own; 0 = uncoded)."),
    ] = None,
    lens_detection: Annotated[
        str, typer.Option(help="The body's lens detection: auto, manual or off.")
    ] = "auto",
    manual_lens: Annotated[
        str | None, typer.Option(help="Lens chosen in the lens-detection menu (uncoded lenses).")
    ] = None,
    aperture: Annotated[
        float | None, typer.Option(help="Aperture ring setting, f-number (default: wide open).")
    ] = None,
    focus: Annotated[
        float | None, typer.Option(help="Focus ring setting, metres (default: infinity).")
    ] = None,
    focal: Annotated[
        float | None, typer.Option(help="Focal ring of a Tri-Elmar, mm (e.g. 16, 18 or 21).")
    ] = None,
    shutter: Annotated[
        str | None, typer.Option(help="Exposure time: 1/250, 0.5, 2. Metered if unset.")
    ] = None,
    iso: Annotated[float | None, typer.Option(help="ISO 100-25600. Metered if unset.")] = None,
    ev: Annotated[
        float, typer.Option(help="Exposure compensation for metered exposure, EV (-5 to +5).")
    ] = 0.0,
    mode: Annotated[str, typer.Option(help="binned (4096x3072) or full (8192x6144).")] = "binned",
    bits: Annotated[int, typer.Option(help="ADC depth: 10, 12 or 14.")] = 12,
    crop: Annotated[
        str | None, typer.Option(help="Simulate only a centred WxH window (output pixels).")
    ] = None,
    count: Annotated[
        int, typer.Option(help="Frames with the same settings and independent noise.")
    ] = 1,
    seed: Annotated[
        int | None, typer.Option(help="Noise seed; the same seed gives the same frame.")
    ] = None,
    truth: Annotated[
        bool, typer.Option("--truth", help="Also write the noise-free image (float TIFF).")
    ] = False,
    artist: Annotated[
        str | None,
        typer.Option(help="EXIF Artist (default: owner.artist of the settings file; '' = none)."),
    ] = None,
    copyright_: Annotated[
        str | None,
        typer.Option(
            "--copyright",
            help="EXIF Copyright (default: owner.copyright of the settings file; '' = none).",
        ),
    ] = None,
    lens_corrections: Annotated[
        bool,
        typer.Option(help="Write the lens's vignetting/distortion corrections (OpcodeList3)."),
    ] = True,
    compress: Annotated[
        str,
        typer.Option(help="Raw image: none (uncompressed) or ljpeg (lossless JPEG tiles)."),
    ] = "none",
    jpeg: Annotated[
        bool, typer.Option("--jpeg", help="Also develop each DNG into a JPEG beside it.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Take a picture with the simulated camera and write DNG files.

    Artist and copyright come from --artist/--copyright or the settings file
    $XDG_CONFIG_HOME/mountcam/config.toml ([owner] artist = "...", copyright = "...").
    """
    from mountcam.body.camera import Camera, CaptureRequest
    from mountcam.dng import DEMOSAIC_MARGIN_PX, write_dng
    from mountcam.scene import load_scene

    try:
        if compress not in ("none", "ljpeg"):
            from mountcam.errors import InvalidSetting

            raise InvalidSetting(f"--compress must be none or ljpeg, got {compress!r}")
        request = CaptureRequest(
            module=module,
            mode=mode,
            bits=bits,
            exposure_s=parse_shutter_s(shutter) if shutter is not None else None,
            iso=iso,
            crop=parse_crop(crop) if crop is not None else None,
            count=count,
            seed=seed,
            truth=truth,
            f_number=aperture,
            exposure_compensation_ev=ev,
            focus_m=math.inf if focus is None else focus,
            focal_mm=focal,
        )
        camera = Camera()
        _mount_lens(camera, module, lens, lens_code, lens_detection, manual_lens)
        camera.module(module).require_lens()
        the_scene = load_scene(
            scene,
            illuminant=illuminant,
            luminance_cd_m2=luminance,
            reflectance=reflectance,
            hfov_deg=scene_hfov,
            depth_path=str(depth) if depth is not None else None,
        )
        if out_dir.exists() and not out_dir.is_dir():
            raise UnreadableFile(f"--out {out_dir} is a file, not a folder")
        from mountcam.app.config import resolve_owner

        owner = resolve_owner(artist, copyright_)
        frames = camera.capture(the_scene, request)
        lens_profile, lens_state = _believed_lens(camera, module, frames[0].metadata)
    except MountcamError as e:
        _fail(e)

    out_dir.mkdir(parents=True, exist_ok=True)
    calibration = _calibration("imx989")
    files: list[str] = []
    jpegs: list[str] = []
    truth_path: Path | None = None
    try:
        written = _write_numbered(
            out_dir,
            frames,
            lambda frame, path: write_dng(
                frame,
                path,
                calibration=calibration,
                lens_profile=lens_profile,
                lens_state=lens_state,
                lens_corrections=lens_corrections,
                artist=owner.artist,
                copyright=owner.copyright,
                compression=compress,
            ),
        )
        files = [str(p) for p in written]
        if truth:
            m = DEMOSAIC_MARGIN_PX
            truth_path = out_dir / f"{written[0].stem}_truth.tif"
            _write_truth(truth_path, frames[0].truth[m:-m, m:-m])
        if jpeg:
            from mountcam.app.develop_cli import jpeg_beside

            jpegs = [str(jpeg_beside(p)) for p in written]
    except MountcamError as e:
        _fail(e)

    meta = frames[0].metadata
    settings = {
        "module": meta.module,
        "lens": meta.lens_name,
        "focal_mm": meta.focal_mm,
        "f_number": meta.f_number or None,
        "lens_detection": meta.extra.get("lens_detection"),
        "simulated_lens": meta.extra.get("simulated_lens"),
        "mode": meta.mode,
        "bits": meta.bits,
        "exposure_s": meta.exposure_s,
        "iso": meta.iso,
        "analog_gain": meta.analog_gain,
        "digital_gain": meta.digital_gain,
        "metered": meta.extra["metered"],
        "seed": meta.seed,
        "count": len(frames),
        "width": frames[0].width,
        "height": frames[0].height,
        "window_origin": list(meta.window_origin),
        "scene": meta.scene,
        "illuminant": meta.illuminant,
        "luminance_cd_m2": meta.extra["luminance_cd_m2"],
        "temperature_c": meta.temperature_c,
        "black_level_dn": frames[0].black_level_dn[0],
        "white_level_dn": frames[0].white_level_dn,
        "as_shot_neutral": list(meta.as_shot_neutral),
    }
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "files": files,
                    "truth": str(truth_path) if truth_path else None,
                    "settings": settings,
                }
                | ({"jpegs": jpegs} if jpeg else {})
            )
            + "\n"
        )
        return
    _print_summary(frames, files + jpegs, truth_path)


def _print_summary(frames, files: list[str], truth_path: Path | None) -> None:
    meta = frames[0].metadata
    f = frames[0]
    # EV100 needs the f-number, which an M body cannot read (until it is estimated).
    ev100 = (
        f"EV100 {math.log2(meta.f_number**2 / meta.exposure_s) - math.log2(meta.iso / 100.0):.1f}, "
        if meta.f_number
        else ""
    )
    t = Table(title=f"mountcam · {meta.module} module · {meta.scene}", show_header=False, box=None)
    t.add_column(style="bold")
    t.add_column()
    lens_text = meta.lens_name or "unidentified lens"
    estimate = meta.extra.get("f_number_estimate")
    if estimate:
        lens_text += f"  f/{meta.f_number:.2g} estimated (±{estimate['sigma_stops']:.1f} stop)"
    elif meta.f_number:
        lens_text += f"  f/{meta.f_number:g}"
    else:
        lens_text += "  (aperture ring: not readable)"
    detection = meta.extra.get("lens_detection")
    if detection:
        state = {
            "coded": f"coded lens (code {detection['code_read']})",
            "uncoded": "uncoded lens",
            "unknown-code": f"unknown code {detection['code_read']}",
            "off": "lens detection off",
        }[detection["detection_state"]]
        how = detection["identified_by"]
        lens_text += f"\n{state}, " + (f"identified by {how}" if how else "no lens data recorded")
    t.add_row("lens", lens_text)
    t.add_row(
        "exposure",
        f"{format_shutter(meta.exposure_s)} s  ISO {meta.iso:g}  "
        f"({ev100}{'metered, average' if meta.extra['metered'] else 'manual'})",
    )
    t.add_row("gain", f"analog {meta.analog_gain:.2f}x  digital {meta.digital_gain:.2f}x")
    t.add_row(
        "sensor",
        f"{meta.sensor} {meta.mode} {f.width}x{f.height}  {meta.bits}-bit  {meta.temperature_c:g} °C",
    )
    t.add_row("levels", f"black {f.black_level_dn[0]:g} DN, white {f.white_level_dn} DN")
    t.add_row("seed", str(meta.seed))
    t.add_row("light", f"{meta.illuminant}, white {meta.extra['luminance_cd_m2']:g} cd/m²")
    mos = f.mosaic
    pat = f.cfa_pattern
    for ch in "RGB":
        sites = [(i // 2, i % 2) for i, c in enumerate(pat) if c == ch]
        vals = np.concatenate([mos[r::2, c::2].ravel() for r, c in sites])
        clipped = 100.0 * np.count_nonzero(vals >= f.white_level_dn) / vals.size
        t.add_row(
            f"DN {ch}",
            f"mean {vals.mean():7.1f}  min {vals.min():5d}  max {vals.max():5d}  "
            f"clipped {clipped:5.2f} %",
        )
    for p in files:
        t.add_row("file", p)
    if truth_path:
        t.add_row("truth", str(truth_path))
    out.print(t)


@sensors_app.command("show")
def sensors_show(
    name: Annotated[str, typer.Argument(help="Preset name, e.g. imx989.")],
    iso: Annotated[float, typer.Option(help="ISO setting.")] = 100.0,
    mode: Annotated[str, typer.Option(help="binned or full.")] = "binned",
    bits: Annotated[int, typer.Option(help="10, 12 or 14.")] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON.")] = False,
) -> None:
    """The preset's figures at one ISO, mode and bit depth (per output pixel)."""
    from mountcam.sensor.model import SensorSettings, load_sensor

    try:
        model = load_sensor(name)
        op = model.operating_point(SensorSettings(mode=mode, bits=bits, iso=iso))
    except MountcamError as e:
        _fail(e)
    figures = op.as_dict() | {"sensor": model.name}
    if as_json:
        sys.stdout.write(json.dumps(figures) + "\n")
        return
    t = Table(title=f"{model.name} at ISO {iso:g}, {mode}, {bits}-bit", show_header=False, box=None)
    for k, v in figures.items():
        t.add_row(k, f"{v:.6g}" if isinstance(v, float) else str(v))
    out.print(t)


@sensors_app.command("list")
def sensors_list() -> None:
    """Sensor presets shipped with mountcam."""
    from importlib import resources

    folder = resources.files("mountcam.data") / "sensors"
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        if p.name.endswith(".toml"):
            out.print(p.name.removesuffix(".toml"))


@scenes_app.command("list")
def scenes_list() -> None:
    """Charts and samples that --scene accepts (besides image files)."""
    from mountcam.scene import list_scenes

    for name in list_scenes():
        out.print(name)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(f"mountcam {__version__}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
