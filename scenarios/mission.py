"""What a scenario script sees: the ground client, simulated time, and expectations.

A scenario is a Python file with a ``CONFIG`` (a TOML file name next to the script, or a dict in
the same shape) and ``async def play(mission)``::

    CONFIG = "first_light.toml"

    async def play(mission):
        handle = await mission.ground.cmd("SAT-01", "EXEC.PING")
        await handle.await_complete(timeout=7200)
        mission.expect(handle.is_success(), "SAT-01 answers its first ping")
        await mission.until_end()

Every ``expect`` is recorded with its simulated time; the run fails if any is false.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from common.runconfig import ConfigError, RunConfig
from ground.client import CheckFailed, Client
from scenarios.config import FleetConfig, load, parse


@dataclass
class Expectation:
    """One check a scenario made."""

    what: str
    ok: bool
    time: float
    detail: str = ""


@dataclass
class Mission:
    """The scenario's handle on the running fleet."""

    ground: Client
    config: FleetConfig
    run: RunConfig
    expectations: list[Expectation] = field(default_factory=list)
    notes: list[tuple[float, str]] = field(default_factory=list)
    #: Simulated time when the script ended (set by the runner).
    ended: float | None = None
    #: Ground control's status when the script ended (set by the runner).
    final_status: dict[str, Any] = field(default_factory=dict)

    @property
    def satellites(self) -> tuple[str, ...]:
        """The satellites of the fleet."""
        return self.run.satellites

    @property
    def start(self) -> float:
        """Simulated start (Unix seconds)."""
        return self.config.start.timestamp()

    @property
    def end(self) -> float:
        """Simulated end (Unix seconds)."""
        return self.config.end

    def now(self) -> float:
        """Simulated time now."""
        return self.ground.now()

    def elapsed_h(self) -> float:
        """Simulated hours since the start."""
        return (self.now() - self.start) / 3600

    def expect(self, ok: bool, what: str, detail: str = "") -> bool:
        """Record a check (and return it, for the script's own logic)."""
        self.expectations.append(Expectation(what, bool(ok), self.now(), detail))
        return bool(ok)

    def note(self, text: str) -> None:
        """A line in the run's story (shown in the summary and the report)."""
        self.notes.append((self.now(), text))

    async def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass."""
        await self.ground.clock.sleep(seconds)

    async def until(self, unix: float) -> None:
        """Wait until simulated time ``unix``."""
        await self.ground.clock.sleep_until(unix)

    async def until_end(self) -> None:
        """Wait until the scenario's simulated end."""
        await self.until(self.end)

    async def check(self, satellite: str, condition: str, timeout: float, what: str) -> Any:
        """Wait for a telemetry condition; record an expectation either way; return the value
        that satisfied it (None if it never did)."""
        try:
            value = await self.ground.wait_check(satellite, condition, timeout)
        except CheckFailed as exc:
            self.expect(False, what, str(exc))
            return None
        self.expect(True, what, f"{condition.split()[0]} = {value}")
        return value

    async def complete(self, satellite: str, command: str, what: str,
                       timeout: float = 12 * 3600, **args: Any) -> bool:
        """Send a command through ground control and wait for its end; record the outcome."""
        handle = await self.ground.cmd(satellite, command, timeout=3600, **args)
        await handle.await_complete(timeout)
        return self.expect(handle.is_success(), what, handle.error or "")

    async def within(self, awaitable: Awaitable[Any], what: str, timeout: float) -> Any:
        """Await with a simulated-time timeout, recording an expectation either way."""
        try:
            result = await self.ground.clock.wait_for(awaitable, timeout)
        except TimeoutError:
            self.expect(False, what, f"not within {timeout:g} s")
            return None
        self.expect(True, what)
        return result

    def iso(self, unix: float | None = None) -> str:
        """A simulated time as ISO 8601 UTC."""
        when = self.now() if unix is None else unix
        return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Scenario:
    """A loaded scenario script."""

    path: Path
    module: ModuleType
    config: FleetConfig
    play: Callable[[Mission], Awaitable[None]]

    @property
    def name(self) -> str:
        """The script's name without its suffix."""
        return self.path.stem


def load_scenario(path: str | Path) -> Scenario:
    """Import a scenario script and its configuration."""
    target = Path(path)
    if not target.exists():
        builtin = Path(__file__).parent / f"{target.stem}.py"
        if builtin.exists():
            target = builtin
        else:
            raise ConfigError(f"no scenario {path}")
    spec = importlib.util.spec_from_file_location(f"scenario_{target.stem}", target)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot import {target}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    play = getattr(module, "play", None)
    if play is None:
        raise ConfigError(f"{target}: a scenario needs 'async def play(mission)'")
    raw = getattr(module, "CONFIG", None)
    if isinstance(raw, dict):
        config = parse(raw, f"{target}: CONFIG")
    elif isinstance(raw, str):
        config = load(target.parent / raw)
    elif raw is None:
        config = FleetConfig()
    else:
        raise ConfigError(f"{target}: CONFIG must be a TOML file name or a dict")
    return Scenario(target, module, config, play)
