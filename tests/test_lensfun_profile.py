"""``mountcam lenses lensfun-xml``: mountcam's cameras and lenses as lensfun reads them.

Read back with lensfunpy (lensfun's own parser and modifier), the file must let lensfun find
each module by the Exif Make/Model our DNGs carry and each lens by its Exif LensModel, and
lensfun's corrections must undo what the twin does: its vignetting correction flattens the
twin's fall-off, its distortion model is the lens file's.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import run_cli
from mountcam.optics.lens import FULL_FRAME_HALF_DIAGONAL_MM, load_lens
from mountcam.optics.lensfun_profile import camera_model, relative_illumination

lensfunpy = pytest.importorskip("lensfunpy")


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    path = tmp_path_factory.mktemp("lensfun") / "mountcam.xml"
    code, _, stderr = run_cli("lenses", "lensfun-xml", "--out", str(path))
    assert code == 0, stderr
    return lensfunpy.Database(paths=[str(path)], load_common=False, load_bundled=False)


def _camera(db, module: str):
    (camera,) = db.find_cameras("mountcam", camera_model(module))
    return camera


@pytest.mark.parametrize(
    ("module", "lens_id", "f_number"),
    [("main", "main-8.7", 1.9), ("m", "summilux-m-21", 1.4), ("m", "summicron-m-35", 2.0)],
)
def test_lensfun_flattens_the_twins_fall_off(database, module, lens_id, f_number):
    lens = load_lens(lens_id)
    camera = _camera(database, module)
    found = database.find_lenses(camera, None, lens.name)
    assert found and found[0].model == lens.name
    w, h = 400, 300
    mod = lensfunpy.Modifier(found[0], camera.crop_factor, w, h)
    mod.initialize(lens.focal_mm, f_number, 1000.0, pixel_format=np.float32)
    # the 1-inch sensor's pixels, as ρ, and the twin's relative illumination there
    yy, xx = np.mgrid[0:h, 0:w]
    x_mm = (xx + 0.5 - w / 2) * 13.1072 / w
    y_mm = (yy + 0.5 - h / 2) * 9.8304 / h
    rho = np.hypot(x_mm, y_mm) / FULL_FRAME_HALF_DIAGONAL_MM
    image = np.repeat(relative_illumination(lens, rho, f_number)[..., None], 3, axis=2)
    image = np.ascontiguousarray(image, dtype=np.float32)
    before = float(image.min())
    assert mod.apply_color_modification(image)
    assert before < 0.9
    assert np.max(np.abs(image - 1.0)) < 0.02, (lens_id, image.min(), image.max())


def test_distortion_and_lateral_colour_convert_exactly(database):
    """lensfun's poly5 and linear TCA, in lensfun's radius (half the frame's shorter side),
    are the lens file's poly and linear-um in ρ."""
    lens = load_lens("summilux-m-21")
    camera = _camera(database, "m")
    (entry,) = database.find_lenses(camera, None, lens.name)[:1]
    (dist,) = entry.calib_distortion
    k1, k2 = dist.terms[:2]
    s = 12.0 / FULL_FRAME_HALF_DIAGONAL_MM  # R = 1 at 12 mm on the 36 × 24 mm frame
    for rho in (0.1, 0.3787, 1.0):
        big_r = rho / s
        assert 1 + k1 * big_r**2 + k2 * big_r**4 == pytest.approx(
            float(lens.distortion.scale(rho)), abs=1e-7
        )
    (tca,) = entry.calib_tca
    red_um, blue_um = lens.lateral_color.shift_um(1.0)
    assert (tca.terms[0] - 1.0) * FULL_FRAME_HALF_DIAGONAL_MM * 1e3 == pytest.approx(
        red_um, abs=1e-3
    )
    assert (tca.terms[1] - 1.0) * FULL_FRAME_HALF_DIAGONAL_MM * 1e3 == pytest.approx(
        blue_um, abs=1e-3
    )


def test_only_mountcam_cameras_are_offered_its_m_lens_figures(database):
    """The M lenses go under a mount of mountcam's own: a real Leica keeps lensfun's measured
    profiles, and the M module still accepts lensfun's Leica M lenses."""
    (mount,) = [m for m in database.mounts if m.name == "mountcam M"]
    assert "Leica M" in mount.compat
    lens = database.find_lenses(_camera(database, "m"), None, "Summicron-M 28 mm f/2 ASPH.")[0]
    assert lens.mounts == ["mountcam M"]


def test_install_writes_into_lensfuns_user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    code, _, stderr = run_cli("lenses", "lensfun-xml", "--install")
    assert code == 0, stderr
    text = (tmp_path / "lensfun" / "mountcam.xml").read_text(encoding="utf-8")
    assert "<model>mountcam twin main</model>" in text
    code, _, stderr = run_cli("lenses", "lensfun-xml", "--install")  # replaces its own file
    assert code == 0, stderr
    code, _, stderr = run_cli(
        "lenses", "lensfun-xml", "--out", str(tmp_path / "lensfun" / "mountcam.xml")
    )
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and "exists" in stderr
