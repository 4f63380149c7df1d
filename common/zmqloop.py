"""ZeroMQ sockets in an asyncio loop: await readiness once, then drain without awaiting.

Measured here: awaiting ``recv()`` per message ran at ~72 k msg/s; waking on the socket's file
descriptor and draining with ``NOBLOCK`` until empty, ~1.4 M msg/s. ZeroMQ's descriptor is
edge-triggered: it only says "something changed", so after every wake the socket's ``EVENTS``
are checked until no input is left. Any call on the socket can consume that edge, a send
too: a process that sends on a watched socket outside its handler (a request whose reply the
socket will read) must then call :meth:`Readable.sent`, or a reply already in the pipe may
never wake it (measured: a dealer with 16 requests in flight left 9,008 of 32,000 replies
unread without the check, none with it).

Each wake-up of a process costs far more than the messages it then reads (~125 µs of CPU for
the loop, the ZeroMQ I/O threads and the kernel), so a socket under a steady flow can be
*paced* by the process's clock: input that arrives within the clock's resolution of its last
wake is read at the next one, with whatever else has arrived by then and the timers then due.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import structlog
import zmq

_log = structlog.get_logger("zmqloop")

#: pyzmq's flags and options as plain ints. Its own constants are enum members: ``x & POLLIN``
#: with an int on the left calls the flag's interpreted ``__rand__`` first (~0.6 µs, against
#: ~0.01 µs for two ints), and ``flags | SNDMORE`` its ``__or__``. Hot paths use these. (A
#: socket's ``get`` makes an enum member of whatever option it is given, in interpreted code:
#: ~0.7-1 µs a call, which is why a receive does not ask for ``RCVMORE``.)
NOBLOCK = int(zmq.NOBLOCK)
SNDMORE = int(zmq.SNDMORE)
POLLIN = int(zmq.POLLIN)
EVENTS = int(zmq.EVENTS)


class Pacer(Protocol):
    """What paces a socket (:class:`common.clock.SimClock`)."""

    def pace(self) -> float:
        """Loop time before which the next batch waits."""

    def woke(self, loop_time: float) -> None:
        """A batch was read at ``loop_time``."""


class Readable:
    """Call ``handler()`` whenever ``socket`` has input; the handler drains a batch with NOBLOCK.

    If input remains after a batch, the next batch runs on the next loop iteration, so one busy
    socket cannot starve the rest of the process. A handler that raises is counted in
    ``errors``, logged and given to ``on_error`` (to count and report it where the process
    reports its rejections); the socket goes on being served. Handlers that drain many
    messages should handle each on its own, with :func:`each_message`, so that one bad message
    does not cost the rest of its batch.

    With a ``pacer``, input that wakes the socket waits until ``pacer.pace()``; meanwhile the
    descriptor is not watched (it would wake the loop for nothing) and ``parked`` counts the
    waits. After a batch, a paced socket is simply looked at again at the next pace
    (``polled`` counts these looks), until one finds it quiet: a steady flow then costs no
    wake-up of its own. A backlog left by a full batch is read on the next iteration, paced
    or not.
    """

    def __init__(self, socket: zmq.Socket[Any], handler: Callable[[], bool | None],
                 loop: asyncio.AbstractEventLoop | None = None,
                 on_error: Callable[[Exception], None] | None = None,
                 pacer: Pacer | None = None) -> None:
        self.socket = socket
        self.handler = handler
        self.on_error = on_error
        self.pacer = pacer
        self.loop = loop or asyncio.get_running_loop()
        self._fd = int(socket.getsockopt(zmq.FD))
        self._scheduled = False
        self._closed = False
        self._watching = True
        self.errors = 0
        #: Times the socket was woken: its descriptor fired, or input was found waiting.
        self.woken = 0
        self.parked = 0
        self.polled = 0
        #: Full batches (a handler that returns True took as many messages as it may) after
        #: which input was still waiting: the reader is behind.
        self.backlogs = 0
        self.loop.add_reader(self._fd, self._wake)
        self._wake()  # input may already be waiting: the edge came before we listened

    def _wake(self) -> None:
        self.woken += 1
        if self._scheduled or self._closed:
            return
        self._scheduled = True
        if self.pacer is not None:
            at = self.pacer.pace()
            if at > self.loop.time():
                if self._watching:
                    self.loop.remove_reader(self._fd)
                    self._watching = False
                self.parked += 1
                self.loop.call_at(at, self._check)
                return
        self.loop.call_soon(self._check)

    def _check(self) -> None:
        self._scheduled = False
        if self._closed:
            return
        if not int(self.socket.getsockopt(EVENTS)) & POLLIN:
            if not self._watching:  # quiet now: back to waking when input comes
                self._watching = True
                self.loop.add_reader(self._fd, self._wake)
                # Input that came before the reader was added, its edge taken by EVENTS.
                if int(self.socket.getsockopt(EVENTS)) & POLLIN:
                    self._wake()
            return
        if self.pacer is not None:
            self.pacer.woke(self.loop.time())
        full = False
        try:
            full = self.handler() is True
        except Exception as exc:  # one bad batch must not stop this socket being served
            self.errors += 1
            _log.exception("handler of a readable socket failed")
            if self.on_error is not None:
                with contextlib.suppress(Exception):
                    self.on_error(exc)
        if int(self.socket.getsockopt(EVENTS)) & POLLIN:
            # A backlog (the batch was full): the next batch on the next iteration, paced
            # or not, or the sender's queue would overflow. The pace spaces out wakes for
            # new input, not the reading of what is already here. (Reading EVENTS took the
            # edge: new input after this raises a new one.)
            if full:
                self.backlogs += 1
            self._scheduled = True
            self.loop.call_soon(self._check)
        elif self.pacer is not None:
            # A paced socket that had input is looked at again at the next pace, without
            # waking for each arrival meanwhile: under a steady flow it costs no wake-up of
            # its own (it shares the one the timers and the other paced sockets make), and
            # it goes back to waking on input the first time it is found quiet.
            if self._watching:
                self.loop.remove_reader(self._fd)
                self._watching = False
            self._scheduled = True
            self.polled += 1
            self.loop.call_at(self.pacer.pace(), self._check)

    def pending(self) -> bool:
        """True if input is waiting to be handled. Reading ``EVENTS`` may consume the
        descriptor's edge, so a socket found with input is scheduled to be served here."""
        if self._closed or not int(self.socket.getsockopt(EVENTS)) & POLLIN:
            return False
        self._wake()
        return True

    def sent(self) -> None:
        """Call after sending on the socket outside its handler. A send processes the socket's
        queued commands, among them the arrival of input, and with it takes the descriptor's
        edge; no new edge comes while that input is unread, so it is looked for here."""
        self.pending()

    def close(self) -> None:
        """Stop watching (the socket itself stays open)."""
        if not self._closed:
            self._closed = True
            if self._watching:
                self.loop.remove_reader(self._fd)


#: pyzmq's own C method for sending. Its ``send`` and ``send_multipart`` are Python wrappers
#: around it (type checks, routing IDs, a loop over the parts): interpreted frames for every
#: message a compiled caller sends; ``recv_multipart`` likewise around ``recv`` (which is the
#: C method itself). Together ~5 % of a flight process's CPU at 1000x (perf, 4 satellites in
#: one process).
_SEND = zmq.backend.Socket.send


def send_parts(socket: zmq.Socket[Any], parts: Sequence[bytes], flags: int = 0) -> None:
    """``socket.send_multipart(parts, flags)`` for a real ZeroMQ socket: raises ``zmq.Again``
    as it does, before any part is taken (ZeroMQ takes a multipart message whole or not at
    all: its high-water mark counts whole messages)."""
    last = len(parts) - 1
    for index, part in enumerate(parts):
        _SEND(socket, part, flags | SNDMORE if index < last else flags)


def recv_parts(socket: zmq.Socket[Any], flags: int = 0) -> list[bytes]:
    """``socket.recv_multipart(flags)``: each part is read as a frame, which carries whether
    more follow. Asking the socket for ``RCVMORE`` instead makes pyzmq build an enum member in
    interpreted code (~0.7 µs a part): a two-part message took 1.8 µs, 1.1 µs like this."""
    recv = socket.recv
    frame = recv(flags, copy=False)
    parts: list[bytes] = [frame.bytes]
    while frame.more:
        frame = recv(flags, copy=False)
        parts.append(frame.bytes)
    return parts


def drain(socket: zmq.Socket[Any], limit: int = 1000) -> list[list[bytes]]:
    """Up to ``limit`` waiting multipart messages, without blocking."""
    out: list[list[bytes]] = []
    try:
        while len(out) < limit:
            out.append(recv_parts(socket, NOBLOCK))
    except zmq.Again:
        pass
    return out


def each_message(socket: zmq.Socket[Any], handle: Callable[[list[bytes]], None],
                 failed: Callable[[list[bytes], Exception], None],
                 limit: int = 1000) -> Callable[[], bool]:
    """A :class:`Readable` handler that drains up to ``limit`` messages and handles each on its
    own: a message whose ``handle`` raises goes to ``failed(message, exc)`` (to be counted and
    reported as rejected), and the rest of the batch is handled as if it had not been there.
    It returns True when the batch was full (``limit`` messages), for :attr:`Readable.backlogs`.
    """

    def drain_batch() -> bool:
        batch = drain(socket, limit)
        for message in batch:
            try:
                handle(message)
            except Exception as exc:
                failed(message, exc)
        return len(batch) >= limit  # full: what is still waiting is a backlog

    return drain_batch
