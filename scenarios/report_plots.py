"""The run report's plots, drawn with matplotlib from the archive: contact windows, time series
a panel per satellite (eclipses shaded, limits drawn), events on a timeline, command latencies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import logs
from common.dictionary import DICTIONARY, Severity
from common.dictionary.apps.sim import NODE_SENSORS
from ground.archive import Archive
from ground.protocol import FINAL_STATES
from scenarios.story import Story

SEVERITY_COLOURS = {Severity.INFO: "#8da0cb", Severity.LOW: "#e5c494",
                    Severity.MEDIUM: "#fc8d62", Severity.HIGH: "#b2182b"}
STATE_COLOURS = {"COMPLETED": "#4c72b0", "FAILED": "#c44e52", "TIMEOUT": "#dd8452",
                 "CANCELLED": "#8c8c8c"}
#: Up to this many satellites, each has its own panel in the time-series plots.
MAX_PANELS = 8
#: Events this severe or more are named on the events plot...
NAMED_SEVERITY = Severity.MEDIUM
#: ...one label for a run of one event on one satellite, each within this many simulated
#: seconds of the last.
LABEL_RUN_S = 3600.0
#: A line breaks where no telemetry came down for this many simulated seconds.
GAP_S = 900.0
ECLIPSE_STYLE: dict[str, Any] = {"color": "#000000", "alpha": 0.08}


def satellites_of(archive: Archive) -> list[str]:
    """The run's satellites (those of its contact plan), in order."""
    return [r[0] for r in archive.query("SELECT DISTINCT satellite FROM contacts "
                                        "ORDER BY satellite")]


def outages(run_dir: Path) -> list[tuple[str, float, float]]:
    """Stations (or relays) taken out of service, as the space link logged them:
    (name, start, end)."""
    found = []
    try:
        with logs.log_path(run_dir, "LINK").open(encoding="utf-8") as lines:
            for line in lines:
                if '"outage"' not in line:
                    continue
                entry = json.loads(line)
                if entry.get("event") == "outage":
                    found.append((str(entry["node"]), float(entry["start"]),
                                  float(entry["end"])))
    except (FileNotFoundError, json.JSONDecodeError, KeyError, ValueError):
        pass
    return found


# --- plots ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """A quantity drawn for each satellite: a parameter, or the highest of several at each time
    (with the first one's limits from the dictionary)."""

    label: str
    params: tuple[str, ...]
    colour: str


@dataclass(frozen=True)
class SeriesPlot:
    """A plot of time series, a panel per satellite."""

    name: str
    caption: str
    unit: str
    lines: tuple[Line, ...]
    eclipses: bool = True


NODE_TEMPS = tuple(temp for _state, temp, _power in NODE_SENSORS)
SERIES = (
    SeriesPlot("battery", "Battery state of charge", "%",
               (Line("state of charge", ("EPS.BATTERY_SOC",), "#4c72b0"),)),
    SeriesPlot("node_temp", "Temperatures: the hottest compute node and the battery", "°C",
               (Line("hottest compute node", NODE_TEMPS, "#c44e52"),
                Line("battery", ("THERMAL.BATTERY_TEMP",), "#4c72b0"))),
    SeriesPlot("radiator", "Radiator temperature", "°C",
               (Line("radiator", ("THERMAL.RADIATOR_TEMP",), "#dd8452"),)),
    SeriesPlot("utilisation", "Compute utilisation", "% of powered",
               (Line("utilisation", ("COMPUTE.NODE_UTILISATION",), "#55a868"),)),
    SeriesPlot("jobs", "Jobs done", "jobs", (Line("jobs done", ("COMPUTE.JOBS_DONE",),
                                                  "#8172b3"),), False),
)


@dataclass
class _Canvas:
    """Where the plots go, and what they share: the run's span and satellites."""

    plt: Any
    out: Path
    story: Story
    satellites: list[str]
    made: dict[str, Path] = field(default_factory=dict)
    shadows: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def hours(self, time: float) -> float:
        """Simulated hours since the start."""
        return (time - self.story.start) / 3600

    def figure(self, rows: int, height: float, **shared: Any) -> tuple[Any, list[Any]]:
        """A figure of ``rows`` axes on the run's span, one above the other."""
        fig, axes = self.plt.subplots(rows, 1, figsize=(10, height), squeeze=False,
                                      layout="constrained", **shared)
        for ax in axes[:, 0]:
            ax.set_xlim(0, self.story.hours)
        axes[-1, 0].set_xlabel("simulated hours")
        return fig, list(axes[:, 0])

    def save(self, fig: Any, name: str, caption: str) -> None:
        """Write the figure as ``name.png``, shown under ``caption``."""
        path = self.out / f"{name}.png"
        fig.savefig(path, dpi=90)
        self.plt.close(fig)
        self.made[caption] = path


def _with_gaps(points: list[tuple[float, Any]], start: float, gap_s: float = GAP_S
               ) -> tuple[list[float], list[float]]:
    """Hours and values, broken (NaN) where no telemetry came down for a while, so that a line
    never pretends to know what happened out of contact."""
    xs: list[float] = []
    ys: list[float] = []
    previous = None
    for time, value in points:
        if previous is not None and time - previous > gap_s:
            xs.append(float("nan"))
            ys.append(float("nan"))
        xs.append((time - start) / 3600)
        ys.append(float(value) if isinstance(value, int | float) else float("nan"))
        previous = time
    return xs, ys


def _in_shadow(points: list[tuple[float, Any]], gap_s: float = GAP_S
               ) -> list[tuple[float, float]]:
    """(from, to) of each run of samples out of sunlight, broken where telemetry stopped: from
    the first in shadow to the first sunlit again (or the last in shadow before a gap)."""
    spans = []
    begin = previous = None
    for time, sunlit in points:
        if begin is not None and previous is not None and (sunlit or time - previous > gap_s):
            spans.append((begin, time if sunlit and time - previous <= gap_s else previous))
            begin = None
        if not sunlit and begin is None:
            begin = time
        previous = time
    if begin is not None and previous is not None:
        spans.append((begin, previous))
    return spans


def _values(archive: Archive, satellite: str, params: tuple[str, ...]
            ) -> list[tuple[float, Any]]:
    """(time, value) of one parameter, or of the highest of several at each time."""
    if len(params) == 1:
        return archive.parameter(satellite, params[0])
    return archive.highest(satellite, params)


def _limits(ax: Any, line: Line) -> bool:
    """Draw the dictionary's limits of ``line`` (warning dashed, danger dotted); any drawn?"""
    param = DICTIONARY.params.get(line.params[0])
    limits = param.limits if param is not None else None
    if limits is None:
        return False
    for values, style in (((limits.warn_low, limits.warn_high), "--"),
                          ((limits.danger_low, limits.danger_high), ":")):
        for value in values:
            if value is not None:
                ax.axhline(value, color=line.colour, linestyle=style, linewidth=0.8, alpha=0.7)
    return True


def _series(canvas: _Canvas, archive: Archive, plot: SeriesPlot) -> None:
    """A panel per satellite (all on one axis when there are many), eclipses shaded."""
    plt, satellites = canvas.plt, canvas.satellites
    panels = len(satellites) <= MAX_PANELS
    fig, axes = canvas.figure(len(satellites) if panels else 1,
                              max(3.0, 1.0 + 1.1 * len(satellites)) if panels else 4.0,
                              sharex=True, sharey=True)
    shaded = limited = False
    for index, satellite in enumerate(satellites):
        ax = axes[index] if panels else axes[0]
        for line in plot.lines:
            xs, ys = _with_gaps(_values(archive, satellite, line.params), canvas.story.start)
            ax.plot(xs, ys, color=line.colour, linewidth=1, marker=".", markersize=2,
                    alpha=1.0 if panels else 0.5)
        if panels:
            ax.set_ylabel(satellite, fontsize=8)
            if plot.eclipses and (spans := _shadow_of(canvas, archive, satellite)):
                ax.broken_barh(spans, (0, 1), transform=ax.get_xaxis_transform(),
                               linewidth=0, **ECLIPSE_STYLE)
                shaded = True
    for ax in axes:
        for line in plot.lines:
            limited = _limits(ax, line) or limited
    _legend(plt, fig, plot.lines, limited, shaded)
    fig.suptitle(plot.caption)
    fig.supylabel(plot.unit)
    canvas.save(fig, plot.name, plot.caption)


def _legend(plt: Any, fig: Any, lines: tuple[Line, ...], limited: bool, shaded: bool) -> None:
    """The legend of a time-series plot, right of its panels (none for one line alone)."""
    handles = [plt.Line2D([], [], color=line.colour, label=line.label) for line in lines]
    if limited:
        handles += [plt.Line2D([], [], color="grey", linestyle="--", label="warning limit"),
                    plt.Line2D([], [], color="grey", linestyle=":", label="danger limit")]
    if shaded:
        handles.append(plt.Rectangle((0, 0), 1, 1, label="eclipse (ORBIT.SUNLIT = 0)",
                                     **ECLIPSE_STYLE))
    if len(handles) > 1:
        fig.legend(handles=handles, loc="outside right upper", fontsize=7)


def _shadow_of(canvas: _Canvas, archive: Archive, satellite: str) -> list[tuple[float, float]]:
    """(start hour, hours) of each archived eclipse of ``satellite`` (looked up once)."""
    if satellite not in canvas.shadows:
        canvas.shadows[satellite] = [
            (canvas.hours(first), (last - first) / 3600)
            for first, last in _in_shadow(archive.parameter(satellite, "ORBIT.SUNLIT"))]
    return canvas.shadows[satellite]


def _contacts(canvas: _Canvas, archive: Archive, out_of_service: list[tuple[str, float, float]]
              ) -> None:
    """The contact plan as a Gantt chart, station outages hatched."""
    plt, satellites = canvas.plt, canvas.satellites
    fig, (ax,) = canvas.figure(1, 1.0 + 0.45 * max(1, len(satellites)))
    stations = sorted({r[0] for r in archive.query("SELECT DISTINCT station FROM contacts")})
    colours = {s: plt.cm.tab10(i % 10) for i, s in enumerate(stations)}
    for row, satellite in enumerate(satellites):
        for station, kind, windows in _windows(archive, satellite, canvas.hours):
            # Station passes fill the row; relay windows run as a thin band beneath them.
            band = (row - 0.4, 0.8) if kind == "station" else (row - 0.45, 0.2)
            ax.broken_barh(windows, band, color=colours[station],
                           alpha=1.0 if kind == "station" else 0.6)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[s], label=s) for s in stations]
    spans: dict[tuple[float, float], list[str]] = {}
    for name, start, end in out_of_service:
        spans.setdefault((start, end), []).append(name)
    for (start, end), names in spans.items():
        label = (f"out of service: {', '.join(names)}" if len(names) <= 2
                 else f"{len(names)} stations out of service")
        ax.axvspan(canvas.hours(start), canvas.hours(end), facecolor="none", edgecolor="grey",
                   hatch="///", linewidth=0.5)
        handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="none", edgecolor="grey",
                                     hatch="///", label=label))
    ax.set_yticks(range(len(satellites)), satellites)
    ax.set_ylim(-0.6, len(satellites) - 0.4)
    ax.set_title("Contact windows (colour: station; thin band: relay)")
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)
    canvas.save(fig, "contacts", "Contact windows")


def _windows(archive: Archive, satellite: str, hours: Any
             ) -> list[tuple[str, str, list[tuple[float, float]]]]:
    """(station, kind, [(start hour, hours)]) of a satellite's contact windows."""
    found: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for station, aos, los, kind in archive.query(
            "SELECT station, aos, los, kind FROM contacts WHERE satellite = ? ORDER BY aos",
            satellite):
        found.setdefault((station, kind), []).append((hours(aos), (los - aos) / 3600))
    return [(station, kind, windows) for (station, kind), windows in found.items()]


@dataclass
class _Burst:
    """Events of one name on one satellite, each soon after the last: one label."""

    first: float
    last: float
    name: str
    count: int = 1

    @property
    def text(self) -> str:
        """The label."""
        return self.name if self.count == 1 else f"{self.name} ×{self.count}"


def _bursts(events: list[tuple[float, str]]) -> list[_Burst]:
    """The labels of a satellite's notable events, (simulated time, name) in time order."""
    bursts: list[_Burst] = []
    open_: dict[str, _Burst] = {}
    for time, name in events:
        burst = open_.get(name)
        if burst is not None and time - burst.last <= LABEL_RUN_S:
            burst.last, burst.count = time, burst.count + 1
        else:
            burst = open_[name] = _Burst(time, time, name)
            bursts.append(burst)
    return bursts


def _levels(labels: list[tuple[float, float]]) -> list[int]:
    """The lowest level for each (x, width) label, in x order, that none overlaps on."""
    ends: list[float] = []
    levels = []
    for x, width in labels:
        level = next((i for i, end in enumerate(ends) if end <= x), len(ends))
        if level == len(ends):
            ends.append(0.0)
        ends[level] = x + width
        levels.append(level)
    return levels


def _events(canvas: _Canvas, archive: Archive) -> None:
    """Events as dots coloured by severity; the notable ones named, stacked above their row."""
    satellites, span_h = canvas.satellites, canvas.story.hours
    events = archive.query("SELECT satellite, name, severity, time FROM events ORDER BY time")
    # A label's width in hours: ~0.06 in a character at 7 pt on ~8 in of axis.
    per_char_h = 0.06 * max(span_h, 1e-3) / 8.0
    rows: list[tuple[float, list[_Burst], list[int]]] = []
    base = 0.0
    for satellite in satellites:
        bursts = _bursts([(e[3], e[1]) for e in events
                          if e[0] == satellite and e[2] >= NAMED_SEVERITY])
        levels = _levels([(canvas.hours(b.first), len(b.text) * per_char_h) for b in bursts])
        rows.append((base, bursts, levels))
        base += 1.0 + 0.3 * (max(levels) + 1 if levels else 0)
    fig, (ax,) = canvas.figure(1, 1.0 + 0.4 * max(base, 1.0))
    row_of = {s: row[0] for s, row in zip(satellites, rows, strict=True)}
    for severity in Severity:
        mine = [e for e in events if e[2] == severity and e[0] in row_of]
        if mine:
            ax.scatter([canvas.hours(e[3]) for e in mine], [row_of[e[0]] for e in mine],
                       s=6 + 6 * severity, color=SEVERITY_COLOURS[severity], alpha=0.8,
                       label=severity.name.lower(), zorder=3)
    for y, bursts, levels in rows:
        for burst, level in zip(bursts, levels, strict=True):
            x = canvas.hours(burst.first)
            right = x + len(burst.text) * per_char_h > span_h
            ax.annotate(burst.text, (x, y), (x, y + 0.3 * (level + 1)),
                        fontsize=7, va="center", ha="right" if right else "left",
                        annotation_clip=False,
                        arrowprops={"arrowstyle": "-", "linewidth": 0.5, "color": "grey"})
    ax.set_yticks([row[0] for row in rows], satellites)
    ax.set_ylim(-0.5, max(base, 1.0) - 0.3)
    ax.set_title(f"Events by severity ({NAMED_SEVERITY.name.lower()} and above named; "
                 f"×n: repeated within {LABEL_RUN_S / 3600:g} h)")
    if events:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)
    canvas.save(fig, "events", "Events")


def command_latencies(archive: Archive) -> dict[str, list[float]]:
    """Simulated seconds each command took from sending (or queueing, if it was never sent) to
    its end, by how it ended (the final states that any command reached)."""
    rows = archive.query(
        "SELECT c.state, f.time - COALESCE(s.time, c.created) FROM commands c "
        "JOIN command_stages f ON f.command_id = c.id AND f.stage = c.state "
        "LEFT JOIN command_stages s ON s.command_id = c.id AND s.stage = 'SENT' "
        f"WHERE c.state IN ({','.join('?' * len(FINAL_STATES))}) ORDER BY c.id", *FINAL_STATES)
    found: dict[str, list[float]] = {}
    for state, seconds in rows:
        found.setdefault(state, []).append(seconds)
    return {state: found[state] for state in FINAL_STATES if state in found}


def _latency(canvas: _Canvas, archive: Archive) -> None:
    """How long commands took to end, stacked by how they ended."""
    latencies = command_latencies(archive)
    fig, ax = canvas.plt.subplots(figsize=(10, 3.0), layout="constrained")
    if latencies:
        ax.hist(list(latencies.values()), bins=30, stacked=True,
                color=[STATE_COLOURS[s] for s in latencies],
                label=[f"{s.lower()} ({len(v)})" for s, v in latencies.items()])
        ax.legend(fontsize=7)
    ax.set_xlabel("sent (or queued, if never sent) → completed, failed or timed out, "
                  "simulated seconds")
    ax.set_ylabel("commands")
    ax.set_title(f"Command verification latency "
                 f"({sum(len(v) for v in latencies.values())} commands)")
    canvas.save(fig, "latency", "Command verification latency")


def plots(archive: Archive, out: Path, story: Story,
          out_of_service: list[tuple[str, float, float]] | None = None) -> dict[str, Path]:
    """Draw every plot into ``out`` (``out_of_service``: station outages, from
    :func:`outages`); return caption → PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    canvas = _Canvas(plt, out, story, satellites_of(archive))
    _contacts(canvas, archive, out_of_service or [])
    for plot in SERIES:
        _series(canvas, archive, plot)
    _events(canvas, archive)
    _latency(canvas, archive)
    return canvas.made
