"""Issue 9 §0: every ``mountcam`` command in the README runs as written.

The commands are read from the README's ``sh`` code blocks (so a command added there is tested
without touching this file), in order, in one scratch folder, with the README's own file names:
``photo.png`` and ``photo_depth.npy`` are made here, ``shots/*.dng`` is expanded as a shell
would. The only changes: a ``shoot`` without ``--crop`` gets a small one, and ``liveview`` runs
3 frames of 320×240 (a later option wins), so the whole tour runs in seconds. Each must end with exit 0 and print nothing on stderr but mountcam's own warnings.
"""

from __future__ import annotations

import glob
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli

README = Path(__file__).resolve().parents[1] / "README.md"
SMALL_CROP = ("--crop", "192x144")
SHORT_LIVE_VIEW = ("--frames", "3", "--size", "320x240")


def readme_commands(text: str) -> list[list[str]]:
    """The ``mountcam`` command lines of the ``sh`` blocks, continuation lines joined and
    comments dropped, as argument lists without the leading ``mountcam``."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "mountcam":
                commands.append(words[1:])
    return commands


def _expand(words: list[str]) -> list[str]:
    out = []
    for w in words:
        hits = sorted(glob.glob(w)) if any(c in w for c in "*?[") else []
        out.extend(hits or [w])
    return out


def _make_photo(folder: Path) -> None:
    from PIL import Image

    yy, xx = np.mgrid[0:96, 0:128]
    rgb = np.stack([xx * 2, yy * 2, 255 - xx - yy], axis=2).clip(0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(folder / "photo.png")
    np.save(folder / "photo_depth.npy", (1.0 + yy / 24.0).astype(np.float32))


def test_the_readme_has_a_tour_to_test():
    commands = readme_commands(README.read_text(encoding="utf-8"))
    verbs = [c[0] for c in commands]
    assert len(commands) >= 15 and {"shoot", "develop", "lenses", "sensors"} <= set(verbs)


def test_every_readme_command_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no owner file of ours
    monkeypatch.delenv("MOUNTCAM_CONFIG", raising=False)
    _make_photo(tmp_path)
    for words in readme_commands(README.read_text(encoding="utf-8")):
        args = _expand(words)
        if args[0] == "shoot" and "--crop" not in args:
            args += SMALL_CROP
        if args[0] == "liveview":
            args += SHORT_LIVE_VIEW
        code, _, stderr = run_cli(*args)
        shown = "mountcam " + shlex.join(words)
        assert code == 0, f"{shown}\n{stderr}"
        noise = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("warning: ")]
        assert not noise, f"{shown}\n{stderr}"
    assert sorted(p.name for p in (tmp_path / "shots").glob("*.dng"))[:2] == [
        "MTC_0001.dng",
        "MTC_0002.dng",
    ]
    assert (tmp_path / "portrait.jpg").is_file() and any((tmp_path / "lin").glob("*.tif"))


@pytest.mark.parametrize("text", ["```sh\nmountcam shoot --out a \\\n    --seed 2 # x\n```\n"])
def test_commands_are_read_with_continuations_and_comments(text):
    assert readme_commands(text) == [["shoot", "--out", "a", "--seed", "2"]]
