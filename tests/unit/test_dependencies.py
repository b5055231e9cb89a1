"""The declared dependency floors are real, and every install of the product uses the lock.

docs/decisions/0009-dependency-floors-and-lock.md says why. Pure file reads: no network, no pip.
"""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from stasis_app.settings import REPO_ROOT

PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = {Requirement(r).name: Requirement(r) for r in PROJECT["dependencies"]}


def _locked() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (REPO_ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = Version(version)
    return pins


# (package, the newest release the code does NOT run with, why): checked by installing it.
TOO_OLD = [
    ("fastapi", "0.134.0", "no fastapi.sse (http/streams.py); 0.135.0 is the first with it"),
]


@pytest.mark.parametrize(("name", "version", "why"), TOO_OLD)
def test_a_floor_admits_no_release_the_code_cannot_run_with(
    name: str, version: str, why: str
) -> None:
    """pip may pick any version the range allows: the range must exclude the broken ones."""
    assert version not in RUNTIME[name].specifier, why


def test_the_lock_pins_every_runtime_dependency_inside_its_declared_range() -> None:
    """requirements.lock is one point inside pyproject's ranges, for every product dependency."""
    locked = _locked()
    for name, requirement in RUNTIME.items():
        assert name in locked, f"{name} is not in requirements.lock"
        assert locked[name] in requirement.specifier, f"{name}=={locked[name]} vs {requirement}"


def test_the_lock_holds_no_test_tool() -> None:
    """The lock is the product's environment (the Docker image's): dev extras stay out."""
    dev = {Requirement(r).name for r in PROJECT["optional-dependencies"]["dev"]}
    assert dev & _locked().keys() == set()


@pytest.mark.parametrize(
    "path", ["docker/worker.Dockerfile", "docker/asterisk.Dockerfile", "scripts/bootstrap.sh"]
)
def test_every_install_of_the_product_is_constrained_by_the_lock(path: str) -> None:
    """CI (bootstrap) and both images install with -c requirements.lock; images without [dev]."""
    installs = [
        line
        for line in (REPO_ROOT / path).read_text().splitlines()
        if re.search(r"pip install .*(\s\.|-e\s)", line)
    ]
    assert installs, f"{path} installs nothing"
    for line in installs:
        assert "-c requirements.lock" in line, line
        if path.startswith("docker/"):
            assert "[dev]" not in line, line
