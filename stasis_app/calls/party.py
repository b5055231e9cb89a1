"""A party of a call, as the call machine keeps it (pure data)."""

from __future__ import annotations

from dataclasses import dataclass

from stasis_app.ari.ids import ChannelId
from stasis_app.calls.views import PartyState, Role


@dataclass(slots=True)
class Party:
    channel: ChannelId
    extension: str
    role: Role
    state: PartyState
    number: str  # what other phones are shown as this party's caller id
    name: str
    answered: bool


@dataclass(slots=True)
class Caller:
    """What the machine needs to know about the channel that started the call."""

    channel: ChannelId
    number: str
    name: str
    channel_name: str
    answered: bool


__all__ = ["Caller", "Party"]
