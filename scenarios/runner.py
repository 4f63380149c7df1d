"""Playing a scenario: launch the fleet, run the script, show progress, stop, report.

The run's clock is held at the scenario's start while the fleet comes up and let go once every
process is ready, so that the script has the whole day from its first second (at 600×, the two
or three wall seconds of a launch were twenty minutes of it, and satellites' first passes).

Ctrl-C, an exception in the script, or a process of the fleet that fails all end the run the
same way: every process is stopped (by pid), the report is written from what the archive holds,
and the exit status says whether every expectation held.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from common import logs
from common.runconfig import RunConfig
from common.runtime import initial_clock_state
from ground.client import Client, GroundError
from scenarios import report
from scenarios.config import FleetConfig
from scenarios.launcher import Launcher, LaunchError
from scenarios.mission import Expectation, Mission, Scenario
from scenarios.story import STATUS_FILE, Story, save_story

console = Console(stderr=True)


def default_run_dir(name: str) -> Path:
    """``runs/<scenario>-<UTC timestamp>`` under the working directory."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{name}-{stamp}"


@dataclass
class Played:
    """What the async part of a run leaves behind, also when it is interrupted."""

    mission: Mission | None = None
    #: Wall seconds the script played, from the clock's start to the script's end.
    day_wall_s: float | None = None

    def ended(self, run: RunConfig) -> float:
        """The simulated time at which the run stopped: when the script ended (or was
        interrupted), or else (stopped before it began) the run's clock now."""
        if self.mission is not None and self.mission.ended is not None:
            return self.mission.ended
        return max(run.clock.sim, initial_clock_state(run).sim_at(time.time()))


def play(scenario: Scenario, run_dir: Path, config: FleetConfig | None = None,
         progress: bool = True, make_report: bool = True) -> int:
    """Play ``scenario`` in ``run_dir``; return the exit status (0 when every expectation held)."""
    config = config or scenario.config
    run = config.run_config(run_dir, paused=True)  # the day starts once the fleet is up
    logs.configure(run.run_dir, "RUNNER", console=False)
    launcher = Launcher(run)
    launcher.fork_zygote()  # before any ZeroMQ context in this process
    started = time.monotonic()
    played = Played()
    error: str | None = None
    try:
        asyncio.run(_play(scenario, config, launcher, progress, played))
    except LaunchError as exc:
        error = str(exc)
    except KeyboardInterrupt:
        error = "interrupted"
    finally:
        if launcher.zygote is not None:  # the async part did not get to stop everything
            asyncio.run(launcher.stop())
    wall = time.monotonic() - started
    mission = played.mission
    ended = played.ended(run)
    expectations = mission.expectations if mission else []
    if error:
        expectations = [*expectations, Expectation(f"the run: {error}", False, ended)]
    run_path = Path(run.run_dir)
    (run_path / report.EXPECTATIONS_FILE).write_text(
        json.dumps([asdict(e) for e in expectations], indent=1))
    save_story(run_path, Story(
        f"dawndusk: {scenario.name}", config.start.timestamp(), ended,
        tuple(mission.notes) if mission else ()))
    html_path = None
    if make_report:
        try:
            html_path = report.build(run_path)
        except Exception as exc:  # a missing plot must not hide the run's verdict
            console.print(f"[yellow]report not written: {exc!r}[/]")
    played_h = (ended - config.start.timestamp()) / 3600
    link = (mission.final_status.get("link") or {}) if mission else {}
    _summary(scenario, run.run_dir, expectations, wall, played.day_wall_s, played_h, html_path,
             link)
    return 0 if expectations and all(e.ok for e in expectations) else 1


async def _play(scenario: Scenario, config: FleetConfig, launcher: Launcher,
                progress: bool, played: Played) -> None:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main.cancel)
    try:
        await launcher.start()
        async with Client(launcher.run, "scenario") as ground:
            await _start_clock(ground)
            day_started = time.monotonic()
            mission = played.mission = Mission(ground, config, launcher.run)
            script = asyncio.ensure_future(scenario.play(mission))
            watcher = asyncio.ensure_future(_watch(launcher))
            bar = asyncio.ensure_future(_progress(mission, progress))
            try:
                done, _ = await asyncio.wait({script, watcher},
                                             return_when=asyncio.FIRST_COMPLETED)
                if script in done and script.exception() is not None:
                    exc = script.exception()
                    mission.expect(False, f"the scenario script ran to its end: {exc!r}")
                if watcher in done:
                    mission.expect(False, f"every process stayed up: {watcher.result()}")
            finally:
                mission.ended = mission.now()
                played.day_wall_s = time.monotonic() - day_started
                for task in (script, watcher, bar):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                mission.final_status = await _save_status(ground, Path(launcher.run.run_dir))
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        await launcher.stop()


async def _start_clock(ground: Client) -> None:
    """Let the run's clock go (held at its start while the fleet came up)."""
    try:
        await ground.resume()
    except (TimeoutError, GroundError) as exc:
        raise LaunchError(f"the clock could not be started: {exc!r}") from None


async def _save_status(ground: Client, run_dir: Path) -> dict[str, Any]:
    """Ground control's last status (its counters, the space link's drop counts by cause, every
    satellite's state) as ``status.json``: what was lost where, after the processes are gone."""
    try:
        status = await asyncio.wait_for(ground.status(), 5.0)
    except (TimeoutError, GroundError) as exc:
        status = {"error": f"no status from ground control: {exc!r}"}
    (run_dir / STATUS_FILE).write_text(json.dumps(status, indent=1, default=str))
    return status


async def _watch(launcher: Launcher) -> str:
    while not launcher.failures:
        await asyncio.sleep(0.2)
    return ", ".join(launcher.failures)


async def _progress(mission: Mission, show: bool) -> None:
    if not show:
        while True:
            await asyncio.sleep(3600)
    total = mission.end - mission.start
    columns = (TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.fields[sim]}"), TextColumn("rate {task.fields[rate]}"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("simulated", total=total, sim="", rate="")
        while True:
            done = max(0.0, min(total, mission.now() - mission.start))
            bar.update(task, completed=done, sim=mission.iso(),
                       rate=f"{mission.ground.clock.rate:.0f}×")
            await asyncio.sleep(0.25)


def _summary(scenario: Scenario, run_dir: str, expectations: list[Expectation], wall: float,
             day_wall: float | None, simulated_h: float, html_path: Path | None,
             link: dict[str, Any]) -> None:
    table = Table(title=f"{scenario.name}: {len(expectations)} expectations", show_lines=False)
    table.add_column("")
    table.add_column("simulated time")
    table.add_column("expectation")
    for item in expectations:
        when = dt.datetime.fromtimestamp(item.time, dt.UTC).strftime("%d %H:%M:%S")
        mark = "[green]✔[/]" if item.ok else "[red]✘[/]"
        table.add_row(mark, when, item.what + (f" — {item.detail}" if item.detail else ""))
    console.print(table)
    failed = sum(not e.ok for e in expectations)
    played = ""
    if day_wall:
        played = (f": the script played them in {day_wall:.0f} s "
                  f"({simulated_h * 3600 / day_wall:.0f}×), launch and stop took "
                  f"{wall - day_wall:.0f} s")
    console.print(f"{simulated_h:g} simulated hours in {wall:.0f} s of wall time{played}; run "
                  f"directory {run_dir}")
    if html_path is not None:
        console.print(f"report: {html_path}")
    stale, lag = link.get("stale_frames", 0), link.get("max_lag_s", 0.0)
    if stale:
        console.print(f"[yellow]the space link read {stale} frame(s) too late to believe when "
                      f"they were sent (up to {lag:.0f} simulated seconds): this machine fell "
                      f"behind the clock's rate; a lower --rate gives truer timing[/]")
    console.print("[green]all expectations held[/]" if failed == 0 and expectations
                  else f"[red]{failed} expectation(s) failed[/]")


def up(config: FleetConfig, run_dir: Path, hil: tuple[str, ...] = ()) -> int:
    """Launch a fleet and keep it running for operators until Ctrl-C (or SIGTERM)."""
    run = config.run_config(run_dir, paused=True)  # the day starts once the fleet is up
    logs.configure(run.run_dir, "RUNNER", console=False)
    unknown = sorted(set(hil) - set(run.satellites))
    if unknown:
        console.print(f"[red]--hil: not in the fleet: {', '.join(unknown)}[/]")
        return 2
    launcher = Launcher(run, hil=hil)
    launcher.fork_zygote()

    async def keep() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await launcher.start()
            async with Client(run, "runner") as ground:
                await _start_clock(ground)
            console.print(f"fleet up: {', '.join(run.satellites)}; run directory {run.run_dir}"
                          f"\n  attach: dawndusk console --run-dir {run.run_dir}"
                          f"\n  Ctrl-C stops every process")
            watcher = asyncio.ensure_future(_watch(launcher))
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({watcher, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if watcher.done():
                console.print(f"[red]a process failed: {watcher.result()}[/]")
            for task in (watcher, stopper):
                task.cancel()
        finally:
            await launcher.stop()

    try:
        asyncio.run(keep())
    except LaunchError as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    return 0
