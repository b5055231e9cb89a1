"""Credentials in URLs: the one place that hides them (for display) or takes them out (for use).

A URL such as ``https://cti:s3cret@es.example:9200`` may come from the operator
(``CTI_ELASTICSEARCH_URL``, ``CTI_KIBANA_URL``, ``--es-url``). Everything that shows a URL (log
lines, error messages, ``repr``, CLI output) shows :func:`redact_url` of it, and the clients that
use one send :func:`split_credentials`'s clean URL with the credentials in a header instead, so
that no library can echo them in an exception message either.

Pure: no I/O, never raises, so it can sit in error constructors and log processors.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit, urlunsplit

# The userinfo of an authority: everything after "//" up to the last "@" before the path starts.
_USERINFO = re.compile(r"//[^/?#]*@")

REDACTED = "***"


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``; otherwise unchanged."""
    return _USERINFO.sub(f"//{REDACTED}@", url, count=1)


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its userinfo, and the (decoded) user and password it held, if any."""
    if _USERINFO.search(url) is None:
        return url, None
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:  # e.g. a malformed port or IPv6 literal: keep the secret out anyway
        return redact_url(url), None
    host = parts.netloc.rpartition("@")[2]
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, (unquote(user or ""), unquote(password or ""))


def basic_auth(user: str, password: str) -> dict[str, str]:
    secret = f"{user}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(secret).decode("ascii")}


def without_credentials(
    url: str, headers: Mapping[str, str] | None = None
) -> tuple[str, dict[str, str]]:
    """``url`` without ``user:password@``, and ``headers`` with those credentials as Basic auth.

    The URL is what every log line and error names, and aiohttp may echo it in an exception, so
    the secret must not be in it. Credentials given as settings (``headers``) win over the URL's.
    """
    clean, credentials = split_credentials(url)
    from_url = basic_auth(*credentials) if credentials else {}
    return clean.rstrip("/"), {**from_url, **(headers or {})}


__all__ = ["REDACTED", "basic_auth", "redact_url", "split_credentials", "without_credentials"]
