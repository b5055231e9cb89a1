"""Integration fixtures: the real lab Asterisk, started once per test session.

The lab is (re)started from the repository's configuration at the start of the session so every
run sees the same Asterisk, and stopped at the end. When a test fails, the Asterisk log lines it
produced are attached to the failure report.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from stasis_app.lab import Lab, LabPaths
from stasis_app.lab.prompts import install_lab_prompts

MESSAGES = "messages"


def _progress(line: str) -> None:
    print(line, file=sys.stderr)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """A running lab Asterisk configured from this checkout's asterisk/etc."""
    the_lab = Lab(LabPaths.from_environ(), progress=_progress)
    # A lab left running (by ./run.sh or a crashed session) may have other configs or prompts.
    the_lab.down()
    the_lab.up(install_prompts=_install_prompts)
    yield the_lab
    the_lab.down()


def _install_prompts(rootfs: Path) -> None:
    install_lab_prompts(rootfs, progress=_progress)


_log_start = pytest.StashKey[tuple[Path, int]]()


@pytest.fixture(autouse=True)
def asterisk_log_on_failure(request: pytest.FixtureRequest) -> None:
    """Remember where Asterisk's log stood when a lab test started (see the report hook)."""
    if "lab" in request.fixturenames:
        lab: Lab = request.getfixturevalue("lab")
        log = lab.paths.log_dir / MESSAGES
        request.node.stash[_log_start] = (log, log.stat().st_size if log.exists() else 0)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach what Asterisk logged during a failing lab test to its report."""
    report = yield
    if report.failed and _log_start in item.stash:
        log, start = item.stash[_log_start]
        with log.open(errors="replace") as f:
            f.seek(start)
            text = f.read()[-20000:]
        report.sections.append(("Asterisk log during this test", text or "(nothing logged)"))
    return report
