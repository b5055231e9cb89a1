"""Integration fixtures: the real lab Asterisk, started once per test session.

The lab is (re)started from the repository's configuration at the start of the session so every
run sees the same Asterisk, and stopped at the end. When a test fails, the Asterisk log lines it
produced are attached to the failure report.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from stasis_app.lab import Lab, LabPaths
from stasis_app.lab.prompts import install_lab_prompts
from tests.integration.workerproc import WorkerProcess
from tests.sipkit import Linphone, Phone, channel_count, channel_names, tone_sequence, write_wav
from tests.waiting import wait_until

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


# ------------------------------------------------------------------------ phones and worker
PhoneFactory = Callable[..., Phone]
LinphoneFactory = Callable[..., Linphone]


@pytest.fixture(scope="session")
def signals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A distinct 30 s test signal per extension (1000, 2000 and the lab agents 1001-1005), so
    each direction of a call, and each party of a transfer, is recognisable."""
    folder = tmp_path_factory.mktemp("signals")
    seeds = {"1000": 11, "2000": 22, "1001": 33, "1002": 44, "1003": 55, "1004": 66, "1005": 77}
    return {
        user: write_wav(folder / f"{user}.wav", tone_sequence(30.0, seed=seed))
        for user, seed in seeds.items()
    }


@pytest.fixture
def phones(lab: Lab, tmp_path: Path, signals: dict[str, Path]) -> Iterator[PhoneFactory]:
    """Start registered phones on demand (each sends its extension's signal); all are stopped,
    and Asterisk is left without a channel, after the test."""
    started: list[Phone] = []

    def make(user: str, *, auto_answer: bool = False) -> Phone:
        phone = Phone(
            user,
            f"test{user}",
            workdir=tmp_path / f"phone-{user}-{len(started)}",
            audio_source=signals[user],
            auto_answer=auto_answer,
        ).start()
        started.append(phone)
        phone.wait_registered()
        return phone

    yield make
    for phone in started:
        phone.stop()
    wait_until(lambda: channel_count(lab) == 0, timeout=15.0, what="no channel left in Asterisk")
    wait_until(lambda: bridge_count(lab) == 0, timeout=5.0, what="no bridge left in Asterisk")


@pytest.fixture
def linphones(
    lab: Lab, tmp_path: Path, signals: dict[str, Path], phones: PhoneFactory
) -> Iterator[LinphoneFactory]:
    """Start registered linphonec phones on demand (each sends its extension's signal), for
    what baresip cannot do (an attended transfer). After the test each is stopped, even if the
    test failed, and Asterisk is left without a channel of theirs.

    It uses ``phones`` so that it is torn down first: baresip phones still in a call with a
    linphone then hang up afterwards, and ``phones`` then checks that no channel and no bridge
    at all is left.
    """
    started: list[Linphone] = []

    def make(user: str, *, auto_answer: bool = False) -> Linphone:
        phone = Linphone(
            user,
            f"test{user}",
            workdir=tmp_path / f"linphone-{user}-{len(started)}",
            audio_source=signals[user],
            auto_answer=auto_answer,
        )
        started.append(phone)  # before start: stopped whatever happens next
        phone.start()
        phone.wait_registered()
        return phone

    yield make
    for phone in started:
        phone.stop()
    prefixes = tuple(f"PJSIP/{phone.user}-" for phone in started)

    def theirs() -> list[str]:
        return [name for name in channel_names(lab) if name.startswith(prefixes)]

    try:
        wait_until(lambda: not theirs(), timeout=15.0, what="no channel of the linphones")
    except AssertionError:
        raise AssertionError(f"linphone channels left in Asterisk: {theirs()}") from None


def bridge_count(lab: Lab) -> int:
    """Bridges Asterisk has (`bridge show all` prints a header line, then one per bridge)."""
    return len([line for line in lab.cli("bridge show all").splitlines() if line.strip()]) - 1


@pytest.fixture
def worker(lab: Lab, tmp_path: Path) -> Iterator[WorkerProcess]:
    """`cti run` with the shipped IVR, connected to the lab; stopped after the test."""
    proc = WorkerProcess(tmp_path / "worker").start()
    yield proc
    proc.stop()
