"""Who may read what: the kernel's owner/group/other rule, and the first folder that stops the
worker's account from reaching its code (pure: stat results are made up)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from stasis_app.lab.worker_account import EXECUTE, READ, first_blocked, permits

CTI, CTI_GROUP, ROOT = 998, 997, 0
OTHER = 5000


def st(mode: int, uid: int = ROOT, gid: int = ROOT, *, folder: bool = True) -> os.stat_result:
    kind = stat.S_IFDIR if folder else stat.S_IFREG
    return os.stat_result((kind | mode, 0, 0, 1, uid, gid, 0, 0, 0, 0))


@pytest.mark.parametrize(
    ("file", "uid", "bits", "allowed"),
    [
        (st(0o755), CTI, EXECUTE, True),  # others may enter
        (st(0o700), CTI, EXECUTE, False),  # /root
        (st(0o700), ROOT, READ | EXECUTE, True),  # root passes
        (st(0o700, CTI, CTI_GROUP), CTI, READ | EXECUTE, True),  # its own folder
        (st(0o070, CTI, CTI_GROUP), CTI, EXECUTE, False),  # owner bits decide, not group's
        (st(0o750, ROOT, CTI_GROUP), CTI, READ | EXECUTE, True),  # through its group
        (st(0o705, ROOT, CTI_GROUP), CTI, EXECUTE, False),  # group bits decide, not others'
        (st(0o711), CTI, EXECUTE, True),  # enter without listing
        (st(0o711), CTI, READ | EXECUTE, False),
        (st(0o644, folder=False), CTI, READ, True),
        (st(0o640, ROOT, OTHER, folder=False), CTI, READ, False),
    ],
)
def test_permits_follows_the_kernels_rule(
    file: os.stat_result, uid: int, bits: int, allowed: bool
) -> None:
    assert permits(file, uid, frozenset({CTI_GROUP}), bits) is allowed


@pytest.mark.parametrize(
    ("modes", "blocked"),
    [
        ({"/": st(0o755), "/opt": st(0o755), "/opt/cti": st(0o755)}, None),
        ({"/": st(0o755), "/opt": st(0o700), "/opt/cti": st(0o755)}, "/opt"),
        ({"/": st(0o755), "/opt": st(0o755), "/opt/cti": st(0o700)}, "/opt/cti"),
        ({"/": st(0o755), "/opt": st(0o711), "/opt/cti": st(0o755)}, None),
        ({"/": st(0o755), "/opt": st(0o755), "/opt/cti": st(0o640, folder=False)}, "/opt/cti"),
        ({"/": st(0o755), "/opt": st(0o755), "/opt/cti": st(0o644, folder=False)}, None),
        ({"/": st(0o755), "/opt": st(0o755)}, None),  # not made yet: root makes it 0755
    ],
)
def test_first_blocked_names_the_folder_that_stops_the_account(
    modes: dict[str, os.stat_result], blocked: str | None
) -> None:
    def stat_of(path: str) -> os.stat_result:
        if path not in modes:
            raise FileNotFoundError(path)
        return modes[path]

    # /opt/cti does not exist here, so realpath leaves it as it is: only the table is read.
    found = first_blocked(Path("/opt/cti"), CTI, frozenset({CTI_GROUP}), stat_of=stat_of)
    assert found == (Path(blocked) if blocked else None)
