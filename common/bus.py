"""The satellite software bus: a ZeroMQ XSUB/XPUB proxy and the sockets apps use on it.

Messages are two frames, ``[topic, payload]``. The topic names the satellite, the kind and the
APID, so that a subscriber filters by prefix: ``SAT-01/TM/020`` (telemetry of APID 0x020),
``SAT-01/TC/040`` (telecommands to APID 0x040), ``SAT-01/CTL/...`` (process control:
readiness probes, heartbeats, retransmission requests; msgpack), ``SAT-01/PB/020`` (recorder
playback) and ``SAT-01/RT/020`` (telemetry sent again to the recorder to fill a gap).

A packet payload is one or more whole space packets concatenated: publishing batches every
packet of a topic sent in one loop iteration into one frame (measured 7–9× cheaper than a
message per packet), and packets carry their own length.

Loss: publishers use XPUB with ``XPUB_NODROP``, so a full pipe is an error we see, not a silent
drop: the frame is kept and retried, and only counted as dropped when the backlog bound is
exceeded. The proxy drops for a subscriber that does not keep up (one stopped app must not
freeze the satellite), and receivers find those drops with per-APID sequence-gap counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import msgpack
import zmq

from common.zmqloop import NOBLOCK, drain, send_parts

#: A bus message as a receiver is given it: its frames, ``[topic, payload]`` (a list from a
#: socket, a tuple from the bus in memory: a tuple of bytes is not the garbage collector's to
#: walk, and a subscriber behind may hold thousands).
Message = Sequence[bytes]

TM = "TM"
TC = "TC"
CTL = "CTL"
#: Recorder playback: recorded telemetry sent again (downlinked on the playback channel).
PB = "PB"
#: Retransmission of telemetry an app still holds, asked for by the recorder to fill a gap.
RT = "RT"
#: An onboard telecommand (from one app to another), sent to the executive, which puts it on
#: the bus as TC once its app is there to read it (flight.executive.gate).
ONBOARD = "OTC"
KINDS = (TM, TC, CTL, PB, RT, ONBOARD)

#: Bus messages queued per socket before ZeroMQ pushes back (publisher) or drops (subscriber).
BUS_HWM = 20_000
#: Frames a publisher keeps while the bus pushes back, before counting drops.
MAX_BACKLOG_FRAMES = 50_000
#: A batch is sent as soon as it reaches this many bytes.
MAX_BATCH_BYTES = 64 * 1024
#: Wall seconds a proxy statistics answer is reused: each question is a blocking round trip to
#: the proxy thread, and housekeeping at 1 Hz and 1000× would ask a thousand times a second.
STATISTICS_MAX_AGE_WALL_S = 1.0


def topic(satellite: str, kind: str, apid: int | None = None, *rest: str) -> bytes:
    """``SAT/KIND/APID[/...]`` as bytes; with no APID, the prefix of every APID of that kind.

    >>> topic("SAT-01", TM, 0x20), topic("SAT-01", TC), topic("SAT-01", CTL, None, "HB", "HK")
    (b'SAT-01/TM/020', b'SAT-01/TC/', b'SAT-01/CTL/HB/HK')
    """
    if kind == CTL:
        return "/".join((satellite, kind, *rest)).encode()
    if apid is None:
        return f"{satellite}/{kind}/".encode()
    return f"{satellite}/{kind}/{apid:03X}".encode()


class Topic(NamedTuple):
    """A parsed topic."""

    satellite: str
    kind: str
    apid: int | None
    rest: tuple[str, ...]


def parse_topic(raw: bytes) -> Topic:
    """Split a topic; raises ValueError for anything that is not one of ours."""
    parts = raw.decode("ascii").split("/")
    if len(parts) < 3 or parts[1] not in KINDS or not parts[0]:
        raise ValueError(f"not a bus topic: {raw!r}")
    if parts[1] == CTL:
        return Topic(parts[0], CTL, None, tuple(parts[2:]))
    if len(parts) != 3 or len(parts[2]) != 3:
        raise ValueError(f"not a bus topic: {raw!r}")
    return Topic(parts[0], parts[1], int(parts[2], 16), ())


# --- the proxy (owned by the executive) ----------------------------------------------------------


def bind_bus(context: zmq.Context[Any], bus_in: str,
             bus_out: str) -> tuple[zmq.Socket[Any], zmq.Socket[Any]]:
    """A satellite bus's two sides, bound: the XSUB that publishers connect to and the XPUB
    that subscribers connect to, with their high-water marks; raises ``zmq.ZMQError`` (with
    both closed) when one cannot be bound."""
    frontend = context.socket(zmq.XSUB)
    backend = context.socket(zmq.XPUB)
    try:
        for sock in (frontend, backend):
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.SNDHWM, BUS_HWM)
            sock.setsockopt(zmq.RCVHWM, BUS_HWM)
        frontend.bind(bus_in)
        backend.bind(bus_out)
    except zmq.ZMQError:
        # An endpoint bound is released now: closing alone releases an inproc name later,
        # in the context's own thread, and the name can be refused to the next to bind it.
        for sock in (frontend, backend):
            bound = sock.getsockopt(zmq.LAST_ENDPOINT)
            if bound:
                with contextlib.suppress(zmq.ZMQError):
                    sock.unbind(bound)
            sock.close(0)
        raise
    return frontend, backend


class BusProxy:
    """The XSUB/XPUB proxy of one satellite, running ZeroMQ's C loop in a thread (where the
    satellite's apps run in its executive's process, :class:`common.localbus.LocalBus` takes
    its place).

    ``statistics()`` asks the steerable proxy for its message and byte counts (at most every
    ``STATISTICS_MAX_AGE_WALL_S``; in between, the last answer).
    """

    def __init__(self, context: zmq.Context[Any], bus_in: str, bus_out: str) -> None:
        self.context = context
        self.bus_in = bus_in
        self.bus_out = bus_out
        self._control_address = f"inproc://bus-control-{uuid.uuid4().hex}"
        self._proxy_thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._statistics: dict[str, int] = {}
        self._statistics_at = -float("inf")

    def start(self) -> None:
        """Bind both sides and start forwarding (returns once bound)."""
        self._proxy_thread = threading.Thread(target=self._run, name="bus-proxy", daemon=True)
        self._proxy_thread.start()
        self._ready.wait(10.0)
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        sockets: list[zmq.Socket[Any]] = []
        try:
            frontend, backend = bind_bus(self.context, self.bus_in, self.bus_out)
            sockets += (frontend, backend)
            control = self.context.socket(zmq.REP)
            sockets.append(control)
            control.bind(self._control_address)
        except zmq.ZMQError as exc:
            self._error = exc
            self._ready.set()
            for sock in sockets:
                sock.close(0)
            return
        self._ready.set()
        try:
            zmq.proxy_steerable(frontend, backend, None, control)
        except zmq.ContextTerminated:
            pass
        finally:
            for sock in (frontend, backend, control):
                sock.close(0)

    def _ask(self, command: bytes) -> list[bytes]:
        sock = self.context.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, 2000)
        sock.connect(self._control_address)
        try:
            sock.send(command)
            return sock.recv_multipart()
        finally:
            sock.close(0)

    def statistics(self) -> dict[str, int]:
        """Messages and bytes in and out of each side since the proxy started."""
        import struct

        now = time.monotonic()
        if now - self._statistics_at < STATISTICS_MAX_AGE_WALL_S:
            return dict(self._statistics)
        frames = self._ask(b"STATISTICS")
        keys = ("in_msgs", "in_bytes", "out_msgs", "out_bytes",
                "back_in_msgs", "back_in_bytes", "back_out_msgs", "back_out_bytes")
        values = (struct.unpack("=Q", frame)[0] for frame in frames)
        self._statistics = dict(zip(keys, values, strict=False))
        self._statistics_at = now
        return dict(self._statistics)

    def stop(self) -> None:
        """Stop forwarding and close both sides."""
        if self._proxy_thread is None or not self._proxy_thread.is_alive():
            return
        with contextlib.suppress(zmq.ZMQError):
            self._ask(b"TERMINATE")
        self._proxy_thread.join(5.0)


# --- what apps use -------------------------------------------------------------------------------


class PublisherPort(Protocol):
    """What an app publishes through: a :class:`Publisher`, a
    :class:`common.localbus.LocalPublisher`, or a test's stand-in that keeps what it is
    given."""

    @property
    def dropped(self) -> int:
        """Packets lost because the backlog bound was exceeded."""

    def send(self, topic_: bytes, packet: bytes) -> None:
        """Queue one packet for ``topic_``."""

    def send_control(self, topic_: bytes, message: Any) -> None:
        """Send a msgpack control message."""

    def flush(self) -> None:
        """Send every queued batch."""

    def close(self) -> None:
        """Send what is queued and close."""


class SubscriberPort(Protocol):
    """What an app receives with: a :class:`Subscriber`, a
    :class:`common.localbus.LocalSubscriber`, or a test's stand-in."""

    def subscribe(self, prefix: bytes) -> None:
        """Receive every topic starting with ``prefix``."""

    def unsubscribe(self, prefix: bytes) -> None:
        """Stop receiving ``prefix``."""

    def close(self) -> None:
        """Stop receiving."""


class Batcher:
    """What every publisher does: batch the packets of each topic sent in one loop iteration
    into one frame. Where the frames go is the subclass's ``_emit``.

    Counters: ``frames`` and ``packets`` sent, ``dropped`` packets lost.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop
        self._batches: dict[bytes, list[bytes]] = {}
        self._batch_bytes: dict[bytes, int] = {}
        self._flush_scheduled = False
        self.frames = 0
        self.packets = 0
        self.dropped = 0

    def send(self, topic_: bytes, packet: bytes) -> None:
        """Queue one packet for ``topic_``; sent at the end of this loop iteration."""
        batch = self._batches.get(topic_)
        if batch is None:
            batch = self._batches[topic_] = []
            self._batch_bytes[topic_] = 0
        batch.append(packet)
        self._batch_bytes[topic_] += len(packet)
        if self._batch_bytes[topic_] >= MAX_BATCH_BYTES:
            self._emit(topic_, b"".join(batch), len(batch))
            del self._batches[topic_], self._batch_bytes[topic_]
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            loop = self.loop or asyncio.get_running_loop()
            loop.call_soon(self.flush)

    def send_control(self, topic_: bytes, message: Any) -> None:
        """Send a msgpack control message now (after what is already queued)."""
        self.flush()
        self._emit(topic_, msgpack.packb(message), 0)

    def flush(self) -> None:
        """Send every queued batch."""
        self._flush_scheduled = False
        batches, self._batches, self._batch_bytes = self._batches, {}, {}
        for topic_, packets in batches.items():
            self._emit(topic_, b"".join(packets), len(packets))

    def _emit(self, topic_: bytes, payload: bytes, count: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Send what is queued."""
        self.flush()


class Publisher(Batcher):
    """Publishes to the bus over ZeroMQ, batching the packets of each topic sent in one loop
    iteration.

    Besides :class:`Batcher`'s counters: ``backlog`` frames waiting because the bus pushed
    back; ``dropped`` counts the packets lost because the backlog bound was exceeded.
    """

    def __init__(self, context: zmq.Context[Any], endpoint: str,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(loop)
        self.socket = context.socket(zmq.XPUB)
        self.socket.setsockopt(zmq.LINGER, 1000)
        self.socket.setsockopt(zmq.SNDHWM, BUS_HWM)
        self.socket.setsockopt(zmq.XPUB_NODROP, 1)
        self.socket.connect(endpoint)
        self._backlog: deque[tuple[bytes, bytes, int]] = deque()
        self._retry: asyncio.TimerHandle | None = None

    @property
    def backlog(self) -> int:
        """Frames waiting for the bus to accept them."""
        return len(self._backlog)

    def _emit(self, topic_: bytes, payload: bytes, count: int) -> None:
        if self._backlog:
            self._queue(topic_, payload, count)
            self._drain_backlog()
            return
        try:
            send_parts(self.socket, (topic_, payload), NOBLOCK)
        except zmq.Again:
            self._queue(topic_, payload, count)
            self._schedule_retry()
            return
        self.frames += 1
        self.packets += count

    def _queue(self, topic_: bytes, payload: bytes, count: int) -> None:
        if len(self._backlog) >= MAX_BACKLOG_FRAMES:
            self.dropped += self._backlog.popleft()[2]
        self._backlog.append((topic_, payload, count))

    def _drain_backlog(self) -> None:
        self._retry = None
        while self._backlog:
            topic_, payload, count = self._backlog[0]
            try:
                send_parts(self.socket, (topic_, payload), NOBLOCK)
            except zmq.Again:
                self._schedule_retry()
                return
            self._backlog.popleft()
            self.frames += 1
            self.packets += count

    def _schedule_retry(self) -> None:
        if self._retry is None:
            loop = self.loop or asyncio.get_running_loop()
            self._retry = loop.call_later(0.001, self._drain_backlog)

    def close(self) -> None:
        """Send what is queued (within the linger time) and close."""
        self.flush()
        self._drain_backlog()
        if self._retry is not None:
            self._retry.cancel()
        self.socket.close()


class Subscriber:
    """Receives from the bus: a SUB socket subscribed to topic prefixes."""

    def __init__(self, context: zmq.Context[Any], endpoint: str) -> None:
        self.socket = context.socket(zmq.SUB)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVHWM, BUS_HWM)
        self.socket.connect(endpoint)
        self.prefixes: set[bytes] = set()

    def subscribe(self, prefix: bytes) -> None:
        """Receive every topic starting with ``prefix``."""
        self.socket.setsockopt(zmq.SUBSCRIBE, prefix)
        self.prefixes.add(prefix)

    def unsubscribe(self, prefix: bytes) -> None:
        """Stop receiving ``prefix``."""
        self.socket.setsockopt(zmq.UNSUBSCRIBE, prefix)
        self.prefixes.discard(prefix)

    def close(self) -> None:
        """Close the socket."""
        self.socket.close(0)


async def prove_live(publisher: Publisher, subscriber: Subscriber, satellite: str, name: str,
                     timeout_wall_s: float, held: list[list[bytes]]) -> float:
    """Publish a probe to ourselves through the proxy until it comes back.

    Receiving it proves the publisher's connection and every subscription made before it are
    live (ZeroMQ keeps a connection's subscriptions in order). Other messages that arrive
    meanwhile are appended to ``held`` for the caller to process. Returns the wall seconds it
    took; raises TimeoutError naming the bus when it does not come back.
    """
    loop = asyncio.get_running_loop()
    probe = topic(satellite, CTL, None, "PROBE", name, uuid.uuid4().hex)
    subscriber.subscribe(probe)
    start = loop.time()
    poller = zmq.Poller()
    poller.register(subscriber.socket, zmq.POLLIN)
    try:
        while loop.time() - start < timeout_wall_s:
            publisher.send_control(probe, {"probe": name})
            deadline = loop.time() + 0.02
            while (remaining := deadline - loop.time()) > 0:
                # A short blocking poll: the app is not running yet, nothing else to serve.
                if poller.poll(int(remaining * 1000) + 1):
                    for message in drain(subscriber.socket):
                        if message[0] == probe:
                            return loop.time() - start
                        held.append(message)
                await asyncio.sleep(0)
        raise TimeoutError(f"bus of {satellite} did not echo {name}'s probe within "
                           f"{timeout_wall_s} s")
    finally:
        subscriber.unsubscribe(probe)
