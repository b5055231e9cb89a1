"""Sign-in sessions of the web console: signed cookies, no server-side table.

A person signs in once with the API token (``POST /session``); the answer sets a cookie holding
``<id>.<expires>.<signature>``: a random session id, its expiry (Unix seconds) and an HMAC-SHA256
of both under a key derived from the API token. Nothing is stored per session, so a worker
restart does not sign out a wall screen, and changing ``CTI_API_TOKEN`` signs out everyone (the
key changes). Signing out adds the id to a revocation set kept until the cookie would have
expired anyway; that set lives in memory, so a copied cookie of a signed-out session works again
after a restart until its expiry (the cookie is HttpOnly and SameSite=Strict, so a page cannot
read or send it cross-site; the lifetime bounds the rest).

Requests a page makes with the cookie that change something must also carry the session's CSRF
token in ``X-CSRF-Token``: an HMAC of the id, which only a same-origin script can learn
(``GET /session``; CORS is closed), so a forged cross-site form or fetch, even one a browser
sent with the cookie, is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

COOKIE = "cti_session"
CSRF_HEADER = "X-CSRF-Token"
LIFETIME_S = 12 * 3600.0  # a working day and then some; a wall screen signs in again daily
_ID_BYTES = 18


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    expires: int  # Unix seconds


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Sessions:
    """Issues and checks console session cookies for one API token."""

    def __init__(
        self,
        token: str,
        *,
        lifetime: float = LIFETIME_S,
        now: Callable[[], float] = time.time,
    ) -> None:
        # A key of its own, so a cookie's signature says nothing usable about the token.
        self._key = hmac.new(token.encode(), b"cti console session v1", hashlib.sha256).digest()
        self._lifetime = lifetime
        self._now = now
        self._revoked: dict[str, int] = {}  # id -> expiry (forgotten once past it)

    def issue(self) -> tuple[Session, str]:
        """A new session and its cookie value."""
        session = Session(_b64(secrets.token_bytes(_ID_BYTES)), int(self._now() + self._lifetime))
        return session, f"{session.id}.{session.expires}.{self._sign(session)}"

    def check(self, cookie: str | None) -> Session | None:
        """The session of a cookie value, or None when it is absent, forged, expired or
        signed out."""
        if not cookie or len(cookie) > 200:  # far longer than any we issue
            return None
        parts = cookie.split(".")
        if len(parts) != 3 or not parts[1].isdigit():  # id.expires.signature
            return None
        session = Session(parts[0], int(parts[1]))
        if not hmac.compare_digest(parts[2], self._sign(session)):
            return None
        if session.expires <= self._now() or session.id in self._revoked:
            return None
        return session

    def csrf(self, session: Session) -> str:
        """The CSRF token of ``session`` (the same for its whole life)."""
        digest = hmac.new(self._key, f"csrf.{session.id}".encode(), hashlib.sha256).digest()
        return _b64(digest)

    def csrf_matches(self, session: Session, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(str(presented), self.csrf(session))

    def max_age(self, session: Session) -> int:
        """Seconds the cookie of ``session`` should live in the browser."""
        return max(0, int(session.expires - self._now()))

    def revoke(self, session: Session) -> None:
        now = self._now()
        self._revoked = {sid: exp for sid, exp in self._revoked.items() if exp > now}
        self._revoked[session.id] = session.expires

    def _sign(self, session: Session) -> str:
        message = f"{session.id}.{session.expires}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())


__all__ = ["COOKIE", "CSRF_HEADER", "LIFETIME_S", "Session", "Sessions"]
