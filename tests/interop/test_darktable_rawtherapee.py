"""DNG acceptance 4: darktable-cli and rawtherapee-cli export every DNG variant without error,
and what they export is the picture that was taken.

Variants: module main | m (an Elmarit-M 21 mm ASPH. on the mount), binned | full, 10/12/14 bit,
and, when ``write_dng`` offers them, compression none | ljpeg and lens opcodes off | on
(detected from its signature, so this file follows the writer as it grows).

Each variant is a 320x240 window of the twin's ColorChecker, framed so the whole chart fills
80 % of the window width; both tools develop it with their own default processing to an 8-bit
JPEG, headless and with a private configuration (nothing read from or written to ~/.config).
A run passes when the tool exits 0, says nothing that reads as an error, went through its raw
pipeline (darktable's ``-d imageio`` log names the ``rawprepare``/``demosaic`` modules), and the
JPEG is the chart: the size of the DNG's image area, not black, not flat, the six neutral
patches in order of reflectance and near-neutral, and the primaries' hues where they belong.

Run with ``make interop`` (installs the tools) or ``pytest -m interop tests/interop``. Without
the tools these tests skip, unless ``MOUNTCAM_INTEROP_REQUIRED=1`` (set by ``make interop``)
makes a missing tool a failure.
"""

from __future__ import annotations

import inspect
import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import colour
import numpy as np
import pytest
from PIL import Image

from mountcam.body.backend import SimulatedBackend
from mountcam.body.camera import Camera
from mountcam.dng import calibration as dng_calibration
from mountcam.dng import write_dng
from mountcam.optics.lens import LensState
from mountcam.optics.lens_catalogue import find_lens
from mountcam.scene import load_scene
from mountcam.scene.charts import colorchecker_patch_boxes, colorchecker_spectra
from mountcam.sensor.rawframe import RawFrame
from mountcam.spectra import cie_xyz_cmfs, sd_on_grid

pytestmark = pytest.mark.interop

DARKTABLE = shutil.which("darktable-cli")
RAWTHERAPEE = shutil.which("rawtherapee-cli")
REQUIRED = os.environ.get("MOUNTCAM_INTEROP_REQUIRED") == "1"

#: Window simulated for every variant (output pixels). Wider than the DNG's 256-pixel preview,
#: so a tool that fell back to the preview instead of the raw data fails the size check, and
#: large enough that every variant's file exceeds 100 000 bytes: RawTherapee 5.9 refuses a
#: smaller DNG ("Error loading file"; docs/interop.md). At 384×288 the smallest is 140 802 bytes.
CROP_WH = (384, 288)
#: Fraction of the window width the chart spans.
CHART_FILL = 0.8
#: The meter averages the whole field, which outside the window is the chart's 3 % black
#: surround (log2(0.18 / 0.03) ≈ 2.6 EV darker than average): compensate, as a photographer
#: would, so the white patch is not clipped.
METER_COMPENSATION_EV = -2.5
M_LENS = "elmarit-m-21-asph"  # the catalogue's strongest distortion: opcodes that matter
SEED = 11

_WRITE_PARAMS = inspect.signature(write_dng).parameters
COMPRESSIONS = ("none", "ljpeg") if "compression" in _WRITE_PARAMS else ("none",)
LENS_OPCODES = (False, True) if "lens_profile" in _WRITE_PARAMS else (False,)

VARIANTS = [
    (module, mode, bits, compression, opcodes)
    for module in ("main", "m")
    for mode in ("binned", "full")
    for bits in (10, 12, 14)
    for compression in COMPRESSIONS
    for opcodes in LENS_OPCODES
]


def _variant_id(v: tuple) -> str:
    module, mode, bits, compression, opcodes = v
    return f"{module}-{mode}-{bits}bit-{compression}-{'opcodes' if opcodes else 'noops'}"


# ---------------------------------------------------------------------------------------------
# The captures and their DNGs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shot:
    frame: RawFrame
    lens: object  # LensProfile of the lens in front of the sensor
    state: LensState


@cache
def _calibration():
    """The camera's colour calibration: the dual-illuminant profile (A + D65) where the writer
    has one, else the single D65 fit the CLI writes."""
    model = Camera().module("main").sensor
    dual = getattr(dng_calibration, "calibrate_dual", None)
    if dual is not None:
        return dual(model.qe)
    return dng_calibration.calibrate(model.qe, sd_on_grid(colour.SDS_ILLUMINANTS["D65"]), 21)


@cache
def _shoot(module: str, mode: str, bits: int) -> Shot:
    """One capture of the ColorChecker, framed so the chart spans ``CHART_FILL`` of the window.

    The scene's field of view is set from the pixel pitch of the mode and the lens's focal
    length: tan(hfov/2) = fill · (W/2) · pitch / f, so patch positions in the window depend
    only on ``CHART_FILL`` and ``CROP_WH`` (up to the lens's distortion, under a pixel this
    close to the axis).
    """
    camera = Camera(SimulatedBackend(seed=SEED))
    if module == "m":
        camera.attach_lens(find_lens(M_LENS))
    mod = camera.module(module)
    lens = mod.require_lens()
    full_w, _ = mod.sensor.output_size(mode)
    pitch_m = mod.sensor.width_m / full_w
    half_tan = CHART_FILL * (CROP_WH[0] / 2) * pitch_m / lens.focal_m
    scene = load_scene("chart:colorchecker", hfov_deg=math.degrees(2 * math.atan(half_tan)))
    camera.backend.set_scene(scene)
    camera.configure(module=module, mode=mode, bits=bits, crop=CROP_WH)
    # The chart is lit by D65: balance for it (6504 K on the daylight locus is CIE D65; the
    # "daylight" preset is D55, whose neutral leaves the greys at C* ≈ 9 in darktable).
    camera.set_controls(ev=METER_COMPENSATION_EV, metering="average", white_balance=6504)
    metered = camera.capture().metadata
    # Then shot in M at that exposure, as a photographer who metered would: a metered shot's
    # Exif ExposureBiasValue (-2.5) is undone by darktable's exposure module ("compensate
    # camera exposure", on by default), which rendered the chart 2.5 EV brighter than
    # RawTherapee (N5 at L* 84 against 56).
    camera.set_controls(program="M", exposure_s=metered.exposure_s, iso=metered.iso, ev=0.0)
    frame = camera.capture()
    return Shot(frame, lens, LensState(lens.max_f))


def _write_variant(folder: Path, variant: tuple) -> Path:
    module, mode, bits, compression, opcodes = variant
    shot = _shoot(module, mode, bits)
    kwargs: dict = {}
    if "compression" in _WRITE_PARAMS:
        kwargs["compression"] = compression
    if opcodes:
        kwargs["lens_profile"] = shot.lens
        kwargs["lens_state"] = shot.state
    return write_dng(
        shot.frame, folder / f"{_variant_id(variant)}.dng", calibration=_calibration(), **kwargs
    )


# ---------------------------------------------------------------------------------------------
# Running the tools
# ---------------------------------------------------------------------------------------------

#: Lines that are part of a clean run: darktable warns when run as root (CI containers), and
#: probes every loader in turn, so the AVIF loader's "failed to parse" is how it says "not
#: mine" before rawspeed takes the file.
_BENIGN = re.compile(
    r"are you running darktable as root|\[avif_open\] failed to parse|"
    r"\[exif\] .* dng illuminant .* selected from"
)
#: What reads as trouble in either tool's log. rawtherapee-cli exits 0 and writes a JPEG from a
#: DNG cut short, saying only "Unexpected end of file": the log is read, not just the status.
_TROUBLE = re.compile(
    r"error|fail|warn|unsupported|corrupt|truncat|end of file|unexpected|cannot|can't|"
    r"could not|unable|invalid|\[rawspeed\]|\[exiv2",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Export:
    returncode: int
    log: str
    path: Path

    def trouble(self) -> list[str]:
        """The log lines that read as a warning or an error."""
        return [
            line
            for line in self.log.splitlines()
            if _TROUBLE.search(line) and not _BENIGN.search(line)
        ]


def _private_env(home: Path) -> dict[str, str]:
    """An environment whose configuration and cache folders are ``home``'s (rawtherapee-cli
    keeps its options under $XDG_CONFIG_HOME/RawTherapee; darktable creates
    $XDG_CONFIG_HOME/darktable even with --configdir)."""
    env = dict(os.environ)
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        env[var] = str(home / var.lower())
    env["HOME"] = str(home)
    return env


def run_darktable(dng: Path, out: Path, home: Path) -> Export:
    """``darktable-cli IN OUT --core ...``: default (scene-referred) processing, JPEG q90, an
    in-memory library, a private configuration, and the imageio debug log that names the
    pixelpipe's modules."""
    cmd = [
        DARKTABLE,
        str(dng),
        str(out),
        "--core",
        "--configdir",
        str(home / "darktable"),
        "--library",
        ":memory:",
        "--conf",
        "plugins/imageio/format/jpeg/quality=90",
        "-d",
        "imageio",
    ]
    p = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env=_private_env(home), cwd=home
    )
    return Export(p.returncode, p.stdout + p.stderr, out)


def run_rawtherapee(dng: Path, out: Path, home: Path) -> Export:
    """``rawtherapee-cli -o OUT -d -j90 -Y -c IN``: the default raw processing profile, JPEG
    q90, a private configuration folder."""
    cmd = [RAWTHERAPEE, "-o", str(out), "-d", "-j90", "-Y", "-c", str(dng)]
    p = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env=_private_env(home), cwd=home
    )
    return Export(p.returncode, p.stdout + p.stderr, out)


TOOLS = {
    "darktable": (lambda: DARKTABLE, run_darktable),
    "rawtherapee": (lambda: RAWTHERAPEE, run_rawtherapee),
}


def _require(tool: str) -> None:
    if TOOLS[tool][0]() is None:
        message = f"{tool} is not installed (`make interop` installs it)"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)


# ---------------------------------------------------------------------------------------------
# Reading the chart in the exported picture
# ---------------------------------------------------------------------------------------------

WHITE, BLACK = 18, 23  # chart order: the neutral row is 18 (white) … 23 (black)
NEUTRALS = range(18, 24)


def patch_means(rgb: np.ndarray, frame_hw: tuple[int, int]) -> np.ndarray:
    """(24, 3) mean 8-bit RGB inside the central 40 % of each patch.

    The export is assumed centred on the DNG's image (darktable crops to DefaultCrop, 8 px a
    side; RawTherapee trims 4 px): its top-left sits at half the size difference. Canvas
    coordinates scale by ``CHART_FILL · W/2`` pixels per unit about the window centre (see
    :func:`_shoot`).
    """
    frame_h, frame_w = frame_hw
    h, w = rgb.shape[:2]
    scale = CHART_FILL * frame_w / 2
    cy = frame_h / 2 - (frame_h - h) / 2
    cx = frame_w / 2 - (frame_w - w) / 2
    means = []
    for u0, v0, u1, v1 in colorchecker_patch_boxes():
        uc, vc, hu, hv = (u0 + u1) / 2, (v0 + v1) / 2, 0.2 * (u1 - u0), 0.2 * (v1 - v0)
        r0, r1 = round(cy + (vc - hv) * scale), round(cy + (vc + hv) * scale)
        c0, c1 = round(cx + (uc - hu) * scale), round(cx + (uc + hu) * scale)
        means.append(rgb[r0:r1, c0:c1].reshape(-1, 3).mean(axis=0))
    return np.array(means)


@cache
def _reference_hues_deg() -> np.ndarray:
    """CIELAB hue angle (degrees) of each patch under D65 (CIE 15:2004: XYZ = Σ S·R·x̄ȳz̄,
    normalised to the illuminant's Y), from the chart's spectral reflectances."""
    _, spectra = colorchecker_spectra()
    illuminant = sd_on_grid(colour.SDS_ILLUMINANTS["D65"])
    weights = cie_xyz_cmfs() * illuminant[:, None]
    xyz = spectra @ weights / weights[:, 1].sum()
    lab = colour.XYZ_to_Lab(
        xyz, colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"]
    )
    return np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360


def _lab(rgb8: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of 8-bit sRGB values (both tools' JPEGs are sRGB)."""
    return colour.XYZ_to_Lab(colour.sRGB_to_XYZ(rgb8 / 255.0))


def check_picture(jpeg: Path, frame_hw: tuple[int, int], margin_px: int = 8) -> None:
    """Assert that ``jpeg`` is the chart the DNG holds (see the module docstring)."""
    rgb = np.asarray(Image.open(jpeg).convert("RGB"), dtype=np.float64)
    h, w = rgb.shape[:2]
    frame_h, frame_w = frame_hw
    assert frame_h - 2 * margin_px <= h <= frame_h and frame_w - 2 * margin_px <= w <= frame_w, (
        f"exported {w}x{h}, DNG image {frame_w}x{frame_h}"
    )
    assert rgb.mean() > 20, f"black picture (mean {rgb.mean():.1f} of 255)"
    assert rgb.std() > 20, f"flat picture (std {rgb.std():.1f})"

    patches = patch_means(rgb, frame_hw)
    lab = _lab(patches)
    lightness = lab[:, 0]
    neutral_l = lightness[list(NEUTRALS)]
    assert lightness[WHITE] - lightness[BLACK] > 40, f"white/black L* {neutral_l}"
    # Reflectances 0.9, 0.59, 0.36, 0.19, 0.09, 0.03: any monotonic rendering keeps their order.
    assert np.all(np.diff(neutral_l) < -2), f"neutral row L* not in order: {neutral_l}"
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    # White balance and the colour matrices: a neutral renders neutral (the black patch,
    # L* ≈ 20 with a tone curve's toe, is left out: a few DN of noise move its hue freely).
    assert np.all(chroma[18:23] < 8), f"neutral patches have colour: C* {chroma[18:23]}"
    # Chromatic patches keep their hue: mean error within 10°, none beyond 35° (the tools'
    # looks and gamut mapping differ; a swapped channel or a wrong matrix is far beyond).
    hue = np.degrees(np.arctan2(lab[:18, 2], lab[:18, 1])) % 360
    err = np.abs((hue - _reference_hues_deg()[:18] + 180) % 360 - 180)
    assert err.mean() < 10 and err.max() < 35, f"hue errors (°) {np.round(err)}"


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", list(TOOLS))
@pytest.mark.parametrize("variant", VARIANTS, ids=[_variant_id(v) for v in VARIANTS])
def test_tool_exports_the_picture(tool, variant, tmp_path):
    _require(tool)
    dng = _write_variant(tmp_path, variant)
    result = TOOLS[tool][1](dng, tmp_path / f"{tool}.jpg", tmp_path)
    assert result.returncode == 0, result.log
    assert result.trouble() == [], result.log
    assert result.path.is_file(), result.log
    if tool == "darktable":
        # The raw pipeline ran (a loader that read only the preview has no rawprepare/demosaic).
        assert re.search(r"\brawprepare\b.*\bdemosaic\b", result.log), result.log
    check_picture(result.path, _shoot(*variant[:3]).frame.mosaic.shape)


@pytest.mark.parametrize("tool", list(TOOLS))
def test_harness_sees_a_broken_dng(tool, tmp_path):
    """The checks above can fail: a DNG cut short is refused by the tool or reported in its log,
    and the harness sees it (darktable exits 1; rawtherapee-cli exits 0 with a picture of the
    part it read and an "Unexpected end of file" line)."""
    _require(tool)
    good = _write_variant(tmp_path, ("main", "binned", 12, "none", False))
    broken = tmp_path / "broken.dng"
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    result = TOOLS[tool][1](broken, tmp_path / f"{tool}.jpg", tmp_path)
    assert result.returncode != 0 or result.trouble(), result.log


def test_variant_matrix_follows_the_writer():
    """Every option write_dng offers is exercised: 2 modules × 2 modes × 3 depths × the
    compressions and opcode settings it accepts."""
    assert len(VARIANTS) == 12 * len(COMPRESSIONS) * len(LENS_OPCODES)
    if "compression" in _WRITE_PARAMS:
        assert COMPRESSIONS == ("none", "ljpeg")
    if "lens_profile" in _WRITE_PARAMS:
        assert "lens_state" in _WRITE_PARAMS and LENS_OPCODES == (False, True)
