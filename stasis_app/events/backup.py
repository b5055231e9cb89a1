"""``cti calls backup``: a consistent copy of the call history while the worker writes it.

SQLite's online backup API copies the file page by page from a read-only connection; WAL mode
lets the worker keep committing meanwhile (a step that sees a change restarts the copy, so the
result is one consistent snapshot). The copy is written beside its destination, checked, and
renamed into place, so a backup that fails halfway leaves no file that looks complete.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

import typer

from stasis_app.errors import BackupError, CtiError
from stasis_app.events.schema import version_of
from stasis_app.events.store import DB_NAME
from stasis_app.settings import DATA_DIR

# Pages per backup step: the copy lets go of the source between steps, so the worker's writer
# never waits long for it (4096 pages of 4 KiB = 16 MiB per step).
PAGES_PER_STEP: Final = 4096


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    schema_version: int
    calls: int
    events: int
    size: int


def backup_store(source: Path, dest: Path) -> Backup:
    """Copy the history at ``source`` to ``dest`` (a new file, mode 0600) and check the copy."""
    if not source.is_file():
        raise BackupError(f"no call store at {source}")
    if dest.exists():
        raise BackupError(f"{dest} already exists; choose a new name (a backup never overwrites)")
    if not dest.parent.is_dir():
        raise BackupError(f"{dest.parent} is not a directory")
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    # Created 0600 before SQLite opens it: the history holds callers' numbers.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
            closing(sqlite3.connect(partial)) as copy,
        ):
            src.backup(copy, pages=PAGES_PER_STEP)
            version, calls, events = _check(copy, partial)
        partial.rename(dest)
    except BaseException as e:
        partial.unlink(missing_ok=True)
        if isinstance(e, sqlite3.Error):
            raise BackupError(f"backing up {source} to {dest} failed: {e}") from e
        raise
    return Backup(dest, version, calls, events, dest.stat().st_size)


def _check(conn: sqlite3.Connection, path: Path) -> tuple[int, int, int]:
    """The copy's schema version, calls and events, once SQLite finds it sound."""
    verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
    if verdict != "ok":
        raise BackupError(f"the copy at {path} failed SQLite's check: {verdict}")
    calls = conn.execute("SELECT count(*) FROM calls").fetchone()[0]
    events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    return version_of(conn), int(calls), int(events)


def register(app: typer.Typer) -> None:
    """Add ``backup`` to the ``cti calls`` group."""

    @app.command("backup")
    def backup_command(
        dest: Annotated[Path, typer.Argument(help="The new file to write (never overwritten).")],
        data_dir: Annotated[
            Path | None,
            typer.Option("--data-dir", help="Where calls.sqlite3 lives [default: $CTI_DATA_DIR]"),
        ] = None,
    ) -> None:
        """A consistent copy of the call history, safe while the worker runs (on its host)."""
        try:
            where = data_dir or DATA_DIR.value()
            made = backup_store(where / DB_NAME, dest)
        except CtiError as e:
            typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=1) from e
        typer.echo(
            f"{made.path}: {made.calls} call(s), {made.events} event(s), "
            f"schema {made.schema_version}, {made.size} bytes"
        )


__all__ = ["Backup", "backup_store", "register"]
