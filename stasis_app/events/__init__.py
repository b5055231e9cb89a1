"""Call events: what happened on each call, recorded off the ARI event path."""

from stasis_app.events.record import CallEvent, EventSink, LogSink, MultiSink

__all__ = ["CallEvent", "EventSink", "LogSink", "MultiSink"]
