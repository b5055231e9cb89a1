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


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        (None, False),  # unset: the entrypoint turns Asterisk's metrics off instead
        (STRONG, False),
        ("cti-lab-metrics", True),  # the lab's password in asterisk/etc/prometheus.conf
        ("change-me", True),
    ],
)
def test_the_asterisk_metrics_password_is_optional_but_never_weak(
    tmp_path: object, value: str | None, refused: bool
) -> None:
    """res_prometheus's password is checked like the others when the operator sets one."""
    env = good() if value is None else good() | {"CTI_ASTERISK_METRICS_PASSWORD": value}
    done = check(tmp_path, env)
    assert done.returncode == (1 if refused else 0)
    assert ("CTI_ASTERISK_METRICS_PASSWORD: " in done.stderr) == refused


def test_the_lab_metrics_password_is_the_one_the_entrypoint_replaces() -> None:
    """The entrypoint's sed matches prometheus.conf's password and `enabled` lines."""
    conf = (REPO_ROOT / "asterisk" / "etc" / "prometheus.conf").read_text()
    script = (DOCKER / "asterisk-entrypoint.sh").read_text()
    assert re.search(r"^auth_password = cti-lab-metrics$", conf, re.MULTILINE)
    assert re.search(r"^enabled = yes$", conf, re.MULTILINE)
    assert "s|^auth_password = .*|" in script
    assert "s/^enabled = yes/enabled = no/" in script


def test_the_example_env_leaves_every_required_secret_empty() -> None:
    """compose.yaml requires each secret with ${NAME:?...}, which refuses an empty value: the
    example .env leaves them empty, so `docker compose config` (and `up`) with it unchanged
    stops at once, naming the first one, instead of passing placeholders on to the containers."""
    compose = (REPO_ROOT / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{(CTI_[A-Z0-9_]+):\?", compose))
    example = dict(
        line.split("=", 1)
        for line in (REPO_ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert required >= {
        "CTI_ARI_PASSWORD",
        "CTI_API_TOKEN",
        *(f"CTI_SIP_PASSWORD_{e}" for e in EXTENSIONS),
    }
    assert {name: example.get(name) for name in required} == dict.fromkeys(required, "")
