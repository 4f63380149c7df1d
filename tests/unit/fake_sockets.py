"""A stand-in for a ZeroMQ socket in unit tests."""

from __future__ import annotations

import uuid
from typing import NamedTuple

import zmq


class Frame(NamedTuple):
    """What ``recv(copy=False)`` gives: a part and whether more parts follow it."""

    bytes: bytes
    more: bool


class QueuedSocket:
    """Multipart messages waiting to be read, served part by part as frames that say whether
    more parts follow, as ZeroMQ's ``recv(copy=False)`` does (``common.zmqloop`` reads so)."""

    def __init__(self, waiting: list[list[bytes]] | None = None) -> None:
        self.waiting: list[list[bytes]] = list(waiting or [])
        self._rest: list[bytes] = []

    def recv(self, flags: int = 0, copy: bool = True) -> bytes | Frame:
        if not self._rest:
            if not self.waiting:
                raise zmq.Again()
            self._rest = list(self.waiting.pop(0))
        part = self._rest.pop(0)
        return part if copy else Frame(part, bool(self._rest))


class RecordingSocket(zmq.Socket):  # type: ignore[type-arg]
    """A real ZeroMQ socket, one end of an in-memory pair, that keeps what was sent on it
    (``sent``): for code that sends through pyzmq's C methods, which take no stand-in."""

    peer: zmq.Socket[bytes] | None = None
    kept: list[list[bytes]] | None = None

    @property
    def sent(self) -> list[list[bytes]]:
        """Every message sent so far, in order."""
        assert self.peer is not None and self.kept is not None
        while True:
            try:
                self.kept.append(self.peer.recv_multipart(zmq.NOBLOCK))
            except zmq.Again:
                return self.kept


def recording_socket() -> RecordingSocket:
    """A :class:`RecordingSocket` (unbounded: a test reads back when it likes)."""
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    address = f"inproc://recording-{uuid.uuid4().hex}"
    peer = context.socket(zmq.PAIR)
    sock = context.socket(zmq.PAIR, socket_class=RecordingSocket)
    assert isinstance(sock, RecordingSocket)
    for end in (peer, sock):
        end.setsockopt(zmq.LINGER, 0)
        end.setsockopt(zmq.SNDHWM, 0)
        end.setsockopt(zmq.RCVHWM, 0)
    peer.bind(address)
    sock.connect(address)
    sock.peer, sock.kept = peer, []
    return sock


def sent_on(socket: object) -> list[list[bytes]]:
    """What was sent on a :func:`recording_socket`."""
    assert isinstance(socket, RecordingSocket), socket
    return socket.sent
