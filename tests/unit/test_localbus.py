"""The bus in memory (common.localbus): delivery by prefix and in order, the outside reached at
both endpoints, and every loss counted. Real ZeroMQ sockets on ipc endpoints for the outside."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from common import bus
from common.localbus import LocalBus
from common.zmqloop import NOBLOCK, recv_parts
from tests.waiting import until

SAT = "SAT-01"


class Inbox:
    """What a local subscriber was handed, and what it failed on."""

    def __init__(self, fail_on: bytes | None = None) -> None:
        self.messages: list[bus.Message] = []
        self.failed: list[tuple[bus.Message, str]] = []
        self.fail_on = fail_on

    def handle(self, message: bus.Message) -> None:
        if self.fail_on is not None and message[-1] == self.fail_on:
            raise ValueError("cannot handle this one")
        self.messages.append(message)

    def fail(self, message: bus.Message, exc: Exception) -> None:
        self.failed.append((message, str(exc)))


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[tuple[LocalBus, zmq.Context[Any]]]:
    context: zmq.Context[Any] = zmq.Context()
    hub = LocalBus(context, f"ipc://{tmp_path}/in", f"ipc://{tmp_path}/out")
    hub.start()
    try:
        yield hub, context
    finally:
        hub.stop()
        context.destroy(0)


async def test_local_subscribers_get_their_prefixes_in_the_order_published(local) -> None:
    hub, _context = local
    housekeeping, fault, other = Inbox(), Inbox(), Inbox()
    sub_hk = hub.subscriber(housekeeping.handle, housekeeping.fail)
    sub_hk.subscribe(bus.topic(SAT, bus.TM))
    sub_fp = hub.subscriber(fault.handle, fault.fail)
    sub_fp.subscribe(bus.topic(SAT, bus.TM, 0x20))
    hub.subscriber(other.handle, other.fail).subscribe(bus.topic(SAT, bus.TC))
    publisher = hub.publisher()
    for number in range(5):
        publisher.send(bus.topic(SAT, bus.TM, 0x20), b"a%d" % number)
        publisher.send(bus.topic(SAT, bus.TM, 0x30), b"b%d" % number)
    assert housekeeping.messages == []  # handed over on a later loop iteration, not inside send
    await until(lambda: len(housekeeping.messages) == 2)
    # One frame per topic and loop iteration, the packets of a topic in the order sent.
    assert housekeeping.messages == [(bus.topic(SAT, bus.TM, 0x20), b"a0a1a2a3a4"),
                                     (bus.topic(SAT, bus.TM, 0x30), b"b0b1b2b3b4")]
    assert fault.messages == [(bus.topic(SAT, bus.TM, 0x20), b"a0a1a2a3a4")]
    assert other.messages == []
    assert (publisher.frames, publisher.packets, publisher.dropped) == (2, 10, 0)
    stats = hub.statistics()
    assert stats["in_msgs"] == 2 and stats["out_msgs"] == 3 and stats["dropped"] == 0

    sub_fp.unsubscribe(bus.topic(SAT, bus.TM, 0x20))
    sub_hk.close()
    publisher.send(bus.topic(SAT, bus.TM, 0x20), b"late")
    publisher.flush()
    # A marker published after it: once it is handed over, "late" would have been too.
    hub.publish((bus.topic(SAT, bus.TC, 0x20), b"marker"))
    await until(lambda: len(other.messages) == 1)
    assert len(housekeeping.messages) == 2 and len(fault.messages) == 1


async def test_one_message_that_fails_is_reported_and_the_rest_are_handled(local) -> None:
    hub, _context = local
    inbox = Inbox(fail_on=b"bad")
    hub.subscriber(inbox.handle, inbox.fail).subscribe(bus.topic(SAT, bus.CTL, None, ""))
    for payload in (b"one", b"bad", b"three"):
        hub.publish((bus.topic(SAT, bus.CTL, None, "X"), payload))
    await until(lambda: len(inbox.messages) == 2)
    assert [m[1] for m in inbox.messages] == [b"one", b"three"]
    assert inbox.failed == [((bus.topic(SAT, bus.CTL, None, "X"), b"bad"),
                             "cannot handle this one")]


async def test_a_subscriber_behind_counts_backlogs_and_beyond_the_high_water_mark_drops(
        local) -> None:
    hub, _context = local
    inbox = Inbox()
    subscriber = hub.subscriber(inbox.handle, inbox.fail, batch=100)
    subscriber.subscribe(bus.topic(SAT, bus.TM))
    message = (bus.topic(SAT, bus.TM, 0x20), b"x")
    for _ in range(bus.BUS_HWM + 7):  # all before the loop runs once: nothing handled yet
        hub.publish(message)
    assert subscriber.dropped == 7 and hub.statistics()["dropped"] == 7
    await until(lambda: len(inbox.messages) == bus.BUS_HWM)
    # 100 at a time, the loop's other work served in between; each full batch with more
    # waiting behind it is a backlog.
    assert subscriber.backlogs == bus.BUS_HWM // 100 - 1
    assert subscriber.received == bus.BUS_HWM


async def test_the_outside_publishes_into_the_bus_and_receives_what_it_subscribed_to(
        local, tmp_path: Path) -> None:
    hub, context = local
    inbox = Inbox()
    hub.subscriber(inbox.handle, inbox.fail).subscribe(bus.topic(SAT, bus.TM))
    outside_pub = bus.Publisher(context, f"ipc://{tmp_path}/in")
    outside_sub = bus.Subscriber(context, f"ipc://{tmp_path}/out")
    try:
        # The outside proves its subscription live as an app on a proxy does: its probe goes
        # in, through the bus, and back out to it.
        held: list[list[bytes]] = []
        await bus.prove_live(outside_pub, outside_sub, SAT, "RIG", 5.0, held)
        outside_sub.subscribe(bus.topic(SAT, bus.TM, 0x20))
        await bus.prove_live(outside_pub, outside_sub, SAT, "RIG", 5.0, held)
        assert bus.topic(SAT, bus.TM, 0x20) in hub.subscribed_outside

        # In from outside: to the local subscriber. (A three-part message too: the bus
        # carries it, the receivers reject it.)
        outside_pub.send(bus.topic(SAT, bus.TM, 0x30), b"sensor")
        outside_pub.flush()
        await until(lambda: len(inbox.messages) == 1)
        assert inbox.messages == [(bus.topic(SAT, bus.TM, 0x30), b"sensor")]

        # Out from here: only the topic subscribed outside leaves.
        publisher = hub.publisher()
        publisher.send(bus.topic(SAT, bus.TM, 0x40), b"not wanted outside")
        publisher.send(bus.topic(SAT, bus.TM, 0x20), b"wanted outside")
        publisher.flush()
        received: list[list[bytes]] = []

        def read_outside() -> bool:
            try:
                received.append(recv_parts(outside_sub.socket, NOBLOCK))
            except zmq.Again:
                pass
            return bool(received)

        await until(read_outside)
        assert received == [[bus.topic(SAT, bus.TM, 0x20), b"wanted outside"]]
        await until(lambda: len(inbox.messages) == 3)
        out_before = hub.statistics()["out_msgs"]

        # The outside's subscription ends: nothing more is sent to it.
        outside_sub.unsubscribe(bus.topic(SAT, bus.TM, 0x20))
        await until(lambda: bus.topic(SAT, bus.TM, 0x20) not in hub.subscribed_outside)
        publisher.send(bus.topic(SAT, bus.TM, 0x20), b"again")
        publisher.flush()
        await until(lambda: len(inbox.messages) == 4)
        assert hub.statistics()["out_msgs"] == out_before + 1  # the local subscriber only
    finally:
        outside_pub.close()
        outside_sub.close()


async def test_garbage_from_outside_reaches_only_matching_subscribers_and_breaks_nothing(
        local, tmp_path: Path) -> None:
    hub, context = local
    inbox = Inbox()
    hub.subscriber(inbox.handle, inbox.fail).subscribe(bus.topic(SAT, bus.TM))
    raw = context.socket(zmq.PUB)
    raw.connect(f"ipc://{tmp_path}/in")
    try:
        sent = 0
        while not inbox.messages:  # a plain PUB joins when it joins: send until one is taken
            for message in ([b"\xff\x00junk"], [bus.topic(SAT, bus.TM, 0x20), b"a", b"b"],
                            [b"SAT-01/TM/"]):
                raw.send_multipart(message)
            sent += 1
            assert sent < 5000
            await asyncio.sleep(0.001)
        first = inbox.messages[0]
        assert first in ((bus.topic(SAT, bus.TM, 0x20), b"a", b"b"), (b"SAT-01/TM/",))
        assert all(m[0].startswith(b"SAT-01/TM/") for m in inbox.messages)
        assert hub.statistics()["in_msgs"] >= len(inbox.messages)
    finally:
        raw.close(0)



async def test_subscriptions_that_arrive_while_the_bus_sends_out_are_all_read(
        local, tmp_path: Path) -> None:
    """A send on the XPUB socket may process what has arrived on it, and with it take the
    edge of its descriptor (common.zmqloop.Readable.sent): subscriptions that come while the
    bus is busy sending out must all be read all the same."""
    hub, context = local
    busy = bus.Subscriber(context, f"ipc://{tmp_path}/out")
    late = bus.Subscriber(context, f"ipc://{tmp_path}/out")
    sending = True

    async def send_out() -> None:
        while sending:
            hub.publish((bus.topic(SAT, bus.TM, 0x20), b"out"))
            await asyncio.sleep(0)

    sender = asyncio.ensure_future(send_out())
    try:
        busy.subscribe(bus.topic(SAT, bus.TM, 0x20))
        await until(lambda: bus.topic(SAT, bus.TM, 0x20) in hub.subscribed_outside)
        for number in range(200):
            prefix = bus.topic(SAT, bus.CTL, None, "WANTED", str(number))
            late.subscribe(prefix)
            await until(lambda prefix=prefix: prefix in hub.subscribed_outside, 2.0)
    finally:
        sending = False
        await sender
        busy.close()
        late.close()



async def test_a_bus_whose_endpoint_is_taken_says_so_and_holds_neither(local) -> None:
    _hub, context = local
    taken = context.socket(zmq.PUB)
    taken.bind("tcp://127.0.0.1:*")
    try:
        busy = taken.getsockopt_string(zmq.LAST_ENDPOINT)
        second = LocalBus(context, "inproc://taken-test-in", busy)
        with pytest.raises(zmq.ZMQError):
            second.start()
        # Its XSUB side, bound before the XPUB side failed, was closed: the address is free.
        third = LocalBus(context, "inproc://taken-test-in", "inproc://taken-test-out")
        third.start()
        third.stop()
    finally:
        taken.close(0)


async def test_an_app_on_the_bus_in_memory_reports_what_it_lost_at_its_input(
        tmp_path: Path) -> None:
    import msgpack

    from common.dictionary import DICTIONARY
    from common.dictionary.standard import STATUS_SID
    from common.packets import decode
    from common.runconfig import new_run
    from flight.framework.runtime import Runtime
    from flight.registry import app_class

    run = new_run(tmp_path / "run", (SAT,))
    runtime = Runtime(run)
    hub = LocalBus(runtime.context, "inproc://drops-in", "inproc://drops-out")
    hub.start()
    runtime.local_buses[SAT] = hub
    app = app_class("FP")(runtime, SAT)
    reports = Inbox()
    hub.subscriber(reports.handle, reports.fail).subscribe(
        bus.topic(SAT, bus.TM, DICTIONARY.apps["FP"].apid))
    try:
        await app.start()
        heartbeat = (bus.topic(SAT, bus.CTL, None, "HB", "HK"),
                     msgpack.packb({"app": "HK", "pid": 1, "gen": 0, "seq": 1, "sim": 0.0}))
        for _ in range(bus.BUS_HWM + 5):  # before fault protection can read one of them
            hub.publish(heartbeat)
        # Its own READY and first heartbeat were waiting already: at least the last 5 are lost.
        lost = hub.statistics()["dropped"]
        assert lost >= 5
        reports.messages.clear()
        app.report_hk(STATUS_SID)

        def status_reported() -> bool:
            for _topic, payload in reports.messages:
                decoded = DICTIONARY.decode_tm(decode(payload))
                if decoded.values.get("FP.BUS_DROPS") is not None:
                    assert decoded.values["FP.BUS_DROPS"] == lost
                    return True
            return False

        await until(status_reported)
    finally:
        await app.stop()
        hub.stop()
        runtime.close()
