"""The housekeeping app's recorder handling, driven without processes (fake bus and clock)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from types import SimpleNamespace

from common.dictionary import DICTIONARY
from common.packets import decode
from common.runconfig import Timing
from flight.housekeeping.app import MIB, OVERFLOW_EVENT_S, Housekeeping
from tests.unit.test_fault import T0, FakeClock, FakePublisher, FakeSubscriber


def housekeeping(home: Path) -> tuple[Housekeeping, FakeClock, FakePublisher]:
    clock = FakeClock(T0)
    run = SimpleNamespace(timing=Timing(), satellite_dir=lambda _sat: home)
    app = Housekeeping(SimpleNamespace(run=run, clock=clock), "SAT-01")  # type: ignore[arg-type]
    publisher = FakePublisher()
    app.publisher = publisher  # type: ignore[assignment]
    app.subscriber = FakeSubscriber()  # type: ignore[assignment]
    return app, clock, publisher


def test_a_full_recorder_in_stop_mode_tells_of_its_drops_without_feeding_on_itself(
        tmp_path) -> None:
    app, clock, publisher = housekeeping(tmp_path)
    app.store.set_limit(int(0.01 * MIB), wrap=False)  # ~10 KiB, keep the oldest

    async def play() -> None:
        for second in range(600):
            clock.t = T0 + second
            app.event("PLAYBACK_DONE", packets=second)  # its own packets, recorded first
            await asyncio.sleep(0)  # a loop iteration: written, then published
        await asyncio.sleep(0)

    asyncio.run(play())
    assert app.store.stats.overflows > 0
    told = [DICTIONARY.decode_tm(decode(d)) for _, d in publisher.sent]
    told = [t for t in told if t.name == "HK.RECORDER_OVERFLOW"]
    # At most one event a simulated minute, and together they tell of every drop but the
    # last minute's.
    assert 1 <= len(told) <= 600 / OVERFLOW_EVENT_S + 1
    assert sum(t.values["dropped"] for t in told) + app._unreported_drops \
        == app.store.stats.overflows


def test_its_own_packets_of_one_iteration_are_written_together_before_they_are_published(
        tmp_path, monkeypatch) -> None:
    from common import bus

    app, clock, publisher = housekeeping(tmp_path)
    writes: list[tuple[int, int]] = []  # (bytes written to the recorder, packets published)
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        if fd == app.store._fd:
            writes.append((len(data), len(publisher.sent)))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)

    async def play() -> None:
        for second in range(5):  # five reports due at one wake
            clock.t = T0 + second
            app.event("PLAYBACK_DONE", packets=second)
        assert publisher.sent == [], "published before it was on disk"
        await asyncio.sleep(0)

    asyncio.run(play())
    assert len(publisher.sent) == 5 and app.store.stats.packets == 5
    assert writes == [(sum(len(packet) for _, packet in publisher.sent), 0)]
    # Those packets come back from the bus on the TM prefix: passed by unopened, counted.
    own = bus.topic("SAT-01", bus.TM, app.apid)
    app._ignored = app.ignored_topics()
    app._handle_message([own, publisher.sent[0][1]])
    assert app.ignored_messages == 1 and app.store.stats.packets == 5


def test_sensor_structures_are_reported_with_the_latest_reading_exactly(tmp_path) -> None:
    """EPS, THERMAL, ORBIT and NODES repeat the hardware's sensor structures parameter for
    parameter: each report holds the values of the latest good sensor report, the same as
    encoding them anew would give; none before the first reading, and a bad sensor packet
    changes nothing."""
    import random

    from common import bus
    from common.dictionary.model import Structure
    from common.packets import TmPacket, encode
    from flight.housekeeping.app import MIRRORS
    from tests.unit.test_fault import _nominal

    app, clock, publisher = housekeeping(tmp_path)
    sim, ours = DICTIONARY.apps["SIM"], DICTIONARY.apps["HK"]
    mirrors = MIRRORS
    assert {s.short for s in ours.structures if s.sid in mirrors.values()} \
        == {"EPS", "THERMAL", "ORBIT", "NODES"}
    sensors = [s for s in sim.structures if s.sid in mirrors]
    mine = {s.sid: s for s in ours.structures}
    rng = random.Random(7)

    async def reported(structure: Structure) -> dict | None:
        start = len(publisher.sent)
        app.report_hk(structure.sid, clock.now())
        await asyncio.sleep(0)  # written to the recorder, then published
        if len(publisher.sent) == start:
            return None
        return DICTIONARY.decode_tm(decode(publisher.sent[-1][1])).values

    def feed(data: bytes) -> None:
        app._handle_message([bus.topic("SAT-01", bus.TM, sim.apid), data])

    async def play() -> None:
        for structure in mine.values():
            if structure.sid in mirrors.values():
                assert await reported(structure) is None  # no reading yet: no report
        values = {p.name: _nominal(p) for s in sensors for p in s.params}
        for round_ in range(20):
            for param in values:
                if isinstance(values[param], float):
                    values[param] = rng.uniform(-50.0, 50.0) if "TEMP" in param \
                        else rng.uniform(0.0, 90.0)
            for seq, structure in enumerate(sensors):
                feed(encode(TmPacket(sim.apid, 3, 25, DICTIONARY.hk_app_data(structure, values),
                                     (round_ * 8 + seq) % 16384)))
            await asyncio.sleep(0)
            for sensor in sensors:
                structure = mine[mirrors[sensor.sid]]
                data = DICTIONARY.hk_app_data(sensor, values)
                expected = DICTIONARY.decode_tm(TmPacket(sim.apid, 3, 25, data, 0)).values
                assert await reported(structure) == expected
                assert publisher.sent[-1][1][19:-2] == DICTIONARY.hk_app_data(structure, expected)
        # A sensor report cut short is refused, counted, and the last good reading stays.
        before = {s.sid: await reported(mine[mirrors[s.sid]]) for s in sensors}
        rejected = app.counters["PKT_REJECTED"]
        short = DICTIONARY.hk_app_data(sensors[0], values)[:-1]
        feed(encode(TmPacket(sim.apid, 3, 25, short, 999)))
        assert app.counters["PKT_REJECTED"] == rejected + 1
        assert await reported(mine[mirrors[sensors[0].sid]]) == before[sensors[0].sid]

    asyncio.run(play())


def test_structures_of_one_interval_report_from_one_timer_at_its_whole_multiples(
        tmp_path) -> None:
    """One timer per interval: its structures report at each tick, in SID order, stamped
    with the tick's due time; a structure moved to another interval or disabled leaves it (the
    timer ends with its last structure), and a report that fails costs the others nothing."""
    from types import SimpleNamespace

    from common import bus
    from common.packets import TmPacket, encode
    from tests.unit.test_fault import _nominal

    app, clock, publisher = housekeeping(tmp_path)
    timers: list[SimpleNamespace] = []

    def every(period: float, callback, first: float | None = None) -> SimpleNamespace:
        timer = SimpleNamespace(period=period, callback=callback, first=first, cancelled=False)
        timer.cancel = lambda: setattr(timer, "cancelled", True)
        timers.append(timer)
        return timer

    clock.every = every  # type: ignore[method-assign]
    sim = DICTIONARY.apps["SIM"]
    for seq, structure in enumerate(sim.structures[1:]):  # a reading for every structure
        values = {p.name: _nominal(p) for p in structure.params}
        app._handle_message([bus.topic("SAT-01", bus.TM, sim.apid), encode(TmPacket(
            sim.apid, 3, 25, DICTIONARY.hk_app_data(structure, values), seq))])

    async def tick(timer: SimpleNamespace, due: float) -> list[tuple[int, float]]:
        """(SID, time) of the reports one tick of ``timer`` sends."""
        start = len(publisher.sent)
        timer.callback(due)
        await asyncio.sleep(0)  # recorded, then published
        reports = [decode(data) for _, data in publisher.sent[start:]]
        return [(int.from_bytes(r.app_data[:2], "big"), r.time.to_unix()) for r in reports
                if (r.service, r.subtype) == (3, 25)]

    async def play() -> None:  # its events are recorded, then published, in a loop
        clock.t = T0 + 0.25  # T0 is a multiple of 2 s
        for short in ("STATUS", "EPS", "THERMAL", "ORBIT", "NODES"):
            app._set_hk(short, interval=2.0)
        live = [t for t in timers if not t.cancelled]
        assert len(live) == 1 and live[0].period == 2.0 and live[0].first == T0 + 2.0
        assert await tick(live[0], T0 + 2.0) == [(sid, T0 + 2.0) for sid in (1, 2, 3, 4, 5)]

        app._set_hk("ORBIT", interval=30.0)  # a timer of its own, at a multiple of 30 s
        app._set_hk("THERMAL", enabled=False)
        live = {t.period: t for t in timers if not t.cancelled}
        assert sorted(live) == [2.0, 30.0] and live[30.0].first == 30.0 * (T0 // 30.0 + 1)
        assert await tick(live[2.0], T0 + 4.0) == [(1, T0 + 4.0), (2, T0 + 4.0), (5, T0 + 4.0)]
        assert await tick(live[30.0], T0 + 30.0) == [(4, T0 + 30.0)]

        app._set_hk("ORBIT", enabled=False)  # its timer's last structure: the timer ends
        assert live[30.0].cancelled and not live[2.0].cancelled

        app._mirrored[2] = bytes(70_000)  # EPS: too long for a packet, its report fails
        assert await tick(live[2.0], T0 + 6.0) == [(1, T0 + 6.0), (5, T0 + 6.0)]

    asyncio.run(play())
