"""A satellite's bus run in its executive's event loop, for the apps hosted there.

Where a satellite's apps run in its executive's process (``app_hosting = "executive"``), a
message from one of them to another need not cross ZeroMQ at all. :class:`LocalBus` takes the
place of the proxy (:class:`common.bus.BusProxy`) for such a satellite: the apps publish to it
and subscribe at it in memory, and it hands each message to every local subscriber whose
prefixes match, in the order published. Processes elsewhere (the simulated hardware, a test
rig, a bench's observer) still reach the bus at its two endpoints, as they reach a proxy: the
bus reads what they publish on an XSUB socket and gives it to the local subscribers, and sends
every message to its XPUB socket when someone outside subscribed to its topic (it reads their
subscriptions there).

What this saves, per message of one app to another: the sending socket, the proxy thread's
receive and send, and each subscriber's socket read, topic check and wake-up. With the proxy,
these were a quarter to a third of a flight process of four satellites at 20x (perf), where a
frame holds two to four packets. 100 satellites at 100x, four to a flight process, run
alternately with the proxy: median stream 94x against 64-70x, 95 % of the reports against
65-72 %.

Loss: a local subscriber holds at most :data:`common.bus.BUS_HWM` messages not yet handled;
beyond that a message is dropped for it, as the proxy drops for a subscriber that does not keep
up, counted in ``dropped`` (its own and the bus's), and found by the receiver's sequence-gap
counters. Its subscriptions are live as soon as they are made: no probe needs to come back.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

import structlog
import zmq

from common.bus import BUS_HWM, Batcher, Message, bind_bus
from common.zmqloop import NOBLOCK, Pacer, Readable, drain, send_parts

#: Topics whose routes are remembered before the memory is cleared: topics come from outside
#: too, and a flood of distinct garbage topics must not grow it without bound.
MAX_ROUTES = 4096
#: Messages a local subscriber handles in one go; more wait for the next loop iteration.
DELIVERY_BATCH = 1000

_log = structlog.get_logger("localbus")

Handler = Callable[[Message], None]
Failed = Callable[[Message, Exception], None]


class LocalSubscriber:
    """Receives from a :class:`LocalBus`: its messages are queued and handed to ``handle``,
    each on its own, on the next loop iteration (a message whose ``handle`` raises goes to
    ``failed``, as with :func:`common.zmqloop.each_message`).

    ``backlogs`` counts the full batches after which messages were still waiting (the app is
    behind), ``dropped`` the messages lost because :data:`BUS_HWM` were waiting already.
    """

    def __init__(self, bus: LocalBus, handle: Handler, failed: Failed,
                 batch: int = DELIVERY_BATCH) -> None:
        self.bus = bus
        self.handle = handle
        self.failed = failed
        self.batch = batch
        self.prefixes: set[bytes] = set()
        self.backlogs = 0
        self.dropped = 0
        self.received = 0
        #: Messages whose ``failed`` raised too (logged).
        self.errors = 0
        self._inbox: deque[Message] = deque()
        self._scheduled = False
        self._closed = False

    def subscribe(self, prefix: bytes) -> None:
        """Receive every topic starting with ``prefix`` (from now on)."""
        self.prefixes.add(prefix)
        self.bus.routes_changed()

    def unsubscribe(self, prefix: bytes) -> None:
        """Stop receiving ``prefix``."""
        self.prefixes.discard(prefix)
        self.bus.routes_changed()

    def wants(self, topic_: bytes) -> bool:
        """Whether a message of ``topic_`` is for this subscriber."""
        return any(topic_.startswith(prefix) for prefix in self.prefixes)

    def put(self, message: Message) -> None:
        """Queue ``message`` for handling on the next loop iteration."""
        if len(self._inbox) >= BUS_HWM:
            self.dropped += 1
            self.bus.dropped += 1
            return
        self._inbox.append(message)
        if not self._scheduled:
            self._scheduled = True
            self.bus.loop.call_soon(self._deliver)

    def _deliver(self) -> None:
        self._scheduled = False
        inbox = self._inbox
        handle = self.handle
        count = 0
        while inbox and count < self.batch and not self._closed:
            message = inbox.popleft()
            count += 1
            try:
                handle(message)
            except Exception as exc:  # one message that cannot be handled must not cost the rest
                try:
                    self.failed(message, exc)
                except Exception:  # nor one whose rejection fails: counted, logged, and on
                    self.errors += 1
                    _log.exception("rejecting a message of the bus in memory failed")
        self.received += count
        if inbox and not self._closed:
            self.backlogs += 1
            self._scheduled = True
            self.bus.loop.call_soon(self._deliver)

    def close(self) -> None:
        """Stop receiving; what is queued is not handled."""
        if not self._closed:
            self._closed = True
            self._inbox.clear()
            self.bus.detach(self)


class LocalPublisher(Batcher):
    """Publishes to a :class:`LocalBus`, batching the packets of each topic sent in one loop
    iteration as :class:`common.bus.Publisher` does. Nothing pushes back: a frame is always
    taken (a subscriber that cannot take it counts its own loss)."""

    def __init__(self, bus: LocalBus) -> None:
        super().__init__(bus.loop)
        self.bus = bus

    def _emit(self, topic_: bytes, payload: bytes, count: int) -> None:
        self.bus.publish((topic_, payload))
        self.frames += 1
        self.packets += count


class LocalBus:
    """One satellite's bus in this process's event loop (see the module's description).

    ``statistics()`` gives the counts the executive reports, as the proxy's do: messages and
    bytes in (published here or outside), messages out (to each local subscriber, and to the
    outside), and ``dropped``.
    """

    def __init__(self, context: zmq.Context[Any], bus_in: str, bus_out: str,
                 pacer: Pacer | None = None) -> None:
        self.context = context
        self.bus_in = bus_in
        self.bus_out = bus_out
        self.pacer = pacer
        self.loop = asyncio.get_running_loop()
        self.in_msgs = 0
        self.in_bytes = 0
        self.out_msgs = 0
        self.out_bytes = 0
        self.dropped = 0
        self._subscribers: list[LocalSubscriber] = []
        self._routes: dict[bytes, tuple[LocalSubscriber, ...]] = {}
        #: Prefixes subscribed from outside (XPUB passes a prefix's first subscription and the
        #: end of its last), and whether a topic has someone outside, by topic.
        self._remote: set[bytes] = set()
        self._remote_routes: dict[bytes, bool] = {}
        self._inside: zmq.Socket[Any] | None = None
        self._outside: zmq.Socket[Any] | None = None
        self._readers: list[Readable] = []
        #: The reader of the outside's subscriptions, and whether it is to be looked at once
        #: the sends of this loop iteration are done (see :meth:`_sent_outside`).
        self._subscriptions: Readable | None = None
        self._look_after_sends = False

    def start(self) -> None:
        """Bind both endpoints and start serving them (raises ``zmq.ZMQError`` if one cannot
        be bound)."""
        inside, outside = bind_bus(self.context, self.bus_in, self.bus_out)
        inside.send(b"\x01")  # everything published outside is for someone here
        self._inside, self._outside = inside, outside
        self._subscriptions = Readable(outside, self._read_subscriptions, self.loop,
                                       pacer=self.pacer)
        self._readers = [self._subscriptions,
                         Readable(inside, self._read_published, self.loop, pacer=self.pacer)]

    # --- routing ---------------------------------------------------------------------------------

    def subscriber(self, handle: Handler, failed: Failed,
                   batch: int = DELIVERY_BATCH) -> LocalSubscriber:
        """A new subscriber here, with no subscription yet."""
        subscriber = LocalSubscriber(self, handle, failed, batch)
        self._subscribers.append(subscriber)
        return subscriber

    def publisher(self) -> LocalPublisher:
        """A new publisher here."""
        return LocalPublisher(self)

    def routes_changed(self) -> None:
        """A local subscription changed: work out every topic's subscribers afresh."""
        self._routes.clear()

    def detach(self, subscriber: LocalSubscriber) -> None:
        """``subscriber`` is closed: it receives nothing more."""
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)
        self._routes.clear()

    def _local_route(self, topic_: bytes) -> tuple[LocalSubscriber, ...]:
        route = tuple(sub for sub in self._subscribers if sub.wants(topic_))
        if len(self._routes) >= MAX_ROUTES:
            self._routes.clear()
        self._routes[topic_] = route
        return route

    def _remote_route(self, topic_: bytes) -> bool:
        wanted = any(topic_.startswith(prefix) for prefix in self._remote)
        if len(self._remote_routes) >= MAX_ROUTES:
            self._remote_routes.clear()
        self._remote_routes[topic_] = wanted
        return wanted

    def publish(self, message: Message) -> None:
        """Hand ``message`` (``(topic, payload)``) to every subscriber of its topic, here and
        outside. A message from outside comes here too: it is not read again, and goes back
        out only to whoever subscribed to it there."""
        topic_ = message[0]
        size = 0
        for part in message:
            size += len(part)
        self.in_msgs += 1
        self.in_bytes += size
        route = self._routes.get(topic_)
        if route is None:
            route = self._local_route(topic_)
        for subscriber in route:
            subscriber.put(message)
        delivered = len(route)
        wanted = self._remote_routes.get(topic_)
        if wanted is None:
            wanted = self._remote_route(topic_)
        if wanted and self._outside is not None:
            # XPUB never pushes back: a subscriber outside that does not keep up loses
            # messages in ZeroMQ, and finds them with its gap counters (as at a proxy).
            send_parts(self._outside, message, NOBLOCK)
            delivered += 1
            if not self._look_after_sends:
                self._look_after_sends = True
                self.loop.call_soon(self._sent_outside)
        self.out_msgs += delivered
        self.out_bytes += size * delivered

    # --- the outside -----------------------------------------------------------------------------

    def _sent_outside(self) -> None:
        """A send on the XPUB socket can take the edge of its descriptor that says a
        subscription arrived (:meth:`common.zmqloop.Readable.sent`): after the sends of a loop
        iteration, the socket is looked at once, or a subscription might never be read."""
        self._look_after_sends = False
        if self._subscriptions is not None:
            self._subscriptions.sent()

    def _read_published(self) -> bool:
        """Messages published outside: for the subscribers here and outside."""
        assert self._inside is not None
        batch = drain(self._inside, DELIVERY_BATCH)
        for message in batch:
            self.publish(tuple(message))
        return len(batch) >= DELIVERY_BATCH

    def _read_subscriptions(self) -> bool:
        """Subscriptions made and ended outside."""
        assert self._outside is not None
        batch = drain(self._outside, DELIVERY_BATCH)
        for message in batch:
            frame = message[0]
            if not frame or frame[0] not in (0, 1):
                continue  # XPUB passes up messages other than subscriptions too: not ours
            if frame[0] == 1:
                self._remote.add(frame[1:])
            else:
                self._remote.discard(frame[1:])
            self._remote_routes.clear()
        return len(batch) >= DELIVERY_BATCH

    @property
    def subscribed_outside(self) -> frozenset[bytes]:
        """The prefixes someone outside subscribes to now (as far as this bus has read)."""
        return frozenset(self._remote)

    def statistics(self) -> dict[str, int]:
        """Messages and bytes in and out since the bus started, and those dropped."""
        return {"in_msgs": self.in_msgs, "in_bytes": self.in_bytes,
                "out_msgs": self.out_msgs, "out_bytes": self.out_bytes,
                "dropped": self.dropped}

    def stop(self) -> None:
        """Stop serving the outside and close both endpoints; local subscribers get nothing
        more."""
        for reader in self._readers:
            reader.close()
        self._readers = []
        self._subscriptions = None
        for sock in (self._inside, self._outside):
            if sock is not None:
                sock.close(0)
        self._inside = self._outside = None
        for subscriber in list(self._subscribers):
            subscriber.close()
