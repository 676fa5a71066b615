"""``mountcam develop --cluster``: the same develop on Dask, local files and s3:// URLs."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli, shoot


@pytest.fixture(scope="module")
def scheduler():
    from distributed import LocalCluster

    from mountcam.cluster import WORKER_ENV

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        env=WORKER_ENV,
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def dngs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dngs")
    shoot(
        folder, "--scene", "chart:colorchecker", "--crop", "256x192", "--seed", "1", "--count", "2"
    )
    (folder / "broken.dng").write_bytes(b"II*\x00" + b"\x00" * 64)
    return folder


def test_cluster_develop_equals_the_local_one_and_names_and_fails_alike(tmp_path, dngs, scheduler):
    inputs = [str(dngs / "MTC_0001.dng"), str(dngs / "MTC_0002.dng"), str(dngs / "broken.dng")]
    local, remote = tmp_path / "local", tmp_path / "remote"
    code_l, _, err_l = run_cli("develop", *inputs, "--out-dir", str(local), "--json")
    code_r, out_r, err_r = run_cli(
        "develop", *inputs, "--out-dir", str(remote), "--cluster", scheduler, "--json"
    )
    assert code_l == code_r == 2
    assert len(err_r.strip().splitlines()) == 1 and "broken.dng" in err_r
    records = json.loads(out_r)
    assert [r["output"] is not None for r in records] == [True, True, False]
    for name in ("MTC_0001.jpg", "MTC_0002.jpg"):
        a = np.asarray(Image.open(local / name))
        b = np.asarray(Image.open(remote / name))
        np.testing.assert_array_equal(a, b)
    # A second run never overwrites: the next counted name.
    code, out, _ = run_cli(
        "develop", inputs[0], "--out-dir", str(remote), "--cluster", scheduler, "--json"
    )
    assert code == 0 and json.loads(out)[0]["output"].endswith("MTC_0001-1.jpg")


def test_cluster_develop_reads_and_writes_s3(tmp_path, dngs, scheduler, monkeypatch):
    import boto3
    import s3fs
    from moto import server as moto_server

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        from distributed import Client

        with Client(scheduler) as client:  # the workers were started before: tell them too
            client.run(lambda: os.environ.update(env))  # a lambda travels by value
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="shots")
        fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint})
        fs.put_file(str(dngs / "MTC_0001.dng"), "shots/in/MTC_0001.dng")
        code, out, err = run_cli(
            "develop",
            "s3://shots/in/MTC_0001.dng",
            "--out-dir",
            "s3://shots/out",
            "--cluster",
            scheduler,
            "--json",
        )
        assert code == 0, err
        assert json.loads(out)[0]["output"] == "s3://shots/out/MTC_0001.jpg"
        fs.invalidate_cache()
        remote = np.asarray(Image.open(io.BytesIO(fs.cat_file("shots/out/MTC_0001.jpg"))))
        run_cli("develop", str(dngs / "MTC_0001.dng"), "-o", str(tmp_path / "local.jpg"))
        np.testing.assert_array_equal(remote, np.asarray(Image.open(tmp_path / "local.jpg")))
        code, _, err = run_cli("develop", "s3://shots/in/missing.dng", "--cluster", scheduler)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "missing.dng" in err
    finally:
        server.stop()


def test_urls_need_a_cluster_and_an_unreachable_one_is_one_line(dngs):
    code, _, err = run_cli("develop", "s3://shots/a.dng")
    assert code == 2 and "--cluster" in err
    code, _, err = run_cli("develop", str(dngs / "MTC_0001.dng"), "--cluster", "tcp://127.0.0.1:9")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "scheduler" in err
