"""A fleet for tests and notebooks: launched, waited for, and always torn down.

The fleet runs under ``dawndusk up`` in a process of its own (so the test process never forks
a fleet), and every process of it is ended on exit — by SIGTERM to the launcher, then SIGKILL
by pid for anything of its tree still alive. The run directory (logs, archive) is kept when
asked to (on failure, by the pytest plugin)::

    async with Testbed({"constellation": {"per_plane": 1}, "ground": {"stations": ["polar"]}},
                       run_dir) as ops:
        await ops.send_and_assert_command("SAT-01", "EXEC.PING")
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common.runconfig import RUN_FILE, ConfigError, RunConfig
from ground.client import Client
from scenarios.config import FleetConfig, parse
from scenarios.launcher import remove_socket_dir
from scenarios.processes import descendants, stop_tree
from scenarios.testkit.ops import Ops

#: Wall seconds a fleet may take to come up.
LAUNCH_WALL_S = 90.0


class Fleet:
    """A fleet launched under ``dawndusk up`` (synchronous: fixtures of any scope use it)."""

    def __init__(self, config: FleetConfig | dict[str, Any], run_dir: str | Path,
                 hil: tuple[str, ...] = ()) -> None:
        self.config = config if isinstance(config, FleetConfig) else parse(config, "testbed")
        self.base = Path(run_dir)
        self.hil = hil
        self.process: subprocess.Popen[bytes] | None = None
        self.run: RunConfig | None = None
        self.pids: set[int] = set()

    @property
    def run_dir(self) -> Path:
        """Where the run writes its logs and archive."""
        return self.base / "run"

    def start(self) -> RunConfig:
        """Launch and wait until ground control answers and the run file is there."""
        self.base.mkdir(parents=True, exist_ok=True)
        config_file = self.base / "fleet.json"
        config_file.write_text(json.dumps(_as_json(self.config)))
        args = [sys.executable, "-m", "scenarios.cli", "up", str(config_file), "--run-dir",
                str(self.run_dir)]
        for satellite in self.hil:
            args += ["--hil", satellite]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                        stderr=open(self.base / "up.stderr", "wb"))  # noqa: SIM115
        deadline = time.monotonic() + LAUNCH_WALL_S
        while not (self.run_dir / RUN_FILE).exists():
            self._check_alive()
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"no run file in {self.run_dir} within {LAUNCH_WALL_S} s")
            time.sleep(0.05)
        self.run = RunConfig.load(self.run_dir)
        while not (self.run_dir / "logs" / "GROUND.jsonl").exists() or not self._ready():
            self._check_alive()
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the fleet in {self.run_dir} was not ready within "
                                   f"{LAUNCH_WALL_S} s; see {self.base / 'up.stderr'}")
            time.sleep(0.1)
        self.pids = set(descendants(self.process.pid))
        return self.run

    def _ready(self) -> bool:
        log = self.run_dir / "logs" / "RUNNER.jsonl"
        return log.exists() and "fleet ready" in log.read_text()

    def _check_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            text = (self.base / "up.stderr").read_text()[-2000:]
            raise RuntimeError(f"dawndusk up exited ({self.process.returncode}): {text}")

    def stop(self) -> None:
        """End every process of the fleet (SIGTERM to the launcher, then SIGKILL by pid), and
        remove the run's socket directory, which may be outside the run directory."""
        if self.process is None:
            return
        # The launcher stops its fleet on SIGTERM; give it time, then end what is left.
        stop_tree(self.process, grace_s=20.0, known=self.pids)
        self.process = None
        # The launcher removes it once its processes are gone; not if it had to be killed.
        try:
            run = self.run or RunConfig.load(self.run_dir)
        except ConfigError:
            return  # no run file yet: nothing says where the sockets would be
        remove_socket_dir(run.socket_dir, run.run_dir)

    def remove(self) -> None:
        """Delete the run directory (when a test passed and its logs are not wanted)."""
        shutil.rmtree(self.base, ignore_errors=True)


def _as_json(config: FleetConfig) -> dict[str, Any]:
    return {
        "run": {"start": config.start.isoformat(), "duration_h": config.duration_h,
                "rate": config.rate, "seed": config.seed, "transport": config.transport,
                "security": config.security},
        "constellation": {"altitude_km": config.altitude_km, "ltan_h": config.ltan_h,
                          "planes": config.planes, "per_plane": config.per_plane,
                          "phasing": config.phasing,
                          "plane_spacing_deg": config.plane_spacing_deg,
                          "slot_spacing_deg": config.slot_spacing_deg},
        "ground": {"stations": list(config.stations), "auto_results": config.auto_results},
        "link": config.link, "hardware": config.hardware, "timing": config.timing,
    }


class Testbed:
    """A fleet and an :class:`Ops` on it, as an async context manager (outside pytest too)."""

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, config: FleetConfig | dict[str, Any], run_dir: str | Path,
                 hil: tuple[str, ...] = (), keep: bool = True) -> None:
        self.fleet = Fleet(config, run_dir, hil)
        self.keep = keep
        self.client: Client | None = None
        self.ops: Ops | None = None

    async def __aenter__(self) -> Ops:
        run = await asyncio.get_running_loop().run_in_executor(None, self.fleet.start)
        try:
            self.client = await Client(run, "testbed").connect()
            self.ops = await Ops(self.client, run).start()
        except BaseException:
            self.fleet.stop()
            raise
        return self.ops

    async def __aexit__(self, kind: object, *rest: object) -> None:
        try:
            if self.ops is not None:
                await self.ops.close()
            if self.client is not None:
                await self.client.close()
        finally:
            await asyncio.get_running_loop().run_in_executor(None, self.fleet.stop)
            if not self.keep and kind is None:
                self.fleet.remove()
