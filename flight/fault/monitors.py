"""PUS 12 parameter monitoring: limit monitors and protection monitors, with persistence.

A monitor classifies each sample of its parameter into a level (NONE, WARNING, DANGER); a new
level becomes the monitor's level only after ``persistence`` consecutive samples agree, and
that confirmed change is a :class:`Transition` (the app turns it into an event).

* A :class:`LimitMonitor` checks a parameter against its dictionary limits (the ground's alarm
  limits, also watched on board); its transitions become LIMIT_VIOLATION / LIMIT_RECOVERED.
* A :class:`ProtectionMonitor` checks one hazard against thresholds that are onboard
  parameters (PUS 20), read at every sample so that a new value applies at once. Once in
  violation it only escalates: it returns to NONE when the value is back past a recovery
  threshold (hysteresis), never down one level, so that an action taken at DANGER (a node
  powered off) is not followed by the WARNING action (throttle it) while it cools.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from common.dictionary.model import Limits

LEVELS = ("NONE", "WARNING", "DANGER")
_RANK = {level: rank for rank, level in enumerate(LEVELS)}
_NODE_PARAM = re.compile(r"^NODES\.NODE(\d+)_")


@dataclass
class Transition:
    """A monitor's confirmed change of level."""

    monitor: Monitor
    old: str
    new: str
    value: float


@dataclass
class Monitor:
    """What every monitor keeps: identity, parameter, persistence, state."""

    monitor_id: int
    name: str
    param: str
    persistence: int = 1
    #: The compute node this monitor is about (skipped when the satellite has fewer nodes).
    node: int | None = None
    enabled: bool = True
    level: str = "NONE"
    pending: str = "NONE"
    count: int = 0
    value: float = float("nan")

    def classify(self, value: float, params: Mapping[str, float]) -> str:
        """The level ``value`` calls for, given the current level."""
        raise NotImplementedError

    def sample(self, value: float, params: Mapping[str, float]) -> Transition | None:
        """Take one sample; the transition it confirms, if any."""
        self.value = value
        level = self.classify(value, params)
        if level == self.level:
            self.pending, self.count = level, 0
            return None
        if level != self.pending:
            self.pending, self.count = level, 0
        self.count += 1
        if self.count < max(1, self.persistence):
            return None
        old, self.level, self.count = self.level, level, 0
        return Transition(self, old, level, value)

    def reset(self) -> None:
        """Forget the level and any pending change (disabled, or re-armed by command)."""
        self.level = self.pending = "NONE"
        self.count = 0

    def status(self) -> dict[str, Any]:
        """For the TM[12,14] report."""
        return {"monitor": self.name, "enabled": self.enabled, "level": self.level,
                "value": self.value, "persistence": self.persistence}


@dataclass
class LimitMonitor(Monitor):
    """A parameter against its dictionary limits (warning band inside danger band)."""

    limits: Limits = field(default_factory=Limits)

    def classify(self, value: float, params: Mapping[str, float]) -> str:
        return (self.limits.level(value) or "none").upper()


@dataclass(frozen=True)
class Threshold:
    """A level entered when the value passes the onboard parameter ``setting``."""

    level: str
    setting: str


@dataclass
class ProtectionMonitor(Monitor):
    """One hazard: a value too high (or too low) against onboard-parameter thresholds.

    ``thresholds`` are in rising order of severity. The value is back to NONE only past the
    recovery threshold: the onboard parameter ``recover`` when given (never on the wrong side
    of the first threshold), else the first threshold less ``hysteresis`` (an onboard
    parameter too).
    """

    high: bool = True
    thresholds: tuple[Threshold, ...] = ()
    recover: str | None = None
    hysteresis: str | None = None
    #: Event raised on entering each level (NONE: on recovery).
    events: Mapping[str, str] = field(default_factory=dict)
    #: Name of the event argument carrying the value, and the fixed arguments besides.
    value_arg: str = "value"
    event_args: Mapping[str, Any] = field(default_factory=dict)

    def _beyond(self, value: float, limit: float) -> bool:
        """Past ``limit`` on the hazardous side."""
        return value > limit if self.high else value < limit

    def recovery_limit(self, params: Mapping[str, float]) -> float:
        """The value the parameter must pass to return to NONE."""
        first = params[self.thresholds[0].setting]
        if self.recover is not None:
            limit = params[self.recover]
            return min(limit, first) if self.high else max(limit, first)
        margin = params[self.hysteresis] if self.hysteresis else 0.0
        return first - margin if self.high else first + margin

    def classify(self, value: float, params: Mapping[str, float]) -> str:
        raw = "NONE"
        for threshold in self.thresholds:
            if self._beyond(value, params[threshold.setting]):
                raw = threshold.level
        if self.level == "NONE" or _RANK[raw] > _RANK[self.level]:
            return raw
        limit = self.recovery_limit(params)
        recovered = value < limit if self.high else value > limit
        return "NONE" if recovered else self.level


class MonitorSet:
    """Every monitor of the satellite, and the PUS 12 function's on/off switch."""

    def __init__(self, monitors: list[Monitor]) -> None:
        self.monitors = {monitor.name: monitor for monitor in monitors}
        self._by_param: dict[str, list[Monitor]] = {}
        for monitor in monitors:
            self._by_param.setdefault(monitor.param, []).append(monitor)
        self.function_enabled = True

    def __getitem__(self, name: str) -> Monitor:
        return self.monitors[name]

    def sample(self, values: Mapping[str, Any], params: Mapping[str, float]) -> list[Transition]:
        """Check every enabled monitor whose parameter ``values`` holds."""
        if not self.function_enabled:
            return []
        fitted = values.get("NODES.COUNT")
        found = []
        for name, value in values.items():
            for monitor in self._by_param.get(name, ()):
                if not monitor.enabled:
                    continue
                if monitor.node is not None and fitted is not None and monitor.node >= fitted:
                    continue  # no such node: its reading is a placeholder
                transition = monitor.sample(float(value), params)
                if transition is not None:
                    found.append(transition)
        return found

    def enabled_count(self) -> int:
        """Monitors enabled."""
        return sum(monitor.enabled for monitor in self.monitors.values())

    def status(self) -> list[dict[str, Any]]:
        """Every monitor's status, in ID order."""
        ordered = sorted(self.monitors.values(), key=lambda m: m.monitor_id)
        return [monitor.status() for monitor in ordered]


def node_of(param: str) -> int | None:
    """The node index a ``NODES.NODEn_...`` parameter is about."""
    found = _NODE_PARAM.match(param)
    return int(found.group(1)) if found else None
