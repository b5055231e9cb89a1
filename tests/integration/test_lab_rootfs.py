"""The lab resolves symlinks inside its rootfs the way the chrooted Asterisk sees them."""

from __future__ import annotations

from pathlib import Path

import pytest

from stasis_app.errors import LabError
from stasis_app.lab.rootfs import resolve_in_root


def test_absolute_symlink_target_is_taken_inside_the_rootfs(tmp_path: Path) -> None:
    """Debian's sounds/en -> /etc/alternatives/x -> /usr/.../en_US_f_Allison, followed in-root."""
    real = tmp_path / "usr/share/asterisk/sounds/en_US_f_Allison"
    real.mkdir(parents=True)
    (tmp_path / "etc/alternatives").mkdir(parents=True)
    (tmp_path / "etc/alternatives/prompt-en").symlink_to(
        "/usr/share/asterisk/sounds/en_US_f_Allison"
    )
    (tmp_path / "usr/share/asterisk/sounds/en").symlink_to("/etc/alternatives/prompt-en")

    resolved = resolve_in_root(tmp_path, tmp_path / "usr/share/asterisk/sounds/en")

    assert resolved == real


def test_a_missing_folder_resolves_to_itself(tmp_path: Path) -> None:
    """A language folder that does not exist yet (ko) is created where it is asked for."""
    path = tmp_path / "usr/share/asterisk/sounds/ko"
    assert resolve_in_root(tmp_path, path) == path


def test_escaping_the_rootfs_is_refused(tmp_path: Path) -> None:
    """A relative link climbing out of the rootfs is an error, not a write on the host."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "evil").symlink_to("../../outside")
    with pytest.raises(LabError, match="escapes"):
        resolve_in_root(root, root / "evil")
