"""The scenario runner end to end: Ctrl-C, and kill -9 of the runner (the shipped scenarios are
played in test_shipped)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.runconfig import RunConfig
from tests.process.procs import descendants, wait_gone
from tests.scenarios import end_run, fleet_ready

pytestmark = pytest.mark.process


def dawndusk(*args: str, **kwargs) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "scenarios.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)


CONFIG = """
[run]
start = "2026-03-20T03:10:00Z"
rate = 50.0
[constellation]
per_plane = 2
[ground]
stations = ["polar"]
"""


@contextlib.contextmanager
def fleet_up(tmp_path: Path, config_text: str) -> Iterator[tuple[subprocess.Popen[bytes], Path,
                                                                   set[int]]]:
    """``dawndusk up`` on a configuration, ready: (the runner, its run directory, every
    process below it); whatever happens, every one of them ends and the sockets go."""
    config = tmp_path / "fleet.toml"
    config.write_text(config_text)
    run_dir = tmp_path / "run"
    process = dawndusk("up", str(config), "--run-dir", str(run_dir))
    tree: set[int] = set()
    try:
        fleet_ready(run_dir)
        tree.update(descendants(process.pid))
        yield process, run_dir, tree
    finally:
        end_run(process, run_dir, tree)


@pytest.mark.parametrize("how", ["sigint", "kill9"])
def test_no_process_survives_the_runner(tmp_path: Path, how: str) -> None:
    with fleet_up(tmp_path, CONFIG) as (process, run_dir, tree):
        # the launcher's zygote; ground, link, sim, two executives; their zygotes and apps
        assert len(tree) >= 1 + 5 + 2 * (1 + 3), tree
        sockets = Path(RunConfig.load(run_dir).socket_dir)
        assert any(sockets.iterdir())
        if how == "sigint":
            process.send_signal(signal.SIGINT)
            process.wait(30)
        else:
            process.kill()
            process.wait(5)
        left = wait_gone(tree, 10.0)
        assert left == set(), f"processes survived the runner: {sorted(left)}"
        if how == "sigint":
            # Under pytest -n the run directory's path is too long for socket paths, and the
            # sockets are in a /tmp/dd-* directory that nothing else would remove.
            assert not sockets.exists(), f"the launcher left {sorted(sockets.iterdir())}"


GROUPED = """
[run]
start = "2026-03-20T03:10:00Z"
rate = 50.0
app_hosting = "executive"
flight_group = 2
[constellation]
per_plane = 4
[ground]
stations = ["polar"]
"""


def test_a_fleet_in_flight_groups_runs_each_satellite_whole_and_leaves_nothing(
        tmp_path: Path) -> None:
    from tests.process.groundside import GroundSide

    with fleet_up(tmp_path, GROUPED) as (process, run_dir, tree):
        # The launcher's zygote; ground, link, sim and two processes of two executives each,
        # with their apps in them: nothing below those.
        assert len(tree) == 1 + 3 + 2, tree
        run = RunConfig.load(run_dir)
        for satellite in run.satellites:
            ground = GroundSide(run, satellite)
            try:
                ground.ping_until_alive()
                for app in ("HK", "COMPUTE", "FP"):
                    ground.ping(app)
            finally:
                ground.close()
        process.send_signal(signal.SIGINT)
        process.wait(30)
        assert wait_gone(tree, 10.0) == set()
