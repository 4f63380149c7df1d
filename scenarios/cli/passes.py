"""``dawndusk passes``: contact windows of satellites over ground stations."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from common.orbits import Constellation, Elements, read_tle_file
from ground.passes import contact_plan, coverage, network


def _when(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {text!r}", param_hint="--start") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@click.command("passes")
@click.option("--tle", "tle_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Element sets to use (a TLE file); otherwise a constellation is generated.")
@click.option("--altitude", type=float, default=750.0, show_default=True, help="km")
@click.option("--ltan", type=float, default=18.0, show_default=True,
              help="Local time of the ascending node, hours.")
@click.option("--planes", type=click.IntRange(1), default=1, show_default=True)
@click.option("--per-plane", type=click.IntRange(1), default=4, show_default=True)
@click.option("--stations", default="china", show_default=True,
              help="Comma-separated station names or networks (china, polar, all).")
@click.option("--start", default=None, help="ISO 8601 UTC start (default: today 00:00 UTC).")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=24.0,
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per pass.")
@click.option("--summary", is_flag=True, help="Per satellite: windows, contact minutes, "
              "longest gap.")
def passes_cmd(tle_file: Path | None, altitude: float, ltan: float, planes: int,
               per_plane: int, stations: str, start: str | None, hours: float, as_json: bool,
               summary: bool) -> None:
    """Predict contact windows (AOS, TCA, LOS, maximum elevation)."""
    begin = _when(start) if start else dt.datetime.now(dt.UTC).replace(
        hour=0, minute=0, second=0, microsecond=0)
    try:
        sites = network(stations.split(","))
        if tle_file is not None:
            satellites: list[Elements] = read_tle_file(tle_file.read_text())
        else:
            satellites = Constellation(begin, altitude, ltan, planes, per_plane).elements()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    t0 = begin.timestamp()
    t1 = t0 + hours * 3600
    plan = contact_plan(satellites, sites, t0, t1)
    if as_json:
        for item in plan:
            click.echo(json.dumps(item.to_json()))
        return
    if summary:
        click.echo(f"{'satellite':<10} {'windows':>7} {'contact min':>11} {'longest gap h':>13}")
        for sat in satellites:
            cov = coverage(plan, sat.name, t0, t1)
            click.echo(f"{sat.name:<10} {cov.windows:>7} {cov.contact_s / 60:>11.1f} "
                       f"{cov.longest_gap_s / 3600:>13.2f}")
        return
    click.echo(f"{'satellite':<10} {'station':<9} {'AOS (UTC)':<20} {'TCA':<9} {'LOS':<9} "
               f"{'max el':>6} {'min':>5}")
    for item in plan:
        def hms(unix: float) -> str:
            return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%H:%M:%S")

        aos = dt.datetime.fromtimestamp(item.aos, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"{item.satellite:<10} {item.station:<9} {aos:<20} {hms(item.tca):<9} "
                   f"{hms(item.los):<9} {item.max_elevation_deg:>6.1f} "
                   f"{item.duration_s / 60:>5.1f}")
