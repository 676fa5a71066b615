"""``mountcam develop --cluster ADDR``: the same develop, one task per picture on Dask.

Local paths are developed by the workers in place (the workers see the same filesystem: a
LocalCluster, or a cluster on a shared filesystem). fsspec URLs (``s3://bucket/shot.dng``)
are read and written through fsspec: the worker fetches the DNG, develops it, and puts the
picture under its target name in one write (atomic on an object store; a temporary name and
a rename on a local filesystem). Naming, errors and exit status are the local path's: the
next free counted name, one line per file that cannot be developed, status 2 then.

Each worker develops one picture at a time on one thread (numba, OpenCV and the pipeline's
strips), so N workers use N cores.
"""

from __future__ import annotations

import posixpath
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from mountcam.app.develop_cli import Job, Outcome, develop_file
from mountcam.errors import MountcamError


def is_url(text: str) -> bool:
    return "://" in text


@dataclass(frozen=True)
class UrlJob:
    """A picture whose DNG and output are fsspec URLs."""

    source: str
    target: str
    settings: object
    fmt: str
    jpeg_quality: int
    storage_options: dict


def plan_url_targets(sources: list[str], fmt: str, out_dir: str | None, options: dict) -> list[str]:
    """Each source's output URL: its name with the format's extension, beside it or in
    ``out_dir``, with a counter when the name is taken (on the store or by this run)."""
    import fsspec

    from mountcam.develop.output import EXTENSIONS

    claimed: set[str] = set()
    targets = []
    for source in sources:
        fs, path = fsspec.core.url_to_fs(source, **options)
        folder = out_dir.rstrip("/") if out_dir else source.rsplit("/", 1)[0]
        stem = posixpath.splitext(posixpath.basename(path))[0]
        n = 0
        while True:
            name = f"{stem}{'' if n == 0 else f'-{n}'}{EXTENSIONS[fmt]}"
            candidate = f"{folder}/{name}"
            target_fs, target_path = fsspec.core.url_to_fs(candidate, **options)
            if candidate not in claimed and not target_fs.exists(target_path):
                break
            n += 1
        claimed.add(candidate)
        targets.append(candidate)
    return targets


def develop_url(job: UrlJob) -> Outcome:
    """Fetch, develop, put one picture; failures become an :class:`Outcome` with the reason."""
    import fsspec
    import numpy as np

    from mountcam.develop import develop
    from mountcam.develop.output import save_image
    from mountcam.develop.schedule import Schedule

    t0 = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="mountcam-develop-") as folder:
            local_in = Path(folder) / "input.dng"
            try:
                with fsspec.open(job.source, "rb", **job.storage_options) as f:
                    local_in.write_bytes(f.read())
            except FileNotFoundError:
                raise MountcamError(f"{job.source}: no such file") from None
            dtype = {"jpeg": np.uint8, "png": np.uint8, "tiff32": np.float32}.get(
                job.fmt, np.uint16
            )
            image = develop(
                local_in, job.settings, output_dtype=dtype, schedule=Schedule(workers=1)
            )
            local_out = Path(folder) / f"output{Path(job.target).suffix}"
            save_image(image, local_out, job.fmt, quality=job.jpeg_quality)
            fs, path = fsspec.core.url_to_fs(job.target, **job.storage_options)
            if fs.exists(path):
                raise MountcamError(f"{job.target} appeared meanwhile; not overwritten")
            fs.pipe_file(path, local_out.read_bytes())
    except MountcamError as e:
        message = str(e).replace(str(Path(tempfile.gettempdir())), "")
        if "input.dng" in message:
            message = f"{job.source}: {message.split(': ', 1)[-1]}"
        return Outcome(job.source, None, message, time.perf_counter() - t0, status=2)
    except OSError as e:
        return Outcome(job.source, None, f"cannot transfer ({e})", time.perf_counter() - t0, 2)
    return Outcome(job.source, job.target, None, time.perf_counter() - t0)


def _develop_on_worker(job: Job | UrlJob) -> Outcome:
    from mountcam.app.develop_cli import _init_worker
    from mountcam.cluster import single_threaded

    single_threaded()
    _init_worker(1)
    if isinstance(job, UrlJob):
        return develop_url(job)
    # One strip at a time: a worker is one core (two strip threads made one worker use 1.6
    # cores, and two workers no faster than one).
    return develop_file(replace(job, strip_workers=1))


def run_on_cluster(work: list, address: str, progress=None) -> list[Outcome]:
    """Develop ``work`` (Jobs and UrlJobs) on the Dask cluster at ``address``; outcomes in
    the order of ``work``. ``progress(name)`` is called as each picture finishes."""
    from distributed import as_completed

    from mountcam.cluster import connect, quiet_dask_logs

    quiet_dask_logs()
    with connect(address) as client:
        futures = {
            client.submit(_develop_on_worker, job, pure=False, key=f"develop-{i}-{job.source}"): i
            for i, job in enumerate(work)
        }
        results: dict[int, Outcome] = {}
        for future in as_completed(futures):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as e:  # the worker itself died
                results[i] = Outcome(work[i].source, None, f"the worker failed ({e})", 0.0, 1)
            if progress is not None:
                progress(str(work[i].source))
    return [results[i] for i in range(len(work))]
