"""Demosaic accuracy (issue 5, acceptance 1): mountcam ``fast``/``high`` against LibRaw AHD/AAHD.

Two sets of CFA DNGs, each developed by every contender from the same file:

* **McMaster-18** (``../shared/data/mcmaster18``, 500×500 8-bit sRGB; L. Zhang, X. Wu, A. Buades,
  X. Li, "Color demosaicking by local directional interpolation and nonlocal adaptive
  thresholding", J. Electron. Imaging 20(2), 2011). The 8-bit image is the truth. It is decoded
  to linear light (IEC 61966-2-1), mirrored by the DNG's 8-pixel crop margin so that the
  DefaultCrop is exactly the original image, sampled RGGB into 16-bit DN (white 65535, black 0,
  no noise) and written with :func:`mountcam.dng.write_dng` for an *identity camera*:
  ColorMatrix1 = XYZ -> linear sRGB (D65), AsShotNeutral (1, 1, 1), so camera RGB is linear
  sRGB for LibRaw and for mountcam alike.
* **Twin captures**: ``mountcam shoot SCENE --truth --iso 100`` (real colour matrix, real noise
  and optics), the truth being the noise-free image on the DefaultCrop grid.

Score (the issue's): CPSNR of the linear output against the truth after sRGB encoding, over the
DefaultCrop with a 10-pixel border excluded, exposure matched by one least-squares scalar in
linear light, values clipped to [0, 1] before encoding; peak 1.0.

LibRaw (rawpy): ``demosaic_algorithm`` AHD / AAHD, ``gamma=(1, 1)``, ``no_auto_bright``,
``output_bps=16``, ``output_color=sRGB``, ``use_camera_wb``, ``user_flip=0``; LibRaw ignores
DefaultCrop and returns the whole active area, which is cropped here with the DNG's own
DefaultCrop (checked: the shapes and the alignment agree, see ``_libraw``).

mountcam: ``develop(path, DevelopSettings(linear=True, quality=q))`` when the develop pipeline
is importable; until then the mosaic is levelled, white balanced and demosaiced here with
:func:`mountcam.develop.demosaic.demosaic`, and taken to sRGB with the DNG's ColorMatrix1 the
way LibRaw does (camera neutral -> sRGB white), so only the demosaic differs.

Run: ``.venv/bin/python bench/develop_accuracy.py [--mcmaster DIR] [--twin-size 768x512]
[--no-twin] [--markdown]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MCMASTER = ROOT.parent / "shared" / "data" / "mcmaster18"
TWIN_SCENES = (
    "sample:astronaut",
    "sample:coffee",
    "sample:chelsea",
    "sample:motorcycle",
    "sample:rocket",
    "chart:siemens-star",
    "chart:colorchecker",
)
BORDER_PX = 10
CONTENDERS = ("LibRaw AHD", "LibRaw AAHD", "mountcam fast", "mountcam high")


# ------------------------------------------------------------------------------------------
# scoring
# ------------------------------------------------------------------------------------------


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    v = np.clip(linear, 0.0, 1.0)
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.power(v, 1 / 2.4) - 0.055)


def cpsnr(linear_out: np.ndarray, linear_truth: np.ndarray, border: int = BORDER_PX) -> float:
    """CPSNR (dB, peak 1) of sRGB-encoded output vs truth; one exposure scalar, border cut."""
    b = border
    out = np.asarray(linear_out, np.float64)[b:-b, b:-b]
    ref = np.asarray(linear_truth, np.float64)[b:-b, b:-b]
    scale = float((out * ref).sum() / max((out * out).sum(), 1e-30))
    err = srgb_encode(scale * out) - srgb_encode(ref)
    return float(10 * np.log10(1.0 / max(np.mean(err * err), 1e-20)))


# ------------------------------------------------------------------------------------------
# making the DNGs
# ------------------------------------------------------------------------------------------


def identity_calibration():
    """ColorCalibration of a camera whose RGB *is* linear sRGB (D65 white -> (1, 1, 1))."""
    from mountcam.dng import ColorCalibration
    from mountcam.dng.preview import SRGB_TO_XYZ

    return ColorCalibration(color_matrix_1=np.linalg.inv(SRGB_TO_XYZ), calibration_illuminant_1=21)


def mosaic_rggb(linear: np.ndarray) -> np.ndarray:
    """uint16 RGGB mosaic (white 65535) of a linear (H, W, 3) image in [0, 1]."""
    h, w, _ = linear.shape
    out = np.empty((h, w), np.float64)
    out[0::2, 0::2] = linear[0::2, 0::2, 0]
    out[0::2, 1::2] = linear[0::2, 1::2, 1]
    out[1::2, 0::2] = linear[1::2, 0::2, 1]
    out[1::2, 1::2] = linear[1::2, 1::2, 2]
    return np.round(np.clip(out, 0, 1) * 65535).astype(np.uint16)


def write_mcmaster_dng(image_u8: np.ndarray, path: Path, name: str) -> np.ndarray:
    """Write the CFA DNG of one McMaster image; return the linear truth (H, W, 3)."""
    from mountcam.dng import DEMOSAIC_MARGIN_PX, write_dng
    from mountcam.scene.loaders import srgb_decode
    from mountcam.sensor.rawframe import CaptureMetadata, RawFrame

    table = srgb_decode(np.arange(256) / 255.0).astype(np.float64)
    truth = table[image_u8]
    m = DEMOSAIC_MARGIN_PX
    h, w = image_u8.shape[:2]
    # Even size: McMaster is 500×500 already; crop one row/column if an image is odd.
    truth = truth[: h - h % 2, : w - w % 2]
    padded = np.pad(truth, ((m, m), (m, m), (0, 0)), mode="reflect")
    md = CaptureMetadata(
        sensor="identity",
        module="main",
        mode="full",
        bits=16,
        exposure_s=0.01,
        iso=100,
        analog_gain=1.0,
        digital_gain=1.0,
        temperature_c=25.0,
        seed=0,
        frame_index=0,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        scene=f"McMaster {name}",
        illuminant="D65",
        lens_name="",
        focal_mm=0.0,
        f_number=0.0,
        as_shot_neutral=(1.0, 1.0, 1.0),
    )
    frame = RawFrame(
        mosaic=mosaic_rggb(padded),
        cfa_pattern="RGGB",
        black_level_dn=(0.0, 0.0, 0.0, 0.0),
        white_level_dn=65535,
        metadata=md,
    )
    write_dng(frame, path, calibration=identity_calibration(), overwrite=True)
    return truth


def shoot_twin(scene: str, out_dir: Path, size: str) -> tuple[Path, np.ndarray]:
    """``mountcam shoot SCENE --truth`` at ISO 100; (DNG path, truth on the DefaultCrop)."""
    import tifffile

    exe = Path(sys.executable).with_name("mountcam")
    doc = json.loads(
        subprocess.run(
            [str(exe), "shoot", "--scene", scene, "--crop", size, "--iso", "100", "--seed", "1"]
            + ["--truth", "--json", "--out", str(out_dir)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    return Path(doc["files"][0]), tifffile.imread(doc["truth"]).astype(np.float64)


# ------------------------------------------------------------------------------------------
# contenders
# ------------------------------------------------------------------------------------------


def _libraw(path: Path, algorithm: str) -> np.ndarray:
    import rawpy

    from mountcam.dng import read_dng

    info = read_dng(path)
    rows, cols = info.crop_slices
    with rawpy.imread(str(path)) as raw:
        rgb = raw.postprocess(
            demosaic_algorithm=getattr(rawpy.DemosaicAlgorithm, algorithm),
            gamma=(1, 1),
            no_auto_bright=True,
            output_bps=16,
            output_color=rawpy.ColorSpace.sRGB,
            use_camera_wb=True,
            user_flip=0,
        )
    # LibRaw returns the whole active area (it does not apply DefaultCrop).
    assert rgb.shape[:2] == info.mosaic.shape, (rgb.shape, info.mosaic.shape)
    return rgb[rows, cols].astype(np.float64) / 65535.0


def _develop_available() -> bool:
    try:
        from mountcam.develop import DevelopSettings, develop  # noqa: F401
    except ImportError:
        return False
    return True


def _mountcam(path: Path, quality: str) -> np.ndarray:
    if _develop_available():
        from mountcam.develop import DevelopSettings, develop

        image = develop(path, DevelopSettings(linear=True, quality=quality))
        return np.asarray(image.pixels, np.float64)
    return _mountcam_direct(path, quality)


def _mountcam_direct(path: Path, quality: str) -> np.ndarray:
    """Levels, as-shot white balance, demosaic, ColorMatrix1 -> sRGB, DefaultCrop."""
    from mountcam.develop.demosaic import demosaic
    from mountcam.dng import read_dng
    from mountcam.dng.preview import camera_to_srgb_matrix

    info = read_dng(path)
    mosaic = info.mosaic.astype(np.float32)
    black = np.array(info.black_level_dn, np.float32).reshape(2, 2)
    neutral = np.array(info.as_shot_neutral or (1, 1, 1), np.float32)
    index = {"R": 0, "G": 1, "B": 2}
    gain = np.array([[1 / neutral[index[c]] for c in info.cfa_pattern[k : k + 2]] for k in (0, 2)])
    scale = gain / (info.white_level_dn - black)
    for dy in (0, 1):
        for dx in (0, 1):
            plane = mosaic[dy::2, dx::2]
            plane -= black[dy, dx]
            plane *= scale[dy, dx]
    rgb = demosaic(mosaic, info.cfa_pattern, quality)
    rows, cols = info.crop_slices
    rgb = rgb[rows, cols].astype(np.float64)
    if info.color_matrix_1 is not None:
        rgb = rgb @ camera_to_srgb_matrix(info.color_matrix_1).T
    return rgb


def run_all(path: Path, truth: np.ndarray) -> dict[str, float]:
    scores = {}
    for name in CONTENDERS:
        if name.startswith("LibRaw"):
            out = _libraw(path, name.split()[1])
        else:
            out = _mountcam(path, name.split()[1])
        assert out.shape == truth.shape, (name, out.shape, truth.shape)
        scores[name] = cpsnr(out, truth)
    return scores


# ------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------


def table(title: str, rows: dict[str, dict[str, float]]) -> str:
    head = "| image | " + " | ".join(CONTENDERS) + " |"
    lines = [f"**{title}** (CPSNR, dB)", "", head, "|---" * (len(CONTENDERS) + 1) + "|"]
    for name, s in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{s[c]:.2f}" for c in CONTENDERS) + " |")
    mean = {c: float(np.mean([s[c] for s in rows.values()])) for c in CONTENDERS}
    lines.append("| **mean** | " + " | ".join(f"**{mean[c]:.2f}**" for c in CONTENDERS) + " |")
    fast_margin = mean["mountcam fast"] - mean["LibRaw AHD"]
    high_margin = mean["mountcam high"] - mean["LibRaw AAHD"]
    lines += [
        "",
        f"fast − AHD = {fast_margin:+.2f} dB (needs ≥ 0): {'PASS' if fast_margin >= 0 else 'FAIL'}; "
        f"high − AAHD = {high_margin:+.2f} dB (needs ≥ +1): "
        f"{'PASS' if high_margin >= 1 else 'FAIL'}",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mcmaster", type=Path, default=MCMASTER)
    parser.add_argument("--twin-size", default="768x512", help="crop of each twin capture, WxH")
    parser.add_argument("--no-twin", action="store_true")
    parser.add_argument("--no-mcmaster", action="store_true")
    args = parser.parse_args()

    import tifffile

    path_used = "develop()" if _develop_available() else "demosaic() on the levelled mosaic"
    print(f"mountcam path: {path_used}", flush=True)
    t0 = time.perf_counter()
    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.no_mcmaster:
            files = sorted(args.mcmaster.glob("*.tif"), key=lambda p: int(p.stem))
            if not files:
                print(f"no McMaster images in {args.mcmaster}", file=sys.stderr)
                return 1
            rows = {}
            for f in files:
                dng = tmp / f"mcm{f.stem}.dng"
                truth = write_mcmaster_dng(tifffile.imread(f), dng, f.stem)
                rows[f.stem] = run_all(dng, truth)
                print(f.stem, {k: round(v, 2) for k, v in rows[f.stem].items()}, flush=True)
            reports.append(table("McMaster-18", rows))
        if not args.no_twin:
            rows = {}
            for scene in TWIN_SCENES:
                d = tmp / scene.replace(":", "_")
                dng, truth = shoot_twin(scene, d, args.twin_size)
                rows[scene] = run_all(dng, truth)
                print(scene, {k: round(v, 2) for k, v in rows[scene].items()}, flush=True)
            reports.append(table(f"Twin captures, ISO 100, {args.twin_size}", rows))
    print()
    print(f"mountcam path: {path_used}; {time.perf_counter() - t0:.0f} s")
    print()
    print("\n\n".join(reports))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
