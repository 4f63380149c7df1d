"""A stand-in for a ZeroMQ socket in unit tests."""

from __future__ import annotations

import zmq


class QueuedSocket:
    """Multipart messages waiting to be read, served part by part with ``RCVMORE`` between
    them as ZeroMQ does (``common.zmqloop`` reads so), and the messages sent, kept."""

    def __init__(self, waiting: list[list[bytes]] | None = None) -> None:
        self.waiting: list[list[bytes]] = list(waiting or [])
        self.sent: list[list[bytes]] = []
        self._rest: list[bytes] = []

    def recv(self, flags: int = 0) -> bytes:
        if not self._rest:
            if not self.waiting:
                raise zmq.Again()
            self._rest = list(self.waiting.pop(0))
        return self._rest.pop(0)

    def get(self, option: int) -> int:
        assert option == zmq.RCVMORE, option
        return int(bool(self._rest))

    def recv_multipart(self, flags: int = 0) -> list[bytes]:
        parts = [self.recv(flags)]
        while self.get(zmq.RCVMORE):
            parts.append(self.recv(flags))
        return parts

    def send_multipart(self, parts: list[bytes], flags: int = 0) -> None:
        self.sent.append(list(parts))
