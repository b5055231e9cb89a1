"""Settings, read once from an injectable environment and frozen.

Every setting is a ``CTI_*`` environment variable. Secrets (the ARI password, the API token) have
no default here: the lab supplies its own defaults explicitly (``stasis_app.lab.credentials``), so a
production start with a forgotten variable fails fast and names it instead of running with a
well-known password. A secret that is a known placeholder or shorter than
:data:`MIN_SECRET_LENGTH` is refused the same way, naming its variable.
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from stasis_app.errors import ConfigError
from stasis_app.events.elastic import auth_headers
from stasis_app.redact import redact_url, split_credentials

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_CALL_SECONDS = 14400  # 4 h, as CTI_MAX_CALL_SECONDS in asterisk/etc/extensions.conf
MAX_BODY_BYTES = 64 * 1024  # as stasis_app.http.limits.DEFAULT_MAX_BODY_BYTES
MAX_SUBSCRIBERS = 64
MIN_SECRET_LENGTH = 24
# Values shipped in examples and docs: refused whatever their length. docker/check-secrets.sh
# keeps the same list (tests/unit/test_secrets.py holds the two together).
PLACEHOLDER_SECRETS = frozenset(
    {
        "change-me",
        "changeme",
        "change-me-ari",
        "change-me-token",
        "cti-lab-ari",
        "password",
        "secret",
    }
)
PLACEHOLDER_MARKERS = ("change-me", "changeme", "replace-me")
# The lab's published ARI password (asterisk/etc/ari.conf holds its hash; stasis_app.lab uses it).
LAB_ARI_PASSWORD = "cti-lab-ari"  # noqa: S105 - a documented lab-only credential
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def weak_secret(value: str) -> str | None:
    """Why ``value`` is not good enough for a secret, or None."""
    lowered = value.strip().lower()
    if lowered in PLACEHOLDER_SECRETS or any(m in lowered for m in PLACEHOLDER_MARKERS):
        return "is a placeholder from the examples; set a random value (openssl rand -hex 24)"
    if len(value) < MIN_SECRET_LENGTH:
        return (
            f"is too short ({len(value)} characters, at least {MIN_SECRET_LENGTH}); "
            "set a random value (openssl rand -hex 24)"
        )
    return None


def _secret(env: Mapping[str, str], name: str) -> str:
    value = _required(env, name)
    problem = weak_secret(value)
    if problem is not None:
        raise ConfigError(name, problem)
    return value


def _ari_password(env: Mapping[str, str], ari_url: str) -> str:
    """The lab's published ARI password is accepted only for an Asterisk on this host's
    loopback, where the lab binds ARI: whoever can reach it already runs code on the host."""
    value = _required(env, "CTI_ARI_PASSWORD")
    if value == LAB_ARI_PASSWORD and urlsplit(ari_url).hostname in _LOOPBACK:
        return value
    return _secret(env, "CTI_ARI_PASSWORD")


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise ConfigError(name, "is required and not set")
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be a port number, got {raw!r}") from None
    if not 0 < port < 65536:
        raise ConfigError(name, f"must be between 1 and 65535, got {port}")
    return port


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(name, f"must be positive, got {value}")
    return value


def _whole_seconds(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be a whole number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(name, f"must be positive, got {value}")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(name, f"must be positive, got {value}")
    return value


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, default).rstrip("/")
    try:
        parts = urlsplit(raw)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        ok = False
    if not ok:
        raise ConfigError(
            name, f"must be an http(s) URL like http://127.0.0.1:8088, got {redact_url(raw)!r}"
        )
    return raw


def _days(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            name, f"must be a number of days (0 keeps everything), got {raw!r}"
        ) from None
    if value < 0:
        raise ConfigError(name, f"must not be negative, got {value}")
    return value


def _timezone(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "")
    if not raw:
        return None
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            name, f"must be an IANA time zone such as Asia/Seoul, got {raw!r}"
        ) from None
    return raw


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw not in _TRUE + _FALSE:
        raise ConfigError(name, f"must be true or false, got {env[name]!r}")
    return raw in _TRUE


def _optional_url(env: Mapping[str, str], name: str) -> str | None:
    return _url(env, name, "") if env.get(name) else None


@dataclass(frozen=True)
class Settings:
    """Everything the worker needs to run. Build with :meth:`from_environ`."""

    ari_url: str
    ari_user: str
    ari_password: str
    app: str
    ivr_file: Path
    data_dir: Path
    http_host: str
    http_port: int
    api_token: str
    ring_timeout: float
    log_format: str
    retention_days: float = 90.0
    elasticsearch_url: str | None = None
    kibana_url: str | None = None
    elasticsearch_headers: dict[str, str] = field(default_factory=dict, repr=False)
    # The queues the IVR can send callers to; None: ``queues.toml`` beside the IVR file.
    queues_file_setting: Path | None = None
    # Local time zone of the queues' daily figures ("today"); None: the machine's.
    timezone: str | None = None
    # /metrics without the token, for a Prometheus that cannot send one (trusted networks only).
    metrics_public: bool = False
    # No call outlives this: set as TIMEOUT(absolute) on every channel we originate. The same
    # name and default as the lab dialplan's global, which bounds the calls that enter it.
    max_call_seconds: int = MAX_CALL_SECONDS
    # Request bodies above this are refused with 413 before anything parses them.
    max_body_bytes: int = MAX_BODY_BYTES
    # Open event streams (WebSocket and SSE together); one more is refused (503 / close 1013).
    max_subscribers: int = MAX_SUBSCRIBERS
    # The event loop implementation: "asyncio" (the standard one) or "uvloop" (libuv, if
    # installed; measured in bench/notes.md, "Levers": no saving here).
    event_loop: str = "asyncio"

    @property
    def queues_file(self) -> Path:
        return self.queues_file_setting or self.ivr_file.with_name("queues.toml")

    def __repr__(self) -> str:
        # Secrets never reach a log line, not even through a debug repr.
        es, kibana = (u and redact_url(u) for u in (self.elasticsearch_url, self.kibana_url))
        return (
            f"Settings(ari_url={redact_url(self.ari_url)!r}, ari_user={self.ari_user!r}, "
            f"app={self.app!r}, "
            f"ivr_file={str(self.ivr_file)!r}, queues_file={str(self.queues_file)!r}, "
            f"data_dir={str(self.data_dir)!r}, "
            f"http={self.http_host}:{self.http_port}, "
            f"elasticsearch={es!r}, kibana={kibana!r})"
        )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        log_format = env.get("CTI_LOG_FORMAT", "auto")
        if log_format not in ("auto", "json", "console"):
            raise ConfigError(
                "CTI_LOG_FORMAT", f"must be auto, json or console, got {log_format!r}"
            )
        event_loop = env.get("CTI_EVENT_LOOP", "asyncio")
        if event_loop not in ("asyncio", "uvloop"):
            raise ConfigError("CTI_EVENT_LOOP", f"must be asyncio or uvloop, got {event_loop!r}")
        app = env.get("CTI_APP", "cti")
        if not app.replace("-", "").replace("_", "").isalnum():
            raise ConfigError("CTI_APP", f"must be a plain Stasis application name, got {app!r}")
        ari_url = _url(env, "CTI_ARI_URL", "http://127.0.0.1:8088")
        if split_credentials(ari_url)[1] is not None:
            # Refused rather than used: the ARI URL is logged on every (re)connect.
            raise ConfigError(
                "CTI_ARI_URL", "credentials belong in CTI_ARI_USER/CTI_ARI_PASSWORD, not the URL"
            )
        return cls(
            ari_url=ari_url,
            ari_user=env.get("CTI_ARI_USER", "cti"),
            ari_password=_ari_password(env, ari_url),
            app=app,
            ivr_file=Path(env.get("CTI_IVR_FILE", str(REPO_ROOT / "ivr" / "main.toml"))),
            data_dir=Path(env.get("CTI_DATA_DIR", "/var/lib/cti")),
            http_host=env.get("CTI_HTTP_HOST", "127.0.0.1"),
            http_port=_port(env, "CTI_HTTP_PORT", 3000),
            api_token=_secret(env, "CTI_API_TOKEN"),
            ring_timeout=_seconds(env, "CTI_RING_TIMEOUT", 20.0),
            log_format=log_format,
            retention_days=_days(env, "CTI_RETENTION_DAYS", 90.0),
            elasticsearch_url=_optional_url(env, "CTI_ELASTICSEARCH_URL"),
            kibana_url=_optional_url(env, "CTI_KIBANA_URL"),
            elasticsearch_headers=auth_headers(env),
            queues_file_setting=Path(env["CTI_QUEUES_FILE"])
            if env.get("CTI_QUEUES_FILE")
            else None,
            timezone=_timezone(env, "CTI_TIMEZONE"),
            metrics_public=_flag(env, "CTI_METRICS_PUBLIC"),
            max_call_seconds=_whole_seconds(env, "CTI_MAX_CALL_SECONDS", MAX_CALL_SECONDS),
            max_body_bytes=_count(env, "CTI_MAX_BODY_BYTES", MAX_BODY_BYTES),
            max_subscribers=_count(env, "CTI_MAX_SUBSCRIBERS", MAX_SUBSCRIBERS),
            event_loop=event_loop,
        )
