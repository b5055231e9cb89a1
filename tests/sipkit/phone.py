"""A real SIP phone for tests: one baresip 1.0.0 process, driven over its ctrl_tcp socket.

Each :class:`Phone` has its own config directory, SIP port (baresip also takes SIP port + 1 for
TLS), control port and RTP range, all on 127.0.0.1. It registers over UDP to the lab Asterisk,
sends a WAV file as its microphone and records what it hears:

* audio out: ``audio_source aufile,<wav>``. baresip hangs up when that file ends, so the phone
  sends a copy padded with silence (``source_padding``).
* audio in: the ``sndfile`` filter writes, per call, ``dump-<time>-dec.wav`` (what was decoded
  from the far end, i.e. RECEIVED) and ``dump-<time>-enc.wav`` (what was SENT). The WAV header is
  completed when the call ends: read the recording after ``CALL_CLOSED``.
* control: ctrl_tcp takes JSON netstrings ``{"command", "params", "token"}`` (the menu module's
  commands: ``uanew``, ``dial``, ``accept``, ``hangup``, ``sndcode``, ``quit``) and sends back a
  response per command plus every UA event (``REGISTER_OK``, ``CALL_INCOMING``,
  ``CALL_RINGING``, ``CALL_ESTABLISHED``, ``CALL_DTMF_START``, ``CALL_CLOSED`` ...).

The account is added with ``uanew`` after the control socket is connected, so the phone's first
``REGISTER_OK`` cannot be missed. DTMF goes out as RFC 4733 events (baresip sends no other kind).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.sipkit import audio
from tests.sipkit.ports import HOST, free_port

BARESIP = "baresip"
MODULES = Path("/usr/lib/baresip/modules")
REGISTRAR = f"{HOST}:5060"
_RTP_PORTS = "30000-31999"  # away from Asterisk's 10000-20000 and the ephemeral range


class PhoneError(RuntimeError):
    """baresip did not do what was asked (the phone's name and its log tail are included)."""


@dataclass(frozen=True)
class PhoneEvent:
    """One event baresip reported on its control socket."""

    type: str
    """REGISTER_OK, REGISTER_FAIL, CALL_INCOMING, CALL_RINGING, CALL_ESTABLISHED, CALL_CLOSED..."""
    param: str
    """Event detail: the peer URI, the reason a call closed, the DTMF digit received..."""
    call_id: str | None
    peer_uri: str | None
    received_at: float = field(compare=False)
    """time.monotonic() when the event was read."""
    raw: dict[str, Any] = field(compare=False, repr=False)


class Phone:
    """A baresip softphone registered as ``user`` (a context manager: ``with Phone(...) as p``).

    ``workdir`` must be a directory the phone may own (a ``tmp_path``). ``audio_source`` is an
    8 kHz mono s16 WAV played into every call (silence if None). ``auto_answer`` makes the phone
    pick up incoming calls itself; otherwise call :meth:`answer`.
    """

    def __init__(
        self,
        user: str,
        password: str,
        *,
        workdir: Path,
        audio_source: Path | None = None,
        auto_answer: bool = False,
        register: bool = True,
        registrar: str = REGISTRAR,
        source_padding: float = 120.0,
        sip_port: int = 0,
        ctrl_port: int = 0,
    ) -> None:
        self.user = user
        self.password = password
        self.registrar = registrar
        self.auto_answer = auto_answer
        self.register = register
        self.workdir = workdir
        self.recordings = workdir / "recordings"
        self.log_path = workdir / "baresip.log"
        self.sip_port = sip_port or free_port(span=2)
        # Not bound until start: the control port must not be one of the SIP ports.
        self.ctrl_port = ctrl_port or free_port(udp=False, avoid=(self.sip_port, self.sip_port + 1))
        self._source = audio_source
        self._padding = source_padding
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._cond = threading.Condition()
        self._events: list[PhoneEvent] = []
        self._taken: set[int] = set()
        self._responses: dict[str, dict[str, Any]] = {}
        self._tokens = itertools.count(1)
        self._send_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Phone({self.user!r}, sip_port={self.sip_port}, ctrl_port={self.ctrl_port})"

    # ---------------------------------------------------------------------------- lifecycle
    def start(self, *, timeout: float = 10.0) -> Phone:
        """Start baresip, connect to its control socket and add (and register) the account."""
        if self._proc is not None:
            raise PhoneError(f"{self!r} is already started")
        self._write_config()
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [BARESIP, "-4", "-f", str(self.workdir / "baresip")],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._connect(timeout)
            params = f"<sip:{self.user}@{self.registrar};transport=udp>;auth_pass={self.password}"
            params += f";answermode={'auto' if self.auto_answer else 'manual'}"
            params += ";regint=300" if self.register else ";regint=0"
            self.command("uanew", params)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, *, timeout: float = 5.0) -> None:
        """Quit baresip (hanging up its calls); kill it if it does not go. Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None and self._sock is not None:
            with contextlib.suppress(OSError, PhoneError):
                self._send("quit", "")
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        if self._reader is not None:
            self._reader.join(timeout)

    def __enter__(self) -> Phone:
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
    def command(self, name: str, params: str = "", *, timeout: float = 5.0) -> str:
        """Send one ctrl_tcp command, wait for its response and return its ``data``."""
        token = self._send(name, params)
        deadline = time.monotonic() + timeout
        with self._cond:
            while token not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or (not self._cond.wait(left) and token not in self._responses):
                    raise self._error(f"no response to {name!r} within {timeout} s")
            response = self._responses.pop(token)
        if not response.get("ok"):
            raise self._error(f"{name} {params!r} failed: {response.get('data')!r}")
        return str(response.get("data", ""))

    def dial(self, uri: str) -> None:
        """Start a call to ``uri``; an extension alone (``"7777"``) means the registrar's."""
        self.command("dial", uri if ":" in uri else f"sip:{uri}@{self.registrar.split(':')[0]}")

    def call(self, uri: str, *, timeout: float = 10.0) -> PhoneEvent:
        """Dial ``uri`` and wait until the call is answered (fails if it closes first)."""
        self.dial(uri)
        return self.wait_event("CALL_ESTABLISHED", timeout, fail_on=("CALL_CLOSED",))

    def answer(self) -> None:
        """Answer the ringing incoming call."""
        self.command("accept")

    def hangup(self) -> None:
        """Hang up the current call."""
        self.command("hangup")

    def send_dtmf(self, digits: str, *, interval: float = 0.25) -> None:
        """Send ``digits`` (0-9, *, #, A-D) as RFC 4733 events, one every ``interval`` seconds.

        One ``sndcode`` per digit: several digits in one command go out back to back with almost
        no duration, which a receiver may merge or drop. The interval paces the digits like a
        person would; it is not a wait for anything.
        """
        for i, digit in enumerate(digits):
            if i:
                time.sleep(interval)
            self.command("sndcode", digit)

    # ------------------------------------------------------------------------------- events
    def wait_registered(self, timeout: float = 10.0) -> PhoneEvent:
        """Wait for REGISTER_OK (fails at once on REGISTER_FAIL)."""
        return self.wait_event("REGISTER_OK", timeout, fail_on=("REGISTER_FAIL",))

    def wait_event(
        self, kind: str, timeout: float = 10.0, *, fail_on: tuple[str, ...] = ()
    ) -> PhoneEvent:
        """The oldest event of type ``kind`` not returned before; wait up to ``timeout`` for it.

        Each event is returned once, so successive waits walk through a call (two
        ``CALL_DTMF_START`` waits get two digits). Events of other types are kept for their own
        waits. An unreturned event of a type in ``fail_on`` that comes first raises PhoneError.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, event in enumerate(self._events):
                    if i in self._taken:
                        continue
                    if event.type in fail_on:
                        self._taken.add(i)
                        raise self._error(f"waiting for {kind}, got {event.type} {event.param!r}")
                    if event.type == kind:
                        self._taken.add(i)
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [e.type for e in self._events]
                    raise self._error(f"no {kind} within {timeout} s (events so far: {seen})")
                if not self.running:
                    raise self._error(f"baresip exited while waiting for {kind}")
                self._cond.wait(min(left, 0.5))

    def events(self) -> list[PhoneEvent]:
        """Every event received so far, oldest first."""
        with self._cond:
            return list(self._events)

    # -------------------------------------------------------------------------------- audio
    def received_audio(self) -> Path:
        """WAV of what the phone received in its latest call (complete once the call closed)."""
        return self._recording("dec")

    def received_seconds(self) -> float:
        """How much audio the latest call has received so far (0.0 before any); poll this to
        wait until a prompt or an echo has had time to arrive."""
        try:
            size = self._recording("dec").stat().st_size
        except PhoneError:
            return 0.0
        return max(0, size - 44) / (2 * audio.RATE)

    def sent_audio(self) -> Path:
        """WAV of what the phone sent in its latest call."""
        return self._recording("enc")

    def log_tail(self, lines: int = 40) -> str:
        """The end of baresip's own output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no output)"
        return "\n".join(text.replace("\r", "\n").splitlines()[-lines:])

    # ------------------------------------------------------------------------------ private
    def _recording(self, direction: str) -> Path:
        # sndfile names files by wall-clock second: two calls in one second share a file.
        found = sorted(
            self.recordings.glob(f"dump-*-{direction}.wav"), key=lambda p: p.stat().st_mtime
        )
        if not found:
            raise self._error(f"no {direction} recording in {self.recordings}")
        return found[-1]

    def _write_config(self) -> None:
        conf = self.workdir / "baresip"
        conf.mkdir(parents=True, exist_ok=True)
        self.recordings.mkdir(parents=True, exist_ok=True)
        source = self.workdir / "source.wav"
        samples = audio.read_wav(self._source) if self._source else audio.silence(0)
        audio.write_wav(source, audio.padded(samples, after=self._padding))
        settings = {
            "poll_method": "epoll",
            "sip_listen": f"{HOST}:{self.sip_port}",
            "net_interface": HOST,
            "call_local_timeout": "120",
            "call_max_calls": "4",
            "audio_player": "alsa,null",
            "audio_alert": "alsa,null",
            "audio_source": f"aufile,{source}",
            "ausrc_srate": str(audio.RATE),
            "auplay_srate": str(audio.RATE),
            "ausrc_channels": "1",
            "auplay_channels": "1",
            "ausrc_format": "s16",
            "auplay_format": "s16",
            "auenc_format": "s16",
            "audec_format": "s16",
            "audio_buffer": "20-160",
            "rtp_ports": _RTP_PORTS,
            "rtcp_mux": "no",
            "jitter_buffer_delay": "5-10",
            "rtp_stats": "no",
            "statmode_default": "off",
            "module_path": str(MODULES),
            "ctrl_tcp_listen": f"{HOST}:{self.ctrl_port}",
            "snd_path": str(self.recordings),
        }
        lines = [f"{key}\t{value}" for key, value in settings.items()]
        lines += [f"module\t{m}.so" for m in ("g711", "sndfile", "aufile", "alsa")]
        lines += ["module_app\tmenu.so", "module_app\tctrl_tcp.so"]
        (conf / "config").write_text("\n".join(lines) + "\n")
        (conf / "accounts").write_text("")  # the account comes with `uanew` (see start)
        (conf / "contacts").write_text("")

    def _connect(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is None or self._proc.poll() is not None:
                raise self._error("baresip exited during start-up")
            try:
                self._sock = socket.create_connection((HOST, self.ctrl_port), timeout=1.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise self._error(f"ctrl_tcp port {self.ctrl_port} not open") from None
                time.sleep(0.05)  # polling for the port to open
        self._sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, name=f"{self!r}", daemon=True)
        self._reader.start()

    def _send(self, name: str, params: str) -> str:
        if self._sock is None:
            raise self._error("not connected")
        token = str(next(self._tokens))
        body = json.dumps({"command": name, "params": params, "token": token}).encode()
        with self._send_lock:
            self._sock.sendall(b"%d:%s," % (len(body), body))
        return token

    def _read_loop(self) -> None:
        assert self._sock is not None
        buffer = b""
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._cond.notify_all()
                return
            buffer += chunk
            while True:
                colon = buffer.find(b":")
                if colon <= 0 or len(buffer) < colon + int(buffer[:colon]) + 2:
                    break
                size = int(buffer[:colon])
                body, buffer = buffer[colon + 1 : colon + 1 + size], buffer[colon + 2 + size :]
                self._dispatch(json.loads(body))

    def _dispatch(self, message: dict[str, Any]) -> None:
        with self._cond:
            if message.get("event"):
                self._events.append(
                    PhoneEvent(
                        type=str(message.get("type", "")),
                        param=str(message.get("param", "")),
                        call_id=message.get("id"),
                        peer_uri=message.get("peeruri"),
                        received_at=time.monotonic(),
                        raw=message,
                    )
                )
            elif message.get("response"):
                self._responses[str(message.get("token"))] = message
            self._cond.notify_all()

    def _error(self, what: str) -> PhoneError:
        return PhoneError(f"{self!r}: {what}\n--- baresip output (tail)\n{self.log_tail()}")
