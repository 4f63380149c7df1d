"""The run report: plots and a summary from the archive, as PNGs and one self-contained HTML.

``dawndusk report RUN_DIR`` rebuilds it at any time from ``archive.sqlite``.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ground.archive import ARCHIVE_FILE, Archive

SEVERITY_COLOURS = {1: "#4c72b0", 2: "#dd8452", 3: "#c44e52", 4: "#8b0000"}
REPORT_DIR = "report"


@dataclass
class Summary:
    """The numbers of a run."""

    satellites: list[str]
    passes: int
    contact_minutes: float
    commands: dict[str, int]
    packets: int
    realtime: int
    playback: int
    gaps: int
    events: int
    jobs_done: int
    results_verified: int
    result_bytes: int
    alarms: int

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) for the summary table."""
        main = ("COMPLETED", "FAILED", "TIMEOUT")
        other = sum(v for k, v in self.commands.items() if k not in main)
        return [
            ("satellites", ", ".join(self.satellites)),
            ("contact windows", f"{self.passes} ({self.contact_minutes:.0f} min)"),
            ("commands completed / failed / timed out / other",
             f"{self.commands.get('COMPLETED', 0)} / {self.commands.get('FAILED', 0)} / "
             f"{self.commands.get('TIMEOUT', 0)} / {other}"),
            ("packets archived (real time / playback)",
             f"{self.packets} ({self.realtime} / {self.playback})"),
            ("real-time packets missing (gaps)", str(self.gaps)),
            ("events", str(self.events)),
            ("alarms", str(self.alarms)),
            ("jobs done", str(self.jobs_done)),
            ("results downlinked and verified", str(self.results_verified)),
            ("result bytes downlinked", f"{self.result_bytes:,}"),
        ]


def summarise(archive: Archive) -> Summary:
    """The summary numbers of the run in ``archive``."""
    one = lambda sql, *a: archive.query(sql, *a)[0][0] or 0  # noqa: E731
    satellites = [r[0] for r in archive.query("SELECT DISTINCT satellite FROM contacts "
                                              "ORDER BY satellite")]
    commands = {r[0]: r[1] for r in archive.query(
        "SELECT state, COUNT(*) FROM commands GROUP BY state")}
    jobs_done = 0
    for satellite in satellites:
        latest = archive.latest(satellite, "COMPUTE.JOBS_DONE")
        jobs_done += int(latest[1]) if latest else 0
    return Summary(
        satellites=satellites,
        passes=one("SELECT COUNT(*) FROM contacts WHERE kind = 'station'"),
        contact_minutes=one("SELECT SUM(los - aos) FROM contacts WHERE kind = 'station'") / 60,
        commands=commands,
        packets=one("SELECT COUNT(*) FROM packets"),
        realtime=one("SELECT COUNT(*) FROM packets WHERE vc = 0"),
        playback=one("SELECT COUNT(*) FROM packets WHERE vc = 1"),
        gaps=one("SELECT SUM(missing) FROM gaps"),
        events=one("SELECT COUNT(*) FROM events"),
        jobs_done=jobs_done,
        results_verified=one("SELECT COUNT(*) FROM transfers WHERE state IN "
                             "('VERIFIED', 'CONFIRMED')"),
        result_bytes=one("SELECT SUM(size) FROM transfers WHERE state IN "
                         "('VERIFIED', 'CONFIRMED')"),
        alarms=one("SELECT COUNT(*) FROM alarms"),
    )


def _hours(times: list[float], start: float) -> list[float]:
    return [(t - start) / 3600 for t in times]


def _with_gaps(points: list[tuple[float, Any]], start: float, gap_s: float = 900.0
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


def plots(archive: Archive, out: Path, start: float) -> dict[str, Path]:
    """Draw every plot into ``out``; return title → PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    satellites = [r[0] for r in archive.query("SELECT DISTINCT satellite FROM contacts "
                                              "ORDER BY satellite")]
    made: dict[str, Path] = {}

    def save(fig: Any, name: str, title: str) -> None:
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        made[title] = path

    # Contact windows.
    fig, ax = plt.subplots(figsize=(10, 0.6 + 0.45 * max(1, len(satellites))))
    stations = sorted({r[0] for r in archive.query("SELECT DISTINCT station FROM contacts")})
    colours = {s: plt.cm.tab10(i % 10) for i, s in enumerate(stations)}
    for row, satellite in enumerate(satellites):
        for station, aos, los, kind in archive.query(
                "SELECT station, aos, los, kind FROM contacts WHERE satellite = ? ORDER BY aos",
                satellite):
            # Station passes fill the row; relay windows run as a thin band beneath them.
            band = (row - 0.4, 0.8) if kind == "station" else (row - 0.45, 0.2)
            ax.broken_barh([((aos - start) / 3600, (los - aos) / 3600)], band,
                           color=colours[station], alpha=1.0 if kind == "station" else 0.6)
    ax.set_yticks(range(len(satellites)), satellites)
    ax.set_xlabel("simulated hours")
    ax.set_title("Contact windows (colour: station; thin band: relay)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[s]) for s in stations]
    if handles:
        ax.legend(handles, stations, loc="upper right", fontsize=7, ncol=min(4, len(stations)))
    save(fig, "contacts", "Contact windows")

    def series(param: str, title: str, name: str, ylabel: str) -> None:
        fig, ax = plt.subplots(figsize=(10, 3.2))
        drawn = False
        for satellite in satellites:
            points = archive.parameter(satellite, param)
            if points:
                xs, ys = _with_gaps(points, start)
                ax.plot(xs, ys, label=satellite, linewidth=1, marker=".", markersize=2)
                drawn = True
        ax.set_xlabel("simulated hours")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if drawn:
            ax.legend(fontsize=7)
        save(fig, name, title)

    series("EPS.BATTERY_SOC", "Battery state of charge", "battery", "%")
    series("THERMAL.RADIATOR_TEMP", "Radiator temperature", "radiator", "°C")
    series("NODES.NODE0_TEMP", "Compute node 0 temperature", "node_temp", "°C")
    series("COMPUTE.NODE_UTILISATION", "Compute utilisation", "utilisation", "% of powered")
    series("COMPUTE.JOBS_DONE", "Jobs done", "jobs", "jobs")

    # Events.
    fig, ax = plt.subplots(figsize=(10, 0.8 + 0.45 * max(1, len(satellites))))
    rows = {s: i for i, s in enumerate(satellites)}
    for severity in range(1, 5):
        events = archive.query("SELECT satellite, time FROM events WHERE severity = ?",
                               severity)
        xs = [(e[1] - start) / 3600 for e in events if e[0] in rows]
        ys = [rows[e[0]] for e in events if e[0] in rows]
        if xs:
            ax.scatter(xs, ys, s=6 + 6 * severity, color=SEVERITY_COLOURS[severity],
                       label=["info", "low", "medium", "high"][severity - 1], alpha=0.7)
    ax.set_yticks(range(len(satellites)), satellites)
    ax.set_xlabel("simulated hours")
    ax.set_title("Events by severity")
    ax.legend(fontsize=7, loc="upper right")
    save(fig, "events", "Events")

    # Command verification latencies.
    latencies = archive.query(
        "SELECT c.name, s2.time - s1.time FROM commands c "
        "JOIN command_stages s1 ON s1.command_id = c.id AND s1.stage = 'SENT' "
        "JOIN command_stages s2 ON s2.command_id = c.id AND s2.stage = 'COMPLETED'")
    fig, ax = plt.subplots(figsize=(10, 3.0))
    values = [row[1] for row in latencies]
    if values:
        ax.hist(values, bins=30, color="#4c72b0")
    ax.set_xlabel("sent → completed, simulated seconds")
    ax.set_ylabel("commands")
    ax.set_title(f"Command verification latency ({len(values)} commands)")
    save(fig, "latency", "Command verification latency")
    return made


def build(run_dir: str | Path, expectations: list[dict[str, Any]] | None = None,
          notes: list[tuple[float, str]] | None = None, title: str = "dawndusk run") -> Path:
    """Write the report of a run (PNGs and ``report.html``); return the HTML's path."""
    run_path = Path(run_dir)
    archive = Archive(run_path / ARCHIVE_FILE, readonly=True)
    try:
        config = json.loads((run_path / "run.json").read_text())
        start = config["clock"]["sim"]
        summary = summarise(archive)
        images = plots(archive, run_path / REPORT_DIR, start)
    finally:
        archive.db.close()
    if expectations is None:
        saved = run_path / "expectations.json"
        expectations = json.loads(saved.read_text()) if saved.exists() else []
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>Run directory: <code>{html.escape(str(run_path))}</code>; simulated start "
             f"{dt.datetime.fromtimestamp(start, dt.UTC):%Y-%m-%d %H:%M} UTC.</p>",
             "<h2>Summary</h2><table>"]
    parts += [f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
              for k, v in summary.rows()]
    parts.append("</table>")
    if expectations:
        parts.append("<h2>Expectations</h2><table><tr><th></th><th>simulated time</th>"
                     "<th>expectation</th><th>detail</th></tr>")
        for item in expectations:
            mark = "✔" if item["ok"] else "✘"
            when = dt.datetime.fromtimestamp(item["time"], dt.UTC)
            parts.append(f"<tr class={'ok' if item['ok'] else 'bad'}><td>{mark}</td>"
                         f"<td>{when:%d %H:%M:%S}</td><td>{html.escape(item['what'])}</td>"
                         f"<td>{html.escape(item.get('detail', ''))}</td></tr>")
        parts.append("</table>")
    if notes:
        parts.append("<h2>Story</h2><ul>")
        parts += [f"<li>{dt.datetime.fromtimestamp(t, dt.UTC):%d %H:%M:%S} — "
                  f"{html.escape(text)}</li>" for t, text in notes]
        parts.append("</ul>")
    for caption, path in images.items():
        encoded = base64.b64encode(path.read_bytes()).decode()
        parts.append(f"<h2>{html.escape(caption)}</h2>"
                     f"<img alt='{html.escape(caption)}' src='data:image/png;base64,{encoded}'>")
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;"
             "text-align:left}tr.bad td{background:#fdd}img{max-width:100%}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>")
    target = run_path / REPORT_DIR / "report.html"
    target.write_text(page, encoding="utf-8")
    return target
