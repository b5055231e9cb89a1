"""``cti sounds``: build the prompts from the catalog and install them for Asterisk."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from stasis_app.errors import SoundsError
from stasis_app.settings import REPO_ROOT
from stasis_app.sounds.builder import Progress, build, install
from stasis_app.sounds.catalog import load_catalog
from stasis_app.sounds.music import build_music

DEFAULT_SOUNDS_DIR = REPO_ROOT / "sounds"
DEFAULT_CATALOG = DEFAULT_SOUNDS_DIR / "prompts.toml"
ASTERISK_SOUNDS_DIR = Path("/usr/share/asterisk/sounds")

app = typer.Typer(
    help="Generate the IVR voice prompts (espeak-ng + sox) and install them for Asterisk.",
    no_args_is_help=True,
)

OnlyLang = Annotated[
    list[str] | None,
    typer.Option("--only-lang", help="Only this language (repeatable). Default: all."),
]


@app.command("build")
def build_command(
    only_lang: OnlyLang = None,
    out: Annotated[
        Path, typer.Option("--out", help="Where sounds/<lang>/<prompt>.<ext> go.")
    ] = DEFAULT_SOUNDS_DIR,
    catalog: Annotated[
        Path, typer.Option("--catalog", help="The prompt catalog (TOML).")
    ] = DEFAULT_CATALOG,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list the prompts that are up to date.")
    ] = False,
) -> None:
    """Generate every out-of-date prompt, and the music on hold (moh/): 8 kHz mono
    signed-linear .wav and mu-law .ulaw."""

    def show(step: Progress) -> None:
        if step.built or verbose:
            state = "built" if step.built else "up to date"
            typer.echo(f"[{step.done}/{step.total}] {step.path} {state}")

    started = time.monotonic()
    try:
        report = build(load_catalog(catalog), out, languages=only_lang, progress=show)
        # The music on hold is built in the same step, so whatever ships the prompts (the lab,
        # the Docker image) has it too. It belongs to no language: --only-lang does not skip it.
        music = build_music(out)
    except SoundsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    elapsed = time.monotonic() - started
    if music or verbose:
        typer.echo(f"music on hold: {', '.join(music) or 'up to date'}")
    typer.echo(
        f"sounds: {len(report.built)} built, {len(report.skipped)} up to date "
        f"in {elapsed:.1f} s -> {out}"
    )


@app.command("install")
def install_command(
    to: Annotated[
        Path, typer.Option("--to", help="Asterisk's sounds folder; files go to <to>/<lang>/cti/.")
    ] = ASTERISK_SOUNDS_DIR,
    source: Annotated[
        Path, typer.Option("--from", help="The built prompts (cti sounds build --out).")
    ] = DEFAULT_SOUNDS_DIR,
    only_lang: OnlyLang = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="UID:GID for the copies (the lab's asterisk: 101:101)."),
    ] = None,
) -> None:
    """Copy the built prompts where Asterisk finds them as sound:cti/<prompt>."""
    try:
        ids = _owner(owner)
        written = install(source, to, languages=only_lang, owner=ids)
    except SoundsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except PermissionError as exc:
        typer.echo(f"error: {exc} (run as root, or choose --to)", err=True)
        raise typer.Exit(1) from None
    for path in written:
        typer.echo(f"installed {path}")
    typer.echo(f"sounds: {len(written)} file(s) installed under {to}")


def _owner(raw: str | None) -> tuple[int, int] | None:
    if raw is None:
        return None
    uid, _, gid = raw.partition(":")
    try:
        return int(uid), int(gid or uid)
    except ValueError:
        raise SoundsError(f"--owner must be UID:GID in numbers, got {raw!r}") from None
