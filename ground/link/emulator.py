"""The space link emulator process: the space network between ground control and every radio.

Ground side: a PULL socket (``link``) receives radio frames to uplink (and ``[b"CTL",
msgpack]`` control messages: ``{"op": "outage", "station", "start", "end"}`` — a station or a
relay — and ``{"op": "impair", "satellite", "direction", "loss", "corruption", "start",
"end"}``); a PUB socket (``link.down``) publishes ``[b"TM", spacecraft, vc, route, packets]``
for what came down (``route`` names the way: ``KASHGAR``, ``TL-1``, ``SAT-01>KASHGAR``),
``[b"ROUTE", msgpack]`` when a tagged telecommand reaches its satellite (``{"id", "satellite",
"path", "sent", "arrived"}``) and ``[b"STATS", msgpack]`` with every link's counters. Space
side: a PUSH to each satellite's uplink and a SUB on each satellite's downlink.

Every frame travels the earliest-arrival route of the contact plan (:mod:`ground.network`):
directly through a station that sees the satellite, through a relay, or across
inter-satellite links. On each hop it waits behind the link's data-rate queue, crosses in the
light time, and may be lost or corrupted (seeded); what would arrive after the contact ends is
cut. A frame crossing another satellite is handed to that satellite's radio, which forwards it.
A frame whose next hop is not up yet is stored at the node it reached (store-and-forward,
bounded in bytes: what does not fit is dropped and counted); at its origin, a frame with no
link up now is dropped (``no_contact``): the onboard recorder, or ground control's queue, is
where data waits for a contact.

Frames carry the simulated time their sender sent them (``t0`` of their route tag): a frame is
on the air from that moment, however late this process gets to read it. At 1500× a process
that falls a few wall milliseconds behind is several simulated seconds late, and judging
visibility by the time a frame is read would lose what was sent in the last seconds of a pass.
How far behind the emulator has read is counted (``late_frames``, ``max_lag_s``), and so are
frames read too late for their send time to be believed (``stale_frames``: the machine could not
keep up with the clock's rate).
"""

from __future__ import annotations

import asyncio
import functools
import random
import signal
from collections import Counter
from dataclasses import dataclass
from typing import Any

import msgpack
import structlog
import zmq

from common import collector, control, logs
from common.curve import Curve
from common.framing import iter_frames
from common.orbits import elements_from_tle
from common.radio import GROUND, FrameError, RadioFrame, RouteTag
from common.runconfig import RunConfig
from common.runtime import Runtime
from common.zmqloop import NOBLOCK, Readable, drain, send_parts
from ground.link.config import LinkConfig
from ground.link.pipe import Pipe
from ground.network.plan import ISL, RELAY, STATION, Contact, ContactPlan
from ground.network.routing import Hop, Router
from ground.passes import network

UP, DOWN = "up", "down"
STATS_WALL_S = 0.5
#: Wall seconds the link waits to hear every satellite before it says it is ready anyway.
READY_WALL_S = 15.0
#: A frame that takes longer than this to leave the radio (simulated seconds, at the link's
#: data rate) arrives in slices this long: what left first is there first, before a loss of
#: signal cuts the rest.
SLICE_S = 1.0
#: A frame's own send time is believed if it is at most this old when read (simulated seconds,
#: or this many wall seconds at the clock's rate if that is more); an older one is taken as
#: sent now.
MAX_LAG_S = 60.0
MAX_LAG_WALL_S = 5.0


@dataclass(frozen=True)
class Impairment:
    """Extra loss or corruption on one satellite's links (loss 1 cuts them) for a span."""

    satellite: str
    direction: str
    loss: float
    corruption: float
    start: float
    end: float


@dataclass
class Cargo:
    """What one frame carries through the network: the units that may be lost one by one
    (the packets of telemetry; one protected telecommand) and its route tag."""

    spacecraft: str
    vc: int
    units: list[bytes]
    tag: RouteTag

    @property
    def size(self) -> int:
        """Bytes carried."""
        return sum(len(u) for u in self.units)


@dataclass
class Store:
    """A node's store-and-forward buffer."""

    used: int = 0
    stored: int = 0
    overflow: int = 0

    def to_dict(self) -> dict[str, int]:
        """Plain data for the statistics message."""
        return {"bytes": self.used, "stored": self.stored, "overflow": self.overflow}


class SpaceLink:
    """The space network of one run."""

    def __init__(self, runtime: Runtime, config: LinkConfig) -> None:
        self.runtime = runtime
        self.config = config
        self.clock = runtime.clock
        self.log = structlog.get_logger("link")
        run = runtime.run
        elements = {name: elements_from_tle(name, *run.tle[name]) for name in run.satellites}
        self.plan = ContactPlan(elements, network(run.stations), config,
                                config.horizon_h * 3600)
        self.router = Router(self.plan)
        self.satellites = set(run.satellites)
        self.pipes: dict[tuple[str, str], Pipe] = {}
        self.stores: dict[str, Store] = {}
        self.unrouted: Counter[tuple[str, str]] = Counter()
        self.rejected = 0
        self.forwarded = 0
        #: Frames read more than a simulated second after they were sent, and the worst lag.
        self.late_frames = 0
        self.max_lag_s = 0.0
        #: Frames read so late that their send time was not believed (taken as sent when read).
        self.stale_frames = 0
        #: Satellites whose downlink has delivered something: their subscription is live.
        self.heard: set[str] = set()
        self._all_heard = asyncio.Event()
        self.impairments: list[Impairment] = []
        self._sockets: list[zmq.Socket[Any]] = []
        self._readers: list[Readable] = []

    # --- sockets ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Bind the ground side, connect to every satellite, start the statistics timer."""
        context, endpoints = self.runtime.context, self.runtime.endpoints
        self.curve = Curve(self.runtime.run, "LINK")
        self.ground_in = self._socket(zmq.PULL)
        self.curve.serve(context, self.ground_in)
        self.ground_in.bind(endpoints.link())
        self.ground_out = self._socket(zmq.PUB)
        self.ground_out.setsockopt(zmq.SNDHWM, 100_000)
        self.curve.serve(context, self.ground_out)
        self.ground_out.bind(endpoints.link_down())
        self._readers.append(Readable(self.ground_in, self._from_ground))
        self.uplinks: dict[str, zmq.Socket[Any]] = {}
        for name in self.runtime.run.satellites:
            push = self._socket(zmq.PUSH)
            push.setsockopt(zmq.SNDHWM, 1000)
            self.curve.connect_to(push, name)
            push.connect(endpoints.uplink(name))
            self.uplinks[name] = push
            sub = self._socket(zmq.SUB)
            sub.setsockopt(zmq.SUBSCRIBE, b"")
            sub.setsockopt(zmq.RCVHWM, 100_000)
            self.curve.connect_to(sub, name)
            sub.connect(endpoints.downlink(name))
            self._readers.append(Readable(sub, functools.partial(self._from_space, sub, name)))
        self.plan.ensure(self.clock.now())
        self.log.info("network", **self.plan.describe())
        self._stats_task = asyncio.ensure_future(self._stats_loop())

    def _socket(self, kind: int) -> zmq.Socket[Any]:
        sock = self.runtime.context.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        self._sockets.append(sock)
        return sock

    def close(self) -> None:
        """Close every socket."""
        self._stats_task.cancel()
        for reader in self._readers:
            reader.close()
        for sock in self._sockets:
            sock.close(0)
        self.curve.close()

    # --- what comes in ---------------------------------------------------------------------------

    def _from_ground(self) -> None:
        for message in drain(self.ground_in, 500):
            if message and message[0] == b"CTL":
                self._control(message)
                continue
            frame = self._frame(message, "ground")
            if frame is None:
                continue
            if frame.spacecraft not in self.satellites:
                self._reject("frame for an unknown satellite", spacecraft=frame.spacecraft)
                continue
            sent = self._sent(frame.tag)
            tag = RouteTag(frame.spacecraft, (), sent,
                           frame.tag.id if frame.tag is not None else None)
            # A telecommand crosses as one unit: protected, it is not a bare packet.
            self._forward(Cargo(frame.spacecraft, frame.vc, [frame.packets], tag), GROUND,
                          origin=True, at=sent)

    def _from_space(self, sock: zmq.Socket[Any], satellite: str) -> None:
        if satellite not in self.heard:
            self.heard.add(satellite)
            if self.heard >= self.satellites:
                self._all_heard.set()
        for message in drain(sock, 500):
            frame = self._frame(message, satellite)
            if frame is None:
                continue
            if frame.in_transit and frame.tag is not None:
                # Forwarded by this satellite's radio: on its way through the network.
                self.forwarded += 1
                units = _units(frame.packets, frame.tag.dst)
                self._forward(Cargo(frame.spacecraft, frame.vc, units, frame.tag), satellite,
                              origin=False)
            elif frame.spacecraft != satellite:
                self._reject("frame with another satellite's name", spacecraft=frame.spacecraft,
                             radio=satellite)
            else:
                sent = self._sent(frame.tag)
                tag = RouteTag(GROUND, (satellite,), sent)
                self._forward(Cargo(satellite, frame.vc, _units(frame.packets, GROUND), tag),
                              satellite, origin=True, at=sent)

    def _sent(self, tag: RouteTag | None) -> float:
        """When a frame was sent: its tag's time, if it has one that is not in the future nor
        older than the lag this emulator accepts; otherwise now."""
        now = self.clock.now()
        if tag is None or not 0.0 < tag.t0 <= now:
            return now
        lag = now - tag.t0
        if lag > max(MAX_LAG_S, MAX_LAG_WALL_S * self.clock.rate):
            self.stale_frames += 1
            return now
        if lag > 1.0:
            self.late_frames += 1
            self.max_lag_s = max(self.max_lag_s, lag)
        return tag.t0

    def _frame(self, message: list[bytes], source: str) -> RadioFrame | None:
        try:
            return RadioFrame.from_multipart(message)
        except FrameError as exc:
            self._reject("frame rejected", source=source, error=str(exc))
            return None

    def _reject(self, what: str, **detail: Any) -> None:
        self.rejected += 1
        self.log.warning(what, **detail)

    def _control(self, message: list[bytes]) -> None:
        """A control message from ground control: ``[b"CTL", msgpack]``."""
        try:
            request = msgpack.unpackb(message[1])
            if request.get("op") == "outage":
                name, start, end = (str(request["station"]), float(request["start"]),
                                    float(request["end"]))
                self.plan.add_outage(name, start, end)
                self.log.info("outage", node=name, start=start, end=end)
            elif request.get("op") == "impair":
                self.impairments.append(Impairment(
                    str(request["satellite"]), str(request.get("direction", "both")),
                    float(request.get("loss", 0.0)), float(request.get("corruption", 0.0)),
                    float(request["start"]), float(request["end"])))
                self.log.info("link impaired", **{k: v for k, v in request.items() if k != "op"})
            else:
                raise ValueError(f"unknown op {request.get('op')!r}")
        except (IndexError, KeyError, TypeError, ValueError, AttributeError,
                msgpack.UnpackException) as exc:
            self._reject("control message rejected", error=str(exc))

    # --- routing ---------------------------------------------------------------------------------

    def _forward(self, cargo: Cargo, node: str, origin: bool, at: float | None = None) -> None:
        """Send ``cargo`` on from ``node`` along the best route at ``at`` (now by default), or
        store it."""
        if not cargo.units:
            return
        now = self.clock.now() if at is None else at
        route = self.router.route(node, cargo.tag.dst, now, max_wait_s=self.config.store_max_s,
                                  first_wait_s=0.0 if origin else None)
        if route is None:
            self.unrouted[(node, "no_contact" if origin else "no_route")] += len(cargo.units)
            return
        hop = route.first
        if hop.depart > now:
            self._store(cargo, node, hop.depart)
        else:
            self._send(cargo, hop, now)

    def _store(self, cargo: Cargo, node: str, until: float) -> None:
        """Hold ``cargo`` at ``node`` until its next hop comes up (within the store's bound)."""
        store = self.stores.setdefault(node, Store())
        size = cargo.size
        if store.used + size > self.config.store_bytes:
            store.overflow += len(cargo.units)
            return
        store.used += size
        store.stored += len(cargo.units)

        def resume(_due: float) -> None:
            store.used -= size
            self._forward(cargo, node, origin=False)

        self.clock.call_at(until, resume)

    def _pipe(self, contact: Contact) -> Pipe:
        key = (contact.frm, contact.to)
        pipe = self.pipes.get(key)
        if pipe is None:
            cfg = self.config
            up = contact.frm in (GROUND, *self.plan.relays)
            if contact.kind == STATION:
                loss, corruption, backlog = ((cfg.uplink_loss, cfg.uplink_corruption,
                                              cfg.uplink_backlog_bytes) if up else
                                             (cfg.downlink_loss, cfg.downlink_corruption,
                                              cfg.downlink_backlog_bytes))
            else:
                loss = {ISL: cfg.isl_loss, RELAY: cfg.relay_loss}.get(contact.kind, 0.0)
                corruption, backlog = 0.0, cfg.downlink_backlog_bytes
            pipe = self.pipes[key] = Pipe(contact.rate_bps, loss, corruption, backlog,
                                          random.Random(f"{cfg.seed}/{key[0]}/{key[1]}"))
        return pipe

    def impairment(self, contact: Contact, now: float) -> Impairment | None:
        """The impairment in force now on a satellite's end of ``contact`` (the worst): ``up``
        impairs what reaches the satellite, ``down`` what leaves it."""
        def impaired(i: Impairment, satellite: str) -> bool:
            return satellite == i.satellite or (i.satellite == "*" and satellite in
                                                self.satellites)

        found = [i for i in self.impairments if i.start <= now < i.end and (
            (i.direction in (UP, "both") and impaired(i, contact.to))
            or (i.direction in (DOWN, "both") and impaired(i, contact.frm)))]
        return max(found, key=lambda i: (i.loss, i.corruption)) if found else None

    def _send(self, cargo: Cargo, hop: Hop, now: float) -> None:
        contact = hop.contact
        pipe = self._pipe(contact)
        impairment = self.impairment(contact, now)
        if impairment is not None and impairment.loss >= 1.0:
            pipe.drop(contact.via, "cut", len(cargo.units))
            return
        departures = pipe.offer(cargo.units, now, contact.via,
                                impairment.loss if impairment else None,
                                impairment.corruption if impairment else None)
        if not departures:
            return
        delay = contact.delay_at(now)
        for piece in _slices(departures):
            self.clock.call_at(piece[-1][0] + delay,
                               functools.partial(self._arrive, cargo, contact, delay, piece))

    def _arrive(self, cargo: Cargo, contact: Contact, delay: float,
                departures: list[tuple[float, bytes]], _due: float = 0.0) -> None:
        pipe = self.pipes[(contact.frm, contact.to)]
        arrived = [unit for left, unit in departures if left + delay <= contact.end]
        if len(arrived) < len(departures):
            pipe.drop(contact.via, "los", len(departures) - len(arrived))
        if not arrived:
            return
        for unit in arrived:
            pipe.delivered(contact.via, unit)
        tag = cargo.tag
        if contact.kind == STATION:
            # A pass: its station joins the way taken, at whichever end the ground is.
            ends = (contact.via, contact.to) if contact.frm == GROUND else (contact.via,)
            tag = tag.via(*ends)
        elif contact.to != GROUND:
            tag = tag.via(contact.to)  # a relay or a satellite reached (a feeder adds nothing)
        cargo = Cargo(cargo.spacecraft, cargo.vc, arrived, tag)
        if contact.to == tag.dst:
            self._deliver(cargo)
        elif contact.to in self.satellites:
            # Through another satellite: its radio forwards the frame over its own links.
            self._push(contact.to, RadioFrame(cargo.spacecraft, cargo.vc, b"".join(arrived), tag))
        else:
            self._forward(cargo, contact.to, origin=False)  # a relay: a bent pipe

    def _deliver(self, cargo: Cargo) -> None:
        payload = b"".join(cargo.units)
        tag = cargo.tag
        if tag.dst == GROUND:
            route = ">".join(tag.path[1:])
            send_parts(self.ground_out, [b"TM", cargo.spacecraft.encode(),
                                         bytes((cargo.vc,)), route.encode(), payload])
            return
        frame = RadioFrame(cargo.spacecraft, cargo.vc, payload)
        if self._push(tag.dst, frame) and tag.id is not None:
            self.ground_out.send_multipart([b"ROUTE", msgpack.packb({
                "id": tag.id, "satellite": tag.dst, "path": list(tag.path), "sent": tag.t0,
                "arrived": self.clock.now()})])

    def _push(self, satellite: str, frame: RadioFrame) -> bool:
        try:
            send_parts(self.uplinks[satellite], frame.to_multipart(), NOBLOCK)
            return True
        except zmq.Again:
            self.unrouted[(satellite, "unreachable")] += 1
            return False

    async def hear_everyone(self, wall_s: float) -> set[str]:
        """Wait until every satellite's downlink has delivered a frame (ZeroMQ subscriptions
        join late: until then what a satellite sends is lost), at most ``wall_s``; return the
        satellites not heard."""
        try:
            await asyncio.wait_for(self._all_heard.wait(), wall_s)
        except TimeoutError:
            pass
        return self.satellites - self.heard

    # --- statistics ------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters by link and node, and how each satellite reaches the ground now."""
        now = self.clock.now()
        out: dict[str, Any] = {"time": now, "rejected": self.rejected,
                               "forwarded": self.forwarded, "late_frames": self.late_frames,
                               "max_lag_s": round(self.max_lag_s, 3),
                               "stale_frames": self.stale_frames, "links": []}
        for (frm, to), pipe in self.pipes.items():
            for via, counters in pipe.stats.items():
                out["links"].append({"from": frm, "to": to, "via": via, **counters.to_dict()})
        out["stores"] = {node: store.to_dict() for node, store in self.stores.items()}
        out["unrouted"] = [[node, cause, count]
                           for (node, cause), count in sorted(self.unrouted.items())]
        contact = {}
        for name in sorted(self.satellites):
            route = self.router.route(name, GROUND, now, first_wait_s=0.0)
            contact[name] = ">".join(route.path[1:]) if route is not None else None
        out["contact"] = contact
        out["outages"] = [list(o) for o in self.plan.outages if o[2] > now]
        return out

    async def _stats_loop(self) -> None:
        # Every half second of wall time: the statistics double as the link's heartbeat, by
        # which ground control knows its connection to the link is live.
        while True:
            self.ground_out.send_multipart([b"STATS", msgpack.packb(self.stats())])
            await asyncio.sleep(STATS_WALL_S)


def _units(payload: bytes, dst: str) -> list[bytes]:
    """What may be lost one by one: each packet on the way down; a telecommand whole."""
    if dst != GROUND:
        return [payload]
    return [framed.data for framed in iter_frames(payload)]


def run_link(run_dir: str, console: bool = False) -> int:
    """Process entry point: carry packets until SIGTERM or SIGINT."""
    run = RunConfig.load(run_dir)
    log = logs.configure(run.run_dir, "LINK", console=console)
    try:
        config = LinkConfig.from_overrides(run.link, seed=run.seed)
    except ValueError as exc:
        log.error("bad link configuration", error=str(exc))
        return 2
    return asyncio.run(_main(run, config, log))


async def _main(run: RunConfig, config: LinkConfig, log: Any) -> int:
    runtime = Runtime(run)
    runtime.follow_clock()
    link = SpaceLink(runtime, config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    link.start()
    silent = await link.hear_everyone(READY_WALL_S)
    if silent:
        log.warning("satellites not heard yet", satellites=sorted(silent))
    collector.settle()
    control.report(runtime.context, runtime.endpoints, "LINK")
    log.info("link up", satellites=list(run.satellites), stations=list(link.plan.masks))
    try:
        await stop.wait()
    finally:
        final = link.stats()
        link.close()
        runtime.close()
    log.info("link down", **final)  # every count, for the run directory
    return 0


def _slices(departures: list[tuple[float, bytes]]) -> list[list[tuple[float, bytes]]]:
    """``departures`` in runs that leave the radio within :data:`SLICE_S` of their first."""
    out: list[list[tuple[float, bytes]]] = []
    for item in departures:
        if out and item[0] - out[-1][0][0] <= SLICE_S:
            out[-1].append(item)
        else:
            out.append([item])
    return out
