"""Run one SIPp scenario from tests/sipp/ against the lab Asterisk and report what happened.

SIPp is bound to 127.0.0.1 on a free port, runs one call (``-m 1``) without reading stdin and
with a global timeout, and traces every SIP message it sent and received. Its exit code alone
proves little (SIPp is satisfied by whatever the scenario expects): tests assert on Asterisk's
side too.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.sipkit.ports import HOST, free_port

SCENARIOS = Path(__file__).resolve().parent.parent / "sipp"
"""Directory of the SIPp scenarios (tests/sipp/*.xml)."""

ASTERISK = f"{HOST}:5060"


@dataclass(frozen=True)
class SippResult:
    """Outcome of one SIPp run."""

    scenario: str
    command: tuple[str, ...]
    returncode: int
    """0: every call succeeded; 1: at least one failed; 97/99: SIPp itself stopped or erred."""
    stdout: str
    stderr: str
    messages: str
    """The SIP messages SIPp sent and received (-trace_msg), for failure reports."""
    errors: str
    """Unexpected messages (-trace_err)."""
    local_port: int

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def received_status_codes(self) -> list[int]:
        """Status codes of the responses SIPp received, in order."""
        codes = []
        blocks = self.messages.split("message received")[1:]
        for block in blocks:
            for line in block.splitlines():
                if line.startswith("SIP/2.0 "):
                    codes.append(int(line.split()[1]))
                    break
        return codes

    def call_ids(self) -> list[str]:
        """Call-IDs of the messages SIPp sent (Asterisk's security log names them SessionID)."""
        found: list[str] = []
        for block in self.messages.split("message sent")[1:]:
            for line in block.splitlines():
                if line.lower().startswith("call-id:"):
                    call_id = line.split(":", 1)[1].strip()
                    if call_id not in found:
                        found.append(call_id)
                    break
        return found

    def describe(self) -> str:
        """Everything worth seeing when an assertion about this run fails."""
        return (
            f"$ {' '.join(self.command)}\nexit code {self.returncode}\n"
            f"--- stderr\n{self.stderr[-3000:]}\n--- errors\n{self.errors[-3000:]}\n"
            f"--- messages\n{self.messages[-8000:]}"
        )


def scenario_path(name: str) -> Path:
    """Path of tests/sipp/<name>.xml; a missing scenario is an error naming the directory."""
    path = SCENARIOS / f"{name}.xml"
    if not path.is_file():
        raise FileNotFoundError(f"no SIPp scenario {name!r} in {SCENARIOS}")
    return path


def run_sipp(
    scenario: str,
    *,
    service: str,
    user: str | None = None,
    password: str | None = None,
    keys: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    local_port: int | None = None,
    target: str = ASTERISK,
    transport: str = "u1",
    timeout: float = 15.0,
) -> SippResult:
    """Run tests/sipp/<scenario>.xml once and wait for it to end.

    ``service`` is the request-URI user (``-s``), ``user``/``password`` answer digest challenges
    (``-au``/``-ap``), ``keys`` fill ``[keyword]`` fields (``-key``; defaults: ``expires`` 300,
    ``caller`` = ``user`` or ``anonymous``). ``local_port`` lets two runs
    share a SIP address (register, then unregister the same contact); by default a free port is
    used. SIPp gives up after ``timeout`` seconds; the process is killed if it outlives that.
    """
    path = scenario_path(scenario)
    port = local_port if local_port is not None else free_port(udp=True, tcp=True)
    # SIPp binds media at -mp .. -mp+3 (audio and video RTP/RTCP): never over its SIP port.
    media_port = free_port(span=4, udp=True, tcp=False, avoid=(port,))
    with tempfile.TemporaryDirectory(prefix=f"sipp-{scenario}-") as tmp:
        messages = Path(tmp) / "messages.log"
        errors = Path(tmp) / "errors.log"
        command = [
            "sipp",
            target,
            "-sf",
            str(path),
            "-s",
            service,
            "-i",
            HOST,
            "-p",
            str(port),
            "-mi",
            HOST,
            "-mp",
            str(media_port),
            "-t",
            transport,
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            f"{max(1, round(timeout))}s",
            "-timeout_error",
            "-trace_msg",
            "-message_file",
            str(messages),
            "-trace_err",
            "-error_file",
            str(errors),
        ]
        if user is not None:
            command += ["-au", user]
        if password is not None:
            command += ["-ap", password]
        # Keys the scenarios use, so SIPp never stops at an "Unsupported keyword".
        defaults = {"expires": "300", "caller": user or "anonymous"}
        for key, value in {**defaults, **(keys or {})}.items():
            command += ["-key", key, value]
        command += list(extra_args)
        try:
            done = subprocess.run(
                command,
                cwd=tmp,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout + 10.0,
                check=False,
            )
            returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as exc:  # run() has killed it already
            returncode = -9
            stdout = _text(exc.stdout)
            stderr = _text(exc.stderr) + f"\n(killed after {timeout + 10.0} s)"
        return SippResult(
            scenario=scenario,
            command=tuple(command),
            returncode=returncode,
            stdout=stdout,
            stderr=stderr,
            messages=_read(messages),
            errors=_read(errors),
            local_port=port,
        )


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")
