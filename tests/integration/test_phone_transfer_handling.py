"""A phone's own transfer (SIP REFER) is left to the Stasis app, as extensions.conf asks.

`[cti-stasis]` sets ``PJSIP_TRANSFER_HANDLING()=ari-only`` before ``Stasis()``: Asterisk accepts
the REFER (202), moves no channel, and reports it as a ``ChannelTransfer`` event; the phone hears
how it went only from what the app reports with ``POST /channels/{id}/transfer_progress``. This
test stands in for the worker (it takes the dialplan's app name), so it checks Asterisk and the
configuration, not the worker's handling.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from stasis_app.lab import Lab
from stasis_app.lab.credentials import LAB_ARI_PASSWORD, LAB_ARI_USER
from tests.integration.conftest import PhoneFactory
from tests.sipkit import channel_count

pytestmark = pytest.mark.lab

APP = "cti"  # the dialplan's CTI_APP
ARI = "http://127.0.0.1:8088/ari"


@contextmanager
def stasis_app() -> Iterator[ClientConnection]:
    """The events websocket of the dialplan's app, so calls reach this test instead of failing
    over to the fallback context."""
    key = urllib.parse.quote(f"{LAB_ARI_USER}:{LAB_ARI_PASSWORD}")
    with connect(f"ws://127.0.0.1:8088/ari/events?app={APP}&api_key={key}") as ws:
        yield ws


def next_event(ws: ClientConnection, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    """The next event of type ``kind`` (others are skipped)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        event: dict[str, Any] = json.loads(ws.recv(timeout=left))
        if event["type"] == kind:
            return event
    raise AssertionError(f"no {kind} event within {timeout} s")


def ari(method: str, path: str, **params: str) -> int:
    """One ARI request with the lab's credentials; returns the HTTP status."""
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    auth = base64.b64encode(f"{LAB_ARI_USER}:{LAB_ARI_PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        f"{ARI}{path}{query}", method=method, headers={"Authorization": f"Basic {auth}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_phones_refer_waits_for_the_app_and_the_phone_hears_its_answer(
    lab: Lab, phones: PhoneFactory
) -> None:
    """2000 is in a Stasis call and asks (REFER) to be transferred to 1001: the app gets a
    ChannelTransfer naming 2000's channel and 1001, nothing is dialled and the call stays as it
    was; when the app declines, the phone is told 603 (a NOTIFY) and Asterisk echoes the state."""
    with stasis_app() as ws:
        caller = phones("2000")
        caller.dial("1000")
        start = next_event(ws, "StasisStart")
        assert start["args"] == ["1000"]
        channel = start["channel"]["id"]
        assert ari("POST", f"/channels/{channel}/answer") == 204
        caller.wait_event("CALL_ESTABLISHED")

        caller.command("transfer", "sip:1001@127.0.0.1")
        transfer = next_event(ws, "ChannelTransfer")

        assert transfer["referred_by"]["source_channel"]["id"] == channel
        assert transfer["refer_to"]["requested_destination"] == {"destination": "1001"}
        assert "state" not in transfer  # a request, not a report of one of ours
        time.sleep(1.0)  # Asterisk acting on its own would have dialled 1001 by now
        assert channel_count(lab) == 1

        assert ari("POST", f"/channels/{channel}/transfer_progress", states="bogus") == 400
        declined = ari("POST", f"/channels/{channel}/transfer_progress", states="channel_declined")
        assert declined == 204
        assert caller.wait_event("TRANSFER_FAILED").param == "603 Decline"
        assert next_event(ws, "ChannelTransfer")["state"] == "channel_declined"
        ari("DELETE", f"/channels/{channel}")
