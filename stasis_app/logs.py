"""Logging: structlog, JSON lines when not on a terminal, key=value for people.

Call tasks bind ``call_id``/``channel_id`` with structlog's contextvars, and each asyncio task has
its own context, so every line a call logs carries its ids without passing them around.

Lines are rendered on the caller's stack but *written* by one thread: stderr is often a pipe to a
log collector, and a slow reader there must never stall the event loop that reads the ARI
websocket (Asterisk drops a reader that stalls for 100 ms). The queue is drained at exit.
"""

from __future__ import annotations

import atexit
import logging
import queue
import sys
import threading
from typing import TextIO

import structlog

from stasis_app.threads import name_os_thread

_STOP = object()


class QueuedWriter:
    """A structlog logger whose every level method hands the rendered line to a writer thread."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write, name="cti-log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def msg(self, message: str) -> None:
        self._queue.put(message)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg

    def close(self) -> None:
        """Write what is queued and stop the thread. Idempotent."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(5)

    def _write(self) -> None:
        name_os_thread()
        while (line := self._queue.get()) is not _STOP:
            try:
                self._stream.write(f"{line}\n")
                self._stream.flush()
            except (OSError, ValueError):
                pass  # stderr closed or gone: nothing sensible to do with a log line


def configure(fmt: str = "auto", level: int = logging.INFO) -> None:
    render_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if render_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    writer = QueuedWriter(sys.stderr)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *_args: writer,
        cache_logger_on_first_use=True,
    )
