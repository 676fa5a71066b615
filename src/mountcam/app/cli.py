"""The ``mountcam`` command.

Bad requests exit with status 2 and a line or two a photographer understands; nothing is left
in ``--out`` when a request is refused. ``--json`` output is the only thing on stdout.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mountcam import __version__
from mountcam.app.dataset_cli import dataset_app
from mountcam.app.develop_cli import develop_command
from mountcam.app.inspect_cli import inspect_command
from mountcam.app.json_values import json_safe
from mountcam.app.lenses_cli import lenses_app
from mountcam.app.quiet import silence_third_party
from mountcam.app.web.serve_cli import serve_command
from mountcam.atomic_file import check_free_space, check_writable_folder
from mountcam.errors import CannotWrite, InvalidSetting, MountcamError, UnreadableFile
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
app.add_typer(dataset_app, name="dataset")
app.command("develop")(develop_command)
app.command("inspect")(inspect_command)
app.command("serve")(serve_command)

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


@app.callback()
def _every_command() -> None:
    # Runs before any command: stderr is for mountcam's own lines (mountcam.app.quiet).
    silence_third_party()


def _fail(error: Exception) -> None:
    """Print the library's message, with the flags that fix it, and exit 2."""
    from mountcam.errors import LensNotIdentified, NoLensAttached

    hint = ""
    if isinstance(error, NoLensAttached):
        hint = " (--lens ID, see `mountcam lenses`; or --module main)"
    elif isinstance(error, LensNotIdentified):
        hint = " (--manual-lens ID, see `mountcam lenses`; or --lens-detection off)"
    err.print(f"[bold red]error:[/] {error}{hint}", soft_wrap=True)
    raise typer.Exit(2)


# Option types of ``shoot`` (one line each in its signature).
_Opt = typer.Option
_SceneOpt = Annotated[
    str, _Opt("--scene", help="chart:NAME, set:NAME, sample:NAME, or an image file.")
]
_OutOpt = Annotated[Path, _Opt("--out", help="Folder for the DNG files (created if missing).")]
_DepthOpt = Annotated[Path | None, _Opt(help="Depth map in metres (.npy, or 16-bit PNG in mm).")]
_HfovOpt = Annotated[float | None, _Opt(help="Horizontal field of view of the scene, degrees.")]
_LightOpt = Annotated[
    str, _Opt(help="D65, A, FL2, …, tungsten, daylight, cloudy, shade, fluorescent, or 2800K.")
]
_LumOpt = Annotated[float | None, _Opt(help="Luminance of a reflectance-1 white, cd/m².")]
_ReflOpt = Annotated[float, _Opt(help="Reflectance of chart:flat.")]
_ModuleOpt = Annotated[str, _Opt(help="main (8.7 mm f/1.9) or m (Leica M mount).")]
_LensOpt = Annotated[str | None, _Opt(help="Lens to attach to the M mount: id or name.")]
_CodeOpt = Annotated[int | None, _Opt(help="The 6-bit code the body reads (0 = uncoded).")]
_DetectOpt = Annotated[str, _Opt(help="The body's lens detection: auto, manual or off.")]
_ManualOpt = Annotated[str | None, _Opt(help="Lens chosen in lens detection (uncoded lenses).")]
_ApertureOpt = Annotated[float | None, _Opt(help="Aperture ring, f-number (default: wide open).")]
_FocusOpt = Annotated[
    float | None,
    _Opt(help="Focus distance, metres: an M lens's ring (default ∞), or manual focus (main)."),
]
_ViewFocusOpt = Annotated[
    float | None, _Opt("--focus", help="Focus distance, metres: the ring or the motor (default ∞).")
]
_AfOpt = Annotated[
    bool | None,
    _Opt("--af/--no-af", help="Autofocus the main module first (default: on, unless --focus)."),
]
_AfPointOpt = Annotated[
    str | None,
    _Opt(help="Where to autofocus: X,Y as fractions of the field (default 0.5,0.5, the centre)."),
]
_FocalOpt = Annotated[float | None, _Opt(help="Focal ring of a Tri-Elmar, mm (e.g. 16, 18, 21).")]
_ShutterOpt = Annotated[str | None, _Opt(help="Exposure time: 1/250, 0.5, 2. Metered if unset.")]
_IsoOpt = Annotated[float | None, _Opt(help="ISO 100-25600. Metered if unset.")]
_EvOpt = Annotated[float, _Opt(help="Exposure compensation, EV (-5 to +5).")]
_ProgramOpt = Annotated[str | None, _Opt(help="P, A, S or M (default: from --shutter/--iso).")]
_MeterOpt = Annotated[str, _Opt(help="matrix, centre, spot, highlight or average.")]
_WbOpt = Annotated[
    str,
    _Opt(
        help="auto, daylight, cloudy, shade, tungsten, fluorescent, "
        "flash, or kelvin (5600 or 5600K)."
    ),
]
_AeLockOpt = Annotated[Path | None, _Opt(help="Reuse the shutter and ISO of this earlier DNG.")]
_ModeOpt = Annotated[str, _Opt(help="binned (4096x3072) or full (8192x6144).")]
_CfaOpt = Annotated[
    str,
    _Opt(
        help="Photodiode colour filter: quad (the IMX989's Quad Bayer, remosaicked on the chip "
        "in full mode) or bayer (an ideal Bayer sensor of the same 1.6 µm pitch, --mode full "
        "only; the reference for the remosaic)."
    ),
]
_BitsOpt = Annotated[int, _Opt(help="ADC depth: 10, 12 or 14.")]
_CropOpt = Annotated[str | None, _Opt(help="Simulate only a centred WxH window (output pixels).")]
_CountOpt = Annotated[int, _Opt(help="Frames (or --interval shots), independent noise.")]
_BracketOpt = Annotated[str | None, _Opt(help="Exposure bracket N:STEP (3-9 frames, EV).")]
_BurstOpt = Annotated[int | None, _Opt(help="Burst of N frames (written all or none).")]
_TimerOpt = Annotated[float, _Opt(help="Self-timer delay before the first frame, s (0-30).")]
_IntervalOpt = Annotated[float | None, _Opt(help="Interval shooting: seconds between shots.")]
_SeedOpt = Annotated[int | None, _Opt(help="Noise seed; the same seed gives the same frame.")]
_TruthOpt = Annotated[bool, _Opt("--truth", help="Also write the noise-free image (float TIFF).")]
_ArtistOpt = Annotated[str | None, _Opt(help="EXIF Artist (default: the settings file's).")]
_CopyOpt = Annotated[str | None, _Opt("--copyright", help="EXIF Copyright (default: file's).")]
_CorrOpt = Annotated[bool, _Opt(help="Write the lens's corrections (OpcodeList3).")]
_CompressOpt = Annotated[str, _Opt(help="Raw image: none or ljpeg (lossless JPEG tiles).")]
_JpegOpt = Annotated[bool, _Opt("--jpeg", help="Also develop each DNG into a JPEG beside it.")]
_JsonOpt = Annotated[bool, _Opt("--json", help="Print only JSON on stdout.")]


@app.command()
def shoot(
    scene: _SceneOpt,
    out_dir: _OutOpt,
    depth: _DepthOpt = None,
    scene_hfov: _HfovOpt = None,
    illuminant: _LightOpt = "D65",
    luminance: _LumOpt = None,
    reflectance: _ReflOpt = 1.0,
    module: _ModuleOpt = "main",
    lens: _LensOpt = None,
    lens_code: _CodeOpt = None,
    lens_detection: _DetectOpt = "auto",
    manual_lens: _ManualOpt = None,
    aperture: _ApertureOpt = None,
    focus: _FocusOpt = None,
    af: _AfOpt = None,
    af_point: _AfPointOpt = None,
    focal: _FocalOpt = None,
    shutter: _ShutterOpt = None,
    iso: _IsoOpt = None,
    ev: _EvOpt = 0.0,
    program: _ProgramOpt = None,
    metering: _MeterOpt = "matrix",
    wb: _WbOpt = "auto",
    ae_lock: _AeLockOpt = None,
    mode: _ModeOpt = "binned",
    cfa: _CfaOpt = "quad",
    bits: _BitsOpt = 12,
    crop: _CropOpt = None,
    count: _CountOpt = 1,
    bracket: _BracketOpt = None,
    burst: _BurstOpt = None,
    timer: _TimerOpt = 0.0,
    interval: _IntervalOpt = None,
    seed: _SeedOpt = None,
    truth: _TruthOpt = False,
    artist: _ArtistOpt = None,
    copyright_: _CopyOpt = None,
    lens_corrections: _CorrOpt = True,
    compress: _CompressOpt = "none",
    jpeg: _JpegOpt = False,
    as_json: _JsonOpt = False,
) -> None:
    """Take a picture with the simulated camera and write DNG files.

    Artist and copyright come from --artist/--copyright or the settings file
    $XDG_CONFIG_HOME/mountcam/config.toml ([owner] artist = "...", copyright = "...").
    """
    from mountcam.app.config import resolve_owner
    from mountcam.body import drive as drives
    from mountcam.body.backend import SimulatedBackend
    from mountcam.body.camera import Camera
    from mountcam.dng.writer import dng_bytes_upper_bound
    from mountcam.scene import load_scene
    from mountcam.sensor.exposure_check import exposure_warning

    try:
        if compress not in ("none", "ljpeg"):
            raise InvalidSetting(f"--compress must be none or ljpeg, got {compress!r}")
        check_writable_folder(out_dir)  # before any work that would end in no file
        the_drive = _drive(count, bracket, burst, timer, interval)
        t = parse_shutter_s(shutter) if shutter is not None else None
        if ae_lock is not None:
            t, iso = _exposure_of(ae_lock, shutter, iso)
        focusing = _focusing(af, af_point, module, focus)
        controls = _controls(program, t, iso, ev, metering, wb, focusing)
        the_scene = load_scene(
            scene,
            illuminant=illuminant,
            luminance_cd_m2=luminance,
            reflectance=reflectance,
            hfov_deg=scene_hfov,
            depth_path=str(depth) if depth is not None else None,
        )
        camera = Camera(SimulatedBackend(the_scene, seed=seed, truth_image=truth, sensor_cfa=cfa))
        _mount_lens(camera, module, lens, lens_code, lens_detection, manual_lens)
        camera.configure(module=module, mode=mode, bits=bits, crop=_crop(crop))
        camera.set_lens(f_number=aperture, focus_m=focus, focal_mm=focal)
        _declare_rings(camera, module, focal, focus)
        camera.set_controls(controls)
        camera.start()
        width, height = _crop(crop) or camera.module(module).sensor.output_size(mode)
        per_frame = dng_bytes_upper_bound(width, height, compress) + (width * height if jpeg else 0)
        frames_asked = the_drive.count
        check_free_space(
            out_dir, frames_asked * per_frame, f"{frames_asked} frame" + "s" * (frames_asked > 1)
        )
        owner = resolve_owner(artist, copyright_)
        # Each frame is written as it is made and only its metadata kept (and the first frame,
        # for the summary): a long series holds one frame in memory.
        first, metas, files = None, [], []
        for frame, path in drives.shots(
            camera,
            the_drive,
            out_dir,
            lens_corrections=lens_corrections,
            artist=owner.artist,
            copyright=owner.copyright,
            compression=compress,
        ):
            first = first or frame
            metas.append(frame.metadata)
            files.append(path)
        truth_path = _save_truth(camera, first, files[0]) if truth else None
        jpegs = [str(_jpeg_beside(p)) for p in files] if jpeg else []
    except MountcamError as e:
        _fail(e)
    except OSError as e:  # e.g. the disk filled up during a long series
        _fail(CannotWrite(f"cannot write in {out_dir} ({e.strerror or e})"))
    problem = exposure_warning(first)
    if problem:
        err.print(f"[bold yellow]warning:[/] {problem}", soft_wrap=True)
    settings = _settings(first, metas, camera.truth(first))
    if as_json:
        doc = {"files": [str(p) for p in files], "truth": truth_path, "settings": settings}
        sys.stdout.write(json.dumps(doc | ({"jpegs": jpegs} if jpeg else {})) + "\n")
        return
    believed, _ = camera.believed_lens(camera.module(module))
    several = believed is not None and (believed.focal_settings_mm or believed.focal_range_mm)
    _print_summary(first, [str(p) for p in files] + jpegs, truth_path, settings, several)


def _drive(count: int, bracket: str | None, burst: int | None, timer: float, interval):
    """The drive mode the flags ask for (one of --bracket, --burst, --interval)."""
    from mountcam.body.drive import Drive, parse_bracket

    chosen = [
        name
        for name, v in (("--bracket", bracket), ("--burst", burst), ("--interval", interval))
        if v is not None
    ]
    if len(chosen) > 1:
        raise InvalidSetting(f"choose one drive mode: {' or '.join(chosen)}")
    try:
        if bracket is not None:
            n, step = parse_bracket(bracket)
            return Drive("bracket", count=n, step_ev=step, timer_s=timer)
        if burst is not None:
            return Drive("burst", count=burst, timer_s=timer)
        if interval is not None:
            return Drive("interval", count=count, interval_s=interval, timer_s=timer)
        return Drive("single", count=count, timer_s=timer)
    except MountcamError as e:
        flag = chosen[0] if chosen else ("--timer" if "timer" in str(e) else "--count")
        raise InvalidSetting(f"{flag}: {e}") from None


def _focusing(af: bool | None, point: str | None, module: str, focus: float | None) -> dict:
    """The focus mode and AF point --af/--no-af, --af-point and --focus ask for: the main
    module autofocuses unless told a distance; an M lens is focused by its ring."""
    from mountcam.body.settings import check_af_point

    flag = "--af-point" if point is not None else "--af"
    asked = af or point is not None
    if asked and module == "m":
        raise InvalidSetting(
            f"{flag}: autofocus works on the main module; an M lens focuses by its ring"
        )
    if asked and focus is not None:
        raise InvalidSetting(f"{flag} or --focus: autofocus, or focus at the distance given")
    if point is not None and af is False:
        raise InvalidSetting("--af-point is where to autofocus; it does not go with --no-af")
    auto = module == "main" and af is not False and focus is None
    xy = None
    if point is not None:
        try:
            xy = check_af_point(point.replace(" ", "").split(","))
        except InvalidSetting as e:
            raise InvalidSetting(f"--af-point {point}: {e}") from None
    return {"focus_mode": "auto" if auto else "manual", "af_point": xy}


def _controls(program, exposure_s, iso, ev, metering, wb, focusing=None):
    """The shot's Controls from the flags; a bad value names its flag and the valid ones."""
    from mountcam.body.settings import METERING_MODES, PROGRAMS, Controls, WhiteBalance

    if program is not None and program.upper() not in PROGRAMS:
        raise InvalidSetting(f"--program {program}: use P, A, S or M")
    if metering not in METERING_MODES:
        raise InvalidSetting(f"--metering {metering}: use {', '.join(METERING_MODES)}")
    try:
        balance = WhiteBalance.parse(wb)
    except InvalidSetting as e:
        raise InvalidSetting(f"--wb: {e}") from None
    others = {"ev": ev, "metering": metering, "white_balance": balance, **(focusing or {})}
    if program is None:
        return Controls.for_exposure(exposure_s, iso, **others)
    return Controls(program=program.upper(), exposure_s=exposure_s, iso=iso, **others)


def _mount_lens(camera, module: str, lens, code, detection: str, manual) -> None:
    """Put the requested lens on the requested module, as a photographer would."""
    from mountcam.optics.lens_catalogue import find_lens

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
        camera.attach_lens(lens, code_read=code)
    elif code is not None:
        raise InvalidSetting("--lens-code needs a lens on the mount (--lens ID)")
    camera.set_lens_detection(detection, find_lens(manual) if manual is not None else None)


def _declare_rings(camera, module: str, focal, focus) -> None:
    """What the M body cannot read, the photographer tells it: --focal on a zoom without
    frame-selector coding (uncoded, adapted), --focus from the focus ring's scale."""
    if module != "m":
        return
    believed, ident = camera.believed_lens()
    zoom = believed is not None and (believed.focal_settings_mm or believed.focal_range_mm)
    if focal is not None and not (zoom and ident.method != "code"):
        focal = None
    if focal is not None or focus is not None:
        camera.declare_lens(focal_mm=focal, focus_m=focus)


def _exposure_of(path: Path, shutter, iso) -> tuple[float, float]:
    """--ae-lock: the shutter and ISO of an earlier DNG (refused together with either flag)."""
    from mountcam.dng import read_dng

    if shutter is not None or iso is not None:
        raise InvalidSetting(
            "--ae-lock reuses an earlier shot's shutter and ISO; drop --shutter/--iso"
        )
    info = read_dng(path)
    if info.exposure_s is None or not info.iso:
        raise UnreadableFile(f"--ae-lock {path}: the file records no shutter speed and ISO")
    return info.exposure_s, float(info.iso)


def _crop(text: str | None):
    return parse_crop(text) if text is not None else None


def _save_truth(camera, frame, dng: Path) -> str:
    from mountcam.body.backend import write_truth_tiff
    from mountcam.dng import DEMOSAIC_MARGIN_PX as m

    path = dng.with_name(f"{dng.stem}_truth.tif")
    write_truth_tiff(path, camera.truth(frame).image[m:-m, m:-m])
    return str(path)


def _jpeg_beside(path: Path) -> Path:
    from mountcam.app.develop_cli import jpeg_beside

    return jpeg_beside(path)


def _settings(f, metas, truth) -> dict:
    """The ``settings`` object of ``shoot --json``: what the body decided and believed, and
    (kept apart in the file's terms: scene, illuminant, simulated_lens) what the twin knew.
    ``f``: the first frame; ``metas``: every frame's metadata."""
    meta = f.metadata
    return {
        "module": meta.module,
        "lens": meta.lens_name,
        "focal_mm": meta.focal_mm,
        "f_number": meta.f_number or None,
        # The focus the body set or read; JSON has no infinity: null is infinity or not known.
        "focus_m": meta.focus_m
        if meta.focus_m is not None and math.isfinite(meta.focus_m)
        else None,
        "autofocus": json_safe(meta.extra.get("autofocus")),
        "lens_detection": meta.extra.get("lens_detection"),
        "simulated_lens": {"id": truth.lens_id, "f_number": truth.f_number} if truth else None,
        "mode": meta.mode,
        "cfa": meta.extra.get("sensor_cfa", "quad"),
        "bits": meta.bits,
        "exposure_s": meta.exposure_s,
        "iso": meta.iso,
        "analog_gain": meta.analog_gain,
        "digital_gain": meta.digital_gain,
        "metered": meta.metered,
        "exposure_program": meta.exposure_program,
        "metering_mode": meta.metering_mode,
        "white_balance": meta.extra.get("white_balance_setting"),
        "exposure_bias_ev": [m.exposure_bias_ev for m in metas],
        "exposure_compensation_ev": meta.exposure_bias_ev,
        "seed": meta.seed,
        "count": len(metas),
        "width": f.width,
        "height": f.height,
        "window_origin": list(meta.window_origin),
        "scene": truth.scene if truth else None,
        "scene_info": truth.scene_info if truth else None,
        "illuminant": truth.illuminant if truth else None,
        "luminance_cd_m2": truth.luminance_cd_m2 if truth else None,
        "temperature_c": meta.temperature_c,
        "black_level_dn": f.black_level_dn[0],
        "white_level_dn": f.white_level_dn,
        "as_shot_neutral": list(meta.as_shot_neutral),
        "true_neutral": list(truth.camera_neutral) if truth else None,
    }


def _metres(v: float) -> str:
    return f"{v:.3g} m" if math.isfinite(v) else "infinity"


def _focus_text(focus_m: float, autofocus: dict | None) -> str:
    """The summary's focus line: where the lens is and, after autofocus, what it found."""
    text = _metres(focus_m)
    if autofocus is None:
        return text
    frames = f"autofocus, {autofocus['frames']} frames"
    if autofocus["in_focus"]:
        near, far = autofocus["dof_m"]
        return f"{text}  ({frames}; in focus, depth of field {_metres(near)} to {_metres(far)})"
    return f"{text}  ({frames}; not in focus: {autofocus['reason']})"


def _print_summary(f, files: list[str], truth_path, settings: dict, focal_ring=False) -> None:
    """The table ``shoot`` prints; ``focal_ring``: the lens has several focal lengths (a
    Tri-Elmar, a zoom), so the one set is shown."""
    meta = f.metadata
    # EV100 needs the f-number, which an M body cannot read (until it is estimated).
    ev100 = (
        f"EV100 {math.log2(meta.f_number**2 / meta.exposure_s) - math.log2(meta.iso / 100.0):.1f}, "
        if meta.f_number
        else ""
    )
    title = f"mountcam · {meta.module} module · {settings['scene']}"
    t = Table(title=title, show_header=False, box=None)
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
    if focal_ring:
        lens_text += f"  set to {meta.focal_mm:g} mm"
    t.add_row("lens", lens_text)
    if meta.focus_m is not None:
        t.add_row("focus", _focus_text(meta.focus_m, meta.extra.get("autofocus")))
    bias = f", {meta.exposure_bias_ev:+g} EV" if meta.exposure_bias_ev else ""
    t.add_row(
        "exposure",
        f"{format_shutter(meta.exposure_s)} s  ISO {meta.iso:g}  "
        f"({ev100}{meta.exposure_program}, {meta.metering_mode} metering{bias})",
    )
    t.add_row("gain", f"analog {meta.analog_gain:.2f}x  digital {meta.digital_gain:.2f}x")
    t.add_row(
        "sensor",
        f"{meta.sensor} {meta.mode} {f.width}x{f.height}  {meta.bits}-bit  {meta.temperature_c:g} °C",
    )
    t.add_row("levels", f"black {f.black_level_dn[0]:g} DN, white {f.white_level_dn} DN")
    t.add_row("seed", str(meta.seed))
    t.add_row(
        "white balance",
        f"{settings['white_balance']}, neutral "
        + " ".join(f"{v:.3f}" for v in meta.as_shot_neutral),
    )
    t.add_row(
        "light (twin)", f"{settings['illuminant']}, white {settings['luminance_cd_m2']:g} cd/m²"
    )
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
def scenes_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Charts, procedural sets and samples that --scene accepts (besides image files): what
    each is, its size, its field of view and its depth range."""
    from mountcam.scene.scene_catalogue import describe_scenes

    rows = describe_scenes()
    keys = ("name", "description", "size", "field_of_view", "depth")
    if as_json:
        sys.stdout.write(json.dumps([dict(zip(keys, r, strict=True)) for r in rows]) + "\n")
        return
    t = Table(box=None)
    for column in ("scene", "what", "size", "field of view", "depth"):
        t.add_column(column, overflow="fold")
    for row in rows:
        t.add_row(*(escape(v) for v in row))
    out.print(t)


_AssistOpt = Annotated[
    str,
    _Opt(
        help="Aids, comma-separated: histogram, raw-histogram, zebra, peaking, waveform, clipping."
    ),
]


@app.command()
def liveview(
    scene: _SceneOpt,
    depth: _DepthOpt = None,
    scene_hfov: _HfovOpt = None,
    illuminant: _LightOpt = "D65",
    luminance: _LumOpt = None,
    module: _ModuleOpt = "main",
    lens: _LensOpt = None,
    aperture: _ApertureOpt = None,
    focus: _ViewFocusOpt = None,
    shutter: _ShutterOpt = None,
    iso: _IsoOpt = None,
    ev: _EvOpt = 0.0,
    metering: _MeterOpt = "matrix",
    wb: _WbOpt = "auto",
    frames: Annotated[int, _Opt(min=1, max=100_000, help="Frames to run for.")] = 300,
    size: Annotated[str, _Opt(help="Preview size WxH (the display's pixels).")] = "1024x768",
    fps: Annotated[float | None, _Opt(help="Frame-rate cap (default: as fast as it runs).")] = None,
    assists: _AssistOpt = "histogram",
    zebra_over: Annotated[float, _Opt(help="Zebra above this luma, 0-255.")] = 245.0,
    peaking_colour: Annotated[str, _Opt(help="red, yellow, green, blue or white.")] = "red",
    save: Annotated[Path | None, _Opt(help="Folder for composited frames (PNG).")] = None,
    save_every: Annotated[int, _Opt(min=1, help="With --save: every k-th frame.")] = 30,
    magnify: Annotated[
        str | None, _Opt(help="With --save: also the magnifier at X,Y (fractions, e.g. 0.5,0.5).")
    ] = None,
    magnify_zoom: Annotated[int, _Opt(min=1, max=2, help="Magnifier 1:1 or 2:1.")] = 1,
    seed: _SeedOpt = None,
    as_json: _JsonOpt = False,
) -> None:
    """Run the live view headless: preview frames developed for the screen with the aids;
    reports the frame rate and each stage's time."""
    import time

    from mountcam.app.liveview import LiveView, LiveViewSettings
    from mountcam.body.backend import SimulatedBackend
    from mountcam.body.camera import Camera
    from mountcam.scene import load_scene

    try:
        settings = LiveViewSettings.parse_assists(
            assists, zebra_over=zebra_over, peaking_colour=peaking_colour
        )
        t = parse_shutter_s(shutter) if shutter is not None else None
        controls = _controls(None, t, iso, ev, metering, wb)
        preview_size = parse_crop(size)
        the_scene = load_scene(
            scene,
            illuminant=illuminant,
            luminance_cd_m2=luminance,
            hfov_deg=scene_hfov,
            depth_path=str(depth) if depth is not None else None,
        )
        camera = Camera(SimulatedBackend(the_scene, seed=seed))
        _mount_lens(camera, module, lens, None, "auto", None)
        camera.configure(module=module)
        camera.set_lens(f_number=aperture, focus_m=focus)
        camera.set_controls(controls)
        point = _fractions(magnify) if magnify is not None else None
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
        camera.preview(preview_size)  # the first frame loads and compiles; not timed
        totals: dict[str, float] = {}
        saved: list[str] = []
        with LiveView(camera, settings, size=preview_size, fps=fps) as view:
            start = time.perf_counter()
            for i, live in enumerate(view.frames(frames)):
                for stage, ms in live.stages_ms.items():
                    totals[stage] = totals.get(stage, 0.0) + ms
                if save is not None and i % save_every == 0:
                    saved.append(str(_save_png(save / f"liveview_{i:05d}.png", live.composite)))
                    if point is not None:
                        view_rgb = view.magnifier(point, magnify_zoom)
                        path = save / f"liveview_{i:05d}_magnifier.png"
                        saved.append(str(_save_png(path, view_rgb)))
            wall = time.perf_counter() - start
            read = view.stream.frames_read
    except MountcamError as e:
        _fail(e)
    except OSError as e:
        _fail(UnreadableFile(f"cannot write in {save}: {e.strerror or e}"))
    report = {
        "fps": frames / wall,
        "frames": frames,
        "frames_read": read,
        "size": list(preview_size),
        "assists": sorted(settings.assists),
        "stages_ms": {k: round(v / frames, 2) for k, v in totals.items()},
        "saved": saved,
    }
    if as_json:
        sys.stdout.write(json.dumps(report) + "\n")
        return
    out.print(f"{frames} frames at {report['fps']:.1f} fps ({read} read by the sensor thread)")
    for stage, ms in report["stages_ms"].items():
        out.print(f"  {stage:<16} {ms:7.2f} ms")
    for path in saved:
        out.print(f"  saved {path}")


def _fractions(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidSetting(
            f"--magnify {text}: give X,Y as fractions of the frame, e.g. 0.5,0.5"
        ) from None
    if not (0 <= x <= 1 and 0 <= y <= 1):
        raise InvalidSetting(f"--magnify {text}: X and Y are fractions from 0 to 1")
    return x, y


def _save_png(path: Path, rgb8: np.ndarray) -> Path:
    from PIL import Image

    from mountcam.atomic_file import atomic_output

    with atomic_output(path) as stream:
        Image.fromarray(rgb8).save(stream, format="PNG")
    return path


@app.command()
def version() -> None:
    """Print the version."""
    out.print(f"mountcam {__version__}")


def main() -> None:
    from mountcam.allocator import tune_malloc_for_large_arrays

    # A command that develops 50 MP pictures and exits: let malloc keep its freed blocks
    # (mountcam.allocator says why); the library never does this on its own.
    tune_malloc_for_large_arrays()
    app()


if __name__ == "__main__":
    main()
