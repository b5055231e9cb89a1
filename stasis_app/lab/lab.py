"""Start, stop and inspect the lab Asterisk running in the cached sid rootfs.

Asterisk starts in PID and mount namespaces of its own (``unshare``): it sees only its own
processes in a ``/proc`` mounted for it alone, and that mount never appears on the host. The
pidfile holds Asterisk's pid as the host sees it. Every operation is idempotent: ``up`` on a
running lab just reports it, ``down`` on a stopped lab only makes sure no process and no mount
is left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from stasis_app.errors import LabError
from stasis_app.lab import rootfs as fs
from stasis_app.settings import LAB_DIR, LAB_MIRROR, REPO_ROOT

Progress = Callable[[str], None]

# (port, protocol, what it is). SIP on every interface; ARI/HTTP on loopback (http.conf).
PORTS = ((5060, "udp", "SIP"), (5060, "tcp", "SIP"), (8088, "tcp", "ARI/HTTP"))
BOOT_TIMEOUT = 60.0


@dataclass(frozen=True)
class LabPaths:
    base: Path

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> LabPaths:
        return cls(LAB_DIR.value(environ))

    @property
    def rootfs(self) -> Path:
        return self.base / "rootfs"

    @property
    def pidfile(self) -> Path:
        return self.base / "asterisk.pid"

    @property
    def console_log(self) -> Path:
        return self.base / "asterisk-console.log"

    @property
    def log_dir(self) -> Path:
        return self.rootfs / "var/log/asterisk"


@dataclass(frozen=True)
class LabStatus:
    running: bool
    pid: int | None
    version: str | None
    uptime: str | None
    rootfs_built: bool


class Lab:
    def __init__(
        self,
        paths: LabPaths,
        *,
        config_dir: Path = REPO_ROOT / "asterisk" / "etc",
        progress: Progress = print,
    ) -> None:
        self.paths = paths
        self.config_dir = config_dir
        self.progress = progress
        self._launcher: int | None = None  # the unshare process this object started, if any

    # ------------------------------------------------------------------------------ lifecycle
    def up(self, *, install_prompts: Callable[[Path], None] | None = None) -> LabStatus:
        """Build (once), configure and start Asterisk; return when it is fully booted."""
        fs.require_root()
        if self.pid() is not None:
            self.progress(f"lab Asterisk already running (pid {self.pid()})")
            return self.status()
        started = time.monotonic()
        fs.build(self.paths.rootfs, self.progress, mirror=LAB_MIRROR.optional())
        built = time.monotonic()
        fs.prepare(self.paths.rootfs, self.config_dir)
        if install_prompts is not None:
            install_prompts(self.paths.rootfs)
        self._check_ports_free()
        fs.unmount_proc(self.paths.rootfs)  # a host /proc left there by an older cti
        pid = self._spawn()
        self._wait_booted(pid)
        self._verify_modules()
        booted = time.monotonic()
        self.progress(
            f"lab Asterisk up (pid {pid}): rootfs {built - started:.1f} s, "
            f"start {booted - built:.2f} s"
        )
        return self.status()

    def down(self, *, timeout: float = 15.0) -> None:
        """Stop Asterisk (gracefully first), end every process in the rootfs, unmount /proc."""
        fs.require_root()
        pid = self.pid()
        if pid is not None:
            self.progress(f"stopping lab Asterisk (pid {pid})")
            # "gracefully" would wait for every call to end; the lab is for tests, so in-flight
            # calls are hung up (their phones get a BYE) and Asterisk shuts its modules down.
            self._rx("core stop now", timeout=5.0, check=False)
            if not _wait_gone(pid, timeout):
                os.kill(pid, signal.SIGTERM)
                if not _wait_gone(pid, 5.0):
                    os.kill(pid, signal.SIGKILL)
                    _wait_gone(pid, 5.0)
        for stray in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(stray, signal.SIGKILL)
            _wait_gone(stray, 5.0)
        self._reap_launcher()
        fs.unmount_proc(self.paths.rootfs)  # only an older cti's host mount can be there
        self.paths.pidfile.unlink(missing_ok=True)

    def status(self) -> LabStatus:
        pid = self.pid()
        version = uptime = None
        if pid is not None:
            version = self._rx("core show version", check=False).strip() or None
            uptime = self._rx("core show uptime", check=False).strip() or None
        return LabStatus(pid is not None, pid, version, uptime, fs.is_built(self.paths.rootfs))

    def cli(self, command: str, *, timeout: float = 20.0) -> str:
        """Run one Asterisk CLI command (``asterisk -rx``) and return its output."""
        fs.require_root()
        if self.pid() is None:
            raise LabError("the lab Asterisk is not running: start it with `cti lab up`")
        return self._rx(command, timeout=timeout)

    def pid(self) -> int | None:
        try:
            pid = int(self.paths.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            root = os.readlink(f"/proc/{pid}/root")
            with open(f"/proc/{pid}/stat") as stat:
                zombie = stat.read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return None
        # The pid must still be *our* Asterisk: pids are reused after a reboot or a crash.
        if zombie or Path(root) != self.paths.rootfs.resolve():
            return None
        return pid

    # ------------------------------------------------------------------------------- helpers
    def _spawn(self) -> int:
        """Start Asterisk in the rootfs, in new PID and mount namespaces; return its host pid
        (also written to the pidfile).

        ``unshare --pid --fork --mount-proc`` makes Asterisk pid 1 of a namespace whose /proc,
        mounted at the rootfs's /proc in a private mount namespace, shows no host process: a
        compromised Asterisk cannot read or signal the host's processes through it, and the
        host's mount table never carries it. ``--kill-child`` ends Asterisk if ``unshare``
        is killed. posix_spawn rather than Popen: Asterisk outlives this object (``cti lab up``
        returns while it runs), and a Popen dropped with its child alive warns at garbage
        collection. ``unshare`` is reaped in ``_reap_launcher``.
        """
        self.paths.base.mkdir(parents=True, exist_ok=True)
        rootfs = str(self.paths.rootfs)
        argv = [
            "unshare",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount",
            "--propagation=private",
            f"--mount-proc={rootfs}/proc",
            "chroot",
            rootfs,
            "/usr/sbin/asterisk",
            "-f",  # stay in the foreground: this pid is Asterisk's for its whole life
            "-n",  # no ANSI colours in the console log
            "-U",
            "asterisk",
            "-G",
            "asterisk",
        ]
        unshare = shutil.which("unshare") or "/usr/bin/unshare"
        log_flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        self._launcher = os.posix_spawn(
            unshare,
            argv,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, str(self.paths.console_log), log_flags, 0o644),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ],
            setsid=True,  # Ctrl-C in the terminal is ours to handle, not Asterisk's
        )
        pid = self._namespace_init(self._launcher)
        self.paths.pidfile.write_text(f"{pid}\n")
        return pid

    def _namespace_init(self, launcher: int) -> int:
        """The host pid of ``unshare``'s child (Asterisk, pid 1 inside), once it has forked."""
        deadline = time.monotonic() + 5.0
        children = Path(f"/proc/{launcher}/task/{launcher}/children")
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                found = children.read_text().split()
                if found:
                    return int(found[0])
            code = _exit_code(launcher)
            if code is not None:
                raise LabError(
                    f"unshare exited ({code}) before starting Asterisk:\n{self._console_tail()}"
                )
            time.sleep(0.005)
        raise LabError("unshare did not start Asterisk within 5 s")

    def _reap_launcher(self) -> None:
        """Collect ``unshare`` once Asterisk has ended (it exits with Asterisk's status)."""
        launcher, self._launcher = self._launcher, None
        if launcher is not None:
            _wait_gone(launcher, 5.0)

    def _wait_booted(self, pid: int) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            # unshare exits with Asterisk's status; Asterisk itself is not our child.
            launcher = self._launcher
            code = _exit_code(pid) if launcher is None else _exit_code(launcher)
            if code is not None:
                self._launcher = None
                self.paths.pidfile.unlink(missing_ok=True)
                fs.unmount_proc(self.paths.rootfs)
                raise LabError(
                    f"Asterisk exited during start-up (exit code {code}). Its own words:\n"
                    f"{self._console_tail()}"
                )
            out = self._rx("core waitfullybooted", timeout=5.0, check=False)
            if "fully booted" in out:
                return
            time.sleep(0.2)
        raise LabError(
            f"Asterisk (pid {pid}) did not finish booting within {BOOT_TIMEOUT:.0f} s:\n"
            f"{self._console_tail()}"
        )

    def _verify_modules(self) -> None:
        """Every module modules.conf asks for must be Running; else stop and show why."""
        wanted = set()
        for line in (self.config_dir / "modules.conf").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("load", "require") and value.strip():
                wanted.add(value.split(";", 1)[0].strip())
        running = set()
        for line in self._rx("module show", timeout=10.0).splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[-2] == "Running":
                running.add(fields[0])
        missing = sorted(wanted - running)
        if missing:
            log = self._console_tail(200).splitlines()
            why = [ln for ln in log if any(m in ln for m in missing)] or log[-20:]
            self.down()
            raise LabError(
                f"Asterisk started without module(s) {', '.join(missing)}. Its own words:\n"
                + "\n".join(why)
            )

    def _console_tail(self, lines: int = 30) -> str:
        try:
            text = self.paths.console_log.read_text(errors="replace")
        except FileNotFoundError:
            return "(no console output)"
        return "\n".join(text.splitlines()[-lines:]) or "(no console output)"

    def _rx(self, command: str, *, timeout: float = 20.0, check: bool = True) -> str:
        try:
            done = subprocess.run(
                ["chroot", str(self.paths.rootfs), "/usr/sbin/asterisk", "-rx", command],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            if check:
                raise LabError(f"asterisk -rx {command!r} did not answer in {timeout} s") from None
            return ""
        if check and done.returncode != 0:
            raise LabError(f"asterisk -rx {command!r} failed: {done.stderr or done.stdout}")
        return done.stdout

    def _check_ports_free(self, *, grace: float = 3.0) -> None:
        """Every port Asterisk needs must be free; one just released gets ``grace`` seconds."""
        deadline = time.monotonic() + grace
        while True:
            try:
                self._probe_ports()
            except LabError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
            else:
                return

    def _probe_ports(self) -> None:
        for port, proto, what in PORTS:
            kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
            host = "127.0.0.1" if port == 8088 else "0.0.0.0"  # noqa: S104 - probing, not serving
            with socket.socket(socket.AF_INET, kind) as probe:
                if proto == "tcp":
                    # As Asterisk does: a port left in TIME_WAIT by the last run is not "in use".
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((host, port))
                except OSError as exc:
                    if exc.errno != errno.EADDRINUSE:
                        raise
                    raise LabError(
                        f"port {port}/{proto} ({what}) is already in use{_holder(port, proto)}: "
                        "stop that program (or the other Asterisk) and try again"
                    ) from None

    def processes(self) -> list[int]:
        root = self.paths.rootfs.resolve()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if Path(os.readlink(entry / "root")) == root:
                    found.append(int(entry.name))
        return found


def _exit_code(pid: int) -> int | None:
    """The exit code of our child ``pid`` if it has ended (reaping it), else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None if Path(f"/proc/{pid}").exists() else -1
    return os.waitstatus_to_exitcode(status) if done == pid else None


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reaped, _ = os.waitpid(pid, os.WNOHANG)
            if reaped == pid:
                return True
        except ChildProcessError:
            pass  # not our child: fall back to probing /proc
        if not Path(f"/proc/{pid}").exists():
            return True
        # A zombie leader whose other threads are still exiting still holds its sockets (SIP
        # 5060 would look busy to the next start): gone means no thread is left.
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as stat:
            zombie = stat.read().rsplit(")", 1)[1].split()[0] == "Z"
            if zombie and len(list(Path(f"/proc/{pid}/task").iterdir())) <= 1:
                return True
        time.sleep(0.05)
    return False


def _holder(port: int, proto: str) -> str:
    """' by <program> (pid N)' when ss can tell who holds the port, else ''."""
    flag = "-u" if proto == "udp" else "-t"
    try:
        out = subprocess.run(
            ["ss", "-Hlnp", flag, f"sport = :{port}"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    if 'users:(("' in out:
        name = out.split('users:(("', 1)[1].split('"', 1)[0]
        pid = out.split("pid=", 1)[1].split(",", 1)[0] if "pid=" in out else "?"
        return f" by {name} (pid {pid})"
    return ""
