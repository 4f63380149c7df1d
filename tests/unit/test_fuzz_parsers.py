"""Fuzzing every parser with malformed input: each input is rejected cleanly (a specific,
expected exception), never a crash. A bounded number of examples here; bench/fuzz.py runs many
more."""

from __future__ import annotations

import functools
from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.clock import ClockState
from common.dictionary import DICTIONARY
from common.errors import PacketError
from common.framing import PacketFramer
from common.packets import TcPacket, TmPacket, decode, encode
from common.radio import FrameError, RadioFrame
from common.sdls import SecurityError, Verifier
from ground.protocol import RequestError, validate

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID = [encode(DICTIONARY.encode_command(name)) for name in
         ("EXEC.PING", "HK.NOOP", "FP.SET_MODE")[:2]] + [
    encode(DICTIONARY.encode_command("FP.SET_MODE", {"mode": "SAFE"}))]


def mutate(data: bytes, flips: list[int], cut: int) -> bytes:
    out = bytearray(data)
    for flip in flips:
        out[flip % len(out)] ^= 1 << (flip % 8)
    return bytes(out[: max(0, len(out) - cut)])


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_packet_errors(data: bytes) -> None:
    try:
        packet = decode(data, DICTIONARY.apids)
    except PacketError:
        return
    try:
        if isinstance(packet, TcPacket):
            DICTIONARY.decode_command(packet)
        else:
            DICTIONARY.decode_tm(packet)
    except PacketError:
        pass


@FUZZ
@given(st.sampled_from(VALID), st.lists(st.integers(0, 10_000), max_size=4), st.integers(0, 3))
def test_bit_flips_and_truncations_only_raise_packet_errors(base: bytes, flips: list[int],
                                                            cut: int) -> None:
    data = mutate(base, flips, cut)
    try:
        packet = decode(data, DICTIONARY.apids)
        if isinstance(packet, TcPacket):
            DICTIONARY.decode_command(packet)
    except PacketError:
        pass


@FUZZ
@given(st.lists(st.binary(max_size=80), max_size=8))
def test_the_framer_never_loses_bytes(chunks: list[bytes]) -> None:
    framer = PacketFramer()
    consumed = 0
    for chunk in chunks:
        for frame in framer.feed(chunk):
            consumed += len(frame.data)
    total = sum(len(c) for c in chunks)
    assert consumed + len(framer.remainder) <= total


@FUZZ
@given(st.lists(st.binary(max_size=20), max_size=5))
def test_radio_frames_parse_or_say_why(parts: list[bytes]) -> None:
    try:
        RadioFrame.from_multipart(parts)
    except FrameError:
        pass


MSGPACK_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=True)
    | st.text(max_size=20) | st.binary(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(MSGPACK_VALUES)
def test_operator_requests_are_validated_or_refused(value: object) -> None:
    try:
        validate(value)
    except RequestError:
        pass


@FUZZ
@given(st.dictionaries(st.sampled_from(["op", "id", "satellite", "command", "args", "start",
                                        "end", "param", "rate", "action", "command_id"]),
                       MSGPACK_VALUES, max_size=6),
       st.sampled_from(["cmd", "tlm", "events", "clock", "command", "passes", "ack"]))
def test_requests_with_plausible_shapes_are_validated_or_refused(fields: dict, op: str) -> None:
    try:
        validate({**fields, "op": op})
    except RequestError:
        pass


@FUZZ
@given(st.binary(max_size=64) | MSGPACK_VALUES.map(lambda v: msgpack.packb(v, default=str)))
def test_clock_messages_are_adopted_or_refused(data: bytes) -> None:
    try:
        ClockState.unpack(data)
    except ValueError:
        pass


@FUZZ
@given(st.binary(max_size=120))
def test_protected_telecommands_verify_or_say_why(data: bytes) -> None:
    verifier = Verifier("SAT-01", {1: b"k" * 32}, 1)
    try:
        verifier.verify(data)
    except SecurityError:
        pass


@FUZZ
@given(st.binary(max_size=200), st.integers(0, 0x7FF), st.integers(0, 255), st.integers(0, 255))
def test_any_tm_with_any_content_is_understood_or_refused(data: bytes, apid: int, service: int,
                                                         subtype: int) -> None:
    try:
        DICTIONARY.decode_tm(TmPacket(apid, service, subtype, data))
    except PacketError:
        pass


COMMANDS = sorted(DICTIONARY.commands)


@FUZZ
@given(st.sampled_from(COMMANDS), st.binary(max_size=120))
def test_any_telecommand_application_data_is_understood_or_refused(name: str,
                                                                   data: bytes) -> None:
    # Past the CRC (as if it had been recomputed): the argument decoders themselves.
    command = DICTIONARY.command(name)
    try:
        DICTIONARY.decode_command(TcPacket(command.apid, command.service, command.subtype, data))
    except PacketError:
        pass


@FUZZ
@given(st.sampled_from(COMMANDS), st.lists(st.integers(0, 10_000), min_size=1, max_size=3),
       st.integers(0, 3))
def test_mutated_arguments_with_a_good_crc_are_understood_or_refused(
        name: str, flips: list[int], cut: int) -> None:
    command = DICTIONARY.command(name)
    try:
        good = DICTIONARY.encode_command(name).app_data
    except (PacketError, ValueError):
        return  # a command whose arguments have no defaults
    data = mutate(good, flips, cut) if good else good
    raw = encode(TcPacket(command.apid, command.service, command.subtype, data))
    try:
        packet = decode(raw, DICTIONARY.apids)
        assert isinstance(packet, TcPacket)
        DICTIONARY.decode_command(packet)
    except PacketError:
        pass


@FUZZ
@given(st.binary(max_size=64) | MSGPACK_VALUES.map(lambda v: msgpack.packb(v, default=str)))
def test_route_tags_parse_or_say_why(data: bytes) -> None:
    from common.radio import RouteTag

    try:
        RouteTag.unpack(data)
    except FrameError:
        pass


@FUZZ
@given(st.lists(st.binary(max_size=40) | MSGPACK_VALUES.map(
    lambda v: msgpack.packb(v, default=str)), max_size=3))
def test_launcher_reports_parse_or_say_why(frames: list[bytes]) -> None:
    from common.control import ControlError, parse_report

    try:
        report = parse_report(frames)
        assert isinstance(report["process"], str)
    except ControlError:
        pass


@functools.cache
def _space_link() -> Any:
    from tests.unit.test_link import EPOCH, emulator

    return emulator({"isl": "none"}, EPOCH.timestamp())[0]


LINK_OPS = st.fixed_dictionaries({"op": st.sampled_from(["outage", "impair", "fly"])},
                                 optional={k: MSGPACK_VALUES for k in (
                                     "station", "satellite", "direction", "loss", "corruption",
                                     "start", "end")})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINK_OPS.map(lambda v: msgpack.packb(v, default=str)) | st.binary(max_size=30),
                max_size=4))
def test_link_control_messages_are_taken_or_counted_never_fatal(bodies: list[bytes]) -> None:
    space = _space_link()
    space.plan.outages.clear()
    space.impairments.clear()
    before = space.rejected
    for body in bodies:
        space._control([b"CTL", body])
    taken = len(space.plan.outages) + len(space.impairments)
    assert taken + space.rejected - before == len(bodies)
