"""Making an app's endpoint subscriptions what the worker wants, however many runs came before.

Asterisk keeps an app, and its subscriptions, after the websocket closes, and it counts them:
every ``POST /applications/{app}/subscription`` adds one, and each needs its own ``DELETE``
before the events stop. A worker that subscribed on every (re)connect therefore piled up
subscriptions nobody could take back with one call. So, on connect, the worker reads what the
app holds and only subscribes to what is missing, and takes back, to the last count, what it no
longer wants (an earlier version's subscription, a hand-made one).
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from stasis_app.ari.client import AriClient

log = structlog.get_logger(__name__)

# Enough for a worker that reconnected every few seconds for days before this was fixed; past
# it the subscription is left (and logged), since its events are filtered out anyway.
MAX_UNSUBSCRIBES = 10_000


def subscription_changes(held: Iterable[str], wanted: Iterable[str]) -> tuple[list[str], list[str]]:
    """(endpoint ids to subscribe to, endpoint ids to take back), each in a stable order."""
    have, want = list(dict.fromkeys(held)), list(dict.fromkeys(wanted))
    return [w for w in want if w not in have], [h for h in have if h not in want]


async def keep_endpoint_subscriptions(client: AriClient, wanted: Iterable[str]) -> None:
    """Subscribe ``client``'s app to exactly the endpoint ids ``wanted`` (``PJSIP``: every
    PJSIP endpoint; ``PJSIP/1000``: one)."""
    app = await client.get_application()
    add, drop = subscription_changes(app.endpoint_ids, wanted)
    for endpoint_id in drop:
        for taken in range(1, MAX_UNSUBSCRIBES + 1):
            held = (await client.unsubscribe(f"endpoint:{endpoint_id}")).endpoint_ids
            if endpoint_id not in held:
                log.info("endpoints.unsubscribed", endpoint=endpoint_id, times=taken)
                break
        else:
            log.warning("endpoints.unsubscribe_gave_up", endpoint=endpoint_id)
    for endpoint_id in add:
        await client.subscribe(f"endpoint:{endpoint_id}")


__all__ = ["MAX_UNSUBSCRIBES", "keep_endpoint_subscriptions", "subscription_changes"]
