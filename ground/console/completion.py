"""The console's command line: parsing, checking and completion from the dictionary.

A line is ``SATELLITE APP.VERB name=value ...``. Completion offers satellites, then command
names, then the command's argument names, then an argument's enumeration labels; the help of the
argument being typed (its type, range and unit) is shown while typing. A bad command is refused
here, with the dictionary's reason, before anything is queued.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from common.dictionary import DICTIONARY
from common.dictionary.model import Arg, Command
from common.errors import ArgumentError, UnknownCommand


class LineError(ValueError):
    """A command line that cannot be sent; the message says why."""


@dataclass(frozen=True)
class ParsedLine:
    """A checked command line."""

    satellite: str
    command: Command
    args: dict[str, Any]


def _value(arg: Arg, text: str) -> Any:
    if arg.type.kind == "msgpack":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise LineError(f"{arg.name}: not JSON ({exc.msg})") from None
    return text


def parse_line(line: str, satellites: list[str]) -> ParsedLine:
    """Check a line against the dictionary; raises :class:`LineError` saying what is wrong."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise LineError(str(exc)) from None
    if len(words) < 2:
        raise LineError("usage: SATELLITE APP.VERB [name=value ...]")
    satellite, name, *assignments = words
    if satellite not in satellites:
        raise LineError(f"unknown satellite {satellite!r}; known: {', '.join(satellites)}")
    try:
        command = DICTIONARY.command(name)
    except UnknownCommand as exc:
        raise LineError(str(exc)) from None
    by_name = {arg.name: arg for arg in command.args}
    args: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep:
            raise LineError(f"expected name=value, got {assignment!r}")
        arg = by_name.get(key)
        if arg is None:
            expected = ", ".join(by_name) or "no arguments"
            raise LineError(f"{command.name} has no argument {key!r} ({expected})")
        args[key] = _value(arg, text)
    try:
        DICTIONARY.command_app_data(command, args)
    except ArgumentError as exc:
        raise LineError(str(exc)) from None
    return ParsedLine(satellite, command, args)


def complete(line: str, satellites: list[str]) -> str | None:
    """The line completed as far as it unambiguously goes... or the first candidate."""
    words = line.split(" ")
    current = words[-1]
    before = words[:-1]
    if not before:
        candidates = [s for s in satellites if s.startswith(current)]
        return f"{candidates[0]} " if candidates else None
    if len(before) == 1:
        upper = current.upper()
        candidates = sorted(n for n in DICTIONARY.commands if n.startswith(upper))
        return f"{' '.join(before)} {candidates[0]} " if candidates else None
    try:
        command = DICTIONARY.command(before[1])
    except UnknownCommand:
        return None
    given = {word.partition("=")[0] for word in before[2:]}
    if "=" not in current:
        candidates = [a.name for a in command.args
                      if a.name.startswith(current) and a.name not in given]
        return f"{' '.join(before)} {candidates[0]}=" if candidates else None
    key, _, typed = current.partition("=")
    arg = next((a for a in command.args if a.name == key), None)
    if arg is None:
        return None
    options = _options(arg)
    candidates = [o for o in options if o.upper().startswith(typed.upper())]
    return f"{' '.join(before)} {key}={candidates[0]} " if candidates else None


def _options(arg: Arg) -> list[str]:
    labels = getattr(arg.type, "labels", None)
    if labels:
        return list(labels)
    if arg.type.kind == "bool":
        return ["true", "false"]
    return []


def help_for(line: str) -> str:
    """What the user is typing: the command's description, or the current argument's help."""
    words = line.split(" ")
    if len(words) < 2 or not words[1]:
        return "SATELLITE APP.VERB name=value ...   (Tab completes; Enter sends)"
    try:
        command = DICTIONARY.command(words[1])
    except UnknownCommand:
        return f"unknown command {words[1]!r}" if len(words) > 2 else "APP.VERB"
    if len(words) == 2 or not words[-1]:
        names = " ".join(f"{a.name}=<{a.type.describe()}>" for a in command.args)
        return f"{command.name}: {command.description}  {names}".strip()
    key = words[-1].partition("=")[0]
    arg = next((a for a in command.args if a.name == key), None)
    if arg is None:
        return f"arguments: {', '.join(a.name for a in command.args) or 'none'}"
    unit = f" [{arg.unit}]" if arg.unit else ""
    return f"{arg.name}: {arg.description}{unit} — {arg.type.describe()}"
