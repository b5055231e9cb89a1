"""Registration against the lab Asterisk (pjsip.conf: 1000/test1000, 2000/test2000 and the lab
agents 1001/test1001 ... 1005/test1005, digest auth).

Each test drives a real SIPp REGISTER and then asks Asterisk (``pjsip show contacts``) what it
bound: SIPp's own verdict only says the responses it got matched the scenario.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stasis_app.lab import Lab
from tests.sipkit import asterisk_contacts, contacts, free_port, run_sipp
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

PASSWORDS = {"1000": "test1000", "2000": "test2000"}
# The lab agents, for calls with more than two parties: the same settings as 1000.
AGENTS = {f"100{n}": f"test100{n}" for n in range(1, 6)}


@pytest.fixture
def sip_port(lab: Lab) -> Iterator[int]:
    """A free local SIP port for SIPp; any binding it leaves for an extension is removed after."""
    port = free_port()
    yield port
    for user, password in (PASSWORDS | AGENTS).items():
        if any(f":{port}" in uri for uri in asterisk_contacts(lab, user)):
            run_sipp("unregister", service=user, user=user, password=password, local_port=port)


def _bound(lab: Lab, aor: str, port: int) -> list[str]:
    return [uri for uri in asterisk_contacts(lab, aor) if uri.endswith(f"@127.0.0.1:{port}")]


@pytest.mark.parametrize("user", ["1000", "2000"])
def test_register_with_right_password_binds_contact(lab: Lab, sip_port: int, user: str) -> None:
    """REGISTER with the right password is challenged, then accepted (200), and Asterisk lists
    the phone's address as the AOR's contact."""
    result = run_sipp(
        "register", service=user, user=user, password=PASSWORDS[user], local_port=sip_port
    )

    assert result.ok, result.describe()
    assert result.received_status_codes() == [401, 200], result.describe()
    assert _bound(lab, user, sip_port) == [f"sip:{user}@127.0.0.1:{sip_port}"]


@pytest.mark.parametrize("user", sorted(AGENTS))
def test_lab_agent_registers_like_1000(lab: Lab, sip_port: int, user: str) -> None:
    """Each lab agent (1001-1005) registers with its own password exactly as 1000 does: challenged,
    then accepted, and bound as the AOR's only contact."""
    result = run_sipp(
        "register", service=user, user=user, password=AGENTS[user], local_port=sip_port
    )

    assert result.ok, result.describe()
    assert result.received_status_codes() == [401, 200], result.describe()
    assert _bound(lab, user, sip_port) == [f"sip:{user}@127.0.0.1:{sip_port}"]


def test_lab_agent_with_another_agents_password_is_rejected(lab: Lab, sip_port: int) -> None:
    """The agents' passwords are their own: 1001 with 1002's password is refused."""
    result = run_sipp(
        "register-rejected",
        service="1001",
        user="1001",
        password=AGENTS["1002"],
        local_port=sip_port,
    )

    assert result.ok, result.describe()
    assert 200 not in result.received_status_codes(), result.describe()
    assert _bound(lab, "1001", sip_port) == []


def test_register_with_wrong_password_is_rejected(lab: Lab, sip_port: int) -> None:
    """REGISTER as 1000 with a wrong password gets 401/403 after the challenge, never 200, and
    no contact appears for 1000."""
    result = run_sipp(
        "register-rejected", service="1000", user="1000", password="wrong", local_port=sip_port
    )

    assert result.ok, result.describe()
    assert result.received_status_codes()[-1] in (401, 403), result.describe()
    assert 200 not in result.received_status_codes()
    assert _bound(lab, "1000", sip_port) == []


def test_register_as_unknown_user_is_rejected(lab: Lab, sip_port: int) -> None:
    """REGISTER as 3000 (no such endpoint) is challenged like a real user, then rejected; no
    contact is bound anywhere for it."""
    result = run_sipp(
        "register-rejected", service="3000", user="3000", password="test3000", local_port=sip_port
    )

    assert result.ok, result.describe()
    codes = result.received_status_codes()
    assert codes[0] == 401, result.describe()
    assert codes[-1] in (401, 403), result.describe()
    assert 200 not in codes
    assert not [c for c in contacts(lab) if f":{sip_port}" in c.uri or c.aor == "3000"]


def test_unregister_removes_contact(lab: Lab, sip_port: int) -> None:
    """REGISTER with Expires: 0 from the same address removes the binding it made."""
    registered = run_sipp(
        "register", service="2000", user="2000", password="test2000", local_port=sip_port
    )
    assert registered.ok, registered.describe()
    assert _bound(lab, "2000", sip_port)

    unregistered = run_sipp(
        "unregister", service="2000", user="2000", password="test2000", local_port=sip_port
    )

    assert unregistered.ok, unregistered.describe()
    wait_until(lambda: not _bound(lab, "2000", sip_port), timeout=5.0, what="contact removed")
