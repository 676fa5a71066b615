"""The parallel JPEG encoder of ``save_image`` (mountcam.develop.output._encode_jpeg): parts
encoded on their own and joined with restart markers must be the very file libjpeg writes for
the whole image with that restart interval (ITU-T T.81 B.2.4.4), so every decoder reads it."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from mountcam.develop import output


def _photo_like(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.random((height // 32 + 2, width // 32 + 2, 3)).astype(np.float32)
    smooth = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    noisy = smooth * 255 + rng.normal(0, 6, smooth.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _without_app0(data: bytes) -> bytes:
    if data[2:4] == b"\xff\xe0":
        return data[:2] + data[4 + int.from_bytes(data[4:6], "big") :]
    return data


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:2:2", "4:4:4"])
@pytest.mark.parametrize("shape", [(2051, 2050), (1000, 4001)])
def test_parts_equal_libjpeg_with_restart_interval(subsampling, shape):
    rgb = _photo_like(*shape)
    params = [
        cv2.IMWRITE_JPEG_QUALITY, 90,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR, output._CV_SAMPLING[subsampling],
    ]  # fmt: skip
    mcu = output._MCU_SIZE[subsampling]
    plan = output._jpeg_parts(*shape, mcu, 2, min_pixels=1)
    assert plan is not None and plan[0] < shape[0]  # really split
    ours = bytes(output._encode_jpeg(rgb, params, mcu, threads=2, min_pixels=1))
    ok, ref = cv2.imencode(
        ".jpg",
        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
        params + [cv2.IMWRITE_JPEG_RST_INTERVAL, plan[1]],
    )
    assert ok
    assert _without_app0(ours) == _without_app0(ref.tobytes())
    # and it decodes (Pillow's libjpeg) to the same pixels as OpenCV's decoder
    pil = np.asarray(PILImage.open(io.BytesIO(ours)).convert("RGB"))
    cv = cv2.cvtColor(cv2.imdecode(np.frombuffer(ours, np.uint8), cv2.IMREAD_COLOR), 4)
    assert pil.shape == rgb.shape and np.array_equal(pil, cv)
    # JPEG q90 of an image with σ = 6 noise: within that noise of the original
    assert np.abs(pil.astype(int) - rgb).mean() < 6.0


def test_small_images_are_one_piece():
    rgb = _photo_like(64, 96)
    params = [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, 0x221111]
    data = bytes(output._encode_jpeg(rgb, params, (16, 16)))
    assert b"\xff\xdd" not in data.split(b"\xff\xda")[0]  # no DRI before the scan
    ok, ref = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    assert data == ref.tobytes()
