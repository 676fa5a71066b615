"""``mountcam inspect --histogram``: the raw histogram of a DNG, held against rawpy (LibRaw)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rawpy

from conftest import run_cli, shoot


@pytest.fixture(scope="module")
def dng(tmp_path_factory):
    out = tmp_path_factory.mktemp("inspect")
    shoot(out, "--scene", "chart:colorchecker", "--crop", "256x192", "--seed", "3")
    return out / "MTC_0001.dng"


def test_inspect_histogram_equals_one_computed_with_rawpy(dng):
    code, stdout, stderr = run_cli("inspect", str(dng), "--histogram", "--json", "--bins", "64")
    assert code == 0, stderr
    got = json.loads(stdout)["histogram"]
    edges = np.asarray(got["edges_dn"])
    assert len(edges) == 65
    with rawpy.imread(str(dng)) as raw:
        visible = raw.raw_image_visible.copy()
        colours = raw.raw_colors_visible.copy()
        names = raw.color_desc.decode()
    for colour in "RGB":
        indices = [i for i, name in enumerate(names) if name == colour]
        want = np.histogram(visible[np.isin(colours, indices)], bins=edges)[0]
        np.testing.assert_array_equal(got[colour], want)
    assert sum(sum(got[c]) for c in "RGB") == visible.size


def test_inspect_summary_and_bad_file(dng, tmp_path):
    code, stdout, _ = run_cli("inspect", str(dng), "--histogram")
    assert code == 0 and "headroom" in stdout and "clipped" in stdout
    bad = tmp_path / "bad.dng"
    bad.write_bytes(b"II*\x00" + b"\x00" * 20)
    code, _, stderr = run_cli("inspect", str(bad), "--histogram")
    assert code == 2 and len(stderr.strip().splitlines()) == 1
