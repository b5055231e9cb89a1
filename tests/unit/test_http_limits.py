"""Specification of the body limit: a body over CTI_MAX_BODY_BYTES is refused with 413
payload-too-large before anything parses it, whether its size is declared or only streamed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from tests.unit.http_support import FakeControl, client, make_app

LIMIT = 1024
GOOD = {"from_extension": "1000", "to_extension": "2000"}


def padded(size: int) -> bytes:
    """A click-to-dial body of about ``size`` bytes."""
    return json.dumps({**GOOD, "pad": " " * size}).encode()


async def chunks(body: bytes, size: int = 256) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.asyncio
async def test_a_declared_oversized_body_is_413_and_never_reaches_the_route() -> None:
    """Content-Length over the limit: 413 with the envelope and Connection: close at once."""
    control = FakeControl()
    async with client(make_app(control=control, max_body_bytes=LIMIT)) as http:
        response = await http.post("/calls", content=padded(4 * LIMIT))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload-too-large"
    assert response.json()["error"]["details"] == {"limit": LIMIT}
    assert response.headers["connection"] == "close"
    assert control.calls == []


@pytest.mark.asyncio
async def test_a_streamed_oversized_body_is_413_while_it_streams() -> None:
    """Without Content-Length (chunked) the body is counted as it arrives: 413, not a 400 from
    the half-read JSON, and the route never runs."""
    control = FakeControl()
    async with client(make_app(control=control, max_body_bytes=LIMIT)) as http:
        response = await http.post("/calls", content=chunks(padded(4 * LIMIT)))
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload-too-large"
    assert control.calls == []


@pytest.mark.asyncio
async def test_a_lying_content_length_does_not_get_past_the_limit() -> None:
    """A small declared length with a larger body streamed: the count, not the header, decides."""
    control = FakeControl()
    async with client(make_app(control=control, max_body_bytes=LIMIT)) as http:
        response = await http.post(
            "/calls", content=chunks(padded(4 * LIMIT)), headers={"Content-Length": "10"}
        )
    assert response.status_code in (400, 413)  # never a 201: the route did not run
    assert control.calls == []


@pytest.mark.asyncio
async def test_a_body_within_the_limit_is_served() -> None:
    """The limit leaves normal requests alone, streamed or declared."""
    async with client(make_app(max_body_bytes=LIMIT)) as http:
        declared = await http.post("/calls", json=GOOD)
        streamed = await http.post(
            "/calls",
            content=chunks(json.dumps(GOOD).encode(), 8),
            headers={"Content-Type": "application/json"},
        )
    assert (declared.status_code, streamed.status_code) == (201, 201)


@pytest.mark.asyncio
async def test_without_credentials_an_oversized_body_is_still_401() -> None:
    """The gate decides first: an unauthenticated client learns nothing, not even the limit."""
    async with client(make_app(max_body_bytes=LIMIT), auth=False) as http:
        response = await http.post("/calls", content=padded(4 * LIMIT))
    assert response.status_code == 401


@pytest.mark.asyncio
async def test_the_open_sign_in_is_bounded_too() -> None:
    """POST /session needs no credentials, so its body is limited like any other."""
    async with client(make_app(max_body_bytes=LIMIT), auth=False) as http:
        response = await http.post("/session", content=chunks(b"token=" + b"x" * 4 * LIMIT))
    assert response.status_code == 413
