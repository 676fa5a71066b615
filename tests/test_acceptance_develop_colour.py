"""Acceptance 2 (develop issue): colour accuracy of the default development.

The twin's ``chart:colorchecker`` under D65 and under CIE illuminant A, ISO 100, developed
with the default settings to ``--linear``: mean CIEDE2000 ≤ 2.0 and max ≤ 5 against the
``--truth`` image, over the 24 patch interiors, exposure matched by one scalar.

The chart is shot at a 20° field of view in a centred 1040×720 window so the whole card is in
a small (fast) frame; the patch layout comes from :func:`colorchecker_patch_boxes` through the
ideal main lens's gnomonic projection (x = f·tan θ, f = focal / pixel pitch). The exposure is
fixed (1/350 s at ISO 100, the full-frame metered value) so that the white patch is not
clipped — metering the small card on its dark surround would overexpose it by two stops.
"""

from __future__ import annotations

import math

import colour
import numpy as np
import pytest
import tifffile

from conftest import shoot
from mountcam.develop import DevelopSettings, develop
from mountcam.dng import read_dng
from mountcam.scene import colorchecker_patch_boxes

HFOV_DEG = 20.0
#: Inner fraction of each patch side left out on every side (blur, pixel coverage, noise).
INSET = 0.25


def patch_means(img: np.ndarray, f_px: float) -> np.ndarray:
    """(24, 3) mean of each patch interior of an image centred on the chart."""
    h, w = img.shape[:2]
    cx, cy = (w - 1) / 2, (h - 1) / 2
    k = f_px * math.tan(math.radians(HFOV_DEG) / 2)  # canvas unit -> pixels
    means = []
    for u0, v0, u1, v1 in colorchecker_patch_boxes():
        du, dv = (u1 - u0) * INSET, (v1 - v0) * INSET
        x0, x1 = math.ceil(cx + k * (u0 + du)), math.floor(cx + k * (u1 - du))
        y0, y1 = math.ceil(cy + k * (v0 + dv)), math.floor(cy + k * (v1 - dv))
        assert x1 - x0 > 10 and y1 - y0 > 10
        means.append(img[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0))
    return np.array(means, dtype=np.float64)


def lab(rgb: np.ndarray) -> np.ndarray:
    xyz = colour.RGB_to_XYZ(rgb, colour.RGB_COLOURSPACES["sRGB"], apply_cctf_decoding=False)
    return colour.XYZ_to_Lab(
        xyz, colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"]
    )


@pytest.fixture(scope="module", params=["D65", "A"])
def scored(request, tmp_path_factory):
    res = shoot(
        tmp_path_factory.mktemp(f"cc{request.param}"),
        "--scene", "chart:colorchecker",
        "--illuminant", request.param,
        # The white balance preset of the light (a studio's choice): this measures develop's
        # colour, not the auto white balance (docs/3a.md measures that).
        "--wb", {"D65": "cloudy", "A": "tungsten"}[request.param],
        "--iso", "100",
        "--shutter", "1/350",
        "--scene-hfov", str(HFOV_DEG),
        "--crop", "1040x720",
        "--seed", "3",
        "--truth",
    )  # fmt: skip
    info = read_dng(res["files"][0])
    truth = tifffile.imread(res["truth"])
    img = develop(info, DevelopSettings(linear=True))
    assert img.color_space == "linear-rec709"
    assert img.pixels.shape == truth.shape  # --linear is on the DefaultCrop grid, like --truth
    num, den = info.exif["FocalPlaneXResolution"]
    f_px = info.focal_mm / 10.0 * num / den  # cm × px/cm
    t, d = patch_means(truth, f_px), patch_means(img.pixels, f_px)
    # Exposure matched by one scalar (least squares over all patches).
    scale = float((t * d).sum() / (d * d).sum())
    de = np.asarray(colour.delta_E(lab(t), lab(scale * d), method="CIE 2000"))
    return request.param, de, truth, f_px


def test_patch_layout_finds_uniform_patches(scored) -> None:
    """The test measures what it means to: each truth patch interior is uniform."""
    _, _, truth, f_px = scored
    h, w = truth.shape[:2]
    k = f_px * math.tan(math.radians(HFOV_DEG) / 2)
    for u0, v0, u1, v1 in colorchecker_patch_boxes()[[0, 5, 18, 23]]:
        x0, x1 = (
            math.ceil((w - 1) / 2 + k * (u0 + 0.25 * (u1 - u0))),
            math.floor((w - 1) / 2 + k * (u1 - 0.25 * (u1 - u0))),
        )
        y0, y1 = (
            math.ceil((h - 1) / 2 + k * (v0 + 0.25 * (v1 - v0))),
            math.floor((h - 1) / 2 + k * (v1 - 0.25 * (v1 - v0))),
        )
        patch = truth[y0:y1, x0:x1]
        assert patch.std(axis=(0, 1)).max() < 0.02 * patch.mean() + 1e-4  # fmt: skip


def test_colorchecker_mean_delta_e_2000(scored) -> None:
    illuminant, de, _, _ = scored
    print(
        f"{illuminant}: mean ΔE2000 {de.mean():.2f}, max {de.max():.2f} (patch {de.argmax() + 1})"
    )
    assert de.mean() <= 2.0, f"{illuminant}: mean ΔE2000 {de.mean():.2f} > 2.0"


def test_colorchecker_max_delta_e_2000(scored) -> None:
    # Measured: D65 max 3.00 (patch 2), A max 4.09 (patch 12). Under A this was 5.44 (patch 15,
    # red) while the ForwardMatrices were fitted in XYZ; the CIELAB-weighted fit took the
    # ForwardMatrix1 ColorChecker max from 5.19 to 3.15 (docs/colour-calibration.md).
    illuminant, de, _, _ = scored
    assert de.max() <= 5.0, f"{illuminant}: max ΔE2000 {de.max():.2f} > 5"
