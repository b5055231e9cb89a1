"""The ``cti`` command line (typer). Commands are synchronous; async work runs in asyncio.run."""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from stasis_app import logs
from stasis_app.errors import ConfigError, CtiError
from stasis_app.events import commands as events_commands
from stasis_app.events.backup import register as register_backup_command
from stasis_app.http.commands import register as register_api_commands
from stasis_app.http.history_commands import register as register_history_commands
from stasis_app.http.queue_commands import register as register_queue_commands
from stasis_app.ivr import IvrDefinition, sound_files
from stasis_app.ivr import load as load_definition
from stasis_app.lab import Lab, LabPaths, lab_environ
from stasis_app.lab.prompts import SOUNDS_DIR, install_lab_prompts
from stasis_app.lab.worker_account import (
    Account,
    account_for,
    blocked_for,
    hand_over,
    what_the_worker_reads,
)
from stasis_app.queues.loader import load as load_queues
from stasis_app.queues.model import QueueConfig
from stasis_app.service import load_ivr, run_worker
from stasis_app.settings import WORKER_USER, Settings, environ
from stasis_app.sounds import app as sounds_app

app = typer.Typer(
    help="cti: call-center CTI on Asterisk 22 (Stasis worker, REST API, lab).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
lab_app = typer.Typer(help="The native Asterisk lab (a Debian sid rootfs run under chroot).")
app.add_typer(lab_app, name="lab")
app.add_typer(sounds_app, name="sounds")
app.add_typer(events_commands.app, name="calls")
register_history_commands(events_commands.app)
register_backup_command(events_commands.app)
app.add_typer(events_commands.es_app, name="es")
register_api_commands(app)
register_queue_commands(app)


def _fail(exc: CtiError) -> typer.Exit:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def _lab() -> Lab:
    return Lab(LabPaths.from_environ(), progress=lambda line: typer.echo(line, err=True))


def _install_prompts(rootfs: Path) -> None:
    install_lab_prompts(rootfs, progress=lambda line: typer.echo(line, err=True))


@lab_app.command("up")
def lab_up() -> None:
    """Build (once, cached), configure and start the lab Asterisk; wait until fully booted."""
    try:
        status = _lab().up(install_prompts=_install_prompts)
    except CtiError as exc:
        raise _fail(exc) from exc
    typer.echo(f"running: pid {status.pid}, {status.version}")


@lab_app.command("down")
def lab_down() -> None:
    """Stop the lab Asterisk and unmount its /proc. Safe to run when it is not running."""
    try:
        _lab().down()
    except CtiError as exc:
        raise _fail(exc) from exc
    typer.echo("lab stopped")


@lab_app.command("status")
def lab_status() -> None:
    """Whether the lab Asterisk is running, its version and uptime."""
    try:
        status = _lab().status()
    except CtiError as exc:
        raise _fail(exc) from exc
    typer.echo(f"rootfs built: {'yes' if status.rootfs_built else 'no'}")
    if not status.running:
        typer.echo("Asterisk: stopped")
        raise typer.Exit(code=3)
    typer.echo(f"Asterisk: running (pid {status.pid})\n{status.version}\n{status.uptime}")


@lab_app.command("cli")
def lab_cli(command: Annotated[str, typer.Argument(help='e.g. "pjsip show endpoints"')]) -> None:
    """Run one Asterisk CLI command in the lab (like `asterisk -rx`)."""
    try:
        typer.echo(_lab().cli(command), nl=False)
    except CtiError as exc:
        raise _fail(exc) from exc


# ------------------------------------------------------------------------------------- run
def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop ``CTI_EVENT_LOOP`` names (None: asyncio's own). uvloop is not a
    dependency: measured, it saved nothing here (bench/notes.md, "Levers"); it stays selectable
    for that measurement (``pip install uvloop``)."""
    if name != "uvloop":
        return None
    try:
        module = importlib.import_module("uvloop")
    except ImportError:
        raise ConfigError(
            "CTI_EVENT_LOOP", "uvloop is not installed (pip install uvloop)"
        ) from None
    factory: Callable[[], asyncio.AbstractEventLoop] = module.new_event_loop
    return factory


@app.command("run")
def run(
    lab: Annotated[
        bool,
        typer.Option(
            "--lab/--no-lab",
            help="Also start the lab Asterisk (and stop it on exit), with the lab's credentials "
            "wherever CTI_* variables are not set.",
        ),
    ] = False,
) -> None:
    """Run the Stasis worker in the foreground until Ctrl-C / SIGTERM."""
    the_lab = _lab() if lab else None
    try:
        env = lab_environ(environ()) if lab else dict(environ())
        settings = Settings.from_environ(env)
        logs.configure(settings.log_format)
        load_ivr(settings)  # refuse to start on an invalid IVR before touching Asterisk
        account = None if the_lab is None else _worker_account(WORKER_USER.value(env), settings)
        if the_lab is not None:
            the_lab.up(install_prompts=_install_prompts)
            # The lab's own terminal: showing its token is what lets a person sign in.
            host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host  # noqa: S104 - compared, not bound
            typer.echo(
                f"cti: lab running. ARI {settings.ari_url} (user {settings.ari_user}).\n"
                f"cti: web console http://{host}:{settings.http_port}/ - sign in with the API "
                f"token {settings.api_token} (kept in {settings.data_dir / 'api-token'})",
                err=True,
            )
        if account is not None:
            code = _run_as(account, env, settings)
            if code != 0:
                raise typer.Exit(code=code)
            return
        pidfile = _pidfile(settings)
        pidfile.parent.mkdir(parents=True, exist_ok=True)
        pidfile.write_text(f"{os.getpid()}\n")
        try:
            with asyncio.Runner(loop_factory=loop_factory(settings.event_loop)) as runner:
                runner.run(run_worker(settings))
        finally:
            pidfile.unlink(missing_ok=True)
    except CtiError as exc:
        raise _fail(exc) from exc
    finally:
        if the_lab is not None:
            try:
                the_lab.down()
            except CtiError as exc:
                typer.secho(f"error stopping the lab: {exc}", fg=typer.colors.RED, err=True)


def _worker_account(wanted: str, settings: Settings) -> Account | None:
    """Under ``--lab`` as root: the unprivileged account to run the worker as, or None to run
    it in this process (already unprivileged, ``CTI_WORKER_USER=root``, or an account that
    cannot read the code: then a warning says which folder stops it)."""
    if os.geteuid() != 0:
        return None
    account = account_for(wanted)
    if account.is_root:
        return None
    blocked = blocked_for(account, what_the_worker_reads(settings.ivr_file, settings.data_dir))
    if blocked is not None:
        typer.secho(
            f"cti: warning: the worker runs as root, because the account {account.name!r} "
            f"cannot read {blocked}. Put the project and its Python where other accounts can "
            "read them (e.g. a clone in /opt or /srv; ./run.sh builds .venv on Debian's "
            "python3), or set CTI_WORKER_USER=root to choose root (docs/security.md).",
            fg=typer.colors.YELLOW,
            err=True,
        )
        return None
    return account


def _run_as(account: Account, env: dict[str, str], settings: Settings) -> int:
    """Run the worker (``cti run`` without ``--lab``) as ``account`` and wait for it; return its
    exit code. It gets a process group of its own so that Ctrl-C reaches it once, from us."""
    hand_over(settings.data_dir, account)
    child = subprocess.Popen(
        [sys.executable, "-m", "stasis_app", "run"],
        env=env,
        user=account.uid,
        group=account.gid,
        extra_groups=[],
        umask=0o077,
        process_group=0,
    )
    typer.echo(f"cti: worker pid {child.pid} runs as {account.name!r}", err=True)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    return child.wait()


def _pidfile(settings: Settings) -> Path:
    return settings.data_dir / "worker.pid"


# ------------------------------------------------------------------------------------- ivr
ivr_app = typer.Typer(help="Check and reload IVR definitions.")
app.add_typer(ivr_app, name="ivr")


@ivr_app.command("validate")
def ivr_validate(
    file: Annotated[Path, typer.Argument(help="IVR definition (TOML)")],
    sounds: Annotated[
        Path, typer.Option(help="Prompt folder (<lang>/<prompt>.wav) to check prompts against")
    ] = SOUNDS_DIR,
    queues: Annotated[
        Path | None,
        typer.Option(
            help="Queues file the IVR sends callers to (default: queues.toml beside FILE, "
            "if there is one)"
        ),
    ] = None,
) -> None:
    """Report every problem in an IVR file and its queues file, each with its path; exit 1 if
    there is any."""
    prompts = sound_files(sounds)
    queues_file = queues if queues is not None else _queues_beside(file)
    config: QueueConfig | None = None
    queues_error: CtiError | None = None
    names: tuple[str, ...] | None = ()  # no queues file: the IVR may send callers to none
    if queues_file is not None:
        try:  # first for the queue names, which the IVR's queue options must use
            config = load_queues(queues_file)
            names = tuple(config.queues)
        except CtiError as exc:
            # Its names are unknown: the IVR's queue options are not judged (None) rather
            # than all reported as unknown queues.
            queues_error, names = exc, None
    definition: IvrDefinition | None = None
    ivr_error: CtiError | None = None
    try:
        definition = load_definition(file, prompt_exists=prompts, queues=names)
    except CtiError as exc:
        ivr_error = exc
    if queues_file is not None and definition is not None:
        try:  # again, now that the language of the queues' prompts is known
            config = load_queues(
                queues_file, prompt_exists=prompts, languages=(definition.language,)
            )
        except CtiError as exc:
            queues_error = exc
    failures = [e for e in (ivr_error, queues_error) if e is not None]
    if failures or definition is None:
        for failure in failures:
            typer.secho(f"error: {failure}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)
    where = f"{len(config.queues)} queues in {queues_file}" if config else "no queues file"
    typer.echo(
        f"{file}: OK ({len(definition.menus)} menus, language {definition.language}, "
        f"start {definition.start!r}; {where})"
    )


def _queues_beside(file: Path) -> Path | None:
    beside = file.with_name("queues.toml")
    return beside if beside.is_file() else None


@ivr_app.command("reload")
def ivr_reload() -> None:
    """Make the running worker re-read its IVR file (SIGHUP); calls in progress are untouched."""
    try:
        settings = Settings.from_environ(lab_environ(environ()))
        pid = int(_pidfile(settings).read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        typer.secho("error: no running worker found (is `cti run` running?)", fg="red", err=True)
        raise typer.Exit(code=1) from None
    except CtiError as exc:
        raise _fail(exc) from exc
    typer.echo(f"asked worker {pid} to reload its IVR; check its log for the result")


def main() -> None:
    app()
