"""The run report: a summary and plots (:mod:`scenarios.report_plots`) from the archive, as PNGs
and one self-contained HTML page.

``dawndusk report RUN_DIR`` rebuilds it at any time from ``archive.sqlite``, with the title, the
simulated span and the story notes the runner saved in ``story.json``.
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
from scenarios.playback import holes, stream_periods
from scenarios.report_plots import MAX_PANELS, outages, plots, satellites_of
from scenarios.story import Story, load_story

REPORT_DIR = "report"
EXPECTATIONS_FILE = "expectations.json"


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
    #: Packets missing from each satellite's streams as they came down in real time...
    missing_realtime: dict[str, int]
    #: ...and still missing once recorder playback filled what it could.
    missing_now: dict[str, int]
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
            ("contact windows in the run", f"{self.passes} ({self.contact_minutes:.0f} min)"),
            ("commands completed / failed / timed out / other",
             f"{self.commands.get('COMPLETED', 0)} / {self.commands.get('FAILED', 0)} / "
             f"{self.commands.get('TIMEOUT', 0)} / {other}"),
            ("packets archived (real time / playback)",
             f"{self.packets} ({self.realtime} / {self.playback})"),
            ("packets missing in real time (sequence counts)", _by_satellite(
                self.missing_realtime)),
            ("packets still missing after playback", _by_satellite(self.missing_now)),
            ("events", str(self.events)),
            ("alarms", str(self.alarms)),
            ("jobs done", str(self.jobs_done)),
            ("results downlinked and verified", str(self.results_verified)),
            ("result bytes downlinked", f"{self.result_bytes:,}"),
        ]


def _by_satellite(counts: dict[str, int]) -> str:
    total = f"{sum(counts.values()):,}"
    if not 1 < len(counts) <= MAX_PANELS:
        return total
    return f"{total} ({', '.join(f'{sat}: {n:,}' for sat, n in counts.items())})"


def contact_windows(archive: Archive, start: float, end: float) -> tuple[int, float]:
    """Station contact windows within [start, end]: how many, and their minutes (each clipped
    to the span: the plan holds passes predicted before and after it)."""
    count, seconds = archive.query(
        "SELECT COUNT(*), SUM(MIN(los, ?) - MAX(aos, ?)) FROM contacts "
        "WHERE kind = 'station' AND los > ? AND aos < ?", end, start, start, end)[0]
    return int(count), (seconds or 0.0) / 60


def missing(archive: Archive, satellites: list[str], start: float, end: float
            ) -> tuple[dict[str, int], dict[str, int]]:
    """Packets missing from each satellite's streams within [start, end], by sequence count:
    as they came down in real time, and now (after any recorder playback)."""
    realtime, now = {}, {}
    for satellite in satellites:
        periods = stream_periods(archive, satellite)
        realtime[satellite] = holes(archive, satellite, start, end, realtime_only=True,
                                    periods=periods).missing
        now[satellite] = holes(archive, satellite, start, end, periods=periods).missing
    return realtime, now


def summarise(archive: Archive, start: float, end: float) -> Summary:
    """The summary numbers of the run in ``archive``, which played [start, end]."""
    one = lambda sql, *a: archive.query(sql, *a)[0][0] or 0  # noqa: E731
    satellites = satellites_of(archive)
    commands = {r[0]: r[1] for r in archive.query(
        "SELECT state, COUNT(*) FROM commands GROUP BY state")}
    jobs_done = 0
    for satellite in satellites:
        latest = archive.latest(satellite, "COMPUTE.JOBS_DONE")
        jobs_done += int(latest[1]) if latest else 0
    passes, minutes = contact_windows(archive, start, end)
    missing_realtime, missing_now = missing(archive, satellites, start, end)
    return Summary(
        satellites=satellites,
        passes=passes,
        contact_minutes=minutes,
        commands=commands,
        packets=one("SELECT COUNT(*) FROM packets"),
        realtime=one("SELECT COUNT(*) FROM packets WHERE vc = 0"),
        playback=one("SELECT COUNT(*) FROM packets WHERE vc = 1"),
        missing_realtime=missing_realtime,
        missing_now=missing_now,
        events=one("SELECT COUNT(*) FROM events"),
        jobs_done=jobs_done,
        results_verified=one("SELECT COUNT(*) FROM transfers WHERE state IN "
                             "('VERIFIED', 'CONFIRMED')"),
        result_bytes=one("SELECT SUM(size) FROM transfers WHERE state IN "
                         "('VERIFIED', 'CONFIRMED')"),
        alarms=one("SELECT COUNT(*) FROM alarms"),
    )


# --- the page ------------------------------------------------------------------------------------

def build(run_dir: str | Path) -> Path:
    """Write the report of a run (PNGs and ``report.html``); return the HTML's path."""
    run_path = Path(run_dir)
    archive = Archive(run_path / ARCHIVE_FILE, readonly=True)
    try:
        story = load_story(run_path, archive)
        summary = summarise(archive, story.start, story.end)
        images = plots(archive, run_path / REPORT_DIR, story, outages(run_path))
    finally:
        archive.db.close()
    saved = run_path / EXPECTATIONS_FILE
    expectations = json.loads(saved.read_text()) if saved.exists() else []
    target = run_path / REPORT_DIR / "report.html"
    target.write_text(_page(run_path, story, summary, expectations, images), encoding="utf-8")
    return target


def _when(time: float, form: str = "%d %H:%M:%S") -> str:
    return f"{dt.datetime.fromtimestamp(time, dt.UTC):{form}}"


def _page(run_path: Path, story: Story, summary: Summary, expectations: list[dict[str, Any]],
          images: dict[str, Path]) -> str:
    parts = [f"<h1>{html.escape(story.title)}</h1>",
             f"<p>Run directory: <code>{html.escape(str(run_path))}</code>; simulated "
             f"{_when(story.start, '%Y-%m-%d %H:%M')} to {_when(story.end, '%Y-%m-%d %H:%M')} "
             f"UTC ({story.hours:.1f} h).</p>",
             "<h2>Summary</h2><table>"]
    parts += [f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
              for k, v in summary.rows()]
    parts.append("</table>")
    if expectations:
        parts.append("<h2>Expectations</h2><table><tr><th></th><th>simulated time</th>"
                     "<th>expectation</th><th>detail</th></tr>")
        for item in expectations:
            mark = "✔" if item["ok"] else "✘"
            parts.append(f"<tr class={'ok' if item['ok'] else 'bad'}><td>{mark}</td>"
                         f"<td>{_when(item['time'])}</td><td>{html.escape(item['what'])}</td>"
                         f"<td>{html.escape(item.get('detail', ''))}</td></tr>")
        parts.append("</table>")
    if story.notes:
        parts.append("<h2>Story</h2><ul>")
        parts += [f"<li>{_when(t)} — {html.escape(text)}</li>" for t, text in story.notes]
        parts.append("</ul>")
    for caption, path in images.items():
        encoded = base64.b64encode(path.read_bytes()).decode()
        parts.append(f"<h2>{html.escape(caption)}</h2>"
                     f"<img alt='{html.escape(caption)}' src='data:image/png;base64,{encoded}'>")
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;"
             "text-align:left}tr.bad td{background:#fdd}img{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>"
            f"{html.escape(story.title)}</title><style>{style}</style></head><body>"
            f"{''.join(parts)}</body></html>")
