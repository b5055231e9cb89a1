"""The Asterisk container's entrypoint refuses committed, placeholder and weak secrets. Run with
bash against the repository's pjsip.conf (no Docker needed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from stasis_app.settings import (
    MIN_SECRET_LENGTH,
    PLACEHOLDER_MARKERS,
    PLACEHOLDER_SECRETS,
    REPO_ROOT,
)

DOCKER = REPO_ROOT / "docker"
PJSIP = REPO_ROOT / "asterisk" / "etc" / "pjsip.conf"
EXTENSIONS = re.findall(r"^password = test(\d+)$", PJSIP.read_text(), re.MULTILINE)
STRONG = "x7" * 16


def check(tmp_path: object, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash is not None
    script = (DOCKER / "asterisk-entrypoint.sh").read_text()
    script = script.replace("/usr/local/bin/check-secrets.sh", str(DOCKER / "check-secrets.sh"))
    return subprocess.run(
        [bash, "-c", script, "asterisk-entrypoint", "check", str(PJSIP)],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
    )


def good() -> dict[str, str]:
    return {"CTI_ARI_PASSWORD": STRONG, **{f"CTI_SIP_PASSWORD_{e}": STRONG for e in EXTENSIONS}}


def test_every_phone_has_a_password_variable() -> None:
    """Each committed lab SIP password is one the entrypoint replaces (7 phones today)."""
    assert len(EXTENSIONS) >= 7


def test_strong_secrets_pass(tmp_path: object) -> None:
    """With every secret set, random and long, the check passes."""
    assert check(tmp_path, good()).returncode == 0


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("", "not set"),
        ("change-me", "placeholder"),
        ("cti-lab-ari", "placeholder"),
        ("s" * 12, "too short"),
    ],
)
def test_a_bad_secret_is_refused_and_named(tmp_path: object, value: str, said: str) -> None:
    """A missing, placeholder or short secret stops the container, naming the variable only."""
    env = good() | {"CTI_SIP_PASSWORD_1003": value, "CTI_ARI_PASSWORD": value or STRONG}
    if not value:
        del env["CTI_SIP_PASSWORD_1003"]
    done = check(tmp_path, env)
    assert done.returncode == 1
    assert "CTI_SIP_PASSWORD_1003: " in done.stderr
    assert said in done.stderr
    assert not value or value not in done.stderr.replace("CTI_", "")


def test_the_shell_and_python_rules_are_the_same() -> None:
    """docker/check-secrets.sh keeps the placeholders and the minimum length of settings.py."""
    text = (DOCKER / "check-secrets.sh").read_text()
    secrets = re.search(r'^PLACEHOLDER_SECRETS="([^"]*)"', text, re.MULTILINE)
    markers = re.search(r'^PLACEHOLDER_MARKERS="([^"]*)"', text, re.MULTILINE)
    assert secrets is not None
    assert markers is not None
    assert set(secrets.group(1).split()) == PLACEHOLDER_SECRETS
    assert tuple(markers.group(1).split()) == PLACEHOLDER_MARKERS
    assert f"MIN_SECRET_LENGTH={MIN_SECRET_LENGTH}" in text
