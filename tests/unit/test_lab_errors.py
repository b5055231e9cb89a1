"""The lab turns debootstrap's failures into errors that say what to do."""

from __future__ import annotations

from stasis_app.lab.rootfs import debootstrap_failure


def test_missing_package_is_named() -> None:
    """A package gone from sid is named, with the way out (a snapshot mirror)."""
    err = debootstrap_failure(1, "I: Retrieving InRelease\nE: Couldn't find these debs: asterisk")
    assert "has no package 'asterisk'" in str(err)
    assert "CTI_LAB_MIRROR" in str(err)


def test_unreachable_archive_is_said_plainly() -> None:
    """No network (or no archive) is reported as such, not as a generic failure."""
    err = debootstrap_failure(1, "E: Failed getting release file http://x/dists/sid/Release")
    assert "unreachable" in str(err)


def test_other_failures_keep_debootstrap_words() -> None:
    """Anything else carries the exit code and debootstrap's own last lines."""
    err = debootstrap_failure(2, "W: something odd\nE: disk full")
    assert "exit code 2" in str(err)
    assert "disk full" in str(err)
