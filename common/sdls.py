"""Telecommand authentication in the spirit of CCSDS Space Data Link Security (355.0-B).

Every telecommand crosses the space link wrapped as::

    security header: SPI (2 bytes) | anti-replay sequence number, ARSN (4 bytes)
    the telecommand packet
    security trailer: MAC (16 bytes) = HMAC-SHA256(key[SPI], SCID | header | packet)[:16]

The satellite checks before anything else: the SPI names a key it holds and has active, the MAC
is right (compared in constant time), and the ARSN is newer than the last one accepted but
not absurdly far ahead (the window). Anything else is rejected with a reason, counted, evented,
and never reaches an app. The last accepted ARSN survives restarts.

Keys live in a key file outside the code (``dawndusk keys`` makes one); they are never logged,
archived or put in the run configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import struct
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from common.files import write_atomic

HEADER = struct.Struct(">HI")
HEADER_LEN = HEADER.size
MAC_LEN = 16
KEY_BYTES = 32
#: How far ahead of the last accepted ARSN a new one may be.
DEFAULT_WINDOW = 1 << 16
MAX_ARSN = (1 << 32) - 1


class Reason(Enum):
    """Why a protected telecommand was rejected."""

    TOO_SHORT = "too_short"
    UNKNOWN_SPI = "unknown_spi"
    INACTIVE_SPI = "inactive_spi"
    BAD_MAC = "bad_mac"
    REPLAY = "replay"
    OUT_OF_WINDOW = "out_of_window"


class SecurityError(Exception):
    """A protected telecommand that fails verification."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _mac(key: bytes, spacecraft: str, header: bytes, packet: bytes) -> bytes:
    digest = hmac.new(key, spacecraft.encode("ascii") + header + packet, hashlib.sha256)
    return digest.digest()[:MAC_LEN]


def protect(key: bytes, spi: int, arsn: int, spacecraft: str, packet: bytes) -> bytes:
    """The telecommand with its security header and MAC trailer."""
    if not 0 < arsn <= MAX_ARSN:
        raise ValueError(f"ARSN out of range: {arsn}")
    header = HEADER.pack(spi, arsn)
    return header + packet + _mac(key, spacecraft, header, packet)


@dataclass
class Verifier:
    """The satellite side: its keys, the active SPI, and the anti-replay state (persisted)."""

    spacecraft: str
    keys: dict[int, bytes]
    active: int
    state_file: Path | None = None
    window: int = DEFAULT_WINDOW
    last_arsn: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.state_file is not None and self.state_file.exists():
            saved = json.loads(self.state_file.read_text())
            self.active = int(saved.get("active", self.active))
            self.last_arsn = {int(k): int(v) for k, v in saved.get("last_arsn", {}).items()}

    def verify(self, data: bytes) -> tuple[int, int, bytes]:
        """(SPI, ARSN, packet) of an authentic, fresh telecommand; else :class:`SecurityError`."""
        if len(data) < HEADER_LEN + MAC_LEN + 7:
            raise SecurityError(Reason.TOO_SHORT, f"{len(data)} bytes cannot be a protected TC")
        header, packet, mac = data[:HEADER_LEN], data[HEADER_LEN:-MAC_LEN], data[-MAC_LEN:]
        spi, arsn = HEADER.unpack(header)
        key = self.keys.get(spi)
        if key is None:
            raise SecurityError(Reason.UNKNOWN_SPI, f"no key for SPI {spi}")
        if not hmac.compare_digest(mac, _mac(key, self.spacecraft, header, packet)):
            raise SecurityError(Reason.BAD_MAC, f"MAC does not verify (SPI {spi})")
        if spi != self.active:
            raise SecurityError(Reason.INACTIVE_SPI, f"SPI {spi} is not the active key "
                                f"({self.active})")
        last = self.last_arsn.get(spi, 0)
        if arsn <= last:
            raise SecurityError(Reason.REPLAY, f"ARSN {arsn} is not newer than {last}")
        if arsn - last > self.window:
            raise SecurityError(Reason.OUT_OF_WINDOW,
                                f"ARSN {arsn} is more than {self.window} ahead of {last}")
        self.last_arsn[spi] = arsn
        self._save()
        return spi, arsn, packet

    def activate(self, spi: int) -> None:
        """Make ``spi`` the only key accepted from now on (key rotation)."""
        if spi not in self.keys:
            raise KeyError(f"no key for SPI {spi}")
        self.active = spi
        self._save()

    def _save(self) -> None:
        if self.state_file is None:
            return
        write_atomic(self.state_file, json.dumps({"active": self.active,
                                                  "last_arsn": self.last_arsn}))


@dataclass
class Signer:
    """The ground side for one satellite: its keys, the SPI in use, the next ARSN (persisted)."""

    spacecraft: str
    keys: dict[int, bytes]
    spi: int
    state_file: Path | None = None
    next_arsn: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.state_file is not None and self.state_file.exists():
            saved = json.loads(self.state_file.read_text())
            self.spi = int(saved.get("spi", self.spi))
            self.next_arsn = {int(k): int(v) for k, v in saved.get("next_arsn", {}).items()}

    def sign(self, packet: bytes) -> bytes:
        """Protect one telecommand with the next ARSN of the SPI in use."""
        arsn = self.next_arsn.get(self.spi, 1)
        self.next_arsn[self.spi] = arsn + 1
        self._save()  # before the frame goes: an ARSN is never used twice
        return protect(self.keys[self.spi], self.spi, arsn, self.spacecraft, packet)

    def use(self, spi: int) -> None:
        """Sign with ``spi`` from now on."""
        if spi not in self.keys:
            raise KeyError(f"no key for SPI {spi}")
        self.spi = spi
        self._save()

    def _save(self) -> None:
        if self.state_file is None:
            return
        write_atomic(self.state_file, json.dumps({"spi": self.spi, "next_arsn": self.next_arsn}))


# --- key files ----------------------------------------------------------------------------------

KEY_FILE = "keys.json"


def generate_keys(satellites: list[str], spis: int = 3) -> dict[str, dict[int, bytes]]:
    """Fresh random keys: ``spis`` per satellite (SPI 1 active at first; the others for
    rotation)."""
    return {name: {spi: secrets.token_bytes(KEY_BYTES) for spi in range(1, spis + 1)}
            for name in satellites}


def write_key_file(path: Path, keys: dict[str, dict[int, bytes]]) -> Path:
    """Write keys (hex) readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({name: {str(spi): key.hex() for spi, key in by_spi.items()}
                   for name, by_spi in keys.items()}, handle)
    return path


def read_key_file(path: Path) -> dict[str, dict[int, bytes]]:
    """Keys from a key file; refuses one that others may read."""
    mode = path.stat().st_mode & 0o077
    if mode:
        raise PermissionError(f"{path} is readable by others (mode {oct(mode)}); chmod 600 it")
    data = json.loads(path.read_text())
    return {name: {int(spi): bytes.fromhex(key) for spi, key in by_spi.items()}
            for name, by_spi in data.items()}
