"""Asterisk's own Prometheus metrics (res_prometheus, asterisk/etc/prometheus.conf) in the lab.

They sit on Asterisk's loopback HTTP server behind Basic auth, and count what Asterisk sees: a
phone's call to the echo extension shows as a channel while it lasts and is gone after.
"""

from __future__ import annotations

import base64
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from stasis_app.lab import Lab
from tests.sipkit import Phone, channel_count
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

URL = "http://127.0.0.1:8088/metrics"
LAB_USER, LAB_PASSWORD = "cti-metrics", "cti-lab-metrics"  # asterisk/etc/prometheus.conf


def scrape(user: str | None = LAB_USER, password: str = LAB_PASSWORD) -> tuple[int, str]:
    request = urllib.request.Request(URL)
    if user is not None:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {pair}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def channels(text: str) -> int:
    found = re.search(r"^asterisk_channels_count\{[^}]*\} (\d+)$", text, re.MULTILINE)
    assert found, "no asterisk_channels_count in the scrape"
    return int(found.group(1))


@pytest.fixture
def phone(lab: Lab, tmp_path: Path) -> Iterator[Phone]:
    with Phone("1000", "test1000", workdir=tmp_path) as p:
        p.wait_registered()
        yield p
    wait_until(lambda: channel_count(lab) == 0, timeout=10.0, what="no channel left")


@pytest.mark.parametrize(("user", "password"), [(None, ""), (LAB_USER, "wrong-password")])
def test_metrics_need_the_password(lab: Lab, user: str | None, password: str) -> None:
    """No credentials, or a wrong password: 401 and no metrics."""
    status, text = scrape(user, password)
    assert (status, text) == (401, "")


def test_metrics_count_a_live_call(lab: Lab, phone: Phone) -> None:
    """asterisk_channels_count follows a call to 7777: 1 while it lasts, 0 after."""
    status, text = scrape()
    assert status == 200
    assert channels(text) == 0
    assert 'asterisk_endpoints_state{eid="' in text
    assert 'id="PJSIP/1000"' in text

    phone.call("7777")
    wait_until(lambda: channels(scrape()[1]) == 1, timeout=10.0, what="one channel counted")
    phone.hangup()
    phone.wait_event("CALL_CLOSED")
    wait_until(lambda: channels(scrape()[1]) == 0, timeout=10.0, what="the channel gone")
