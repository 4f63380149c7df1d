"""``dawndusk run``, ``up`` and ``report``: scenarios, fleets for operators, and reports."""

from __future__ import annotations

from pathlib import Path

import click

from common.runconfig import APP_HOSTINGS, MAX_SATELLITES, ConfigError

#: ``--app-hosting``, for ``run`` and ``up``: the configuration's ``run.app_hosting`` otherwise.
app_hosting_option = click.option(
    "--app-hosting", type=click.Choice(APP_HOSTINGS),
    help="A process per flight app, one for each satellite's apps, or the apps in their "
         "executive's process, instead of the configuration's.")
#: ``--flight-group``, for ``run`` and ``up``: the configuration's ``run.flight_group`` otherwise.
flight_group_option = click.option(
    "--flight-group", type=click.IntRange(min=1),
    help="Satellites whose executives share a process, instead of the configuration's.")


@click.command("run")
@click.argument("scenario")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to put the run (default: runs/<scenario>-<time>).")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True),
              help="Simulated hours to play instead of the configuration's.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True),
              help="Clock rate instead of the configuration's.")
@click.option("--satellites", type=click.IntRange(1, MAX_SATELLITES),
              help="Satellites per plane instead of the configuration's.")
@app_hosting_option
@flight_group_option
@click.option("--no-progress", is_flag=True, help="No progress bar (for logs and CI).")
def run_cmd(scenario: str, run_dir: Path | None, hours: float | None, rate: float | None,
            satellites: int | None, app_hosting: str | None, flight_group: int | None,
            no_progress: bool) -> None:
    """Play SCENARIO (a script, or the name of one shipped in scenarios/)."""
    from scenarios.mission import load_scenario
    from scenarios.runner import default_run_dir, play

    try:
        loaded = load_scenario(scenario)
        config = loaded.config.with_changes(duration_h=hours, rate=rate, per_plane=satellites,
                                            app_hosting=app_hosting, flight_group=flight_group)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    raise SystemExit(play(loaded, run_dir or default_run_dir(loaded.name), config,
                          progress=not no_progress))


@click.command("up")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--rate", type=click.FloatRange(min=0, min_open=True))
@click.option("--hil", multiple=True, metavar="SATELLITE",
              help="Leave this satellite's hardware to an external rig; repeatable.")
@app_hosting_option
@flight_group_option
def up_cmd(config: Path, run_dir: Path | None, rate: float | None, hil: tuple[str, ...],
           app_hosting: str | None, flight_group: int | None) -> None:
    """Launch the fleet of CONFIG and keep it running for operators until Ctrl-C."""
    from scenarios.config import load
    from scenarios.runner import default_run_dir, up

    try:
        fleet = load(config).with_changes(rate=rate, app_hosting=app_hosting,
                                          flight_group=flight_group)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    raise SystemExit(up(fleet, run_dir or default_run_dir(config.stem), hil))


@click.command("report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def report_cmd(run_dir: Path) -> None:
    """Rebuild the report of RUN_DIR from its archive and what the run saved beside it (its
    expectations, title and story)."""
    from ground.archive import ArchiveError
    from scenarios.report import build
    from scenarios.story import ReportError

    try:
        click.echo(build(run_dir))
    except (ArchiveError, ReportError) as exc:
        raise click.ClickException(str(exc)) from None
