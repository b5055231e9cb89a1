"""The endpoint app: what it subscribes to, and what /endpoints shows from its events.

The worker's second ARI app (``cti-endpoints``) hears PeerStatusChange and ContactStatusChange
for every PJSIP endpoint, not EndpointStateChange (which repeats the endpoint's whole channel
list each time a channel comes or goes); an endpoint's channels are the registry's own.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from typing import Any

import pytest

from stasis_app.lab.credentials import LAB_ARI_PASSWORD, LAB_ARI_USER
from tests.integration.conftest import PhoneFactory
from tests.integration.workerproc import WorkerProcess
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

ENDPOINT_APP = "cti-endpoints"  # the worker's second app: the dialplan's CTI_APP + "-endpoints"


def ari(method: str, path: str, **params: str) -> Any:
    """One ARI request with the lab's credentials; the parsed answer (None when empty)."""
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    auth = base64.b64encode(f"{LAB_ARI_USER}:{LAB_ARI_PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:8088/ari{path}{query}",
        method=method,
        headers={"Authorization": f"Basic {auth}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def held() -> list[str]:
    """The endpoint subscriptions Asterisk holds for the endpoint app."""
    return list(ari("GET", f"/applications/{ENDPOINT_APP}")["endpoint_ids"])


def take_back(source: str) -> list[str]:
    """One unsubscribe of ``source``; the subscriptions held after it."""
    app = ari("DELETE", f"/applications/{ENDPOINT_APP}/subscription", eventSource=source)
    return list(app["endpoint_ids"])


def endpoints(worker: WorkerProcess) -> dict[str, Any]:
    status, body = worker.api("GET", "/endpoints")
    assert status == 200, body
    return {e["resource"]: e for e in body["endpoints"]}


def test_the_endpoint_app_holds_one_subscription_however_often_the_worker_connects(
    worker: WorkerProcess,
) -> None:
    """Asterisk counts subscriptions and keeps them after the websocket closes. After two
    restarts of the worker a single unsubscribe ends its endpoint:PJSIP subscription (one was
    taken per connect before), and one made by hand that the worker does not want is gone."""
    wait_until(lambda: "PJSIP" in held(), what="the worker subscribed to endpoint:PJSIP")
    for _ in range(1000):  # whatever earlier runs left: this test starts from none
        if "PJSIP" not in take_back("endpoint:PJSIP"):
            break
    ari("POST", f"/applications/{ENDPOINT_APP}/subscription", eventSource="endpoint:PJSIP/2000")
    ari("POST", f"/applications/{ENDPOINT_APP}/subscription", eventSource="endpoint:PJSIP/2000")

    for _ in range(2):
        worker.stop()
        worker.start()
    wait_until(lambda: held() == ["PJSIP"], what="only endpoint:PJSIP held")

    assert take_back("endpoint:PJSIP") == []
    worker.stop()  # and the next connect subscribes again
    worker.start()
    wait_until(lambda: held() == ["PJSIP"], what="endpoint:PJSIP held again")


def test_endpoints_follow_registration_and_calls(
    worker: WorkerProcess, phones: PhoneFactory
) -> None:
    """1000 shows online once it registers (PeerStatusChange), lists the channel of its IVR call
    while it lasts and none after, and shows offline once the phone unregisters."""
    wait_until(lambda: "PJSIP" in held(), what="the worker subscribed to endpoint:PJSIP")
    phone = phones("1000")
    wait_until(
        lambda: endpoints(worker)["1000"]["state"] == "online", what="1000 online in /endpoints"
    )

    phone.call("500")
    (channel,) = wait_until(lambda: worker.api("GET", "/channels")[1]["channels"], what="a call")
    assert endpoints(worker)["1000"]["channel_ids"] == [channel["id"]]
    assert endpoints(worker)["2000"]["channel_ids"] == []

    phone.hangup()
    wait_until(lambda: endpoints(worker)["1000"]["channel_ids"] == [], what="1000 has no channel")
    phone.stop()
    wait_until(
        lambda: endpoints(worker)["1000"]["state"] == "offline", what="1000 offline after it left"
    )
