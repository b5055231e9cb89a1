"""``cti queues | agents | agent login|logout|pause|unpause``: queues and agents from a terminal.

Like the other API commands (:mod:`stasis_app.http.commands`), they go through the running
worker's REST API, print aligned tables for people or JSON with ``--json``, and on an error print
the API's code and message and exit 1. ``register(app)`` adds them to the top-level ``cti``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from stasis_app.http.commands import JsonFlag, call_api, dump, table
from stasis_app.http.models import AgentOut, QueueOut, QueueStatsOut
from stasis_app.queues.views import AgentState

ExtensionArg = Annotated[str, typer.Argument(help="The agent's extension, e.g. 2001")]

_STATE_WORDS = {
    AgentState.LOGGED_OUT: "logged out",
    AgentState.AVAILABLE: "available",
    AgentState.RINGING: "ringing",
    AgentState.ON_CALL: "on a call",
    AgentState.WRAP_UP: "in wrap-up",
    AgentState.PAUSED: "paused",
}


def elapsed(seconds: float) -> str:
    """``42s``, ``4m05s``, ``2h03m``, ``3d04h``: short, and exact enough at a glance."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def figures(today: QueueStatsOut) -> str:
    """Today's figures on one line."""
    sl = "-" if today.service_level_pct is None else f"{today.service_level_pct:.1f}%"
    return (
        f"today {today.date}: offered {today.offered}, answered {today.answered}, "
        f"abandoned {today.abandoned}, overflowed {today.overflowed}, "
        f"SL {sl} (within {today.service_level_threshold:g}s), "
        f"ASA {_seconds(today.average_speed_of_answer)}, "
        f"longest wait {_seconds(today.longest_wait)}"
    )


def describe_queue(q: QueueOut) -> str:
    """A queue for people: a title, today's figures, its waiting callers, its agents."""
    available = sum(a.state is AgentState.AVAILABLE for a in q.agents)
    lines = [
        f"queue {q.name} ({q.strategy.value}): {len(q.waiting)} waiting, "
        f"{available} of {len(q.agents)} agents available",
        figures(q.today),
        "",
    ]
    if q.waiting:
        rows = [
            [
                str(w.position),
                f"{w.caller_name} <{w.caller_number}>" if w.caller_name else w.caller_number,
                elapsed(w.waiting_seconds),
                ", ".join(w.offered_to) or "-",
            ]
            for w in q.waiting
        ]
        lines += [table(["POS", "CALLER", "WAITED", "RINGING"], rows), ""]
    else:
        lines += ["no callers waiting", ""]
    rows = [
        [a.extension, a.state.value, elapsed(a.seconds_in_state), a.pause_reason or "-"]
        for a in q.agents
    ]
    lines.append(table(["AGENT", "STATE", "FOR", "REASON"], rows) if rows else "no agents")
    return "\n".join(lines)


def describe_agent(a: AgentOut) -> str:
    """One sentence: what the agent is now, where, and why if paused."""
    line = f"{a.extension} is {_STATE_WORDS.get(a.state, a.state.value)}"
    if a.queues and a.state is not AgentState.LOGGED_OUT:
        line += f" in {', '.join(a.queues)}"
    if a.pause_reason:
        # A pause outlasts a logout or a ringing phone: say so, or it would seem forgotten.
        paused = "" if a.state is AgentState.PAUSED else "paused: "
        line += f" ({paused}{a.pause_reason})"
    return line


def queues(
    name: Annotated[str | None, typer.Argument(help="Only this queue")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Queues: callers waiting, agents and their states, today's figures (SL, ASA ...)."""
    found: list[QueueOut] = call_api(lambda c: [c.queue(name)] if name else c.queues())
    if as_json:
        typer.echo(dump(found[0] if name else found))
        return
    if not found:
        typer.echo("no queues (is there a queues file?)")
        return
    typer.echo("\n\n".join(describe_queue(q) for q in found))


def agents(as_json: JsonFlag = False) -> None:
    """Agents: state and for how long, queues, pause reason, calls today, reachable."""
    found: list[AgentOut] = call_api(lambda c: c.agents())
    if as_json:
        typer.echo(dump(found))
        return
    if not found:
        typer.echo("no agents (no queue names any extension)")
        return
    rows = [
        [
            a.extension,
            a.state.value,
            elapsed(a.seconds_in_state),
            ",".join(a.queues) or "-",
            a.pause_reason or "-",
            str(a.calls_today),
            "yes" if a.reachable else "no",
        ]
        for a in found
    ]
    headers = ["AGENT", "STATE", "FOR", "QUEUES", "REASON", "CALLS", "REACHABLE"]
    typer.echo(table(headers, rows))


agent_app = typer.Typer(
    no_args_is_help=True,
    help="Log an agent in or out of its queues, pause it, unpause it.",
)


def _show(agent: AgentOut, as_json: bool) -> None:
    typer.echo(dump(agent) if as_json else describe_agent(agent))


@agent_app.command("login")
def agent_login(
    extension: ExtensionArg,
    queue_names: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="QUEUE", help="Default: every queue that lists EXTENSION as an agent"
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Log EXTENSION in to queues, so they offer it calls."""
    _show(call_api(lambda c: c.login_agent(extension, queue_names or ())), as_json)


@agent_app.command("logout")
def agent_logout(
    extension: ExtensionArg,
    queue_names: Annotated[
        list[str] | None,
        typer.Argument(metavar="QUEUE", help="Default: every queue it logged in to"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Log EXTENSION out of queues (static members cannot: pause them instead)."""
    _show(call_api(lambda c: c.logout_agent(extension, queue_names or ())), as_json)


@agent_app.command("pause")
def agent_pause(
    extension: ExtensionArg,
    reason: Annotated[
        str | None, typer.Option("--reason", "-r", help="Why, e.g. lunch (1-64 characters)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Offer EXTENSION no calls, in any queue, until `cti agent unpause`."""
    _show(call_api(lambda c: c.pause_agent(extension, reason)), as_json)


@agent_app.command("unpause")
def agent_unpause(extension: ExtensionArg, as_json: JsonFlag = False) -> None:
    """Offer EXTENSION calls again."""
    _show(call_api(lambda c: c.unpause_agent(extension)), as_json)


def register(app: typer.Typer) -> None:
    """Add the queue and agent commands to ``app`` (the top-level ``cti``)."""
    app.command("queues")(queues)
    app.command("agents")(agents)
    app.add_typer(agent_app, name="agent")


__all__ = ["describe_agent", "describe_queue", "elapsed", "figures", "register"]
