"""Alarms from the dictionary's limits, with severity and operator acknowledgement.

A parameter that leaves its warning or danger band (for as many consecutive samples as its
limits' persistence asks) raises an alarm; going further out raises its level; coming back
inside the bands clears it. An alarm stays in the list until an operator acknowledges it, even
after it cleared, so that nothing that happened while nobody was looking is missed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from common.dictionary import DICTIONARY
from ground.archive import Archive

_RANK = {None: 0, "warning": 1, "danger": 2}


@dataclass
class Alarm:
    """One alarm."""

    id: int
    satellite: str
    param: str
    level: str
    value: float
    time: float
    cleared: float | None = None
    acknowledged: float | None = None
    acknowledged_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The alarm as the operator API returns it."""
        state = "ACKNOWLEDGED" if self.acknowledged else ("CLEARED" if self.cleared else "OPEN")
        return {"alarm_id": self.id, "satellite": self.satellite, "param": self.param,
                "level": self.level, "value": self.value, "time": self.time,
                "cleared": self.cleared, "acknowledged": self.acknowledged,
                "acknowledged_by": self.acknowledged_by, "state": state}


class Alarms:
    """Limit checking of incoming housekeeping, per satellite and parameter."""

    def __init__(self, archive: Archive, publish: Callable[[str, dict[str, Any]], None]) -> None:
        self.archive = archive
        self.publish = publish
        #: The limited parameters of each housekeeping structure, with their limits.
        self.limited = {name: [(p.name, p.limits) for p in structure.params if p.limits]
                        for name, structure in DICTIONARY.structures.items()}
        self.alarms: dict[int, Alarm] = {}
        self.active: dict[tuple[str, str], Alarm] = {}
        self._pending: dict[tuple[str, str], tuple[str | None, int]] = {}

    def restore(self) -> int:
        """Take up the alarms of a previous life from the archive: the open ones stay active,
        the unacknowledged ones stay listed. Returns how many."""
        for row in self.archive.alarms():
            alarm = Alarm(row["id"], row["satellite"], row["param"], row["level"], row["value"],
                          row["time"], row["cleared"], row["acknowledged"],
                          row["acknowledged_by"])
            self.alarms[alarm.id] = alarm
            if alarm.cleared is None:
                self.active[(alarm.satellite, alarm.param)] = alarm
        return len(self.alarms)

    def check(self, satellite: str, structure: str, values: dict[str, Any], time: float
              ) -> None:
        """Check every limited parameter among ``values``, a report of ``structure``."""
        for name, limits in self.limited.get(structure, ()):
            value = values.get(name)
            if not isinstance(value, int | float):
                continue
            key = (satellite, name)
            level = limits.level(float(value))
            current = self.active.get(key)
            current_level = current.level if current else None
            if level == current_level:
                self._pending.pop(key, None)
                continue
            pending, count = self._pending.get(key, (level, 0))
            count = count + 1 if pending == level else 1
            if count < limits.persistence:
                self._pending[key] = (level, count)
                continue
            self._pending.pop(key, None)
            if level is None:
                assert current is not None
                current.cleared = time
                self.archive.clear_alarm(current.id, time)
                del self.active[key]
                self.publish(f"alarm/{satellite}", current.to_dict())
            elif _RANK[level] > _RANK[current_level] or current is None:
                self._raise(satellite, name, level, float(value), time)
            elif current is not None:
                current.level = level  # calmer, but still out of limits
                self.publish(f"alarm/{satellite}", current.to_dict())

    def _raise(self, satellite: str, name: str, level: str, value: float, time: float) -> None:
        alarm_id = self.archive.raise_alarm(satellite, name, level, value, time)
        alarm = Alarm(alarm_id, satellite, name, level, value, time)
        previous = self.active.get((satellite, name))
        if previous is not None:
            previous.cleared = time
            self.archive.clear_alarm(previous.id, time)
        self.alarms[alarm_id] = alarm
        self.active[(satellite, name)] = alarm
        self.archive.commit()  # on disk before anybody is told: it survives a crash
        self.publish(f"alarm/{satellite}", alarm.to_dict())

    def acknowledge(self, alarm_id: int, time: float, by: str) -> Alarm:
        """An operator acknowledged an alarm; raises KeyError for an unknown or acked one."""
        alarm = self.alarms.get(alarm_id)
        if alarm is None or alarm.acknowledged is not None:
            raise KeyError(f"no unacknowledged alarm {alarm_id}")
        alarm.acknowledged, alarm.acknowledged_by = time, by
        self.archive.acknowledge_alarm(alarm_id, time, by)
        self.archive.commit()
        self.publish(f"alarm/{alarm.satellite}", alarm.to_dict())
        return alarm

    def listing(self, include_all: bool = False) -> list[dict[str, Any]]:
        """Alarms not yet acknowledged (or all of them)."""
        return [a.to_dict() for a in self.alarms.values()
                if include_all or a.acknowledged is None]
