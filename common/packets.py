"""CCSDS Space Packets (133.0-B-2) with ECSS PUS-C secondary headers: values, encode, decode.

Layout (big-endian, bit 0 first):

* primary header, 6 bytes: version (3) = 0 · type (1) · secondary header flag (1) = 1 ·
  APID (11) | sequence flags (2) = 0b11 · sequence count (14) | data length = total − 7;
* TC secondary header, 5 bytes: PUS version (4) = 2 · ack flags (4) · service · subtype ·
  source ID (16);
* TM secondary header, 13 bytes: PUS version (4) = 2 · time reference status (4) · service ·
  subtype · message type counter (16) · destination ID (16) · CUC time (4 + 2);
* application data, then the packet error control: CRC-16/CCITT-FALSE over everything before.

The headers are ``construct`` structs over whole bytes and 16-bit words, executed through
:class:`common.layout.Layout`'s ``struct`` path; the bit fields within the words are the masks
defined here, used by both encode and decode. ``encode`` and ``decode`` are exact
inverses: ``decode(encode(p)) == p`` for every valid packet and ``encode(decode(b)) == b`` for
every valid byte string.
"""

from __future__ import annotations

import binascii
import struct
from collections.abc import Container
from enum import IntEnum, IntFlag
from typing import Final, NamedTuple, cast

from construct import Int8ub, Int16ub, Int32ub, Struct

from common.cuc import CucTime
from common.errors import (
    BadPrimaryHeader,
    BadSecondaryHeader,
    CrcMismatch,
    IdlePacket,
    LengthMismatch,
    PacketTooShort,
    UnknownApid,
)
from common.layout import Layout

PRIMARY_HEADER_LEN: Final = 6
TC_SECONDARY_HEADER_LEN: Final = 5
TM_SECONDARY_HEADER_LEN: Final = 13
PEC_LEN: Final = 2
TC_HEADER_LEN: Final = PRIMARY_HEADER_LEN + TC_SECONDARY_HEADER_LEN
TM_HEADER_LEN: Final = PRIMARY_HEADER_LEN + TM_SECONDARY_HEADER_LEN
MIN_PACKET_LEN: Final = PRIMARY_HEADER_LEN + 1
MAX_PACKET_LEN: Final = PRIMARY_HEADER_LEN + 65536
MAX_APID: Final = 0x7FF
IDLE_APID: Final = 0x7FF
SEQ_COUNT_MODULO: Final = 1 << 14
UNSEGMENTED: Final = 0b11
PUS_VERSION: Final = 2
CUC_ZERO: Final = CucTime(0, 0)
MAX_TC_APP_DATA: Final = MAX_PACKET_LEN - TC_HEADER_LEN - PEC_LEN
MAX_TM_APP_DATA: Final = MAX_PACKET_LEN - TM_HEADER_LEN - PEC_LEN


class PacketType(IntEnum):
    """The primary header's packet type bit."""

    TM = 0
    TC = 1


class AckFlags(IntFlag):
    """PUS-C TC acknowledgement flags: which verification reports the sender asks for."""

    NONE = 0
    COMPLETION = 0b0001
    PROGRESS = 0b0010
    START = 0b0100
    ACCEPTANCE = 0b1000
    ALL = 0b1111


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR)."""
    return binascii.crc_hqx(data, 0xFFFF)


def crc_ok(packet: bytes) -> bool:
    """True when a packet that ends in its CRC checks (the CRC of the whole packet is zero)."""
    return binascii.crc_hqx(packet, 0xFFFF) == 0


# The headers as whole 16-bit words and bytes; the bit fields inside them are the masks below.
# Named as CCSDS names the words: packet identification, packet sequence control, data length.
PRIMARY_HEADER = Layout(
    Struct("packet_id" / Int16ub, "sequence" / Int16ub, "data_length" / Int16ub)
)
TC_HEADER = Layout(
    Struct(
        "packet_id" / Int16ub,  # version (3) | type (1) | secondary header flag (1) | APID (11)
        "sequence" / Int16ub,  # sequence flags (2) | sequence count (14)
        "data_length" / Int16ub,  # packet length - 7
        "pus_ack" / Int8ub,  # PUS version (4) | acknowledgement flags (4)
        "service" / Int8ub,
        "subtype" / Int8ub,
        "source_id" / Int16ub,
    )
)
TM_HEADER = Layout(
    Struct(
        "packet_id" / Int16ub,
        "sequence" / Int16ub,
        "data_length" / Int16ub,
        "pus_time_ref" / Int8ub,  # PUS version (4) | spacecraft time reference status (4)
        "service" / Int8ub,
        "subtype" / Int8ub,
        "msg_counter" / Int16ub,
        "dest_id" / Int16ub,
        "coarse" / Int32ub,  # CUC T-field: TAI seconds since 1958
        "fine" / Int16ub,  # and 1/65536 s
    )
)
_TC_UNPACK = TC_HEADER.fixed.unpack_from  # type: ignore[union-attr]
_TM_UNPACK = TM_HEADER.fixed.unpack_from  # type: ignore[union-attr]
_TC_PACK = TC_HEADER.fixed.pack  # type: ignore[union-attr]
_TM_PACK = TM_HEADER.fixed.pack  # type: ignore[union-attr]

_CUC_AT_13 = struct.Struct(">IH")

VERSION_SHIFT: Final = 13
TYPE_BIT: Final = 1 << 12
SEC_HEADER_BIT: Final = 1 << 11
APID_MASK: Final = 0x7FF
SEQ_FLAGS_SHIFT: Final = 14
SEQ_COUNT_MASK: Final = 0x3FFF
PUS_VERSION_SHIFT: Final = 4
LOW_NIBBLE: Final = 0xF


class TcPacket(NamedTuple):
    """A PUS-C telecommand (an immutable named tuple).

    >>> TcPacket(apid=0x10, service=17, subtype=1, seq_count=5).ack_flags
    <AckFlags.ALL: 15>
    """

    apid: int
    service: int
    subtype: int
    app_data: bytes = b""
    seq_count: int = 0
    source_id: int = 0
    ack_flags: int = AckFlags.ALL

    @property
    def packet_type(self) -> PacketType:
        """``PacketType.TC``."""
        return PacketType.TC

    @property
    def request_id(self) -> tuple[int, int]:
        """(APID, sequence count): how PUS 1 reports name the request they verify."""
        return self.apid, self.seq_count


class TmPacket(NamedTuple):
    """A PUS-C telemetry packet (an immutable named tuple)."""

    apid: int
    service: int
    subtype: int
    app_data: bytes = b""
    seq_count: int = 0
    msg_counter: int = 0
    dest_id: int = 0
    time: CucTime = CUC_ZERO
    time_ref_status: int = 0

    @property
    def packet_type(self) -> PacketType:
        """``PacketType.TM``."""
        return PacketType.TM


Packet = TcPacket | TmPacket


def _check_range(name: str, value: int, limit: int) -> None:
    if not 0 <= value <= limit:
        raise ValueError(f"{name} out of range 0..{limit}: {value}")


def _primary_words(packet: Packet, total_len: int, type_bit: int) -> tuple[int, int, int]:
    _check_range("apid", packet.apid, IDLE_APID - 1)  # 0x7FF is an idle packet, not PUS
    _check_range("seq_count", packet.seq_count, SEQ_COUNT_MASK)
    _check_range("service", packet.service, 255)
    _check_range("subtype", packet.subtype, 255)
    packet_id = type_bit | SEC_HEADER_BIT | packet.apid
    sequence = (UNSEGMENTED << SEQ_FLAGS_SHIFT) | packet.seq_count
    return packet_id, sequence, total_len - PRIMARY_HEADER_LEN - 1


def encode_tc(packet: TcPacket) -> bytes:
    """The bytes of a telecommand, CRC included."""
    if len(packet.app_data) > MAX_TC_APP_DATA:
        raise ValueError(f"TC application data too long: {len(packet.app_data)} bytes")
    _check_range("ack_flags", packet.ack_flags, LOW_NIBBLE)
    _check_range("source_id", packet.source_id, 0xFFFF)
    total = TC_HEADER_LEN + len(packet.app_data) + PEC_LEN
    packet_id, sequence, data_length = _primary_words(packet, total, TYPE_BIT)
    body = _TC_PACK(
        packet_id, sequence, data_length, (PUS_VERSION << PUS_VERSION_SHIFT) | packet.ack_flags,
        packet.service, packet.subtype, packet.source_id,
    ) + packet.app_data
    return body + binascii.crc_hqx(body, 0xFFFF).to_bytes(2, "big")


def encode_tm(packet: TmPacket) -> bytes:
    """The bytes of a telemetry packet, CRC included."""
    return pack_tm(*packet)


_TM_PUS_WORD: Final = PUS_VERSION << PUS_VERSION_SHIFT
_TM_LENGTH_FIELD: Final = TM_HEADER_LEN + PEC_LEN - PRIMARY_HEADER_LEN - 1


def pack_tm(apid: int, service: int, subtype: int, app_data: bytes = b"", seq_count: int = 0,
            msg_counter: int = 0, dest_id: int = 0, time: CucTime = CUC_ZERO,
            time_ref_status: int = 0) -> bytes:
    """The bytes of a telemetry packet from its fields (those of :class:`TmPacket`, in order),
    CRC included: :func:`encode_tm` without making the named tuple first (an app's hot path)."""
    if (len(app_data) > MAX_TM_APP_DATA or not 0 <= apid < IDLE_APID
            or not 0 <= seq_count <= SEQ_COUNT_MASK or not 0 <= service <= 255
            or not 0 <= subtype <= 255 or not 0 <= time_ref_status <= LOW_NIBBLE
            or not 0 <= msg_counter <= 0xFFFF or not 0 <= dest_id <= 0xFFFF):
        _refuse_tm(TmPacket(apid, service, subtype, app_data, seq_count, msg_counter, dest_id,
                            time, time_ref_status))
    body = _TM_PACK(
        SEC_HEADER_BIT | apid, (UNSEGMENTED << SEQ_FLAGS_SHIFT) | seq_count,
        _TM_LENGTH_FIELD + len(app_data), _TM_PUS_WORD | time_ref_status, service, subtype,
        msg_counter, dest_id, time.coarse, time.fine,
    ) + app_data
    return body + binascii.crc_hqx(body, 0xFFFF).to_bytes(2, "big")


def _refuse_tm(packet: TmPacket) -> None:
    """Raise the ValueError that names the first field of ``packet`` out of range."""
    if len(packet.app_data) > MAX_TM_APP_DATA:
        raise ValueError(f"TM application data too long: {len(packet.app_data)} bytes")
    _check_range("time_ref_status", packet.time_ref_status, LOW_NIBBLE)
    _check_range("msg_counter", packet.msg_counter, 0xFFFF)
    _check_range("dest_id", packet.dest_id, 0xFFFF)
    _primary_words(packet, 0, 0)
    raise AssertionError(f"no field of {packet} is out of range")  # pragma: no cover


def encode(packet: Packet) -> bytes:
    """The bytes of a telecommand or telemetry packet, CRC included."""
    if isinstance(packet, TmPacket):
        return encode_tm(packet)
    return encode_tc(packet)


def check_frame(data: bytes) -> None:
    """Check what every packet must satisfy before its fields mean anything.

    Length against the primary header, CRC, version, secondary-header flag and sequence flags;
    idle packets raise :class:`IdlePacket`. Raises a :class:`PacketError` subclass.
    """
    size = len(data)
    if size < PRIMARY_HEADER_LEN:
        raise PacketTooShort(f"packet of {size} bytes is shorter than a header and a CRC", data)
    declared = ((data[4] << 8) | data[5]) + PRIMARY_HEADER_LEN + 1
    # Before the size checks: the shortest idle packet (7 bytes) has no room for a CRC.
    if declared == size and ((data[0] & 0x7) << 8 | data[1]) == IDLE_APID:
        raise IdlePacket("idle packet", data)
    if size < PRIMARY_HEADER_LEN + PEC_LEN:
        raise PacketTooShort(f"packet of {size} bytes is shorter than a header and a CRC", data)
    if declared != size:
        raise LengthMismatch(f"header announces {declared} bytes, packet has {size}", data)
    if binascii.crc_hqx(data, 0xFFFF) != 0:
        received = int.from_bytes(data[-2:], "big")
        computed = binascii.crc_hqx(data[:-2], 0xFFFF)
        raise CrcMismatch(f"CRC 0x{received:04X} received, 0x{computed:04X} computed", data)
    if data[0] >> 5 != 0:
        raise BadPrimaryHeader(f"packet version {data[0] >> 5}, expected 0", data)
    if not data[0] & 0x08:
        raise BadPrimaryHeader("secondary header flag is 0; PUS packets need it", data)
    if data[2] >> 6 != UNSEGMENTED:
        raise BadPrimaryHeader(f"sequence flags {data[2] >> 6:#04b}, expected 0b11", data)


#: ``MAKE_NAMED_TUPLE(cls, fields)`` makes a named tuple without the class's ``__new__``, which
#: is interpreted code (generated by ``collections.namedtuple``): ~0.14 µs against ~0.27 µs,
#: for every packet decoded. Only for fields known to be complete and in order.
MAKE_NAMED_TUPLE: Final = tuple.__new__


def decode(data: bytes, apids: Container[int] | None = None) -> Packet:
    """Parse and check one whole packet (CRC included) into a :class:`TcPacket`/:class:`TmPacket`.

    ``apids``, when given, are the APIDs that are known; any other raises :class:`UnknownApid`.
    Every failure raises a :class:`common.errors.PacketError` subclass carrying the bytes.
    """
    check_frame(data)
    if data[0] & 0x10:
        if len(data) < TC_HEADER_LEN + PEC_LEN:
            raise BadSecondaryHeader(f"TC of {len(data)} bytes has no room for its header", data)
        packet_id, sequence, _, pus_ack, service, subtype, source_id = _TC_UNPACK(data)
        apid = packet_id & APID_MASK
        if apids is not None and apid not in apids:
            raise UnknownApid(f"unknown APID 0x{apid:03X}", data)
        if pus_ack >> PUS_VERSION_SHIFT != PUS_VERSION:
            version = pus_ack >> PUS_VERSION_SHIFT
            raise BadSecondaryHeader(f"TC PUS version {version}, expected 2", data)
        return cast(TcPacket, MAKE_NAMED_TUPLE(TcPacket, (
            apid, service, subtype, data[TC_HEADER_LEN:-PEC_LEN], sequence & SEQ_COUNT_MASK,
            source_id, pus_ack & LOW_NIBBLE,
        )))
    if len(data) < TM_HEADER_LEN + PEC_LEN:
        raise BadSecondaryHeader(f"TM of {len(data)} bytes has no room for its header", data)
    (packet_id, sequence, _, pus_time, service, subtype, counter, dest, coarse, fine) = (
        _TM_UNPACK(data)
    )
    apid = packet_id & APID_MASK
    if apids is not None and apid not in apids:
        raise UnknownApid(f"unknown APID 0x{apid:03X}", data)
    if pus_time >> PUS_VERSION_SHIFT != PUS_VERSION:
        version = pus_time >> PUS_VERSION_SHIFT
        raise BadSecondaryHeader(f"TM PUS version {version}, expected 2", data)
    return cast(TmPacket, MAKE_NAMED_TUPLE(TmPacket, (
        apid, service, subtype, data[TM_HEADER_LEN:-PEC_LEN], sequence & SEQ_COUNT_MASK,
        counter, dest, CucTime.from_wire(coarse, fine), pus_time & LOW_NIBBLE,
    )))


def peek_apid(data: bytes) -> int:
    """The APID of a packet's primary header, without checking anything else."""
    return ((data[0] & 0x7) << 8) | data[1]


def peek_seq_count(data: bytes) -> int:
    """The sequence count of a packet's primary header, without checking anything else."""
    return ((data[2] & 0x3F) << 8) | data[3]


def peek_tm_time(data: bytes) -> float:
    """The TAI seconds since 1958 of a TM packet's CUC time, without checking anything else."""
    coarse, fine = _CUC_AT_13.unpack_from(data, PRIMARY_HEADER_LEN + 7)
    return coarse + fine / 65536


def is_tc(data: bytes) -> bool:
    """True when the primary header's type bit says telecommand."""
    return bool(data[0] & 0x10)


def idle_packet(length: int = 7, seq_count: int = 0) -> bytes:
    """An idle packet (APID 0x7FF, no secondary header) of ``length`` bytes, zero-filled."""
    if length < MIN_PACKET_LEN:
        raise ValueError(f"an idle packet is at least {MIN_PACKET_LEN} bytes")
    sequence = (UNSEGMENTED << SEQ_FLAGS_SHIFT) | seq_count
    header = PRIMARY_HEADER.pack(IDLE_APID, sequence, length - 7)
    return header + bytes(length - PRIMARY_HEADER_LEN)
