"""``cti calls dead-letters`` (the embedded store, on the worker's host) and ``cti es setup``.

``cti calls list | show`` go through the REST API (:mod:`stasis_app.http.history_commands`,
added to this group by :mod:`stasis_app.cli`). ``dead-letters`` reads the SQLite store in the
data directory directly (``--data-dir``; WAL allows that while the worker writes) because its
``--retry`` writes to the store, which the API does not offer; it never purges.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from stasis_app import settings
from stasis_app.errors import ConfigError, CtiError
from stasis_app.events.setup import DASHBOARDS, setup
from stasis_app.events.store import DB_NAME, CallStore
from stasis_app.setting_values import Invalid, days, url

T = TypeVar("T")

app = typer.Typer(help="The call history recorded by the worker.", no_args_is_help=True)
es_app = typer.Typer(help="Elasticsearch/OpenSearch and Kibana.", no_args_is_help=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where calls.sqlite3 lives [default: $CTI_DATA_DIR]"),
]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON document instead of a table.")]


def _fail(exc: CtiError | str) -> typer.Exit:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def _open(data_dir: Path) -> CallStore:
    path = data_dir / DB_NAME
    if not path.exists():
        raise _fail(f"no call store at {path} (has the worker run with CTI_DATA_DIR={data_dir}?)")
    return CallStore(path, retention_days=0)  # a reader must never purge


def _given(flag: str, parse: Callable[[str], T], value: object | None) -> T | None:
    """A command-line value through the same check as its variable's (None: not given)."""
    if value is None:
        return None
    try:
        return parse(str(value))
    except Invalid as exc:
        raise ConfigError(flag, str(exc)) from None


def _clock(at: float | None) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S") if at else "-"


@app.command("dead-letters")
def dead_letters_command(
    data_dir: DataDir = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    retry: Annotated[
        bool, typer.Option("--retry", help="Put them back in the outbox (after fixing the cause)")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Events Elasticsearch rejected for their content; they are never resent on their own."""
    try:
        where = data_dir or settings.DATA_DIR.value()
    except CtiError as exc:
        raise _fail(exc) from exc
    store = _open(where)
    try:
        letters = store.dead_letters(limit)
        requeued = store.retry_dead_letters().result(30) if retry else None
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([asdict(d) for d in letters], indent=2))
    else:
        for letter in letters:
            typer.echo(
                f"{_clock(letter.at)}  {letter.event_id}  {letter.call_id}  "
                f"{letter.action:<16} {letter.reason}"
            )
        typer.echo(f"{len(letters)} dead letter(s)", err=True)
    if requeued is not None:
        typer.echo(f"requeued {requeued} event(s) for shipping", err=True)


@es_app.command("setup")
def setup_command(
    es_url: Annotated[
        str | None,
        typer.Option("--es-url", help="Elasticsearch URL [default: $CTI_ELASTICSEARCH_URL]"),
    ] = None,
    kibana_url: Annotated[
        str | None,
        typer.Option("--kibana-url", help="Kibana URL (dashboards) [default: $CTI_KIBANA_URL]"),
    ] = None,
    retention_days: Annotated[
        float | None,
        typer.Option(help="ILM delete phase, 0 = keep [default: $CTI_RETENTION_DAYS or 90]"),
    ] = None,
    dashboards: Annotated[Path, typer.Option(help="Saved objects to import")] = DASHBOARDS,
) -> None:
    """Install the index template (+ ILM policy on Elasticsearch) and the Kibana dashboards."""
    try:
        # A flag wins over its variable; both go through the same checks.
        es_url = _given("--es-url", url, es_url) or settings.ELASTICSEARCH_URL.value()
        kibana_url = _given("--kibana-url", url, kibana_url) or settings.KIBANA_URL.optional()
        retention = _given("--retention-days", days, retention_days)
        if retention is None:
            retention = settings.RETENTION_DAYS.value()
        headers = settings.elasticsearch_headers()
    except CtiError as exc:
        raise _fail(exc) from exc
    try:
        report = asyncio.run(
            setup(
                es_url,
                kibana_url,
                retention_days=retention,
                headers=headers,
                dashboards=dashboards,
                progress=typer.echo,
            )
        )
    except CtiError as exc:
        raise _fail(exc) from exc
    if kibana_url is None:
        typer.echo("CTI_KIBANA_URL not set: dashboards not imported", err=True)
    typer.echo(f"done: {report.distribution.name} {report.distribution.version}")
