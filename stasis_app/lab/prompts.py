"""Build the voice prompts (if needed) and install them into the lab rootfs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stasis_app.lab.rootfs import asterisk_ids, resolve_in_root
from stasis_app.settings import REPO_ROOT
from stasis_app.sounds import build, install, load_catalog

SOUNDS_DIR = REPO_ROOT / "sounds"


def install_lab_prompts(rootfs: Path, *, progress: Callable[[str], None] = print) -> None:
    """Regenerate what changed in sounds/ and copy it to the rootfs's Asterisk sounds folder."""
    catalog = load_catalog(SOUNDS_DIR / "prompts.toml")
    report = build(catalog, SOUNDS_DIR)
    if report.built:
        progress(f"prompts: generated {len(report.built)} file(s) in {SOUNDS_DIR}")
    installed = install(
        SOUNDS_DIR,
        rootfs / "usr/share/asterisk/sounds",
        owner=asterisk_ids(rootfs),
        resolve=lambda path: resolve_in_root(rootfs, path),
    )
    if installed:
        progress(f"prompts: installed {len(installed)} file(s) into the lab")
