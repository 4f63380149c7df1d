"""Packet errors: one exception type per way a packet can be wrong, each carrying its bytes."""

from __future__ import annotations


class PacketError(Exception):
    """A packet could not be accepted; ``data`` holds the offending bytes.

    ``offset`` is the position of the packet in the stream it came from (0 when unknown).
    ``reason`` is a short, stable identifier used for counters and events.
    """

    reason = "packet_error"

    def __init__(self, message: str, data: bytes = b"", offset: int = 0) -> None:
        super().__init__(message)
        self.data = bytes(data)
        self.offset = offset

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} at offset {self.offset}" if self.offset else text


class PacketTooShort(PacketError):
    """Fewer bytes than the smallest packet (or than the header announces)."""

    reason = "too_short"


class LengthMismatch(PacketError):
    """The primary header's data length disagrees with the bytes received."""

    reason = "length_mismatch"


class CrcMismatch(PacketError):
    """The packet error control (CRC-16/CCITT-FALSE) does not check."""

    reason = "crc_mismatch"


class BadPrimaryHeader(PacketError):
    """Version, secondary-header flag or sequence flags outside what dawndusk speaks."""

    reason = "bad_primary_header"


class UnknownApid(PacketError):
    """The APID belongs to no application in the dictionary."""

    reason = "unknown_apid"


class BadSecondaryHeader(PacketError):
    """The PUS-C secondary header is missing, short or of the wrong version."""

    reason = "bad_secondary_header"


class IdlePacket(PacketError):
    """An idle packet (APID 0x7FF): carries no data and is skipped, not an error to report."""

    reason = "idle"


class BadArguments(PacketError):
    """Application data that do not match the dictionary's layout or ranges.

    ``argument`` names the offending argument when one is to blame.
    """

    reason = "bad_arguments"

    def __init__(
        self, message: str, data: bytes = b"", offset: int = 0, argument: str = ""
    ) -> None:
        super().__init__(message, data, offset)
        self.argument = argument


class UnknownCommand(PacketError):
    """A telecommand (name, or service/subtype/function) the dictionary does not define.

    ``is_function`` tells an unknown PUS 8 function ID from an unknown service/subtype.
    """

    reason = "unknown_command"

    def __init__(
        self, message: str, data: bytes = b"", offset: int = 0, is_function: bool = False
    ) -> None:
        super().__init__(message, data, offset)
        self.is_function = is_function


class UnknownTelemetry(PacketError):
    """A TM (service/subtype, structure or event ID) that the dictionary does not define."""

    reason = "unknown_telemetry"


class ArgumentError(ValueError):
    """A command argument is missing, of the wrong type or out of range.

    The message names the command, the argument, the value and what is allowed.
    """

    def __init__(self, command: str, argument: str, value: object, allowed: str) -> None:
        self.command = command
        self.argument = argument
        self.value = value
        self.allowed = allowed
        super().__init__(f"{command}: argument {argument}={value!r} is invalid; allowed: {allowed}")


class DictionaryError(Exception):
    """The dictionary itself is inconsistent (duplicate IDs or names, overlapping APIDs...)."""
