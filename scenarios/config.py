"""Fleet configuration: a TOML file with documented defaults, checked field by field.

Every section and field is optional; an unknown or mistyped one is an error naming it::

    [run]
    start = "2026-03-20T00:00:00Z"   # simulated start (UTC)
    duration_h = 24.0                # simulated hours a scenario plays
    rate = 600.0                     # simulated seconds per wall second
    seed = 1                         # every random process of the run (loss, upsets)
    security = true                  # authenticate telecommands (keys in RUN_DIR/keys)
    sim_group = 4                    # satellites whose hardware one simulator process plays
    app_hosting = "separate"         # a process per app; "together": one per satellite

    [constellation]
    altitude_km = 750.0              # 700–800 km dawn-dusk
    ltan_h = 18.0                    # local time of the ascending node
    planes = 1
    per_plane = 4
    phasing = 1                      # Walker F
    plane_spacing_deg = 5.0
    slot_spacing_deg = 0.0           # degrees between neighbours in a plane (0: evenly)

    [ground]
    stations = ["china"]             # names or networks: china, polar, all
    auto_results = true              # fetch result files as soon as they are ready

    [link]                           # see ground.link.config.LinkConfig, e.g.
    relays = ["tianlian"]            # geostationary relays (default: none)
    isl = "in-plane"                 # inter-satellite links: none, in-plane, cross-plane
    [hardware]                       # see flight.sim.models.satellite.HardwareConfig
    [timing]                         # see common.runconfig.Timing
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from common.orbits import Constellation
from common.runconfig import APP_HOSTINGS, ConfigError, RunConfig, Timing, new_run


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

    def run_config(self, run_dir: str | Path) -> RunConfig:
        """A new run of this fleet, starting now (wall) at ``start`` (simulated)."""
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
            sim_start=self.start.timestamp(), transport=self.transport,
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
        """A copy with some fields changed (None values are ignored)."""
        from dataclasses import replace

        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_SECTIONS: dict[str, dict[str, tuple[type | tuple[type, ...], str]]] = {
    "run": {"start": (str, "start"), "duration_h": ((int, float), "duration_h"),
            "rate": ((int, float), "rate"), "seed": (int, "seed"),
            "transport": (str, "transport"), "security": (bool, "security"),
            "sim_group": (int, "sim_group"), "app_hosting": (str, "app_hosting"),
            "flight_group": (int, "flight_group")},
    "constellation": {"altitude_km": ((int, float), "altitude_km"),
                      "ltan_h": ((int, float), "ltan_h"), "planes": (int, "planes"),
                      "per_plane": (int, "per_plane"), "phasing": (int, "phasing"),
                      "plane_spacing_deg": ((int, float), "plane_spacing_deg"),
                      "slot_spacing_deg": ((int, float), "slot_spacing_deg")},
    "ground": {"stations": (list, "stations"), "auto_results": (bool, "auto_results")},
}
_FREE_SECTIONS = ("link", "hardware", "timing")


def _parse_time(text: str, where: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{where}: not an ISO 8601 time: {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def parse(data: dict[str, Any], source: str = "configuration") -> FleetConfig:
    """A fleet configuration from parsed TOML; errors name the bad field."""
    values: dict[str, Any] = {}
    for section, content in data.items():
        if section in _FREE_SECTIONS:
            if not isinstance(content, dict):
                raise ConfigError(f"{source}: [{section}] must be a table")
            values[section] = dict(content)
            continue
        known = _SECTIONS.get(section)
        if known is None:
            allowed = ", ".join([*_SECTIONS, *_FREE_SECTIONS])
            raise ConfigError(f"{source}: unknown section [{section}]; known: {allowed}")
        if not isinstance(content, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        for key, value in content.items():
            where = f"{source}: {section}.{key}"
            spec = known.get(key)
            if spec is None:
                raise ConfigError(f"{where}: unknown field; known: {', '.join(known)}")
            types, target = spec
            if (isinstance(value, bool) and types is not bool) or not isinstance(value, types):
                raise ConfigError(f"{where}: expected {_names(types)}, got {value!r}")
            values[target] = _parse_time(str(value), where) if target == "start" else value
    if "stations" in values:
        values["stations"] = tuple(str(s) for s in values["stations"])
    config = FleetConfig(**values)
    _check(config, source)
    return config


def _names(types: type | tuple[type, ...]) -> str:
    if isinstance(types, tuple):
        return " or ".join(t.__name__ for t in types)
    return types.__name__


def _check(config: FleetConfig, source: str) -> None:
    problems = []
    if config.rate <= 0:
        problems.append(f"run.rate must be positive, not {config.rate}")
    if config.duration_h <= 0:
        problems.append(f"run.duration_h must be positive, not {config.duration_h}")
    if config.transport not in ("ipc", "tcp"):
        problems.append(f"run.transport must be ipc or tcp, not {config.transport!r}")
    if not 300 <= config.altitude_km <= 2000:
        problems.append(f"constellation.altitude_km {config.altitude_km} is not a LEO altitude")
    if config.sim_group < 1:
        problems.append(f"run.sim_group must be at least 1, not {config.sim_group}")
    if config.app_hosting not in APP_HOSTINGS:
        problems.append(f"run.app_hosting must be one of {', '.join(APP_HOSTINGS)}, "
                        f"not {config.app_hosting!r}")
    if config.flight_group < 1:
        problems.append(f"run.flight_group must be at least 1, not {config.flight_group}")
    if config.planes < 1 or config.per_plane < 1:
        problems.append("constellation.planes and per_plane must be at least 1")
    if not 0 <= config.slot_spacing_deg * (config.per_plane - 1) < 360:
        problems.append(f"constellation.slot_spacing_deg {config.slot_spacing_deg} does not fit "
                        f"{config.per_plane} satellites in one orbit")
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    from ground.link.config import LinkConfig
    from ground.passes import network

    try:
        network(config.stations)
        LinkConfig.from_overrides(config.link)
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    timing_fields = {f.name for f in fields(Timing)}
    unknown = sorted(set(config.timing) - timing_fields)
    if unknown:
        raise ConfigError(f"{source}: timing: unknown field(s) {', '.join(unknown)}")
    _check_hardware(config.hardware, source)


def _check_hardware(hardware: dict[str, Any], source: str) -> None:
    try:
        from flight.sim.models.satellite import HardwareConfig
    except ImportError:  # pragma: no cover - the simulated hardware is part of the package
        return
    known = {f.name for f in fields(HardwareConfig)}
    unknown = sorted(set(hardware) - known)
    if unknown:
        raise ConfigError(f"{source}: hardware: unknown field(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(known))}")


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
