"""Reconcile with Asterisk after every (re)connect of the events websocket.

Events that happen while the websocket is down are lost, not queued (lab notes), and after a
worker restart we know nothing at all. Asterisk is the source of truth: ``GET /applications/cti``
lists the channels still in our app. Our channel and bridge ids are derived from the caller's
channel id (``<caller>-leg<n>``, ``<caller>-bridge``), which is what makes adoption possible:

* a call we know whose channel vanished is told so (``ChannelGone``) and ends itself;
* a bridge of ours with both parties still in it is adopted: the call resumes "bridged", and a
  hangup on either side ends the other as usual;
* a bridge of ours missing a party is ended: the remaining party is hung up, the bridge destroyed;
* a caller in the app but in no bridge (it was in the IVR, or ringing a phone) starts over from its
  dialed extension, after any stale leg it had is hung up;
* a leg of ours that is not in a bridge (ringing for a call we lost) is hung up.
"""

from __future__ import annotations

import structlog

from stasis_app.ari import AriClient, Bridge, Channel
from stasis_app.ari.ids import ChannelId
from stasis_app.calls import causes
from stasis_app.calls.call import ChannelGone
from stasis_app.calls.dispatcher import Dispatcher

log = structlog.get_logger("cti.recovery")

LEG_MARK = "-leg"
BRIDGE_SUFFIX = "-bridge"


def caller_of(channel: ChannelId) -> ChannelId:
    """The caller's channel id for one of our legs (or the id itself for a caller)."""
    return ChannelId(channel.split(LEG_MARK, 1)[0])


async def reconcile(client: AriClient, dispatcher: Dispatcher) -> dict[str, int]:
    app = await client.get_application()
    live = set(app.channel_ids)
    counts = {"gone": 0, "adopted": 0, "restarted": 0, "ended": 0}

    for call in dispatcher.calls:
        for known in call.channels:
            if known not in live:
                call.deliver(ChannelGone(known))
                counts["gone"] += 1

    unknown = {c for c in live if dispatcher.owner(c) is None}
    if not unknown:
        log.info("recovery.reconciled", **counts, live=len(live))
        return counts
    channels = {c.id: c for c in await client.list_channels() if c.id in unknown}
    bridges = [b for b in await client.list_bridges() if b.id.endswith(BRIDGE_SUFFIX)]

    in_bridge: set[ChannelId] = set()
    for bridge in bridges:
        members = [channels[c] for c in bridge.channels if c in channels]
        in_bridge.update(m.id for m in members)
        if dispatcher.owner(ChannelId(bridge.id.removesuffix(BRIDGE_SUFFIX))) is not None:
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
        if LEG_MARK in channel_id:
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
    caller = next((m for m in members if LEG_MARK not in m.id), members[0])
    callee = next(m for m in members if m is not caller)
    dialed = caller.dialplan.exten if caller.dialplan else ""
    log.info("recovery.adopt", bridge=str(bridge.id), caller=str(caller.id), callee=str(callee.id))
    dispatcher.start_call(caller, dialed, adopt=(callee.id, bridge.id))


async def _end_bridge(client: AriClient, bridge: Bridge, members: list[Channel]) -> None:
    log.info("recovery.end_bridge", bridge=str(bridge.id), left=[str(m.id) for m in members])
    for member in members:
        await client.hangup(member.id, reason_code=causes.NORMAL, missing_ok=True)
    await client.destroy_bridge(bridge.id, missing_ok=True)
