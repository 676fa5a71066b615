"""DNG write speed at 50 MP: mountcam's ``write_dng`` against PiDNG on the same frame (issue 4,
acceptance 8).

    python bench/dng_write_speed.py               # 8192×6144 12-bit, best of 5
    python bench/dng_write_speed.py --repeat 9
    python bench/dng_write_speed.py --quick       # 1024×768 crop, a smoke run

**The frame** is a real twin capture, not a synthetic array: the main module in ``full``
readout (8192×6144, Quad Bayer remosaicked on the sensor), 12-bit ADC, ISO 400, 1/250 s, the
ColorChecker chart, seed 11. Its DN statistics (shot and read noise, the chart's flat patches,
the remosaic's rounded means) are what the lossless JPEG coder sees on a real shot; a tiled-up
small capture would repeat the same noise and a random array would not compress at all. It
takes ~10 s to simulate, so it is pickled once under ``--cache-dir`` (default
``$XDG_CACHE_HOME/mountcam-bench``, i.e. ``~/.cache/mountcam-bench``: outside the repository,
and private to the user, since a pickle and a shared library are loaded from there) and
reused. The files are written in a temporary folder inside it.

**What is timed**, from the RawFrame in memory to the closed file, best of ``--repeat`` (the
four writers take turns in every round, so a busy machine slows all of them alike; the first
call of each, which loads numba's cached machine code, is not timed):

- ``mountcam none``: ``write_dng(frame, ..., compression="none")`` as ``mountcam shoot`` calls
  it (dual-illuminant calibration, the main lens's opcodes); 16-bit strips, an sRGB preview in
  IFD0, EXIF, XMP, NoiseProfile; temporary file, ``fsync``, link into place, ``fsync`` of the
  folder;
- ``mountcam ljpeg``: the same with ``compression="ljpeg"`` (256-pixel lossless JPEG tiles,
  both cores);
- ``PiDNG none``: ``pidng.core.RAW2DNG`` with the frame's size, CFA, levels, ColorMatrix1 and
  AsShotNeutral as tags, ``compress=False``: one uncompressed tile, bit-packed to 12 bits; no
  preview, no EXIF, no ``fsync``;
- ``PiDNG ljpeg``: the same with ``compress=True``. PiDNG 4.0.9's compressor is its C
  extension ``ljpegCompress.pack16tolj`` around liblj92 (``lj92_encode``: one lossless JPEG of
  the whole frame, 1 component, 2W×H/2, predictor 6, one thread). The installed wheel's
  extension fails on Python >= 3.10 (``SystemError: PY_SSIZE_T_CLEAN macro must be defined
  for '#' formats``, it parses its arguments with ``y#``), so this bench compiles PiDNG's own
  ``liblj92/lj92.c`` (shipped in the package) with ``cc -O3`` and gives PiDNG a
  ``pack16tolj`` that calls ``lj92_encode`` through ctypes with the arguments PiDNG passes.
  Nothing else of PiDNG changes. Without a C compiler this row is skipped.

Every output is then opened with LibRaw (rawpy) and must decode to exactly the frame's DN.

"CPU s" is the process's CPU time for the write (all threads, ``time.process_time``): the work
done, which other jobs on the machine change much less than the wall-clock time. Wall-clock
time is what the aims are about; on a shared machine read the best of many rounds.
"""

from __future__ import annotations

import argparse
import ctypes
import math
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np

import mountcam
from mountcam.dng import write_dng
from mountcam.sensor.rawframe import RawFrame

FULL_CAPTURE = {"module": "main", "mode": "full", "bits": 12, "iso": 400, "exposure_s": 1 / 250}
QUICK_CROP = (1024, 768)  # width, height; multiples of 16 (PiDNG writes the frame as one tile)
SEED = 11


def capture(quick: bool, cache_dir: Path):
    """(frame, lens profile, lens state, calibration): the twin capture described above, as
    ``mountcam shoot`` would write it."""
    from mountcam.body.backend import SimulatedBackend
    from mountcam.body.camera import Camera
    from mountcam.body.settings import Controls

    tag = "quick" if quick else "full"
    cache = cache_dir / f"dng_write_speed-{tag}-{mountcam.__version__}.pickle"
    frame = None
    if cache.exists():
        try:
            with cache.open("rb") as f:
                frame = pickle.load(f)
        except Exception:  # a cache from other code: simulate again
            frame = None
    if not isinstance(frame, RawFrame):
        t0 = time.perf_counter()
        camera = Camera(SimulatedBackend("chart:colorchecker", seed=SEED))
        settings = dict(FULL_CAPTURE)
        camera.configure(mode=settings.pop("mode"), crop=QUICK_CROP if quick else None)
        camera.set_lens(focus_m=math.inf)
        camera.set_controls(Controls.for_exposure(settings["exposure_s"], settings["iso"]))
        frame = camera.capture()
        print(f"simulated the frame in {time.perf_counter() - t0:.1f} s; cached in {cache}")
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(frame, f, protocol=5)
        os.replace(tmp, cache)
    return frame, frame.lens, frame.lens_state, frame.calibration


# --- PiDNG ----------------------------------------------------------------------------------


def _build_lj92(cache_dir: Path) -> ctypes.CDLL | None:
    """PiDNG's liblj92 as a shared library (see the module docstring), or None without cc."""
    import pidng

    source = Path(pidng.__file__).parent / "liblj92" / "lj92.c"
    from importlib.metadata import version

    lib = cache_dir / f"liblj92-pidng-{version('pidng')}.so"
    if not lib.exists():
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None or not source.exists():
            return None
        cache_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [cc, "-O3", "-shared", "-fPIC", "-o", str(lib), str(source)],
            check=True,
            capture_output=True,
        )
    dll = ctypes.CDLL(str(lib))
    dll.lj92_encode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8)),
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    dll.lj92_encode.restype = ctypes.c_int
    return dll


def _install_pack16tolj(dll: ctypes.CDLL) -> None:
    """A ``ljpegCompress`` module whose ``pack16tolj`` does what PiDNG's C extension does:
    ``lj92_encode`` on the buffer, the stream returned as a bytearray."""
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]

    def pack16tolj(data, width, height, bitdepth, index, read, skip, delin, predictor):
        if delin:
            raise NotImplementedError("delinearisation is not used by PiDNG's writer")
        buf = np.ascontiguousarray(data, dtype=np.uint16)
        if buf.size < width * height:
            raise ValueError("buffer smaller than width × height")
        out = ctypes.POINTER(ctypes.c_uint8)()
        length = ctypes.c_int(0)
        ret = dll.lj92_encode(
            buf.ctypes.data + index,
            width,
            height,
            bitdepth,
            read,
            skip,
            None,
            0,
            ctypes.byref(out),
            ctypes.byref(length),
            predictor,
        )
        if ret != 0:
            raise RuntimeError(f"lj92_encode failed with {ret}")
        stream = bytearray(ctypes.string_at(out, length.value))
        libc.free(out)
        return stream

    module = types.ModuleType("ljpegCompress")
    module.pack16tolj = pack16tolj
    sys.modules["ljpegCompress"] = module


def _rationals(values, denominator: int = 10_000) -> list[list[int]]:
    return [[round(float(v) * denominator), denominator] for v in np.ravel(values)]


def pidng_writer(frame: RawFrame, calibration, compress: bool) -> Callable[[Path], Path]:
    """A function writing ``frame`` with PiDNG to a path (tags built inside, as a user would)."""
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import DNGVersion

    cfa = {"R": 0, "G": 1, "B": 2}
    md = frame.metadata

    def write(path: Path) -> Path:
        height, width = frame.mosaic.shape
        t = DNGTags()
        t.set(Tag.ImageWidth, width)
        t.set(Tag.ImageLength, height)
        t.set(Tag.TileWidth, width)
        t.set(Tag.TileLength, height)
        t.set(Tag.Orientation, 1)
        t.set(Tag.PhotometricInterpretation, 32803)  # CFA
        t.set(Tag.SamplesPerPixel, 1)
        t.set(Tag.BitsPerSample, md.bits)
        t.set(Tag.CFARepeatPatternDim, [2, 2])
        t.set(Tag.CFAPattern, [cfa[c] for c in frame.cfa_pattern])
        t.set(Tag.BlackLevelRepeatDim, [2, 2])
        t.set(Tag.BlackLevel, [round(b) for b in frame.black_level_dn])
        t.set(Tag.WhiteLevel, int(frame.white_level_dn))
        t.set(Tag.ColorMatrix1, _rationals(calibration.color_matrix_1))
        t.set(Tag.CalibrationIlluminant1, int(calibration.calibration_illuminant_1))
        t.set(Tag.AsShotNeutral, _rationals(md.as_shot_neutral, 1_000_000))
        t.set(Tag.Make, "mountcam")
        t.set(Tag.Model, f"mountcam twin {md.module}")
        t.set(Tag.UniqueCameraModel, f"mountcam {md.sensor} twin")
        t.set(Tag.DNGVersion, DNGVersion.V1_4)
        t.set(Tag.DNGBackwardVersion, DNGVersion.V1_2)
        r = RAW2DNG()
        r.options(t, path=str(path.parent), compress=compress)
        return Path(r.convert(frame.mosaic, filename=path.stem))

    return write


# --- the race -------------------------------------------------------------------------------


def mountcam_writer(frame, profile, state, calibration, compression: str):
    def write(path: Path) -> Path:
        return write_dng(
            frame,
            path,
            calibration=calibration,
            lens_profile=profile,
            lens_state=state,
            compression=compression,
        )

    return write


def decoded_equal(path: Path, mosaic: np.ndarray) -> bool:
    import rawpy

    with rawpy.imread(str(path)) as raw:
        return bool(np.array_equal(raw.raw_image, mosaic))


def stages(frame, profile, state, calibration, repeat: int, folder: Path) -> None:
    """Best-of-``repeat`` seconds of each part of ``write_dng`` (the ``--stages`` table)."""
    import numba

    from mountcam.dng import writer
    from mountcam.dng.ljpeg import encode_tiles
    from mountcam.dng.noise_profile import noise_profile_for_frame
    from mountcam.dng.preview import render_preview
    from mountcam.dng.tiff import write_tiff
    from mountcam.dng.xmp import xmp_packet

    md = frame.metadata
    mosaic = frame.mosaic
    h, w = mosaic.shape
    tile_w = writer._ljpeg_tile_side(w, fit_inside=True)
    tile_h = writer._ljpeg_tile_side(h, fit_inside=False)
    precision = max(8, int(frame.white_level_dn).bit_length())
    lens = {"lens_profile": profile, "lens_state": state}
    trees = {
        c: writer.build_dng(frame, calibration=calibration, compression=c, **lens)
        for c in ("none", "ljpeg")
    }

    def to_file(compression: str, sync: bool) -> Callable[[], None]:
        def run() -> None:
            path = folder / f"stage-{compression}.tif"
            with path.open("wb") as f:
                write_tiff(f, [trees[compression]])
                f.flush()
                if sync:
                    os.fsync(f.fileno())
            path.unlink()

        return run

    def one_thread(fn: Callable[[], object]) -> object:
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            return fn()
        finally:
            numba.set_num_threads(threads)

    parts: dict[str, Callable[[], object]] = {
        "render_preview": lambda: render_preview(
            mosaic,
            frame.cfa_pattern,
            frame.black_level_dn,
            frame.white_level_dn,
            md.as_shot_neutral,
            calibration.color_matrix_for(md.as_shot_neutral),
            writer.PREVIEW_MAX_WIDTH_PX,
        ),
        "noise_profile_for_frame": lambda: noise_profile_for_frame(frame),
        "lens opcodes (fit + encode)": lambda: writer._put_lens_opcodes(
            writer.Ifd(), frame, profile, state, True
        ),
        "xmp_packet + image_unique_id": lambda: (
            xmp_packet(frame, artist=None, copyright=None, lens_fit=None),
            writer.image_unique_id(frame),
        ),
        f"ljpeg encode_tiles, {numba.get_num_threads()} threads": lambda: encode_tiles(
            mosaic, tile_h, tile_w, precision, 2
        ),
        "ljpeg encode_tiles, 1 thread": lambda: one_thread(
            lambda: encode_tiles(mosaic, tile_h, tile_w, precision, 2)
        ),
        "build_dng none (all of the above but ljpeg)": lambda: writer.build_dng(
            frame, calibration=calibration, compression="none", **lens
        ),
        "build_dng ljpeg": lambda: writer.build_dng(
            frame, calibration=calibration, compression="ljpeg", **lens
        ),
        "write_tiff none to a file, no fsync": to_file("none", False),
        "write_tiff none to a file + fsync": to_file("none", True),
        "write_tiff ljpeg to a file, no fsync": to_file("ljpeg", False),
        "write_tiff ljpeg to a file + fsync": to_file("ljpeg", True),
    }
    best: dict[str, float] = {}
    for name, fn in parts.items():
        fn()  # warm-up
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        best[name] = min(ts)
    print(f"\nwrite_dng stages, {w}×{h}, best of {repeat}\n")
    print("| stage | best s |")
    print("|---|---:|")
    for name, t in best.items():
        print(f"| {name} | {t:.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (best of N)")
    parser.add_argument("--quick", action="store_true", help=f"a {QUICK_CROP} crop")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mountcam-bench",
        help="where the simulated frame and PiDNG's compiled liblj92 are kept",
    )
    parser.add_argument(
        "--stages", action="store_true", help="also time each part of write_dng (a profile)"
    )
    args = parser.parse_args()

    args.cache_dir.mkdir(parents=True, exist_ok=True)
    frame, profile, state, calibration = capture(args.quick, args.cache_dir)
    h, w = frame.mosaic.shape
    writers: dict[str, Callable[[Path], Path]] = {
        "mountcam none": mountcam_writer(frame, profile, state, calibration, "none"),
        "mountcam ljpeg": mountcam_writer(frame, profile, state, calibration, "ljpeg"),
        "PiDNG none": pidng_writer(frame, calibration, compress=False),
    }
    dll = _build_lj92(args.cache_dir)
    if dll is None:
        print("PiDNG ljpeg skipped: no C compiler to build its liblj92")
    else:
        _install_pack16tolj(dll)
        writers["PiDNG ljpeg"] = pidng_writer(frame, calibration, compress=True)

    times: dict[str, list[float]] = {name: [] for name in writers}
    cpu: dict[str, list[float]] = {name: [] for name in writers}
    sizes: dict[str, int] = {}
    paths: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="dng_write_speed-", dir=args.cache_dir) as tmp:
        folder = Path(tmp)
        for round_ in range(args.repeat + 1):  # round 0 warms up (numba's cached code)
            for i, (name, write) in enumerate(writers.items()):
                path = folder / f"w{i}_{round_}.dng"
                t0, c0 = time.perf_counter(), time.process_time()
                written = write(path)
                dt, dc = time.perf_counter() - t0, time.process_time() - c0
                if round_:
                    times[name].append(dt)
                    cpu[name].append(dc)
                sizes[name] = written.stat().st_size
                if name in paths:
                    paths[name].unlink()  # keep one file per writer (and the page cache small)
                paths[name] = written
        ok = {name: decoded_equal(p, frame.mosaic) for name, p in paths.items()}

    print(
        f"\nDNG write, {w}×{h} {frame.metadata.bits}-bit twin capture "
        f"({frame.metadata.mode} readout), best of {args.repeat}, mountcam {mountcam.__version__}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n"
    )
    print(
        "| writer | best s | median s | CPU s (best) | MB | ours / PiDNG (best s) "
        "| LibRaw DN exact |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, ts in times.items():
        kind = name.split()[1]
        peer = times.get(f"PiDNG {kind}")
        ratio = f"{min(ts) / min(peer):.2f}" if name.startswith("mountcam") and peer else ""
        print(
            f"| {name} | {min(ts):.3f} | {statistics.median(ts):.3f} | {min(cpu[name]):.3f} | "
            f"{sizes[name] / 1e6:.1f} | {ratio} | {'yes' if ok[name] else 'NO'} |"
        )
    if args.stages:
        with tempfile.TemporaryDirectory(prefix="dng_stages-", dir=args.cache_dir) as tmp:
            stages(frame, profile, state, calibration, args.repeat, Path(tmp))
    if not all(ok.values()):
        sys.exit("a file did not decode to the frame's DN")


if __name__ == "__main__":
    main()
