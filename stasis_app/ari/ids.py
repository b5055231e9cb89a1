"""Distinct id types, so a bridge id cannot be passed where a channel id is expected.

They are plain ``str`` at run time (``typing.NewType``), so they cost nothing and serialise as-is.
"""

from __future__ import annotations

from typing import NewType

ChannelId = NewType("ChannelId", str)
"""Asterisk's channel unique id, e.g. ``"1714557600.12"`` (or one we chose at originate)."""

BridgeId = NewType("BridgeId", str)
"""A bridge id, Asterisk's UUID or one we chose at creation."""

PlaybackId = NewType("PlaybackId", str)
"""A playback id, Asterisk's UUID or one we chose with ``play(..., playback_id=...)``."""

EndpointId = NewType("EndpointId", str)
"""An endpoint as ``"tech/resource"``, e.g. ``"PJSIP/1000"``, the form of ARI's ``endpoint=``."""

__all__ = ["BridgeId", "ChannelId", "EndpointId", "PlaybackId"]
