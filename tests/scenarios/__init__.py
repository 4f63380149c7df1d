"""Tests that play shipped scenarios end to end, and what they share: waiting for a run's fleet
to be ready, and ending whatever a run left."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from pathlib import Path

from common.runconfig import ConfigError, RunConfig
from scenarios.launcher import remove_socket_dir
from tests.process.groundside import eventually
from tests.process.procs import descendants, kill_all

#: The rate they are played at: fast, with room for a machine that runs another test beside
#: this one (at 1500× a fleet on two busy cores falls far enough behind to lose what it is
#: there to show; the run's summary says when it did). At 1000×, a clean checkout's CI once
#: left first_light's recorder playback short: SAT-02's passes after its fault are few and
#: short, a playback of a day's recorder takes a busy machine a second or more of wall time
#: to send and ground control several to archive, and each pass carried only part of it.
RATE = "800"


def fleet_ready(run_dir: Path, wall_s: float = 90.0) -> dict[str, int]:
    """The runner's processes by name, once it has logged the fleet ready."""
    log = run_dir / "logs" / "RUNNER.jsonl"

    def ready() -> dict[str, int] | None:
        for line in log.read_text().splitlines() if log.exists() else ():
            record = json.loads(line)
            if record.get("event") == "fleet ready":
                return {str(k): int(v) for k, v in record["pids"].items()}
        return None

    return eventually("the fleet ready", ready, wall_s)  # type: ignore[no-any-return]


def end_run(process: subprocess.Popen[bytes], run_dir: Path, tree: Iterable[int] = ()) -> None:
    """Whatever happened: the runner and every process of its run end, and its sockets go
    (a runner killed with -9 cannot remove them itself)."""
    kill_all(set(descendants(process.pid)) | set(tree))
    if process.poll() is None:
        process.kill()
        process.wait(10)
    try:
        run = RunConfig.load(run_dir)
        remove_socket_dir(run.socket_dir, run.run_dir)
    except ConfigError:
        pass
