"""The run configuration: what every process of a run needs to find the others.

Written once as ``run.json`` in the run directory by whoever starts the run (the scenario
runner, a test fixture, or ``dawndusk sat`` standalone) and read by every process it starts.
It fixes the transport, the socket directory, the satellites, the clock's first anchor triple
and the timing knobs; :mod:`common.endpoints` derives every address from it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from common.files import write_atomic

RUN_FILE = "run.json"
#: Longest ``ipc://`` socket path the OS accepts (sun_path is 108 bytes with its NUL).
MAX_IPC_PATH = 107


class ConfigError(ValueError):
    """The run configuration is missing, unreadable or invalid; the message names the field."""


@dataclass(frozen=True)
class ClockAnchor:
    """The first triple of the simulated clock: ``sim = sim + (wall − wall_anchor) × rate``."""

    sim: float
    wall: float
    rate: float = 1.0
    paused: bool = False


@dataclass(frozen=True)
class Timing:
    """Timing knobs, in simulated seconds unless the name says wall."""

    #: A process wakes at most this often (wall seconds) and handles everything due.
    timer_resolution_wall_s: float = 0.005
    #: Heartbeat period of every app.
    heartbeat_s: float = 5.0
    #: Silence after which the executive declares an app hung...
    heartbeat_timeout_s: float = 30.0
    #: ...but never sooner than this many wall seconds (a loaded machine stalls processes).
    heartbeat_timeout_wall_s: float = 5.0
    #: First restart back-off, doubled per restart up to the maximum.
    restart_backoff_s: float = 1.0
    restart_backoff_max_s: float = 64.0
    #: Back-off floor in wall seconds, so that a crash loop cannot spin the CPU.
    restart_backoff_wall_s: float = 0.2
    #: How long (wall) a starting app may take to prove its bus subscriptions live.
    ready_timeout_wall_s: float = 20.0
    #: How often the simulated hardware sends its sensor readings.
    sensor_interval_s: float = 1.0
    #: Niceness added to every satellite's processes (the executive and its apps). Ground
    #: control, the space link and the simulated hardware each serve the whole fleet, while the
    #: kernel shares a loaded machine's cores per process: at 0, a fleet of 100 satellites
    #: (300 processes) left each of them a three-hundredth and they fell behind first.
    satellite_nice: int = 5


#: The largest fleet a configuration may ask for (the command line's --satellites is bounded by
#: it too), and twice the largest fleet measured on a 2-core machine (100 satellites, README).
MAX_SATELLITES = 200

#: How an executive may host its apps (see ``RunConfig.app_hosting``).
APP_HOSTINGS = ("separate", "together", "executive")


@dataclass(frozen=True)
class RunConfig:
    """Everything the processes of one run share."""

    run_dir: str
    satellites: tuple[str, ...]
    clock: ClockAnchor
    transport: str = "ipc"
    socket_dir: str = ""
    tcp_host: str = "127.0.0.1"
    tcp_base_port: int = 25000
    timing: Timing = field(default_factory=Timing)
    seed: int = 0
    #: Two-line element sets by satellite name (for the simulated hardware and the ground).
    tle: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Overrides of the simulated hardware's defaults (field of HardwareConfig → value).
    hardware: dict[str, Any] = field(default_factory=dict)
    #: Physics step of the simulated hardware, simulated seconds.
    sim_step_s: float = 1.0
    #: Satellites whose hardware one simulator process plays: the launcher starts a process
    #: per group. A busy machine shares its cores by process, so one process playing a whole
    #: large fleet falls far behind (12 satellites at 456x: sensors at 72x).
    sim_group: int = 4
    #: How each executive hosts its apps: ``"separate"`` (a process per app, the default),
    #: ``"together"`` (one process for all of them) or ``"executive"`` (in the executive's own
    #: process, on the bus in memory). Together, a satellite is two processes fewer (in a
    #: fleet, ~27 MiB of memory instead of ~40); an app that crashes takes the apps that share
    #: its process with it, and they restart together. In the executive, a satellite is one
    #: process: an app is restarted in place (stopped and made anew), and one that hangs its
    #: process hangs the satellite — for very large fleets.
    app_hosting: str = "separate"
    #: Satellites whose executives one process runs: the launcher starts a process per group
    #: (``FLIGHT-1``, ``FLIGHT-2``, …; with 1, one per satellite, named after it). Each keeps
    #: its own bus, radio and apps; for very large fleets, with ``app_hosting = "executive"``,
    #: a hundred satellites are then 25 processes rather than 200 or more.
    flight_group: int = 1
    #: Ground stations by name (see ground.passes.STATIONS) or network (china, polar, all).
    stations: tuple[str, ...] = ("china",)
    #: Overrides of the space link's defaults (field of ground.link.LinkConfig → value).
    link: dict[str, Any] = field(default_factory=dict)
    #: Telecommand keys (see common.sdls); empty: telecommands are not authenticated.
    key_file: str = ""
    #: Ground control's settings: ``auto_results`` (fetch result files as soon as a
    #: satellite says they are ready; default true).
    control: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.transport not in ("ipc", "tcp"):
            raise ConfigError(f"transport must be 'ipc' or 'tcp', not {self.transport!r}")
        for name in self.satellites:
            if not name or "/" in name or not name.isprintable() or " " in name:
                raise ConfigError(f"satellites: bad satellite name {name!r}")
        if len(set(self.satellites)) != len(self.satellites):
            raise ConfigError(f"satellites: names repeat: {list(self.satellites)}")
        if self.clock.rate <= 0:
            raise ConfigError(f"clock.rate must be positive, not {self.clock.rate}")
        if self.sim_group < 1:
            raise ConfigError(f"sim_group must be at least 1, not {self.sim_group}")
        if self.app_hosting not in APP_HOSTINGS:
            raise ConfigError(f"app_hosting must be one of {', '.join(APP_HOSTINGS)}, "
                              f"not {self.app_hosting!r}")
        if self.flight_group < 1:
            raise ConfigError(f"flight_group must be at least 1, not {self.flight_group}")

    @property
    def path(self) -> Path:
        """The run directory."""
        return Path(self.run_dir)

    def satellite_dir(self, satellite: str) -> Path:
        """Where a satellite keeps what survives its restarts (recorder, results)."""
        return self.path / "satellites" / satellite

    def to_json(self) -> str:
        """The configuration as JSON text."""
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """From the parsed JSON; unknown or missing fields raise :class:`ConfigError`."""
        try:
            data = dict(data)
            clock = ClockAnchor(**data.pop("clock"))
            timing = Timing(**data.pop("timing", {}))
            satellites = tuple(data.pop("satellites"))
            tle = {name: tuple(lines) for name, lines in data.pop("tle", {}).items()}
            stations = tuple(data.pop("stations", ("china",)))
            return cls(clock=clock, timing=timing, satellites=satellites, tle=tle,
                       stations=stations, **data)
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"{RUN_FILE}: {exc}") from None

    def save(self) -> Path:
        """Write ``run.json`` into the run directory (atomically) and return its path."""
        return write_atomic(self.path / RUN_FILE, self.to_json())

    @classmethod
    def load(cls, run_dir: str | Path) -> RunConfig:
        """Read ``run.json`` from a run directory."""
        target = Path(run_dir) / RUN_FILE
        try:
            data = json.loads(target.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"no {RUN_FILE} in {run_dir}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{target}: not JSON ({exc})") from None
        return cls.from_dict(data)


def short_socket_dir(run_dir: Path) -> str:
    """A socket directory whose paths stay short: ``RUN_DIR/sock`` when short enough, else
    a fresh private directory under the system temporary directory (``/tmp/dd-XXXX``)."""
    inside = run_dir.resolve() / "sock"
    # Room for the longest name we make: "<satellite>.downlink" with a 16-character name.
    if len(str(inside)) + 32 <= MAX_IPC_PATH:
        inside.mkdir(parents=True, exist_ok=True)
        return str(inside)
    base = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()
    return tempfile.mkdtemp(prefix="dd-", dir=base)


def new_run(
    run_dir: str | Path,
    satellites: tuple[str, ...],
    *,
    rate: float = 1.0,
    sim_start: float | None = None,
    paused: bool = False,
    transport: str = "ipc",
    timing: Timing | None = None,
    seed: int = 0,
    tle: dict[str, tuple[str, str]] | None = None,
    hardware: dict[str, Any] | None = None,
    sim_step_s: float = 1.0,
    sim_group: int = 4,
    app_hosting: str = "separate",
    flight_group: int = 1,
    stations: tuple[str, ...] = ("china",),
    link: dict[str, Any] | None = None,
    key_file: str = "",
    control: dict[str, Any] | None = None,
) -> RunConfig:
    """A configuration for a new run starting now (wall) at ``sim_start`` (default: now), or
    held there (``paused``) until whoever masters the clock resumes it."""
    path = Path(run_dir)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    wall = time.time()
    config = RunConfig(
        run_dir=str(path.resolve()),
        satellites=tuple(satellites),
        clock=ClockAnchor(sim=wall if sim_start is None else sim_start, wall=wall, rate=rate,
                          paused=paused),
        transport=transport,
        socket_dir=short_socket_dir(path) if transport == "ipc" else "",
        timing=timing or Timing(),
        seed=seed,
        tle=dict(tle or {}),
        hardware=dict(hardware or {}),
        sim_step_s=sim_step_s,
        sim_group=sim_group,
        app_hosting=app_hosting,
        flight_group=flight_group,
        stations=tuple(stations),
        link=dict(link or {}),
        key_file=key_file,
        control=dict(control or {}),
    )
    return config


def with_clock(config: RunConfig, anchor: ClockAnchor) -> RunConfig:
    """The same configuration with another clock anchor."""
    return replace(config, clock=anchor)
