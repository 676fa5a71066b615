"""Demosaic accuracy against a known truth: CFA DNGs from images, the contenders, the score.

Shared by ``bench/develop_accuracy.py`` (McMaster-18 and twin captures, issue 5 acceptance 1)
and ``tests/test_acceptance_develop_accuracy.py`` (the same on small images).

Score (issue 5): CPSNR (dB, peak 1) of the linear output against the linear truth after both
are sRGB-encoded (IEC 61966-2-1), over the DefaultCrop with a :data:`BORDER_PX` border cut,
the output's exposure matched to the truth by one least-squares scalar in linear light, values
clipped to [0, 1] before encoding.

Contenders, each developing the same DNG:

* ``LibRaw AHD`` / ``LibRaw AAHD`` (rawpy): linear sRGB output, LibRaw's defaults otherwise
  (``gamma=(1, 1)``, ``no_auto_bright``, 16 bits, camera white balance). LibRaw ignores the
  DefaultCrop; its whole active area is cropped with the DNG's own DefaultCrop.
* ``mountcam fast`` / ``mountcam high``: ``develop(path, DevelopSettings(linear=True,
  quality=..., lens_correction=False))``. Lens correction is off because the twin's truth is
  the optical image as captured (with the lens's distortion and vignetting) and LibRaw does
  not apply the DNG's opcodes either.

Two variants of the comparison:

* :func:`score_dng` (``as developed``): each contender's own colour pipeline, as the issue
  specifies. On a camera whose RGB is not sRGB (the twin), this also scores the colour
  conversion: LibRaw builds its matrix from ColorMatrix1 only, mountcam uses the calibration
  it finds (ForwardMatrix, two illuminants).
* :func:`score_dng_same_colour` (``same colour``): every contender stops at white-balanced
  camera RGB (LibRaw ``output_color=raw`` with ``highlight_mode=Ignore`` so that no
  unclipped value is clipped by the scaling; mountcam levels, white balance and demosaic) and
  the same 3×3 matrix (from ColorMatrix1) takes all of them to sRGB: only the demosaic
  differs.

Raw sites at the white level carry no information about the truth; :func:`clipped_mask` marks
the output pixels within :data:`CLIPPED_REACH_PX` of one so that a score can leave them out.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from mountcam.dng.preview import srgb_encode
from mountcam.errors import InvalidSetting

#: Pixels cut from every side of the DefaultCrop before scoring (the issue's 10).
BORDER_PX = 10
#: Output pixels this close (Chebyshev distance, px) to a clipped raw site are "clipped".
CLIPPED_REACH_PX = 2
CONTENDERS = ("LibRaw AHD", "LibRaw AAHD", "mountcam fast", "mountcam high")


def cpsnr(
    linear_out: np.ndarray,
    linear_truth: np.ndarray,
    border: int = BORDER_PX,
    exclude: np.ndarray | None = None,
) -> float:
    """CPSNR (dB, peak 1) of the sRGB-encoded output against the sRGB-encoded truth.

    ``linear_out`` and ``linear_truth``: (H, W, 3) linear RGB, 1.0 = white. The output is
    scaled by the one least-squares scalar ``k = Σ out·truth / Σ out²`` (exposure match),
    both are clipped to [0, 1] and encoded; the mean squared error runs over the three
    channels of every pixel ``border`` px or more inside the frame and not in ``exclude``
    ((H, W) bool, optional; the exposure match leaves those pixels out too).
    """
    out = np.asarray(linear_out, np.float64)
    ref = np.asarray(linear_truth, np.float64)
    if out.shape != ref.shape or out.ndim != 3 or out.shape[2] != 3:
        raise InvalidSetting(f"output {out.shape} and truth {ref.shape} must both be (H, W, 3)")
    b = int(border)
    keep = np.zeros(out.shape[:2], bool)
    keep[b : out.shape[0] - b, b : out.shape[1] - b] = True
    if exclude is not None:
        keep &= ~np.asarray(exclude, bool)
    if not keep.any():
        raise InvalidSetting("no pixel is left to score (border and exclusions cover the image)")
    o, r = out[keep], ref[keep]
    scale = float((o * r).sum() / max((o * o).sum(), 1e-30))
    err = srgb_encode(scale * o) - srgb_encode(r)
    return float(10 * np.log10(1.0 / max(float(np.mean(err * err)), 1e-20)))


# ------------------------------------------------------------------------------------------
# CFA DNGs from images
# ------------------------------------------------------------------------------------------


def identity_calibration():
    """ColorCalibration of a camera whose RGB *is* linear sRGB (D65 white -> (1, 1, 1))."""
    from mountcam.dng import ColorCalibration
    from mountcam.dng.preview import SRGB_TO_XYZ

    return ColorCalibration(color_matrix_1=np.linalg.inv(SRGB_TO_XYZ), calibration_illuminant_1=21)


def mosaic_rggb(linear: np.ndarray) -> np.ndarray:
    """uint16 RGGB mosaic (white 65535, black 0) of a linear (H, W, 3) image in [0, 1]."""
    h, w, _ = linear.shape
    out = np.empty((h, w), np.float64)
    out[0::2, 0::2] = linear[0::2, 0::2, 0]
    out[0::2, 1::2] = linear[0::2, 1::2, 1]
    out[1::2, 0::2] = linear[1::2, 0::2, 1]
    out[1::2, 1::2] = linear[1::2, 1::2, 2]
    return np.round(np.clip(out, 0, 1) * 65535).astype(np.uint16)


def srgb8_to_linear(image_u8: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 sRGB -> linear float64 in [0, 1] (IEC 61966-2-1), cut to even H, W."""
    from mountcam.scene.loaders import srgb_decode

    image_u8 = np.asarray(image_u8)
    if image_u8.dtype != np.uint8 or image_u8.ndim != 3 or image_u8.shape[2] != 3:
        raise InvalidSetting(
            f"expected an (H, W, 3) uint8 image, got {image_u8.dtype} {image_u8.shape}"
        )
    table = srgb_decode(np.arange(256) / 255.0).astype(np.float64)
    h, w = image_u8.shape[:2]
    return table[image_u8[: h - h % 2, : w - w % 2]]


def write_cfa_dng(linear: np.ndarray, path: str | os.PathLike, name: str = "") -> np.ndarray:
    """Write an RGGB DNG of an *identity camera* whose DefaultCrop is exactly ``linear``.

    ``linear``: (H, W, 3) linear sRGB in [0, 1], H and W even. The image is mirrored by the
    DNG's demosaic margin (:data:`mountcam.dng.DEMOSAIC_MARGIN_PX`) so that the DefaultCrop is
    the image itself, sampled RGGB into 16-bit DN (white 65535, black 0, no noise) and written
    with ColorMatrix1 = XYZ -> linear sRGB (D65) and AsShotNeutral (1, 1, 1): camera RGB is
    linear sRGB for LibRaw and mountcam alike. Returns the truth (the float64 image).
    """
    from mountcam.dng import DEMOSAIC_MARGIN_PX, write_dng
    from mountcam.sensor.rawframe import CaptureMetadata, RawFrame

    truth = np.asarray(linear, np.float64)
    if truth.ndim != 3 or truth.shape[2] != 3 or truth.shape[0] % 2 or truth.shape[1] % 2:
        raise InvalidSetting(f"a CFA DNG needs an (even H, even W, 3) image; got {truth.shape}")
    m = DEMOSAIC_MARGIN_PX
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
    write_dng(frame, Path(path), calibration=identity_calibration(), overwrite=True)
    return truth


# ------------------------------------------------------------------------------------------
# contenders
# ------------------------------------------------------------------------------------------


def libraw_output(path: str | os.PathLike, algorithm: str, camera_rgb: bool = False) -> np.ndarray:
    """LibRaw's (rawpy) demosaic ``algorithm`` (``"AHD"``, ``"AAHD"``, ...) of a DNG, linear,
    on the DefaultCrop grid, float64 with 1.0 = 65535.

    ``camera_rgb``: white-balanced camera RGB with no unclipped value clipped
    (``output_color=raw``, ``highlight_mode=Ignore``); otherwise linear sRGB with LibRaw's
    default highlight clipping.
    """
    import rawpy

    from mountcam.dng import read_dng

    info = read_dng(path)
    rows, cols = info.crop_slices
    options = {}
    if camera_rgb:
        options = {
            "output_color": rawpy.ColorSpace.raw,
            "highlight_mode": rawpy.HighlightMode.Ignore,
        }
    else:
        options = {"output_color": rawpy.ColorSpace.sRGB}
    with rawpy.imread(os.fspath(path)) as raw:
        rgb = raw.postprocess(
            demosaic_algorithm=getattr(rawpy.DemosaicAlgorithm, algorithm),
            gamma=(1, 1),
            no_auto_bright=True,
            output_bps=16,
            use_camera_wb=True,
            user_flip=0,
            **options,
        )
    # LibRaw returns the whole active area (it does not apply DefaultCrop).
    if rgb.shape[:2] != info.mosaic.shape:
        raise AssertionError(f"LibRaw's image {rgb.shape} is not the mosaic {info.mosaic.shape}")
    return rgb[rows, cols].astype(np.float64) / 65535.0


def mountcam_output(path: str | os.PathLike, quality: str) -> np.ndarray:
    """``develop(path, DevelopSettings(linear=True, quality=quality, lens_correction=False))``
    as float64 (H, W, 3) linear sRGB on the DefaultCrop grid."""
    from mountcam.develop import DevelopSettings, develop

    image = develop(path, DevelopSettings(linear=True, quality=quality, lens_correction=False))
    return np.asarray(image.pixels, np.float64)


def mountcam_camera_rgb(path: str | os.PathLike, quality: str) -> np.ndarray:
    """Levels, as-shot white balance and :func:`mountcam.develop.demosaic.demosaic` only:
    white-balanced camera RGB on the DefaultCrop grid (float64, not clipped)."""
    from mountcam.develop.demosaic import demosaic
    from mountcam.dng import read_dng

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
    return rgb[rows, cols].astype(np.float64)


def clipped_mask(path: str | os.PathLike, reach_px: int = CLIPPED_REACH_PX) -> np.ndarray:
    """(H, W) bool on the DefaultCrop grid: within ``reach_px`` of a raw site at white level."""
    import cv2

    from mountcam.dng import read_dng

    info = read_dng(path)
    clipped = (info.mosaic >= info.white_level_dn).astype(np.uint8)
    if reach_px > 0:
        kernel = np.ones((2 * reach_px + 1, 2 * reach_px + 1), np.uint8)
        clipped = cv2.dilate(clipped, kernel)
    rows, cols = info.crop_slices
    return clipped[rows, cols].astype(bool)


def score_dng(
    path: str | os.PathLike, truth: np.ndarray, exclude: np.ndarray | None = None
) -> dict[str, float]:
    """CPSNR (dB) of every contender's own linear sRGB output (``as developed``)."""
    scores = {}
    for name in CONTENDERS:
        kind, method = name.split()
        if kind == "LibRaw":
            out = libraw_output(path, method)
        else:
            out = mountcam_output(path, method)
        scores[name] = cpsnr(out, truth, exclude=exclude)
    return scores


def score_dng_same_colour(
    path: str | os.PathLike, truth: np.ndarray, exclude: np.ndarray | None = None
) -> dict[str, float]:
    """CPSNR (dB) with one colour conversion for all (``same colour``): white-balanced camera
    RGB from each demosaic, times the ColorMatrix1 camera -> sRGB matrix."""
    from mountcam.dng import read_dng
    from mountcam.dng.preview import camera_to_srgb_matrix

    info = read_dng(path)
    matrix = (
        np.eye(3)
        if info.color_matrix_1 is None
        else camera_to_srgb_matrix(np.asarray(info.color_matrix_1, np.float64))
    )
    scores = {}
    for name in CONTENDERS:
        kind, method = name.split()
        if kind == "LibRaw":
            cam = libraw_output(path, method, camera_rgb=True)
        else:
            cam = mountcam_camera_rgb(path, method)
        scores[name] = cpsnr(cam @ matrix.T, truth, exclude=exclude)
    return scores


def margins(rows: dict[str, dict[str, float]]) -> tuple[float, float]:
    """(mean fast − mean LibRaw AHD, mean high − mean LibRaw AAHD) in dB over ``rows``."""
    mean = {c: float(np.mean([s[c] for s in rows.values()])) for c in CONTENDERS}
    return (
        mean["mountcam fast"] - mean["LibRaw AHD"],
        mean["mountcam high"] - mean["LibRaw AAHD"],
    )
