"""The dictionary: every command round-trips, bad arguments say what is allowed, inconsistent
definitions are refused when the dictionary is built, and every known TM decodes into named
engineering values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.dictionary import (
    APPS,
    DICTIONARY,
    Arg,
    Command,
    Dictionary,
    Event,
    Limits,
    Param,
    Report,
    Setting,
    Severity,
    Structure,
)
from common.dictionary.export.markdown import to_markdown
from common.dictionary.model import function
from common.dictionary.standard import STANDARD_REPORTS, define_app
from common.dictionary.types import (
    Blob,
    Bool,
    DataType,
    Enum,
    Float,
    Int,
    Msgpack,
    Str,
    Time,
    UInt,
)
from common.errors import (
    ArgumentError,
    BadArguments,
    DictionaryError,
    UnknownApid,
    UnknownCommand,
    UnknownTelemetry,
)
from common.packets import TcPacket, TmPacket, decode, encode
from scenarios.cli import main
from tests.unit.strategies import values_of

FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

COMMANDS = list(DICTIONARY.commands.values())
STRUCTURES = list(DICTIONARY.structures.values())
EVENTS = list(DICTIONARY.events.values())
REPORTS = list(DICTIONARY.reports.values())


def spelled(datatype: DataType, value: Any) -> st.SearchStrategy[Any]:
    """Other ways an operator may write ``value`` (text from the command line, numbers...)."""
    forms: list[Any] = [value]
    if isinstance(datatype, Enum):
        forms += [value.lower(), f" {value} ", str(datatype.labels[value]),
                  datatype.labels[value]]
    elif isinstance(datatype, Bool):
        forms += [int(value), "true" if value else "false", "on" if value else "off"]
    elif isinstance(datatype, UInt | Int):
        forms += [str(value), hex(value) if value >= 0 else str(value), float(value)]
    elif isinstance(datatype, Float):
        forms += [repr(value)]
    elif isinstance(datatype, Time):
        forms += [{"coarse": value.coarse, "fine": value.fine}]
    elif isinstance(datatype, Blob):
        forms += [value.hex(), bytearray(value)]
    return st.sampled_from(forms)


def fields_of(fields: tuple[Arg | Param, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({f.name: values_of(f.type) for f in fields})


# --- commands -----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
@FEW
@given(data=st.data())
def test_every_command_round_trips(command: Command, data: st.DataObject) -> None:
    args = data.draw(fields_of(command.args))
    given_as = {arg.name: data.draw(spelled(arg.type, args[arg.name])) for arg in command.args}
    seq = data.draw(st.integers(0, 0x3FFF))
    tc = DICTIONARY.encode_command(command.name.lower(), given_as, seq_count=seq)
    assert (tc.apid, tc.service, tc.subtype, tc.seq_count) == (
        command.apid, command.service, command.subtype, seq)
    received = decode(encode(tc), DICTIONARY.apids)
    assert isinstance(received, TcPacket)
    decoded = DICTIONARY.decode_command(received)
    assert decoded.command == command
    assert decoded.args == args
    again = DICTIONARY.encode_command(command.name, decoded.args, seq_count=seq)
    assert again == tc


def test_every_command_is_named_and_addressed_once() -> None:
    seen = set()
    for command in COMMANDS:
        app = DICTIONARY.apps[command.app]
        assert command.name == f"{app.name}.{command.verb}" and command.apid == app.apid
        assert DICTIONARY.command(command.name) is command
        key = (command.apid, command.service, command.subtype, command.function_id)
        assert key not in seen
        seen.add(key)
    assert {"EXEC.RESTART_APP", "HK.PLAYBACK", "COMPUTE.SUBMIT_JOB", "FP.SET_MODE",
            "FP.ENABLE_MONITOR", "FP.ENABLE_ACTION", "HK.SET_PARAM", "SIM.PING"} <= set(
        DICTIONARY.commands)


def _out_of_range(datatype: DataType) -> list[Any]:
    if isinstance(datatype, UInt | Int):
        return [datatype.minimum - 1, datatype.maximum + 1, "ten", 1.5, True]
    if isinstance(datatype, Float):
        bad: list[Any] = ["nan", float("inf"), "x", True]
        if datatype.lo is not None:
            bad.append(datatype.lo - abs(datatype.lo) - 1)
        if datatype.hi is not None:
            bad.append(datatype.hi + abs(datatype.hi) + 1)
        return bad
    if isinstance(datatype, Enum):
        return ["NOT_A_LABEL", max(datatype.labels.values()) + 1, None]
    if isinstance(datatype, Bool):
        return [2, "maybe"]
    if isinstance(datatype, Time):
        return ["yesterday", "1960-01-01T00:00:00Z", object()]
    if isinstance(datatype, Blob):
        return ["zz", bytes(datatype.max_len + 1), 5]
    if isinstance(datatype, Msgpack):
        return [object(), b"\xc1", {"k": bytes(datatype.max_len)}]
    return []


ARGUMENTS = [(c, a) for c in COMMANDS for a in c.args]


@pytest.mark.parametrize(("command", "arg"), ARGUMENTS, ids=lambda x: getattr(x, "name", ""))
def test_a_bad_argument_names_command_argument_value_and_range(command: Command,
                                                               arg: Arg) -> None:
    good = {a.name: _sample(a.type) for a in command.args}
    DICTIONARY.encode_command(command.name, good)
    for bad in _out_of_range(arg.type):
        with pytest.raises(ArgumentError) as caught:
            DICTIONARY.encode_command(command.name, {**good, arg.name: bad})
        error = caught.value
        assert (error.command, error.argument, error.value) == (command.name, arg.name, bad)
        text = str(error)
        assert text.startswith(f"{command.name}: argument {arg.name}={bad!r} is invalid")
        assert text.endswith(f"allowed: {arg.type.describe()}")


def _sample(datatype: DataType) -> Any:
    """One valid value of a type."""
    if isinstance(datatype, Enum):
        return next(iter(datatype.labels))
    if isinstance(datatype, Bool):
        return True
    if isinstance(datatype, UInt | Int | Float):
        return datatype.check(max(datatype.minimum, min(datatype.maximum, 1)))
    if isinstance(datatype, Time):
        return "2026-06-21T12:00:00Z"
    if isinstance(datatype, Blob):
        return b"\x01\x02"
    if isinstance(datatype, Msgpack):
        return {"id": 1}
    return "x"


def test_ranges_read_like_the_reference() -> None:
    with pytest.raises(ArgumentError, match=r"^EXEC.ACTIVATE_KEY: argument spi=300 is invalid; "
                       r"allowed: integer 1\.\.255$"):
        DICTIONARY.encode_command("EXEC.ACTIVATE_KEY", {"spi": 300})
    with pytest.raises(ArgumentError, match=r"interval=0\.01 .* number 0\.1\.\.86400"):
        DICTIONARY.encode_command("HK.SET_HK_INTERVAL", {"structure": "EPS", "interval": 0.01})
    with pytest.raises(ArgumentError, match=r"mode='BAD'.*one of NOMINAL, DEGRADED, SAFE"):
        DICTIONARY.encode_command("FP.SET_MODE", {"mode": "BAD"})


def test_missing_and_unknown_arguments_and_commands() -> None:
    with pytest.raises(ArgumentError, match=r"FP\.SET_MODE: argument mode=None.*one of NOMINAL"):
        DICTIONARY.encode_command("FP.SET_MODE")
    with pytest.raises(ArgumentError, match=r"argument speed=3.*unknown argument; expected: mode"):
        DICTIONARY.encode_command("FP.SET_MODE", {"mode": "SAFE", "speed": 3})
    with pytest.raises(UnknownCommand, match=r"did you mean FP\.SET_MODE"):
        DICTIONARY.command("FP.SET_MOD")


def test_received_commands_are_checked_strictly() -> None:
    good = DICTIONARY.encode_command("FP.SET_MODE", {"mode": "SAFE"})
    bad_mode = good._replace(app_data=good.app_data[:-1] + b"\x07")
    with pytest.raises(BadArguments, match=r"FP\.SET_MODE: mode=7 is invalid") as caught:
        DICTIONARY.decode_command(bad_mode)
    assert caught.value.argument == "mode" and caught.value.data == bad_mode.app_data
    cases = [
        (good._replace(app_data=good.app_data + b"\x00"), BadArguments, "layout needs 1"),
        (good._replace(app_data=b"\x00"), BadArguments, "function ID"),
        (good._replace(app_data=b"\x01\x99"), UnknownCommand, "function 409"),
        (good._replace(service=99), UnknownCommand, "FP has no TC\\[99,1\\]"),
        (good._replace(apid=0x7F0), UnknownApid, "0x7F0"),
    ]
    for tc, error, text in cases:
        with pytest.raises(error, match=text):
            DICTIONARY.decode_command(tc)


# --- consistency, checked when the dictionary is built -------------------------------------------


def small(name: str = "TOY", apid: int = 0x100, **parts: Any):
    return define_app(name, apid, "Toy", "A small app for tests.", **parts)


_U8 = UInt(8)


@pytest.mark.parametrize(("apps", "message"), [
    (lambda: [small("TOY", 0x100), small("TOY", 0x101)], "app TOY defined twice"),
    (lambda: [small("ONE", 0x100), small("TWO", 0x100)], "apps ONE and TWO overlap on APID 0x100"),
    (lambda: [*APPS, small("TOY", 0x010)], "apps EXEC and TOY overlap on APID 0x010"),
    (lambda: [small("TOY", 0x7FF)], "APID 0x7FF outside 0..0x7FE"),
    (lambda: [small("toy")], "app name 'toy' must match"),
    (lambda: [small(commands=(function("GO", 16, "go"), function("GO", 17, "again")))],
     "duplicate command name 'TOY.GO'"),
    (lambda: [small(commands=(function("GO", 16, "go"), function("RUN", 16, "run")))],
     "duplicate command (APID, service, subtype, function) (256, 8, 1, 16): TOY.GO and TOY.RUN"),
    (lambda: [small(commands=(function("NOTHING", 0, "same ID as NOOP"),))],
     "TOY.NOOP and TOY.NOTHING"),
    (lambda: [small(commands=(Command("GO", 8, 1, "no function ID"),))],
     "TOY.GO: PUS 8,1 needs a function ID"),
    (lambda: [small(commands=(function("go", 16, "lower case"),))], "command name 'go'"),
    (lambda: [small(commands=(function("GO", 16, "x", Arg("Speed", _U8)),))],
     "TOY.GO argument name 'Speed'"),
    (lambda: [small(commands=(function("GO", 16, "x", Arg("a", _U8), Arg("a", _U8)),))],
     "TOY.GO: argument names repeat"),
    (lambda: [small(commands=(function("GO", 16, "x", Arg("n", UInt(8, 1, 5), default=9)),))],
     "TOY.GO: default of n"),
    (lambda: [small(events=(Event(16, "A", Severity.INFO, "a"),
                            Event(16, "B", Severity.LOW, "b")))],
     "duplicate event ID (256, 16): TOY.A and TOY.B"),
    (lambda: [small(events=(Event(2, "AGAIN", Severity.INFO, "same ID as NOOP"),))],
     "duplicate event ID (256, 2): TOY.NOOP and TOY.AGAIN"),
    (lambda: [small(events=(Event(16, "A", Severity.INFO, "{missing} happened"),))],
     "TOY.A: message refers to unknown ['missing']"),
    (lambda: [small(structures=(Structure(1, "MORE", "same SID as STATUS", ()),))],
     "TOY: structure ID 1 used twice: STATUS and MORE"),
    (lambda: [small(structures=(Structure(2, "A", "a", (Param("TOY", "X", _U8, "x"),)),
                                Structure(3, "B", "b", (Param("TOY", "X", UInt(16), "x"),))))],
     "parameter TOY.X defined twice, differently"),
    (lambda: [small(structures=(Structure(2, "A", "a", (Param("TOY", "T", Str(), "t"),)),))],
     "TOY.T: telemetry parameters need a fixed size"),
    (lambda: [small(reports=(Report("HKLIKE", 3, 25, "same as housekeeping"),))],
     "TOY.HKLIKE: TM[3, 25] is a standard report"),
    (lambda: [small(settings=(Setting(1, "GAIN", "g", 0.5, 0.0, 1.0),
                              Setting(1, "BIAS", "b", 0.5, 0.0, 1.0)))],
     "TOY: onboard parameter ID 1 used twice: GAIN and BIAS"),
    (lambda: [small(settings=(Setting(1, "GAIN", "g", 5.0, 0.0, 1.0),))],
     "TOY.GAIN: default outside 0.0..1.0"),
])
def test_inconsistencies_are_refused_with_a_clear_message(apps: Any, message: str) -> None:
    with pytest.raises(DictionaryError) as caught:
        Dictionary(apps())
    assert message in str(caught.value)


def test_a_consistent_small_dictionary_is_accepted_and_fills_defaults() -> None:
    toy = small(commands=(function("GO", 16, "go", Arg("speed", UInt(8, 1, 5), default=3)),),
                structures=(Structure(2, "A", "a", (Param("TOY", "X", Float(32), "x", "m",
                                                          Limits(warn_high=1.0)),)),))
    dictionary = Dictionary([toy])
    tc = dictionary.encode_command("TOY.GO")
    assert tc.app_data == b"\x00\x10\x03"
    assert dictionary.decode_command(tc).args == {"speed": 3}
    assert dictionary.params["TOY.X"].limits.level(2.0) == "warning"
    assert dictionary.apids == {0x100}


def test_the_dictionary_is_checked_at_import() -> None:
    rebuilt = Dictionary(APPS, version=DICTIONARY.version)
    assert set(rebuilt.commands) == set(DICTIONARY.commands)
    assert {app.name: app.apid for app in APPS} == {
        "EXEC": 0x010, "HK": 0x020, "COMPUTE": 0x030, "FP": 0x040, "SIM": 0x050}


# --- telemetry ----------------------------------------------------------------------------------


def received(tm: TmPacket) -> TmPacket:
    packet = decode(encode(tm), DICTIONARY.apids)
    assert isinstance(packet, TmPacket)
    return packet


@pytest.mark.parametrize("structure", STRUCTURES, ids=lambda s: s.name)
@FEW
@given(data=st.data())
def test_every_structure_decodes_into_named_values(structure: Structure,
                                                   data: st.DataObject) -> None:
    values = data.draw(fields_of(structure.params))
    tm = TmPacket(structure.apid, 3, 25, DICTIONARY.hk_app_data(structure, values), 1)
    decoded = DICTIONARY.decode_tm(received(tm))
    assert (decoded.kind, decoded.name, decoded.app, decoded.number) == (
        "hk", structure.name, structure.app, structure.sid)
    assert decoded.values == values
    assert all(name in DICTIONARY.params for name in decoded.values)


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.name)
@FEW
@given(data=st.data())
def test_every_event_decodes_with_its_message(event: Event, data: st.DataObject) -> None:
    values = data.draw(fields_of(event.args))
    tm = TmPacket(event.apid, 5, int(event.severity), DICTIONARY.event_app_data(event, values))
    decoded = DICTIONARY.decode_tm(received(tm))
    assert (decoded.kind, decoded.name, decoded.number) == ("event", event.name, event.event_id)
    assert decoded.severity == int(event.severity)
    assert decoded.values == values
    assert decoded.message == event.message.format(**values)


@pytest.mark.parametrize("report", [*REPORTS, *STANDARD_REPORTS], ids=lambda r: r.name)
@FEW
@given(data=st.data())
def test_every_report_decodes_into_named_values(report: Report, data: st.DataObject) -> None:
    values = data.draw(fields_of(report.fields))
    apid = report.apid if report.app != "PUS" else data.draw(st.sampled_from(sorted(
        DICTIONARY.apids)))
    tm = TmPacket(apid, report.service, report.subtype, DICTIONARY.report_app_data(report, values))
    decoded = DICTIONARY.decode_tm(received(tm))
    assert (decoded.kind, decoded.name) == ("report", report.name)
    assert decoded.values == values


def test_unknown_or_malformed_telemetry_is_refused() -> None:
    status = DICTIONARY.structures["FP.STATUS"]
    values = {p.name: _sample(p.type) for p in status.params}
    good = TmPacket(status.apid, 3, 25, DICTIONARY.hk_app_data(status, values))
    mode_at = 2 + sum(p.type.size_bits // 8 for p in status.params[
        :[p.name for p in status.params].index("FP.MODE")])
    bad_mode = bytearray(good.app_data)
    bad_mode[mode_at] = 9
    event = DICTIONARY.events["FP.MODE_CHANGED"]
    cases = [
        (good._replace(app_data=b"\x00\x63" + good.app_data[2:]), UnknownTelemetry, "structure 99"),
        (good._replace(app_data=good.app_data + b"\x00"), BadArguments, "layout needs"),
        (good._replace(app_data=b"\x00"), BadArguments, "too short for a structure ID"),
        (good._replace(app_data=bytes(bad_mode)), BadArguments, "FP.MODE=9"),
        (good._replace(apid=0x7F0), UnknownApid, "0x7F0"),
        (TmPacket(event.apid, 5, 1, DICTIONARY.event_app_data(
            event, {"old": "SAFE", "new": "NOMINAL", "cause": "COMMAND"})), BadArguments,
         "FP.MODE_CHANGED is severity 4, sent as TM\\[5,1\\]"),
        (good._replace(service=99, subtype=9), UnknownTelemetry, "sends no TM\\[99,9\\]"),
    ]
    for tm, error, text in cases:
        with pytest.raises(error, match=text):
            DICTIONARY.decode_tm(tm)


@BOUNDED
@given(st.sampled_from(STRUCTURES).flatmap(lambda s: st.tuples(st.just(s), fields_of(s.params))))
def test_housekeeping_values_of_the_wrong_size_are_refused_by_name(case: tuple) -> None:
    structure, values = case
    param = structure.params[-1]
    if not isinstance(param.type, UInt | Int):
        return
    with pytest.raises(ArgumentError) as caught:
        DICTIONARY.hk_app_data(structure, {**values, param.name: 1 << param.type.bits})
    assert caught.value.command == structure.name and caught.value.argument == param.name


@FEW
@given(st.sampled_from(STRUCTURES).flatmap(lambda s: st.tuples(st.just(s), fields_of(s.params))))
def test_values_keyed_otherwise_encode_alike_and_are_refused_by_their_field_name(
        case: tuple) -> None:
    # An app's status values come keyed by their names without "APP.".
    structure, values = case
    keys = tuple(f"k{index}" for index in range(len(structure.params)))
    by_key = {key: values[p.name] for key, p in zip(keys, structure.params, strict=True)}
    assert (DICTIONARY.hk_app_data(structure, by_key, keys)
            == DICTIONARY.hk_app_data(structure, values))
    del by_key[keys[-1]]
    with pytest.raises(ArgumentError) as caught:
        DICTIONARY.hk_app_data(structure, by_key, keys)
    assert caught.value.argument == structure.params[-1].name


# --- the generated reference --------------------------------------------------------------------

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "dictionary.md"


def test_the_committed_reference_is_current() -> None:
    expected = to_markdown(DICTIONARY)
    actual = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
    if actual != expected:
        old, new = actual.splitlines(), expected.splitlines()
        pairs = zip(old, new, strict=False)
        line = next((i for i, (a, b) in enumerate(pairs) if a != b),
                    min(len(old), len(new)))
        pytest.fail(
            "docs/dictionary.md is not what the dictionary generates (first difference at line "
            f"{line + 1}: {old[line] if line < len(old) else '<end>'!r} should be "
            f"{new[line] if line < len(new) else '<end>'!r}). Regenerate it with `make docs` "
            "(or `.venv/bin/dawndusk dict --markdown -o docs/dictionary.md`) and commit it.",
            pytrace=False,
        )


def test_the_cli_exports_the_reference_and_json() -> None:
    runner = CliRunner()
    markdown = runner.invoke(main, ["dict", "--markdown"])
    assert markdown.exit_code == 0 and markdown.output == to_markdown(DICTIONARY)
    exported = runner.invoke(main, ["dict", "--json"])
    assert exported.exit_code == 0
    data = json.loads(exported.output)
    commands = {c["name"] for app in data["apps"] for c in app["commands"]}
    assert commands == set(DICTIONARY.commands)
    summary = runner.invoke(main, ["dict"])
    assert summary.exit_code == 0 and "FP.SET_MODE" in summary.output


def test_trusted_telemetry_takes_enumeration_labels_as_the_type_checks_them() -> None:
    from common.dictionary.fields import FieldCodec
    from common.dictionary.model import Param

    mode = Enum({"NOMINAL": 0, "SAFE": 2})
    codec = FieldCodec("T.STATUS", [Param("T", "MODE", mode, "mode"),
                                    Param("T", "N", UInt(8), "count")])
    exact = codec.encode_trusted({"T.MODE": "SAFE", "T.N": 1})
    assert codec.encode_trusted({"T.MODE": " safe ", "T.N": 1}) == exact  # leniency kept
    assert codec.encode_trusted({"T.MODE": 2, "T.N": 1}) == exact
    assert codec.decode(exact) == {"T.MODE": "SAFE", "T.N": 1}
    for wrong in ("LOST", True, 1, ["SAFE"]):
        with pytest.raises(ArgumentError, match="MODE"):
            codec.encode_trusted({"T.MODE": wrong, "T.N": 1})
