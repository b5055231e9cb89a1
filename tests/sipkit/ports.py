"""Free loopback ports for the SIP peers a test starts (everything stays on 127.0.0.1)."""

from __future__ import annotations

import random
import socket
from collections.abc import Collection

HOST = "127.0.0.1"

# Below Linux's ephemeral range (32768-60999) so a port we pick is not handed to someone else's
# connect() in the meantime, and away from Asterisk's RTP range (rtp.conf: 10000-20000).
_LOW, _HIGH = 21000, 29999


def is_free(port: int, *, udp: bool = True, tcp: bool = True) -> bool:
    """Whether ``port`` on 127.0.0.1 can be bound right now (for UDP and/or TCP)."""
    kinds = [k for k, wanted in ((socket.SOCK_DGRAM, udp), (socket.SOCK_STREAM, tcp)) if wanted]
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                return False
    return True


def free_port(
    *, span: int = 1, udp: bool = True, tcp: bool = True, avoid: Collection[int] = ()
) -> int:
    """A port P such that P .. P+span-1 are free on 127.0.0.1 (UDP and TCP by default).

    ``avoid``: ports picked already but not bound yet (a process about to bind them all).
    """
    rng = random.SystemRandom()
    for _ in range(500):
        port = rng.randrange(_LOW, _HIGH - span)
        wanted = range(port, port + span)
        if not set(wanted) & set(avoid) and all(is_free(p, udp=udp, tcp=tcp) for p in wanted):
            return port
    raise RuntimeError(f"no {span} consecutive free ports found in {_LOW}-{_HIGH}")
