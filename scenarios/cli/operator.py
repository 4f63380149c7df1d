"""Operator commands: the console, and one-shot cmd/tlm/events/history for scripts and shells."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from common.runconfig import ConfigError, RunConfig

_RUN_DIR = click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path),
                        required=True, help="Run directory of a running fleet.")


def _run(run_dir: Path) -> RunConfig:
    try:
        return RunConfig.load(run_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _client_call(run_dir: Path, work: Any) -> Any:
    from ground.client import Client, GroundError

    async def go() -> Any:
        client = Client(_run(run_dir), "cli")
        try:
            await client.connect(wall_timeout=10.0)
        except ConnectionError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            return await work(client)
        except GroundError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            await client.close()

    return asyncio.run(go())


@click.command("console")
@_RUN_DIR
def console_cmd(run_dir: Path) -> None:
    """The operator console on a running fleet."""
    from ground.console.app import Console

    Console(_run(run_dir)).run()


@click.command("cmd")
@_RUN_DIR
@click.argument("satellite")
@click.argument("command")
@click.argument("args", nargs=-1)
@click.option("--wait/--no-wait", default=False, help="Wait for the command's end.")
@click.option("--timeout", type=float, default=3600.0, show_default=True,
              help="Simulated seconds to wait with --wait.")
def cmd_cmd(run_dir: Path, satellite: str, command: str, args: tuple[str, ...], wait: bool,
            timeout: float) -> None:
    """Queue COMMAND (APP.VERB ARG=VALUE …) for SATELLITE; with --wait, print its stages and
    exit 0 only if it completed."""
    from ground.console.completion import LineError, parse_line

    run = _run(run_dir)
    try:
        parsed = parse_line(" ".join([satellite, command, *args]), list(run.satellites))
    except LineError as exc:
        raise click.ClickException(str(exc)) from None

    async def work(client: Any) -> int:
        handle = await client.cmd(parsed.satellite, parsed.command.name, **parsed.args)
        click.echo(f"command {handle.id} {handle.state}")
        if not wait:
            return 0
        await handle.await_complete(timeout=timeout)
        for stage, when in handle.stages:
            click.echo(f"  {stage:<10} {dt.datetime.fromtimestamp(when, dt.UTC):%H:%M:%S.%f}")
        if handle.error:
            click.echo(f"  {handle.error}")
        return 0 if handle.is_success() else 1

    sys.exit(_client_call(run_dir, work))


@click.command("tlm")
@_RUN_DIR
@click.argument("satellite")
@click.argument("param")
def tlm_cmd(run_dir: Path, satellite: str, param: str) -> None:
    """Print the latest value of PARAM (NAMESPACE.NAME) of SATELLITE."""
    async def work(client: Any) -> Any:
        return await client.request("tlm", satellite=satellite, param=param.upper())

    reply = _client_call(run_dir, work)
    when = (dt.datetime.fromtimestamp(reply["time"], dt.UTC).isoformat()
            if reply["time"] else "never")
    click.echo(json.dumps({"satellite": satellite, "param": param.upper(),
                           "value": reply["value"], "time": when}))


@click.command("events")
@_RUN_DIR
@click.option("--satellite")
@click.option("--limit", type=int, default=50, show_default=True)
def events_cmd(run_dir: Path, satellite: str | None, limit: int) -> None:
    """Print recent events, one JSON object per line."""
    async def work(client: Any) -> Any:
        return await client.events(satellite, limit=limit)

    for event in _client_call(run_dir, work):
        click.echo(json.dumps(event))


@click.command("history")
@_RUN_DIR
@click.option("--satellite")
def history_cmd(run_dir: Path, satellite: str | None) -> None:
    """Print the command history, one JSON object per line."""
    async def work(client: Any) -> Any:
        return await client.history(satellite)

    for record in _client_call(run_dir, work):
        click.echo(json.dumps(record))
