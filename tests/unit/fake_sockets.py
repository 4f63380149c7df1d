"""A stand-in for a ZeroMQ socket in unit tests."""

from __future__ import annotations

from typing import NamedTuple

import zmq


class Frame(NamedTuple):
    """What ``recv(copy=False)`` gives: a part and whether more parts follow it."""

    bytes: bytes
    more: bool


class QueuedSocket:
    """Multipart messages waiting to be read, served part by part as ZeroMQ does (as bytes,
    with ``RCVMORE`` to ask between them, or as frames that carry it: ``common.zmqloop``
    reads so), and the messages sent, kept."""

    def __init__(self, waiting: list[list[bytes]] | None = None) -> None:
        self.waiting: list[list[bytes]] = list(waiting or [])
        self.sent: list[list[bytes]] = []
        self._rest: list[bytes] = []

    def recv(self, flags: int = 0, copy: bool = True) -> bytes | Frame:
        if not self._rest:
            if not self.waiting:
                raise zmq.Again()
            self._rest = list(self.waiting.pop(0))
        part = self._rest.pop(0)
        return part if copy else Frame(part, bool(self._rest))

    def get(self, option: int) -> int:
        assert option == zmq.RCVMORE, option
        return int(bool(self._rest))

    def recv_multipart(self, flags: int = 0) -> list[bytes]:
        parts = [self.recv(flags)]
        while self.get(zmq.RCVMORE):
            parts.append(self.recv(flags))
        return parts  # type: ignore[return-value]

    def send_multipart(self, parts: list[bytes], flags: int = 0) -> None:
        self.sent.append(list(parts))
