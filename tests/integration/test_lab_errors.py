"""The lab says why Asterisk would not start, in Asterisk's own words."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from stasis_app.errors import LabError
from stasis_app.lab import Lab
from stasis_app.lab.prompts import install_lab_prompts
from stasis_app.settings import REPO_ROOT
from tests.integration.cti import run_cti

pytestmark = pytest.mark.lab


def test_a_config_asterisk_rejects_is_reported_with_its_message(lab: Lab, tmp_path: Path) -> None:
    """With a modules.conf that requires a module that does not exist, `up` fails with
    Asterisk's own complaint, and leaves no process or mount behind."""
    broken = tmp_path / "etc"
    shutil.copytree(REPO_ROOT / "asterisk" / "etc", broken)
    with (broken / "modules.conf").open("a") as conf:
        conf.write("require = res_no_such_module.so\n")
    lab.down()
    bad = Lab(lab.paths, config_dir=broken, progress=lambda _: None)
    try:
        with pytest.raises(LabError, match="res_no_such_module") as info:
            bad.up()
        assert "Asterisk" in str(info.value)
        assert bad.pid() is None
        assert bad.processes() == []
    finally:
        bad.down()
        lab.up(install_prompts=lambda root: install_lab_prompts(root, progress=lambda _: None))


def test_a_busy_sip_port_is_named(lab: Lab) -> None:
    """Starting a second Asterisk while the lab runs fails on the busy port, naming it."""
    other = Lab(lab.paths, progress=lambda _: None)
    other.paths.pidfile.rename(other.paths.pidfile.with_suffix(".hidden"))
    try:
        with pytest.raises(LabError, match=r"port 5060/udp \(SIP\) is already in use"):
            other.up()
    finally:
        other.paths.pidfile.with_suffix(".hidden").rename(other.paths.pidfile)


def test_asterisk_starts_without_a_warning_about_our_configuration(lab: Lab) -> None:
    """The shipped asterisk/etc loads cleanly: no WARNING or ERROR in Asterisk's start-up output
    (a garbled dialplan or a missing config file shows up here before it misroutes a call)."""
    console = lab.paths.console_log.read_text(errors="replace")
    complaints = [ln for ln in console.splitlines() if "WARNING[" in ln or "ERROR[" in ln]
    assert complaints == []


def test_an_unreachable_package_archive_is_said_plainly(tmp_path: Path) -> None:
    """Building the lab from an archive that cannot be reached fails fast with a message that
    says so (and how to point at another mirror), leaving no half-built rootfs behind."""
    env = dict(os.environ, CTI_LAB_DIR=str(tmp_path / "lab"))
    env["CTI_LAB_MIRROR"] = "http://127.0.0.1:9/debian"  # nothing listens on the discard port
    done = run_cti("lab", "up", env=env, timeout=120)
    assert done.returncode == 1
    assert "package archive is unreachable" in done.stderr
    assert "CTI_LAB_MIRROR" in done.stderr
    assert not (tmp_path / "lab" / "rootfs").exists()
    assert not (tmp_path / "lab" / "rootfs.partial").exists()
