"""``mountcam develop`` end to end.

Acceptance 4: a DNG not written by mountcam (made here with tifffile: big-endian, minimum tags,
GRBG, one BlackLevel, no ForwardMatrix, no preview, no DefaultCrop) develops with the colours
and the geometry that were put into it. Acceptance 5: a non-raw file (PNG, text), a truncated
DNG and an unsupported CFA each get a clear error, exit status 2, and nothing written, while the
other files of the same run are still developed. Plus: names that never overwrite, EXIF and
ICC in the JPEG as exiftool sees them, ``shoot --jpeg``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli, shoot

# Linear sRGB (D65) -> XYZ, IEC 61966-2-1.
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
BLACK, WHITE = 512, 16383
H, W = 128, 192
# Patches (top, left, bottom, right) and their linear camera RGB (= linear sRGB here).
PATCHES = {
    (0, 0, 64, 64): (0.40, 0.20, 0.10),
    (0, 64, 64, 128): (0.10, 0.30, 0.50),
    (0, 128, 64, 192): (0.18, 0.18, 0.18),
    (64, 0, 128, 64): (0.05, 0.40, 0.08),
    (64, 64, 128, 128): (0.60, 0.55, 0.12),
    (64, 128, 128, 192): (0.02, 0.02, 0.02),
}
SQUARE = (84, 150, 110, 180)  # a white square: (top, left, bottom, right)


def _scene() -> np.ndarray:
    rgb = np.zeros((H, W, 3))
    for (t, lf, b, r), colour in PATCHES.items():
        rgb[t:b, lf:r] = colour
    t, lf, b, r = SQUARE
    rgb[t:b, lf:r] = 0.9
    return rgb


def _mosaic(rgb: np.ndarray, pattern: str = "GRBG") -> np.ndarray:
    index = {"R": 0, "G": 1, "B": 2}
    cfa = np.empty(rgb.shape[:2])
    for k, letter in enumerate(pattern):
        i, j = divmod(k, 2)
        cfa[i::2, j::2] = rgb[i::2, j::2, index[letter]]
    return np.round(BLACK + cfa * (WHITE - BLACK)).astype(np.uint16)


def write_foreign_dng(path: Path, *, repeat_dim=(2, 2), pattern=(1, 0, 2, 1)) -> Path:
    """A plain CFA DNG with the minimum tags, as another camera might write it (big-endian)."""
    import tifffile

    cam_from_xyz = np.linalg.inv(SRGB_TO_XYZ)  # this "camera" sees linear sRGB
    cm = [(int(round(v * 10000)), 10000) for v in cam_from_xyz.ravel()]
    mosaic = _mosaic(_scene())
    if repeat_dim != (2, 2):
        pattern = tuple(([1, 0, 2, 1] * 4)[: repeat_dim[0] * repeat_dim[1]])
    tags = [
        (271, "s", 0, "Foreign", True),  # Make
        (272, "s", 0, "X1", True),  # Model
        (33421, "H", 2, repeat_dim, True),  # CFARepeatPatternDim
        (33422, "B", len(pattern), pattern, True),  # CFAPattern
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50708, "s", 0, "Foreign Camera X1", True),  # UniqueCameraModel
        (50714, "H", 1, (BLACK,), True),  # BlackLevel, one value (BlackLevelRepeatDim 1×1)
        (50717, "H", 1, (WHITE,), True),  # WhiteLevel
        (50721, "2i", 9, [x for pair in cm for x in pair], True),  # ColorMatrix1 (SRATIONAL)
        (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True),  # AsShotNeutral
        (50778, "H", 1, (21,), True),  # CalibrationIlluminant1 = D65
    ]
    tifffile.imwrite(
        path,
        mosaic,
        byteorder=">",
        photometric=32803,
        extratags=tags,
    )
    return path


def _linear_tiff(out_dir: Path, dng: Path) -> np.ndarray:
    import tifffile

    code, stdout, stderr = run_cli(
        "develop", str(dng), "--linear", "--out-dir", str(out_dir), "--json", "--jobs", "1"
    )
    assert code == 0, stderr
    record = json.loads(stdout)[0]
    pixels = tifffile.imread(record["output"])
    assert pixels.dtype == np.float32  # --linear writes float: 1.0 = white, highlights kept
    return pixels.astype(np.float64)


def test_acceptance_4_a_foreign_dng_develops_with_its_colours_and_geometry(tmp_path):
    from mountcam.dng import read_dng

    dng = write_foreign_dng(tmp_path / "foreign.dng")
    info = read_dng(dng)
    assert info.cfa_pattern == "GRBG" and info.black_level_dn == (BLACK,) * 4
    assert info.preview is None

    out = _linear_tiff(tmp_path / "out", dng)
    assert out.shape == (H, W, 3)  # no DefaultCrop: the whole image
    truth = _scene()
    m = 6  # patch interiors, away from demosaic transitions
    for (t, lf, b, r), colour in PATCHES.items():
        got = np.median(out[t + m : b - m, lf + m : r - m].reshape(-1, 3), axis=0)
        assert got == pytest.approx(colour, abs=0.003), (colour, got)
    # Geometry: the white square's edges exactly where they were put (first pixel past half-way).
    t, lf, b, r = SQUARE
    row = out[(t + b) // 2, :, 1]
    col = out[:, (lf + r) // 2, 1]
    half_row = (row[lf + 4] + row[lf - 6]) / 2
    half_col = (col[t + 4] + col[t - 6]) / 2
    left_edge = np.argmax(row[lf - 6 :] > half_row) + lf - 6
    top_edge = np.argmax(col[t - 6 :] > half_col) + t - 6
    assert left_edge == lf and top_edge == t
    assert np.abs(out[t + 4 : b - 4, lf + 4 : r - 4] - 0.9).max() < 0.03
    assert np.abs(out - np.clip(truth, 0, 1))[m:-m, m:-m].mean() < 0.02

    # The default (display) rendering works too and keeps a grey patch neutral.
    code, stdout, stderr = run_cli("develop", str(dng), "-o", str(tmp_path / "f.jpg"))
    assert code == 0, stderr
    from PIL import Image

    jpg = np.asarray(Image.open(tmp_path / "f.jpg")).astype(float)
    grey = jpg[10:54, 138:182].reshape(-1, 3).mean(axis=0)
    assert np.ptp(grey) < 6 and 60 < grey.mean() < 200


def _no_outputs(folder: Path, keep: set[str]) -> bool:
    return {p.name for p in folder.iterdir()} == keep


def test_acceptance_5_bad_inputs_get_a_clear_error_and_write_nothing(tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "photo.png")
    (tmp_path / "notes.txt").write_text("not a raw file\n")
    good = write_foreign_dng(tmp_path / "good.dng")
    (tmp_path / "cut.dng").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    write_foreign_dng(tmp_path / "xtrans.dng", repeat_dim=(4, 4))
    inputs = ["photo.png", "notes.txt", "cut.dng", "xtrans.dng", "good.dng"]
    before = {p.name for p in tmp_path.iterdir()}

    code, stdout, stderr = run_cli("develop", *[str(tmp_path / n) for n in inputs], "--jobs", "1")
    assert code == 2
    assert "Traceback" not in stderr + stdout
    lines = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 4
    words = {
        "photo.png": "not a raw file (a png image)",
        "notes.txt": "not a raw file (a text file)",
        "cut.dng": "truncated",
        "xtrans.dng": "2×2 bayer",
    }
    for name, word in words.items():
        (line,) = [ln for ln in lines if name in ln]
        assert word in line.lower(), line
    # Nothing written for the bad ones, and the good one still developed.
    assert _no_outputs(tmp_path, before | {"good.jpg"})


def test_bad_options_are_refused_before_anything_is_written(tmp_path):
    dng = write_foreign_dng(tmp_path / "a.dng")
    for args, words in [
        (["--linear", "--format", "jpeg"], "16 bits"),
        (["--format", "gif"], "jpeg, tiff16"),
        (["--look", "sepia"], "standard"),
        (["--wb", "moonlight"], "kelvin"),
        (["--exposure", "9"], "-5"),
        (["--jobs", "0"], "at least 1"),
        (["-o", str(tmp_path / "x.jpg"), "--out-dir", str(tmp_path)], "not both"),
    ]:
        code, stdout, stderr = run_cli("develop", str(dng), *args)
        assert code == 2, (args, stderr)
        assert words.lower() in stderr.lower(), (args, stderr)
        assert "Traceback" not in stderr
    assert _no_outputs(tmp_path, {"a.dng"})


def test_names_count_up_and_an_explicit_name_is_never_overwritten(tmp_path):
    dng = write_foreign_dng(tmp_path / "a.dng")
    for expected in ("a.jpg", "a-1.jpg"):
        code, stdout, stderr = run_cli("develop", str(dng), "--json")
        assert code == 0, stderr
        assert Path(json.loads(stdout)[0]["output"]).name == expected
    before = (tmp_path / "a.jpg").read_bytes()
    code, _, stderr = run_cli("develop", str(dng), "-o", str(tmp_path / "a.jpg"))
    assert code == 2 and "already exists" in stderr
    assert (tmp_path / "a.jpg").read_bytes() == before


def test_two_jobs_develop_several_files_in_worker_processes(tmp_path):
    dngs = [str(write_foreign_dng(tmp_path / f"{n}.dng")) for n in ("p", "q", "r")]
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(
        "develop", *dngs, "--jobs", "2", "--out-dir", str(out), "--format", "png", "--json"
    )
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["p.png", "q.png", "r.png"]
    assert all(r["error"] is None for r in json.loads(stdout))


def test_one_job_saves_each_picture_while_the_next_develops_and_keeps_order(tmp_path):
    # --jobs 1 saves picture i on a thread while i+1 develops: the records stay in input
    # order, a failure among them stays its own, and each file is what a lone develop writes.
    dngs = [write_foreign_dng(tmp_path / f"{n}.dng") for n in "pqr"]
    (tmp_path / "bad.dng").write_text("not a raw file\n")
    inputs = [str(dngs[0]), str(tmp_path / "bad.dng"), str(dngs[1]), str(dngs[2])]
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(
        "develop", *inputs, "--jobs", "1", "--out-dir", str(out), "--format", "png", "--json"
    )
    assert code == 2 and "bad.dng" in stderr
    records = json.loads(stdout)
    assert [Path(r["input"]).name for r in records] == ["p.dng", "bad.dng", "q.dng", "r.dng"]
    assert [r["output"] and Path(r["output"]).name for r in records] == [
        "p.png",
        None,
        "q.png",
        "r.png",
    ]
    (tmp_path / "alone").mkdir()
    for dng in dngs:
        alone = tmp_path / "alone" / f"{dng.stem}.png"
        code, _, stderr = run_cli("develop", str(dng), "-o", str(alone))
        assert code == 0, stderr
        assert (out / alone.name).read_bytes() == alone.read_bytes()


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is installed by `make test`")
def test_shoot_jpeg_writes_a_developed_jpeg_with_exif_and_icc(out_dir):
    res = shoot(
        out_dir, "--scene", "chart:colorchecker", "--crop", "128x96", "--seed", "4", "--jpeg"
    )
    (jpeg,) = res["jpegs"]
    assert Path(jpeg).name == Path(res["files"][0]).with_suffix(".jpg").name
    doc = json.loads(
        subprocess.run(
            ["exiftool", "-j", "-a", "-G1", jpeg], capture_output=True, text=True, check=True
        ).stdout
    )[0]
    assert doc["IFD0:Make"] == "mountcam"
    assert doc["ExifIFD:ISO"] == res["settings"]["iso"]
    assert doc["ExifIFD:LensModel"] == res["settings"]["lens"]
    assert doc["ICC_Profile:ProfileDescription"].startswith("sRGB")
    assert doc["File:ImageWidth"] == 128 - 16  # the DNG's DefaultCrop (8 px margins)


def test_the_output_name_chooses_the_format(tmp_path):
    import tifffile

    dng = write_foreign_dng(tmp_path / "a.dng")
    code, _, stderr = run_cli("develop", str(dng), "-o", str(tmp_path / "a.tif"))
    assert code == 0, stderr
    assert tifffile.imread(tmp_path / "a.tif").dtype == np.uint16
    code, _, stderr = run_cli("develop", str(dng), "-o", str(tmp_path / "a.webp"))
    assert code == 2 and "--format" in stderr
    assert not (tmp_path / "a.webp").exists()


def test_develop_does_not_import_colour_science(tmp_path):
    # Importing colour-science takes 1-2 s, longer than developing a 50 MP picture; the
    # develop command must not pay it (the CCT is computed by mountcam.develop.colour).
    dng = write_foreign_dng(tmp_path / "foreign.dng")
    code = (
        "import sys\n"
        "from mountcam.app.cli import main\n"
        f"sys.argv = ['mountcam', 'develop', {str(dng)!r}, '--wb', '4300', '-o', "
        f"{str(tmp_path / 'out.jpg')!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print('colour-science imported:', 'colour' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out.jpg").is_file()
    assert "colour-science imported: False" in out.stdout
