"""A second real SIP phone for tests: one linphonec (linphone-cli 5.1) process, driven on stdin.

Debian 12's baresip (:mod:`tests.sipkit.phone`) cannot do an attended transfer; linphonec can
(``transfer 1 --to-call 2``: REFER with Replaces). Each :class:`Linphone` has its own ``HOME``
and rc file under its workdir, its own SIP port (RTP: :data:`RTP_PORTS`), all on 127.0.0.1,
and registers over UDP to the lab Asterisk:

* audio out: ``soundcard use files`` then ``play <wav>``; every call's stream plays that file
  from its start (a copy padded with silence, ``source_padding``, as for baresip).
* audio in: ``record <wav>`` records what the phone receives, 8 kHz mono s16. Each outgoing call
  (:meth:`Linphone.call`) records into a new file; incoming calls record into the file in force
  (the first one's is ``received-1.wav``). linphonec writes the WAV header only when a
  recording ends: :meth:`Linphone.received_audio` gives a readable copy before that.
* control: one command per stdin line. What linphonec prints on stdout is read by a thread and
  turned into :class:`LinphoneEvent` s (its call-state lines: ``Call 2 with ... connected.``);
  calls are known by the id linphonec assigns (1, 2 ... in order, incoming or outgoing).

linphonec 5.1 needs ``$HOME/.local/share/linphone`` to exist, rewrites its rc file, and spins at
100 % CPU on stdin EOF: :meth:`Linphone.stop` always sends ``quit`` (and kills its process group
if that does not end it). It prints nothing when it registers: :meth:`wait_registered` polls
``status register``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from array import array
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import IO

from tests.sipkit import audio
from tests.sipkit.ports import HOST, free_port
from tests.waiting import wait_until

LINPHONEC = "linphonec"
REGISTRAR = f"{HOST}:5060"
# linphonec binds a call's RTP port only when the call starts, so a port picked for it earlier
# could be taken meanwhile: it picks its own in a range nothing else here uses (Asterisk has
# 10000-20000, free_port 21000-29999, baresip 30000-31999; Linux's ephemeral ports start at 32768).
RTP_PORTS = "32000-32767"
PROMPT = "linphonec> "
_WAV_HEADER = 44  # what linphonec's recorder leaves room for, and fills in at the end


class LinphoneError(RuntimeError):
    """linphonec did not do what was asked (the phone's name and its output tail are included)."""


class CallState(StrEnum):
    """The call-state lines linphonec prints (linphonec.c ``linphonec_call_state_changed``)."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"
    PROGRESS = "progress"
    RINGING = "ringing"
    EARLY_MEDIA = "early-media"
    CONNECTED = "connected"
    STREAMS_RUNNING = "streams-running"
    PAUSING = "pausing"
    PAUSED = "paused"
    PAUSED_BY_REMOTE = "paused-by-remote"
    RESUMING = "resuming"
    TRANSFERRED = "transferred"
    """The far end accepted our REFER (NOTIFY 200): linphone may now close that call."""
    ENDED = "ended"
    ERROR = "error"


CLOSED = (CallState.ENDED, CallState.ERROR)
"""A call is over after either (an errored call is released without an ``ended`` line)."""

# What linphonec 5.1 prints for each (its printf formats, with %s and %i named).
_FORMATS = {
    CallState.INCOMING: "Receiving new incoming call from {peer}, assigned id {id}",
    CallState.OUTGOING: "Establishing call id to {peer}, assigned id {id}",
    CallState.PROGRESS: "Call {id} to {peer} in progress.",
    CallState.RINGING: "Call {id} to {peer} ringing.",
    CallState.EARLY_MEDIA: "Call {id} with {peer} early media.",
    CallState.CONNECTED: "Call {id} with {peer} connected.",
    CallState.STREAMS_RUNNING: "Media streams established with {peer} for call {id} ({detail}).",
    CallState.PAUSING: "Pausing call {id} with {peer}.",
    CallState.PAUSED: "Call {id} with {peer} is now paused.",
    CallState.PAUSED_BY_REMOTE: "Call {id} has been paused by {peer}.",
    CallState.RESUMING: "Resuming call {id} with {peer}.",
    CallState.TRANSFERRED: (
        "The distant endpoint {peer} of call {id} has been transfered, you can safely close the "
        "call."
    ),
    CallState.ENDED: "Call {id} with {peer} ended ({detail}).",
    CallState.ERROR: "Call {id} with {peer} error.",
}
_FIELDS = {"id": r"(?P<id>\d+)", "peer": r"(?P<peer>.+)", "detail": r"(?P<detail>.*)"}


def _pattern(line_format: str) -> re.Pattern[str]:
    regex = re.escape(line_format)
    for name, group in _FIELDS.items():
        regex = regex.replace(re.escape(f"{{{name}}}"), group)
    return re.compile(f"^{regex}$")


_LINES = tuple((state, _pattern(line_format)) for state, line_format in _FORMATS.items())


@dataclass(frozen=True)
class LinphoneEvent:
    """One call-state line linphonec printed."""

    state: CallState
    call: int
    """linphonec's id of the call (1, 2 ...), as ``pause``, ``transfer`` ... take it."""
    peer: str
    """The far end as linphonec shows it (``"Extension 2000" <sip:2000@...>``)."""
    detail: str
    """ENDED: the reason (``No error`` ...); STREAMS_RUNNING: the media (``audio``)."""
    received_at: float = field(compare=False)
    """time.monotonic() when the line was read."""


def parse_line(line: str, received_at: float) -> list[LinphoneEvent]:
    """The events in one line of linphonec's output.

    A line may hold several messages: linphonec prints its prompt (``linphonec> ``, no newline)
    before whatever comes next, and some messages (``Performing attended transfer ...``) have
    no newline of their own.
    """
    found = []
    for message in line.split(PROMPT):
        text = message.strip()
        for state, pattern in _LINES:
            match = pattern.match(text)
            if match is not None:
                groups = match.groupdict()
                found.append(
                    LinphoneEvent(
                        state,
                        int(groups["id"]),
                        groups["peer"],
                        groups.get("detail") or "",
                        received_at,
                    )
                )
                break
    return found


class Linphone:
    """A linphonec softphone registered as ``user`` (a context manager, like :class:`Phone`).

    ``workdir`` must be a directory the phone may own (a ``tmp_path``). ``audio_source`` is an
    8 kHz mono s16 WAV played into every call (silence if None). ``auto_answer`` makes the phone
    pick up incoming calls itself (``linphonec -a``); otherwise call :meth:`answer`.
    """

    def __init__(
        self,
        user: str,
        password: str,
        *,
        workdir: Path,
        audio_source: Path | None = None,
        auto_answer: bool = False,
        registrar: str = REGISTRAR,
        source_padding: float = 120.0,
        sip_port: int = 0,
        rtp_ports: str = RTP_PORTS,
    ) -> None:
        self.user = user
        self.password = password
        self.registrar = registrar
        self.auto_answer = auto_answer
        self.workdir = workdir
        self.home = workdir / "home"
        self.rc_path = workdir / "linphonerc"
        self.recordings = workdir / "recordings"
        self.log_path = workdir / "linphonec.log"
        self.sip_port = sip_port or free_port()
        self.rtp_ports = rtp_ports
        self._source = audio_source
        self._padding = source_padding
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._cond = threading.Condition()
        self._lines: list[str] = []
        self._events: list[LinphoneEvent] = []
        self._taken: set[int] = set()
        self._send_lock = threading.Lock()
        self._recording_count = 0
        self._recording: Path | None = None

    def __repr__(self) -> str:
        return f"Linphone({self.user!r}, sip_port={self.sip_port})"

    # ---------------------------------------------------------------------------- lifecycle
    def start(self) -> Linphone:
        """Start linphonec with its account, play the source and record into a first file.

        The account registers by itself; wait for it with :meth:`wait_registered`.
        """
        if self._proc is not None:
            raise LinphoneError(f"{self!r} is already started")
        source = self._write_config()
        command = [LINPHONEC, "-c", str(self.rc_path)]
        if self.auto_answer:
            command.append("-a")
        if shutil.which(LINPHONEC) is None:
            raise LinphoneError(f"no {LINPHONEC}: install linphone-cli (scripts/bootstrap.sh does)")
        self._proc = subprocess.Popen(
            command,
            cwd=self.workdir,
            env={**os.environ, "HOME": str(self.home)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            errors="replace",
            start_new_session=True,
        )
        assert self._proc.stdout is not None
        self._reader = threading.Thread(
            target=self._read_loop, args=(self._proc.stdout,), name=repr(self), daemon=True
        )
        self._reader.start()
        try:
            self.command("soundcard use files")
            self.command(f"play {source}")
            self.new_recording()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, *, timeout: float = 5.0) -> None:
        """Hang up every call, ``quit`` (it unregisters), and kill it if it does not go.

        Safe to call twice.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(OSError, ValueError, LinphoneError):
                self._hang_up_all(proc, timeout)
            with contextlib.suppress(OSError, ValueError):
                self._write(proc, "quit")
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout)
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()  # only now: on EOF a running linphonec spins
        if self._reader is not None:
            self._reader.join(timeout)  # it reads to the end of the output
            self._reader = None
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> Linphone:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ------------------------------------------------------------------------------ actions
    def command(self, line: str) -> None:
        """Send one command line (``help`` in linphonec lists them); its answer is only seen in
        the output (:meth:`output`) or as the events it causes."""
        if self._proc is None:
            raise self._error("not started")
        self._write(self._proc, line)

    def wait_registered(self, timeout: float = 10.0) -> None:
        """Poll ``status register`` until the account is registered (linphonec prints nothing
        when it registers; ``registered=-1`` means not yet, or refused)."""

        def registered() -> bool:
            answer = self._ask("status register", ("registered", "unregistered"), timeout=2.0)
            return answer.startswith("registered,")

        try:
            wait_until(registered, timeout=timeout, interval=0.1, what="registered")
        except AssertionError:
            raise self._error(f"not registered within {timeout} s") from None

    def call(self, uri: str, *, timeout: float = 10.0) -> int:
        """Dial ``uri`` (an extension alone means the registrar's) into a new recording, wait
        until the call is answered and return its id (fails if it closes first).

        linphonec refuses a second call while one is active: :meth:`hold` it first.
        """
        self.new_recording()
        self.command(f"call {uri if ':' in uri else f'sip:{uri}@{HOST}'}")
        call = self.wait_event(CallState.OUTGOING, timeout=5.0).call
        self.wait_event(CallState.CONNECTED, call, timeout=timeout, fail_on=CLOSED)
        return call

    def answer(self, call: int) -> None:
        """Answer the ringing incoming call ``call`` and wait until it is connected."""
        self.command(f"answer {call}")
        self.wait_event(CallState.CONNECTED, call, fail_on=CLOSED)

    def hold(self, call: int) -> None:
        """Put ``call`` on hold (re-INVITE sendonly) and wait until the far end accepted."""
        self.command(f"pause {call}")
        self.wait_event(CallState.PAUSED, call, fail_on=CLOSED)

    def resume(self, call: int) -> None:
        """Take ``call`` off hold and wait until its media flows again."""
        self.command(f"resume {call}")
        self.wait_event(CallState.RESUMING, call, fail_on=CLOSED)
        self.wait_event(CallState.STREAMS_RUNNING, call, fail_on=CLOSED)

    def transfer(self, call: int, uri: str) -> None:
        """Blind transfer: REFER ``call`` to ``uri``. The outcome comes as events
        (TRANSFERRED then ENDED, or the call going on)."""
        self.command(f"transfer {call} {uri if ':' in uri else f'sip:{uri}@{HOST}'}")

    def transfer_to_call(self, call: int, to_call: int) -> None:
        """Attended transfer: REFER ``call``'s far end to ``to_call``'s (Refer-To with Replaces
        naming ``to_call``'s dialog). The outcome comes as events, as for :meth:`transfer`."""
        self.command(f"transfer {call} --to-call {to_call}")

    def hangup(self, call: int) -> None:
        """Hang up ``call`` and wait until it is over."""
        self.command(f"terminate {call}")
        self.wait_event(CLOSED, call)

    def new_recording(self) -> Path:
        """Record what the phone receives from now on (the current call, if one is active, and
        the next ones) into a new file; returns it."""
        self._recording_count += 1
        path = self.recordings / f"received-{self._recording_count}.wav"
        self.command(f"record {path}")
        self._recording = path
        return path

    # ------------------------------------------------------------------------------- events
    def wait_event(
        self,
        state: CallState | tuple[CallState, ...],
        call: int | None = None,
        *,
        timeout: float = 10.0,
        fail_on: tuple[CallState, ...] = (),
    ) -> LinphoneEvent:
        """The oldest event in ``state`` (of ``call``, if given) not returned before; wait up
        to ``timeout`` for it.

        As with :meth:`Phone.wait_event`, each event is returned once, so successive waits walk
        through the calls. An unreturned event in a ``fail_on`` state (of ``call``, if given)
        that comes first raises LinphoneError.
        """
        wanted = (state,) if isinstance(state, CallState) else state
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, event in enumerate(self._events):
                    if i in self._taken or (call is not None and event.call != call):
                        continue
                    if event.state in fail_on:
                        self._taken.add(i)
                        raise self._error(
                            f"waiting for {'/'.join(wanted)} of call {call}, got "
                            f"{event.state} of call {event.call} ({event.detail or event.peer})"
                        )
                    if event.state in wanted:
                        self._taken.add(i)
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [f"{e.call}:{e.state}" for e in self._events]
                    raise self._error(
                        f"no {'/'.join(wanted)} of call {call} within {timeout} s (events so "
                        f"far: {seen})"
                    )
                if self._proc is None or self._proc.poll() is not None:
                    raise self._error(f"linphonec exited while waiting for {'/'.join(wanted)}")
                self._cond.wait(min(left, 0.5))

    def wait_incoming(self, *, timeout: float = 10.0) -> int:
        """Wait for the next incoming call; returns its id."""
        return self.wait_event(CallState.INCOMING, timeout=timeout).call

    def wait_established(self, call: int, *, timeout: float = 10.0) -> LinphoneEvent:
        """Wait until ``call`` is connected (fails if it closes first)."""
        return self.wait_event(CallState.CONNECTED, call, timeout=timeout, fail_on=CLOSED)

    def wait_closed(self, call: int, *, timeout: float = 10.0) -> LinphoneEvent:
        """Wait until ``call`` is over (ended or errored)."""
        return self.wait_event(CLOSED, call, timeout=timeout)

    def events(self) -> list[LinphoneEvent]:
        """Every event so far, oldest first."""
        with self._cond:
            return list(self._events)

    def open_calls(self) -> set[int]:
        """Ids of the calls that began and have not closed yet."""
        with self._cond:
            begun = {
                e.call for e in self._events if e.state in (CallState.INCOMING, CallState.OUTGOING)
            }
            return begun - {e.call for e in self._events if e.state in CLOSED}

    # -------------------------------------------------------------------------------- audio
    def received_audio(self) -> Path:
        """WAV of what the phone received since the latest :meth:`new_recording` (the latest
        outgoing call's).

        linphonec writes the WAV header when the recording ends (the call closes, or the next
        recording begins); until then this returns a copy of what it holds so far, with a header
        (``<name>.snapshot.wav``).
        """
        if self._recording is None:
            raise self._error("not recording (not started)")
        try:
            raw = self._recording.read_bytes()
        except FileNotFoundError:
            raise self._error(f"no recording {self._recording} yet") from None
        if raw[:4] == b"RIFF":
            return self._recording
        data = raw[_WAV_HEADER:]
        samples = array("h")
        samples.frombytes(data[: len(data) - len(data) % 2])
        return audio.write_wav(self._recording.with_suffix(".snapshot.wav"), samples)

    def received_seconds(self) -> float:
        """How much audio the current recording holds so far; poll it to wait for audio."""
        if self._recording is None:
            return 0.0
        try:
            size = self._recording.stat().st_size
        except FileNotFoundError:
            return 0.0
        return max(0, size - _WAV_HEADER) / (2 * audio.RATE)

    def output(self) -> str:
        """Everything linphonec printed so far."""
        with self._cond:
            return "\n".join(self._lines)

    def log_tail(self, lines: int = 40) -> str:
        """The end of linphonec's output."""
        with self._cond:
            return "\n".join(self._lines[-lines:]) or "(no output)"

    # ------------------------------------------------------------------------------ private
    def _write_config(self) -> Path:
        # linphonec 5.1 cannot create its data folder itself (it then fails to open its db).
        (self.home / ".local/share/linphone").mkdir(parents=True, exist_ok=True)
        self.recordings.mkdir(parents=True, exist_ok=True)
        source = self.workdir / "source.wav"
        samples = audio.read_wav(self._source) if self._source else audio.silence(0)
        audio.write_wav(source, audio.padded(samples, after=self._padding))
        host = self.registrar.split(":")[0]
        self.rc_path.write_text(
            "\n".join(
                (
                    "[sip]",
                    f"bind_address={HOST}",
                    "use_ipv6=0",
                    f"sip_port={self.sip_port}",
                    "sip_tcp_port=0",  # UDP only (0: no such transport)
                    "sip_tls_port=0",
                    "default_proxy=0",
                    "register_only_when_network_is_up=0",
                    "[rtp]",
                    f"bind_address={HOST}",
                    f"audio_rtp_port={self.rtp_ports}",
                    "[sound]",
                    "echocancellation=0",
                    "[proxy_0]",
                    f"reg_proxy=<sip:{self.registrar};transport=udp>",
                    f"reg_identity=sip:{self.user}@{host}",
                    "reg_expires=300",
                    "reg_sendregister=1",
                    "publish=0",
                    "[auth_info_0]",
                    f"username={self.user}",
                    f"userid={self.user}",
                    f"passwd={self.password}",
                    "",
                )
            )
        )
        return source

    def _write(self, proc: subprocess.Popen[str], line: str) -> None:
        if proc.stdin is None:
            raise self._error("no stdin")
        with self._send_lock:
            proc.stdin.write(line + "\n")
            proc.stdin.flush()
        with self._cond:
            self._lines.append(f">>> {line}")

    def _ask(self, line: str, prefixes: tuple[str, ...], *, timeout: float) -> str:
        """Send ``line``; the first message after it starting with one of ``prefixes``."""
        with self._cond:
            start = len(self._lines)
        self.command(line)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for text in self._lines[start:]:
                    if text.startswith(prefixes):
                        return text
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._error(f"no answer to {line!r} within {timeout} s")
                self._cond.wait(left)

    def _read_loop(self, stdout: IO[str]) -> None:
        with self.log_path.open("w") as log:
            for raw in stdout:
                line = raw.rstrip("\n")
                log.write(line + "\n")
                log.flush()
                now = time.monotonic()
                with self._cond:
                    self._lines.extend(m.strip() for m in line.split(PROMPT) if m.strip())
                    self._events.extend(parse_line(line, now))
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _hang_up_all(self, proc: subprocess.Popen[str], timeout: float) -> None:
        """``terminate all`` and wait (briefly) for the calls to close, so the far ends get a
        BYE before linphonec quits."""
        if not self.open_calls():
            return
        self._write(proc, "terminate all")
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.open_calls() and proc.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(min(left, 0.5))

    def _error(self, what: str) -> LinphoneError:
        return LinphoneError(f"{self!r}: {what}\n--- linphonec output (tail)\n{self.log_tail()}")
