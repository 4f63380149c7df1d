"""The packet layer: golden vectors from the standards, exact round trips, CUC time with leap
seconds, stream splitting, idle packets, sequence counters, agreement with spacepackets, and
malformed input that raises only our packet errors."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from spacepackets.ecss import PusTc, PusTm
from spacepackets.ecss.tm import MiscParams

from common.cuc import EPOCH_1958_TO_1970_S, CucTime, tai_minus_utc
from common.dictionary import DICTIONARY, Structure
from common.dictionary.types import Bool, DataType, Enum
from common.errors import (
    BadPrimaryHeader,
    BadSecondaryHeader,
    CrcMismatch,
    IdlePacket,
    LengthMismatch,
    PacketError,
    PacketTooShort,
    UnknownApid,
)
from common.framing import PacketFramer, split_stream
from common.packets import (
    MAX_TM_APP_DATA,
    AckFlags,
    TcPacket,
    TmPacket,
    crc16,
    crc_ok,
    decode,
    encode,
    idle_packet,
    peek_apid,
    peek_seq_count,
    peek_tm_time,
)
from common.sequence import GapCounter, SequenceCounter

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# 2026-01-01T00:00:00Z is Unix 1767225600; TAI-UTC is 37 s since 2017-01-01, so the CUC coarse
# time is 1767225600 + 378691200 (1958 to 1970: 4383 days) + 37 = 2145916837 = 0x7FE817A5.
NEW_YEAR_2026 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
COARSE_2026 = 0x7FE817A5


def crc_bitwise(data: bytes, register: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE the long way (ECSS-E-ST-70-41C annex B): poly 0x1021, init 0xFFFF."""
    for byte in data:
        register ^= byte << 8
        for _ in range(8):
            register = ((register << 1) ^ 0x1021 if register & 0x8000 else register << 1) & 0xFFFF
    return register


# --- golden vectors -----------------------------------------------------------------------------

# TC[17,1] are-you-alive, APID 0x010, sequence count 7, source ID 1, every ack flag, no data:
#   18 10   version 000 | type 1 (TC) | sec. header flag 1 | APID 000 0001 0000
#   C0 07   sequence flags 11 (unsegmented) | sequence count 00 0000 0000 0111
#   00 06   data length = 13 bytes - 7 = 6
#   2F      PUS version 0010 | ack flags 1111 (acceptance, start, progress, completion)
#   11 01   service 17, subtype 1
#   00 01   source ID 1
#   3A F7   CRC-16/CCITT-FALSE of the 11 bytes above
GOLDEN_TC_17_1 = bytes.fromhex("1810 C007 0006 2F 11 01 0001 3AF7")

# TM[17,2] are-you-alive report, APID 0x010, sequence count 16383 (the last before the wrap),
# message type counter 0x0102, destination ID 1, time 2026-01-01T00:00:00.5Z, no data:
#   08 10   version 000 | type 0 (TM) | sec. header flag 1 | APID 000 0001 0000
#   FF FF   sequence flags 11 | sequence count 11 1111 1111 1111
#   00 0E   data length = 21 bytes - 7 = 14
#   20      PUS version 0010 | time reference status 0000
#   11 02   service 17, subtype 2
#   01 02   message type counter 258
#   00 01   destination ID 1
#   7F E8 17 A5   CUC coarse: TAI seconds since 1958-01-01 (see COARSE_2026)
#   80 00   CUC fine: 0x8000 / 65536 = 0.5 s
#   E0 3D   CRC-16/CCITT-FALSE of the 19 bytes above
GOLDEN_TM_17_2 = bytes.fromhex("0810 FFFF 000E 20 11 02 0102 0001 7FE817A5 8000 E03D")

# TC[8,1] function 16 of FP (APID 0x040): FP.SET_MODE mode=SAFE, sequence count 7 (README):
#   18 40 | C0 07 | 00 09 (16 - 7) | 2F | 08 01 | 00 01 | 00 10 function ID 16 | 02 SAFE | 63 84
GOLDEN_SET_MODE = bytes.fromhex("1840 C007 0009 2F 08 01 0001 0010 02 6384")


def test_golden_tc_17_1() -> None:
    tc = TcPacket(apid=0x010, service=17, subtype=1, seq_count=7, source_id=1)
    assert encode(tc) == GOLDEN_TC_17_1
    assert decode(GOLDEN_TC_17_1) == tc
    assert crc_bitwise(GOLDEN_TC_17_1[:-2]) == 0x3AF7
    assert encode(DICTIONARY.encode_command("EXEC.PING", seq_count=7)) == GOLDEN_TC_17_1


def test_golden_tm_17_2() -> None:
    time = CucTime(COARSE_2026, 0x8000)
    assert CucTime.from_datetime(NEW_YEAR_2026 + dt.timedelta(seconds=0.5)) == time
    tm = TmPacket(apid=0x010, service=17, subtype=2, seq_count=0x3FFF, msg_counter=0x0102,
                  dest_id=1, time=time)
    assert encode(tm) == GOLDEN_TM_17_2
    assert decode(GOLDEN_TM_17_2) == tm
    assert crc_bitwise(GOLDEN_TM_17_2[:-2]) == 0xE03D
    assert decode(GOLDEN_TM_17_2).time.isoformat() == "2026-01-01T00:00:00.500000Z"
    assert peek_tm_time(GOLDEN_TM_17_2) == COARSE_2026 + 0.5
    assert DICTIONARY.decode_tm(decode(GOLDEN_TM_17_2)).name == "PUS.ARE_YOU_ALIVE_REPORT"


def test_golden_function_command() -> None:
    tc = DICTIONARY.encode_command("FP.SET_MODE", {"mode": "SAFE"}, seq_count=7)
    assert encode(tc) == GOLDEN_SET_MODE
    assert DICTIONARY.decode_command(decode(GOLDEN_SET_MODE)).args == {"mode": "SAFE"}


def test_crc_check_value() -> None:
    assert crc16(b"123456789") == 0x29B1  # the catalogued check value of CRC-16/CCITT-FALSE
    assert crc_bitwise(b"123456789") == 0x29B1
    assert crc_ok(GOLDEN_TC_17_1) and crc_ok(GOLDEN_TM_17_2)
    assert not crc_ok(GOLDEN_TC_17_1[:-1] + b"\x00")


@FEW
@given(st.binary(max_size=200))
def test_crc_is_the_standard_one(data: bytes) -> None:
    assert crc16(data) == crc_bitwise(data)
    assert crc_ok(data + crc16(data).to_bytes(2, "big"))


# --- round trips --------------------------------------------------------------------------------

apids = st.integers(0, 0x7FE)
times = st.builds(CucTime, st.integers(0, 2**32 - 1), st.integers(0, 65535))
tc_packets = st.builds(
    TcPacket, apid=apids, service=st.integers(0, 255), subtype=st.integers(0, 255),
    app_data=st.binary(max_size=300), seq_count=st.integers(0, 0x3FFF),
    source_id=st.integers(0, 0xFFFF), ack_flags=st.integers(0, 15),
)
tm_packets = st.builds(
    TmPacket, apid=apids, service=st.integers(0, 255), subtype=st.integers(0, 255),
    app_data=st.binary(max_size=300), seq_count=st.integers(0, 0x3FFF),
    msg_counter=st.integers(0, 0xFFFF), dest_id=st.integers(0, 0xFFFF), time=times,
    time_ref_status=st.integers(0, 15),
)
packets = tc_packets | tm_packets


@BOUNDED
@given(packets)
def test_decode_inverts_encode(packet: TcPacket | TmPacket) -> None:
    data = encode(packet)
    decoded = decode(data)
    assert decoded == packet and type(decoded) is type(packet)
    assert encode(decoded) == data
    assert (peek_apid(data), peek_seq_count(data)) == (packet.apid, packet.seq_count)
    assert decode(data, apids={packet.apid}) == packet


@BOUNDED
@given(st.binary(min_size=7, max_size=120))
def test_encode_inverts_decode_on_any_valid_bytes(data: bytes) -> None:
    try:
        packet = decode(data)
    except PacketError:
        return
    assert encode(packet) == data


@FEW
@given(packets)
def test_the_header_fields_land_where_the_standard_puts_them(packet: TcPacket | TmPacket) -> None:
    data = encode(packet)
    word0, word1, length = (int.from_bytes(data[i:i + 2], "big") for i in (0, 2, 4))
    assert word0 >> 13 == 0 and (word0 >> 11) & 1 == 1 and word0 & 0x7FF == packet.apid
    assert (word0 >> 12) & 1 == (1 if isinstance(packet, TcPacket) else 0)
    assert word1 >> 14 == 0b11 and word1 & 0x3FFF == packet.seq_count
    assert length == len(data) - 7
    assert data[6] >> 4 == 2
    assert (data[7], data[8]) == (packet.service, packet.subtype)
    if isinstance(packet, TmPacket):
        assert data[6] & 0xF == packet.time_ref_status
        assert data[13:19] == packet.time.pack()
        assert data[19:-2] == packet.app_data
    else:
        assert data[6] & 0xF == packet.ack_flags
        assert int.from_bytes(data[9:11], "big") == packet.source_id
        assert data[11:-2] == packet.app_data


def test_encode_refuses_fields_that_do_not_fit() -> None:
    for bad in (TcPacket(0x7FF, 17, 1), TcPacket(0x800, 17, 1), TcPacket(1, 256, 1),
                TcPacket(1, 17, 1, seq_count=0x4000), TcPacket(1, 17, 1, ack_flags=16),
                TcPacket(1, 17, 1, source_id=0x10000), TmPacket(1, 3, 25, msg_counter=-1),
                TmPacket(1, 3, 25, dest_id=0x10000), TmPacket(1, 3, 25, time_ref_status=16),
                TmPacket(0x7FF, 3, 25), TmPacket(1, 3, 256), TmPacket(1, -1, 25),
                TmPacket(1, 3, 25, seq_count=0x4000)):
        with pytest.raises(ValueError, match="out of range"):
            encode(bad)
    with pytest.raises(ValueError, match="too long"):
        encode(TmPacket(1, 3, 25, bytes(MAX_TM_APP_DATA + 1)))


# --- CUC time -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def timescale():
    from skyfield.api import load

    return load.timescale(builtin=True)


def test_cuc_epoch_and_leap_seconds() -> None:
    assert (dt.date(1970, 1, 1) - dt.date(1958, 1, 1)).days * 86400 == EPOCH_1958_TO_1970_S
    assert tai_minus_utc(63_072_000) == 10  # 1972-01-01
    assert tai_minus_utc(dt.datetime(2016, 12, 31, 23, 59, 59, tzinfo=dt.UTC).timestamp()) == 36
    assert tai_minus_utc(dt.datetime(2017, 1, 1, tzinfo=dt.UTC).timestamp()) == 37
    before = CucTime.from_datetime(dt.datetime(2016, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    after = CucTime.from_datetime(dt.datetime(2017, 1, 1, tzinfo=dt.UTC))
    assert after.coarse - before.coarse == 2  # 23:59:60 was inserted between them
    leap = CucTime(before.coarse + 1, 0x4000)  # 23:59:60.25 UTC
    # UTC datetimes and Unix time cannot name 23:59:60: it reads as the second after it.
    assert leap.to_datetime() == dt.datetime(2017, 1, 1, 0, 0, 0, 250000, tzinfo=dt.UTC)
    assert leap.to_unix() == after.to_unix() + 0.25
    assert CucTime.from_datetime(leap.to_datetime()) == CucTime(after.coarse, 0x4000)


def test_unix_times_across_a_leap_second_convert_with_the_offset_of_their_own_span() -> None:
    # from_unix remembers the span of the time it converted last, and that time and its
    # result: times that step across a leap second, forwards, backwards and far away, and
    # again, must each get the offset in force.
    step = dt.datetime(2017, 1, 1, tzinfo=dt.UTC).timestamp()
    times = [step - 0.5, step - 0.5, step, step, step + 0.5, step - 1e-6, step - 1e-6,
             63_072_000.0, step + 1e9, step + 1e9, step - 0.5]

    def check(unix_s: float) -> None:
        expected = round((unix_s + EPOCH_1958_TO_1970_S + tai_minus_utc(unix_s)) * 65536)
        assert CucTime.from_unix(unix_s) == CucTime(expected >> 16, expected & 0xFFFF), unix_s

    for unix_s in times:
        check(unix_s)
    with pytest.raises(ValueError, match="1972"):
        CucTime.from_unix(63_071_999.0)
    with pytest.raises(ValueError, match="out of range"):
        CucTime.from_unix(2.0**33)
    with pytest.raises(ValueError, match="out of range"):  # a refusal is not remembered
        CucTime.from_unix(2.0**33)
    check(step - 0.5)


@FEW
@given(st.datetimes(dt.datetime(1972, 1, 1), dt.datetime(2094, 1, 1), timezones=st.just(dt.UTC)))
def test_cuc_agrees_with_skyfield(timescale, when: dt.datetime) -> None:
    cuc = CucTime.from_datetime(when)
    tai_jd = timescale.from_datetime(when).tai  # Skyfield: TAI as a Julian date
    assert abs(cuc.tai_seconds - (tai_jd - 2436204.5) * 86400) < 1e-4  # 1958-01-01 is JD 2436204.5


@BOUNDED
@given(st.datetimes(dt.datetime(1972, 1, 1), dt.datetime(2094, 1, 1), timezones=st.just(dt.UTC)))
def test_datetime_to_cuc_and_back(when: dt.datetime) -> None:
    back = CucTime.from_datetime(when).to_datetime()
    assert abs(back - when) <= dt.timedelta(microseconds=8)  # a tick is 15.26 µs
    assert abs(CucTime.from_unix(when.timestamp()).to_unix() - when.timestamp()) < 1e-5


@BOUNDED
@given(times)
def test_cuc_to_datetime_and_back_is_exact(time: CucTime) -> None:
    try:
        when = time.to_datetime()
    except ValueError:
        assert time.coarse < CucTime.from_unix(63_072_000).coarse  # before 1972 is refused
        return
    leap = CucTime.from_datetime(when).coarse != time.coarse
    if leap:  # only inside an inserted leap second, which a datetime cannot hold
        assert CucTime.from_datetime(when).coarse == time.coarse + 1
        return
    assert CucTime.from_datetime(when) == time
    assert CucTime.unpack(time.pack()) == time


def test_cuc_refuses_what_it_cannot_carry() -> None:
    for coarse, fine in ((-1, 0), (2**32, 0), (0, 65536)):
        with pytest.raises(ValueError, match="out of range"):
            CucTime(coarse, fine)
    with pytest.raises(ValueError, match="naive"):
        CucTime.from_datetime(dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="1972"):
        CucTime.from_unix(0)


# --- streams, idle packets, sequence counters ----------------------------------------------------

stream_items = st.lists(packets.map(encode) | st.integers(7, 40).map(idle_packet), max_size=12)


@FEW
@given(stream_items, st.data())
def test_split_stream_returns_packets_and_the_remainder(items: list[bytes],
                                                        data: st.DataObject) -> None:
    partial = data.draw(packets.map(encode))
    tail = partial[: data.draw(st.integers(0, len(partial) - 1))]
    found, rest = split_stream(b"".join(items) + tail)
    assert found == [item for item in items if peek_apid(item) != 0x7FF]
    assert rest == tail


@FEW
@given(stream_items, st.lists(st.integers(1, 50), max_size=20))
def test_the_framer_gives_the_same_packets_in_any_chunking(items: list[bytes],
                                                           cuts: list[int]) -> None:
    stream = b"".join(items)
    framer = PacketFramer()
    got = []
    position = 0
    for cut in [*cuts, len(stream)]:
        got += framer.feed(stream[position:position + cut])
        position += cut
    got += framer.feed(stream[position:])
    assert [frame.data for frame in got] == [i for i in items if peek_apid(i) != 0x7FF]
    assert all(stream[f.offset:f.offset + len(f.data)] == f.data for f in got)
    assert framer.remainder == b""
    assert framer.idle_packets == sum(peek_apid(i) == 0x7FF for i in items)


@pytest.mark.parametrize("length", [7, 8, 19, 1000])
def test_idle_packets_are_recognised(length: int) -> None:
    idle = idle_packet(length, seq_count=5)
    assert len(idle) == length and peek_apid(idle) == 0x7FF and peek_seq_count(idle) == 5
    with pytest.raises(IdlePacket):
        decode(idle)
    assert split_stream(idle + GOLDEN_TC_17_1 + idle) == ([GOLDEN_TC_17_1], b"")


@FEW
@given(st.integers(0, 0x3FFF), st.integers(1, 40_000))
def test_sequence_counters_wrap_at_14_bits(start: int, count: int) -> None:
    counter = SequenceCounter()
    counter.set(0x10, start)
    got = [counter.next(0x10) for _ in range(count)]
    assert got == [(start + i) % 16384 for i in range(count)]
    assert counter.peek(0x20) == 0 and counter.peek(0x10) == (start + count) % 16384
    gaps = GapCounter()
    assert sum(gaps.observe(0x10, n) for n in got) == 0 and gaps.resets == 0
    for n in got[-3:]:
        TcPacket(0x10, 17, 1, seq_count=n)  # every count fits the header
        assert decode(encode(TcPacket(0x10, 17, 1, seq_count=n))).seq_count == n


def test_gaps_across_the_wrap() -> None:
    gaps = GapCounter()
    assert [gaps.observe(1, n) for n in (16382, 16383, 2)] == [0, 0, 2]
    assert gaps.missing == 2


# --- spacepackets, an independent implementation ------------------------------------------------


@BOUNDED
@given(tc_packets)
def test_our_telecommands_unpack_in_spacepackets(tc: TcPacket) -> None:
    theirs = PusTc.unpack(encode(tc))
    assert (theirs.apid, theirs.seq_count, theirs.service, theirs.message_subtype) == (
        tc.apid, tc.seq_count, tc.service, tc.subtype)
    assert theirs.source_id == tc.source_id
    assert theirs.pus_tc_sec_header.ack_flags == tc.ack_flags
    assert theirs.pus_tc_sec_header.pus_version == 2
    assert theirs.app_data == tc.app_data


@BOUNDED
@given(tm_packets)
def test_our_telemetry_unpacks_in_spacepackets(tm: TmPacket) -> None:
    theirs = PusTm.unpack(encode(tm), timestamp_len=6)
    assert (theirs.apid, theirs.seq_count, theirs.service, theirs.message_subtype) == (
        tm.apid, tm.seq_count, tm.service, tm.subtype)
    header = theirs.pus_tm_sec_header
    assert (header.message_counter, header.dest_id) == (tm.msg_counter, tm.dest_id)
    assert header.spacecraft_time_ref == tm.time_ref_status
    assert theirs.timestamp == tm.time.pack()
    assert theirs.source_data == tm.app_data


@BOUNDED
@given(tc_packets)
def test_spacepackets_telecommands_decode_identically(tc: TcPacket) -> None:
    data = PusTc(tc.service, tc.subtype, apid=tc.apid, app_data=tc.app_data,
                 seq_count=tc.seq_count, source_id=tc.source_id, ack_flags=tc.ack_flags).pack()
    assert decode(bytes(data)) == tc
    assert encode(tc) == data


@BOUNDED
@given(tm_packets)
def test_spacepackets_telemetry_decodes_identically(tm: TmPacket) -> None:
    data = PusTm(tm.service, tm.subtype, timestamp=tm.time.pack(), source_data=tm.app_data,
                 apid=tm.apid, seq_count=tm.seq_count, message_counter=tm.msg_counter,
                 destination_id=tm.dest_id,
                 misc_params=MiscParams(spacecraft_time_ref=tm.time_ref_status)).pack()
    assert decode(bytes(data)) == tm
    assert encode(tm) == data


# --- malformed input ----------------------------------------------------------------------------

def plain_values(structure: Structure) -> dict[str, object]:
    """The least value of every parameter (first label, false, minimum)."""
    def least(datatype: DataType) -> object:
        if isinstance(datatype, Enum):
            return next(iter(datatype.labels))
        if isinstance(datatype, Bool):
            return False
        return max(0, datatype.minimum)  # type: ignore[attr-defined]

    return {param.name: least(param.type) for param in structure.params}


VALID = [GOLDEN_TC_17_1, GOLDEN_TM_17_2, GOLDEN_SET_MODE] + [
    encode(DICTIONARY.encode_command(name)) for name in ("HK.NOOP", "COMPUTE.LIST_JOBS")] + [
    encode(TmPacket(s.apid, 3, 25, DICTIONARY.hk_app_data(s, plain_values(s))))
    for s in list(DICTIONARY.structures.values())[:4]]


def understand(data: bytes) -> None:
    """Everything a receiver does with bytes: decode, then look the packet up."""
    packet = decode(data, DICTIONARY.apids)
    if isinstance(packet, TcPacket):
        DICTIONARY.decode_command(packet)
    else:
        DICTIONARY.decode_tm(packet)


def test_the_valid_samples_are_understood() -> None:
    for data in VALID:
        understand(data)


@BOUNDED
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_packet_errors(data: bytes) -> None:
    try:
        understand(data)
    except PacketError as exc:
        assert exc.data in data  # carries the offending bytes (the packet or its data)
        assert isinstance(exc.reason, str)


@BOUNDED
@given(st.sampled_from(VALID), st.lists(st.integers(0, 10**6), min_size=1, max_size=6),
       st.integers(0, 4))
def test_bit_flips_and_truncations_raise_only_packet_errors(base: bytes, flips: list[int],
                                                            cut: int) -> None:
    data = bytearray(base)
    for flip in flips:
        data[flip % len(data)] ^= 1 << (flip % 8)
    data = data[: len(data) - cut]
    assume(bytes(data) != base)
    try:
        understand(bytes(data))
    except PacketError:
        pass


@pytest.mark.parametrize("index", range(len(VALID)))
def test_a_single_bit_flip_is_always_caught(index: int) -> None:
    base = VALID[index]
    for bit in random.Random(index).sample(range(len(base) * 8), 40):
        data = bytearray(base)
        data[bit // 8] ^= 0x80 >> (bit % 8)
        with pytest.raises(PacketError):
            decode(bytes(data), DICTIONARY.apids)


def test_each_way_to_be_wrong_has_its_error() -> None:
    good = bytearray(GOLDEN_TC_17_1)

    def with_crc(body: bytes) -> bytes:
        return body + crc16(body).to_bytes(2, "big")

    cases = {
        PacketTooShort: b"\x18\x10\xc0",
        LengthMismatch: bytes(good) + b"\x00",
        CrcMismatch: bytes(good[:-1]) + bytes([good[-1] ^ 1]),
        BadPrimaryHeader: with_crc(bytes([good[0] | 0x20]) + bytes(good[1:-2])),
        BadSecondaryHeader: with_crc(bytes(good[:6]) + b"\x1f" + bytes(good[7:-2])),
        UnknownApid: with_crc(b"\x1b\x00" + bytes(good[2:-2])),
    }
    for error, data in cases.items():
        with pytest.raises(error) as caught:
            decode(data, DICTIONARY.apids)
        assert caught.value.data == data
    no_flag = with_crc(bytes([good[0] & ~0x08]) + bytes(good[1:-2]))
    with pytest.raises(BadPrimaryHeader, match="secondary header flag"):
        decode(no_flag)
    segmented = with_crc(bytes(good[:2]) + bytes([good[2] & 0x3F]) + bytes(good[3:-2]))
    with pytest.raises(BadPrimaryHeader, match="sequence flags"):
        decode(segmented)
    short_tm = with_crc(bytes.fromhex("0810C0000006") + bytes(5))
    with pytest.raises(BadSecondaryHeader, match="no room"):
        decode(short_tm)


def test_ack_flags_are_the_pus_bits() -> None:
    assert int(AckFlags.ACCEPTANCE | AckFlags.START | AckFlags.PROGRESS | AckFlags.COMPLETION) == 15
    assert decode(GOLDEN_TC_17_1).ack_flags == AckFlags.ALL
