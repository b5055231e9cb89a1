"""The `cti` command line as a user meets it: checking IVR files, refusing a bad one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from stasis_app.settings import REPO_ROOT
from tests.integration.cti import run_cti as cti

IVR = REPO_ROOT / "ivr" / "main.toml"


def _built_sounds(tmp_path: Path) -> Path:
    done = cti("sounds", "build", "--out", str(tmp_path / "sounds"))
    assert done.returncode == 0, done.stderr
    return tmp_path / "sounds"


def test_validate_accepts_the_shipped_ivr(tmp_path: Path) -> None:
    """The shipped IVR validates against freshly built prompts."""
    sounds = _built_sounds(tmp_path)
    done = cti("ivr", "validate", str(IVR), "--sounds", str(sounds))
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout


def test_validate_names_a_deleted_prompt(tmp_path: Path) -> None:
    """Deleting a prompt's sound files makes validation fail, naming the prompt and language."""
    sounds = _built_sounds(tmp_path)
    for f in (sounds / "ko").glob("goodbye.*"):
        f.unlink()
    done = cti("ivr", "validate", str(IVR), "--sounds", str(sounds))
    assert done.returncode == 1
    assert (
        "menus.main.on_exhausted.hangup: prompt 'goodbye' has no sound file for language 'ko'"
        in (done.stderr)
    )


def test_validate_reports_every_problem_with_its_path(tmp_path: Path) -> None:
    """A broken file gets every problem listed, each with its dotted path."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'language = "ko"\nstart = "main"\n[menus.main]\nprompts = ["welcome"]\ntimeout = -1\n'
        '[menus.main.options]\n"3" = { goto = "salse" }\n'
    )
    done = cti("ivr", "validate", str(bad), "--sounds", str(_built_sounds(tmp_path)))
    assert done.returncode == 1
    assert "menus.main.options.3: unknown menu 'salse'" in done.stderr
    assert "menus.main.timeout" in done.stderr


def test_worker_refuses_to_start_on_an_invalid_ivr(tmp_path: Path) -> None:
    """`cti run` with a broken IVR file exits 1 naming the file and the path of the problem,
    before it touches Asterisk."""
    bad = tmp_path / "bad.toml"
    shutil.copy(IVR, bad)
    bad.write_text(bad.read_text().replace('start = "main"', 'start = "mian"'))
    env = dict(os.environ, CTI_ARI_PASSWORD="x" * 32, CTI_API_TOKEN="y" * 32, CTI_IVR_FILE=str(bad))
    env["CTI_DATA_DIR"] = str(tmp_path / "data")
    done = cti("run", env=env)
    assert done.returncode == 1
    assert str(bad) in done.stderr
    assert "start: unknown menu 'mian'" in done.stderr


def test_run_without_secrets_names_the_missing_variable(tmp_path: Path) -> None:
    """Outside the lab no password is assumed: the missing variable is named."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
    done = cti("run", env=env)
    assert done.returncode == 1
    assert "CTI_ARI_PASSWORD" in done.stderr
