"""The README's Python API example runs as written, in a fresh interpreter (issue 12, 1)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = "<!-- python-api-example: run by tests/test_readme_example.py -->"


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    after = text[text.index(MARKER) + len(MARKER) :]
    return re.search(r"```python\n(.*?)```", after, re.S).group(1)


def test_the_example_is_short():
    assert len(readme_example().strip().splitlines()) <= 15


def test_the_readme_example_runs_in_a_fresh_interpreter(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", readme_example()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "'exposure_program': 'aperture priority'" in result.stdout
    assert sorted(p.name for p in (tmp_path / "shots").iterdir()) == [
        "MTC_0001.dng",
        "MTC_0001.jpg",
    ]
    from mountcam.dng import read_dng

    info = read_dng(tmp_path / "shots" / "MTC_0001.dng")
    assert info.lens_model == "Summicron-M 50 mm f/2 (IV, V)"
    assert info.f_number is not None and 3.0 < info.f_number < 5.5  # the body's estimate of f/4
