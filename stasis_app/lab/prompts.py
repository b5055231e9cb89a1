"""Build the voice prompts and the music on hold (if needed) and install them into the lab."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stasis_app.lab.rootfs import asterisk_ids, resolve_in_root
from stasis_app.settings import REPO_ROOT
from stasis_app.sounds import build, install, load_catalog
from stasis_app.sounds.music import MOH_DIR, build_music, install_music

SOUNDS_DIR = REPO_ROOT / "sounds"


def install_lab_prompts(rootfs: Path, *, progress: Callable[[str], None] = print) -> None:
    """Regenerate what changed in sounds/ and copy it to the rootfs's Asterisk sounds folder,
    and the music on hold to the folder musiconhold.conf names (MOH_DIR, inside the rootfs)."""
    catalog = load_catalog(SOUNDS_DIR / "prompts.toml")
    report = build(catalog, SOUNDS_DIR)
    if report.built:
        progress(f"prompts: generated {len(report.built)} file(s) in {SOUNDS_DIR}")
    owner = asterisk_ids(rootfs)

    def in_root(path: Path) -> Path:
        return resolve_in_root(rootfs, path)

    installed = install(
        SOUNDS_DIR, rootfs / "usr/share/asterisk/sounds", owner=owner, resolve=in_root
    )
    if installed:
        progress(f"prompts: installed {len(installed)} file(s) into the lab")
    if build_music(SOUNDS_DIR):
        progress(f"music on hold: generated in {SOUNDS_DIR}")
    moh = install_music(SOUNDS_DIR, rootfs / MOH_DIR.relative_to("/"), owner=owner, resolve=in_root)
    if moh:
        progress(f"music on hold: installed {len(moh)} file(s) into the lab")
