"""``cti calls dead-letters`` (the embedded store, on the worker's host) and ``cti es setup``.

``cti calls list | show`` go through the REST API (:mod:`stasis_app.http.history_commands`,
added to this group by :mod:`stasis_app.cli`). ``dead-letters`` reads the SQLite store in the
data directory directly (``--data-dir``; WAL allows that while the worker writes) because its
``--retry`` writes to the store, which the API does not offer; it never purges.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from stasis_app.errors import CtiError
from stasis_app.events.elastic import auth_headers
from stasis_app.events.setup import DASHBOARDS, setup
from stasis_app.events.store import DB_NAME, CallStore

app = typer.Typer(help="The call history recorded by the worker.", no_args_is_help=True)
es_app = typer.Typer(help="Elasticsearch/OpenSearch and Kibana.", no_args_is_help=True)

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="CTI_DATA_DIR", help="Where calls.sqlite3 lives.")
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


def _clock(at: float | None) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S") if at else "-"


@app.command("dead-letters")
def dead_letters_command(
    data_dir: DataDir = Path("/var/lib/cti"),
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    retry: Annotated[
        bool, typer.Option("--retry", help="Put them back in the outbox (after fixing the cause)")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Events Elasticsearch rejected for their content; they are never resent on their own."""
    store = _open(data_dir)
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
        str, typer.Option("--es-url", envvar="CTI_ELASTICSEARCH_URL", help="Elasticsearch URL")
    ],
    kibana_url: Annotated[
        str | None,
        typer.Option("--kibana-url", envvar="CTI_KIBANA_URL", help="Kibana URL (dashboards)"),
    ] = None,
    retention_days: Annotated[
        float, typer.Option(envvar="CTI_RETENTION_DAYS", help="ILM delete phase, 0 = keep")
    ] = 90,
    dashboards: Annotated[Path, typer.Option(help="Saved objects to import")] = DASHBOARDS,
) -> None:
    """Install the index template (+ ILM policy on Elasticsearch) and the Kibana dashboards."""
    headers = auth_headers(os.environ)
    try:
        report = asyncio.run(
            setup(
                es_url,
                kibana_url,
                retention_days=retention_days,
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
