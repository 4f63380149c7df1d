"""The PUS 19 event-action table: event definitions of any app mapped to actions.

A definition is keyed, as in ECSS-E-ST-70-41C, by the event it reacts to (an ``APP.EVENT``
name, carried on the wire as APID and event ID). Where the standard gives each definition one
telecommand, ours holds a short list of actions executed in order:

* ``{"tc": "APP.VERB", "args": {...}}`` — send an onboard telecommand; an argument written
  ``"$name"`` takes the value of the event's argument ``name`` (so that one definition serves
  every node or every app, where the standard would need one per node);
* ``{"mode": "DEGRADED" | "SAFE", "cause": CAUSE}`` — raise the satellite mode (never lower);
* ``{"shed": 1..3}`` — raise the compute shed level (never lower);
* ``{"recover": CAUSE}`` — that cause of DEGRADED has cleared (see :mod:`flight.fault.modes`).

As the standard has it, an added definition starts disabled, and an enabled one cannot be
deleted. Definitions are checked against the dictionary when added, so that a definition that
would fail when its event comes is refused when it is uplinked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common.dictionary import DICTIONARY, FailureCode
from common.dictionary.apps.fault import CAUSE
from common.dictionary.model import Command, Event
from common.dictionary.types import TypeCheckError
from common.errors import UnknownCommand

#: Definitions the table holds at most (a flight table is bounded).
MAX_DEFINITIONS = 64
#: Actions one definition holds at most.
MAX_ACTIONS = 8
#: Events that cannot have definitions: the table's own reports (a definition on them would
#: feed itself).
RESERVED_EVENTS = frozenset({"FP.ACTION_FIRED", "FP.ACTION_FAILED", "FP.DEFINITION_CHANGED"})
ESCALATING_MODES = ("DEGRADED", "SAFE")


class DefinitionError(ValueError):
    """A table request refused: ``code`` is the PUS 1 failure code, ``data`` its data."""

    def __init__(self, code: FailureCode, message: str, data: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


@dataclass(frozen=True)
class Action:
    """One action of a definition."""

    kind: str
    command: str = ""
    args: tuple[tuple[str, Any], ...] = ()
    mode: str = ""
    cause: str = ""
    level: int = 0

    def resolve(self, event_args: Mapping[str, Any]) -> dict[str, Any]:
        """The telecommand's arguments with ``$name`` references replaced by event values."""
        return {name: _substitute(value, event_args) for name, value in self.args}

    def to_raw(self) -> dict[str, Any]:
        """The msgpack form (as uplinked)."""
        if self.kind == "tc":
            return {"tc": self.command, "args": dict(self.args)}
        if self.kind == "mode":
            return {"mode": self.mode, "cause": self.cause}
        if self.kind == "shed":
            return {"shed": self.level}
        return {"recover": self.cause}


@dataclass
class Definition:
    """One event-action definition."""

    event: str
    actions: tuple[Action, ...]
    enabled: bool = False
    fired: int = 0

    def status(self) -> dict[str, Any]:
        """For the TM[19,7] report."""
        return {"event": self.event, "enabled": self.enabled, "fired": self.fired,
                "actions": [action.to_raw() for action in self.actions]}


def _substitute(value: Any, event_args: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        return event_args[value[1:]]
    return value


def parse_actions(event: Event, raw: Any) -> tuple[Action, ...]:
    """Check uplinked actions against the dictionary and ``event``'s arguments."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ACTIONS:
        raise DefinitionError(FailureCode.INVALID_ARGUMENT,
                              f"actions must be a list of 1..{MAX_ACTIONS} maps", 2)
    return tuple(_parse_action(event, index, item) for index, item in enumerate(raw, 1))


def _bad(index: int, message: str) -> DefinitionError:
    return DefinitionError(FailureCode.INVALID_ARGUMENT, f"action {index}: {message}", index)


def _parse_action(event: Event, index: int, item: Any) -> Action:
    if not isinstance(item, dict) or len({"tc", "mode", "shed", "recover"} & set(item)) != 1:
        raise _bad(index, "a map with exactly one of tc, mode, shed, recover")
    if "tc" in item:
        return _parse_tc(event, index, item)
    if "mode" in item:
        mode, cause = str(item["mode"]).upper(), str(item.get("cause", "EVENT_ACTION")).upper()
        if mode not in ESCALATING_MODES:
            raise _bad(index, f"mode must be one of {', '.join(ESCALATING_MODES)} (an action "
                              "never lowers the mode: use recover)")
        if set(item) - {"mode", "cause"} or cause not in CAUSE.labels:
            raise _bad(index, f"mode takes a cause, one of {', '.join(CAUSE.labels)}")
        return Action("mode", mode=mode, cause=cause)
    if "shed" in item:
        level = item["shed"]
        if set(item) != {"shed"} or not isinstance(level, int) or not 1 <= level <= 3:
            raise _bad(index, "shed must be a level 1..3 (an action never lowers it)")
        return Action("shed", level=level)
    cause = str(item["recover"]).upper()
    if set(item) != {"recover"} or cause not in CAUSE.labels:
        raise _bad(index, f"recover must name a cause, one of {', '.join(CAUSE.labels)}")
    return Action("recover", cause=cause)


def _parse_tc(event: Event, index: int, item: dict[str, Any]) -> Action:
    try:
        command = DICTIONARY.command(str(item["tc"]))
    except UnknownCommand as exc:
        raise _bad(index, str(exc)) from None
    args = item.get("args", {})
    if set(item) - {"tc", "args"} or not isinstance(args, dict):
        raise _bad(index, "tc takes a command name and a map of arguments")
    _check_args(command, event, index, args)
    return Action("tc", command=command.name, args=tuple(sorted(args.items())))


def _check_args(command: Command, event: Event, index: int, args: dict[str, Any]) -> None:
    known = {arg.name: arg for arg in command.args}
    event_args = {arg.name for arg in event.args}
    unknown = sorted(set(args) - set(known))
    if unknown:
        raise _bad(index, f"{command.name} has no argument {unknown[0]}")
    for name, arg in known.items():
        value = args.get(name, arg.default)
        if value is None:
            raise _bad(index, f"{command.name} needs argument {name}")
        if isinstance(value, str) and value.startswith("$"):
            if value[1:] not in event_args:
                raise _bad(index, f"{name}={value}: {event.name} has no argument {value[1:]}")
            continue
        try:
            arg.type.check(value)
        except TypeCheckError as exc:
            raise _bad(index, f"{command.name} {name}={value!r}: allowed {exc.allowed}") from None


class EventActionTable:
    """The definitions, by event, and the PUS 19 function's on/off switch."""

    def __init__(self) -> None:
        self.definitions: dict[str, Definition] = {}
        self.function_enabled = True

    def _event(self, name: str) -> Event:
        event = DICTIONARY.events.get(name)
        if event is None:
            raise DefinitionError(FailureCode.INVALID_ARGUMENT, f"no event {name}", 1)
        return event

    def _existing(self, name: str) -> Definition:
        definition = self.definitions.get(name)
        if definition is None:
            raise DefinitionError(FailureCode.INVALID_ARGUMENT,
                                  f"no event-action definition for {name}", 1)
        return definition

    def add(self, name: str, raw_actions: Any, enabled: bool = False) -> Definition:
        """Add a definition (disabled unless ``enabled``); refused if one exists for the event."""
        event = self._event(name)
        if name in RESERVED_EVENTS:
            raise DefinitionError(FailureCode.INVALID_ARGUMENT,
                                  f"{name} reports the table itself: it takes no definition", 1)
        if name in self.definitions:
            raise DefinitionError(FailureCode.INVALID_ARGUMENT,
                                  f"{name} has a definition already: delete it first", 1)
        if len(self.definitions) >= MAX_DEFINITIONS:
            raise DefinitionError(FailureCode.RESOURCE_EXHAUSTED,
                                  f"the table is full ({MAX_DEFINITIONS} definitions)")
        definition = Definition(name, parse_actions(event, raw_actions), enabled)
        self.definitions[name] = definition
        return definition

    def delete(self, name: str) -> None:
        """Delete a disabled definition."""
        if self._existing(name).enabled:
            raise DefinitionError(FailureCode.NOT_ALLOWED_IN_MODE,
                                  f"the definition for {name} is enabled: disable it first", 1)
        del self.definitions[name]

    def delete_all(self) -> int:
        """Delete every definition; return how many there were."""
        count = len(self.definitions)
        self.definitions.clear()
        return count

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable a definition."""
        self._existing(name).enabled = enabled

    def triggered(self, name: str) -> Definition | None:
        """The enabled definition for event ``name``, if the function is enabled."""
        if not self.function_enabled:
            return None
        definition = self.definitions.get(name)
        return definition if definition is not None and definition.enabled else None

    def apids(self) -> set[int]:
        """APIDs of the apps whose events the table reacts to."""
        return {DICTIONARY.events[name].apid for name in self.definitions}

    def enabled_count(self) -> int:
        """Definitions enabled."""
        return sum(d.enabled for d in self.definitions.values())

    def status(self) -> list[dict[str, Any]]:
        """Every definition's status."""
        return [definition.status() for definition in self.definitions.values()]

    def to_state(self) -> dict[str, Any]:
        """What is kept across restarts."""
        return {"function_enabled": self.function_enabled, "definitions": self.status()}

    def load_state(self, state: Mapping[str, Any]) -> list[str]:
        """Restore :meth:`to_state`; return what was skipped as no longer valid, and why."""
        self.definitions.clear()
        self.function_enabled = bool(state.get("function_enabled", True))
        skipped = []
        for item in state.get("definitions", []):
            try:
                definition = self.add(item["event"], item["actions"], bool(item["enabled"]))
                definition.fired = int(item.get("fired", 0))
            except (DefinitionError, KeyError, TypeError, ValueError) as exc:
                skipped.append(f"{item!r}: {exc}")
        return skipped
