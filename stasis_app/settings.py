"""Settings: every ``CTI_*`` environment variable, declared once, read here and nowhere else.

:data:`VARIABLES` lists them all, each a :class:`Var`: its name, its default (None: unset means
"not given"), and a parser that turns the text into a typed value or says what is wrong, which
:class:`~stasis_app.errors.ConfigError` reports with the variable's name. An empty value counts
as unset (what Docker Compose passes for ``${X:-}``). The rest of the program never reads the
environment: the worker gets a frozen :class:`Settings`, the ``cti`` commands a
:class:`ClientSettings` or single values read with a :class:`Var`, and the lab its two
variables; every reader takes an injectable mapping (``os.environ`` when None).

Secrets (the ARI password, the API token) have no default: the lab supplies its own explicitly
(``stasis_app.lab.credentials``), so a production start with a forgotten variable fails fast and
names it instead of running with a well-known password. A secret that is a known placeholder or
shorter than :data:`MIN_SECRET_LENGTH` is refused the same way, naming its variable. Why no
``pydantic-settings``: docs/decisions/0014-settings-declared-in-one-table.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Generic, TypeVar
from urllib.parse import urlsplit

from stasis_app.errors import ConfigError
from stasis_app.redact import basic_auth, redact_url, split_credentials
from stasis_app.setting_values import (
    MIN_SECRET_LENGTH,
    PLACEHOLDER_MARKERS,
    PLACEHOLDER_SECRETS,
    Invalid,
    app_name,
    choice,
    count,
    days,
    flag,
    origins,
    port,
    seconds,
    text,
    timezone,
    url,
    weak_secret,
    whole_seconds,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_CALL_SECONDS = 14400  # 4 h, as CTI_MAX_CALL_SECONDS in asterisk/etc/extensions.conf
MAX_BODY_BYTES = 64 * 1024  # as stasis_app.http.limits.DEFAULT_MAX_BODY_BYTES
MAX_SUBSCRIBERS = 64
# The lab's published ARI password (asterisk/etc/ari.conf holds its hash; stasis_app.lab uses it).
LAB_ARI_PASSWORD = "cti-lab-ari"  # noqa: S105 - a documented lab-only credential
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
T = TypeVar("T")


def environ() -> Mapping[str, str]:
    """The process environment: the one place the program takes it from."""
    return os.environ


@dataclass(frozen=True, slots=True)
class Var(Generic[T]):
    """One ``CTI_*`` variable: ``parse`` turns its text into a value or raises
    :class:`~stasis_app.setting_values.Invalid` saying what is wrong."""

    name: str
    parse: Callable[[str], T]
    default: str | None = None

    def _raw(self, env: Mapping[str, str] | None) -> str:
        return (environ() if env is None else env).get(self.name, "")

    def _parsed(self, raw: str) -> T:
        try:
            return self.parse(raw)
        except Invalid as exc:
            raise ConfigError(self.name, str(exc)) from None

    def value(self, env: Mapping[str, str] | None = None) -> T:
        """The value; the default when unset; a ConfigError when unset without a default."""
        raw = self._raw(env) or self.default
        if raw is None:
            raise ConfigError(self.name, "is required and not set")
        return self._parsed(raw)

    def optional(self, env: Mapping[str, str] | None = None) -> T | None:
        """The value, or None when unset (the default is not used)."""
        raw = self._raw(env)
        return self._parsed(raw) if raw else None


ARI_URL: Final = Var("CTI_ARI_URL", url, "http://127.0.0.1:8088")
ARI_USER: Final = Var("CTI_ARI_USER", text, "cti")
ARI_PASSWORD: Final = Var("CTI_ARI_PASSWORD", text)
APP: Final = Var("CTI_APP", app_name, "cti")
IVR_FILE: Final = Var("CTI_IVR_FILE", Path, str(REPO_ROOT / "ivr" / "main.toml"))
QUEUES_FILE: Final = Var("CTI_QUEUES_FILE", Path)  # unset: queues.toml beside the IVR file
TIMEZONE: Final = Var("CTI_TIMEZONE", timezone)  # unset: the machine's zone
DATA_DIR: Final = Var("CTI_DATA_DIR", Path, "/var/lib/cti")
HTTP_HOST: Final = Var("CTI_HTTP_HOST", text, "127.0.0.1")
HTTP_PORT: Final = Var("CTI_HTTP_PORT", port, "3000")
API_TOKEN: Final = Var("CTI_API_TOKEN", text)
API_URL: Final = Var("CTI_API_URL", url, "http://127.0.0.1:3000")
CORS_ORIGINS: Final = Var("CTI_CORS_ORIGINS", origins, "")
METRICS_PUBLIC: Final = Var("CTI_METRICS_PUBLIC", flag, "false")
MAX_BODY: Final = Var("CTI_MAX_BODY_BYTES", count, str(MAX_BODY_BYTES))
MAX_STREAMS: Final = Var("CTI_MAX_SUBSCRIBERS", count, str(MAX_SUBSCRIBERS))
RING_TIMEOUT: Final = Var("CTI_RING_TIMEOUT", seconds, "20")
MAX_CALL: Final = Var("CTI_MAX_CALL_SECONDS", whole_seconds, str(MAX_CALL_SECONDS))
RETENTION_DAYS: Final = Var("CTI_RETENTION_DAYS", days, "90")
ELASTICSEARCH_URL: Final = Var("CTI_ELASTICSEARCH_URL", url)
ELASTICSEARCH_API_KEY: Final = Var("CTI_ELASTICSEARCH_API_KEY", text)
ELASTICSEARCH_USER: Final = Var("CTI_ELASTICSEARCH_USER", text)
ELASTICSEARCH_PASSWORD: Final = Var("CTI_ELASTICSEARCH_PASSWORD", text)
KIBANA_URL: Final = Var("CTI_KIBANA_URL", url)
EVENT_LOOP: Final = Var("CTI_EVENT_LOOP", choice("asyncio", "uvloop"), "asyncio")
LOG_FORMAT: Final = Var("CTI_LOG_FORMAT", choice("auto", "json", "console"), "auto")
LAB_DIR: Final = Var("CTI_LAB_DIR", Path, "/var/cache/cti/lab")
LAB_MIRROR: Final = Var("CTI_LAB_MIRROR", text)  # unset: debootstrap's default mirror
# The account the worker runs as under `cti run --lab` as root (stasis_app/lab/worker_account.py).
WORKER_USER: Final = Var("CTI_WORKER_USER", text, "cti")

VARIABLES: Final[tuple[Var[Any], ...]] = (
    ARI_URL,
    ARI_USER,
    ARI_PASSWORD,
    APP,
    IVR_FILE,
    QUEUES_FILE,
    TIMEZONE,
    DATA_DIR,
    HTTP_HOST,
    HTTP_PORT,
    API_TOKEN,
    API_URL,
    CORS_ORIGINS,
    METRICS_PUBLIC,
    MAX_BODY,
    MAX_STREAMS,
    RING_TIMEOUT,
    MAX_CALL,
    RETENTION_DAYS,
    ELASTICSEARCH_URL,
    ELASTICSEARCH_API_KEY,
    ELASTICSEARCH_USER,
    ELASTICSEARCH_PASSWORD,
    KIBANA_URL,
    EVENT_LOOP,
    LOG_FORMAT,
    LAB_DIR,
    LAB_MIRROR,
    WORKER_USER,
)


def _secret(var: Var[str], env: Mapping[str, str]) -> str:
    value = var.value(env)
    problem = weak_secret(value)
    if problem is not None:
        raise ConfigError(var.name, problem)
    return value


def _ari_password(env: Mapping[str, str], ari_url: str) -> str:
    """The lab's published ARI password is accepted only for an Asterisk on this host's
    loopback, where the lab binds ARI: whoever can reach it already runs code on the host."""
    if ARI_PASSWORD.value(env) == LAB_ARI_PASSWORD and urlsplit(ari_url).hostname in _LOOPBACK:
        return LAB_ARI_PASSWORD
    return _secret(ARI_PASSWORD, env)


def elasticsearch_headers(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Authorization from ``CTI_ELASTICSEARCH_API_KEY`` (the encoded id:key) or
    ``CTI_ELASTICSEARCH_USER`` + ``CTI_ELASTICSEARCH_PASSWORD``; none if neither is set."""
    api_key = ELASTICSEARCH_API_KEY.optional(env)
    if api_key:
        return {"Authorization": f"ApiKey {api_key}"}
    user = ELASTICSEARCH_USER.optional(env)
    if user:
        return basic_auth(user, ELASTICSEARCH_PASSWORD.optional(env) or "")
    return {}


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
    # Browser origins allowed to call the API (CORS); empty: no CORS header is ever sent.
    cors_origins: tuple[str, ...] = ()

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
    def from_environ(cls, environ_: Mapping[str, str] | None = None) -> Settings:
        env = environ() if environ_ is None else environ_
        log_format = LOG_FORMAT.value(env)
        event_loop = EVENT_LOOP.value(env)
        app = APP.value(env)
        ari_url = ARI_URL.value(env)
        if split_credentials(ari_url)[1] is not None:
            # Refused rather than used: the ARI URL is logged on every (re)connect.
            raise ConfigError(
                ARI_URL.name, "credentials belong in CTI_ARI_USER/CTI_ARI_PASSWORD, not the URL"
            )
        return cls(
            ari_url=ari_url,
            ari_user=ARI_USER.value(env),
            ari_password=_ari_password(env, ari_url),
            app=app,
            ivr_file=IVR_FILE.value(env),
            data_dir=DATA_DIR.value(env),
            http_host=HTTP_HOST.value(env),
            http_port=HTTP_PORT.value(env),
            api_token=_secret(API_TOKEN, env),
            ring_timeout=RING_TIMEOUT.value(env),
            log_format=log_format,
            retention_days=RETENTION_DAYS.value(env),
            elasticsearch_url=ELASTICSEARCH_URL.optional(env),
            kibana_url=KIBANA_URL.optional(env),
            elasticsearch_headers=elasticsearch_headers(env),
            queues_file_setting=QUEUES_FILE.optional(env),
            timezone=TIMEZONE.optional(env),
            metrics_public=METRICS_PUBLIC.value(env),
            max_call_seconds=MAX_CALL.value(env),
            max_body_bytes=MAX_BODY.value(env),
            max_subscribers=MAX_STREAMS.value(env),
            event_loop=event_loop,
            cors_origins=CORS_ORIGINS.value(env),
        )


@dataclass(frozen=True)
class ClientSettings:
    """What the ``cti`` commands need to reach a running worker's REST API. The token is not
    judged here (the worker does that): unset, it is read from ``data_dir/api-token``."""

    api_url: str
    api_token: str | None
    data_dir: Path

    def __repr__(self) -> str:
        return f"ClientSettings(api_url={redact_url(self.api_url)!r}, data_dir={self.data_dir})"

    @classmethod
    def from_environ(cls, environ_: Mapping[str, str] | None = None) -> ClientSettings:
        env = environ() if environ_ is None else environ_
        token = API_TOKEN.optional(env)
        return cls(API_URL.value(env), token.strip() if token else None, DATA_DIR.value(env))


__all__ = [
    "LAB_ARI_PASSWORD",
    "MIN_SECRET_LENGTH",
    "PLACEHOLDER_MARKERS",
    "PLACEHOLDER_SECRETS",
    "REPO_ROOT",
    "VARIABLES",
    "WORKER_USER",
    "ClientSettings",
    "Settings",
    "Var",
    "elasticsearch_headers",
    "environ",
    "weak_secret",
]
