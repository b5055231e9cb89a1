"""Specification of the live registry: ARI event sequences in, frozen snapshots out."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from stasis_app.ari import Bridge, Channel, Endpoint, parse_event
from stasis_app.ari.ids import ChannelId
from stasis_app.calls.naming import extension_of
from stasis_app.calls.registry import ContactView, LiveRegistry
from stasis_app.http.models import ChannelList, ChannelOut
from tests.unit.http_support import (
    EPOCH0,
    T0,
    Clock,
    bridge_json,
    channel_json,
    contact_event,
    endpoint_json,
    event,
)

CALLER = "1714557600.12"
LEG = f"{CALLER}-leg1"


def leg_json(state: str = "Ringing", created: float = 1.0) -> dict[str, object]:
    return channel_json(
        LEG, name="PJSIP/2000-00000005", state=state, caller=("Alice", "1000"), created=created
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(EPOCH0 + 30)


@pytest.fixture
def registry(clock: Clock) -> LiveRegistry:
    return LiveRegistry(now=clock)


def start_caller(registry: LiveRegistry, state: str = "Ring") -> None:
    registry.apply(event("StasisStart", channel=channel_json(CALLER, state=state), args=["2000"]))


def test_stasis_start_adds_the_caller_with_its_dialed_extension(registry: LiveRegistry) -> None:
    """A caller entering Stasis is listed with caller id, state and the extension from args[0]."""
    start_caller(registry)
    [view] = registry.channels()
    assert (view.id, view.state, view.caller_number, view.caller_name) == (
        CALLER,
        "Ring",
        "1000",
        "Alice",
    )
    assert view.dialed == "2000"
    assert view.call_id == CALLER
    assert view.created == T0
    assert view.answered is None


def test_duration_comes_from_the_injected_clock(registry: LiveRegistry, clock: Clock) -> None:
    """Duration is the clock's now minus the channel's creation time."""
    start_caller(registry)
    clock.now = EPOCH0 + 42.5
    view = registry.channel(CALLER)
    assert view is not None
    assert view.duration == 42.5


def test_state_up_records_the_answer_time_once(registry: LiveRegistry) -> None:
    """The first ChannelStateChange to Up sets ``answered``; later changes do not move it."""
    start_caller(registry)
    registry.apply(event("ChannelStateChange", at=4, channel=channel_json(CALLER, state="Up")))
    registry.apply(event("ChannelStateChange", at=9, channel=channel_json(CALLER, state="Up")))
    view = registry.channel(CALLER)
    assert view is not None
    assert view.state == "Up"
    assert view.answered == T0 + timedelta(seconds=4)


def test_our_ringing_leg_is_listed_before_it_enters_stasis(registry: LiveRegistry) -> None:
    """An originated leg rings before StasisStart; it is live, with the extension from its name."""
    start_caller(registry)
    registry.apply(event("ChannelStateChange", at=1, channel=leg_json("Ringing")))
    view = registry.channel(LEG)
    assert view is not None
    assert (view.state, view.dialed, view.call_id) == ("Ringing", "2000", CALLER)


def test_leg_stasis_start_takes_the_call_id_from_its_args(registry: LiveRegistry) -> None:
    """Our legs enter Stasis with ("dialed", call_id): dialed comes from the channel name."""
    registry.apply(event("StasisStart", channel=leg_json("Up"), args=["dialed", CALLER]))
    view = registry.channel(LEG)
    assert view is not None
    assert (view.dialed, view.call_id) == ("2000", CALLER)


def test_foreign_channel_events_do_not_add_channels(registry: LiveRegistry) -> None:
    """A channel that never entered our app (and is not our leg) is not listed."""
    registry.apply(event("ChannelStateChange", channel=channel_json("999.1", state="Up")))
    assert registry.channels() == []


def test_stasis_end_removes_the_channel(registry: LiveRegistry) -> None:
    """StasisEnd means the channel left our app: it is no longer live for us."""
    start_caller(registry)
    registry.apply(event("StasisEnd", channel=channel_json(CALLER)))
    assert registry.channel(CALLER) is None


def test_late_event_does_not_resurrect_an_ended_leg(registry: LiveRegistry) -> None:
    """A varset straggling after ChannelDestroyed must not bring a ghost leg back."""
    registry.apply(event("ChannelStateChange", channel=leg_json()))
    registry.apply(
        event("ChannelDestroyed", channel=leg_json(), cause=16, cause_txt="Normal Clearing")
    )
    registry.apply(event("ChannelVarset", channel=leg_json(), variable="X", value="1"))
    assert registry.channels() == []


def test_caller_id_and_connected_line_follow_their_events(registry: LiveRegistry) -> None:
    """ChannelCallerId and ChannelConnectedLine carry the channel's new parties."""
    start_caller(registry)
    renamed = channel_json(CALLER, caller=("Alice Smith", "1000"))
    registry.apply(
        event(
            "ChannelCallerId",
            channel=renamed,
            caller_presentation=0,
            caller_presentation_txt="Presentation Allowed, Not Screened",
        )
    )
    registry.apply(
        event("ChannelConnectedLine", channel=channel_json(CALLER, connected=("Bob", "2000")))
    )
    view = registry.channel(CALLER)
    assert view is not None
    assert (view.connected_number, view.connected_name) == ("2000", "Bob")


def test_bridge_membership_follows_enter_and_leave(registry: LiveRegistry) -> None:
    """ChannelEnteredBridge sets the channel's bridge and the bridge's members; leaving clears."""
    start_caller(registry)
    bridge = bridge_json(channels=[CALLER])
    registry.apply(event("ChannelEnteredBridge", bridge=bridge, channel=channel_json(CALLER)))
    view = registry.channel(CALLER)
    assert view is not None
    assert view.bridge_id == bridge["id"]
    assert [b.channels for b in registry.bridges()] == [(CALLER,)]
    left = bridge_json(channels=[])
    registry.apply(event("ChannelLeftBridge", bridge=left, channel=channel_json(CALLER)))
    view = registry.channel(CALLER)
    assert view is not None
    assert view.bridge_id is None
    assert registry.bridges()[0].channels == ()


def test_bridge_destroyed_removes_the_bridge(registry: LiveRegistry) -> None:
    """BridgeDestroyed takes the bridge off the list."""
    registry.apply(event("BridgeCreated", bridge=bridge_json()))
    registry.apply(event("BridgeDestroyed", bridge=bridge_json()))
    assert registry.bridges() == []


def test_set_menu_shows_the_ivr_menu(registry: LiveRegistry) -> None:
    """The call layer's current IVR menu appears on the channel; None clears it."""
    start_caller(registry)
    registry.set_menu(ChannelId(CALLER), "main")
    assert [c.menu for c in registry.channels()] == ["main"]
    registry.set_menu(ChannelId(CALLER), None)
    assert [c.menu for c in registry.channels()] == [None]


def test_endpoint_state_change_updates_the_endpoint(registry: LiveRegistry) -> None:
    """EndpointStateChange lists the endpoint with its registration state."""
    registry.apply(event("EndpointStateChange", endpoint=endpoint_json("2000", "online")))
    [view] = registry.endpoints()
    assert (view.id, view.state, view.contacts) == ("PJSIP/2000", "online", ())


def test_peer_status_change_sets_the_endpoint_state(registry: LiveRegistry) -> None:
    """PeerStatusChange (PJSIP's online/offline news) lists the endpoint with its new state."""
    peer = {"peer_status": "Reachable"}
    registry.apply(event("PeerStatusChange", endpoint=endpoint_json("2000", "online"), peer=peer))
    assert registry.online("2000")
    peer = {"peer_status": "Unreachable"}
    registry.apply(event("PeerStatusChange", endpoint=endpoint_json("2000", "offline"), peer=peer))
    [view] = registry.endpoints()
    assert (view.id, view.state) == ("PJSIP/2000", "offline")
    assert not registry.online("2000")


def _leg_rings(r: LiveRegistry) -> None:
    start_caller(r)
    r.apply(event("ChannelStateChange", channel=leg_json()))


def _caller_ends(r: LiveRegistry) -> None:
    start_caller(r)
    r.apply(event("StasisEnd", channel=channel_json(CALLER)))


def _renamed_then_ends(r: LiveRegistry) -> None:
    start_caller(r)
    renamed = channel_json(CALLER, name="PJSIP/1000<ZOMBIE>")
    r.apply(event("ChannelStateChange", channel=renamed))
    r.apply(event("StasisEnd", channel=renamed))


def _reset(r: LiveRegistry) -> None:
    r.reset(
        [Channel.from_json(channel_json("1714557700.20", name="PJSIP/2000-00000009"))],
        [],
        [Endpoint.from_json(endpoint_json("1000")), Endpoint.from_json(endpoint_json("2000"))],
    )


# (case, what happens, channels listed on 1000, on 2000, whether 2000 is busy)
EP_STEPS: list[tuple[str, Callable[[LiveRegistry], None], list[str], list[str], bool]] = [
    ("the caller's channel on 1000", start_caller, [CALLER], [], False),
    ("a leg ringing 2000 is listed there", _leg_rings, [CALLER], [LEG], True),
    ("a channel that ended is no longer listed", _caller_ends, [], [], False),
    ("a renamed channel leaves the endpoint it was counted on", _renamed_then_ends, [], [], False),
    ("after a reset, the channels Asterisk listed", _reset, [], ["1714557700.20"], True),
]


@pytest.mark.parametrize(
    ("steps", "on_1000", "on_2000", "busy_2000"),
    [pytest.param(*rest, id=name) for name, *rest in EP_STEPS],
)
def test_an_endpoints_channels_are_the_registrys_own(
    registry: LiveRegistry,
    steps: Callable[[LiveRegistry], None],
    on_1000: list[str],
    on_2000: list[str],
    busy_2000: bool,
) -> None:
    """/endpoints lists an endpoint's channels from the channels the registry knows (the
    endpoint app no longer hears EndpointStateChange), and the phone is busy while it has one."""
    registry.apply(
        event("PeerStatusChange", endpoint=endpoint_json("1000"), peer={"peer_status": "Reachable"})
    )
    registry.apply(
        event("PeerStatusChange", endpoint=endpoint_json("2000"), peer={"peer_status": "Reachable"})
    )
    steps(registry)
    listed = {v.id: list(v.channel_ids) for v in registry.endpoints()}
    assert listed == {"PJSIP/1000": on_1000, "PJSIP/2000": on_2000}
    assert registry.busy("2000") is busy_2000


def test_contact_status_change_adds_a_contact_with_its_rtt(registry: LiveRegistry) -> None:
    """ContactStatusChange (an UnknownEvent today) adds the contact, RTT in milliseconds."""
    registry.apply(contact_event(rtt_usec="12345"))
    view = registry.endpoint("PJSIP/2000")
    assert view is not None
    assert view.contacts == (ContactView("sip:2000@192.0.2.10:5060", "Reachable", 12.345),)


def test_removed_contact_disappears(registry: LiveRegistry) -> None:
    """A contact whose status becomes Removed (unregistered) is no longer listed."""
    registry.apply(contact_event())
    registry.apply(contact_event(status="Removed", rtt_usec=None))
    view = registry.endpoint("PJSIP/2000")
    assert view is not None
    assert view.contacts == ()


def test_malformed_contact_event_is_ignored(registry: LiveRegistry) -> None:
    """A ContactStatusChange without contact_info changes nothing and raises nothing."""
    registry.apply(
        parse_event(
            {"type": "ContactStatusChange", "endpoint": endpoint_json(), "contact_info": "x"}
        )
    )
    assert registry.endpoints() == []


def test_endpoint_going_offline_drops_its_contacts(registry: LiveRegistry) -> None:
    """An offline endpoint has no contact worth showing."""
    registry.apply(contact_event())
    registry.apply(event("EndpointStateChange", endpoint=endpoint_json("2000", "offline")))
    view = registry.endpoint("PJSIP/2000")
    assert view is not None
    assert (view.state, view.contacts) == ("offline", ())


def test_reset_replaces_the_state_with_asterisks(registry: LiveRegistry) -> None:
    """After a reconnect, channels missing from Asterisk go and unknown ones appear."""
    start_caller(registry)
    other = Channel.from_json(channel_json("1714557700.20", exten="500", state="Up"))
    registry.reset([other], [], [Endpoint.from_json(endpoint_json("1000"))])
    assert [c.id for c in registry.channels()] == ["1714557700.20"]
    assert (registry.channels()[0].dialed, registry.channels()[0].answered) == ("500", None)
    assert [e.id for e in registry.endpoints()] == ["PJSIP/1000"]
    assert registry.resets == 1


def test_reset_keeps_what_only_we_know_about_surviving_channels(registry: LiveRegistry) -> None:
    """Dialed extension, answer time and menu survive a reset; bridges come from Asterisk."""
    start_caller(registry)
    registry.apply(event("ChannelStateChange", at=3, channel=channel_json(CALLER, state="Up")))
    registry.set_menu(ChannelId(CALLER), "sales")
    bridge = Bridge.from_json(bridge_json(channels=[CALLER]))
    registry.reset([Channel.from_json(channel_json(CALLER, state="Up"))], [bridge], [])
    view = registry.channel(CALLER)
    assert view is not None
    assert (view.dialed, view.menu, view.bridge_id) == ("2000", "sales", bridge.id)
    assert view.answered == T0 + timedelta(seconds=3)


def test_reset_keeps_contacts_only_for_online_endpoints(registry: LiveRegistry) -> None:
    """ARI cannot list contacts, so known ones are kept while the endpoint is still online."""
    registry.apply(contact_event("2000"))
    registry.apply(contact_event("1000", uri="sip:1000@192.0.2.11"))
    registry.reset(
        [],
        [],
        [
            Endpoint.from_json(endpoint_json("2000", "online")),
            Endpoint.from_json(endpoint_json("1000", "offline")),
        ],
    )
    contacts = {e.resource: len(e.contacts) for e in registry.endpoints()}
    assert contacts == {"1000": 0, "2000": 1}


def test_snapshots_are_frozen(registry: LiveRegistry) -> None:
    """A route cannot change the live state through a snapshot."""
    start_caller(registry)
    view = registry.channels()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.state = "Up"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "extension"),
    [("PJSIP/2000-00000001", "2000"), ("PJSIP/alice", "alice"), ("Local/x@y-0001;1", "x@y")],
)
def test_extension_of_reads_the_channel_name(name: str, extension: str) -> None:
    """The extension of a leg is the resource part of its channel name."""
    assert extension_of(name) == extension


def _as_served(registry: LiveRegistry) -> object:
    return json.loads(registry.channels_json())


def _as_documented(registry: LiveRegistry) -> object:
    models = [ChannelOut.model_validate(view) for view in registry.channels()]
    return ChannelList(channels=models).model_dump(mode="json")


def test_channels_json_stays_equal_to_the_views_through_every_change(
    registry: LiveRegistry, clock: Clock
) -> None:
    """/channels' cached per-channel JSON must never go stale: compared with the documented
    schema after each kind of change (state, bridge, IVR menu, a new channel, time, a hangup)."""
    start_caller(registry)
    registry.apply(event("ChannelCreated", channel=leg_json(created=0.5)))
    assert _as_served(registry) == _as_documented(registry)
    up = channel_json(CALLER, state="Up")
    newcomer = channel_json("1714557600.13", created=9.0)
    bridged = {"bridge": bridge_json(channels=[CALLER]), "channel": up}
    steps: list[Callable[[], None]] = [
        lambda: registry.apply(event("ChannelStateChange", at=2, channel=up)),
        lambda: registry.set_menu(ChannelId(CALLER), "main"),
        lambda: registry.apply(event("ChannelEnteredBridge", at=3, **bridged)),
        lambda: setattr(clock, "now", clock.now + 12.345),
        lambda: registry.set_menu(ChannelId(CALLER), None),
        lambda: registry.apply(event("StasisStart", channel=newcomer, args=["500"])),
        lambda: registry.apply(event("StasisEnd", at=4, channel=up)),
    ]
    for change in steps:
        served_before = _as_served(registry)
        change()
        assert _as_served(registry) == _as_documented(registry)
        assert _as_served(registry) != served_before
