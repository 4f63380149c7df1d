"""The dictionary's vocabulary: applications, commands, arguments, parameters, structures, events.

These are plain declarations; :mod:`common.dictionary.registry` checks them and derives the
codecs. Short names are declared here (``VERB``, ``NAME``); full names (``APP.VERB``,
``NAMESPACE.NAME``) are given when an application is assembled.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from common.dictionary.types import DataType

PUS_FUNCTION_SERVICE = 8
PUS_FUNCTION_SUBTYPE = 1


class Severity(IntEnum):
    """PUS 5 event severities, which are also the report subtypes TM[5,1..4]."""

    INFO = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4


@dataclass(frozen=True)
class Arg:
    """A command argument: a typed, range-checked field of the command's application data."""

    name: str
    type: DataType
    description: str = ""
    unit: str = ""
    #: Used when the caller leaves the argument out; ``None`` makes it required.
    default: Any = None


@dataclass(frozen=True)
class Command:
    """A telecommand: PUS service/subtype, and a function ID for PUS 8 functions."""

    verb: str
    service: int
    subtype: int
    description: str
    args: tuple[Arg, ...] = ()
    function_id: int | None = None
    app: str = ""
    apid: int = 0

    @property
    def name(self) -> str:
        """``APP.VERB``."""
        return f"{self.app}.{self.verb}"

    @property
    def key(self) -> tuple[int, int, int | None]:
        """What identifies the command within its application on the wire."""
        return self.service, self.subtype, self.function_id


def function(verb: str, function_id: int, description: str, *args: Arg) -> Command:
    """An application-specific command: a PUS TC[8,1] function with its function ID."""
    return Command(
        verb, PUS_FUNCTION_SERVICE, PUS_FUNCTION_SUBTYPE, description, args, function_id
    )


@dataclass(frozen=True)
class Limits:
    """Alarm limits of a numeric parameter: a warning band inside a danger band.

    ``persistence`` is how many consecutive samples out of limits make a violation onboard.
    """

    warn_low: float | None = None
    warn_high: float | None = None
    danger_low: float | None = None
    danger_high: float | None = None
    persistence: int = 1

    def level(self, value: float) -> str | None:
        """``"danger"``, ``"warning"`` or ``None`` for a value."""
        if (self.danger_low is not None and value < self.danger_low) or (
            self.danger_high is not None and value > self.danger_high
        ):
            return "danger"
        if (self.warn_low is not None and value < self.warn_low) or (
            self.warn_high is not None and value > self.warn_high
        ):
            return "warning"
        return None

    def describe(self) -> str:
        """Limits as text: ``warn 20..80, danger 10..90``."""
        def band(lo: float | None, hi: float | None) -> str:
            return f"{'' if lo is None else f'{lo:g}'}..{'' if hi is None else f'{hi:g}'}"

        parts = []
        if self.warn_low is not None or self.warn_high is not None:
            parts.append("warn " + band(self.warn_low, self.warn_high))
        if self.danger_low is not None or self.danger_high is not None:
            parts.append("danger " + band(self.danger_low, self.danger_high))
        if self.persistence > 1:
            parts.append(f"persistence {self.persistence}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Param:
    """A telemetry parameter, named ``NAMESPACE.NAME`` (e.g. ``EPS.BATTERY_SOC``)."""

    namespace: str
    short: str
    type: DataType
    description: str
    unit: str = ""
    limits: Limits | None = None

    @functools.cached_property
    def name(self) -> str:
        """``NAMESPACE.NAME`` (made once: it is looked up for every value sent)."""
        return f"{self.namespace}.{self.short}"


@dataclass(frozen=True)
class Structure:
    """A PUS 3 housekeeping structure: its ID within the application, and its parameters."""

    sid: int
    short: str
    description: str
    params: tuple[Param, ...]
    interval_s: float = 10.0
    enabled: bool = True
    app: str = ""
    apid: int = 0

    @functools.cached_property
    def name(self) -> str:
        """``APP.STRUCTURE``."""
        return f"{self.app}.{self.short}"

    @functools.cached_property
    def param_names(self) -> frozenset[str]:
        """The full names of its parameters."""
        return frozenset(param.name for param in self.params)


@dataclass(frozen=True)
class Event:
    """A PUS 5 event: ID within its application, severity, message template and arguments.

    The message is a ``str.format`` template over the arguments' names.
    """

    event_id: int
    short: str
    severity: Severity
    message: str
    args: tuple[Arg, ...] = ()
    app: str = ""
    apid: int = 0

    @property
    def name(self) -> str:
        """``APP.EVENT``."""
        return f"{self.app}.{self.short}"

    def placeholders(self) -> set[str]:
        """The argument names the message template refers to."""
        return {
            name.split(".")[0].split("[")[0]
            for _, name, _, _ in string.Formatter().parse(self.message)
            if name
        }


@dataclass(frozen=True)
class Report:
    """A telemetry report other than housekeeping and events, with a fixed layout."""

    short: str
    service: int
    subtype: int
    description: str
    fields: tuple[Arg, ...] = ()
    app: str = ""
    apid: int = 0

    @property
    def name(self) -> str:
        """``APP.REPORT``."""
        return f"{self.app}.{self.short}"


@dataclass(frozen=True)
class Setting:
    """An onboard parameter of an application, read and written with PUS 20."""

    setting_id: int
    short: str
    description: str
    default: float
    lo: float
    hi: float
    unit: str = ""
    app: str = ""

    @property
    def name(self) -> str:
        """``APP.SETTING``."""
        return f"{self.app}.{self.short}"


@dataclass(frozen=True)
class App:
    """One flight application: its APID and everything it understands and produces."""

    name: str
    apid: int
    title: str
    description: str
    commands: tuple[Command, ...] = ()
    structures: tuple[Structure, ...] = ()
    events: tuple[Event, ...] = ()
    reports: tuple[Report, ...] = ()
    settings: tuple[Setting, ...] = ()
    #: Started and supervised by the executive as a child process.
    supervised: bool = False
    #: Its packets stay on the satellite bus (the hardware interface): never downlinked.
    onboard_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def command(self, verb: str) -> Command:
        """The command ``verb`` of this application."""
        for command in self.commands:
            if command.verb == verb:
                return command
        raise KeyError(f"{self.name}.{verb}")

    def event(self, short: str) -> Event:
        """The event ``short`` of this application."""
        for event in self.events:
            if event.short == short:
                return event
        raise KeyError(f"{self.name}.{short}")

    def structure(self, short: str) -> Structure:
        """The housekeeping structure ``short`` of this application."""
        for structure in self.structures:
            if structure.short == short:
                return structure
        raise KeyError(f"{self.name}.{short}")
