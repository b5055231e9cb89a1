"""The worker's own threads carry their names into the kernel (for `top -H` and the bench)."""

from __future__ import annotations

import threading
from pathlib import Path

from stasis_app.threads import name_os_thread


def _kernel_name_of(name: str) -> str:
    seen: list[str] = []

    def run() -> None:
        name_os_thread()
        seen.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip())

    thread = threading.Thread(target=run, name=name)
    thread.start()
    thread.join(5)
    return seen[0]


def test_a_thread_is_named_in_the_kernel_as_in_python() -> None:
    assert _kernel_name_of("cti-call-store") == "cti-call-store"


def test_a_long_name_is_cut_to_the_kernel_limit() -> None:
    assert _kernel_name_of("cti-a-very-long-thread-name") == "cti-a-very-long"
