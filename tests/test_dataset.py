"""Synthetic datasets on Dask (issue 15): the spec, determinism, faults, S3 storage, bad input."""

from __future__ import annotations

import collections
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from mountcam.cluster import LOCAL_CLUSTER_CONFIG
from mountcam.dataset import Store, example_spec, parse_spec, sample_params
from mountcam.dataset import open as open_dataset
from mountcam.dataset.run import make_sample, run_dataset, sample_stem, write_manifest
from mountcam.errors import InvalidSetting

SMALL = """
[dataset]
samples = 6
seed = 7
sampling = "random"
stratify = ["scene"]
crop = [64, 48]

[scenes]
names = ["chart:colorchecker", "random:dead-leaves"]

[camera]
modules = ["main", "m"]
lenses = ["summicron-m-50"]
aperture = "stops"
focus_m = { min = 1.0, max = 10.0 }

[exposure]
iso = { min = 100, max = 3200 }
shutter_s = "auto"

[light]
illuminants = ["D65", "A", "3200K"]
luminance_cd_m2 = { min = 100.0, max = 2000.0 }
"""


# ---- the spec and the plan ------------------------------------------------------------------
def test_the_example_spec_parses_and_every_sample_is_a_pure_function_of_its_index():
    spec = parse_spec(example_spec())
    assert spec.samples == 12 and spec.crop == (256, 192)
    first = [sample_params(spec, i) for i in range(spec.samples)]
    again = [sample_params(spec, i) for i in reversed(range(spec.samples))][::-1]
    assert first == again
    assert len({p.noise_seed for p in first}) == spec.samples


def test_stratified_axes_are_balanced_in_every_block():
    spec = parse_spec(SMALL.replace("samples = 6", "samples = 600"))
    scenes = [sample_params(spec, i).scene for i in range(600)]
    for start in range(0, 600, 2):
        assert len(set(scenes[start : start + 2])) == 2  # each block of 2 holds both scenes
    # An unstratified list axis is only balanced on average.
    lights = collections.Counter(sample_params(spec, i).illuminant for i in range(600))
    assert set(lights) == {"D65", "A", "3200K"} and min(lights.values()) > 150


def test_grid_sampling_enumerates_every_combination_once():
    text = SMALL.replace('sampling = "random"', 'sampling = "grid"').replace(
        'stratify = ["scene"]', "stratify = []"
    )
    text = text.replace("focus_m = { min = 1.0, max = 10.0 }", "focus_m = [2.0]")
    text = text.replace("iso = { min = 100, max = 3200 }", "iso = [200, 800]")
    text = text.replace(
        "luminance_cd_m2 = { min = 100.0, max = 2000.0 }", "luminance_cd_m2 = [500]"
    )
    spec = parse_spec(text.replace("samples = 6", "samples = 1000"))
    from mountcam.dataset.plan import grid_size
    from mountcam.optics.lens_catalogue import find_lens

    stops = len(find_lens("summicron-m-50").stops)
    assert grid_size(spec) == 2 * 3 * 2 * (1 + stops)
    n = grid_size(spec)
    combos = {
        (p.scene, p.illuminant, p.iso, p.module, p.f_number)
        for p in (sample_params(spec, i) for i in range(n))
    }
    assert len(combos) == n
    assert sample_params(spec, n).scene == sample_params(spec, 0).scene  # repeats, new noise
    assert sample_params(spec, n).noise_seed != sample_params(spec, 0).noise_seed


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("[light]", "[light]\nbrightness = 3"), "unknown key 'brightness' in [light]"),
        (("[light]", "[lights]"), "unknown section [lights]"),
        (("iso = { min = 100, max = 3200 }", "iso = [3]"), "ISO 3 is outside"),
        (('aperture = "stops"', "aperture = [0.95]"), "f/0.95 is beyond"),
        (('modules = ["main", "m"]', 'modules = ["back"]'), "modules are main and m"),
        (('names = ["chart:colorchecker"', 'names = ["chart:nope"'), "unknown chart"),
        (('"A", "3200K"', '"A", "99K"'), "[light]"),
        (("crop = [64, 48]", "crop = [8, 8]"), "crop must be"),
        (('sampling = "random"', 'sampling = "grid"'), "grid sampling needs a list"),
    ],
)
def test_a_bad_spec_names_its_problem(change, words):
    with pytest.raises(InvalidSetting, match=None) as info:
        parse_spec(SMALL.replace(*change))
    assert words in str(info.value)


def test_bad_input_exits_2_with_one_line_before_anything_is_written(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.replace("iso = { min = 100, max = 3200 }", "iso = [3]"))
    out = tmp_path / "out"
    code, _, stderr = run_cli("dataset", "run", str(bad), "--out", str(out), "--workers", "1")
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and "ISO 3" in stderr
    assert not out.exists()
    good = tmp_path / "good.toml"
    good.write_text(SMALL)
    code, _, stderr = run_cli(
        "dataset", "run", str(good), "--out", str(out), "--cluster", "tcp://127.0.0.1:9"
    )
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and "scheduler" in stderr
    assert not out.exists()


def test_init_writes_a_spec_and_never_overwrites(tmp_path):
    path = tmp_path / "spec.toml"
    assert run_cli("dataset", "init", str(path))[0] == 0
    assert parse_spec(path.read_text()).samples == 12
    code, _, stderr = run_cli("dataset", "init", str(path))
    assert code == 2 and "exists" in stderr


# ---- running on Dask ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    from mountcam.dataset.run import connect

    with connect(None, 2) as c:
        yield c


def _worker_environment() -> dict:
    import os

    import dask

    keys = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_")
    env = {k: os.environ.get(k) for k in keys}
    return env | {key: dask.config.get(key) for key in LOCAL_CLUSTER_CONFIG}


def test_local_workers_start_single_threaded_with_malloc_tuned_and_housekeeping_slowed(client):
    # Set when the worker process starts: glibc reads MALLOC_* before any thread has an arena.
    for env in client.run(_worker_environment).values():
        assert env == {
            "NUMBA_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MALLOC_ARENA_MAX": "1",
            "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
            "distributed.worker.profile.enabled": False,
            "distributed.admin.tick.interval": "200ms",
            "distributed.admin.system-monitor.interval": "2s",
            "distributed.worker.memory.monitor-interval": "1s",
        }
    # The scheduler, in the client's process, took the slower tick when it was made.
    assert client.run_on_scheduler(lambda dask_scheduler: dask_scheduler._tick_interval) == 0.2


def _transform_threads_of_a_single_threaded_task() -> int:
    from mountcam.cluster import single_threaded
    from mountcam.jit import fft_workers

    single_threaded()
    return fft_workers()


def test_a_single_threaded_task_runs_its_ffts_on_one_thread(client):
    # The twin's diffraction DCTs ran on a fixed two pocketfft threads beside the task thread.
    assert client.submit(_transform_threads_of_a_single_threaded_task, pure=False).result() == 1


def test_closing_the_client_of_a_local_cluster_closes_the_cluster():
    from distributed.core import Status

    from mountcam.cluster import connect

    with connect(None, 1) as client:
        cluster = client.cluster
        assert cluster.status == Status.running
    # Not left running in this process (its threads and periodic callbacks) after the work.
    assert cluster.status == Status.closed


def _raw_and_truth(root: Path, index: int) -> tuple[bytes, bytes]:
    from mountcam.dng.reader import read_dng

    stem = root / sample_stem(index)
    raw = read_dng(stem.with_suffix(".dng")).mosaic.tobytes()
    return raw, Path(f"{stem}_truth.tif").read_bytes()


def test_same_samples_whatever_the_workers_and_their_order(tmp_path, client):
    spec = parse_spec(SMALL)
    two = Store(str(tmp_path / "two"))
    report = run_dataset(spec, two, client=client, limit=4)
    assert report.rendered == 4 and report.total == 4
    # The same samples rendered in this process, in reverse order: the same raw data and truth.
    alone = Store(str(tmp_path / "alone"))
    for index in reversed(range(4)):
        make_sample(spec.text, index, alone)
    for index in range(4):
        assert _raw_and_truth(tmp_path / "two", index) == _raw_and_truth(tmp_path / "alone", index)
    # The manifest: one row per sample, checksums matching the files.
    ds = open_dataset(str(tmp_path / "two"))
    assert [row["index"] for row in ds.manifest.to_pylist()] == [0, 1, 2, 3]
    for row in ds.manifest.to_pylist():
        data = (tmp_path / "two" / row["files_dng"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256_dng"]
    sample = ds[2]
    assert sample["raw"].shape == (48, 64) and sample["raw"].dtype == np.uint16
    assert sample["truth"].shape == (48, 64, 3) and sample["truth"].dtype == np.float32
    assert sample["meta"]["scene"] == sample_params(spec, 2).scene


def test_a_worker_killed_mid_run_changes_nothing(tmp_path, client):
    spec = parse_spec(SMALL)
    store = Store(str(tmp_path / "ds"))
    pids = list(client.run(os.getpid).values())
    done = []
    killed = threading.Event()

    def progress(n, total):
        done.append(n)
        if n >= 1 and not killed.is_set():
            killed.set()
            os.kill(pids[0], signal.SIGKILL)  # the nanny starts a new worker

    report = run_dataset(spec, store, client=client, progress=progress)
    assert killed.is_set() and report.total == spec.samples
    records = sorted((tmp_path / "ds").rglob("*.json"))
    assert [int(p.stem) for p in records] == list(range(spec.samples))
    assert not list((tmp_path / "ds").rglob("*.partial"))
    ds = open_dataset(str(tmp_path / "ds"))
    assert len(ds) == spec.samples
    for row in ds.manifest.to_pylist():
        assert (tmp_path / "ds" / row["files_dng"]).is_file()
        truth = (tmp_path / "ds" / row["files_truth"]).read_bytes()
        assert hashlib.sha256(truth).hexdigest() == row["sha256_truth"]


def test_an_interrupted_run_resumes_without_duplicates_or_gaps(tmp_path):
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(SMALL.replace("samples = 6", "samples = 10"))
    out = tmp_path / "ds"
    cmd = [
        sys.executable,
        "-m",
        "mountcam",
        "dataset",
        "run",
        str(spec_path),
        "--out",
        str(out),
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(out.rglob("*.json"))) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert not (out / "manifest.parquet").exists()
    partial_records = len(list(out.rglob("*.json")))
    assert 2 <= partial_records < 10
    code, _, stderr = run_cli("dataset", "run", str(spec_path), "--out", str(out), "--workers", "1")
    assert code == 2 and "resume" in stderr  # a second plain run refuses the folder
    resumed = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    indexes = sorted(int(p.stem) for p in out.rglob("*.json"))
    assert indexes == list(range(10))
    assert not list(out.rglob("*.partial"))
    dngs = sorted(p.name for p in out.rglob("*.dng"))
    assert dngs == [f"{i:06d}.dng" for i in range(10)]
    rows = open_dataset(str(out)).manifest.to_pylist()
    assert [r["index"] for r in rows] == list(range(10))
    for row in rows:
        assert (
            hashlib.sha256((out / row["files_dng"]).read_bytes()).hexdigest() == row["sha256_dng"]
        )


def test_a_dataset_on_s3_reads_back_with_the_reader_and_pyarrow(tmp_path, client):
    import boto3
    import pyarrow.parquet as pq
    import s3fs
    from moto import server as moto_server

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        options = {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": f"http://{host}:{port}", "region_name": "us-east-1"},
        }
        boto3.client(
            "s3",
            endpoint_url=f"http://{host}:{port}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket="mountcam-test")
        fs = s3fs.S3FileSystem(**options)
        spec = parse_spec(SMALL)
        store = Store("s3://mountcam-test/ds", options)
        run_dataset(spec, store, client=client, limit=3)
        fs.invalidate_cache()
        assert fs.exists("mountcam-test/ds/manifest.parquet")
        ds = open_dataset("s3://mountcam-test/ds", options)
        assert len(ds) == 3 and ds[1]["raw"].shape == (48, 64)
        with fs.open("mountcam-test/ds/manifest.parquet", "rb") as f:
            table = pq.read_table(f)
        assert table.column("index").to_pylist() == [0, 1, 2]
        local = Store(str(tmp_path / "local"))
        make_sample(spec.text, 1, local)
        raw_local, truth_local = _raw_and_truth(tmp_path / "local", 1)
        assert ds[1]["raw"].tobytes() == raw_local
        record = json.loads(fs.cat_file("mountcam-test/ds/" + sample_stem(1) + ".json"))
        dng = fs.cat_file("mountcam-test/ds/" + record["files"]["dng"])
        assert hashlib.sha256(dng).hexdigest() == record["sha256"]["dng"]
    finally:
        server.stop()


def test_the_manifest_refuses_an_incomplete_run(tmp_path):
    store = Store(str(tmp_path / "ds"))
    spec = parse_spec(SMALL)
    make_sample(spec.text, 0, store)
    with pytest.raises(Exception, match="sample 1 has no record"):
        write_manifest(store, 2)
