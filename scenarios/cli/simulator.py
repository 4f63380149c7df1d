"""``dawndusk sim``: the simulated hardware of a run's satellites."""

from __future__ import annotations

from pathlib import Path

import click

from common.runconfig import ConfigError, RunConfig


@click.command("sim")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run directory (its run.json names the satellites and their orbits).")
@click.option("--exclude", multiple=True, metavar="SATELLITE",
              help="Leave this satellite's hardware to someone else (a rig); repeatable.")
@click.option("--console", is_flag=True, help="Also log readably on standard error.")
def sim_cmd(run_dir: Path, exclude: tuple[str, ...], console: bool) -> None:
    """Simulate the hardware (orbit, power, thermal, compute nodes) of every satellite."""
    from flight.sim.main import run_sim

    try:
        run = RunConfig.load(run_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    unknown = sorted(set(exclude) - set(run.satellites))
    if unknown:
        raise click.ClickException(f"--exclude: not in the run: {', '.join(unknown)}")
    raise SystemExit(run_sim(str(run_dir), exclude, console))
