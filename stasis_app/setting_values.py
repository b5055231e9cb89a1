"""The parsers of :mod:`stasis_app.settings`: text of an environment variable -> typed value.

Each raises :class:`Invalid` with what is wrong and what was expected ("must be a port number,
got 'eighty'"); :class:`~stasis_app.settings.Var` adds the variable's name. Pure: no
environment, no I/O (a time zone is looked up in the zoneinfo database, which ships with us).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from urllib.parse import urlsplit

from stasis_app.redact import redact_url

MIN_SECRET_LENGTH = 24
# Values shipped in examples and docs: refused whatever their length. docker/check-secrets.sh
# keeps the same list (tests/unit/test_docker_secrets.py holds the two together).
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
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class Invalid(ValueError):
    """The text is not a value of the setting's kind: the message says why."""


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


def text(raw: str) -> str:
    return raw


def port(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"must be a port number, got {raw!r}") from None
    if not 0 < value < 65536:
        raise Invalid(f"must be between 1 and 65535, got {value}")
    return value


def seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise Invalid(f"must be a number of seconds, got {raw!r}") from None
    if not value > 0:  # also refuses nan
        raise Invalid(f"must be positive, got {value}")
    return value


def whole_seconds(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"must be a whole number of seconds, got {raw!r}") from None
    if value <= 0:
        raise Invalid(f"must be positive, got {value}")
    return value


def count(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise Invalid(f"must be positive, got {value}")
    return value


def days(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise Invalid(f"must be a number of days (0 keeps everything), got {raw!r}") from None
    if not value >= 0:  # also refuses nan
        raise Invalid(f"must not be negative, got {value}")
    return value


def url(raw: str) -> str:
    """An http(s) URL with a host, without its trailing slash; credentials in it are allowed
    (the Elasticsearch sink uses them) but never echoed in the error."""
    value = raw.rstrip("/")
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        ok = False
    if not ok:
        raise Invalid(
            f"must be an http(s) URL like http://127.0.0.1:8088, got {redact_url(value)!r}"
        )
    return value


def timezone(raw: str) -> str:
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"must be an IANA time zone such as Asia/Seoul, got {raw!r}") from None
    return raw


def flag(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered not in _TRUE + _FALSE:
        raise Invalid(f"must be true or false, got {raw!r}")
    return lowered in _TRUE


def app_name(raw: str) -> str:
    if not raw.replace("-", "").replace("_", "").isalnum():
        raise Invalid(f"must be a plain Stasis application name, got {raw!r}")
    return raw


def origins(raw: str) -> tuple[str, ...]:
    """``"https://a.example, https://b.example"`` -> the origins; empty: none (CORS closed)."""
    return tuple(o.strip() for o in raw.split(",") if o.strip())


def choice(*allowed: str) -> Callable[[str], str]:
    """One of ``allowed``, spelled exactly."""
    said = ", ".join(allowed[:-1]) + f" or {allowed[-1]}" if len(allowed) > 1 else allowed[0]

    def parse(raw: str) -> str:
        if raw not in allowed:
            raise Invalid(f"must be {said}, got {raw!r}")
        return raw

    return parse
