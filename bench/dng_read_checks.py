"""What ``read_dng``'s checks cost on good files: mountcam's reader against tifffile's decode of
the same raw IFD, at 50 MP (docs/dng-reading.md).

    python bench/dng_read_checks.py               # 8192×6144 12-bit, best of 5
    python bench/dng_read_checks.py --quick       # 1024×768, a smoke run

**The files**: one 8192×6144 12-bit RGGB mosaic (a smooth ramp in each CFA colour with
Gaussian noise of 8 DN, so lossless JPEG compresses it about as much as a real capture), written
by ``write_dng`` twice: uncompressed strips and lossless JPEG tiles (768 tiles of 256 px).

**What is timed**, best of ``--repeat`` rounds in which the three take turns, file to array:

- ``read_dng``: the whole reader (IFD walk, tag copies and checks, the SOF3 header of every
  tile, decoding, the preview and the metadata);
- ``checks only``: the reader's extract and check steps without decoding (``_find_raw`` and
  ``_check_raw`` on an open TiffFile);
- ``tifffile``: the peer, ``TiffFile(path).pages[0].pages[0].asarray()``, the decode both rest
  on, with no checks and no metadata.

The ratio read_dng / tifffile is what the reader adds to a bare decode.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np


def _frame(height: int, width: int):
    from mountcam.dng.calibration import calibrate_dual
    from mountcam.sensor.model import load_sensor
    from mountcam.sensor.rawframe import CaptureMetadata, RawFrame

    calibration = calibrate_dual(load_sensor("imx989").qe)
    rng = np.random.default_rng(1)
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    cols = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    ramp = 256 + 3000 * (0.3 + 0.4 * rows + 0.3 * cols)
    mosaic = ramp + rng.normal(0, 8, (height, width)).astype(np.float32)
    mosaic = np.clip(np.round(mosaic), 0, 4095).astype(np.uint16)
    md = CaptureMetadata(
        sensor="IMX989",
        module="main",
        mode="full",
        bits=12,
        exposure_s=1 / 250,
        iso=400,
        analog_gain=4.0,
        digital_gain=1.0,
        temperature_c=35.0,
        seed=1,
        frame_index=0,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        lens_name="mountcam 8.7mm f/1.9",
        focal_mm=8.7,
        f_number=1.9,
        as_shot_neutral=calibration.camera_neutral_1,
        pixel_pitch_m=0.8e-6,
    )
    return RawFrame(mosaic, "RGGB", (256.0,) * 4, 4095, md), calibration


def _checks_only(path: Path) -> None:
    import tifffile

    from mountcam.dng import reader

    with tifffile.TiffFile(path) as tif:
        ifd0, raw = reader._find_raw(tif, path)
        reader._check_raw(ifd0, raw, path, path.stat().st_size)


def _tifffile(path: Path) -> np.ndarray:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        return tif.pages[0].pages[0].asarray()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1024×768, a smoke run")
    args = parser.parse_args()

    from mountcam.dng import read_dng, write_dng

    height, width = (768, 1024) if args.quick else (6144, 8192)
    frame, calibration = _frame(height, width)
    with tempfile.TemporaryDirectory() as folder:
        print(f"{width}×{height} 12-bit, best of {args.repeat}; wall ms (CPU ms)")
        print(f"{'file':<8} {'read_dng':>16} {'checks only':>16} {'tifffile':>16} {'ratio':>6}")
        for compression in ("none", "ljpeg"):
            path = write_dng(
                frame, Path(folder) / f"{compression}.dng", calibration=calibration,
                compression=compression,
            )  # fmt: skip
            runs = {
                "read_dng": lambda p=path: read_dng(p).mosaic,
                "checks": lambda p=path: _checks_only(p),
                "tifffile": lambda p=path: _tifffile(p),
            }
            assert np.array_equal(runs["read_dng"](), runs["tifffile"]())  # also warms up
            best = {name: (np.inf, np.inf) for name in runs}
            for _ in range(args.repeat):
                for name, run in runs.items():
                    wall, cpu = time.perf_counter(), time.process_time()
                    run()
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    best[name] = min(best[name], (wall, cpu))
            cells = [f"{1e3 * best[n][0]:7.1f} ({1e3 * best[n][1]:6.1f})" for n in runs]
            ratio = best["read_dng"][0] / best["tifffile"][0]
            print(f"{compression:<8} {cells[0]:>16} {cells[1]:>16} {cells[2]:>16} {ratio:6.2f}")


if __name__ == "__main__":
    main()
