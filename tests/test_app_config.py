"""The settings file (mountcam.app.config): where it is, what it may say, how it fails."""

from __future__ import annotations

import pytest

from conftest import run_cli
from mountcam.app.config import Owner, config_path, load_owner, resolve_owner
from mountcam.errors import UnreadableFile


def test_location_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("MOUNTCAM_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() == tmp_path / "mountcam" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_path() == tmp_path / "home" / ".config" / "mountcam" / "config.toml"
    assert load_owner() == Owner()  # no file: nothing set


def test_reads_owner_and_command_line_wins(monkeypatch, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[owner]\nartist = "Ann"\ncopyright = "© Ann"\n', encoding="utf-8")
    monkeypatch.setenv("MOUNTCAM_CONFIG", str(path))
    assert load_owner() == Owner("Ann", "© Ann")
    assert resolve_owner(None, None) == Owner("Ann", "© Ann")
    assert resolve_owner("Bo", "") == Owner("Bo", None)


@pytest.mark.parametrize(
    "text, words",
    [
        ("[owner\nartist = 1", "not valid TOML"),
        ('[owner]\nartst = "x"\n', "unknown key(s) owner.artst"),
        ("[camera]\nx = 1\n", "unknown section(s) camera"),
        ("[owner]\nartist = 3\n", "owner.artist must be text"),
        ('owner = "me"\n', "must be a table"),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path, monkeypatch, text, words):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UnreadableFile, match="settings file") as err:
        load_owner(path)
    assert words in str(err.value)
    # shoot stops before capturing, with the message and exit status 2, writing nothing
    monkeypatch.setenv("MOUNTCAM_CONFIG", str(path))
    out = tmp_path / "out"
    code, _, stderr = run_cli(
        "shoot", "--scene", "chart:flat", "--crop", "64x48", "--out", str(out)
    )
    assert code == 2 and words in stderr.replace("\n", " ") and not out.exists()
