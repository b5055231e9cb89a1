"""Bearer-token authentication: ``Authorization: Bearer <CTI_API_TOKEN>``.

The token is compared with :func:`hmac.compare_digest` so its value cannot be found by timing.
Browsers cannot set headers on a WebSocket, so ``/events`` also accepts ``?token=``; the price is
that the token may land in proxy access logs and browser history, which is why the header is
preferred wherever the client can send one.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from stasis_app.errors import ConfigError, InvalidRequest, Unauthorized


def token_matches(presented: str | None, token: str) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(presented.encode(), token.encode())


def bearer_from_header(value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, else None."""
    if not value:
        return None
    scheme, _, credentials = value.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


# Module-level so FastAPI can resolve the annotation below (this module postpones annotations).
_scheme = HTTPBearer(auto_error=False, description="The worker's CTI_API_TOKEN")


def require_token(token: str) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency rejecting requests without the right bearer token (401)."""
    if not token:
        raise ConfigError("CTI_API_TOKEN", "must not be empty")

    async def check(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_scheme)],
    ) -> None:
        if credentials is None:
            raise Unauthorized("missing bearer token (Authorization: Bearer <CTI_API_TOKEN>)")
        if not token_matches(credentials.credentials, token):
            raise Unauthorized("wrong bearer token")

    return check


async def no_unknown_query(request: Request) -> None:
    """Refuse query parameters the operation does not declare (a misspelt filter would
    otherwise be silently ignored and return everything). Our query parameters are all declared
    on the endpoints themselves, never in sub-dependencies, so the endpoint's list is complete."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    known = {p.alias for p in dependant.query_params} if dependant else set()
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise InvalidRequest(f"query.{unknown[0][:40]}", "is not a parameter of this operation")


__all__ = ["bearer_from_header", "no_unknown_query", "require_token", "token_matches"]
