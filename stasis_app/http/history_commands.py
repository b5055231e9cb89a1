"""``cti calls list | show``: the call history, through the REST API of the worker.

They ask ``GET /calls`` and ``GET /calls/{id}`` wherever the worker runs (CTI_API_URL and
CTI_API_TOKEN, as every other command), so they work against Docker or another host; ``--json``
prints the API's answer. There is no local-file mode: the worker's store is the one reader
that knows its schema, and a second code path would print a second shape. ``cti calls
dead-letters`` stays a local command (:mod:`stasis_app.events.commands`): its ``--retry``
writes to the store, which the API does not offer.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from stasis_app.http.commands import JsonFlag, call_api, dump, table
from stasis_app.http.models import CallDetailOut, CallList, CallSummaryOut

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SUMMARY_HEADERS = ["STARTED (UTC)", "CALL", "CALLER", "DIALED", "CALLEE", "DISPOSITION"]
SUMMARY_HEADERS += ["CAUSE", "DURATION", "IVR PATH"]


def when(text: str | None, option: str) -> float | None:
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


def _clock(at: float | None) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S") if at else "-"


def _summary_row(call: CallSummaryOut) -> list[str]:
    return [
        _clock(call.started),
        call.call_id,
        call.caller or "-",
        call.dialed or "-",
        call.callee or "-",
        call.disposition or "in-progress",
        str(call.cause) if call.cause is not None else "-",
        f"{call.duration:.1f}s" if call.duration is not None else "-",
        ">".join(call.ivr_path) or "-",
    ]


def list_calls(  # noqa: PLR0917 - typer maps each parameter to an option
    since: Annotated[str | None, typer.Option(help="Started at/after: 2h, 7d or ISO time")] = None,
    until: Annotated[str | None, typer.Option(help="Started before: 2h, 7d or ISO time")] = None,
    caller: Annotated[str | None, typer.Option(help="Caller number")] = None,
    extension: Annotated[str | None, typer.Option(help="Dialed or final extension")] = None,
    disposition: Annotated[
        str | None, typer.Option(help="answered, busy, no-answer, ..., or in-progress")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonFlag = False,
) -> None:
    """List recorded calls, newest first (times in UTC)."""
    filters: dict[str, Any] = {
        "since": when(since, "--since"),
        "until": when(until, "--until"),
        "caller": caller,
        "extension": extension,
        "disposition": disposition,
        "limit": limit,
        "offset": offset,
    }
    found: CallList = call_api(lambda c: c.history(**filters))
    if as_json:
        typer.echo(dump(found))
        return
    if not found.calls:
        typer.echo("no calls")
        return
    rows = [_summary_row(call) for call in found.calls]
    typer.echo(table(SUMMARY_HEADERS, rows, right=("CAUSE", "DURATION")))
    more = f"; --offset {offset + limit} for older ones" if len(found.calls) == limit else ""
    typer.echo(f"calls {offset + 1}-{offset + len(found.calls)}{more}", err=True)


def show_call(
    call_id: Annotated[str, typer.Argument(help="The call id (its caller channel id)")],
    as_json: JsonFlag = False,
) -> None:
    """One recorded call: its summary and its event timeline."""
    detail: CallDetailOut = call_api(lambda c: c.recorded_call(call_id))
    if as_json:
        typer.echo(dump(detail))
        return
    typer.echo(table(SUMMARY_HEADERS, [_summary_row(detail.summary)], right=("CAUSE", "DURATION")))
    typer.echo()
    start = detail.summary.started
    rows = []
    for event in detail.events:
        details = {k: v for k, v in event.doc.get("cti", {}).items() if k != "call_id"}
        cause = event.doc.get("asterisk", {}).get("hangup_cause_name")
        if cause:
            details["hangup_cause"] = cause
        extra = " ".join(f"{k}={v}" for k, v in details.items())
        rows.append([f"+{event.at - start:.3f}s", event.action, event.state, extra or "-"])
    typer.echo(table(["AT", "EVENT", "STATE", "DETAILS"], rows, right=("AT",)))


def register(calls_app: typer.Typer) -> None:
    """Add ``list`` and ``show`` to the ``cti calls`` group."""
    calls_app.command("list")(list_calls)
    calls_app.command("show")(show_call)


__all__ = ["register", "when"]
