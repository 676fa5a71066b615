"""ReplayBackend (issue 12, acceptance 5): the camera's AE and AWB on a folder of DNGs, our own
and another camera's (another CFA phase, other colour matrices, another make)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import shoot
from mountcam import Camera, ReplayBackend
from mountcam.body import three_a
from mountcam.dng import read_dng, write_dng
from mountcam.dng.tiff import Ifd, TiffType, write_tiff
from mountcam.errors import UnreadableFile

S, L, B, R, SR, A = (
    TiffType.SHORT,
    TiffType.LONG,
    TiffType.BYTE,
    TiffType.RATIONAL,
    TiffType.SRATIONAL,
    TiffType.ASCII,
)
#: The other camera: XYZ -> its raw RGB (an invented but plausible sensor, not ours).
FOREIGN_XYZ_TO_CAMERA = np.array([[1.10, -0.30, -0.05], [-0.45, 1.35, 0.08], [-0.05, 0.20, 0.62]])
FOREIGN_PATTERN = "GBRG"
#: Camera neutral of the light in the foreign files: CIE illuminant A (XYZ of its white,
#: CIE 15:2004 Table T.3) through the other camera's matrix.
_A = FOREIGN_XYZ_TO_CAMERA @ np.array([1.09850, 1.0, 0.35585])
FOREIGN_NEUTRAL = _A / _A.max()


def write_foreign_dng(path, level: float, exposure_s: float, iso: int, seed: int) -> None:
    """A 14-bit GBRG DNG as another camera writes it: raw in IFD0, its own ColorMatrix1, an
    Exif IFD with the exposure. The scene is grey-on-average texture at ``level`` of clipping
    in green, lit by a light whose camera neutral is :data:`FOREIGN_NEUTRAL`."""
    rng = np.random.default_rng(seed)
    h, w = 480, 640
    black, white = 512, 16383
    # Texture: grey patches of varying brightness (average grey), so grey world is right.
    grey = np.kron(rng.uniform(0.4, 1.6, (h // 40, w // 40)), np.ones((40, 40)))
    grey *= level / grey.mean()
    mosaic = np.empty((h, w))
    for k, letter in enumerate(FOREIGN_PATTERN):
        i, j = divmod(k, 2)
        channel = FOREIGN_NEUTRAL["RGB".index(letter)]
        mosaic[i::2, j::2] = grey[i::2, j::2] * channel
    dn = black + mosaic * (white - black) + rng.normal(0, 6, (h, w))
    dn = np.clip(np.rint(dn), 0, white).astype("<u2")

    ifd = Ifd()
    ifd.set(254, L, 0)
    ifd.set(256, L, w)
    ifd.set(257, L, h)
    ifd.set(258, S, 16)
    ifd.set(259, S, 1)
    ifd.set(262, S, 32803)  # CFA
    ifd.set(271, A, "Foreign")
    ifd.set(272, A, "X1")
    ifd.set(277, S, 1)
    ifd.set(278, L, h)
    ifd.set(284, S, 1)
    ifd.set(33421, S, (2, 2))
    ifd.set(33422, B, ["RGB".index(c) for c in FOREIGN_PATTERN])
    ifd.set(50706, B, (1, 4, 0, 0))
    ifd.set(50707, B, (1, 1, 0, 0))
    ifd.set(50708, A, "Foreign X1")
    ifd.set(50710, B, (0, 1, 2))
    ifd.set(50711, S, 1)
    ifd.set(50714, L, black)
    ifd.set(50717, L, white)
    ifd.set(50721, SR, [float(v) for v in FOREIGN_XYZ_TO_CAMERA.ravel()])
    ifd.set(50728, R, [1.0, 1.0, 1.0])  # the other camera's own guess: none
    ifd.set(50778, S, 21)
    ifd.set_strips([dn.tobytes()])
    exif = Ifd()
    exif.set(33434, R, [exposure_s])  # ExposureTime
    exif.set(34855, S, iso)  # PhotographicSensitivity
    ifd.add_child(34665, exif)  # ExifIFD
    with open(path, "wb") as f:
        write_tiff(f, [ifd])


def angle_deg(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return math.degrees(math.acos(min(1.0, a @ b / np.linalg.norm(a) / np.linalg.norm(b))))


@pytest.fixture(scope="module")
def foreign_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("foreign")
    # Recorded 1.5 stops over and 2 stops under what the meter wants.
    write_foreign_dng(folder / "IMG_0001.dng", 0.32, 1 / 100, 200, seed=1)
    write_foreign_dng(folder / "IMG_0002.dng", 0.028, 1 / 250, 100, seed=2)
    return folder


def test_another_cameras_dngs_are_metered_and_balanced(foreign_folder, tmp_path):
    info = read_dng(foreign_folder / "IMG_0001.dng")
    assert info.cfa_pattern == FOREIGN_PATTERN and info.make == "Foreign"
    camera = Camera(ReplayBackend(foreign_folder))
    camera.set_controls(metering="average")
    for _ in range(2):
        frame = camera.capture()
        assert frame.cfa_pattern == FOREIGN_PATTERN
        # AE: the metered frame's grey lands at the meter's target (ISO 2720 calibration).
        level, _ = three_a.green_level(frame)
        assert level.mean() == pytest.approx(three_a.TARGET_LEVEL, rel=0.03)
        # AWB from the raw statistics, through the other camera's CFA phase and matrices.
        assert angle_deg(frame.metadata.as_shot_neutral, FOREIGN_NEUTRAL) < 1.0
    # The replayed frame is a DNG of its own, with the other camera's colour matrix.
    out = read_dng(write_dng(frame, tmp_path / "replayed.dng"))
    np.testing.assert_allclose(out.color_matrix_1, FOREIGN_XYZ_TO_CAMERA, atol=1e-4)
    assert out.cfa_pattern == FOREIGN_PATTERN
    import rawpy

    with rawpy.imread(str(tmp_path / "replayed.dng")) as raw:
        assert raw.raw_image.shape == frame.mosaic.shape


def test_presets_go_through_the_files_own_colour_matrix(foreign_folder):
    camera = Camera(ReplayBackend(foreign_folder))
    camera.set_controls(white_balance="cloudy")  # D65, the matrix's own illuminant
    neutral = np.array(camera.capture().metadata.as_shot_neutral)
    d65_xyz = np.array([0.95047, 1.0, 1.08883])
    expected = FOREIGN_XYZ_TO_CAMERA @ d65_xyz
    assert angle_deg(neutral, expected) < 0.05


def test_our_own_dngs_replay_with_the_same_decisions(tmp_path):
    """Shots of a grey card by the twin, replayed: the meter lands them at the same level and
    the neutral is the one the twin's light gives."""
    shots = tmp_path / "shots"
    res = shoot(
        shots,
        *("--scene", "chart:flat", "--reflectance", "0.18", "--illuminant", "A"),
        *("--crop", "256x192", "--metering", "average", "--seed", "3", "--ev", "1.5"),
    )
    true = res["settings"]["true_neutral"]
    camera = Camera(ReplayBackend(shots))
    camera.set_controls(metering="average")
    frame = camera.capture()
    level, _ = three_a.green_level(frame)
    assert level.mean() == pytest.approx(three_a.TARGET_LEVEL, rel=0.04)
    assert angle_deg(frame.metadata.as_shot_neutral, true) < 1.0
    assert frame.metadata.exposure_s * frame.metadata.iso == pytest.approx(
        res["settings"]["exposure_s"] * res["settings"]["iso"] / 2**1.5, rel=0.05
    )
    assert frame.metadata.lens_name == "mountcam main 8.7 mm f/1.9"  # from the file's Exif


def test_an_empty_or_missing_folder_is_refused(tmp_path):
    with pytest.raises(UnreadableFile, match="no .dng files"):
        ReplayBackend(tmp_path)
    with pytest.raises(UnreadableFile, match="no such folder"):
        ReplayBackend(tmp_path / "nope")
