"""The stages of a call (see the transition table in :mod:`stasis_app.calls.machine`)."""

from __future__ import annotations

import enum


class Stage(enum.Enum):
    ROUTING = "routing"  # built, start() not called yet
    IVR = "ivr"  # the anchor walks the IVR
    ANNOUNCING = "announcing"  # the anchor hears a prompt, then is routed on
    DIALING = "dialing"  # a phone rings for the anchor (who hears ringback)
    QUEUED = "queued"  # the anchor waits in a queue (holding bridge, music); agents may ring
    BRIDGED = "bridged"  # two parties talk
    HOLDING = "holding"  # one party put the other on hold
    CONSULTING = "consulting"  # an attended transfer: moved party on hold, initiator consults
    ECHO = "echo"  # handed to the dialplan's Echo(): Asterisk's now
    CLOSING = "closing"  # a last prompt, then hang up
    ENDED = "ended"


__all__ = ["Stage"]
