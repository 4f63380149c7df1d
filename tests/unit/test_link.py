"""The space link's parts without processes: the data-rate pipe, light time, and the emulator's
hop-by-hop carriage (cut at loss of signal, store-and-forward, drops by cause) on a fake clock
with fake sockets."""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from common.dictionary import DICTIONARY
from common.framing import iter_frames
from common.orbits import R_EARTH_KM, Constellation
from common.packets import TmPacket, encode
from common.radio import GROUND, RadioFrame, RouteTag
from common.runconfig import ClockAnchor, RunConfig
from ground.link.config import LinkConfig
from ground.link.emulator import Cargo, SpaceLink
from ground.link.geometry import LIGHT_KM_S, light_time_s, slant_range_km
from ground.link.pipe import Pipe
from ground.network.plan import RELAY, STATION
from ground.passes import Pass
from tests.unit.fake_sockets import QueuedSocket, recording_socket, sent_on

EPOCH = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)


# --- the pipe ------------------------------------------------------------------------------------


def test_a_pipe_sends_at_its_data_rate_behind_what_is_queued() -> None:
    pipe = Pipe(8000.0, 0.0, 0.0, 1 << 20, random.Random(1))
    first = pipe.offer([b"x" * 1000] * 3, 100.0, "S")
    assert [t for t, _ in first] == [101.0, 102.0, 103.0]  # 1000 bytes = 1 s at 8 kbps
    later = pipe.offer([b"y" * 500], 101.5, "S")
    assert later[0][0] == pytest.approx(103.5)  # waits behind the queue
    idle = pipe.offer([b"z" * 1000], 200.0, "S")
    assert idle[0][0] == 201.0  # an idle radio starts at once


def test_a_pipe_drops_beyond_its_backlog_and_counts_loss_and_corruption() -> None:
    pipe = Pipe(8000.0, 0.0, 0.0, 2500, random.Random(1))
    kept = pipe.offer([b"x" * 1000] * 5, 0.0, "S")
    assert len(kept) == 2 and pipe.stats["S"].dropped["overflow"] == 3
    lossy = Pipe(1e9, 1.0, 0.0, 1 << 20, random.Random(1))
    assert lossy.offer([b"x"] * 7, 0.0, "S") == [] and lossy.stats["S"].dropped["loss"] == 7
    packet = encode(TmPacket(apid=0x10, service=17, subtype=2))
    noisy = Pipe(1e9, 0.0, 1.0, 1 << 20, random.Random(1))
    (_, flipped), = noisy.offer([packet], 0.0, "S")
    assert flipped != packet and noisy.stats["S"].corrupted == 1
    assert sum(bin(a ^ b).count("1") for a, b in zip(flipped, packet, strict=True)) == 1


def test_light_time_follows_the_elevation_through_a_pass() -> None:
    window = Pass("SAT-01", "S", 0.0, 300.0, 600.0, 90.0)
    overhead = slant_range_km(window, 300.0, 5.0, 750.0)
    assert overhead == pytest.approx(750.0, abs=1.0)
    at_mask = slant_range_km(window, 0.0, 5.0, 750.0)
    r = R_EARTH_KM + 750.0
    expected = math.sqrt(r**2 - (R_EARTH_KM * math.cos(math.radians(5.0)))**2) \
        - R_EARTH_KM * math.sin(math.radians(5.0))
    assert at_mask == pytest.approx(expected)
    assert 2500 < at_mask < 3000
    assert light_time_s(window, 300.0, 5.0, 750.0) == pytest.approx(750.0 / LIGHT_KM_S, rel=1e-3)


# --- the emulator on a fake clock ----------------------------------------------------------------


@dataclass
class FakeClock:
    t: float
    rate: float = 1500.0
    queue: list[tuple[float, int, Any]] = field(default_factory=list)
    counter: itertools.count = field(default_factory=itertools.count)

    def now(self) -> float:
        return self.t

    def call_at(self, due: float, callback: Any) -> None:
        heapq.heappush(self.queue, (due, next(self.counter), callback))

    def advance(self, until: float) -> None:
        while self.queue and self.queue[0][0] <= until:
            due, _, callback = heapq.heappop(self.queue)
            self.t = max(self.t, due)
            callback(due)
        self.t = until


class FakeRuntime:
    def __init__(self, run: RunConfig, clock: FakeClock) -> None:
        self.run, self.clock = run, clock


def emulator(link: dict[str, Any], start: float, stations: tuple[str, ...] = ("polar",)
             ) -> tuple[SpaceLink, FakeClock]:
    sat = Constellation(EPOCH, per_plane=1).elements()[0]
    run = RunConfig("/nonexistent", ("SAT-01",), ClockAnchor(start, 0.0), tle={
        "SAT-01": sat.to_tle()}, stations=stations, link=link)
    clock = FakeClock(start)
    space = SpaceLink(FakeRuntime(run, clock), LinkConfig.from_overrides(link))  # type: ignore
    space.ground_out = recording_socket()
    space.uplinks = {"SAT-01": recording_socket()}
    return space, clock


def telemetry(count: int) -> bytes:
    hk = DICTIONARY.apps["HK"]
    return b"".join(encode(TmPacket(apid=hk.apid, service=17, subtype=2, seq_count=i))
                    for i in range(count))


def first_pass(space: SpaceLink) -> Any:
    space.plan.ensure(space.clock.now())
    return next(c for c in space.plan.contacts(STATION) if c.frm == "SAT-01"
                and c.start > space.clock.now())


def test_downlink_cut_by_loss_of_signal_is_counted_and_the_rest_arrives() -> None:
    space, clock = emulator({"downlink_bps": 1000.0, "isl": "none"}, EPOCH.timestamp(),
                            stations=("SVALBARD",))
    contact = first_pass(space)
    clock.advance(contact.end - 1.0)
    payload = telemetry(10)  # 10 × 21 bytes at 1 kbps: 168 ms each; 1 s is not enough
    tag = RouteTag(GROUND, ("SAT-01",), clock.now())
    units = [f.data for f in iter_frames(payload)]
    space._forward(Cargo("SAT-01", 0, units, tag), "SAT-01", origin=True)
    clock.advance(contact.end + 10)
    messages = sent_on(space.ground_out)
    assert all(m[0] == b"TM" and m[3] == contact.via.encode() for m in messages)
    arrived = sum(len(list(iter_frames(m[4]))) for m in messages)
    stats = space.pipes[("SAT-01", GROUND)].stats[contact.via]
    assert 0 < arrived < 10 and stats.dropped["los"] == 10 - arrived
    assert stats.packets == arrived


def test_a_long_frame_on_a_slow_link_arrives_as_it_leaves_the_radio() -> None:
    space, clock = emulator({"downlink_bps": 1000.0, "isl": "none"}, EPOCH.timestamp(),
                            stations=("SVALBARD",))
    contact = first_pass(space)
    clock.advance(contact.start + 60)
    units = [f.data for f in iter_frames(telemetry(30))]  # 30 × 168 ms: ~5 s on the air
    space._forward(Cargo("SAT-01", 0, units, RouteTag(GROUND, ("SAT-01",), clock.now())),
                   "SAT-01", origin=True)
    clock.advance(clock.now() + 1.5)
    early = sum(len(list(iter_frames(m[4]))) for m in sent_on(space.ground_out))
    assert 0 < early < 30  # the first second's worth is down before the rest has left
    clock.advance(clock.now() + 10)
    assert sum(len(list(iter_frames(m[4]))) for m in sent_on(space.ground_out)) == 30


def test_a_frame_sent_in_contact_but_read_after_loss_of_signal_still_goes_down() -> None:
    # At 1500x a link process a few wall milliseconds behind reads a frame seconds late.
    space, clock = emulator({"isl": "none"}, EPOCH.timestamp(), stations=("SVALBARD",))
    contact = first_pass(space)
    downlink = QueuedSocket()
    clock.advance(contact.end - 3.0)
    sent = clock.now()
    downlink.waiting = [RadioFrame("SAT-01", 0, telemetry(2), RouteTag(GROUND, (), sent))
                        .to_multipart(), RadioFrame("SAT-01", 0, telemetry(1)).to_multipart()]
    clock.advance(contact.end + 2.0)
    space._from_space(downlink, "SAT-01")  # type: ignore[arg-type]
    clock.advance(contact.end + 10)
    (message,) = sent_on(space.ground_out)
    assert len(list(iter_frames(message[4]))) == 2  # stamped in the pass: it went down
    assert space.unrouted[("SAT-01", "no_contact")] == 1  # unstamped: taken as sent now
    assert space.late_frames == 1 and space.max_lag_s == pytest.approx(5.0)
    assert space.stats()["late_frames"] == 1


def test_a_send_time_in_the_future_or_too_old_is_not_believed() -> None:
    space, clock = emulator({"isl": "none"}, EPOCH.timestamp())
    now = clock.now()
    assert space._sent(RouteTag(GROUND, (), now + 10)) == now
    assert space._sent(RouteTag(GROUND, (), now - 10)) == now - 10
    too_old = now - 5.0 * clock.rate - 1
    assert space._sent(RouteTag(GROUND, (), too_old)) == now
    assert space._sent(None) == now
    assert space.stale_frames == 1 and space.stats()["stale_frames"] == 1


def test_out_of_contact_at_its_origin_a_frame_is_dropped_and_counted() -> None:
    space, clock = emulator({"isl": "none"}, EPOCH.timestamp())
    contact = first_pass(space)
    clock.advance(contact.start - 60)
    space._forward(Cargo("SAT-01", 0, [b"x" * 21], RouteTag("SAT-01")), GROUND, origin=True)
    clock.advance(contact.end)
    assert sent_on(space.uplinks["SAT-01"]) == []
    assert space.unrouted[(GROUND, "no_contact")] == 1


def test_a_relay_stores_what_waits_for_its_satellite_within_its_bound() -> None:
    space, clock = emulator({"relays": ["TL-1"], "isl": "none", "store_bytes": 100},
                            EPOCH.timestamp(), stations=("TROLL",))
    space.plan.ensure(clock.now())
    rise = next(c for c in space.plan.contacts(RELAY) if c.frm == "TL-1"
                and c.start > clock.now() + 600)
    clock.advance(rise.start - 30)
    for index in range(3):  # 3 × 40 bytes: two fit the store, one does not
        frame = RadioFrame("SAT-01", 0, bytes([index]) * 40, RouteTag("SAT-01", id=index))
        space._forward(Cargo("SAT-01", 0, [frame.packets], RouteTag("SAT-01", (), clock.now(),
                                                                     index)), GROUND, True)
    clock.advance(rise.start - 1)
    assert space.stores["TL-1"].used == 80 and space.stores["TL-1"].overflow == 1
    assert sent_on(space.uplinks["SAT-01"]) == []
    clock.advance(rise.start + 5)
    delivered = sent_on(space.uplinks["SAT-01"])
    assert [parts[2][:1] for parts in delivered] == [b"\x00", b"\x01"]
    assert len(delivered[0]) == 3  # the last hop strips the route tag
    routes = [m for m in sent_on(space.ground_out) if m[0] == b"ROUTE"]
    assert len(routes) == 2 and space.stores["TL-1"].used == 0
