"""What every application has: standard commands, events, status parameters and PUS reports.

Like cFS apps, every dawndusk app answers NOOP, RESET_COUNTERS, the PUS 17 are-you-alive, and the
PUS 3 housekeeping controls; reports its command and error counters; and raises the same events
for rejected commands and packets. :func:`define_app` adds all of it to an app's own entries.
"""

from __future__ import annotations

from dataclasses import replace
from enum import IntEnum
from typing import Any

from common.dictionary.model import (
    App,
    Arg,
    Command,
    Event,
    Param,
    Report,
    Setting,
    Severity,
    Structure,
    function,
)
from common.dictionary.types import Enum, Float, UInt
from common.errors import DictionaryError

#: The source ID ground control puts in its telecommands, and the destination ID of TM to it.
GROUND_ID = 1
#: Function IDs below this are the standard functions every app answers.
FIRST_APP_FUNCTION_ID = 16
#: Event IDs below this are the standard events every app can raise.
FIRST_APP_EVENT_ID = 16
#: Structure ID of every app's status structure.
STATUS_SID = 1


class FailureCode(IntEnum):
    """PUS 1 failure notice codes, shared by every app."""

    ILLEGAL_APID = 1
    INVALID_LENGTH = 2
    BAD_CHECKSUM = 3
    ILLEGAL_PACKET_TYPE = 4
    ILLEGAL_SERVICE = 5
    ILLEGAL_FUNCTION = 6
    INVALID_ARGUMENT = 7
    EXECUTION_FAILED = 8
    NOT_ALLOWED_IN_MODE = 9
    BUSY = 10
    UNKNOWN_APP = 11
    INVALID_JOB = 12
    UNKNOWN_JOB = 13
    TIMEOUT = 14
    NOT_AUTHENTICATED = 15
    RESOURCE_EXHAUSTED = 16
    APP_NOT_RUNNING = 17


class RejectReason(IntEnum):
    """Why a packet was dropped before reaching an app (``PacketError.reason`` upper-cased)."""

    TOO_SHORT = 1
    LENGTH_MISMATCH = 2
    CRC_MISMATCH = 3
    BAD_PRIMARY_HEADER = 4
    UNKNOWN_APID = 5
    BAD_SECONDARY_HEADER = 6
    BAD_ARGUMENTS = 7
    UNKNOWN_COMMAND = 8
    WRONG_PACKET_TYPE = 9
    BAD_TOPIC = 10
    BAD_MESSAGE = 11
    NOT_AUTHENTICATED = 12
    OVERFLOW = 13
    UNKNOWN_TELEMETRY = 14

    @classmethod
    def of(cls, error: Exception) -> RejectReason:
        """The reason for a :class:`common.errors.PacketError` (BAD_MESSAGE for another)."""
        return cls.__members__.get(str(getattr(error, "reason", "")).upper(), cls.BAD_MESSAGE)


def enum_of(codes: type[IntEnum], bits: int = 16) -> Enum:
    """A dictionary enumeration from a Python ``IntEnum``."""
    return Enum({member.name: int(member) for member in codes}, bits=bits)


FAILURE_CODE = enum_of(FailureCode)
REJECT_REASON = enum_of(RejectReason, bits=8)

_U8, _U16, _U32 = UInt(8), UInt(16), UInt(32)

# --- PUS reports every app may send --------------------------------------------------------------

_REQUEST = (
    Arg("packet_id", _U16, "version, type, flag and APID word of the verified telecommand"),
    Arg("sequence", _U16, "sequence flags and count word of the verified telecommand"),
)
_FAILURE = (
    Arg("code", FAILURE_CODE, "failure notice code"),
    Arg("data", _U32, "failure data (meaning depends on the code)"),
)

VERIFICATION_STAGES = {
    1: ("ACCEPTANCE", True),
    2: ("ACCEPTANCE", False),
    3: ("START", True),
    4: ("START", False),
    5: ("PROGRESS", True),
    6: ("PROGRESS", False),
    7: ("COMPLETION", True),
    8: ("COMPLETION", False),
}

STANDARD_REPORTS: tuple[Report, ...] = (
    *(
        Report(
            f"{stage}_{'SUCCESS' if ok else 'FAILURE'}",
            1,
            subtype,
            f"Request verification: {stage.lower()} {'succeeded' if ok else 'failed'}.",
            _REQUEST if ok else _REQUEST + _FAILURE,
            app="PUS",
        )
        for subtype, (stage, ok) in VERIFICATION_STAGES.items()
    ),
    Report("ARE_YOU_ALIVE_REPORT", 17, 2, "Answer to an are-you-alive connection test.", app="PUS"),
    Report(
        "PARAMETER_VALUE",
        20,
        2,
        "Value of an onboard parameter.",
        (Arg("param", _U16, "onboard parameter ID"), Arg("value", Float(64), "its value")),
        app="PUS",
    ),
)

HK_REPORT = (3, 25)
EVENT_SERVICE = 5


def request_words(apid: int, seq_count: int) -> tuple[int, int]:
    """The two 16-bit words by which a PUS 1 report names a telecommand."""
    return (1 << 12) | (1 << 11) | apid, (0b11 << 14) | seq_count


def request_of(packet_id: int, sequence: int) -> tuple[int, int]:
    """(APID, sequence count) of the telecommand a PUS 1 report names."""
    return packet_id & 0x7FF, sequence & 0x3FFF


# --- Standard commands, events and status --------------------------------------------------------


def _standard_commands(structures: Enum, settings: Enum | None) -> tuple[Command, ...]:
    structure = Arg("structure", structures, "housekeeping structure")
    commands = [
        Command("PING", 17, 1, "Are-you-alive test: the app answers with TM[17,2]."),
        function("NOOP", 0, "Do nothing but count the command and raise the NOOP event."),
        function("RESET_COUNTERS", 1, "Zero the command, error and rejection counters."),
        Command("ENABLE_HK", 3, 5, "Enable periodic generation of a structure.", (structure,)),
        Command("DISABLE_HK", 3, 6, "Disable periodic generation of a structure.", (structure,)),
        Command(
            "SET_HK_INTERVAL",
            3,
            31,
            "Change a structure's collection interval (simulated seconds); its reports are due "
            "at whole multiples of it.",
            (structure, Arg("interval", Float(32, 0.1, 86400.0), "new interval", "s")),
        ),
        Command("REPORT_HK", 3, 27, "Generate one report of a structure now.", (structure,)),
    ]
    if settings is not None:
        setting = Arg("param", settings, "onboard parameter")
        commands += [
            Command("GET_PARAM", 20, 1, "Report an onboard parameter (TM[20,2]).", (setting,)),
            Command(
                "SET_PARAM",
                20,
                3,
                "Set an onboard parameter within its declared range.",
                (setting, Arg("value", Float(64), "new value")),
            ),
        ]
    return tuple(commands)


def _standard_events(settings: Enum | None) -> tuple[Event, ...]:
    events = [
        Event(
            1, "STARTED", Severity.INFO, "started with pid {pid}, dictionary version {app_version}",
            (Arg("pid", _U32, "process ID"), Arg("app_version", _U16, "dictionary version")),
        ),
        Event(2, "NOOP", Severity.INFO, "no-op, {commands} commands accepted so far",
              (Arg("commands", _U32, "command counter"),)),
        Event(3, "COUNTERS_RESET", Severity.INFO, "command and error counters reset"),
        Event(
            4, "COMMAND_REJECTED", Severity.LOW,
            "TC[{service},{subtype}] function {function} for APID {apid} rejected: {code}",
            (
                Arg("service", _U8, "PUS service"),
                Arg("subtype", _U8, "PUS subtype"),
                Arg("function", _U16, "function ID (0 when not a function)"),
                Arg("code", FAILURE_CODE, "why"),
                # Last, so that the fields before keep their places. Not always the raiser's:
                # the executive refuses telecommands for apps not on the bus.
                Arg("apid", _U16, "APID the telecommand was for"),
            ),
        ),
        Event(
            5, "PACKET_REJECTED", Severity.MEDIUM,
            "packet dropped: {reason} ({count} dropped so far)",
            (Arg("reason", REJECT_REASON, "why"), Arg("count", _U32, "rejections so far")),
        ),
        Event(
            6, "SEQUENCE_GAP", Severity.LOW, "{missing} packets missing from APID {apid}",
            (Arg("apid", _U16, "stream APID"), Arg("missing", _U32, "packets skipped")),
        ),
        Event(
            7, "HK_CHANGED", Severity.INFO,
            "structure {sid} enabled={enabled} every {interval:.1f} s",
            (
                Arg("sid", _U16, "structure ID"),
                Arg("enabled", UInt(8, 0, 1), "periodic generation on (1) or off (0)"),
                Arg("interval", Float(32), "collection interval", "s"),
            ),
        ),
        Event(8, "STOPPING", Severity.INFO, "stopping on signal {signal}",
              (Arg("signal", _U8, "signal number"),)),
    ]
    if settings is not None:
        events.append(
            Event(
                9, "PARAM_CHANGED", Severity.INFO, "onboard parameter {param} set to {value:g}",
                (Arg("param", settings, "onboard parameter"), Arg("value", Float(64), "value")),
            )
        )
    return tuple(events)


def heartbeat_watch_params(app: str) -> tuple[Param, ...]:
    """The status counters of an app that watches other apps' heartbeats (fault protection and
    the executive): how often it held back from judging, and why."""
    return (
        Param(app, "WATCH_STALLS", _U32,
              "heartbeat checks that found this app's own process had stalled (the stall is "
              "not counted as any app's silence)"),
        Param(app, "WATCH_BEHIND", _U32,
              "heartbeat checks that found this app behind on its bus input (no silence "
              "judged)"),
        Param(app, "BUSY_SILENCES", _U32,
              "apps silent past the heartbeat bars whose process was busy using CPU, so taken "
              "for late and not judged yet"),
    )


def _status_params(app: str) -> tuple[Param, ...]:
    def count(short: str, description: str) -> Param:
        return Param(app, short, _U32, description)

    return (
        count("CMD_COUNT", "telecommands accepted"),
        count("CMD_ERR_COUNT", "telecommands rejected or failed"),
        count("PKT_REJECTED", "packets dropped as malformed or unknown"),
        count("SEQ_GAPS", "packets found missing by sequence count"),
        count("BUS_DROPS", "messages the bus reported dropped"),
        count("EVENTS", "events raised"),
        Param(app, "UPTIME", _U32, "seconds since the app started (simulated)", "s"),
    )


def _unique_ids(app: str, what: str, items: list[tuple[int, str]]) -> None:
    seen: dict[int, str] = {}
    for number, short in items:
        if number in seen:
            raise DictionaryError(f"{app}: {what} {number} used twice: {seen[number]} and {short}")
        seen[number] = short


def define_app(
    name: str,
    apid: int,
    title: str,
    description: str,
    *,
    commands: tuple[Command, ...] = (),
    status: tuple[Param, ...] = (),
    status_interval_s: float = 10.0,
    structures: tuple[Structure, ...] = (),
    events: tuple[Event, ...] = (),
    reports: tuple[Report, ...] = (),
    settings: tuple[Setting, ...] = (),
    supervised: bool = False,
    onboard_only: bool = False,
) -> App:
    """Assemble an app: its own entries plus the standard ones, all given their full names."""
    status_structure = Structure(
        STATUS_SID, "STATUS", f"{title}: counters and status.",
        _status_params(name) + status, status_interval_s,
    )
    all_structures = (status_structure, *structures)
    # Checked here, before the IDs become enumerations (the registry checks everything else).
    _unique_ids(name, "structure ID", [(s.sid, s.short) for s in all_structures])
    _unique_ids(name, "onboard parameter ID", [(s.setting_id, s.short) for s in settings])
    structure_enum = Enum({s.short: s.sid for s in all_structures}, bits=16)
    setting_enum = (
        Enum({s.short: s.setting_id for s in settings}, bits=16) if settings else None
    )
    own: dict[str, Any] = {"app": name, "apid": apid}
    return App(
        name=name,
        apid=apid,
        title=title,
        description=description,
        commands=tuple(
            replace(c, **own) for c in _standard_commands(structure_enum, setting_enum) + commands
        ),
        structures=tuple(replace(s, **own) for s in all_structures),
        events=tuple(replace(e, **own) for e in _standard_events(setting_enum) + events),
        reports=tuple(replace(r, **own) for r in reports),
        settings=tuple(replace(s, app=name) for s in settings),
        supervised=supervised,
        onboard_only=onboard_only,
    )
