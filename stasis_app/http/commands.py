"""``cti health | channels | endpoints | live | call | hangup | transfer | hold | unhold | watch``:
the REST API from a terminal.

Every command goes through the REST API of the running worker (CTI_API_URL, default
http://127.0.0.1:3000; token from CTI_API_TOKEN or $CTI_DATA_DIR/api-token). Output is an
aligned table for people, or JSON with ``--json`` for scripts. ``register(app)`` adds the commands
to the top-level ``cti`` app; the queue and agent commands are in
:mod:`stasis_app.http.queue_commands`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Collection, Sequence
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from stasis_app.errors import CtiError
from stasis_app.http.client import ApiClient
from stasis_app.http.models import HealthOut, TransferOut

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output")]
ChannelArg = Annotated[str, typer.Argument(help="A channel id from `cti live` or `cti channels`")]
TransferIdArg = Annotated[str, typer.Argument(help="A transfer id from `cti transfer --attended`")]


def make_client() -> ApiClient:
    """The client the commands use; tests replace it."""
    return ApiClient.from_environ()


def call_api(action: Callable[[ApiClient], Any]) -> Any:
    """``action`` with the client; any cti error is printed (the API's code and message) and
    exits 1."""
    try:
        return action(make_client())
    except CtiError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[str] = ()
) -> str:
    """Aligned columns laid out by rich (the ``right`` headers right-aligned), as plain text:
    no borders, no colour, never wrapped or cut (a pipe or a narrow terminal gets every
    character); cells are text, never rich markup."""
    grid = Table(box=None, pad_edge=False, padding=(0, 1), header_style="")
    for header in headers:
        grid.add_column(header, justify="right" if header in right else "left", no_wrap=True)
    for row in rows:
        grid.add_row(*(Text(str(cell)) for cell in row))
    out = io.StringIO()
    Console(file=out, width=_UNBOUNDED, color_system=None, emoji=False).print(grid)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


_UNBOUNDED = 100_000  # columns: a table is as wide as its cells


def dump(items: Sequence[BaseModel] | BaseModel | dict[str, Any]) -> str:
    if isinstance(items, BaseModel):
        return items.model_dump_json(indent=2)
    if isinstance(items, dict):
        return json.dumps(items, indent=2)
    return json.dumps([i.model_dump(mode="json") for i in items], indent=2)


def health(as_json: JsonFlag = False) -> None:
    """The worker's health: ok, degraded or unavailable, with the problems. Exits 1 when it
    cannot serve calls (so scripts can test it)."""
    found: HealthOut = call_api(lambda c: c.health())
    if as_json:
        typer.echo(dump(found))
    else:
        asterisk = found.asterisk_version or "unknown"
        typer.echo(f"{found.status}: worker {found.version}, Asterisk {asterisk}")
        for problem in found.problems:
            mark = "blocking" if problem.blocking else "warning"
            typer.echo(f"  {mark:<8}  {problem.code}: {problem.message}")
        if found.shipping is not None:
            s = found.shipping
            typer.echo(
                f"  shipping  {s.state}: {s.shipped} shipped, {s.pending} pending, "
                f"{s.dead_letters} dead letters"
            )
    if found.status == "unavailable":
        raise typer.Exit(code=1)


def channels(as_json: JsonFlag = False) -> None:
    """Live channels: state, caller, dialed extension, bridge, duration, IVR menu."""
    found = call_api(lambda c: c.channels())
    if as_json:
        typer.echo(dump(found))
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
    found = call_api(lambda c: c.endpoints())
    if as_json:
        typer.echo(dump(found))
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
    call_id = call_api(lambda c: c.call(from_extension, to_extension))
    typer.echo(dump({"call_id": call_id}) if as_json else f"calling: call {call_id}")


def live(as_json: JsonFlag = False) -> None:
    """Live calls with their parties (one line each) and any attended transfer."""
    found = call_api(lambda c: c.live_calls())
    if as_json:
        typer.echo(dump(found))
        return
    if not found:
        typer.echo("no live calls")
        return
    rows = []
    for c in found:
        columns = [
            c.id,
            c.stage,
            f"{c.caller_name} <{c.caller_number}>" if c.caller_name else c.caller_number,
            c.dialed,
            f"{c.duration:.0f}s",
        ]
        moving = (
            f"{c.transfer.id} {c.transfer.state.value} -> {c.transfer.extension}"
            if c.transfer
            else "-"
        )
        for i, p in enumerate(c.parties):
            first = i == 0
            party = [p.channel_id, p.extension, p.role.value, p.state.value]
            rows.append(
                [*(columns if first else [""] * len(columns)), *party, moving if first else ""]
            )
        if not c.parties:
            rows.append([*columns, "-", "", "", "", moving])
    headers = ["CALL", "STAGE", "CALLER", "DIALED", "DURATION"]
    headers += ["CHANNEL", "EXT", "ROLE", "STATE", "TRANSFER"]
    typer.echo(table(headers, rows))


def hangup(channel_id: ChannelArg) -> None:
    """Hang up a live channel."""
    call_api(lambda c: c.hangup(channel_id))
    typer.echo(f"hung up {channel_id}")


def hold(channel_id: ChannelArg) -> None:
    """Put on hold the party CHANNEL_ID talks to: it hears music until `cti unhold`."""
    call_api(lambda c: c.hold(channel_id))
    typer.echo(f"{channel_id} holds: the other party hears music")


def unhold(channel_id: ChannelArg) -> None:
    """Take back the party CHANNEL_ID put on hold."""
    call_api(lambda c: c.unhold(channel_id))
    typer.echo(f"{channel_id} took the other party back from hold")


# --------------------------------------------------------------------------------- transfer
class _DefaultToStart(TyperGroup):
    """``cti transfer CHANNEL EXT`` means ``cti transfer start CHANNEL EXT``: anything that is
    neither a subcommand nor --help goes to ``start``. Channel ids are never a command's name."""

    # ctx is typer's Context, whose click base is private to typer (vendored): hence Any.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["start", *args]
        return super().parse_args(ctx, args)


transfer_app = typer.Typer(
    cls=_DefaultToStart,
    no_args_is_help=True,
    subcommand_metavar="CHANNEL_ID EXTENSION [--attended] | complete|cancel|show TRANSFER_ID",
    help="Transfer a call: `cti transfer CHANNEL_ID EXTENSION` (blind), add --attended to talk "
    "to EXTENSION first; then `cti transfer complete|cancel|show TRANSFER_ID`.",
)


@transfer_app.command("start")
def transfer(
    channel_id: ChannelArg,
    extension: Annotated[str, typer.Argument(help="Where to send the call, e.g. 2001")],
    attended: Annotated[
        bool,
        typer.Option(
            "--attended",
            help="The party on CHANNEL_ID hears music while the party it talks to rings "
            "EXTENSION; prints the transfer id for complete, cancel and show",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """The default: blind (the caller goes to EXTENSION), or --attended."""
    if not attended:
        call_api(lambda c: c.transfer(channel_id, extension))
        done = {"channel_id": channel_id, "extension": extension, "mode": "blind"}
        typer.echo(dump(done) if as_json else f"transferred {channel_id} to {extension}")
        return
    started: TransferOut = call_api(lambda c: c.start_transfer(channel_id, extension, "attended"))
    typer.echo(dump(started) if as_json else f"transferring: transfer {started.id}")


@transfer_app.command("complete")
def transfer_complete(transfer_id: TransferIdArg, as_json: JsonFlag = False) -> None:
    """Connect the moved party to the answered target; the initiator is released."""
    done: TransferOut = call_api(lambda c: c.complete_transfer(transfer_id))
    typer.echo(dump(done) if as_json else f"completed transfer {done.id} to {done.extension}")


@transfer_app.command("cancel")
def transfer_cancel(transfer_id: TransferIdArg, as_json: JsonFlag = False) -> None:
    """Hang up the target; the initiator gets the moved party back."""
    done: TransferOut = call_api(lambda c: c.cancel_transfer(transfer_id))
    typer.echo(dump(done) if as_json else f"cancelled transfer {done.id}")


@transfer_app.command("show")
def transfer_show(transfer_id: TransferIdArg, as_json: JsonFlag = False) -> None:
    """One transfer: its state, the moved party, the initiator and the target."""
    t: TransferOut = call_api(lambda c: c.get_transfer(transfer_id))
    if as_json:
        typer.echo(dump(t))
        return
    headers = ["ID", "MODE", "STATE", "MOVED", "INITIATOR", "EXTENSION", "TARGET", "REASON"]
    row = [t.id, t.mode, t.state.value, t.moved, t.initiator or "-", t.extension]
    typer.echo(table(headers, [[*row, t.target or "-", t.reason or "-"]]))


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
        call_api(follow)
    except KeyboardInterrupt:
        raise typer.Exit(code=0) from None


def describe(pop: dict[str, Any]) -> str:
    """One line for people: what happened, where, from whom."""
    kind = str(pop.get("type", "?"))
    if kind == "overflow":
        return f"(missed {pop.get('dropped')} events: this terminal was too slow)"
    if kind == "missed":
        return f"(missed events after {pop.get('after')}: the worker no longer has them)"
    if kind == "agent-state":  # about an agent, not a call
        line = f"{kind:<12} {pop.get('extension') or '?':<8} {pop.get('state')}"
        if pop.get("reason"):
            line += f" ({pop.get('reason')})"
        queues = pop.get("queues") or []
        return line + (f" in {', '.join(map(str, queues))}" if queues else "")
    who = f"{pop.get('caller_name') or ''} <{pop.get('caller_number') or '?'}>".strip()
    where = pop.get("extension") or pop.get("dialed") or "?"
    line = f"{kind:<12} {where:<8} from {who}  call {pop.get('call_id')}"
    if pop.get("queue"):
        line += f"  queue {pop.get('queue')}"
    if kind == "ended":
        line += f"  {pop.get('disposition')} after {pop.get('duration')}s"
    return line


def register(app: typer.Typer) -> None:
    """Add the REST commands to ``app`` (the top-level ``cti``)."""
    app.command("health")(health)
    app.command("channels")(channels)
    app.command("endpoints")(endpoints)
    # Not `cti calls live`: `cti calls` is the history's group (stasis_app/events/commands.py).
    app.command("live")(live)
    app.command("call")(call)
    app.command("hangup")(hangup)
    app.add_typer(transfer_app, name="transfer")
    app.command("hold")(hold)
    app.command("unhold")(unhold)
    app.command("watch")(watch)


__all__ = ["JsonFlag", "call_api", "describe", "dump", "make_client", "register", "table"]
