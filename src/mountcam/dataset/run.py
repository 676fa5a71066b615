"""Generate a dataset on Dask: one task per sample, files written by the workers, manifest last.

Layout under the dataset's URL::

    spec.toml                    the spec, written first (a resumed run must match it)
    samples/000/000123.dng       sample 123's DNG          (one folder per 1000 samples)
    samples/000/000123_truth.tif its noise-free image, float16 (when the spec asks for truth)
    samples/000/000123.json      its record: parameters, files, checksums, timing — written
                                 after the files, so a record means the sample is complete
    manifest.parquet             one row per sample, written when every sample is done

A sample's content depends only on the spec and its index (:mod:`mountcam.dataset.plan`), so
which worker renders it, in which order, and how often (a task retried after its worker died)
changes nothing. ``resume`` skips the samples whose record exists and removes what interrupted
writes left behind; the manifest is rebuilt from all records.

The scheduler is Dask distributed's: a ``LocalCluster`` of single-threaded worker processes by
default (numba, OpenCV and BLAS set to one thread each, so N workers use N cores), or any
running cluster by its scheduler address. Samples are submitted in a bounded window so that a
run of 10⁶ samples does not hold 10⁶ futures at once.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from mountcam.cluster import connect, single_threaded
from mountcam.dataset.plan import sample_params
from mountcam.dataset.spec import Spec, parse_spec
from mountcam.dataset.storage import Store
from mountcam.errors import InvalidSetting, MountcamError, OutputExists

__all__ = ["connect", "make_sample", "run_dataset", "write_manifest"]

MANIFEST = "manifest.parquet"
SPEC_FILE = "spec.toml"


def sample_stem(index: int) -> str:
    return f"samples/{index // 1000:03d}/{index:06d}"


@lru_cache(maxsize=4)
def _spec_from_text(text: str) -> Spec:
    return parse_spec(text, where="spec")


def make_sample(spec_text: str, index: int, store: Store) -> dict:
    """Render sample ``index`` and write its files and record; returns the record.

    Runs on a worker: everything it needs travels in its arguments."""
    from mountcam.dataset.render import render_sample

    single_threaded()
    spec = _spec_from_text(spec_text)
    params = sample_params(spec, index)
    rendered = render_sample(spec, params)
    start = time.perf_counter()
    stem = sample_stem(index)
    files = {"dng": f"{stem}.dng"}
    checksums = {"dng": store.write_bytes(files["dng"], rendered.dng)}
    sizes = {"dng": len(rendered.dng)}
    if rendered.truth_tiff is not None:
        files["truth"] = f"{stem}_truth.tif"
        checksums["truth"] = store.write_bytes(files["truth"], rendered.truth_tiff)
        sizes["truth"] = len(rendered.truth_tiff)
    record = {
        **params.as_record(),
        **rendered.info,
        "files": files,
        "sha256": checksums,
        "bytes": sizes,
        "render_s": rendered.render_s,
        "write_s": time.perf_counter() - start,
        "worker_pid": os.getpid(),
    }
    store.write_bytes(f"{stem}.json", json.dumps(record, sort_keys=True).encode())
    return record


@dataclass
class RunReport:
    """What a run did: samples rendered now, found done, the manifest's URL, wall time."""

    rendered: int
    already_done: int
    total: int
    manifest_url: str
    wall_s: float
    dashboard: str | None
    removed_partials: int


def done_indexes(store: Store) -> set[int]:
    """Samples whose record is on the store (and so whose files are complete)."""
    done = set()
    for path in store.find("samples", ".json"):
        name = path.rsplit("/", 1)[-1].removesuffix(".json")
        if name.isdigit():
            done.add(int(name))
    return done


def prepare(spec: Spec, store: Store, *, resume: bool) -> None:
    """Check the store for this run and write the spec (before any sample)."""
    if store.exists(SPEC_FILE):
        if not resume:
            raise OutputExists(
                f"{store.url} already holds a dataset; resume it or choose another place"
            )
        if store.read_bytes(SPEC_FILE).decode() != spec.text:
            raise InvalidSetting(
                f"{store.url} holds a dataset made from another spec; it cannot be resumed "
                "with this one"
            )
        return
    store.write_bytes(SPEC_FILE, spec.text.encode())


def run_dataset(
    spec: Spec,
    store: Store,
    *,
    client=None,
    limit: int | None = None,
    resume: bool = False,
    window: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunReport:
    """Generate ``spec`` (its first ``limit`` samples) into ``store`` with the Dask ``client``.

    ``progress(done, total)`` is called as samples finish. The manifest is written only when
    every sample up to ``limit`` is done; an interrupted run leaves complete samples and their
    records, which ``resume`` keeps."""
    from distributed import as_completed

    start = time.perf_counter()
    total = spec.samples if limit is None else min(limit, spec.samples)
    prepare(spec, store, resume=resume)
    removed = store.remove_partials() if resume else 0
    already = done_indexes(store) if resume else set()
    todo = [i for i in range(total) if i not in already]
    done = total - len(todo)
    if progress:
        progress(done, total)
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    window = window or 4 * n_workers
    pending = iter(todo)
    futures = as_completed()
    for index in _take(pending, window):
        futures.add(
            client.submit(
                make_sample, spec.text, index, store, key=f"sample-{spec.seed}-{index}", pure=False
            )
        )
    rendered = 0
    for future in futures:
        future.result()  # raises what the task raised
        future.release()
        rendered += 1
        done += 1
        if progress:
            progress(done, total)
        for index in _take(pending, 1):
            futures.add(
                client.submit(
                    make_sample,
                    spec.text,
                    index,
                    store,
                    key=f"sample-{spec.seed}-{index}",
                    pure=False,
                )
            )
    removed += store.remove_partials()
    write_manifest(store, total)
    return RunReport(
        rendered=rendered,
        already_done=total - len(todo),
        total=total,
        manifest_url=f"{store.url.rstrip('/')}/{MANIFEST}",
        wall_s=time.perf_counter() - start,
        dashboard=getattr(client, "dashboard_link", None),
        removed_partials=removed,
    )


def _take(iterator, n: int) -> list:
    out = []
    for item in iterator:
        out.append(item)
        if len(out) == n:
            break
    return out


def manifest_rows(store: Store, total: int) -> list[dict]:
    """One flat row per sample 0..total-1 from the records (checks none is missing)."""
    rows = []
    for index in range(total):
        stem = sample_stem(index)
        try:
            record = json.loads(store.read_bytes(f"{stem}.json"))
        except FileNotFoundError:
            raise MountcamError(f"sample {index} has no record; the run is not complete") from None
        row = {}
        for key, value in record.items():
            if isinstance(value, dict):
                for sub, v in value.items():
                    row[f"{key}_{sub}"] = v
            elif isinstance(value, list):
                row[key] = json.dumps(value)
            else:
                row[key] = value
        rows.append(row)
    return rows


def write_manifest(store: Store, total: int) -> None:
    """Build the Parquet manifest from the records and write it atomically."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = manifest_rows(store, total)
    keys = sorted({key for row in rows for key in row}, key=lambda k: (k != "index", k))
    table = pa.table({key: [row.get(key) for row in rows] for key in keys})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    store.write_bytes(MANIFEST, buffer.getvalue())
