"""The REST API on :3000: live channels, endpoints, call control, queues and agents, and the
screen-pop stream.

It runs inside the worker process and answers from the live state ARI events keep
(:class:`~stasis_app.calls.registry.LiveRegistry`), never by asking Asterisk per request.
"""

from stasis_app.http.app import create_app
from stasis_app.http.seams import CallControl, CallHistory, QueueControl, WorkerStatus
from stasis_app.http.server import ApiServer

__all__ = [
    "ApiServer",
    "CallControl",
    "CallHistory",
    "QueueControl",
    "WorkerStatus",
    "create_app",
]
