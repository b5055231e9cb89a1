"""Finding and installing built prompts, and the CLI's error path (no espeak-ng, no sox)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stasis_app.sounds import SoundsError, app, available_prompts, install, prompt_exists


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A fake build output: ko has welcome (both formats) and busy (.ulaw only); en has welcome."""
    out = tmp_path / "sounds"
    for rel in ("ko/welcome.wav", "ko/welcome.ulaw", "ko/busy.ulaw", "en/welcome.wav"):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(rel.encode())
    (out / "ko" / ".welcome.wav.x.part").write_bytes(b"half")
    (out / ".manifest.json").write_text("{}")
    return out


def test_prompt_exists_with_either_format(built: Path) -> None:
    assert prompt_exists(built, "ko", "welcome")
    assert prompt_exists(built, "ko", "busy")
    assert not prompt_exists(built, "en", "busy")
    assert not prompt_exists(built, "ja", "welcome")


def test_prompt_exists_refuses_paths(built: Path) -> None:
    """A name or language that would leave the sounds folder is never 'found'."""
    assert not prompt_exists(built, "ko", "../en/welcome")
    assert not prompt_exists(built, "../sounds/ko", "welcome")


def test_available_prompts_per_language(built: Path) -> None:
    assert available_prompts(built, "ko") == {"welcome", "busy"}
    assert available_prompts(built, "en") == {"welcome"}
    assert available_prompts(built, "ja") == frozenset()


def test_install_copies_into_lang_cti(built: Path, tmp_path: Path) -> None:
    """Files land where Asterisk resolves sound:cti/<name> for the channel's language."""
    target = tmp_path / "asterisk-sounds"
    written = install(built, target)
    assert sorted(p.relative_to(target).as_posix() for p in written) == [
        "en/cti/welcome.wav",
        "ko/cti/busy.ulaw",
        "ko/cti/welcome.ulaw",
        "ko/cti/welcome.wav",
    ]
    assert (target / "ko/cti/welcome.wav").read_bytes() == b"ko/welcome.wav"
    assert not list(target.rglob("*.part"))


def test_install_copies_only_changed_files(built: Path, tmp_path: Path) -> None:
    target = tmp_path / "asterisk-sounds"
    install(built, target)
    assert install(built, target) == []
    (built / "ko" / "busy.ulaw").write_bytes(b"new audio")
    assert install(built, target) == [target / "ko/cti/busy.ulaw"]


def test_install_sets_the_owner(built: Path, tmp_path: Path) -> None:
    """The owner is applied to files and created folders (here our own ids: no root needed)."""
    target = tmp_path / "asterisk-sounds"
    written = install(built, target, languages=["en"], owner=(os.getuid(), os.getgid()))
    assert written == [target / "en/cti/welcome.wav"]
    assert (target / "en/cti").stat().st_uid == os.getuid()
    assert (written[0].stat().st_mode & 0o777) == 0o644


def test_install_without_a_build_says_so(tmp_path: Path) -> None:
    with pytest.raises(SoundsError, match="run `cti sounds build` first"):
        install(tmp_path / "nothing", tmp_path / "asterisk")


def test_cli_build_reports_a_bad_catalog(tmp_path: Path) -> None:
    """`cti sounds build` with an invalid catalog exits 1 and names the bad entry."""
    catalog = tmp_path / "prompts.toml"
    catalog.write_text(
        'default_language = "ko"\n[voices]\nko = "ko"\n[prompts.Welcome]\nko = "x"\n'
    )
    result = CliRunner().invoke(app, ["build", "--catalog", str(catalog), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "prompts.Welcome: invalid prompt name" in result.output


def test_cli_install_rejects_a_bad_owner(built: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["install", "--from", str(built), "--to", str(tmp_path), "--owner", "asterisk"]
    )
    assert result.exit_code == 1
    assert "--owner must be UID:GID" in result.output
