"""Settings come from an injectable environment, fail fast, and never print secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stasis_app import cli
from stasis_app.errors import ConfigError
from stasis_app.lab.credentials import LAB_ARI_PASSWORD, lab_environ
from stasis_app.settings import REPO_ROOT, Settings

BASE = {
    "CTI_ARI_PASSWORD": "s3cret-ari-0123456789abcdef",
    "CTI_API_TOKEN": "s3cret-token-0123456789abcdef",
}


def test_defaults_fill_everything_but_secrets() -> None:
    """With only the two secrets set, every other setting has a sensible default."""
    s = Settings.from_environ(BASE)
    assert s.ari_url == "http://127.0.0.1:8088"
    assert s.app == "cti"
    assert (s.http_host, s.http_port) == ("127.0.0.1", 3000)
    assert s.ivr_file.name == "main.toml"


@pytest.mark.parametrize("missing", ["CTI_ARI_PASSWORD", "CTI_API_TOKEN"])
def test_a_missing_secret_is_named(missing: str) -> None:
    """Production never falls back to a default password: the missing variable is named."""
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        Settings.from_environ(env)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CTI_HTTP_PORT", "eighty", "must be a port number"),
        ("CTI_HTTP_PORT", "70000", "between 1 and 65535"),
        ("CTI_ARI_URL", "127.0.0.1:8088", "must be an http"),
        ("CTI_RING_TIMEOUT", "-3", "must be positive"),
        ("CTI_LOG_FORMAT", "xml", "auto, json or console"),
        ("CTI_APP", "cti app", "plain Stasis application name"),
        ("CTI_MAX_CALL_SECONDS", "4h", "whole number of seconds"),
        ("CTI_MAX_CALL_SECONDS", "0", "must be positive"),
        ("CTI_EVENT_LOOP", "trio", "asyncio or uvloop"),
    ],
)
def test_malformed_values_are_rejected_with_the_variable_name(
    name: str, value: str, message: str
) -> None:
    """A bad value names the variable and says what was expected."""
    with pytest.raises(ConfigError, match=message) as info:
        Settings.from_environ({**BASE, name: value})
    assert info.value.name == name


def test_repr_hides_secrets() -> None:
    """Neither the ARI password nor the API token can reach a log line through repr()."""
    text = repr(Settings.from_environ(BASE))
    assert "s3cret" not in text


def test_lab_environ_fills_only_what_is_unset(tmp_path: Path) -> None:
    """The lab supplies its credentials and a persistent API token, but never overrides."""
    env = lab_environ({"CTI_DATA_DIR": str(tmp_path), "CTI_ARI_USER": "other"})
    assert env["CTI_ARI_PASSWORD"] == LAB_ARI_PASSWORD
    assert env["CTI_ARI_USER"] == "other"
    token = env["CTI_API_TOKEN"]
    assert len(token) >= 24
    assert (tmp_path / "api-token").stat().st_mode & 0o777 == 0o600
    assert lab_environ({"CTI_DATA_DIR": str(tmp_path)})["CTI_API_TOKEN"] == token


def test_the_call_limit_defaults_to_the_dialplans() -> None:
    """Originated legs get the same TIMEOUT(absolute) as calls entering the lab dialplan."""
    conf = (REPO_ROOT / "asterisk" / "etc" / "extensions.conf").read_text()
    (dialplan,) = re.findall(r"^CTI_MAX_CALL_SECONDS\s*=\s*(\d+)", conf, re.MULTILINE)

    assert Settings.from_environ(BASE).max_call_seconds == int(dialplan)
    assert Settings.from_environ({**BASE, "CTI_MAX_CALL_SECONDS": "600"}).max_call_seconds == 600


@pytest.mark.parametrize("name", ["CTI_API_TOKEN", "CTI_ARI_PASSWORD"])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("short-token", "too short"),
        ("change-me-token", "placeholder"),
        ("change-me-ari", "placeholder"),
        ("please-change-me-to-something-random", "placeholder"),
    ],
)
def test_weak_or_placeholder_secrets_are_refused(name: str, value: str, message: str) -> None:
    """A short secret, or one copied from .env.example, stops the start naming its variable."""
    with pytest.raises(ConfigError, match=message) as info:
        Settings.from_environ({**BASE, name: value})
    assert info.value.name == name
    assert value not in str(info.value)


def test_the_lab_ari_password_is_accepted_only_on_loopback() -> None:
    """The lab's published ARI password works for an Asterisk on this host (the lab, tests,
    benches), never for one across the network."""
    lab = {**BASE, "CTI_ARI_PASSWORD": LAB_ARI_PASSWORD}
    assert Settings.from_environ(lab).ari_password == LAB_ARI_PASSWORD
    with pytest.raises(ConfigError, match="CTI_ARI_PASSWORD"):
        Settings.from_environ({**lab, "CTI_ARI_URL": "http://10.0.0.5:8088"})


def test_the_lab_path_passes_the_secret_checks(tmp_path: Path) -> None:
    """`cti run --lab` (lab_environ with nothing set) starts: its token is random and long."""
    settings = Settings.from_environ(lab_environ({"CTI_DATA_DIR": str(tmp_path)}))
    assert len(settings.api_token) >= 24


def test_body_and_subscriber_limits_have_defaults_and_are_checked() -> None:
    """CTI_MAX_BODY_BYTES and CTI_MAX_SUBSCRIBERS default sensibly and refuse nonsense."""
    s = Settings.from_environ(BASE)
    assert (s.max_body_bytes, s.max_subscribers) == (64 * 1024, 64)
    assert Settings.from_environ({**BASE, "CTI_MAX_SUBSCRIBERS": "3"}).max_subscribers == 3
    for name in ("CTI_MAX_BODY_BYTES", "CTI_MAX_SUBSCRIBERS"):
        with pytest.raises(ConfigError, match=name):
            Settings.from_environ({**BASE, name: "0"})


def test_the_event_loop_is_asyncios_unless_uvloop_is_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvloop is optional: choosing it where it is not installed names the setting."""
    assert Settings.from_environ(BASE).event_loop == "asyncio"
    assert cli.loop_factory("asyncio") is None

    def absent(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr("stasis_app.cli.importlib.import_module", absent)
    with pytest.raises(ConfigError, match="uvloop is not installed") as info:
        cli.loop_factory("uvloop")
    assert info.value.name == "CTI_EVENT_LOOP"
