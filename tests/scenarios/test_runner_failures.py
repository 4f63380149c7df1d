"""The scenario runner when things go wrong: a script that raises, a fleet process that dies, the
runner itself killed with -9, a fleet that is not ready in time. Each time the run ends with
the cause named, and no process it started survives (checked by pid)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.process.procs import descendants, wait_gone
from tests.scenarios import end_run, fleet_ready

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]
FLEET = {"run": {"start": "2026-03-20T03:10:00Z", "rate": 50.0, "duration_h": 24.0},
         "constellation": {"per_plane": 1}, "ground": {"stations": ["polar"]}}


def scenario(tmp_path: Path, body: str) -> Path:
    """A scenario file of one satellite whose ``play`` is ``body``."""
    path = tmp_path / "broken.py"
    path.write_text(f"CONFIG = {FLEET!r}\n\n\nasync def play(mission):\n"
                    + textwrap.indent(textwrap.dedent(body), "    "))
    return path


def start_run(tmp_path: Path, script: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """``dawndusk run SCRIPT`` started: (the runner, its run directory)."""
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "scenarios.cli", "run", str(script), "--no-progress",
         "--run-dir", str(run_dir)], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    return process, run_dir


def expected(run_dir: Path) -> list[dict[str, object]]:
    """The run's expectations, as it saved them."""
    return list(json.loads((run_dir / "expectations.json").read_text()))


def test_a_script_that_raises_fails_the_run_and_stops_the_fleet(tmp_path: Path) -> None:
    script = scenario(tmp_path, """
        await mission.sleep(1)  # on the held clock: returns once it runs
        clock = mission.ground.clock.state
        mission.expect(clock.sim_anchor == mission.start and not clock.paused,
                       "the day starts with the script", f"resumed at {clock.sim_anchor}")
        await mission.sleep(299)
        raise RuntimeError("the script broke")
    """)
    process, run_dir = start_run(tmp_path, script)
    tree: set[int] = set()
    try:
        named = fleet_ready(run_dir)
        tree.update(descendants(process.pid))
        assert set(named.values()) <= tree
        output, _ = process.communicate(timeout=120)
        text = output.decode(errors="replace")
        assert process.returncode == 1, text[-2000:]
        failed = [e["what"] for e in expected(run_dir) if not e["ok"]]
        assert any("RuntimeError('the script broke')" in what for what in failed), failed
        # The clock was held at the start while the fleet came up, and let go from there: a
        # clock running since the run was written would be resumed 2-3 s of launch later
        # (100-150 s at 50x), not at the start itself.
        (start,) = [e for e in expected(run_dir) if e["what"] == "the day starts with the script"]
        assert start["ok"], start
        assert wait_gone(tree, 10.0) == set(), "processes survived a failed script"
    finally:
        end_run(process, run_dir, tree)


@pytest.mark.parametrize("victim", ["LINK", "SAT-01"])
def test_a_fleet_process_killed_ends_the_run_naming_it(tmp_path: Path, victim: str) -> None:
    script = scenario(tmp_path, "await mission.until_end()\n")
    process, run_dir = start_run(tmp_path, script)
    tree: set[int] = set()
    try:
        named = fleet_ready(run_dir)
        tree.update(descendants(process.pid))
        os.kill(named[victim], signal.SIGKILL)
        output, _ = process.communicate(timeout=60)
        text = output.decode(errors="replace")
        assert process.returncode == 1, text[-2000:]
        failed = [e["what"] for e in expected(run_dir) if not e["ok"]]
        assert any(f"{victim} (exit -9)" in what for what in failed), failed
        assert wait_gone(tree, 10.0) == set(), "processes survived a failed fleet process"
    finally:
        end_run(process, run_dir, tree)


def test_no_process_survives_kill_9_of_a_running_scenario(tmp_path: Path) -> None:
    script = scenario(tmp_path, "await mission.until_end()\n")
    process, run_dir = start_run(tmp_path, script)
    tree: set[int] = set()
    try:
        fleet_ready(run_dir)
        tree.update(descendants(process.pid))
        process.kill()
        process.wait(10)
        assert wait_gone(tree, 10.0) == set(), "processes survived kill -9 of the runner"
    finally:
        end_run(process, run_dir, tree)


NOT_READY = """
import asyncio, sys
from pathlib import Path
from common import logs
from scenarios.config import parse
from scenarios.launcher import LaunchError, Launcher

run = parse({fleet!r}).run_config(Path(sys.argv[1]))
logs.configure(run.run_dir, "RUNNER", console=False)
launcher = Launcher(run)
launcher.fork_zygote()

async def main():
    try:
        await launcher.start(timeout_wall_s=0.05)
    except LaunchError as exc:
        print("PIDS", *(p.pid for p in launcher.processes.values()), flush=True)
        print(exc, flush=True)
    finally:
        await launcher.stop()

asyncio.run(main())
"""


def test_a_fleet_not_ready_in_time_is_named_and_stopped(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-c", NOT_READY.format(fleet=FLEET),
                                str(run_dir)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        output, _ = process.communicate(timeout=60)
        text = output.decode(errors="replace")
        assert process.returncode == 0, text[-2000:]
        pids_line = next(line for line in text.splitlines() if line.startswith("PIDS"))
        pids = {int(pid) for pid in pids_line.split()[1:]}
        assert "not ready within 0.05 s:" in text
        # Whoever was not ready yet is named (at 50 ms, at least the satellites are not).
        assert "SAT-01" in text.split("not ready within", 1)[1], text
        assert wait_gone(pids, 10.0) == set(), "processes survived a launch that timed out"
    finally:
        end_run(process, run_dir, set())
