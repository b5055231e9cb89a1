"""Music on hold: built with the real sox, installed by the lab where musiconhold.conf points, and
listed by Asterisk itself (`moh show classes`, `moh show files`)."""

from __future__ import annotations

import configparser
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stasis_app.lab import Lab
from stasis_app.lab.prompts import SOUNDS_DIR
from stasis_app.settings import REPO_ROOT
from stasis_app.sounds import app
from stasis_app.sounds.music import MELODY, NOTE_SECONDS, build_music
from tests.sipkit import read_wav, rms

MIN_RMS = 0.05  # of full scale; the melody sits around 0.14, silence at 0


def moh_directory() -> str:
    """The folder musiconhold.conf's default class plays, as Asterisk sees it (in the rootfs)."""
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(REPO_ROOT / "asterisk/etc/musiconhold.conf")
    return conf["default"]["directory"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sounds")
    assert build_music(out) == ("moh/music.wav", "moh/music.ulaw")
    return out


def test_music_is_8khz_mono_and_as_long_as_the_melody(built: Path) -> None:
    with wave.open(str(built / "moh/music.wav"), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        frames = wav.getnframes()
    assert frames / 8000 == pytest.approx(len(MELODY) * NOTE_SECONDS, abs=0.05)
    # mu-law: one byte per sample, the same length as the wav.
    assert (built / "moh/music.ulaw").stat().st_size == frames


def test_music_is_clearly_not_silent(built: Path) -> None:
    samples = read_wav(built / "moh/music.wav")
    assert rms(samples) > MIN_RMS
    # Music all through the loop, not a burst then silence: every second has sound.
    assert all(rms(samples[i : i + 8000]) > MIN_RMS / 2 for i in range(0, len(samples), 8000))


def test_music_builds_once_and_reproducibly(built: Path, tmp_path: Path) -> None:
    assert build_music(built) == ()  # up to date: nothing to do
    assert build_music(tmp_path) != ()
    for name in ("music.wav", "music.ulaw"):
        assert (tmp_path / "moh" / name).read_bytes() == (built / "moh" / name).read_bytes()


def test_cli_build_makes_the_music_with_the_prompts(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["build", "--only-lang", "en", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "music on hold: moh/music.wav, moh/music.ulaw" in result.output
    assert (tmp_path / "moh/music.ulaw").is_file()


@pytest.mark.lab
def test_lab_installs_the_music_where_musiconhold_conf_points(lab: Lab) -> None:
    """After a lab start the folder of the default class (inside the rootfs) holds the music
    as built, readable by Asterisk's user."""
    folder = lab.paths.rootfs / moh_directory().lstrip("/")
    for name in ("music.wav", "music.ulaw"):
        installed = folder / name
        assert installed.is_file(), installed
        assert installed.read_bytes() == (SOUNDS_DIR / "moh" / name).read_bytes()
        assert installed.stat().st_mode & 0o004  # world-readable: Asterisk runs as its own user


@pytest.mark.lab
def test_asterisk_lists_the_default_class_with_its_file(lab: Lab) -> None:
    """Asterisk loaded the class from musiconhold.conf and found the music in its folder (both
    formats count as one file, played in whichever costs no transcoding)."""
    directory = moh_directory()
    classes = lab.cli("moh show classes")
    assert "Class: default" in classes
    assert "Mode: files" in classes
    assert f"Directory: {directory}" in classes
    files = lab.cli("moh show files")
    assert "Class: default" in files
    assert f"File: {directory}/music" in files
