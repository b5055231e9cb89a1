"""Specification of ARI event and model parsing (shapes from Asterisk 22 ``events.json``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stasis_app.ari import (
    Application,
    AsteriskInfo,
    Bridge,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelEnteredBridge,
    ChannelHangupRequest,
    ChannelId,
    ChannelVarset,
    Dial,
    Endpoint,
    EndpointStateChange,
    PeerStatusChange,
    PlaybackFinished,
    StasisEnd,
    StasisStart,
    UnknownEvent,
    parse_event,
)
from stasis_app.ari.events import KNOWN_EVENT_TYPES
from stasis_app.ari.models import AriProtocolError
from stasis_app.errors import AriError

TS = "2024-05-01T10:00:00.123+0000"


def channel_json(channel_id: str = "1714557600.12", **overrides: Any) -> dict[str, Any]:
    """A Channel exactly as Asterisk 22 sends it."""
    data: dict[str, Any] = {
        "id": channel_id,
        "name": "PJSIP/1000-00000004",
        "state": "Ring",
        "protocol_id": "3c2a9f1e@127.0.0.1",
        "caller": {"name": "Alice", "number": "1000"},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {
            "context": "from-sipp",
            "exten": "500",
            "priority": 3,
            "app_name": "Stasis",
            "app_data": "cti,ivr,main",
        },
        "creationtime": "2024-05-01T09:59:59.870+0000",
        "language": "en",
    }
    data.update(overrides)
    return data


def event_json(event_type: str, **body: Any) -> dict[str, Any]:
    return {
        "type": event_type,
        "timestamp": TS,
        "application": "cti",
        "asterisk_id": "02:42:ac:11:00:02",
        **body,
    }


def playback_json(target_uri: str, state: str = "done") -> dict[str, Any]:
    return {
        "id": "pb-1",
        "media_uri": "sound:ivr/welcome",
        "target_uri": target_uri,
        "language": "en",
        "state": state,
    }


def bridge_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "b-1",
        "technology": "simple_bridge",
        "bridge_type": "mixing",
        "bridge_class": "stasis",
        "creator": "Stasis",
        "name": "call-42",
        "channels": ["1714557600.12", "1714557600.13"],
        "creationtime": TS,
        "video_mode": "none",
    }
    data.update(overrides)
    return data


def test_stasis_start_carries_the_channel_and_the_stasis_arguments() -> None:
    """StasisStart exposes the caller's channel and the Stasis() args as a tuple of strings."""
    event = parse_event(event_json("StasisStart", args=["ivr", "main"], channel=channel_json()))

    assert isinstance(event, StasisStart)
    assert event.type == "StasisStart"
    assert event.application == "cti"
    assert event.args == ("ivr", "main")
    assert event.channel.caller.number == "1000"
    assert event.channel.dialplan is not None
    assert event.channel.dialplan.app_data == "cti,ivr,main"
    assert event.replace_channel is None
    assert event.channel_id == "1714557600.12"


def test_timestamps_with_a_colonless_offset_are_parsed_as_aware_datetimes() -> None:
    """ARI writes ``+0000``; the event timestamp is an aware datetime with milliseconds."""
    event = parse_event(event_json("StasisEnd", channel=channel_json(), timestamp=TS))

    assert event.timestamp == datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)


def test_a_non_utc_offset_is_kept() -> None:
    """An Asterisk not running in UTC writes its own offset; it is honoured, not dropped."""
    event = parse_event(
        event_json("StasisEnd", channel=channel_json(), timestamp="2024-05-01T12:00:00.000+0200")
    )

    assert event.timestamp == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert event.timestamp.utcoffset() == timedelta(hours=2)
    assert event.timestamp.tzinfo == timezone(timedelta(hours=2))


def test_dtmf_received_carries_digit_and_duration() -> None:
    """ChannelDtmfReceived gives the digit and how long it was pressed, routed by its channel."""
    event = parse_event(
        event_json("ChannelDtmfReceived", digit="#", duration_ms=120, channel=channel_json())
    )

    assert isinstance(event, ChannelDtmfReceived)
    assert (event.digit, event.duration_ms) == ("#", 120)
    assert event.channel_id == "1714557600.12"


def test_playback_finished_is_routed_to_the_channel_in_its_target_uri() -> None:
    """A channel playback's events belong to the channel named by ``target_uri``."""
    event = parse_event(
        event_json("PlaybackFinished", playback=playback_json("channel:1714557600.12", "failed"))
    )

    assert isinstance(event, PlaybackFinished)
    assert event.playback.state == "failed"
    assert event.channel_id == ChannelId("1714557600.12")


def test_a_bridge_playback_belongs_to_no_channel() -> None:
    """A playback on a bridge (``bridge:<id>``) has no channel to route to."""
    event = parse_event(event_json("PlaybackFinished", playback=playback_json("bridge:b-1")))

    assert event.channel_id is None


def test_dial_is_routed_by_the_dialed_peer() -> None:
    """Dial events belong to the peer (the dialed channel), not to the caller."""
    event = parse_event(
        event_json(
            "Dial",
            caller=channel_json("1714557600.12"),
            peer=channel_json("1714557600.13", name="PJSIP/2000-00000005", state="Ringing"),
            dialstring="2000",
            dialstatus="RINGING",
        )
    )

    assert isinstance(event, Dial)
    assert event.channel_id == "1714557600.13"
    assert event.caller is not None
    assert event.caller.id == "1714557600.12"
    assert (event.dialstatus, event.dialstring, event.forwarded) == ("RINGING", "2000", None)


def test_dial_without_a_caller_is_accepted() -> None:
    """An originated channel's Dial events have no caller; that is not malformed."""
    event = parse_event(event_json("Dial", peer=channel_json(), dialstatus=""))

    assert isinstance(event, Dial)
    assert event.caller is None


def test_hangup_request_cause_and_soft_flag_are_optional() -> None:
    """ChannelHangupRequest's cause and soft are optional in the API: None and False by default."""
    bare = parse_event(event_json("ChannelHangupRequest", channel=channel_json()))
    full = parse_event(
        event_json("ChannelHangupRequest", channel=channel_json(), cause=16, soft=True)
    )

    assert isinstance(bare, ChannelHangupRequest)
    assert (bare.cause, bare.soft) == (None, False)
    assert isinstance(full, ChannelHangupRequest)
    assert (full.cause, full.soft) == (16, True)


def test_channel_destroyed_carries_the_real_hangup_cause() -> None:
    """ChannelDestroyed has the Q.850 cause and its text."""
    event = parse_event(
        event_json("ChannelDestroyed", cause=17, cause_txt="User busy", channel=channel_json())
    )

    assert isinstance(event, ChannelDestroyed)
    assert (event.cause, event.cause_txt) == (17, "User busy")


def test_a_global_varset_belongs_to_no_channel() -> None:
    """ChannelVarset without a channel is a global variable change."""
    event = parse_event(event_json("ChannelVarset", variable="GLOBAL_X", value="1"))

    assert isinstance(event, ChannelVarset)
    assert event.channel_id is None


def test_entered_bridge_lists_the_bridge_members() -> None:
    """ChannelEnteredBridge carries the bridge with its channel ids, routed by the channel."""
    event = parse_event(
        event_json("ChannelEnteredBridge", bridge=bridge_json(), channel=channel_json())
    )

    assert isinstance(event, ChannelEnteredBridge)
    assert event.bridge.channels == ("1714557600.12", "1714557600.13")
    assert event.channel_id == "1714557600.12"


def test_endpoint_state_change_has_an_endpoint_id_and_no_channel() -> None:
    """An endpoint event exposes ``tech/resource`` as the endpoint id and routes nowhere."""
    endpoint = {"technology": "PJSIP", "resource": "2000", "state": "online", "channel_ids": []}
    event = parse_event(event_json("EndpointStateChange", endpoint=endpoint))

    assert isinstance(event, EndpointStateChange)
    assert event.endpoint.id == "PJSIP/2000"
    assert event.channel_id is None


@pytest.mark.parametrize(
    ("peer", "status", "cause"),
    [
        ({"peer_status": "Reachable"}, "Reachable", None),
        (
            {"peer_status": "Unreachable", "cause": "qualify timeout"},
            "Unreachable",
            "qualify timeout",
        ),
    ],
)
def test_peer_status_change_carries_the_endpoint_and_its_status(
    peer: dict[str, str], status: str, cause: str | None
) -> None:
    """PeerStatusChange: the endpoint (with its new state) and the peer's status and cause."""
    endpoint = {"technology": "PJSIP", "resource": "2000", "state": "online", "channel_ids": []}
    event = parse_event(event_json("PeerStatusChange", endpoint=endpoint, peer=peer))

    assert isinstance(event, PeerStatusChange)
    assert (event.endpoint.id, event.endpoint.state) == ("PJSIP/2000", "online")
    assert (event.peer_status, event.cause, event.channel_id) == (status, cause, None)


@pytest.mark.parametrize(
    "body",
    [
        {"endpoint": {"technology": "PJSIP", "resource": "2000", "channel_ids": []}},
        {
            "endpoint": {"technology": "PJSIP", "resource": "2000", "channel_ids": []},
            "peer": {"cause": "x"},
        },
        {"peer": {"peer_status": "Reachable"}},
    ],
    ids=["no peer", "no peer_status", "no endpoint"],
)
def test_a_peer_status_change_missing_a_field_is_a_protocol_error(body: dict[str, object]) -> None:
    """A PeerStatusChange without its endpoint or peer status names what is missing."""
    with pytest.raises(AriProtocolError, match="PeerStatusChange"):
        parse_event(event_json("PeerStatusChange", **body))


def test_an_unknown_type_becomes_unknown_event_with_the_raw_json() -> None:
    """An event type we do not model is delivered as UnknownEvent, never a crash."""
    raw = event_json("ChannelHold", channel=channel_json(), musicclass="default")
    event = parse_event(raw)

    assert isinstance(event, UnknownEvent)
    assert event.type == "ChannelHold"
    assert event.raw == raw
    assert event.timestamp is not None
    assert event.channel_id == "1714557600.12"


def test_a_message_without_application_or_timestamp_is_still_an_unknown_event() -> None:
    """Asterisk's MissingParams message has neither field; it is reported, not rejected."""
    event = parse_event({"type": "MissingParams", "params": ["app"]})

    assert isinstance(event, UnknownEvent)
    assert (event.application, event.timestamp, event.channel_id) == (None, None, None)


def test_a_known_type_missing_a_required_field_names_type_and_field() -> None:
    """A malformed known event raises AriProtocolError naming the event type and field path."""
    broken = channel_json()
    del broken["id"]

    with pytest.raises(AriProtocolError) as caught:
        parse_event(event_json("StasisStart", args=[], channel=broken))

    assert caught.value.kind == "StasisStart event"
    assert caught.value.field == "channel.id"
    assert "StasisStart" in str(caught.value)
    assert isinstance(caught.value, AriError)


def test_a_field_of_the_wrong_type_is_malformed() -> None:
    """A number where a string belongs is a protocol error, not a silent coercion."""
    with pytest.raises(AriProtocolError, match="'digit' should be a string"):
        parse_event(
            event_json("ChannelDtmfReceived", digit=5, duration_ms=1, channel=channel_json())
        )


def test_a_bad_timestamp_is_malformed() -> None:
    """An unreadable event timestamp is reported with the value."""
    with pytest.raises(AriProtocolError, match="timestamp"):
        parse_event(event_json("StasisEnd", channel=channel_json(), timestamp="yesterday"))


def test_a_message_without_type_is_malformed() -> None:
    """A message without ``type`` cannot be classified at all."""
    with pytest.raises(AriProtocolError, match="'type' is missing"):
        parse_event({"application": "cti"})


@given(st.sampled_from(sorted(KNOWN_EVENT_TYPES)))
def test_a_known_type_with_an_empty_body_raises_protocol_error_not_anything_else(
    event_type: str,
) -> None:
    """Whatever field is missing, the only error is AriProtocolError (the caller drops it)."""
    try:
        event = parse_event(event_json(event_type))
    except AriProtocolError:
        return
    assert event.type == event_type  # bodiless events such as ApplicationReplaced parse


def test_models_ignore_unknown_fields_and_default_missing_optional_ones() -> None:
    """Extra fields are ignored; missing optional ones become None or empty."""
    data = channel_json(future_field={"x": 1})
    for optional in ("accountcode", "protocol_id", "dialplan", "connected", "language"):
        del data[optional]
    event = parse_event(event_json("StasisEnd", channel=data))

    assert isinstance(event, StasisEnd)
    assert event.channel.accountcode is None
    assert event.channel.dialplan is None
    assert event.channel.connected.number == ""
    assert event.channel.language == ""


def test_bridge_creation_time_is_optional() -> None:
    """A Bridge without creationtime parses with None."""
    data = bridge_json()
    del data["creationtime"]

    assert Bridge.from_json(data).creationtime is None


def test_application_lists_what_asterisk_holds_for_the_app() -> None:
    """GET /applications/{app} parses into typed id tuples."""
    app = Application.from_json(
        {
            "name": "cti",
            "channel_ids": ["1714557600.12"],
            "bridge_ids": [],
            "endpoint_ids": ["PJSIP/2000"],
            "device_names": [],
            "events_allowed": [],
            "events_disallowed": [],
        }
    )

    assert app.channel_ids == ("1714557600.12",)
    assert app.endpoint_ids == ("PJSIP/2000",)


def test_endpoint_state_is_optional() -> None:
    """Endpoint.state is optional in the API description."""
    endpoint = Endpoint.from_json({"technology": "PJSIP", "resource": "1000", "channel_ids": []})

    assert endpoint.state is None


def test_asterisk_info_tolerates_missing_sections() -> None:
    """Every section of /asterisk/info is optional: absent ones give None fields."""
    info = AsteriskInfo.from_json(
        {
            "system": {"version": "22.10.0", "entity_id": "02:42:ac:11:00:02"},
            "status": {"startup_time": TS, "last_reload_time": TS},
        }
    )

    assert info.version == "22.10.0"
    assert info.startup_time == datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert info.build_os is None
    assert AsteriskInfo.from_json({}) == AsteriskInfo()
