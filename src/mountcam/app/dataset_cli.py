"""``mountcam dataset``: write an example spec, and generate a dataset on Dask."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

dataset_app = typer.Typer(
    no_args_is_help=True,
    help="Synthetic RAW datasets: (noisy DNG, noise-free truth) pairs from a spec, on Dask.",
)
err = Console(stderr=True, highlight=False)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True, markup=True, highlight=False)
    raise typer.Exit(code)


@dataset_app.command("init")
def init_command(
    path: Annotated[Path, typer.Argument(help="Where to write the example spec (TOML).")],
) -> None:
    """Write a commented example spec that runs as it is."""
    from mountcam.atomic_file import atomic_output
    from mountcam.dataset.spec import example_spec
    from mountcam.errors import OutputExists

    try:
        with atomic_output(path) as stream:
            stream.write(example_spec().encode())
    except OutputExists:
        _fail(f"{path} already exists; choose another name")
    except OSError as exc:
        _fail(f"cannot write {path}: {exc.strerror or exc}")
    err.print(f"wrote {path}; run it with: mountcam dataset run {path} --out DIR")


@dataset_app.command("run")
def run_command(
    spec_path: Annotated[Path, typer.Argument(help="The dataset spec (mountcam dataset init).")],
    out: Annotated[
        str,
        typer.Option("--out", help="Where the dataset goes: a folder or an fsspec URL (s3://…)."),
    ],
    cluster: Annotated[
        str | None,
        typer.Option("--cluster", help="A running Dask scheduler, e.g. tcp://host:8786."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=512,
            help="Local cluster: worker processes (default: one per core).",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N samples.")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Finish an interrupted run: only what is missing.")
    ] = False,
) -> None:
    """Generate a dataset: one DNG, its truth and its record per sample, then the manifest."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from mountcam.cluster import quiet_dask_logs
    from mountcam.dataset.run import connect, run_dataset
    from mountcam.dataset.spec import load_spec
    from mountcam.dataset.storage import Store
    from mountcam.errors import MountcamError, OutputExists

    quiet_dask_logs()
    if cluster is not None and workers is not None:
        _fail("--cluster and --workers exclude each other (the cluster has its own workers)")
    try:
        spec = load_spec(spec_path)
        store = Store(out)
        client = connect(cluster, workers)
    except OutputExists as exc:
        _fail(f"{exc} (--resume finishes it)")
    except MountcamError as exc:
        _fail(str(exc))
    except (ValueError, ImportError) as exc:
        _fail(f"cannot use {out}: {exc}")
    err.print(f"Dask dashboard: {client.dashboard_link}")
    columns = (
        TextColumn("samples"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with client, Progress(*columns, console=err, transient=False) as bar:
            task = bar.add_task("samples", total=None, rate="")
            started: list[tuple[float, int]] = []

            def progress(done: int, total: int) -> None:
                import time

                now = time.perf_counter()
                if not started:
                    started.append((now, done))
                t0, d0 = started[0]
                rate = (done - d0) / (now - t0) if now > t0 else 0.0
                bar.update(task, completed=done, total=total, rate=f"{rate:.2f} samples/s")

            report = run_dataset(
                spec, store, client=client, limit=limit, resume=resume, progress=progress
            )
    except KeyboardInterrupt:
        err.print("interrupted: the samples written so far are complete; finish with --resume")
        raise typer.Exit(130) from None
    except OutputExists as exc:
        _fail(f"{exc} (--resume finishes it)")
    except MountcamError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the dataset at {out}: {exc}")
    err.print(
        f"{report.total} samples ({report.rendered} rendered now, {report.already_done} already "
        f"there) in {report.wall_s:.1f} s; manifest: {report.manifest_url}"
    )
    sys.stdout.flush()
