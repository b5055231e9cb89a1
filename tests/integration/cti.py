"""Running the `cti` command as a user would: a separate process, its output captured."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

CTI = (sys.executable, "-m", "stasis_app")


def run_cti(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CTI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=None if env is None else dict(env),
    )
