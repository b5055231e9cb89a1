"""A peer to measure the worker against: the bench IVR written with Node's ``ari-client``.

``bench/peers/node-ari-client/`` holds the application (``ivr.js``, written as that library's own
examples write one) with a pinned ``package.json`` and its lock file. The bench installs what it
needs (Debian's ``nodejs`` and ``npm`` if missing, then ``npm ci`` when ``node_modules`` does not
match the lock) and runs ``node ivr.js`` as its own Stasis application, reached by extension
:data:`NODE_SERVICE` of the bench context (answered by the dialplan, like the worker's 500).
When any of that fails it says why in one line and the run goes on without the peer.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from bench.metrics import cpu_seconds
from bench.sipp import Target
from stasis_app.lab.credentials import lab_environ

PEER_DIR = Path(__file__).parent / "peers" / "node-ari-client"
NODE_APP = "cti-node-peer"
NODE_SERVICE = "700"
READY = "ready: "  # the line ivr.js prints once its events websocket is open
# Written into node_modules after a good ``npm ci``: the hash of the manifest and lock it installed.
STAMP = ".cti-installed"


def lock_digest(peer_dir: Path) -> str:
    """What ``node_modules`` must have been installed from: package.json and its lock."""
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((peer_dir / name).read_bytes())
    return digest.hexdigest()


def needs_install(stamp: str | None, digest: str) -> bool:
    """``node_modules`` is missing (no stamp) or was installed from another lock (stale)."""
    return stamp is None or stamp.strip() != digest


def peer_environ(base: Mapping[str, str], app: str = NODE_APP) -> dict[str, str]:
    """The environment of ``node ivr.js``: the lab's ARI URL and credentials, as the worker
    gets them (:func:`lab_environ` without the caller's ``CTI_`` settings), under the names the
    peer reads, and its own app name."""
    env = {k: v for k, v in base.items() if not k.startswith("CTI_")}
    # A token of its own keeps lab_environ from reading or making the lab's: the peer has no API.
    lab = lab_environ({"CTI_API_TOKEN": "unused"})
    env |= {
        "ARI_URL": lab["CTI_ARI_URL"],
        "ARI_USERNAME": lab["CTI_ARI_USER"],
        "ARI_PASSWORD": lab["CTI_ARI_PASSWORD"],
        "ARI_APP": app,
        "NODE_ENV": "production",
    }
    return env


def _say(line: str) -> None:
    print(f"bench: {line}", file=sys.stderr, flush=True)


def ensure_node(say: Callable[[str], None] = _say) -> str | None:
    """``node`` and ``npm`` on PATH, installed from Debian's archive if missing (as
    scripts/bootstrap.sh installs SIPp); what went wrong if that failed, else None."""
    if shutil.which("node") and shutil.which("npm"):
        return None
    say("installing Debian packages for the node peer: nodejs npm")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nodejs", "npm"],
    ):
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        except OSError as exc:
            return f"{' '.join(command[:2])} could not run ({exc})"
        if done.returncode != 0:
            return f"{' '.join(command[:2])} failed: {_last_line(done.stderr)}"
    if not (shutil.which("node") and shutil.which("npm")):
        return "apt-get installed nodejs and npm, but node or npm is still not on PATH"
    return None


def _last_line(text: str) -> str:
    """The last line of a tool's error output that says something (npm ends with the path of
    its debug log, not with the reason)."""
    lines = [ln for ln in text.strip().splitlines() if "A complete log of this run" not in ln]
    return (lines or ["no message"])[-1]


def ensure_modules(peer_dir: Path = PEER_DIR, say: Callable[[str], None] = _say) -> str | None:
    """``npm ci --omit=dev`` into ``peer_dir`` unless its node_modules matches the lock; what
    went wrong if it failed, else None."""
    stamp_path = peer_dir / "node_modules" / STAMP
    digest = lock_digest(peer_dir)
    stamp = stamp_path.read_text() if stamp_path.exists() else None
    if not needs_install(stamp, digest):
        return None
    say(f"installing the node peer's packages (npm ci) in {peer_dir}")
    done = subprocess.run(
        ["npm", "ci", "--omit=dev", "--no-audit", "--no-fund"],
        cwd=peer_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return f"npm ci failed in {peer_dir}: {_last_line(done.stderr)}"
    stamp_path.write_text(digest + "\n")
    return None


class NodePeer:
    """``node ivr.js`` for the length of a run; its CPU is read like the worker's."""

    def __init__(self, work: Path, password: str, peer_dir: Path = PEER_DIR) -> None:
        self.work, self.peer_dir = work, peer_dir
        # Callers use the bench endpoint, like the dialplan target (its password is the run's).
        self.target = Target("node", NODE_SERVICE, "bench", password)
        self.log = work / "node-peer.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def prepare(cls, work: Path, password: str) -> NodePeer | str:
        """A peer ready to start, or why there is none (node or its packages missing)."""
        problem = ensure_node() or ensure_modules()
        return cls(work, password) if problem is None else problem

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self) -> float | None:
        """utime+stime of the node process, all threads; None once it has exited."""
        if not self.alive():
            return None
        try:
            return cpu_seconds(self.pid)
        except OSError:
            return None

    def start(self, timeout: float = 30.0) -> None:
        """Start ``node ivr.js`` (node itself, so the pid is the one to measure) and wait
        for its ready line; raises with the log's path if it exits or stays silent."""
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                ["node", "ivr.js"],
                cwd=self.peer_dir,
                env=peer_environ(os.environ),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if READY in self.log.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"the node peer exited ({self.proc.returncode}); see {self.log}")
            time.sleep(0.05)
        raise RuntimeError(f"the node peer was not ready within {timeout} s; see {self.log}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start_node_peer(work: Path, password: str) -> tuple[NodePeer | None, str]:
    """The peer installed if need be and started; or None and why not (said on stderr too):
    a run goes on without the peer rather than not at all."""
    peer = NodePeer.prepare(work, password)
    if isinstance(peer, NodePeer):
        try:
            peer.start()
        except RuntimeError as exc:
            peer.stop()
            peer = str(exc)
    if isinstance(peer, str):
        _say(f"no node peer in this run: {peer}")
        return None, peer
    return peer, ""
