"""The lab resolves symlinks inside its rootfs the way the chrooted Asterisk sees them."""

from __future__ import annotations

from pathlib import Path

import pytest

from stasis_app.errors import LabError
from stasis_app.lab.rootfs import WRITABLE_DIRS, prepare, resolve_in_root


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


def test_preparing_the_rootfs_writes_nothing_through_its_absolute_links(tmp_path: Path) -> None:
    """Debian's var/run -> /run: the lab's writable dirs are made in the rootfs's run, never on
    the host (the link here points at a host path that must stay absent)."""
    host_path = Path(f"/cti-test-{tmp_path.name}")
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("asterisk:x:101:101::/var/lib/asterisk:/bin/false\n")
    (root / "etc/group").write_text("asterisk:x:101:\n")
    (root / "var").mkdir()
    (root / "var/run").symlink_to(host_path)
    (root / host_path.name).mkdir()
    config = tmp_path / "etc-asterisk"
    config.mkdir()
    (config / "asterisk.conf").write_text("[directories]\n")

    prepare(root, config)

    assert not host_path.exists()
    assert (root / host_path.name / "asterisk").is_dir()
    assert all(resolve_in_root(root, root / rel).is_dir() for rel in WRITABLE_DIRS)
