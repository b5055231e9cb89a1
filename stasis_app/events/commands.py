"""``cti calls ...`` (the embedded call history) and ``cti es setup`` (Elasticsearch + Kibana).

For now the calls commands read the SQLite store in the data directory directly (WAL allows that
while the worker writes); they never purge or write except ``dead-letters --retry``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from stasis_app.errors import CtiError
from stasis_app.events.elastic import auth_headers
from stasis_app.events.setup import DASHBOARDS, setup
from stasis_app.events.store import DB_NAME, CallStore, CallSummary

app = typer.Typer(help="The call history recorded by the worker.", no_args_is_help=True)
es_app = typer.Typer(help="Elasticsearch/OpenSearch and Kibana.", no_args_is_help=True)

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="CTI_DATA_DIR", help="Where calls.sqlite3 lives.")
]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON document instead of a table.")]
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _fail(exc: CtiError | str) -> typer.Exit:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def _when(text: str | None, option: str) -> float | None:
    """``2h``/``3d`` (ago), or an ISO date/time (UTC when it has no offset) -> epoch seconds."""
    if text is None:
        return None
    relative = _RELATIVE.match(text)
    if relative:
        return time.time() - float(relative[1]) * _UNIT[relative[2]]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: use 30m, 2h, 7d or 2025-01-31T08:00", param_hint=option
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _open(data_dir: Path) -> CallStore:
    path = data_dir / DB_NAME
    if not path.exists():
        raise _fail(f"no call store at {path} (has the worker run with CTI_DATA_DIR={data_dir}?)")
    return CallStore(path, retention_days=0)  # a reader must never purge


def _clock(at: float | None) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S") if at else "-"


def _row(call: CallSummary) -> str:
    duration = f"{call.duration:.1f}s" if call.duration is not None else "-"
    return (
        f"{_clock(call.started)}  {call.call_id:<24} {call.caller or '-':<10} "
        f"{call.dialed or '-':<6} {call.callee or '-':<6} {call.disposition or 'in-progress':<18} "
        f"{call.cause if call.cause is not None else '-':<5} {duration:>8}  "
        f"{'>'.join(call.ivr_path) or '-'}"
    )


@app.command("list")
def list_command(  # noqa: PLR0917 - typer maps each parameter to an option
    data_dir: DataDir = Path("/var/lib/cti"),
    since: Annotated[str | None, typer.Option(help="Started at/after: 2h, 7d or ISO time")] = None,
    until: Annotated[str | None, typer.Option(help="Started before: 2h, 7d or ISO time")] = None,
    caller: Annotated[str | None, typer.Option(help="Caller number")] = None,
    extension: Annotated[str | None, typer.Option(help="Dialed or final extension")] = None,
    disposition: Annotated[
        str | None, typer.Option(help="answered, busy, no-answer, ..., or in-progress")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: AsJson = False,
) -> None:
    """List calls, newest first (times in UTC)."""
    filters: dict[str, Any] = {
        "since": _when(since, "--since"),
        "until": _when(until, "--until"),
        "caller": caller,
        "extension": extension,
        "disposition": disposition,
    }
    store = _open(data_dir)
    try:
        calls = store.list_calls(**filters, limit=limit, offset=offset)
        total = store.count_calls(**filters)
    finally:
        store.close()
    if as_json:
        payload = {"total": total, "offset": offset, "calls": [c.to_dict() for c in calls]}
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(
        f"{'started (UTC)':<19}  {'call id':<24} {'caller':<10} {'dialed':<6} {'callee':<6} "
        f"{'disposition':<18} {'cause':<5} {'duration':>8}  ivr path"
    )
    for call in calls:
        typer.echo(_row(call))
    typer.echo(f"{offset + len(calls)} of {total} call(s)", err=True)


@app.command("show")
def show_command(
    call_id: Annotated[str, typer.Argument(help="The call id (its caller channel id)")],
    data_dir: DataDir = Path("/var/lib/cti"),
    as_json: AsJson = False,
) -> None:
    """One call: its summary and its event timeline."""
    store = _open(data_dir)
    try:
        detail = store.get_call(call_id)
    except CtiError as exc:
        raise _fail(exc) from exc
    finally:
        store.close()
    if as_json:
        events = [
            {"event_id": e.event_id, "at": e.at, "action": e.action, "state": e.state, "doc": e.doc}
            for e in detail.events
        ]
        typer.echo(json.dumps({"call": detail.summary.to_dict(), "events": events}, indent=2))
        return
    typer.echo(_row(detail.summary))
    start = detail.summary.started
    for event in detail.events:
        details = {k: v for k, v in event.doc.get("cti", {}).items() if k not in ("call_id",)}
        cause = event.doc.get("asterisk", {}).get("hangup_cause_name")
        if cause:
            details["hangup_cause"] = cause
        extra = " ".join(f"{k}={v}" for k, v in details.items())
        typer.echo(f"  +{event.at - start:7.3f}s  {event.action:<18} {event.state:<11} {extra}")


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
