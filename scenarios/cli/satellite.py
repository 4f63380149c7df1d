"""``dawndusk sat``: one satellite, standalone or as part of a run."""

from __future__ import annotations

from pathlib import Path

import click

from common.runconfig import APP_HOSTINGS, RUN_FILE, ConfigError, RunConfig, new_run


@click.command("sat")
@click.argument("satellite")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run directory (made, with a run.json, if it has none).")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="Clock rate when this satellite starts a new run.")
@click.option("--clock-master/--no-clock-master", default=None,
              help="Publish the run's clock (default: only when starting a new run).")
@click.option("--app-hosting", type=click.Choice(APP_HOSTINGS), default="separate",
              show_default=True,
              help="A process per app, or one for all of them, when starting a new run.")
@click.option("--console", is_flag=True, help="Also log readably on standard error.")
def satellite_cmd(satellite: str, run_dir: Path, rate: float, clock_master: bool | None,
                  app_hosting: str, console: bool) -> None:
    """Run SATELLITE's flight software (executive and apps) until Ctrl-C or SIGTERM."""
    from flight.image import leave_out

    leave_out(console=console)  # before the flight software imports anything
    from flight.executive.main import run_satellite

    created = not (run_dir / RUN_FILE).exists()
    try:
        if created:
            new_run(run_dir, (satellite,), rate=rate, app_hosting=app_hosting).save()
        run = RunConfig.load(run_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if satellite not in run.satellites:
        raise click.ClickException(f"{satellite} is not in {run_dir / RUN_FILE}: "
                                   f"{', '.join(run.satellites)}")
    raise SystemExit(run_satellite(str(run_dir), satellite,
                                   clock_master=created if clock_master is None else clock_master,
                                   console=console))
