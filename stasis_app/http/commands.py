"""``cti channels | endpoints | call | hangup | transfer | watch``: the REST API from a terminal.

Every command goes through the REST API of the running worker (CTI_API_URL, default
http://127.0.0.1:3000; token from CTI_API_TOKEN or $CTI_DATA_DIR/api-token). Output is an
aligned table for people, or JSON with ``--json`` for scripts. ``register(app)`` adds the commands
to the top-level ``cti`` app.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from stasis_app.errors import CtiError
from stasis_app.http.client import ApiClient

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output")]


def make_client() -> ApiClient:
    """The client the commands use; tests replace it."""
    return ApiClient.from_environ(os.environ)


def _run(action: Callable[[ApiClient], Any]) -> Any:
    try:
        return action(make_client())
    except CtiError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain aligned columns (no dependency); the last column is not padded."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


def _dump(items: Sequence[BaseModel] | BaseModel | dict[str, Any]) -> str:
    if isinstance(items, BaseModel):
        return items.model_dump_json(indent=2)
    if isinstance(items, dict):
        return json.dumps(items, indent=2)
    return json.dumps([i.model_dump(mode="json") for i in items], indent=2)


def channels(as_json: JsonFlag = False) -> None:
    """Live channels: state, caller, dialed extension, bridge, duration, IVR menu."""
    found = _run(lambda c: c.channels())
    if as_json:
        typer.echo(_dump(found))
        return
    if not found:
        typer.echo("no live channels")
        return
    rows = [
        [
            c.id,
            c.state,
            f"{c.caller_name} <{c.caller_number}>" if c.caller_name else c.caller_number,
            c.dialed,
            c.connected_number or "-",
            c.bridge_id or "-",
            f"{c.duration:.0f}s",
            c.menu or "-",
        ]
        for c in found
    ]
    headers = ["ID", "STATE", "CALLER", "DIALED", "CONNECTED", "BRIDGE", "DURATION", "MENU"]
    typer.echo(table(headers, rows))


def endpoints(as_json: JsonFlag = False) -> None:
    """PJSIP endpoints: registration state and contacts."""
    found = _run(lambda c: c.endpoints())
    if as_json:
        typer.echo(_dump(found))
        return
    if not found:
        typer.echo("no endpoints known yet")
        return
    rows = []
    for e in found:
        contacts = ", ".join(
            f"{k.uri} {k.status}" + (f" {k.rtt_ms:.1f}ms" if k.rtt_ms is not None else "")
            for k in e.contacts
        )
        rows.append([e.id, e.state, str(len(e.channel_ids)), contacts or "-"])
    typer.echo(table(["ENDPOINT", "STATE", "CHANNELS", "CONTACTS"], rows))


def call(
    from_extension: Annotated[str, typer.Argument(help="Rung first, e.g. 1000")],
    to_extension: Annotated[str, typer.Argument(help="Called once the first answers")],
    as_json: JsonFlag = False,
) -> None:
    """Click-to-dial: ring FROM_EXTENSION, then connect it to TO_EXTENSION."""
    call_id = _run(lambda c: c.call(from_extension, to_extension))
    typer.echo(_dump({"call_id": call_id}) if as_json else f"calling: call {call_id}")


def hangup(
    channel_id: Annotated[str, typer.Argument(help="A channel id from `cti channels`")],
) -> None:
    """Hang up a live channel."""
    _run(lambda c: c.hangup(channel_id))
    typer.echo(f"hung up {channel_id}")


def transfer(
    channel_id: Annotated[str, typer.Argument(help="A channel id from `cti channels`")],
    extension: Annotated[str, typer.Argument(help="Where to send the call")],
) -> None:
    """Blind-transfer a channel's call to an extension."""
    _run(lambda c: c.transfer(channel_id, extension))
    typer.echo(f"transferred {channel_id} to {extension}")


def watch(
    extension: Annotated[
        str | None, typer.Option("--extension", "-e", help="Only this extension's calls")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Follow screen-pop events (ringing, answered, transferred, ended) until Ctrl-C."""

    def follow(client: ApiClient) -> None:
        for pop in client.events(extension):
            typer.echo(json.dumps(pop) if as_json else describe(pop))

    try:
        _run(follow)
    except KeyboardInterrupt:
        raise typer.Exit(code=0) from None


def describe(pop: dict[str, Any]) -> str:
    """One line for people: what happened, where, from whom."""
    kind = str(pop.get("type", "?"))
    if kind == "overflow":
        return f"(missed {pop.get('dropped')} events: this terminal was too slow)"
    who = f"{pop.get('caller_name') or ''} <{pop.get('caller_number') or '?'}>".strip()
    where = pop.get("extension") or pop.get("dialed") or "?"
    line = f"{kind:<12} {where:<8} from {who}  call {pop.get('call_id')}"
    if kind == "ended":
        line += f"  {pop.get('disposition')} after {pop.get('duration')}s"
    return line


def register(app: typer.Typer) -> None:
    """Add the REST commands to ``app`` (the top-level ``cti``)."""
    app.command("channels")(channels)
    app.command("endpoints")(endpoints)
    app.command("call")(call)
    app.command("hangup")(hangup)
    app.command("transfer")(transfer)
    app.command("watch")(watch)


__all__ = ["describe", "make_client", "register", "table"]
