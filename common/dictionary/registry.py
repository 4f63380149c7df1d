"""The assembled dictionary: consistency checks, look-ups, and the codecs derived from it.

>>> from common.dictionary import DICTIONARY
>>> tc = DICTIONARY.encode_command("FP.SET_MODE", {"mode": "SAFE"}, seq_count=7)
>>> DICTIONARY.decode_command(tc).args
{'mode': 'SAFE'}
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, cast

from common.cuc import CucTime
from common.dictionary.fields import FieldCodec
from common.dictionary.model import App, Arg, Command, Event, Param, Report, Setting, Structure
from common.dictionary.standard import (
    EVENT_SERVICE,
    GROUND_ID,
    HK_REPORT,
    STANDARD_REPORTS,
)
from common.dictionary.types import TypeCheckError
from common.errors import (
    ArgumentError,
    BadArguments,
    DictionaryError,
    UnknownApid,
    UnknownCommand,
    UnknownTelemetry,
)
from common.packets import (
    IDLE_APID,
    MAKE_NAMED_TUPLE,
    MAX_APID,
    AckFlags,
    TcPacket,
    TmPacket,
)

NAME_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
ARG_PATTERN = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
#: A housekeeping structure's, an event's or a function's ID leads its application data, in
#: this many bytes (big-endian).
ID_BYTES = 2


class DecodedCommand(NamedTuple):
    """A telecommand understood: its definition and its arguments as engineering values."""

    command: Command
    args: dict[str, Any]


class DecodedTm(NamedTuple):
    """A telemetry packet understood: what it is and its values, keyed by name.

    ``kind`` is ``"hk"``, ``"event"`` or ``"report"``; ``name`` is the structure, event or
    report's full name; housekeeping values are keyed by full parameter names.
    """

    kind: str
    name: str
    app: str
    values: dict[str, Any]
    severity: int | None = None
    message: str | None = None
    #: The structure ID or event ID the packet carried (0 for reports).
    number: int = 0


def _check_name(kind: str, name: str, pattern: re.Pattern[str] = NAME_PATTERN) -> None:
    if not pattern.match(name):
        raise DictionaryError(f"{kind} name {name!r} must match {pattern.pattern}")


class Dictionary:
    """Every app's commands, telemetry and events, checked for consistency when built."""

    def __init__(self, apps: Iterable[App], version: int = 1) -> None:
        self.version = version
        self.apps: dict[str, App] = {}
        self.by_apid: dict[int, App] = {}
        self.commands: dict[str, Command] = {}
        self.structures: dict[str, Structure] = {}
        self.params: dict[str, Param] = {}
        self.events: dict[str, Event] = {}
        self.reports: dict[str, Report] = {}
        self.settings: dict[str, Setting] = {}
        self._command_keys: dict[tuple[int, int, int, int | None], Command] = {}
        self._structure_keys: dict[tuple[int, int], Structure] = {}
        self._event_keys: dict[tuple[int, int], Event] = {}
        self._report_keys: dict[tuple[int, int, int], Report] = {}
        self._setting_keys: dict[tuple[int, int], Setting] = {}
        self._standard_reports = {(r.service, r.subtype): r for r in STANDARD_REPORTS}
        self._codecs: dict[tuple[str, str], FieldCodec] = {}
        self._hk_codecs: dict[tuple[int, int], tuple[str, FieldCodec]] = {}
        #: Structure name -> (its SID as two bytes, its codec), for encoding reports.
        self._hk_encoders: dict[str, tuple[bytes, FieldCodec]] = {}
        for app in apps:
            self._add(app)
        self.apids = frozenset(self.by_apid)

    # --- consistency -----------------------------------------------------------------------------

    def _add(self, app: App) -> None:
        _check_name("app", app.name)
        if app.name in self.apps:
            raise DictionaryError(f"app {app.name} defined twice")
        if not 0 <= app.apid < IDLE_APID or app.apid > MAX_APID:
            raise DictionaryError(f"app {app.name}: APID 0x{app.apid:03X} outside 0..0x7FE")
        if app.apid in self.by_apid:
            other = self.by_apid[app.apid].name
            raise DictionaryError(f"apps {other} and {app.name} overlap on APID 0x{app.apid:03X}")
        self.apps[app.name] = app
        self.by_apid[app.apid] = app
        for command in app.commands:
            self._add_command(app, command)
        sids: set[int] = set()
        for structure in app.structures:
            self._add_structure(app, structure, sids)
        for event in app.events:
            self._add_event(app, event)
        for report in app.reports:
            self._add_report(app, report)
        for setting in app.settings:
            self._add_setting(app, setting)

    def _unique(self, table: dict[Any, Any], key: Any, item: Any, what: str) -> None:
        if key in table:
            raise DictionaryError(f"duplicate {what} {key!r}: {table[key].name} and {item.name}")
        table[key] = item

    def _check_args(self, owner: str, args: tuple[Arg, ...]) -> None:
        names = [arg.name for arg in args]
        if len(set(names)) != len(names):
            raise DictionaryError(f"{owner}: argument names repeat: {names}")
        for arg in args:
            _check_name(f"{owner} argument", arg.name, ARG_PATTERN)
            if arg.default is not None:
                try:
                    arg.type.check(arg.default)
                except TypeCheckError as exc:
                    raise DictionaryError(f"{owner}: default of {arg.name}: {exc}") from None

    def _add_command(self, app: App, command: Command) -> None:
        _check_name("command", command.verb)
        if command.app != app.name or command.apid != app.apid:
            raise DictionaryError(f"command {command.verb} not assembled into {app.name}")
        is_function = (command.service, command.subtype) == (8, 1)
        if is_function != (command.function_id is not None):
            raise DictionaryError(f"{command.name}: PUS 8,1 needs a function ID, others none")
        if command.function_id is not None and not 0 <= command.function_id <= 0xFFFF:
            raise DictionaryError(f"{command.name}: function ID out of 16 bits")
        self._check_args(command.name, command.args)
        self._unique(self.commands, command.name, command, "command name")
        self._unique(
            self._command_keys, (app.apid, *command.key), command, "command (APID, service, "
            "subtype, function)"
        )

    def _add_structure(self, app: App, structure: Structure, sids: set[int]) -> None:
        _check_name("structure", structure.short)
        if structure.sid in sids:
            raise DictionaryError(f"{app.name}: structure ID {structure.sid} used twice")
        sids.add(structure.sid)
        self._unique(self.structures, structure.name, structure, "structure name")
        self._structure_keys[(app.apid, structure.sid)] = structure
        shorts = set()
        for param in structure.params:
            _check_name("parameter namespace", param.namespace)
            _check_name("parameter", param.short)
            if param.name in shorts:
                raise DictionaryError(f"{structure.name}: parameter {param.name} twice")
            shorts.add(param.name)
            if not param.type.fixed_size:
                raise DictionaryError(f"{param.name}: telemetry parameters need a fixed size")
            known = self.params.get(param.name)
            if known is not None and known != param:
                raise DictionaryError(f"parameter {param.name} defined twice, differently")
            self.params[param.name] = param

    def _add_event(self, app: App, event: Event) -> None:
        _check_name("event", event.short)
        self._check_args(event.name, event.args)
        missing = event.placeholders() - {arg.name for arg in event.args}
        if missing:
            raise DictionaryError(f"{event.name}: message refers to unknown {sorted(missing)}")
        if not 0 <= event.event_id <= 0xFFFF:
            raise DictionaryError(f"{event.name}: event ID out of 16 bits")
        self._unique(self.events, event.name, event, "event name")
        self._unique(self._event_keys, (app.apid, event.event_id), event, "event ID")

    def _add_report(self, app: App, report: Report) -> None:
        _check_name("report", report.short)
        self._check_args(report.name, report.fields)
        key = (report.service, report.subtype)
        if key in self._standard_reports or key == HK_REPORT or report.service == EVENT_SERVICE:
            raise DictionaryError(f"{report.name}: TM{list(key)} is a standard report")
        self._unique(self.reports, report.name, report, "report name")
        self._unique(self._report_keys, (app.apid, *key), report, "report (APID, service, subtype)")

    def _add_setting(self, app: App, setting: Setting) -> None:
        _check_name("onboard parameter", setting.short)
        if not setting.lo <= setting.default <= setting.hi:
            raise DictionaryError(f"{setting.name}: default outside {setting.lo}..{setting.hi}")
        self._unique(self.settings, setting.name, setting, "onboard parameter name")
        self._unique(self._setting_keys, (app.apid, setting.setting_id), setting,
                     "onboard parameter ID")

    # --- look-ups --------------------------------------------------------------------------------

    def command(self, name: str) -> Command:
        """The command ``APP.VERB`` (case-insensitive); unknown names suggest close ones."""
        found = self.commands.get(name.upper())
        if found is None:
            close = difflib.get_close_matches(name.upper(), self.commands, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownCommand(f"unknown command {name!r}{hint}")
        return found

    def app_of(self, apid: int) -> App:
        """The app that owns ``apid``."""
        app = self.by_apid.get(apid)
        if app is None:
            raise UnknownApid(f"unknown APID 0x{apid:03X}")
        return app

    def structure_of(self, apid: int, sid: int) -> Structure:
        """The housekeeping structure ``sid`` of the app at ``apid``."""
        structure = self._structure_keys.get((apid, sid))
        if structure is None:
            raise UnknownTelemetry(f"APID 0x{apid:03X} has no structure {sid}")
        return structure

    def event_of(self, apid: int, event_id: int) -> Event:
        """The event ``event_id`` of the app at ``apid``."""
        event = self._event_keys.get((apid, event_id))
        if event is None:
            raise UnknownTelemetry(f"APID 0x{apid:03X} has no event {event_id}")
        return event

    def setting_of(self, apid: int, setting_id: int) -> Setting:
        """The onboard parameter ``setting_id`` of the app at ``apid``."""
        setting = self._setting_keys.get((apid, setting_id))
        if setting is None:
            raise KeyError(f"APID 0x{apid:03X} has no onboard parameter {setting_id}")
        return setting

    def report_for(self, apid: int, service: int, subtype: int) -> Report:
        """The report an app sends as TM[service, subtype] (its own, or a standard one)."""
        report = self._report_keys.get((apid, service, subtype))
        if report is None:
            report = self._standard_reports.get((service, subtype))
        if report is None:
            raise UnknownTelemetry(f"APID 0x{apid:03X} sends no TM[{service},{subtype}]")
        return report

    def standard_report(self, service: int, subtype: int) -> Report:
        """A standard report (verification, are-you-alive, parameter value)."""
        return self._standard_reports[(service, subtype)]

    # --- telecommands ----------------------------------------------------------------------------

    def codec(self, owner: Command | Structure | Event | Report) -> FieldCodec:
        """The field codec of a command, structure, event or report (built on first use)."""
        key = (type(owner).__name__, owner.name)  # a command and an event may share a name
        codec = self._codecs.get(key)
        if codec is None:
            fields: tuple[Arg | Param, ...]
            if isinstance(owner, Structure):
                fields = owner.params
            elif isinstance(owner, Report):
                fields = owner.fields
            else:
                fields = owner.args
            codec = self._codecs[key] = FieldCodec(owner.name, fields)
        return codec

    def with_defaults(
        self, owner: Command | Event | Report, values: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """``values`` with defaults filled; unknown names raise :class:`ArgumentError`."""
        given = dict(values or {})
        fields = owner.fields if isinstance(owner, Report) else owner.args
        known = {item.name for item in fields}
        unknown = sorted(set(given) - known)
        if unknown:
            expected = ", ".join(item.name for item in fields) or "none"
            raise ArgumentError(owner.name, ", ".join(unknown), given[unknown[0]],
                                f"unknown argument; expected: {expected}")
        for item in fields:
            if item.name not in given and item.default is not None:
                given[item.name] = item.default
        return given

    def command_app_data(self, command: Command, args: Mapping[str, Any] | None = None) -> bytes:
        """The application data of ``command`` with ``args`` (checked)."""
        body = self.codec(command).encode(self.with_defaults(command, args))
        if command.function_id is not None:
            return command.function_id.to_bytes(2, "big") + body
        return body

    def encode_command(
        self,
        name: str,
        args: Mapping[str, Any] | None = None,
        *,
        seq_count: int = 0,
        source_id: int = GROUND_ID,
        ack_flags: int = AckFlags.ALL,
    ) -> TcPacket:
        """The telecommand ``APP.VERB`` with ``args``, checked against the dictionary."""
        command = self.command(name)
        return TcPacket(
            command.apid,
            command.service,
            command.subtype,
            self.command_app_data(command, args),
            seq_count,
            source_id,
            ack_flags,
        )

    def lookup_command(self, tc: TcPacket) -> Command:
        """The definition a telecommand refers to (APID, service, subtype, function ID)."""
        app = self.by_apid.get(tc.apid)
        if app is None:
            raise UnknownApid(f"unknown APID 0x{tc.apid:03X}", tc.app_data)
        function_id = None
        if (tc.service, tc.subtype) == (8, 1):
            if len(tc.app_data) < 2:
                raise BadArguments("TC[8,1] too short for a function ID", tc.app_data)
            function_id = int.from_bytes(tc.app_data[:2], "big")
        command = self._command_keys.get((tc.apid, tc.service, tc.subtype, function_id))
        if command is None:
            what = f"TC[{tc.service},{tc.subtype}]"
            if function_id is not None:
                what += f" function {function_id}"
            raise UnknownCommand(f"{app.name} has no {what}", tc.app_data,
                                 is_function=function_id is not None)
        return command

    def decode_command(self, tc: TcPacket) -> DecodedCommand:
        """Understand a telecommand: raises UnknownApid/UnknownCommand/BadArguments."""
        command = self.lookup_command(tc)
        offset = 2 if command.function_id is not None else 0
        return DecodedCommand(command, self.codec(command).decode_strict(tc.app_data, offset))

    # --- telemetry -------------------------------------------------------------------------------

    def hk_app_data(self, structure: Structure, values: Mapping[str, Any],
                    keys: tuple[str, ...] | None = None) -> bytes:
        """Application data of a TM[3,25] report of ``structure`` (values by full name, or by
        ``keys``: see :meth:`FieldCodec.encode_trusted`)."""
        found = self._hk_encoder(structure)
        return found[0] + found[1].encode_trusted(values, keys)

    def hk_app_data_as(self, structure: Structure, report: bytes) -> bytes:
        """Application data of a TM[3,25] report of ``structure`` that carries the values of
        ``report``, another structure's application data of the same layout, as they came."""
        return self._hk_encoder(structure)[0] + report[ID_BYTES:]

    def _hk_encoder(self, structure: Structure) -> tuple[bytes, FieldCodec]:
        """``structure``'s SID as sent, and its values' codec (made once)."""
        found = self._hk_encoders.get(structure.name)
        if found is None:
            found = self._hk_encoders[structure.name] = (
                structure.sid.to_bytes(ID_BYTES, "big"), self.codec(structure))
        return found

    def event_app_data(self, event: Event, args: Mapping[str, Any] | None = None) -> bytes:
        """Application data of a TM[5,severity] report of ``event``."""
        body = self.codec(event).encode(self.with_defaults(event, args))
        return event.event_id.to_bytes(2, "big") + body

    def report_app_data(self, report: Report, values: Mapping[str, Any] | None = None) -> bytes:
        """Application data of ``report``."""
        return self.codec(report).encode(self.with_defaults(report, values))

    def decode_tm(self, tm: TmPacket) -> DecodedTm:
        """Understand a telemetry packet; raises UnknownApid/UnknownTelemetry/BadArguments."""
        app = self.by_apid.get(tm.apid)
        if app is None:
            raise UnknownApid(f"unknown APID 0x{tm.apid:03X}", tm.app_data)
        data = tm.app_data
        if tm.service == 3 and tm.subtype == 25:  # HK_REPORT, the hot path
            sid = _leading_id(data, "structure ID")
            found = self._hk_codecs.get((tm.apid, sid))
            if found is None:
                structure = self.structure_of(tm.apid, sid)
                found = self._hk_codecs[(tm.apid, sid)] = (structure.name, self.codec(structure))
            return cast(DecodedTm, MAKE_NAMED_TUPLE(DecodedTm, (
                "hk", found[0], app.name, found[1].decode(data, ID_BYTES), None, None, sid)))
        if tm.service == EVENT_SERVICE and 1 <= tm.subtype <= 4:
            event = self.event_of(tm.apid, _leading_id(data, "event ID"))
            if int(event.severity) != tm.subtype:
                raise BadArguments(
                    f"{event.name} is severity {int(event.severity)}, sent as TM[5,{tm.subtype}]",
                    data,
                )
            values = self.codec(event).decode(data, 2)
            return DecodedTm(
                "event", event.name, app.name, values, int(event.severity),
                event.message.format(**values), event.event_id,
            )
        report = self.report_for(tm.apid, tm.service, tm.subtype)
        values = self.codec(report).decode(data)
        return DecodedTm("report", report.name, app.name, values)


def _leading_id(data: bytes, what: str) -> int:
    if len(data) < 2:
        raise BadArguments(f"application data too short for a {what}", data)
    return (data[0] << 8) | data[1]


def json_value(value: CucTime | Any) -> Any:
    """JSON-friendly rendering of an engineering value (times as ISO 8601 UTC)."""
    if isinstance(value, CucTime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value
