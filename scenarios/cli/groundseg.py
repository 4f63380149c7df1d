"""``dawndusk ground`` and ``dawndusk link``: the ground segment's processes."""

from __future__ import annotations

from pathlib import Path

import click

from common.runconfig import ConfigError, RunConfig

_RUN_DIR = click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path),
                        required=True, help="Run directory (with its run.json).")
_CONSOLE = click.option("--console", is_flag=True, help="Also log readably on standard error.")


def _load(run_dir: Path) -> RunConfig:
    try:
        run = RunConfig.load(run_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    missing = [name for name in run.satellites if name not in run.tle]
    if missing:
        raise click.ClickException(f"run.json has no element sets (tle) for {', '.join(missing)}")
    return run


@click.command("ground")
@_RUN_DIR
@click.option("--clock-master", is_flag=True, help="Own the run's clock (pause, resume, rate).")
@_CONSOLE
def ground_cmd(run_dir: Path, clock_master: bool, console: bool) -> None:
    """Run ground control: contact plan, commanding, archive, operator API."""
    from ground.control.service import run_ground

    _load(run_dir)
    raise SystemExit(run_ground(str(run_dir), clock_master, console))


@click.command("link")
@_RUN_DIR
@_CONSOLE
def link_cmd(run_dir: Path, console: bool) -> None:
    """Run the space link emulator between ground control and the satellites."""
    from ground.link.emulator import run_link

    _load(run_dir)
    raise SystemExit(run_link(str(run_dir), console))
