"""Issue 5, acceptance 1 (demosaic accuracy) on small images; ``bench/develop_accuracy.py``
runs the same on McMaster-18 and seven twin captures (tables in docs/benchmarks.md).

The issue: CFA DNGs made from images (their truth known) and from the twin's own captures
(with ``--truth``), scored as CPSNR of the ``--linear`` output against the truth after sRGB
encoding, 10-pixel border excluded, exposure matched by one scalar; as means,
``--quality fast`` ≥ LibRaw AHD and ``--quality high`` ≥ LibRaw AAHD + 1 dB (rawpy, the same
DNG, linear sRGB output). The DNGs, the contenders and the score are
:mod:`mountcam.lab.demosaic_accuracy`, the bench's own code.

Measured here (the file takes ~8 s nice'd on 2 cores):

* four skimage images, 256×256 centre crops, identity-camera DNGs: fast − AHD = +3.00 dB,
  high − AAHD = +3.41 dB. Both hold.
* three twin captures at 256×256, ISO 100 (astronaut, coffee, Siemens star): fast − AHD =
  +0.35 dB, high − AAHD = +1.07 dB. Both hold, by thin margins: the optics' blur and the
  sensor noise leave little for a demosaic to win, and ``fast`` is still 0.69 dB behind AHD
  on the star's centre (beyond Nyquist), where it was 2.7 dB behind before its directional
  colour differences were smoothed (``high``: +0.70 dB before its ridged slopes and
  Hamilton-Adams direction weights). Regression guards at the measured level run beside.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from conftest import shoot
from mountcam.lab.demosaic_accuracy import (
    CONTENDERS,
    cpsnr,
    margins,
    score_dng,
    srgb8_to_linear,
    write_cfa_dng,
)

SKIMAGE_IMAGES = ("astronaut", "coffee", "chelsea", "rocket")
TWIN_SCENES = ("sample:astronaut", "sample:coffee", "chart:siemens-star")
CROP = 256


@pytest.fixture(scope="module")
def image_scores(tmp_path_factory) -> dict[str, dict[str, float]]:
    from skimage import data

    folder = tmp_path_factory.mktemp("cfa")
    rows = {}
    for name in SKIMAGE_IMAGES:
        img = getattr(data, name)()
        y0, x0 = (img.shape[0] - CROP) // 2, (img.shape[1] - CROP) // 2
        path = folder / f"{name}.dng"
        truth = write_cfa_dng(srgb8_to_linear(img[y0 : y0 + CROP, x0 : x0 + CROP]), path, name)
        rows[name] = score_dng(path, truth)
    return rows


@pytest.fixture(scope="module")
def twin_scores(tmp_path_factory) -> dict[str, dict[str, float]]:
    rows = {}
    for scene in TWIN_SCENES:
        out = tmp_path_factory.mktemp(scene.replace(":", "_"))
        doc = shoot(
            out,
            *("--scene", scene, "--crop", f"{CROP}x{CROP}", "--iso", "100", "--seed", "1"),
            *("--wb", "cloudy"),  # the preset of the scenes' D65 light: demosaic, not AWB
            "--truth",
        )
        truth = tifffile.imread(doc["truth"]).astype(np.float64)
        rows[scene] = score_dng(doc["files"][0], truth)
    return rows


def test_the_score_is_the_issues():
    """CPSNR after sRGB encoding with one exposure scalar: a brighter copy scores perfectly, a
    colour cast does not, the 10-px border is ignored."""
    rng = np.random.default_rng(0)
    truth = rng.random((40, 40, 3)) * 0.8
    assert cpsnr(2.0 * truth, truth) > 100
    spoilt = truth.copy()
    spoilt[:10] = 1.0  # only inside the border
    spoilt[:, -10:] = 0.0
    assert cpsnr(spoilt, truth) > 100
    cast = truth * np.array([1.1, 1.0, 0.9])
    assert 20 < cpsnr(cast, truth) < 40
    # ±0.01 in sRGB units (a checkerboard, so the exposure match stays ~1) is 40 dB
    from mountcam.dng.preview import srgb_encode
    from mountcam.scene.loaders import srgb_decode

    truth = 0.1 + 0.7 * rng.random((40, 40, 3))
    sign = np.where((np.indices((40, 40)).sum(0) % 2)[..., None] == 0, 1.0, -1.0)
    off = srgb_decode(srgb_encode(truth) + 0.01 * sign).astype(np.float64)
    assert cpsnr(off, truth) == pytest.approx(40.0, abs=0.2)


def test_identity_camera_dng_develops_to_its_truth(tmp_path):
    """The DNG the comparison rests on: a flat colour comes back that colour from both
    developers (white balance and colour matrix are the identity), and a textured image is
    best matched unshifted (the DefaultCrop is the truth's grid, for LibRaw's crop too)."""
    from skimage import data

    from mountcam.lab.demosaic_accuracy import libraw_output, mountcam_output

    path = tmp_path / "colour.dng"
    truth = write_cfa_dng(np.broadcast_to([0.5, 0.25, 0.1], (64, 64, 3)), path)
    for out in (libraw_output(path, "AHD"), mountcam_output(path, "fast")):
        assert out.shape == truth.shape
        assert cpsnr(out, truth) > 80  # measured 102 (LibRaw), 95 dB (mountcam)

    path = tmp_path / "texture.dng"
    truth = write_cfa_dng(srgb8_to_linear(data.astronaut()[160:288, 180:308]), path)
    for out in (libraw_output(path, "AHD"), mountcam_output(path, "fast")):
        aligned = cpsnr(out[2:-2, 2:-2], truth[2:-2, 2:-2])
        for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            shifted = out[2 + dy : out.shape[0] - 2 + dy, 2 + dx : out.shape[1] - 2 + dx]
            assert cpsnr(shifted, truth[2:-2, 2:-2]) < aligned - 8  # measured 12-16 dB worse


def test_images_fast_beats_libraw_ahd(image_scores):
    fast_margin, _ = margins(image_scores)
    assert fast_margin >= 0.0, _table(image_scores)


def test_images_high_beats_libraw_aahd_by_1db(image_scores):
    _, high_margin = margins(image_scores)
    assert high_margin >= 1.0, _table(image_scores)


def test_twin_fast_beats_libraw_ahd(twin_scores):
    fast_margin, _ = margins(twin_scores)
    assert fast_margin >= 0.0, _table(twin_scores)


def test_twin_high_beats_libraw_aahd_by_1db(twin_scores):
    _, high_margin = margins(twin_scores)
    assert high_margin >= 1.0, _table(twin_scores)


def test_twin_regression_guards(twin_scores):
    """Not the acceptance: where the twin set stands today, so that a change that loses
    accuracy shows (measured +0.35 and +1.07 dB)."""
    fast_margin, high_margin = margins(twin_scores)
    assert fast_margin > 0.2, _table(twin_scores)
    assert high_margin > 0.8, _table(twin_scores)
    # On the star's aliased centre high is ahead of fast (measured 1.0 dB) and of AAHD (1.0)
    star = twin_scores["chart:siemens-star"]
    assert star["mountcam high"] > star["mountcam fast"] + 0.5, _table(twin_scores)
    assert star["mountcam high"] > star["LibRaw AAHD"] + 0.5, _table(twin_scores)


def _table(rows: dict[str, dict[str, float]]) -> str:
    lines = ["image: " + ", ".join(CONTENDERS)]
    for name, s in rows.items():
        lines.append(f"{name}: " + ", ".join(f"{s[c]:.2f}" for c in CONTENDERS))
    return "\n".join(lines)
