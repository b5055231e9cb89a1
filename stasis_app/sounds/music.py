"""Music on hold: a short melody synthesised with sox, so nothing is downloaded at run time.

``cti sounds build`` writes ``sounds/moh/music.wav|.ulaw`` (8 kHz mono, the prompts'
formats: Asterisk plays them to G.711 and slin channels without transcoding); the lab and the
Docker image put them in :data:`MOH_DIR`, the folder ``musiconhold.conf``'s ``default`` class
plays (in ``files`` mode Asterisk treats the two files as one sound and picks the cheaper format).

The melody is a harp-like arpeggio (sox ``pluck``) over C - Am - F - G, about ten seconds that
loop without a gap: the held caller must hear that the line is alive, not a tone to read as
busy or ringing. ``-R`` makes sox seed ``pluck``'s noise the same way every time, so a rebuild
gives the same bytes and the digest below decides whether a build is needed.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from stasis_app.errors import SoundsError
from stasis_app.sounds.builder import (
    FORMATS,
    MUSIC_FOLDER,
    SAMPLE_RATE,
    SOX_GLOBAL,
    atomic_target,
    make_dirs,
    require_tool,
    run_tool,
)

# Where Asterisk looks, inside the lab rootfs and the container (musiconhold.conf [default]).
MOH_DIR = PurePosixPath("/usr/share/asterisk/moh/cti")
MUSIC_NAME = "music"
NOTE_SECONDS = 0.3
# Four bars of eighth notes, one chord each: up and down the chord so the loop point is smooth.
MELODY = (
    *("C4", "E4", "G4", "C5", "E5", "C5", "G4", "E4"),  # C
    *("A3", "C4", "E4", "A4", "C5", "A4", "E4", "C4"),  # Am
    *("F3", "A3", "C4", "F4", "A4", "F4", "C4", "A3"),  # F
    *("G3", "B3", "D4", "G4", "B4", "G4", "D4", "B3"),  # G
)
# A little room so the plucks blend (reverb makes two channels: mixed back to one before the
# level is set); peak-normalised lower than the prompts (-3 dB): music under a conversation's
# hold should not be louder than the voices around it.
_EFFECTS = ("reverb", "30", "channels", "1", "gain", "-n", "-6")
_DIGEST_FILE = ".digest"


def synth_args() -> tuple[str, ...]:
    """The sox effect chains that play :data:`MELODY`: one ``synth`` chain per note (pure)."""
    chains: list[str] = []
    for note in MELODY:
        if chains:
            chains.append(":")  # sox runs the chains one after another: the notes in sequence
        chains += ["synth", str(NOTE_SECONDS), "pluck", note]
    return tuple(chains)


def music_files() -> tuple[str, ...]:
    """The file names the build produces, one per format (``music.wav`` ...)."""
    return tuple(f"{MUSIC_NAME}.{ext}" for ext in FORMATS)


def music_digest() -> str:
    """The digest of everything that decides the music's audio (pure)."""
    inputs = {
        "synth": list(synth_args()),
        "rate": SAMPLE_RATE,
        "formats": {ext: [*SOX_GLOBAL, *args, *_EFFECTS] for ext, args in FORMATS.items()},
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def build_music(out_dir: Path) -> tuple[str, ...]:
    """Generate ``out_dir/moh/<music>`` unless it is there and up to date; return what was built.

    Paths are relative to ``out_dir`` (``moh/music.wav``), as the prompts' report gives them.
    """
    folder = out_dir / MUSIC_FOLDER
    digest = music_digest()
    names = music_files()
    stamp = folder / _DIGEST_FILE
    current = stamp.read_text().strip() if stamp.is_file() else ""
    if current == digest and all((folder / name).is_file() for name in names):
        return ()
    sox = require_tool("sox")
    folder.mkdir(parents=True, exist_ok=True)
    where = "the music on hold"
    with tempfile.TemporaryDirectory(prefix="cti-moh-") as tmp:
        notes = Path(tmp) / "notes.wav"
        rate = ("-r", str(SAMPLE_RATE), "-c", "1", "-b", "16")
        run_tool("sox", [sox, "-R", "-n", *rate, str(notes), *synth_args()], where)
        for ext, name in zip(FORMATS, names, strict=True):
            with atomic_target(folder / name) as part:
                cmd = [sox, *SOX_GLOBAL, str(notes), *FORMATS[ext], str(part), *_EFFECTS]
                run_tool("sox", cmd, where)
    # Written last: an interrupted build leaves no stamp and is redone next time.
    with atomic_target(stamp) as part:
        part.write_text(digest + "\n")
    return tuple(f"{MUSIC_FOLDER}/{name}" for name in names)


def install_music(
    out_dir: Path,
    moh_dir: Path,
    *,
    owner: tuple[int, int] | None = None,
    resolve: Callable[[Path], Path] = lambda path: path,
) -> list[Path]:
    """Copy the built music into ``moh_dir`` (only what differs, atomically); return the copies.

    Asterisk plays *every* sound file in a ``files`` class's folder, so a file of ours that the
    build no longer makes (a renamed melody) is removed rather than left to play in rotation.
    ``owner`` and ``resolve`` are as for :func:`stasis_app.sounds.install`.
    """
    source = out_dir / MUSIC_FOLDER
    names = music_files()
    missing = [name for name in names if not (source / name).is_file()]
    if missing:
        raise SoundsError(f"no music on hold in {source}: run `cti sounds build` first")
    target = resolve(moh_dir)
    make_dirs(target, owner)
    installed: list[Path] = []
    for name in names:
        dest = target / name
        if dest.is_file() and filecmp.cmp(source / name, dest, shallow=False):
            continue
        with atomic_target(dest) as part:
            shutil.copyfile(source / name, part)
            if owner is not None:
                os.chown(part, *owner)
        installed.append(dest)
    for stale in target.iterdir():
        if stale.suffix.lstrip(".") in FORMATS and stale.name not in names:
            stale.unlink()
    return installed
