"""The lab touches nothing of the host's: its Asterisk runs as an account of its own, and what it
writes stays in the rootfs (decision 0011)."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from stasis_app.lab import Lab
from stasis_app.lab.rootfs import HOST_ACCOUNT, asterisk_ids

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
