"""Output: ICC profiles that LittleCMS (Pillow's ImageCms) loads and transforms with, sRGB equal
to Pillow's built-in one; JPEG / 16-bit TIFF / PNG whose pixels read back as written, with the
DNG's EXIF as exiftool sees it and the ICC profile embedded; atomic, no-overwrite writes."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import numpy as np
import pytest

from conftest import shoot
from mountcam.develop.icc import SPACES, icc_profile, rgb_to_xyz_matrix
from mountcam.develop.image import Image
from mountcam.develop.output import save_image
from mountcam.develop.settings import DevelopSettings
from mountcam.dng import read_dng
from mountcam.errors import InvalidSetting, OutputExists

needs_exiftool = pytest.mark.skipif(
    shutil.which("exiftool") is None, reason="exiftool is installed by `make test`"
)


def _cms(name: str):
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(io.BytesIO(icc_profile(name)))


def _transform(src, dst, pixels: np.ndarray) -> np.ndarray:
    from PIL import Image as PILImage
    from PIL import ImageCms

    t = ImageCms.buildTransform(src, dst, "RGB", "RGB", renderingIntent=1)
    return np.asarray(ImageCms.applyTransform(PILImage.fromarray(pixels), t))


def _srgb_encode(linear: np.ndarray) -> np.ndarray:
    a = np.clip(linear, 0, 1)
    return np.where(a <= 0.0031308, 12.92 * a, 1.055 * a ** (1 / 2.4) - 0.055)


def _srgb_decode(code: np.ndarray) -> np.ndarray:
    return np.where(code <= 0.04045, code / 12.92, ((code + 0.055) / 1.055) ** 2.4)


@pytest.mark.parametrize("name", list(SPACES))
def test_profiles_load_in_littlecms_as_v4_display_profiles(name):
    from PIL import ImageCms

    profile = _cms(name)
    assert ImageCms.getProfileDescription(profile).strip() == SPACES[name][0]
    assert profile.profile.version == pytest.approx(4.3)
    assert profile.profile.device_class == "mntr"
    assert profile.profile.xcolor_space.strip() == "RGB"
    # LittleCMS's own reading of the colorants: D50-adapted, summing to the D50 white.
    colorants = np.array(
        [profile.profile.red_colorant[0], profile.profile.green_colorant[0]]
        + [profile.profile.blue_colorant[0]]
    )
    assert colorants.sum(axis=0) == pytest.approx([0.9642, 1.0, 0.8249], abs=2e-4)


def test_srgb_agrees_with_pillows_builtin_srgb_to_one_code_value():
    from PIL import ImageCms

    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    for p in (pixels, ramp):
        out = _transform(_cms("srgb"), ImageCms.createProfile("sRGB"), p)
        assert np.abs(out.astype(int) - p).max() <= 1


def test_display_p3_transforms_as_its_primaries_say():
    """In-gamut sRGB colours written as Display P3 code values (computed from the primaries):
    LittleCMS turns those P3 codes into the sRGB codes the primaries predict."""
    from PIL import ImageCms

    rng = np.random.default_rng(1)
    srgb = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    srgb_to_p3 = np.linalg.inv(rgb_to_xyz_matrix("display-p3")) @ rgb_to_xyz_matrix("srgb")
    p3_linear = _srgb_decode(srgb / 255.0) @ srgb_to_p3.T
    p3 = np.round(_srgb_encode(p3_linear) * 255).astype(np.uint8)
    back = _transform(_cms("display-p3"), ImageCms.createProfile("sRGB"), p3)
    # Expected from the quantised P3 codes themselves (8-bit rounding near black is amplified
    # by the sRGB curve, so comparing with the original codes would test the rounding).
    expected = _srgb_encode(_srgb_decode(p3 / 255.0) @ np.linalg.inv(srgb_to_p3).T) * 255
    assert np.abs(back - expected).max() <= 1.0
    assert np.abs(back.astype(int) - srgb).mean() < 0.5
    # ... and differ from the input code values: P3 is not sRGB.
    assert np.abs(p3.astype(int) - srgb).max() > 20


def test_linear_rec709_has_a_unit_gamma():
    from PIL import ImageCms

    linear = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    out = _transform(_cms("linear-rec709"), ImageCms.createProfile("sRGB"), linear)
    expected = np.round(_srgb_encode(linear / 255.0) * 255)
    assert np.abs(out.astype(int) - expected).max() <= 1


def test_unknown_colour_space_is_refused():
    with pytest.raises(InvalidSetting, match="srgb"):
        icc_profile("adobe-rgb")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    d = tmp_path_factory.mktemp("src")
    res = shoot(d, "--scene", "chart:colorchecker", "--crop", "96x64", "--seed", "3")
    return read_dng(res["files"][0])


def _image(source, color_space="srgb", linear=False, dtype=np.float32) -> Image:
    rng = np.random.default_rng(2)
    pixels = rng.random((40, 56, 3), dtype=np.float32)
    pixels[0, 0] = (1.2, -0.1, 0.5)  # out of range: clipped by the encoders
    img = Image(pixels, color_space, linear, source, DevelopSettings())
    if dtype != np.float32:
        img = Image(
            img.to_uint8() if dtype == np.uint8 else img.to_uint16(),
            color_space,
            linear,
            source,
            DevelopSettings(),
        )
    return img


def _exiftool(path) -> dict:
    """exiftool's reading of ``path`` (printed values) plus its ``-validate`` verdict."""

    def run(*args: str) -> dict:
        cmd = ["exiftool", "-j", "-a", "-G1", *args, str(path)]
        return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)[0]

    return run() | run("-validate")


def test_pixels_read_back_as_written(tmp_path, source):
    import cv2
    import tifffile
    from PIL import Image as PILImage

    img = _image(source)
    jpg = save_image(img, tmp_path / "a.jpg", "jpeg", quality=100, subsampling="4:4:4")
    got = np.asarray(PILImage.open(jpg)).astype(int)
    assert np.abs(got - img.to_uint8()).mean() < 1.5  # JPEG at q100 4:4:4: ~1 code value
    tif = save_image(img, tmp_path / "a.tif", "tiff16")
    assert np.array_equal(tifffile.imread(tif), img.to_uint16())
    png = save_image(img, tmp_path / "a.png", "png")
    assert np.array_equal(cv2.imread(str(png))[..., ::-1], img.to_uint8())
    png16 = save_image(img, tmp_path / "b.png", "png16")
    back = cv2.imread(str(png16), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert back.dtype == np.uint16 and np.array_equal(back, img.to_uint16())
    # Pillow finds the ICC profile in every file.
    for p in (jpg, png):
        assert PILImage.open(p).info["icc_profile"] == icc_profile("srgb")
    assert tifffile.TiffFile(tif).pages[0].tags[34675].value == icc_profile("srgb")


def test_quantised_pixels_are_written_as_they_are(tmp_path, source):
    import tifffile

    img16 = _image(source, dtype=np.uint16)
    tif = save_image(img16, tmp_path / "q.tif", "tiff16")
    assert np.array_equal(tifffile.imread(tif), img16.pixels)


@needs_exiftool
@pytest.mark.parametrize("fmt, name", [("jpeg", "x.jpg"), ("tiff16", "x.tif"), ("png16", "x.png")])
def test_exiftool_sees_the_dngs_exif_and_the_icc_profile(tmp_path, source, fmt, name):
    path = save_image(_image(source, "display-p3"), tmp_path / name, fmt)
    doc = _exiftool(path)
    assert doc["ExifTool:Validate"] == "OK", doc
    assert doc["IFD0:Make"] == "mountcam" and doc["IFD0:Model"] == source.model
    assert doc["IFD0:Orientation"] == "Horizontal (normal)"
    assert doc["ExifIFD:ISO"] == source.iso
    assert doc["ExifIFD:FNumber"] == pytest.approx(source.f_number)
    assert doc["ExifIFD:FocalLength"] == f"{source.focal_mm:g} mm"
    assert doc["ExifIFD:LensModel"] == source.lens_model
    assert doc["ExifIFD:DateTimeOriginal"] == source.datetime_original.strftime("%Y:%m:%d %H:%M:%S")
    assert doc["ExifIFD:ExposureTime"] in (
        f"1/{round(1 / source.exposure_s)}",
        str(source.exposure_time),
    )
    assert doc["ExifIFD:ColorSpace"] == "Uncalibrated"
    assert doc["ICC_Profile:ProfileDescription"] == "Display P3 (mountcam)"
    if fmt == "jpeg":
        assert doc["File:YCbCrSubSampling"].startswith("YCbCr4:2:0")
        assert "JFIF:JFIFVersion" not in doc  # Exif APP1 comes right after SOI


@needs_exiftool
def test_artist_and_copyright_are_copied(tmp_path, source):
    from dataclasses import replace

    signed = replace(source, artist="Ada Lovelace", copyright="© 2026 Ada Lovelace")
    img = Image(_image(source).pixels, "srgb", False, signed, DevelopSettings())
    doc = _exiftool(save_image(img, tmp_path / "s.jpg"))
    assert doc["IFD0:Artist"] == "Ada Lovelace"
    assert "2026 Ada Lovelace" in doc["IFD0:Copyright"]


def test_no_source_still_writes_a_valid_file(tmp_path):
    from PIL import Image as PILImage

    img = Image(np.full((8, 8, 3), 0.5, np.float32), "srgb", False, None, DevelopSettings())
    path = save_image(img, tmp_path / "n.jpg")
    assert PILImage.open(path).size == (8, 8)


def test_never_overwrites_and_leaves_no_temporary(tmp_path, source):
    img = _image(source)
    path = save_image(img, tmp_path / "o.jpg")
    before = path.read_bytes()
    with pytest.raises(OutputExists, match="already exists"):
        save_image(_image(source, "display-p3"), path)
    assert path.read_bytes() == before
    save_image(_image(source, "display-p3"), path, overwrite=True)
    assert path.read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.jpg"]


def test_bad_requests_are_refused_before_writing(tmp_path, source):
    with pytest.raises(InvalidSetting, match="16 bits"):
        save_image(_image(source, "linear-rec709", linear=True), tmp_path / "l.jpg", "jpeg")
    with pytest.raises(InvalidSetting, match="format"):
        save_image(_image(source), tmp_path / "x.webp", "webp")
    with pytest.raises(InvalidSetting, match="quality"):
        save_image(_image(source), tmp_path / "x.jpg", quality=0)
    with pytest.raises(InvalidSetting, match="does not exist"):
        save_image(_image(source), tmp_path / "nope" / "x.jpg")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_written_gives_a_clear_error(tmp_path, source):
    import os

    from mountcam.errors import CannotWrite

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(CannotWrite, match="cannot write"):
            save_image(_image(source), locked / "x.jpg")
    finally:
        locked.chmod(0o700)


def test_a_full_disk_gives_a_clear_error_and_leaves_nothing(tmp_path, source, monkeypatch):
    import errno
    import os

    from mountcam.errors import CannotWrite

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(CannotWrite, match="No space left"):
        save_image(_image(source), tmp_path / "x.jpg")
    assert list(tmp_path.iterdir()) == []
