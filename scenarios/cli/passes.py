"""``dawndusk passes``: contact windows of satellites over ground stations."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

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
@click.option("--relay", is_flag=True, help="Coverage per satellite through the whole network: "
              "minutes reachable and longest gap directly, via relay, via inter-satellite "
              "links, and in all.")
@click.option("--relays", "relay_names", default="tianlian", show_default=True,
              help="With --relay: comma-separated relays or presets ('' for none).")
@click.option("--isl", type=click.Choice(["none", "in-plane", "cross-plane"]),
              default="in-plane", show_default=True, help="With --relay: which ISLs close.")
@click.option("--slot-spacing", type=click.FloatRange(0, 180), default=0.0, show_default=True,
              help="Degrees between neighbours in a plane (0: evenly around it).")
def passes_cmd(tle_file: Path | None, altitude: float, ltan: float, planes: int,
               per_plane: int, stations: str, start: str | None, hours: float, as_json: bool,
               summary: bool, relay: bool, relay_names: str, isl: str,
               slot_spacing: float) -> None:
    """Predict contact windows (AOS, TCA, LOS, maximum elevation), or with --relay the
    coverage of every satellite through stations, relays and inter-satellite links."""
    begin = _when(start) if start else dt.datetime.now(dt.UTC).replace(
        hour=0, minute=0, second=0, microsecond=0)
    try:
        sites = network(stations.split(","))
        if tle_file is not None:
            satellites: list[Elements] = read_tle_file(tle_file.read_text())
        else:
            satellites = Constellation(begin, altitude, ltan, planes, per_plane,
                                       slot_spacing_deg=slot_spacing).elements()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    t0 = begin.timestamp()
    t1 = t0 + hours * 3600
    if relay:
        _coverage(satellites, sites, t0, t1, relay_names, isl, as_json)
        return
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


def _coverage(satellites: list[Elements], sites: list[Any], t0: float, t1: float,
              relay_names: str, isl: str, as_json: bool) -> None:
    """The --relay table: reachable minutes and longest gap per satellite, by way."""
    from ground.link.config import LinkConfig
    from ground.network.coverage import WAYS, reachability
    from ground.network.plan import ContactPlan

    names = [n for n in relay_names.split(",") if n.strip()]
    try:
        config = LinkConfig.from_overrides({"relays": names, "isl": isl})
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    plan = ContactPlan({e.name: e for e in satellites}, sites, config, t1 - t0 + 600)
    found = reachability(plan, t0, t1)
    if as_json:
        for item in found:
            click.echo(json.dumps(item.to_json()))
        return
    per_day = 86400 / (t1 - t0)
    click.echo(f"relays: {', '.join(plan.relays) or 'none'}; inter-satellite links: {isl} "
               f"({len(plan.pairs)} pairs); minutes per day reachable / longest gap (min)")
    click.echo(f"{'satellite':<10}" + "".join(f"{way:>16}" for way in WAYS))
    for item in found:
        cells = "".join(
            f"{item.reachable_s[way] / 60 * per_day:>8.0f} /{item.longest_gap_s[way] / 60:>6.0f}"
            for way in WAYS)
        click.echo(f"{item.satellite:<10}{cells}")
