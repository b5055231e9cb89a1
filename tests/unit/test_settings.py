"""Settings come from an injectable environment, fail fast, and never print secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stasis_app import cli, settings
from stasis_app.errors import ConfigError
from stasis_app.lab import LabPaths
from stasis_app.lab.credentials import LAB_ARI_PASSWORD, lab_environ
from stasis_app.settings import REPO_ROOT, VARIABLES, ClientSettings, Settings

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


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CTI_HTTP_PORT", "0", "between 1 and 65535"),
        ("CTI_RING_TIMEOUT", "nan", "must be positive"),
        ("CTI_RING_TIMEOUT", "soon", "number of seconds"),
        ("CTI_RETENTION_DAYS", "-1", "must not be negative"),
        ("CTI_RETENTION_DAYS", "a week", "number of days"),
        ("CTI_TIMEZONE", "Mars/Olympus", "IANA time zone"),
        ("CTI_METRICS_PUBLIC", "maybe", "true or false"),
        ("CTI_ELASTICSEARCH_URL", "es:9200", "must be an http"),
        ("CTI_KIBANA_URL", "ftp://kibana", "must be an http"),
        ("CTI_MAX_BODY_BYTES", "64k", "whole number"),
        ("CTI_ARI_URL", "http://cti:pw@127.0.0.1:8088", "credentials belong in"),
    ],
)
def test_more_malformed_values_name_their_variable(name: str, value: str, message: str) -> None:
    """Every typed variable refuses what is not of its type, naming itself and what it wanted."""
    with pytest.raises(ConfigError, match=message) as info:
        Settings.from_environ({**BASE, name: value})
    assert info.value.name == name


@pytest.mark.parametrize(
    ("name", "attribute", "default"),
    [
        ("CTI_HTTP_PORT", "http_port", 3000),
        ("CTI_ARI_URL", "ari_url", "http://127.0.0.1:8088"),
        ("CTI_RETENTION_DAYS", "retention_days", 90.0),
        ("CTI_METRICS_PUBLIC", "metrics_public", False),
        ("CTI_ELASTICSEARCH_URL", "elasticsearch_url", None),
        ("CTI_TIMEZONE", "timezone", None),
        ("CTI_QUEUES_FILE", "queues_file_setting", None),
        ("CTI_CORS_ORIGINS", "cors_origins", ()),
    ],
)
def test_an_empty_variable_counts_as_unset(name: str, attribute: str, default: object) -> None:
    """What Docker Compose passes for ${X:-}: the default, not an error."""
    assert getattr(Settings.from_environ({**BASE, name: ""}), attribute) == default


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("https://a.example", ("https://a.example",)),
        ("https://a.example, https://b.example,", ("https://a.example", "https://b.example")),
        (" , ", ()),
    ],
)
def test_cors_origins_are_a_comma_list(value: str, origins: tuple[str, ...]) -> None:
    assert Settings.from_environ({**BASE, "CTI_CORS_ORIGINS": value}).cors_origins == origins


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ("http://127.0.0.1:3000", None, Path("/var/lib/cti"))),
        (
            {"CTI_API_URL": "https://pbx:3000/", "CTI_API_TOKEN": " t ", "CTI_DATA_DIR": "/d"},
            ("https://pbx:3000", "t", Path("/d")),
        ),
    ],
)
def test_the_commands_settings(env: dict[str, str], expected: tuple[str, str | None, Path]) -> None:
    """The cti commands need no ARI password and judge no token: they only reach the API."""
    s = ClientSettings.from_environ(env)
    assert (s.api_url, s.api_token, s.data_dir) == expected


def test_a_bad_api_url_is_named() -> None:
    with pytest.raises(ConfigError, match="must be an http") as info:
        ClientSettings.from_environ({"CTI_API_URL": "pbx:3000"})
    assert info.value.name == "CTI_API_URL"


def test_the_lab_directory_comes_from_its_variable(tmp_path: Path) -> None:
    assert LabPaths.from_environ({}).base == Path("/var/cache/cti/lab")
    assert LabPaths.from_environ({"CTI_LAB_DIR": str(tmp_path)}).rootfs == tmp_path / "rootfs"


# -- one place ------------------------------------------------------------------------------------

PACKAGE = REPO_ROOT / "stasis_app"
NAMES = {var.name for var in VARIABLES}
CTI_NAME = re.compile(r"\bCTI_[A-Z][A-Z0-9_]*[A-Z0-9]\b")
# Reading the environment: os.environ (however reached), getenv, or typer reading a variable.
READS = re.compile(r"\.environ\b|getenv|envvar\s*=|from os import")
# The one use outside settings.py: the lab hands its environment on to the Asterisk it spawns.
PASSED_ON = ("lab/lab.py", "os.environ,")


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*") if p.suffix in (".py", ".html", ".js"))


def test_the_variables_are_declared_once() -> None:
    names = [var.name for var in VARIABLES]
    assert len(names) == len(set(names))
    assert all(CTI_NAME.fullmatch(name) for name in names)


def test_every_variable_the_code_names_is_declared() -> None:
    """A CTI_* name spelled anywhere in the package (messages, docstrings included) is one of
    VARIABLES: a new setting cannot be read past the table."""
    named = {
        (str(path.relative_to(PACKAGE)), name)
        for path in _sources()
        for name in CTI_NAME.findall(path.read_text())
    }
    assert {(where, name) for where, name in named if name not in NAMES} == set()


def test_only_settings_reads_the_environment() -> None:
    found = [
        (str(path.relative_to(PACKAGE)), line.strip())
        for path in _sources()
        if path.name != "settings.py"
        for line in path.read_text().splitlines()
        if READS.search(line)
    ]
    assert found == [PASSED_ON]


def test_the_operations_doc_lists_the_variables() -> None:
    """docs/operations.md's settings table names only declared variables, and every declared
    variable is documented somewhere in docs/."""
    docs = REPO_ROOT / "docs"
    text = (docs / "operations.md").read_text()
    table = text.split("\n## Settings (environment)\n", 1)[1].split("\n## ", 1)[0]
    listed = {
        name
        for line in table.splitlines()
        if line.startswith("| `CTI_")
        for name in CTI_NAME.findall(line.split("|")[1])
    }
    assert listed, "the settings table was not found"
    assert listed <= NAMES, listed - NAMES
    documented = {
        name for path in docs.rglob("*.md") for name in CTI_NAME.findall(path.read_text())
    }
    assert NAMES - documented == set()


@pytest.mark.parametrize(
    ("var", "env", "value"),
    [
        (settings.HTTP_PORT, {}, 3000),
        (settings.HTTP_PORT, {"CTI_HTTP_PORT": "8080"}, 8080),
        (settings.LAB_MIRROR, {}, None),
        (
            settings.ELASTICSEARCH_URL,
            {"CTI_ELASTICSEARCH_URL": "http://es:9200/"},
            "http://es:9200",
        ),
    ],
)
def test_a_variable_reads_its_value_or_default(
    var: settings.Var[object], env: dict[str, str], value: object
) -> None:
    """value() falls back to the default; optional() gives None when unset and has none."""
    read = var.value(env) if var.default is not None else var.optional(env)
    assert read == value


def test_a_required_variable_without_a_value_is_named() -> None:
    with pytest.raises(ConfigError, match="is required and not set") as info:
        settings.ELASTICSEARCH_URL.value({})
    assert info.value.name == "CTI_ELASTICSEARCH_URL"
