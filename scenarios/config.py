"""Fleet configuration: a TOML file with documented defaults, checked field by field.

Every section and field is optional; an unknown, mistyped or out-of-range one is an error
naming it (every such error at once, before anything is launched)::

    [run]
    start = "2026-03-20T00:00:00Z"   # simulated start (UTC unless it says; a date: midnight UTC)
    duration_h = 24.0                # simulated hours a scenario plays (> 0)
    rate = 600.0                     # simulated seconds per wall second (> 0)
    seed = 1                         # every random process of the run (loss, upsets); >= 0
    security = true                  # authenticate telecommands (keys in RUN_DIR/keys)
    sim_group = 4                    # satellites whose hardware one simulator process plays
    app_hosting = "separate"         # a process per app; "together": one per satellite
    flight_group = 1                 # satellites whose executives share a process

    [constellation]
    altitude_km = 750.0              # 700–800 km dawn-dusk (300–2000 accepted)
    ltan_h = 18.0                    # local time of the ascending node, 0 <= ltan_h < 24
    planes = 1                       # planes × per_plane: at most MAX_SATELLITES (200)
    per_plane = 4
    phasing = 1                      # Walker F: 0 .. planes − 1 (one plane: 0 or 1)
    plane_spacing_deg = 5.0          # node (RAAN) step between planes, −180..180
    slot_spacing_deg = 0.0           # degrees between neighbours in a plane (0: evenly)

    [ground]
    stations = ["china"]             # names or networks: china, polar, all (at least one)
    auto_results = true              # fetch result files as soon as they are ready

    [link]                           # see ground.link.config.LinkConfig, e.g.
    relays = ["tianlian"]            # geostationary relays (default: none)
    isl = "in-plane"                 # inter-satellite links: none, in-plane, cross-plane
    [hardware]                       # see flight.sim.models.satellite.HardwareConfig
    [timing]                         # see common.runconfig.Timing (every interval > 0)

A run must lie between 1957 (a TLE's two-digit year) and October 2053 (the end of the
packaged de421 ephemeris).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.orbits import Constellation
from common.ranges import (
    AT_LEAST_ONE,
    FRACTION,
    NOT_NEGATIVE,
    POSITIVE,
    Number,
    Rule,
    problem,
    rules_for,
)
from common.runconfig import (
    APP_HOSTINGS,
    MAX_SATELLITES,
    ConfigError,
    RunConfig,
    Timing,
    new_run,
)


@dataclass(frozen=True)
class FleetConfig:
    """What a run is: orbits, stations, time, and the hardware and link knobs."""

    start: dt.datetime = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
    duration_h: float = 24.0
    rate: float = 600.0
    seed: int = 1
    transport: str = "ipc"
    #: Authenticate telecommands (keys made for the run in RUN_DIR/keys, owner-only).
    security: bool = True
    #: Satellites whose hardware one simulator process plays (a process per group).
    sim_group: int = 4
    #: "separate" (a process per flight app), "together" (one process for a satellite's apps:
    #: two processes fewer per satellite) or "executive" (the apps in the executive's process,
    #: one process per satellite), for very large fleets (common.runconfig.RunConfig).
    app_hosting: str = "separate"
    #: Satellites whose executives one process runs (a process per group; 1: per satellite).
    flight_group: int = 1
    altitude_km: float = 750.0
    ltan_h: float = 18.0
    planes: int = 1
    per_plane: int = 4
    phasing: int = 1
    plane_spacing_deg: float = 5.0
    slot_spacing_deg: float = 0.0
    stations: tuple[str, ...] = ("china",)
    #: Ground control fetches result files as soon as a satellite says they are ready.
    auto_results: bool = True
    link: dict[str, Any] = field(default_factory=dict)
    hardware: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, Any] = field(default_factory=dict)

    def constellation(self) -> Constellation:
        """The orbits of the fleet."""
        return Constellation(self.start, self.altitude_km, self.ltan_h, self.planes,
                             self.per_plane, self.phasing, self.plane_spacing_deg,
                             slot_spacing_deg=self.slot_spacing_deg)

    def run_config(self, run_dir: str | Path, *, paused: bool = False) -> RunConfig:
        """A new run of this fleet, starting now (wall) at ``start`` (simulated); ``paused``:
        held at ``start`` until its clock is resumed (once the fleet is up)."""
        constellation = self.constellation()
        elements = constellation.elements()
        key_file = ""
        if self.security:
            from common.sdls import KEY_FILE, generate_keys, write_key_file

            target = Path(run_dir) / "keys" / KEY_FILE
            if not target.exists():
                write_key_file(target, generate_keys(constellation.names()))
            key_file = str(target.resolve())
        if self.transport == "tcp":
            from common.curve import make_keys

            make_keys(run_dir, ["GROUND", "LINK", "operator", *constellation.names()])
        return new_run(
            run_dir, tuple(constellation.names()), rate=self.rate,
            sim_start=self.start.timestamp(), paused=paused,
            transport=self.transport,
            timing=Timing(**self.timing), seed=self.seed,
            tle={e.name: e.to_tle() for e in elements}, hardware=self.hardware,
            stations=self.stations, link=self.link, key_file=key_file, sim_group=self.sim_group,
            app_hosting=self.app_hosting, flight_group=self.flight_group,
            control={"auto_results": self.auto_results},
        )

    @property
    def end(self) -> float:
        """Simulated end of a scenario (Unix seconds)."""
        return self.start.timestamp() + self.duration_h * 3600

    def with_changes(self, **changes: Any) -> FleetConfig:
        """A copy with some fields changed (None values are ignored), checked as a file's
        fields are (ConfigError naming the field: a command line's ``--rate nan``)."""
        from dataclasses import replace

        problems: list[str] = []
        changed = {}
        for name, value in changes.items():
            if value is None:
                continue
            if name not in _FIELDS:
                raise ConfigError(f"{name}: not a field of a fleet configuration")
            section, spec = _FIELDS[name]
            changed.update(_read(section, {name: _as_file_value(value)}, {name: spec}, problems))
        config = replace(self, **changed)
        problems += _check(config)
        if problems:
            raise ConfigError("; ".join(problems))
        return config


#: A TLE's two-digit year reaches back to 1957; the packaged de421 ephemeris ends on
#: 2053-10-09 (a week's margin is left for the link's look-ahead).
EARLIEST_START = dt.datetime(1957, 1, 1, tzinfo=dt.UTC)
LATEST_END = dt.datetime(2053, 10, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class _Rule:
    """Any other value: what ``test`` accepts, described by ``text``, kept as ``make`` makes it."""

    test: Callable[[Any], bool]
    text: str
    make: Callable[[Any], Any] = lambda value: value

    def accepts(self, value: Any) -> bool:
        """True if ``value`` passes the test."""
        return self.test(value)

    def describe(self) -> str:
        """What is allowed, for an error message ("must be ...")."""
        return self.text

    def convert(self, value: Any) -> Any:
        """The accepted value as the fleet configuration keeps it."""
        return self.make(value)


def _time(value: Any) -> dt.datetime:
    """An ISO 8601 time or a TOML date-time, UTC unless it says; a date is midnight UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if not isinstance(value, dt.datetime):
        raise TypeError(f"not a time: {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _is_time(value: Any) -> bool:
    """True if ``value`` reads as a time."""
    try:
        _time(value)
    except (TypeError, ValueError):
        return False
    return True


def _choice(options: tuple[str, ...]) -> _Rule:
    """One of ``options``."""
    return _Rule(lambda v: isinstance(v, str) and v in options, f"one of {', '.join(options)}")


_TIME = _Rule(_is_time, "an ISO 8601 date or time, e.g. 2026-03-20T00:00:00Z", _time)
_FLAG = _Rule(lambda v: isinstance(v, bool), "true or false")
_NAMES = _Rule(lambda v: isinstance(v, list) and bool(v) and all(isinstance(n, str) for n in v),
               "a non-empty list of names", tuple)
_ABOVE_ABSOLUTE_ZERO = Number(float, -273.15, open_low=True)

_SECTIONS: dict[str, dict[str, Rule]] = {
    "run": {"start": _TIME, "duration_h": POSITIVE, "rate": POSITIVE,
            "seed": Number(int, 0), "transport": _choice(("ipc", "tcp")), "security": _FLAG,
            "sim_group": AT_LEAST_ONE, "app_hosting": _choice(APP_HOSTINGS),
            "flight_group": AT_LEAST_ONE},
    "constellation": {"altitude_km": Number(float, 300.0, 2000.0),
                      "ltan_h": Number(float, 0.0, 24.0, open_high=True),
                      "planes": Number(int, 1, MAX_SATELLITES),
                      "per_plane": Number(int, 1, MAX_SATELLITES),
                      "phasing": Number(int, 0),
                      "plane_spacing_deg": Number(float, -180.0, 180.0),
                      "slot_spacing_deg": Number(float, 0.0, 360.0, open_high=True)},
    "ground": {"stations": _NAMES, "auto_results": _FLAG},
}
#: The section and rule of each field of those sections, by field name.
_FIELDS: dict[str, tuple[str, Rule]] = {
    name: (section, spec) for section, table in _SECTIONS.items() for name, spec in table.items()}
#: Ranges of the hardware's numbers; ``nodes`` and ``initial_soc`` are HardwareConfig's own.
_HARDWARE_RANGES: dict[str, Rule] = {
    **dict.fromkeys(("node_busy_w", "node_idle_w", "platform_w", "heater_w", "array_area_m2",
                     "max_charge_w", "max_discharge_w", "radiator_area_m2", "earth_ir_w_m2",
                     "upsets_per_node_day", "saa_multiplier"), NOT_NEGATIVE),
    **dict.fromkeys(("cell_efficiency", "packing_factor", "emissivity", "louver_closed"),
                    FRACTION),
    **dict.fromkeys(("charge_efficiency", "discharge_efficiency"),
                    Number(float, 0.0, 1.0, open_low=True)),
    **dict.fromkeys(("heater_on_below_c", "heater_off_above_c", "initial_temp_c"),
                    _ABOVE_ABSOLUTE_ZERO),
    "battery_capacity_wh": POSITIVE, "battery_strings": AT_LEAST_ONE,
}
#: Every timing knob is a positive interval, but the niceness (os.nice's range).
_TIMING_RANGES: dict[str, Rule] = {"satellite_nice": Number(int, -20, 19)}


@functools.cache
def _tables() -> dict[str, dict[str, Rule] | None]:
    """Every section's fields (None: LinkConfig.from_overrides checks its own)."""
    from flight.sim.models.satellite import HardwareConfig

    return {**_SECTIONS, "link": None,
            "hardware": rules_for(HardwareConfig, _HARDWARE_RANGES),
            "timing": rules_for(Timing, _TIMING_RANGES, POSITIVE)}


_FREE_SECTIONS = ("link", "hardware", "timing")


def parse(data: dict[str, Any], source: str = "configuration") -> FleetConfig:
    """A fleet configuration from parsed TOML; errors name the bad field (all of them)."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    tables = _tables()
    for section, content in data.items():
        if section not in tables:
            raise ConfigError(f"{source}: unknown section [{section}]; "
                              f"known: {', '.join(tables)}")
        if not isinstance(content, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        table = tables[section]
        read = dict(content) if table is None else _read(section, content, table, problems)
        if section in _FREE_SECTIONS:
            values[section] = read
        else:
            values.update(read)
    config = FleetConfig(**values)  # of the accepted values: the rest are in problems
    problems += _check(config)
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    return config


def _as_file_value(value: Any) -> Any:
    """A value given in Python as a file would give it (a tuple of names as a list)."""
    return list(value) if isinstance(value, tuple) else value


def _read(section: str, content: dict[str, Any], table: dict[str, Rule],
          problems: list[str]) -> dict[str, Any]:
    """A section's accepted values; what is wrong with the others is added to ``problems``."""
    accepted = {}
    for key, value in content.items():
        spec = table.get(key)
        if spec is None:
            problems.append(f"{section}.{key}: unknown field; known: {', '.join(table)}")
        elif (wrong := problem(f"{section}.{key}", spec, value)) is not None:
            problems.append(wrong)
        else:
            accepted[key] = spec.convert(value)
    return accepted


def _check(config: FleetConfig) -> list[str]:
    """What no single field shows: fields that must agree, and the ground and flight models'
    own checks of stations, link and hardware."""
    return _cross_problems(config) + _model_problems(config)


def _cross_problems(config: FleetConfig) -> list[str]:
    """What is wrong with fields that must agree with each other."""
    c = config
    satellites = c.planes * c.per_plane
    last_phasing = max(c.planes - 1, 1)  # with one plane, phasing has no effect
    checks = [
        (satellites <= MAX_SATELLITES,
         f"constellation.planes × per_plane is {satellites} satellites, more than "
         f"{MAX_SATELLITES}"),
        (c.phasing <= last_phasing,
         f"constellation.phasing (Walker F) must be from 0 to {last_phasing} with "
         f"{c.planes} plane(s), not {c.phasing}"),
        (abs(c.plane_spacing_deg) * (c.planes - 1) < 360,
         f"constellation.plane_spacing_deg {c.plane_spacing_deg} does not fit {c.planes} "
         f"planes in 360°"),
        (c.slot_spacing_deg * (c.per_plane - 1) < 360,
         f"constellation.slot_spacing_deg {c.slot_spacing_deg} does not fit "
         f"{c.per_plane} satellites in one orbit"),
        (c.start >= EARLIEST_START,
         f"run.start must be on or after {EARLIEST_START:%Y-%m-%d}, not {c.start.isoformat()}"),
        (c.end <= LATEST_END.timestamp(),
         f"run.start + duration_h must end by {LATEST_END:%Y-%m-%d} (the packaged ephemeris), "
         f"not {c.duration_h:g} h after {c.start.isoformat()}"),
    ]
    return [message for ok, message in checks if not ok]


def _model_problems(config: FleetConfig) -> list[str]:
    """What the stations, the link and the hardware models refuse, each named."""
    from flight.sim.models.satellite import HardwareConfig
    from ground.link.config import LinkConfig
    from ground.passes import network

    builds = {"ground.stations": lambda: network(config.stations),
              "link": lambda: LinkConfig.from_overrides(config.link, seed=config.seed),
              "hardware": lambda: HardwareConfig(**config.hardware)}
    problems = []
    for name, build in builds.items():
        try:
            build()
        except (TypeError, ValueError) as exc:
            text = str(exc)
            problems.append(text if text.startswith(name) else f"{name}: {text}")
    return problems


def load(path: str | Path) -> FleetConfig:
    """Read a fleet configuration file (TOML; JSON in the same shape is accepted too)."""
    target = Path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no configuration file {target}") from None
    try:
        data = json.loads(text) if target.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{target}: not valid {target.suffix[1:].upper() or 'TOML'} "
                          f"({exc})") from None
    return parse(data, str(target))
