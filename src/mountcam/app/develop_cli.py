"""``mountcam develop``: raw files (DNG) to JPEG, 16-bit TIFF or PNG, many at once.

Registered in :mod:`mountcam.app.cli` with ``app.command("develop")(develop_command)``.

- Every file is developed on its own; one that cannot be (not a raw file, truncated, a CFA
  layout mountcam does not handle) gets one line on stderr, nothing is written for it, and the
  others are still developed. The exit status is then 2 (0 when all succeeded).
- Each picture is developed on the pipeline's two strip threads; ``--jobs N`` develops N
  pictures at once in worker processes, each with cores / N threads. The default is cores / 2
  (1 on a 2-core machine): there, measured on six 50 MP DNGs, two processes took 12.0 s and
  one 11.4 s, since the pipeline already keeps both cores busy and each worker pays its own
  start-up (imports, compiled-kernel cache).
- Output names: ``-o OUT`` (one input only) is taken as given and refused if it exists.
  Otherwise the output is the input's name with the format's extension, beside the input or
  in ``--out-dir``; when that name is taken (or claimed by another input of the same run) a
  counter is added: ``IMG_0001.jpg``, ``IMG_0001-1.jpg``, ``IMG_0001-2.jpg``... Nothing is
  ever overwritten.
- ``--json`` prints only JSON on stdout: one record per input (``input``, ``output`` or
  ``error``, ``seconds``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mountcam.errors import InvalidSetting, MountcamError

_err = Console(stderr=True, highlight=False)
_out = Console(highlight=False)

FORMAT_CHOICES = ("jpeg", "tiff16", "tiff32", "png", "png16")
#: What people also type for those (the file extensions).
FORMAT_ALIASES = {"jpg": "jpeg", "tif": "tiff16", "tiff": "tiff16"}
#: The format an ``-o`` name asks for when ``--format`` is not given.
FORMAT_OF_SUFFIX = {
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".tif": "tiff16",
    ".tiff": "tiff16",
    ".png": "png",
}


def _fail(error: Exception) -> None:
    _err.print(f"[bold red]error:[/] {error}", soft_wrap=True)
    raise typer.Exit(2)


@dataclass(frozen=True)
class Job:
    """One picture to develop: where from, where to, how."""

    source: Path
    target: Path
    settings: object  # DevelopSettings (kept loose so this module imports fast)
    fmt: str
    jpeg_quality: int
    exact_name: bool
    #: Strip threads of this picture (a develop Schedule's ``workers``); None: the default.
    strip_workers: int | None = None


@dataclass(frozen=True)
class Outcome:
    source: Path
    target: Path | None
    error: str | None
    seconds: float
    #: 2 for a photographer's error (MountcamError), 1 for anything unexpected.
    status: int = 0


def develop_file(job: Job) -> Outcome:
    """Develop and save one picture; every failure becomes an :class:`Outcome` with the
    reason (so one bad file never stops the others). Runs in a worker process."""
    return save_developed(job, *develop_picture(job))


def develop_picture(job: Job) -> tuple[object, float]:
    """(the developed image, or the :class:`Outcome` of its failure; when it started)."""
    import numpy as np

    from mountcam.develop import develop
    from mountcam.develop.schedule import Schedule

    def run():
        _check_is_tiff(job.source)
        dtype = {"jpeg": np.uint8, "png": np.uint8, "tiff32": np.float32}.get(job.fmt, np.uint16)
        schedule = Schedule() if job.strip_workers is None else Schedule(workers=job.strip_workers)
        return develop(job.source, job.settings, output_dtype=dtype, schedule=schedule)

    t0 = time.perf_counter()
    return _as_outcome(job, t0, run), t0


def save_developed(job: Job, developed: object, t0: float) -> Outcome:
    """Save what :func:`develop_picture` returned (an Outcome passes through)."""
    if isinstance(developed, Outcome):
        return developed
    from mountcam.develop.output import save_image
    from mountcam.file_naming import write_counted

    def run():
        # Someone may take the name after it was chosen: count on, unless it was asked for.
        _, target = write_counted(
            job.target,
            lambda path: save_image(developed, path, job.fmt, quality=job.jpeg_quality),
            exact=job.exact_name,
        )
        return Outcome(job.source, target, None, time.perf_counter() - t0)

    return _as_outcome(job, t0, run)


def _as_outcome(job: Job, t0: float, run):
    """``run()``, with a failure turned into the picture's :class:`Outcome`."""
    try:
        return run()
    except MountcamError as e:
        return Outcome(job.source, None, str(e), time.perf_counter() - t0, status=2)
    except MemoryError:
        return Outcome(
            job.source, None, "not enough memory; try --jobs 1", time.perf_counter() - t0, 1
        )
    except Exception as e:  # a bug, not the photographer's doing: say so, keep going
        return Outcome(
            job.source,
            None,
            f"unexpected error while developing ({type(e).__name__}: {e})",
            time.perf_counter() - t0,
            status=1,
        )


#: File signatures of what people most often pass by mistake, to name it in the error.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"FUJIFILMCCD-RAW", "a Fujifilm RAF raw file"),
    (b"RIFF", "a RIFF (WebP/AVI/WAV) file"),
)


def _check_is_tiff(path: Path) -> None:
    """A DNG is a TIFF: refuse anything else up front, naming what it seems to be."""
    from mountcam.errors import UnreadableFile

    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        raise UnreadableFile(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UnreadableFile(f"{path}: a folder, not a raw file") from None
    except OSError as e:
        raise UnreadableFile(f"{path}: cannot be read ({e.strerror})") from None
    if head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return
    kind = next((name for sig, name in _SIGNATURES if head.startswith(sig)), None)
    if kind is None:
        kind = "empty" if not head else "a text file" if _looks_like_text(head) else "unknown"
    raise UnreadableFile(f"{path}: not a raw file ({kind}); mountcam develop reads DNG files")


def _looks_like_text(head: bytes) -> bool:
    return all(b >= 0x20 or b in b"\t\r\n" for b in head)


def plan_targets(
    sources: list[Path], fmt: str, out_dir: Path | None, output: Path | None
) -> list[tuple[Path, bool]]:
    """(target, exact) for each source: ``output`` as given, or the next free counted name
    (see the module text), never a name another source of this run has already claimed."""
    from mountcam.develop.output import EXTENSIONS
    from mountcam.file_naming import free_counted

    if output is not None:
        return [(output, True)]
    claimed: set[Path] = set()
    targets = []
    for src in sources:
        folder = out_dir if out_dir is not None else src.parent
        target = free_counted(folder / f"{src.stem}{EXTENSIONS[fmt]}", claimed)
        claimed.add(target)
        targets.append((target, False))
    return targets


def _init_worker(threads: int) -> None:
    """Share the cores between the workers: each uses ``threads`` for OpenCV and numba (and
    as many strip threads, :func:`_strip_workers`)."""
    import cv2
    import numba

    from mountcam.allocator import tune_malloc_for_large_arrays

    tune_malloc_for_large_arrays()  # a fresh interpreter: the command's main() did not run here
    cv2.setNumThreads(threads)
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def _strip_workers(threads: int) -> int:
    """Strip threads per picture when each picture has ``threads`` cores: the pipeline's
    default, fewer when the worker processes already fill the cores."""
    from mountcam.develop.schedule import default_workers

    return max(1, min(default_workers(), threads))


def develop_command(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Raw files (DNG) to develop; with --cluster also fsspec URLs (s3://…).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Output file (one input only; never overwritten)."),
    ] = None,
    out_dir: Annotated[
        str | None,
        typer.Option(
            "--out-dir",
            help="Folder for the outputs (default: beside each input); a URL with --cluster.",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="jpeg, tiff16, tiff32 (float), png or png16. Default: from the -o name's "
            "extension, else jpeg (tiff32 with --linear).",
        ),
    ] = None,
    quality: Annotated[
        str, typer.Option(help="Demosaic: fast (default) or high (best, slower).")
    ] = "fast",
    look: Annotated[str, typer.Option(help="standard, authentic or vibrant.")] = "standard",
    wb: Annotated[
        str,
        typer.Option(
            help="as-shot, auto, daylight, cloudy, shade, tungsten, fluorescent, or kelvin (5600)."
        ),
    ] = "as-shot",
    exposure: Annotated[
        float, typer.Option(help="Exposure adjustment, EV (-5 to +5), on top of the DNG's.")
    ] = 0.0,
    linear: Annotated[
        bool,
        typer.Option(
            "--linear",
            help="Scene-referred linear Rec.709 16-bit TIFF: no tone curve, look, denoise, "
            "sharpening or --exposure.",
        ),
    ] = False,
    no_lens_correction: Annotated[
        bool,
        typer.Option("--no-lens-correction", help="Ignore the DNG's lens-correction opcodes."),
    ] = False,
    space: Annotated[
        str, typer.Option("--space", help="Output colour space: srgb or display-p3.")
    ] = "srgb",
    jpeg_quality: Annotated[int, typer.Option(help="JPEG quality, 1-100.")] = 90,
    jobs: Annotated[
        int | None,
        typer.Option(
            help="Pictures developed at once, each in its own process (default: cores / 2; "
            "each picture already uses 2 threads)."
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="Develop on the Dask cluster at this scheduler address (tcp://host:8786), "
            "one picture per task.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Develop raw files (DNG) into JPEG, TIFF (16-bit or float) or PNG pictures, with EXIF and ICC."""
    from mountcam.app.develop_cluster import is_url
    from mountcam.develop.settings import DevelopSettings

    try:
        if fmt is None and output is not None:
            fmt = FORMAT_OF_SUFFIX.get(output.suffix.lower())
            if fmt is None:
                raise InvalidSetting(
                    f"-o {output.name}: say which format with --format, or end the name in "
                    ".jpg, .tif or .png"
                )
            if linear and fmt == "png":
                fmt = "png16"
            elif linear and fmt == "tiff16":
                fmt = "tiff32"  # -o NAME.tif: scene-referred light keeps its highlights
        fmt = fmt or ("tiff32" if linear else "jpeg")
        fmt = FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
        if fmt not in FORMAT_CHOICES:
            raise InvalidSetting(f"--format {fmt} is not one of: {', '.join(FORMAT_CHOICES)}")
        if linear and fmt not in ("tiff32", "tiff16", "png16"):
            raise InvalidSetting(
                "--linear needs 16 bits or more: a float TIFF (--format tiff32, the default), "
                "tiff16 or png16"
            )
        if output is not None and out_dir is not None:
            raise InvalidSetting("give either -o/--output or --out-dir, not both")
        if output is not None and len(inputs) != 1:
            raise InvalidSetting(
                f"-o/--output names one file but {len(inputs)} inputs were given; "
                "use --out-dir for several"
            )
        if output is not None and output.exists():
            raise InvalidSetting(f"{output} already exists; mountcam never overwrites a file")
        urls = [p for p in [*inputs, out_dir or ""] if is_url(p)]
        if urls and cluster is None:
            raise InvalidSetting(f"{urls[0]}: URLs are developed with --cluster")
        if urls and output is not None:
            raise InvalidSetting("-o/--output is for local files; use --out-dir with URLs")
        if cluster is not None and jobs is not None:
            raise InvalidSetting(
                "--jobs and --cluster exclude each other (the cluster has its workers)"
            )
        local_out = Path(out_dir) if out_dir is not None and not is_url(out_dir) else None
        if local_out is not None and local_out.exists() and not local_out.is_dir():
            raise InvalidSetting(f"--out-dir {out_dir} is a file, not a folder")
        if not 1 <= jpeg_quality <= 100:
            raise InvalidSetting(f"--jpeg-quality {jpeg_quality} is outside 1..100")
        cores = os.cpu_count() or 1
        if jobs is None:
            # Each picture already runs on the pipeline's strip threads (2): more processes than
            # cores / 2 only add start-up time (measured: docs/develop-finishing.md).
            from mountcam.develop.schedule import default_workers

            jobs = max(1, cores // default_workers())
        if jobs < 1:
            raise InvalidSetting(f"--jobs {jobs}: at least 1")
        settings = DevelopSettings(
            quality=quality,
            look=look,
            wb=wb,
            exposure_ev=exposure,
            linear=linear,
            lens_correction=not no_lens_correction,
            output_space=space,
        )
    except MountcamError as e:
        _fail(e)

    if cluster is not None and any(is_url(p) for p in [*inputs, out_dir or ""]):
        work = _url_jobs(inputs, fmt, out_dir, settings, jpeg_quality)
    else:
        sources = [Path(p) for p in inputs]
        if local_out is not None:
            local_out.mkdir(parents=True, exist_ok=True)
        targets = plan_targets(sources, fmt, local_out, output)
        work = [
            Job(src, tgt, settings, fmt, jpeg_quality, exact)
            for src, (tgt, exact) in zip(sources, targets, strict=True)
        ]
    if cluster is not None:
        outcomes = _run_on_cluster(work, cluster, show_progress=not as_json)
    else:
        outcomes = _run_all(work, jobs, cores, show_progress=not as_json)
    _report(outcomes, as_json)
    worst = max((o.status for o in outcomes), default=0)
    if worst:
        raise typer.Exit(2 if worst == 2 else 1)


def _url_jobs(
    inputs: list[str], fmt: str, out_dir: str | None, settings, jpeg_quality: int
) -> list:
    """Jobs for URL inputs (local paths among them become file:// URLs)."""
    from mountcam.app.develop_cluster import UrlJob, is_url, plan_url_targets

    sources = [p if is_url(p) else Path(p).resolve().as_uri() for p in inputs]
    if out_dir is not None and not is_url(out_dir):
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        out_dir = Path(out_dir).resolve().as_uri()
    try:
        targets = plan_url_targets(sources, fmt, out_dir, {})
    except (OSError, ValueError, ImportError) as e:
        _fail(MountcamError(f"cannot reach the storage: {e}"))
    return [
        UrlJob(s, t, settings, fmt, jpeg_quality, {}) for s, t in zip(sources, targets, strict=True)
    ]


def _run_on_cluster(work: list, cluster: str, show_progress: bool) -> list[Outcome]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from mountcam.app.develop_cluster import run_on_cluster

    progress = Progress(
        TextColumn("developing on the cluster"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
        disable=not show_progress,
    )
    try:
        with progress:
            task = progress.add_task("", total=len(work))
            return run_on_cluster(work, cluster, lambda name: progress.advance(task))
    except MountcamError as e:
        _fail(e)


def _run_all(work: list[Job], jobs: int, cores: int, show_progress: bool) -> list[Outcome]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    jobs = min(jobs, len(work))
    results: dict[int, Outcome] = {}
    progress = Progress(
        TextColumn("developing"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=_err,
        transient=True,
        # Not on a pipe or file: a transient bar there leaves an empty line on stderr.
        disable=not (show_progress and _err.is_terminal),
    )
    with progress:
        task = progress.add_task("", total=len(work))
        if jobs <= 1:
            # One picture is saved (encoded, written, flushed to disk) on a thread while the
            # next one develops: the save's serial parts no longer wait for the strips.
            from concurrent.futures import ThreadPoolExecutor

            saving = None

            def collect() -> None:
                results[saving[0]] = saving[1].result()
                progress.advance(task)

            with ThreadPoolExecutor(1, thread_name_prefix="mountcam-save") as saver:
                for i, job in enumerate(work):
                    progress.update(task, description=job.source.name)
                    developed = develop_picture(job)
                    if saving is not None:
                        collect()
                    saving = (i, saver.submit(save_developed, job, *developed))
                if saving is not None:
                    collect()
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            # spawn: a fresh interpreter per worker, never a fork of a process whose OpenCV or
            # numba thread pools are already running (that can deadlock).
            threads = max(1, cores // jobs)
            pool = ProcessPoolExecutor(
                max_workers=jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(threads,),
            )
            shared = [replace(job, strip_workers=_strip_workers(threads)) for job in work]
            with pool:
                futures = {pool.submit(develop_file, job): i for i, job in enumerate(shared)}
                for future in as_completed(futures):
                    i = futures[future]
                    try:
                        results[i] = future.result()
                    except Exception as e:  # the worker itself died (e.g. killed for memory)
                        results[i] = Outcome(
                            work[i].source, None, f"the worker process failed ({e})", 0.0, 1
                        )
                    progress.update(task, description=work[i].source.name)
                    progress.advance(task)
    return [results[i] for i in range(len(work))]


def _report(outcomes: list[Outcome], as_json: bool) -> None:
    if as_json:
        records = [
            {
                "input": str(o.source),
                "output": str(o.target) if o.target else None,
                "error": o.error,
                "seconds": round(o.seconds, 3),
            }
            for o in outcomes
        ]
        sys.stdout.write(json.dumps(records) + "\n")
    for o in outcomes:
        if o.error:
            message = o.error if str(o.source) in o.error else f"{o.source}: {o.error}"
            _err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
        elif not as_json:
            _out.print(f"{o.source} -> {o.target}  ({o.seconds:.2f} s)", soft_wrap=True)


def jpeg_beside(dng_path: Path) -> Path:
    """``mountcam shoot --jpeg``: develop ``dng_path`` with the default settings into a JPEG
    of the same name beside it (the next counted name if taken). Raises MountcamError."""
    source = Path(dng_path)
    ((target, _),) = plan_targets([source], "jpeg", None, None)
    outcome = develop_file(Job(source, target, _default_settings(), "jpeg", 90, False))
    if outcome.error:
        raise MountcamError(outcome.error)
    return outcome.target


def _default_settings():
    from mountcam.develop.settings import DevelopSettings

    return DevelopSettings()
