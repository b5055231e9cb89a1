"""Credentials in URLs are hidden wherever a URL is shown, and taken out wherever one is used."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import structlog

from stasis_app.errors import ConfigError, EsConnectionError, EsHttpError
from stasis_app.events.ecs import Origin
from stasis_app.events.elastic import ElasticSink
from stasis_app.events.setup import detect, setup
from stasis_app.redact import redact_url, split_credentials, without_credentials
from stasis_app.settings import Settings
from tests.fakes.bulk_server import BulkServer

SECRET = "s3cr%40t"  # percent-encoded "s3cr@t", as it must be written in a URL
BASE = {"CTI_ARI_PASSWORD": "ari-pw-" + "a" * 24, "CTI_API_TOKEN": "api-token-" + "b" * 24}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://es:9200", "http://es:9200"),
        (f"https://cti:{SECRET}@es:9200/p?q=1", "https://***@es:9200/p?q=1"),
        ("https://token@es", "https://***@es"),
        ("http://u:p@ss@es:9200", "http://***@es:9200"),  # an unescaped @ in the password
        ("http://es:9200/a@b", "http://es:9200/a@b"),  # an @ in the path is no userinfo
        ("http://u:p@[::1:9200", "http://***@[::1:9200"),  # malformed, still hidden
        ("", ""),
    ],
)
def test_redact_url_hides_the_userinfo_only(url: str, shown: str) -> None:
    """Whatever the URL, user:password@ becomes ***@ and the rest stays readable."""
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("url", "clean", "credentials"),
    [
        ("http://es:9200", "http://es:9200", None),
        (f"https://cti:{SECRET}@es:9200/x", "https://es:9200/x", ("cti", "s3cr@t")),
        ("https://token@es", "https://es", ("token", "")),
    ],
)
def test_split_credentials_takes_them_out_decoded(
    url: str, clean: str, credentials: tuple[str, str] | None
) -> None:
    """The clean URL is what gets sent and shown; the credentials go into a header."""
    assert split_credentials(url) == (clean, credentials)


@pytest.mark.parametrize(
    ("url", "headers", "expected"),
    [
        ("http://es:9200/", {}, ("http://es:9200", {})),
        ("http://a:b@es:9200", {}, ("http://es:9200", {"Authorization": "Basic YTpi"})),
        (
            "http://a:b@es:9200",
            {"Authorization": "ApiKey k"},
            ("http://es:9200", {"Authorization": "ApiKey k"}),
        ),
    ],
)
def test_the_sink_sends_url_credentials_as_basic_auth_unless_set_explicitly(
    url: str, headers: dict[str, str], expected: tuple[str, dict[str, str]]
) -> None:
    """CTI_ELASTICSEARCH_API_KEY / _USER win over credentials written in the URL."""
    assert without_credentials(url, headers) == expected


def test_the_sink_never_keeps_the_secret_in_the_url_it_logs() -> None:
    """Every es.* log line and every error of the sink names sink.url: it has no userinfo."""
    store: Any = SimpleNamespace(origin=Origin())  # the constructor reads only its origin
    sink = ElasticSink(f"http://cti:{SECRET}@127.0.0.1:9200/", store)
    assert sink.url == "http://127.0.0.1:9200"


def test_settings_repr_and_errors_hide_url_credentials() -> None:
    """repr(Settings) and a malformed-URL error never echo a password written in a URL."""
    env = {
        **BASE,
        "CTI_ELASTICSEARCH_URL": f"http://cti:{SECRET}@es:9200",
        "CTI_KIBANA_URL": f"http://cti:{SECRET}@kibana:5601",
    }
    assert SECRET not in repr(Settings.from_environ(env))
    with pytest.raises(ConfigError) as caught:
        Settings.from_environ({**env, "CTI_ELASTICSEARCH_URL": f"ftp://cti:{SECRET}@es"})
    assert SECRET not in str(caught.value)
    assert "***@es" in str(caught.value)


def test_ari_credentials_in_the_url_are_refused_without_echoing_them() -> None:
    """The ARI URL is logged on every connect: credentials belong in CTI_ARI_USER/PASSWORD."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_environ({**BASE, "CTI_ARI_URL": f"http://cti:{SECRET}@127.0.0.1:8088"})
    assert caught.value.name == "CTI_ARI_URL"
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "error",
    [
        EsConnectionError(f"http://cti:{SECRET}@es:9200", "refused"),
        EsHttpError("GET", f"http://cti:{SECRET}@es:9200/", 500, "boom"),
    ],
)
def test_events_errors_redact_the_url_they_carry(error: Exception) -> None:
    """Whoever builds the error, its message and its url attribute are safe to print."""
    assert SECRET not in str(error)
    assert SECRET not in error.url  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_es_setup_output_and_errors_never_show_url_credentials() -> None:
    """cti es setup prints progress and errors naming the server: never its password."""
    server = BulkServer()
    url = await server.start()
    with_secret = url.replace("http://", f"http://cti:{SECRET}@")
    try:
        lines: list[str] = []
        with structlog.testing.capture_logs() as logs:
            await setup(with_secret, with_secret, progress=lines.append)
        assert lines
        assert all(SECRET not in line for line in lines + [str(e) for e in logs])
    finally:
        await server.stop()
    with pytest.raises(EsConnectionError) as caught:
        await detect(with_secret)
    assert SECRET not in str(caught.value)
    assert "***@" not in str(caught.value)  # taken out before sending, not only hidden
