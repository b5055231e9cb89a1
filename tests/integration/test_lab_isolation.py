"""The lab touches nothing of the host's: its Asterisk runs as an account of its own, and what it
writes stays in the rootfs (decision 0011)."""

from __future__ import annotations

import contextlib
import os
import pwd
from pathlib import Path

import pytest

from stasis_app.lab import Lab
from stasis_app.lab.prompts import install_lab_prompts
from stasis_app.lab.rootfs import HOST_ACCOUNT, asterisk_ids
from stasis_app.settings import REPO_ROOT

pytestmark = pytest.mark.lab


def test_the_lab_asterisk_runs_as_the_hosts_cti_asterisk_account(lab: Lab) -> None:
    pid = lab.pid()
    assert pid is not None
    uid = os.stat(f"/proc/{pid}").st_uid
    account = pwd.getpwnam(HOST_ACCOUNT)
    assert uid == account.pw_uid  # not root, and ...
    assert pwd.getpwuid(uid).pw_name == HOST_ACCOUNT  # ... no other host account's uid
    assert asterisk_ids(lab.paths.rootfs) == (account.pw_uid, account.pw_gid)


def test_the_lab_writes_its_run_dir_in_the_rootfs_not_the_hosts(lab: Lab) -> None:
    """Debian's var/run links to /run: from the host that is the host's /run."""
    inside = lab.paths.rootfs / "run/asterisk"
    assert inside.is_dir()
    assert inside.stat().st_uid == pwd.getpwnam(HOST_ACCOUNT).pw_uid
    host = Path("/run/asterisk")
    if host.exists():  # a real Asterisk of the host's own may have one: never ours
        assert host.stat().st_uid != pwd.getpwnam(HOST_ACCOUNT).pw_uid


def test_the_lab_asterisk_sees_only_its_own_processes(lab: Lab) -> None:
    """Asterisk runs in PID and mount namespaces of its own: its /proc lists itself (pid 1
    there) and nothing of the host's, and that /proc is no mount of the host's."""
    pid = lab.pid()
    assert pid is not None
    own_proc = Path(f"/proc/{pid}/root/proc")
    assert sorted(p.name for p in own_proc.iterdir() if p.name.isdigit()) == ["1"]
    assert os.readlink(f"/proc/{pid}/ns/pid") != os.readlink("/proc/self/ns/pid")
    assert os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
    rootfs = str(lab.paths.rootfs.resolve())
    with open("/proc/self/mounts") as mounts:
        assert not [line for line in mounts if line.split()[1].startswith(rootfs)]
    assert not any((lab.paths.rootfs / "proc").iterdir())  # from the host: an empty folder


# Where a lab that leaked would write on the host: configuration, runtime state, logs, caches,
# temporary files. Walked before and after `down` + `up`: nothing there may differ.
HOST_ROOTS = ("/etc", "/run", "/var", "/tmp", "/dev/shm", "/opt", "/srv", "/home", "/usr/local")


def _snapshot(skip: tuple[Path, ...]) -> dict[str, int]:
    """Every path under HOST_ROOTS (but ``skip``) with its ctime for files, 0 for folders (a
    folder's own ctime moves whenever anyone makes and removes a temporary file in it)."""
    skipped = {str(p.resolve()) for p in skip}
    seen: dict[str, int] = {}
    for top in HOST_ROOTS:
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skipped]
            seen.update(dict.fromkeys((os.path.join(folder, d) for d in dirs), 0))
            for name in files:
                path = os.path.join(folder, name)
                with contextlib.suppress(OSError):
                    seen[path] = os.lstat(path).st_ctime_ns
    return seen


def _differences(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """Paths made, removed, or changed (content, owner, mode: ctime) between two snapshots."""
    made = [f"+ {p}" for p in after.keys() - before.keys()]
    removed = [f"- {p}" for p in before.keys() - after.keys()]
    changed = [f"~ {p}" for p in after.keys() & before.keys() if after[p] != before[p]]
    return sorted(made + removed + changed)


def test_lab_down_and_up_change_nothing_outside_the_lab(
    lab: Lab, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """From a stopped lab to a running one, the host's mount table is unchanged (no /proc of
    the lab's on the host) and no file outside the lab's folder, the project and the test's own
    temporary folder was created, removed or changed; the same after `down` again."""
    # pytest makes its temporary folder when first asked: before the first snapshot.
    skip = (lab.paths.base, REPO_ROOT, tmp_path_factory.getbasetemp())
    lab.down()
    try:
        mounts, files = _mounts(), _snapshot(skip)
        lab.up(install_prompts=lambda root: install_lab_prompts(root, progress=lambda _: None))
        assert _mounts() == mounts
        changed = _differences(files, _snapshot(skip))
        assert changed == [], "\n".join(changed)
        lab.down()
        assert _mounts() == mounts
        changed = _differences(files, _snapshot(skip))
        assert changed == [], "\n".join(changed)
    finally:
        lab.up(install_prompts=lambda root: install_lab_prompts(root, progress=lambda _: None))


def _mounts() -> str:
    with open("/proc/self/mounts") as f:
        return f.read()
