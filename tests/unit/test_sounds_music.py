"""The music on hold's recipe, where it goes, and installing it (no sox needed here)."""

from __future__ import annotations

import configparser
import os
from pathlib import Path, PurePosixPath

import pytest

from stasis_app.settings import REPO_ROOT
from stasis_app.sounds import SoundsError, install
from stasis_app.sounds.music import (
    MELODY,
    MOH_DIR,
    NOTE_SECONDS,
    install_music,
    music_digest,
    music_files,
    synth_args,
)


def musiconhold_conf() -> configparser.ConfigParser:
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(REPO_ROOT / "asterisk/etc/musiconhold.conf")
    return conf


def test_the_default_class_plays_files_from_where_the_music_is_installed() -> None:
    """musiconhold.conf and the code that installs the music name the same folder: a mismatch
    would leave the held caller in silence with nothing but a warning in Asterisk's log."""
    default = musiconhold_conf()["default"]
    assert default["mode"] == "files"
    assert PurePosixPath(default["directory"]) == MOH_DIR


def test_the_melody_is_one_synth_chain_per_note() -> None:
    """sox plays effect chains one after another: the notes in order, separated by ':'."""
    args = synth_args()
    chains = " ".join(args).split(" : ")
    assert chains == [f"synth {NOTE_SECONDS} pluck {note}" for note in MELODY]
    assert len(MELODY) * NOTE_SECONDS == pytest.approx(9.6)  # a loop of a few seconds


def test_the_digest_is_stable_and_names_both_formats() -> None:
    assert music_digest() == music_digest()
    assert music_files() == ("music.wav", "music.ulaw")


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A fake build output with the music (both formats) and a prompt beside it."""
    out = tmp_path / "sounds"
    for rel in ("moh/music.wav", "moh/music.ulaw", "ko/welcome.wav"):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(rel.encode())
    (out / "moh/.digest").write_text("x\n")
    return out


def test_install_copies_the_music_and_only_when_changed(built: Path, tmp_path: Path) -> None:
    target = tmp_path / "moh/cti"
    written = install_music(built, target)
    assert sorted(p.name for p in written) == ["music.ulaw", "music.wav"]
    assert (target / "music.wav").read_bytes() == b"moh/music.wav"
    assert not (target / ".digest").exists()
    assert install_music(built, target) == []
    (built / "moh/music.wav").write_bytes(b"new")
    assert install_music(built, target) == [target / "music.wav"]


def test_install_removes_an_old_melody_but_nothing_else(built: Path, tmp_path: Path) -> None:
    """Asterisk plays every sound file in the class's folder: an old one of ours would play in
    rotation, so it goes; files that are not sounds stay."""
    target = tmp_path / "moh/cti"
    target.mkdir(parents=True)
    (target / "cti-melody.wav").write_bytes(b"old")
    (target / "README").write_text("kept")
    install_music(built, target)
    assert sorted(p.name for p in target.iterdir()) == ["README", "music.ulaw", "music.wav"]


def test_install_sets_the_owner(built: Path, tmp_path: Path) -> None:
    ids = (os.getuid(), os.getgid())
    written = install_music(built, tmp_path / "moh/cti", owner=ids)
    assert all((p.stat().st_uid, p.stat().st_gid) == ids for p in written)


def test_install_without_a_build_says_so(tmp_path: Path) -> None:
    with pytest.raises(SoundsError, match="run `cti sounds build` first"):
        install_music(tmp_path / "nothing", tmp_path / "moh")


def test_prompt_install_leaves_the_music_folder_alone(built: Path, tmp_path: Path) -> None:
    """sounds/moh/ is not a language: the prompts' install must not copy it to sounds/moh/cti."""
    target = tmp_path / "asterisk-sounds"
    written = install(built, target)
    assert [p.relative_to(target).as_posix() for p in written] == ["ko/cti/welcome.wav"]
