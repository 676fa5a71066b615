"""Image and depth files: decoding, errors, rendering onto grids."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import colour
import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from mountcam.errors import SceneError, UnreadableFile
from mountcam.scene import ImageContent, ViewGrid, load_depth, load_image_content, read_linear_rgb
from mountcam.scene.exr import read_header, write_exr
from mountcam.scene.loaders import srgb_decode


@pytest.fixture(scope="module")
def codes8() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    img[0, :3] = [[0, 0, 0], [255, 255, 255], [10, 128, 200]]
    return img


def _write_png(path: Path, rgb: np.ndarray) -> Path:
    bgr = rgb[..., ::-1] if rgb.ndim == 3 else rgb
    assert cv2.imwrite(str(path), np.ascontiguousarray(bgr))
    return path


def test_srgb_decode_matches_iec_61966_2_1() -> None:
    v = np.linspace(0, 1, 1001)
    ref = colour.cctf_decoding(v, function="sRGB")
    np.testing.assert_allclose(srgb_decode(v), ref, atol=1e-7)


def test_8_and_16_bit_png_agree(tmp_path: Path, codes8: np.ndarray) -> None:
    a = read_linear_rgb(_write_png(tmp_path / "a8.png", codes8))
    b = read_linear_rgb(_write_png(tmp_path / "a16.png", codes8.astype(np.uint16) * 257))
    assert a.dtype == np.float32 and a.shape == (30, 40, 3)
    np.testing.assert_allclose(a, b, atol=1e-7)
    np.testing.assert_allclose(a[0, 0], 0.0)
    np.testing.assert_allclose(a[0, 1], 1.0)
    ref = colour.cctf_decoding(np.array([10, 128, 200]) / 255, function="sRGB")
    np.testing.assert_allclose(a[0, 2], ref, rtol=1e-6)  # channel order is R, G, B


def test_grey_and_alpha(tmp_path: Path, codes8: np.ndarray) -> None:
    grey = read_linear_rgb(_write_png(tmp_path / "g.png", codes8[..., 0]))
    assert grey.shape == (30, 40, 3)
    np.testing.assert_array_equal(grey[..., 0], grey[..., 2])
    rgba = np.concatenate([codes8, np.full((30, 40, 1), 7, np.uint8)], axis=2)
    bgra = rgba[..., [2, 1, 0, 3]]
    assert cv2.imwrite(str(tmp_path / "a.png"), bgra)
    np.testing.assert_array_equal(
        read_linear_rgb(tmp_path / "a.png"), read_linear_rgb(_write_png(tmp_path / "b.png", codes8))
    )


def test_jpeg(tmp_path: Path, codes8: np.ndarray) -> None:
    smooth = cv2.GaussianBlur(codes8, (0, 0), 3)
    Image.fromarray(smooth).save(tmp_path / "a.jpg", quality=98)
    out = read_linear_rgb(tmp_path / "a.jpg")
    np.testing.assert_allclose(out, srgb_decode(smooth / 255), atol=0.02)


def test_tiff_integer_and_float(tmp_path: Path, codes8: np.ndarray) -> None:
    tifffile.imwrite(tmp_path / "a8.tif", codes8, photometric="rgb")
    tifffile.imwrite(tmp_path / "a16.tif", codes8.astype(np.uint16) * 257, photometric="rgb")
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(codes8, 2, 0), photometric="rgb",
                     planarconfig="separate")  # fmt: skip
    ref = read_linear_rgb(_write_png(tmp_path / "a.png", codes8))
    for name in ("a8.tif", "a16.tif", "planar.tif"):
        np.testing.assert_allclose(read_linear_rgb(tmp_path / name), ref, atol=1e-7, err_msg=name)
    linear = np.random.default_rng(1).random((5, 6, 3)).astype(np.float32) * 4
    linear[0, 0] = [np.nan, np.inf, -1.0]
    tifffile.imwrite(tmp_path / "f.tif", linear, photometric="rgb")
    out = read_linear_rgb(tmp_path / "f.tif")
    np.testing.assert_array_equal(out[1:], linear[1:])  # float = linear, as is
    np.testing.assert_array_equal(out[0, 0], [0.0, 65504.0, -1.0])


@pytest.mark.parametrize("compression", ["NONE", "ZIPS", "ZIP"])
@pytest.mark.parametrize("pixel_type", ["HALF", "FLOAT"])
def test_exr_round_trip(tmp_path: Path, compression: str, pixel_type: str) -> None:
    rng = np.random.default_rng(2)
    rgb = (rng.random((37, 23, 3)) * 10).astype(np.float32)
    rgb[:10] = np.linspace(0, 1, 23, dtype=np.float32)[None, :, None]  # compressible part
    path = tmp_path / "a.exr"
    write_exr(path, rgb, compression=compression, pixel_type=pixel_type)
    out = read_linear_rgb(path)
    expected = rgb.astype(np.float16).astype(np.float32) if pixel_type == "HALF" else rgb
    np.testing.assert_array_equal(out, expected)
    header = read_header(path.read_bytes())
    assert (header.width, header.height) == (23, 37)
    assert [c.name for c in header.channels] == ["B", "G", "R"]


def test_exr_zip_bytes_follow_openexr_layout(tmp_path: Path) -> None:
    """Decode one ZIP chunk by hand (zlib, delta predictor, byte de-interleave)."""
    rgb = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3) / 7
    path = tmp_path / "z.exr"
    write_exr(path, rgb, compression="ZIP", pixel_type="FLOAT")
    data = path.read_bytes()
    header = read_header(data)
    (offset,) = struct.unpack("<Q", data[header.offsets_at : header.offsets_at + 8])
    y, size = struct.unpack("<ii", data[offset : offset + 8])
    raw = data[offset + 8 : offset + 8 + size]
    if size < 2 * 3 * 3 * 4:  # stored compressed
        t = bytearray(zlib.decompress(raw))
        for i in range(1, len(t)):
            t[i] = (t[i - 1] + t[i] - 128) & 0xFF
        half = (len(t) + 1) // 2
        raw = bytes(b for pair in zip(t[:half], t[half:], strict=False) for b in pair)
    plane = np.frombuffer(raw, "<f4").reshape(2, 3, 3)  # per line: B, G, R planes
    assert y == 0
    np.testing.assert_array_equal(plane[:, ::-1, :].transpose(0, 2, 1), rgb)


def test_exr_unsupported_and_truncated(tmp_path: Path) -> None:
    path = tmp_path / "a.exr"
    write_exr(path, np.ones((20, 20, 3), np.float32), compression="NONE")
    data = bytearray(path.read_bytes())
    (tmp_path / "cut.exr").write_bytes(bytes(data[: len(data) - 100]))
    with pytest.raises(UnreadableFile, match="cut.exr.*truncated"):
        read_linear_rgb(tmp_path / "cut.exr")
    # Mark it PIZ-compressed: refused (this OpenCV has no OpenEXR) with a way out.
    at = bytes(data).index(b"compression\0compression\0") + len("compression\0compression\0") + 4
    data[at] = 4
    (tmp_path / "piz.exr").write_bytes(bytes(data))
    if "OpenEXR:                     NO" in cv2.getBuildInformation():
        with pytest.raises(UnreadableFile, match="PIZ.*re-save"):
            read_linear_rgb(tmp_path / "piz.exr")


def test_unreadable_files(tmp_path: Path, codes8: np.ndarray) -> None:
    png = _write_png(tmp_path / "a.png", codes8).read_bytes()
    (tmp_path / "cut.png").write_bytes(png[: len(png) // 2])
    Image.fromarray(codes8).save(tmp_path / "a.jpg")
    jpg = (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(jpg[: len(jpg) // 2])
    tifffile.imwrite(tmp_path / "a.tif", codes8)
    tif = (tmp_path / "a.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(tif[:200])
    (tmp_path / "notes.png").write_text("this is not an image\n")
    (tmp_path / "empty.jpg").write_bytes(b"")
    for name in ("cut.png", "cut.jpg", "cut.tif", "notes.png", "empty.jpg"):
        with pytest.raises(UnreadableFile, match=rf"{name}.*accepted: PNG, JPEG or TIFF"):
            load_image_content(tmp_path / name)
    with pytest.raises(UnreadableFile, match="no such file"):
        load_image_content(tmp_path / "missing.png")
    with pytest.raises(UnreadableFile, match="not a file"):
        load_image_content(tmp_path)


def test_huge_image_refused_before_decoding(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    (tmp_path / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk)
    with pytest.raises(UnreadableFile, match="400 Mpx.*limit is 200 Mpx"):
        read_linear_rgb(tmp_path / "huge.png")


def test_depth_files(tmp_path: Path) -> None:
    depth = np.linspace(0.5, 9.0, 12, dtype=np.float32).reshape(3, 4)
    depth[0, 0] = 0.0
    np.save(tmp_path / "d.npy", depth)
    out = load_depth(tmp_path / "d.npy")
    assert np.isnan(out[0, 0])
    np.testing.assert_array_equal(out.ravel()[1:], depth.ravel()[1:])
    mm = np.array([[0, 1000, 2500, 65535]], dtype=np.uint16)
    assert cv2.imwrite(str(tmp_path / "d.png"), mm)
    out = load_depth(tmp_path / "d.png")
    np.testing.assert_allclose(out[0, 1:], [1.0, 2.5, 65.535], rtol=1e-6)
    assert np.isnan(out[0, 0])
    assert cv2.imwrite(str(tmp_path / "d8.png"), mm.astype(np.uint8))
    with pytest.raises(SceneError, match="16-bit"):
        load_depth(tmp_path / "d8.png")
    (tmp_path / "d.txt").write_text("1 2 3")
    with pytest.raises(UnreadableFile, match=r"\.npy \(metres\)"):
        load_depth(tmp_path / "d.txt")


def test_depth_must_match_image(tmp_path: Path, codes8: np.ndarray) -> None:
    image = _write_png(tmp_path / "a.png", codes8)
    np.save(tmp_path / "ok.npy", np.full((30, 40), 2.0))
    np.save(tmp_path / "bad.npy", np.full((30, 41), 2.0))
    content = load_image_content(image, depth_path=tmp_path / "ok.npy")
    assert content.aspect == pytest.approx(0.75)
    with pytest.raises(SceneError, match="same size"):
        load_image_content(image, depth_path=tmp_path / "bad.npy")


def _pixel_grid(content: ImageContent, factor: float, offset: float = 0.0) -> ViewGrid:
    """A grid whose pixels are ``factor`` image pixels, aligned with the image's corner."""
    step = 2.0 / content.width * factor
    return ViewGrid(
        int(content.width / factor),
        int(content.height / factor),
        -1.0 + step / 2 + offset,
        -content.aspect + step / 2 + offset,
        step,
    )


def test_render_identity_and_integer_downsampling() -> None:
    rng = np.random.default_rng(3)
    rgb = rng.random((24, 36, 3)).astype(np.float32)
    depth = rng.random((24, 36)).astype(np.float32) + 1
    content = ImageContent(rgb=rgb, depth_m=depth)
    same = content.render(_pixel_grid(content, 1.0))
    np.testing.assert_allclose(same.rgb, rgb, atol=1e-6)
    np.testing.assert_array_equal(same.depth_m, depth)
    half = content.render(_pixel_grid(content, 2.0))
    np.testing.assert_allclose(half.rgb, rgb.reshape(12, 2, 18, 2, 3).mean(axis=(1, 3)), atol=1e-6)
    third = content.render(_pixel_grid(content, 3.0))
    np.testing.assert_allclose(third.rgb, rgb.reshape(8, 3, 12, 3, 3).mean(axis=(1, 3)), atol=1e-6)


def test_render_non_integer_downsampling_is_an_exact_box() -> None:
    rng = np.random.default_rng(4)
    rgb = rng.random((40, 60, 3)).astype(np.float32)
    content = ImageContent(rgb=rgb)
    factor, shift = 2.5, 0.3  # output pixel = 2.5 image pixels, offset by 0.3 image pixel
    grid = _pixel_grid(content, factor, offset=shift * 2.0 / 60)
    out = content.render(grid).rgb
    # Brute force: each image pixel as 10×10 sub-squares, averaged over each output aperture.
    fine = np.repeat(np.repeat(rgb, 10, axis=0), 10, axis=1)
    r0 = int(round(shift * 10))
    for row, col in [(3, 4), (10, 17), (0, 22)]:
        y0, x0 = int(row * factor * 10) + r0, int(col * factor * 10) + r0
        ref = fine[y0 : y0 + 25, x0 : x0 + 25].mean(axis=(0, 1))
        np.testing.assert_allclose(out[row, col], ref, atol=1e-5)


def test_render_outside_is_a_fading_mirror_and_upsampling_is_bilinear() -> None:
    rgb = np.zeros((4, 4, 3), np.float32)
    rgb[:, 2:] = 1.0
    depth = np.ones((4, 4), np.float32)
    depth[:, 2:] = 3.0
    content = ImageContent(rgb=rgb, depth_m=depth)
    grid = ViewGrid(16, 4, -1.5, -0.2, 0.2)
    out = content.render(grid)
    # Beyond the picture: its mirror image (dark on the left, bright on the right) fading
    # to its mean (0.5) over a quarter of its side, 1.5 px out here: never black.
    expected = 0.5 + 0.5 * np.exp(-1.5 / 1.0)
    np.testing.assert_allclose(out.rgb[:, 0], 1.0 - expected, atol=0.02)
    np.testing.assert_allclose(out.rgb[:, -1], expected, atol=0.02)
    assert content.info()["surround"].startswith("mirrored")
    # Depth goes on too (nearest neighbour), fading to the farthest.
    assert np.all(out.depth_m[:, 8] == 3.0) and np.all(out.depth_m[:, 0] > 1.0)
    far_away = content.render(ViewGrid(4, 4, 40.0, 40.0, 0.5))
    np.testing.assert_allclose(far_away.rgb, 0.5, atol=1e-6)
    assert np.all(far_away.depth_m == 3.0)
    # Upsampling 4x across the step edge at u = 0: a linear transition, symmetric about 0.5.
    fine = content.render(ViewGrid(40, 1, -1 + 0.025, 0.0, 0.05)).rgb[0, :, 0]
    np.testing.assert_allclose(fine[19] + fine[20], 1.0, atol=1e-3)
    assert np.all(np.diff(fine[10:30]) >= -1e-6)
