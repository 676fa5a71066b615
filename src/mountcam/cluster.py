"""Dask distributed: a client to a running cluster by its address, or a local one.

``mountcam dataset run`` and ``mountcam develop --cluster`` run their tasks through
:func:`connect`. A LocalCluster has one single-threaded worker process per core (numba,
OpenCV, OpenMP and BLAS at one thread each), so N workers use N cores and scale with them;
a running cluster (Kubernetes via dask-kubernetes, Slurm/PBS via dask-jobqueue, a cloud
service) is reached by its scheduler address, e.g. ``tcp://scheduler:8786``
(docs/scale.md).
"""

from __future__ import annotations

import os

from mountcam.allocator import MALLOC_TUNING_ENV, malloc_tuning_wanted
from mountcam.errors import InvalidSetting, MountcamError

#: Environment that keeps a worker process to one thread (numba, OpenMP, BLAS, OpenCV).
SINGLE_THREAD_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENCV_FOR_THREADS_NUM": "1",
}
#: Environment of a LocalCluster's worker processes: one thread each, and glibc's malloc tuned
#: for large arrays from the start (:data:`mountcam.allocator.MALLOC_TUNING_ENV`).
WORKER_ENV = {**SINGLE_THREAD_ENV, **MALLOC_TUNING_ENV}
#: Dask configuration of a LocalCluster (scheduler, nannies and, handed over by the nannies,
#: workers). On a machine whose cores the workers fill, every cycle Dask's housekeeping spends
#: is a worker's:
#: - the statistical profiler off: it samples the task thread's stack every 10 ms for the
#:   dashboard's profile page (batch develop of 40 binned DNGs, 2 workers against 1:
#:   1.44–1.46× with it, 1.56–1.80× without, alternating runs on this 2-core machine);
#: - the event-loop tick (which only detects a blocked loop) at 200 ms instead of 20 ms, the
#:   system monitor (the dashboard's CPU and memory graphs) at 2 s instead of 0.5 s, and the
#:   nanny's memory check at 1 s instead of 0.1 s: an idle 2-worker LocalCluster took 9.7 % of
#:   a core with Dask's defaults and 1.6 % with these (bench/dataset_speed.py).
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "200ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}
#: Seconds to wait for a scheduler before saying it cannot be reached.
CONNECT_TIMEOUT_S = 10.0


class ClusterUnreachable(MountcamError):
    """The Dask scheduler at the given address did not answer."""


def quiet_dask_logs() -> None:
    """For command-line use: Dask's INFO/WARNING lines (workers starting and closing) are not
    the photographer's business; errors still show."""
    import logging

    for name in ("distributed", "dask"):
        logging.getLogger(name).setLevel(logging.ERROR)


def connect(
    cluster: str | None, workers: int | None = None, *, timeout_s: float = CONNECT_TIMEOUT_S
):
    """A Dask client: to the scheduler at ``cluster``, or to a new LocalCluster of ``workers``
    single-threaded processes (default: one per core)."""
    try:
        from distributed import Client
    except ImportError:
        raise MountcamError(
            "running on Dask needs the scale extra: pip install 'mountcam[scale]'"
        ) from None
    if cluster is not None:
        try:
            return Client(cluster, timeout=timeout_s)
        except (OSError, TimeoutError) as exc:
            raise ClusterUnreachable(
                f"no Dask scheduler answers at {cluster} ({type(exc).__name__}); "
                "start one (dask scheduler) or check the address"
            ) from None
    n = workers or os.cpu_count() or 1
    if n < 1:
        raise InvalidSetting("a local cluster needs at least one worker")
    import dask

    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        # Made by the client, so closing the client closes the cluster. A Client handed a
        # LocalCluster leaves it (and its threads and periodic callbacks) running in this
        # process: each such connect left seven threads and ~1 % of a core behind.
        return Client(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            env=WORKER_ENV if malloc_tuning_wanted() else SINGLE_THREAD_ENV,
            silence_logs=50,
        )


def single_threaded() -> None:
    """Inside a worker task: OpenCV and numba at one thread (the environment covers the
    libraries that read it at start-up; these two are set per process)."""
    import cv2

    cv2.setNumThreads(1)
    try:
        import numba

        numba.set_num_threads(1)
    except (ImportError, ValueError):  # pragma: no cover - numba's layer refuses: keep going
        pass
