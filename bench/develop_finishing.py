"""Speed of the finishing stages of ``mountcam develop`` at 50 MP (8192×6144), and the JPEG
encoder choice (Pillow vs OpenCV, both libjpeg-turbo; 4:2:0 vs 4:4:4).

Run: ``.venv/bin/python bench/develop_finishing.py [--size 8192x6144] [--repeat 2]``.
Prints one line per stage: best wall time of ``--repeat`` runs, in milliseconds. The image is
a smooth random field plus noise (photo-like for the encoders: a flat image compresses far
faster than a photograph).
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def best_ms(fn, repeat: int) -> float:
    fn()  # warm-up (numba compile, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * min(times)


def main() -> None:
    from mountcam.develop.denoise import denoise
    from mountcam.develop.image import Image
    from mountcam.develop.lens_correction import apply_opcodes
    from mountcam.develop.output import save_image
    from mountcam.develop.settings import DevelopSettings
    from mountcam.develop.sharpen import sharpen
    from mountcam.dng.opcodes import FixVignetteRadial, WarpRectilinear

    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="8192x6144")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    rng = np.random.default_rng(0)
    small = rng.random((h // 64, w // 64, 3), dtype=np.float32)
    rgb = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    rgb += rng.normal(0, 0.02, rgb.shape).astype(np.float32)
    np.clip(rgb, 0, 1, out=rgb)
    print(f"image {w}x{h} float32 RGB, cv2 threads {cv2.getNumThreads()}")

    s3200, o3200 = np.full(3, 1.8e-3), np.full(3, 2.6e-6)
    s100, o100 = np.full(3, 1 / 17_900), np.full(3, (2.75 / 17_900) ** 2)
    rows = [
        ("denoise ISO 3200 model", lambda: denoise(rgb, s3200, o3200)),
        ("denoise ISO 100 model (skipped: copy)", lambda: denoise(rgb, s100, o100)),
        ("sharpen amount 0.6 radius 0.8", lambda: sharpen(rgb, 0.6, 0.8)),
    ]
    warp1 = WarpRectilinear(((1.0, -0.03, 0.01, 0.0, 0.0, 0.0),), 0.5, 0.5)
    warp3 = WarpRectilinear(
        tuple((1.0 + d, -0.03, 0.01, 0.0, 0.0, 0.0) for d in (0.001, 0.0, -0.001)), 0.5, 0.5
    )
    vig = FixVignetteRadial((0.3, 0.1, 0.02, 0.0, 0.0), 0.5, 0.5)
    rows += [
        ("lens: FixVignetteRadial", lambda: apply_opcodes(rgb, [vig])),
        ("lens: WarpRectilinear, 1 plane set", lambda: apply_opcodes(rgb, [warp1])),
        ("lens: WarpRectilinear, 3 planes (lateral colour)", lambda: apply_opcodes(rgb, [warp3])),
    ]
    image = Image(rgb, "srgb", False, None, DevelopSettings())
    u8 = image.to_uint8()
    image8 = Image(u8, "srgb", False, None, DevelopSettings())
    image16 = Image(image.to_uint16(), "srgb", False, None, DevelopSettings())
    bgr = cv2.cvtColor(u8, cv2.COLOR_RGB2BGR)

    def pillow_jpeg(sub: int) -> int:
        from PIL import Image as PILImage

        buf = io.BytesIO()
        PILImage.fromarray(u8).save(buf, "JPEG", quality=90, subsampling=sub)
        return buf.tell()

    def cv2_jpeg(sub: int) -> int:
        ok, enc = cv2.imencode(
            ".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, sub]
        )
        return enc.size

    rows += [
        ("JPEG q90 4:2:0 Pillow (encode only)", lambda: pillow_jpeg(2)),
        ("JPEG q90 4:4:4 Pillow (encode only)", lambda: pillow_jpeg(0)),
        (
            "JPEG q90 4:2:0 OpenCV (encode only, BGR given)",
            lambda: cv2_jpeg(cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420),
        ),
        (
            "JPEG q90 4:4:4 OpenCV (encode only, BGR given)",
            lambda: cv2_jpeg(cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444),
        ),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10**6))

        def save(img, fmt):
            return save_image(img, Path(tmp) / f"{next(counter)}.{fmt}", fmt)

        rows += [
            ("save_image jpeg (uint8 given, EXIF+ICC, fsync)", lambda: save(image8, "jpeg")),
            ("save_image tiff16 (uint16 given)", lambda: save(image16, "tiff16")),
            ("save_image png 8-bit (uint8 given)", lambda: save(image8, "png")),
        ]
        for name, fn in rows:
            print(f"{name:55s} {best_ms(fn, args.repeat):8.0f} ms")
    print(f"JPEG sizes: 4:2:0 {pillow_jpeg(2) / 1e6:.1f} MB, 4:4:4 {pillow_jpeg(0) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
