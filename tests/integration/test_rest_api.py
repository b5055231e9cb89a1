"""The REST API on a running worker, with real phones: what operators and agent desktops use."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.integration.conftest import PhoneFactory
from tests.integration.cti import run_cti
from tests.integration.workerproc import WorkerProcess
from tests.waiting import wait_until

pytestmark = pytest.mark.lab


def _channels(worker: WorkerProcess) -> list[dict[str, Any]]:
    status, body = worker.api("GET", "/channels")
    assert status == 200, body
    return list(body["channels"])


def test_health_says_connected_without_credentials(worker: WorkerProcess) -> None:
    """GET /health needs no token and reports ARI connected and Asterisk's version."""
    with urllib.request.urlopen(worker.api_url + "/health", timeout=5) as answer:
        body = json.loads(answer.read())
    assert body["ari_connected"] is True
    assert body["asterisk_version"].startswith("22.")


def test_api_refuses_requests_without_the_token(worker: WorkerProcess) -> None:
    """Without the bearer token the API answers 401 with the JSON error envelope."""
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(worker.api_url + "/channels", timeout=5)
    assert info.value.code == 401
    assert json.loads(info.value.read())["error"]["code"] == "unauthorized"


def test_channels_shows_a_live_call_and_forgets_it_after_hangup(
    worker: WorkerProcess, phones: PhoneFactory
) -> None:
    """During an IVR call /channels lists the caller's channel with its number, state, dialed
    extension and IVR menu; within a second of the hangup it is gone."""
    caller = phones("1000")
    caller.call("500")

    (channel,) = wait_until(
        lambda: [c for c in _channels(worker) if c["menu"] == "main"], what="the call listed"
    )
    assert channel["caller_number"] == "1000"
    assert channel["state"] == "Up"
    assert channel["dialed"] == "500"

    caller.hangup()
    wait_until(lambda: _channels(worker) == [], timeout=1.0, what="the channel gone")


def test_endpoints_show_registration(worker: WorkerProcess, phones: PhoneFactory) -> None:
    """/endpoints lists 1000 online (with its contact) once it registers, 2000 offline."""
    phones("1000")

    def endpoints() -> dict[str, Any]:
        status, body = worker.api("GET", "/endpoints")
        assert status == 200, body
        return {e["resource"]: e for e in body["endpoints"]}

    def online() -> dict[str, Any] | None:
        found = endpoints()
        return found if found.get("1000", {}).get("state") == "online" else None

    found = wait_until(online, what="1000 online")
    assert found["2000"]["state"] != "online"


def _cti(worker: WorkerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a `cti` command against the worker's API, as an operator would."""
    env = dict(os.environ, CTI_API_URL=worker.api_url, CTI_API_TOKEN=worker.token)
    return run_cti(*args, env=env, timeout=20)


def test_click_to_dial_connects_two_phones(worker: WorkerProcess, phones: PhoneFactory) -> None:
    """`cti call 1000 2000` (POST /calls) rings 1000; when it answers, 2000 rings; both end up
    in one bridge."""
    agent = phones("1000", auto_answer=True)
    customer = phones("2000", auto_answer=True)

    done = _cti(worker, "call", "1000", "2000")

    assert done.returncode == 0, done.stderr
    agent.wait_event("CALL_ESTABLISHED", timeout=15.0)
    customer.wait_event("CALL_ESTABLISHED", timeout=15.0)
    bridged = wait_until(
        lambda: [c for c in _channels(worker) if c["bridge_id"]], what="two bridged channels"
    )
    assert len(bridged) == 2
    customer.hangup()
    agent.wait_event("CALL_CLOSED", timeout=10.0)


def test_transfer_moves_an_ivr_caller_to_an_extension(
    worker: WorkerProcess, phones: PhoneFactory
) -> None:
    """POST /channels/{id}/transfer takes a caller out of the IVR and rings the extension."""
    target = phones("2000", auto_answer=True)
    caller = phones("1000")
    caller.call("500")
    (channel,) = wait_until(lambda: _channels(worker), what="the IVR call listed")

    status, body = worker.api("POST", f"/channels/{channel['id']}/transfer", {"extension": "2000"})

    assert status == 204, body
    target.wait_event("CALL_ESTABLISHED", timeout=15.0)
    caller.hangup()
    target.wait_event("CALL_CLOSED", timeout=10.0)


def test_hangup_ends_a_live_call(worker: WorkerProcess, phones: PhoneFactory) -> None:
    """POST /channels/{id}/hangup ends the call; the phone is told."""
    caller = phones("1000")
    caller.call("500")
    (channel,) = wait_until(lambda: _channels(worker), what="the IVR call listed")

    status, _ = worker.api("POST", f"/channels/{channel['id']}/hangup")

    assert status == 204
    caller.wait_event("CALL_CLOSED", timeout=5.0)


def test_unknown_channel_is_a_404(worker: WorkerProcess) -> None:
    """Call control on a channel that does not exist answers 404 channel-not-found."""
    status, body = worker.api("POST", "/channels/1234567890.42/hangup")
    assert status == 404
    assert body["error"]["code"] == "channel-not-found"


def test_event_stream_delivers_ringing_answered_ended(
    worker: WorkerProcess, phones: PhoneFactory
) -> None:
    """A screen-pop client on /events (filtered on 2000) sees the call ring at 2000 with the
    caller id, get answered, and end."""
    received: list[dict[str, Any]] = []
    ready = threading.Event()

    def listen() -> None:
        url = worker.api_url.replace("http", "ws") + "/events?extension=2000"
        headers = {"Authorization": f"Bearer {worker.token}"}
        with connect(url, additional_headers=headers, open_timeout=5) as ws:
            ready.set()
            while True:
                pop = json.loads(ws.recv(timeout=30))
                received.append(pop)
                if pop.get("type") == "ended":
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(5), "event stream did not open"
    callee = phones("2000", auto_answer=True)
    caller = phones("1000")
    caller.call("2000", timeout=15.0)
    callee.wait_event("CALL_ESTABLISHED")
    caller.hangup()
    listener.join(timeout=15)

    kinds = [p["type"] for p in received]
    assert kinds == ["ringing", "answered", "ended"], received
    assert received[0]["caller_number"] == "1000"
    assert received[0]["extension"] == "2000"


def test_cti_channels_shows_the_call_as_a_table(
    worker: WorkerProcess, phones: PhoneFactory
) -> None:
    """`cti channels` prints the live call through the REST API."""
    caller = phones("1000")
    caller.call("500")
    wait_until(lambda: _channels(worker), what="the IVR call listed")

    done = _cti(worker, "channels")

    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if "1000" in line)
    assert "500" in row
    assert "Up" in row
