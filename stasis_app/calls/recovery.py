"""Reconcile with Asterisk after every (re)connect of the events websocket.

Events that happen while the websocket is down are lost, not queued (lab notes), and after a
worker restart we know nothing at all. Asterisk is the source of truth: ``GET /applications/cti``
lists the channels still in our app. Our channel and bridge ids are derived from the call id
(:mod:`.naming`), which is what makes adoption possible:

* a call we know whose channel vanished is told so (``PartyGone``) and ends itself;
* a bridge of ours (the call's, or an attended transfer's consultation) with two parties still
  in it is adopted: the call resumes "bridged", and a hangup on either side ends the other as
  usual. A party that was on hold or waiting for a consultation is in no such pair and is
  treated as below: music and consultations do not survive a restart;
* a bridge of ours missing a party is ended: the remaining party is hung up, the bridge destroyed;
* a caller waiting in a queue's holding bridge is adopted back into that queue, with the time it
  joined taken from the bridge's creation, so callers keep their order (music plays on in
  Asterisk meanwhile);
* a caller in the app but in no bridge (it was in the IVR, or ringing a phone) starts over from its
  dialed extension, after any stale leg it had is hung up;
* a leg of ours that is not in a bridge (ringing for a call we lost) is hung up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog

from stasis_app.ari import AriClient, Bridge, Channel
from stasis_app.ari.ids import ChannelId
from stasis_app.calls import causes, naming
from stasis_app.calls.dispatcher import Dispatcher
from stasis_app.calls.messages import PartyGone

log = structlog.get_logger("cti.recovery")


def _ours(bridge: Bridge) -> bool:
    return naming.is_call_bridge(bridge.id) or naming.is_consult_bridge(bridge.id)


def _queue(bridge: Bridge) -> str | None:
    return naming.queue_of_bridge(bridge.id, bridge.name)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What Asterisk has after a (re)connect, fetched once for the registry and for recovery."""

    live: frozenset[ChannelId]  # the channels in our Stasis application
    channels: tuple[Channel, ...]  # every channel in Asterisk
    bridges: tuple[Bridge, ...]  # every bridge in Asterisk

    @classmethod
    async def fetch(cls, client: AriClient) -> Snapshot:
        app = await client.get_application()
        return cls(
            frozenset(app.channel_ids),
            tuple(await client.list_channels()),
            tuple(await client.list_bridges()),
        )


async def reconcile(
    client: AriClient, dispatcher: Dispatcher, snapshot: Snapshot
) -> dict[str, int]:
    live = snapshot.live
    counts = {"gone": 0, "adopted": 0, "queued": 0, "restarted": 0, "ended": 0}

    for call in dispatcher.calls:
        for known in call.channels:
            if known not in live:
                call.deliver(PartyGone(known))
                counts["gone"] += 1

    unknown = {c for c in live if dispatcher.owner(c) is None}
    if not unknown:
        log.info("recovery.reconciled", **counts, live=len(live))
        return counts
    channels = {c.id: c for c in snapshot.channels if c.id in unknown}
    bridges = [b for b in snapshot.bridges if _ours(b)]

    in_bridge = await _recover_queued(client, dispatcher, snapshot, channels, counts)
    for bridge in bridges:
        members = [channels[c] for c in bridge.channels if c in channels]
        in_bridge.update(m.id for m in members)
        if dispatcher.owner(ChannelId(naming.call_of(bridge.id))) is not None:
            continue
        if len(members) == 2:
            _adopt(dispatcher, bridge, members)
            counts["adopted"] += 1
        else:
            await _end_bridge(client, bridge, members)
            counts["ended"] += 1

    for channel_id in sorted(unknown - in_bridge):
        lone = channels.get(channel_id)
        if lone is None:
            continue
        if naming.is_leg(channel_id):
            await client.hangup(channel_id, reason_code=causes.NORMAL, missing_ok=True)
            counts["ended"] += 1
            continue
        dialed = lone.dialplan.exten if lone.dialplan else ""
        log.info("recovery.restart", channel=str(channel_id), dialed=dialed)
        dispatcher.start_call(lone, dialed)
        counts["restarted"] += 1
    log.info("recovery.reconciled", **counts, live=len(live))
    return counts


def _adopt(dispatcher: Dispatcher, bridge: Bridge, members: list[Channel]) -> None:
    caller = next((m for m in members if not naming.is_leg(m.id)), members[0])
    callee = next(m for m in members if m is not caller)
    dialed = caller.dialplan.exten if caller.dialplan else ""
    log.info("recovery.adopt", bridge=str(bridge.id), caller=str(caller.id), callee=str(callee.id))
    extension = naming.extension_of(callee.name)
    dispatcher.start_call(caller, dialed, adopt=(callee.id, extension, bridge.id))


async def _recover_queued(
    client: AriClient,
    dispatcher: Dispatcher,
    snapshot: Snapshot,
    channels: dict[ChannelId, Channel],
    counts: dict[str, int],
) -> set[ChannelId]:
    """Adopt the callers waiting in queues, oldest first; returns the channels seen in them."""
    in_bridge: set[ChannelId] = set()
    waiting = [b for b in snapshot.bridges if _queue(b) is not None]
    for bridge in sorted(waiting, key=_joined_order):
        # Members we do not own are the bridge's music (an Announcer channel), or nothing.
        members = [channels[c] for c in bridge.channels if c in channels]
        in_bridge.update(m.id for m in members)
        if dispatcher.owner(ChannelId(naming.call_of(bridge.id))) is not None:
            continue
        if len(members) == 1 and not naming.is_leg(members[0].id):
            _adopt_queued(dispatcher, bridge, members[0])
            counts["queued"] += 1
        else:
            await _end_bridge(client, bridge, members)
            counts["ended"] += 1
    return in_bridge


def _joined_order(bridge: Bridge) -> tuple[float, str]:
    created = bridge.creationtime
    return (created.timestamp() if created is not None else float("inf"), bridge.id)


def _adopt_queued(dispatcher: Dispatcher, bridge: Bridge, caller: Channel) -> None:
    queue = _queue(bridge) or ""
    joined = bridge.creationtime.timestamp() if bridge.creationtime else time.time()
    dialed = caller.dialplan.exten if caller.dialplan else ""
    log.info("recovery.adopt_queued", bridge=str(bridge.id), caller=str(caller.id), queue=queue)
    dispatcher.start_call(caller, dialed, adopt_queued=(queue, bridge.id, joined))


async def _end_bridge(client: AriClient, bridge: Bridge, members: list[Channel]) -> None:
    log.info("recovery.end_bridge", bridge=str(bridge.id), left=[str(m.id) for m in members])
    for member in members:
        await client.hangup(member.id, reason_code=causes.NORMAL, missing_ok=True)
    await client.destroy_bridge(bridge.id, missing_ok=True)
