"""The worker under ``cti run --lab`` (./run.sh) runs as the unprivileged ``cti`` account.

``./run.sh`` needs root for the packages and the lab (a rootfs, chroot, namespaces); the worker
does not: it parses JSON from the network, serves the REST API and writes the call history. So
the root process starts the lab and then the worker as a child under the host system account
``cti`` (made on first use, like the lab Asterisk's ``cti-asterisk``), owning its data directory
(mode 0700: the history and the API token are nobody else's business).

The account must be able to read what the worker runs: the interpreter, its standard library,
the virtual environment and the project. A clone under ``/root`` (mode 0700) is not readable
by any other account; :func:`first_blocked` finds the folder that stops it, and the worker
then runs as root with a warning that says which folder and what to do (decision 0012).
``CTI_WORKER_USER=root`` asks for root outright; another account name for that account.
"""

from __future__ import annotations

import os
import stat
import sys
import sysconfig
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import stasis_app
from stasis_app.lab.rootfs import host_account

WORKER_ACCOUNT: Final = "cti"
READ: Final = 4
EXECUTE: Final = 1


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    uid: int
    gid: int

    @property
    def is_root(self) -> bool:
        return self.uid == 0


def permits(st: os.stat_result, uid: int, gids: frozenset[int], bits: int) -> bool:
    """Whether ``uid`` (in ``gids``) has ``bits`` (READ|EXECUTE) on the file ``st`` describes,
    as the kernel decides it: the owner's bits, else the group's, else the others' (never a
    union of them); root passes."""
    if uid == 0:
        return True
    if st.st_uid == uid:
        granted = (st.st_mode >> 6) & 7
    elif st.st_gid in gids:
        granted = (st.st_mode >> 3) & 7
    else:
        granted = st.st_mode & 7
    return granted & bits == bits


def first_blocked(
    path: Path,
    uid: int,
    gids: frozenset[int],
    *,
    stat_of: Callable[[str], os.stat_result] = os.stat,
) -> Path | None:
    """The first of ``path``'s folders that ``uid`` cannot enter, or ``path`` itself if it
    cannot read it (and enter it, for a folder); None if nothing stops it."""
    resolved = Path(os.path.realpath(path))
    for folder in reversed(resolved.parents):
        try:
            st = stat_of(str(folder))
        except FileNotFoundError:
            return None  # made later by root (mode 0755), like a new data directory
        if not permits(st, uid, gids, EXECUTE):
            return folder
    try:
        st = stat_of(str(resolved))
    except FileNotFoundError:
        return None
    need = READ | EXECUTE if stat.S_ISDIR(st.st_mode) else READ
    if not permits(st, uid, gids, need):
        return resolved
    return None


def what_the_worker_reads(ivr_file: Path, data_dir: Path) -> list[Path]:
    """The interpreter, its standard library, the environment's packages, the project's code,
    the IVR definition's folder, and the way to the data directory (which it is given)."""
    return [
        Path(sys.executable),
        Path(sysconfig.get_path("stdlib")),
        Path(sysconfig.get_path("purelib")),
        Path(stasis_app.__file__).parent,
        ivr_file.parent,
        data_dir.parent,
    ]


def account_for(name: str) -> Account:
    """The account the worker runs as: ``root``, or a host system account (made if missing)."""
    if name == "root":
        return Account("root", 0, 0)
    uid, gid = host_account(name, "cti worker")
    return Account(name, uid, gid)


def blocked_for(account: Account, paths: Iterable[Path]) -> Path | None:
    gids = frozenset(os.getgrouplist(account.name, account.gid))
    for path in paths:
        blocked = first_blocked(path, account.uid, gids)
        if blocked is not None:
            return blocked
    return None


def hand_over(data_dir: Path, account: Account) -> None:
    """Make ``data_dir`` the account's: created if missing, mode 0700, and every file in it
    (an earlier root-run worker's history, the lab's API token) re-owned to it and closed to
    group and others (the worker creates its files with umask 077)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for folder, dirs, files in os.walk(data_dir):
        for name in (*dirs, *files):
            path = os.path.join(folder, name)
            os.lchown(path, account.uid, account.gid)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode):
                os.chmod(path, stat.S_IMODE(mode) & 0o700)
    os.chown(data_dir, account.uid, account.gid)
    data_dir.chmod(0o700)


__all__ = [
    "WORKER_ACCOUNT",
    "Account",
    "account_for",
    "blocked_for",
    "first_blocked",
    "hand_over",
    "permits",
    "what_the_worker_reads",
]
