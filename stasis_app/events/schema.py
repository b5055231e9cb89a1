"""The call history's schema: a version in ``PRAGMA user_version`` and the ordered migrations.

Rules:

- ``MIGRATIONS[n]`` takes a file from version ``n`` to ``n + 1``; versions are consecutive and a
  released migration is never edited (add a new one instead).
- Each migration runs in its own ``BEGIN IMMEDIATE`` transaction together with the version bump,
  so a crash leaves the file at the old version or the new one, never between; the version is
  read again inside the transaction, so two processes opening the file at once migrate it once.
- A file newer than :data:`SCHEMA_VERSION` is refused (:class:`StoreSchemaTooNew`): code that
  does not know a table could corrupt it, for instance by purging rows another table points at.
- Version 0 is every file made before versioning; migration 1 is that era's DDL with
  ``IF NOT EXISTS``, so it completes any of its shapes (the agents table came late) and keeps
  their rows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import structlog

from stasis_app.errors import StoreSchemaTooNew

log = structlog.get_logger("cti.events.store")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int  # the version the file has after it
    why: str
    statements: tuple[str, ...]


MIGRATIONS: Final = (
    Migration(
        1,
        "the history as it was before versioning: events (the outbox), calls, dead letters, agents",
        (
            "CREATE TABLE IF NOT EXISTS events (event_id TEXT PRIMARY KEY, call_id TEXT NOT NULL,"
            " at REAL NOT NULL, action TEXT NOT NULL, doc TEXT NOT NULL,"
            " state INTEGER NOT NULL DEFAULT 0)",
            "CREATE INDEX IF NOT EXISTS events_call ON events(call_id, at)",
            "CREATE INDEX IF NOT EXISTS events_at ON events(at)",
            "CREATE INDEX IF NOT EXISTS events_outbox ON events(at) WHERE state = 0",
            "CREATE TABLE IF NOT EXISTS calls (call_id TEXT PRIMARY KEY, started REAL NOT NULL,"
            " ended REAL, caller TEXT, dialed TEXT, callee TEXT, disposition TEXT,"
            " cause INTEGER, duration REAL, ivr_path TEXT)",
            "CREATE INDEX IF NOT EXISTS calls_started ON calls(started)",
            "CREATE TABLE IF NOT EXISTS dead_letters (event_id TEXT PRIMARY KEY,"
            " reason TEXT NOT NULL, at REAL NOT NULL)",
            "CREATE TABLE IF NOT EXISTS agents (extension TEXT PRIMARY KEY, doc TEXT NOT NULL,"
            " at REAL NOT NULL)",
        ),
    ),
    Migration(
        2,
        "store_rejects: events the store itself could not write (not JSON-serialisable, refused "
        "by SQLite), kept with the reason instead of being dropped",
        (
            "CREATE TABLE store_rejects (event_id TEXT PRIMARY KEY, call_id TEXT, action TEXT,"
            " at REAL, reason TEXT NOT NULL, record TEXT NOT NULL, rejected_at REAL NOT NULL)",
            "CREATE INDEX store_rejects_at ON store_rejects(rejected_at)",
        ),
    ),
)
SCHEMA_VERSION: Final = MIGRATIONS[-1].version


def version_of(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the file ``conn`` is open on to :data:`SCHEMA_VERSION`; returns the version found.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Raises
    :class:`StoreSchemaTooNew` for a file made by newer code.
    """
    found = first = version_of(conn)
    for migration in MIGRATIONS:
        _check(found, path)
        if found >= migration.version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            now = version_of(conn)  # another process may have migrated meanwhile
            if now < migration.version:
                for statement in migration.statements:
                    conn.execute(statement)
                # PRAGMA takes no parameters; the version is our own int.
                conn.execute(f"PRAGMA user_version = {int(migration.version)}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if now < migration.version:
            log.info("store.migrated", path=str(path), version=migration.version, why=migration.why)
        found = max(now, migration.version)
    _check(found, path)
    return first


def _check(found: int, path: Path) -> None:
    if found > SCHEMA_VERSION:
        raise StoreSchemaTooNew(str(path), found, SCHEMA_VERSION)


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "migrate", "version_of"]
