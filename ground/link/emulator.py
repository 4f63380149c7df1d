"""The space link emulator process: between ground control and every satellite's radio.

Ground side: a PULL socket (``link``) receives radio frames to uplink (and ``[b"CTL",
msgpack]`` control messages: ``{"op": "outage", "station", "start", "end"}`` and ``{"op":
"impair", "satellite", "direction", "loss", "corruption", "start", "end"}``); a PUB socket
(``link.down``) publishes ``[b"TM", spacecraft, vc, station, packets]`` for what came down and
``[b"STATS", msgpack]`` with every link's counters. Space side: a PUSH to each satellite's uplink
and a SUB on each satellite's downlink. A packet crosses only while a station sees the
satellite (above its elevation mask), after the data-rate queue and the light time, unless the
window closes first; loss and corruption are seeded. Designed as a graph of stations and
satellites so that relays and inter-satellite links can join it.
"""

from __future__ import annotations

import asyncio
import random
import signal
from dataclasses import dataclass
from typing import Any

import msgpack
import structlog
import zmq

from common import control, logs
from common.curve import Curve
from common.framing import iter_frames
from common.orbits import elements_from_tle
from common.radio import FrameError, RadioFrame
from common.runconfig import RunConfig
from common.runtime import Runtime
from common.zmqloop import Readable, drain
from ground.contacts import ContactSchedule
from ground.link.config import LinkConfig
from ground.link.geometry import light_time_s
from ground.link.pipe import Pipe
from ground.passes import network

UP, DOWN = "up", "down"


@dataclass(frozen=True)
class Impairment:
    """Extra loss or corruption on one satellite's link (loss 1 cuts it) for a span."""

    satellite: str
    direction: str
    loss: float
    corruption: float
    start: float
    end: float


STATS_WALL_S = 0.5


class SpaceLink:
    """Every satellite's link to the ground stations of the run."""

    def __init__(self, runtime: Runtime, config: LinkConfig) -> None:
        self.runtime = runtime
        self.config = config
        self.clock = runtime.clock
        self.log = structlog.get_logger("link")
        run = runtime.run
        stations = network(run.stations)
        self.masks = {station.name: station.mask_deg for station in stations}
        horizon = config.horizon_h * 3600
        self.visibility = {
            name: ContactSchedule.of(elements_from_tle(name, *run.tle[name]), stations, horizon)
            for name in run.satellites
        }
        self.altitude = {name: vis.altitude_km() for name, vis in self.visibility.items()}
        rng = random.Random(config.seed)
        self.pipes = {
            (name, direction): Pipe(
                config.uplink_bps if direction == UP else config.downlink_bps,
                config.uplink_loss if direction == UP else config.downlink_loss,
                config.uplink_corruption if direction == UP else config.downlink_corruption,
                config.uplink_backlog_bytes if direction == UP else config.downlink_backlog_bytes,
                random.Random(rng.random()),
            )
            for name in run.satellites for direction in (UP, DOWN)
        }
        self.rejected = 0
        self.outages: list[tuple[str, float, float]] = []
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
            self._readers.append(Readable(sub, lambda s=sub: self._from_space(s)))
        del context
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

    # --- both directions -------------------------------------------------------------------------

    def _from_ground(self) -> None:
        for message in drain(self.ground_in, 500):
            if message and message[0] == b"CTL":
                self._control(message)
            else:
                self._carry(message, UP)

    def _control(self, message: list[bytes]) -> None:
        """A control message from ground control: ``[b"CTL", msgpack]``."""
        try:
            request = msgpack.unpackb(message[1])
            if request.get("op") == "outage":
                self.outages.append((str(request["station"]), float(request["start"]),
                                     float(request["end"])))
                self.log.info("station outage", station=request["station"],
                              start=request["start"], end=request["end"])
            elif request.get("op") == "impair":
                self.impairments.append(Impairment(
                    str(request["satellite"]), str(request.get("direction", "both")),
                    float(request.get("loss", 0.0)), float(request.get("corruption", 0.0)),
                    float(request["start"]), float(request["end"])))
                self.log.info("link impaired", **{k: v for k, v in request.items() if k != "op"})
            else:
                raise ValueError(f"unknown op {request.get('op')!r}")
        except (IndexError, KeyError, TypeError, ValueError, msgpack.UnpackException) as exc:
            self.rejected += 1
            self.log.warning("control message rejected", error=str(exc))

    def station_down(self, station: str, now: float) -> bool:
        """True while ``station`` is out of service."""
        return any(name == station and start <= now < end for name, start, end in self.outages)

    def impairment(self, satellite: str, direction: str, now: float) -> Impairment | None:
        """The impairment of a satellite's link in force now, if any (the worst)."""
        found = [i for i in self.impairments
                 if i.satellite in (satellite, "*") and i.direction in (direction, "both")
                 and i.start <= now < i.end]
        return max(found, key=lambda i: (i.loss, i.corruption)) if found else None

    def window(self, satellite: str, now: float) -> Any:
        """The window in which ``satellite`` is seen now by a working station (or None)."""
        schedule = self.visibility[satellite]
        window = schedule.window_at(now)
        if window is None or not self.station_down(window.station, now):
            return window
        # The best station is down: is another one seeing the satellite?
        for other in schedule.windows:
            if other.aos <= now <= other.los and not self.station_down(other.station, now):
                return other
        return None

    def _from_space(self, sock: zmq.Socket[Any]) -> None:
        for message in drain(sock, 500):
            self._carry(message, DOWN)

    def _carry(self, message: list[bytes], direction: str) -> None:
        try:
            frame = RadioFrame.from_multipart(message)
        except FrameError as exc:
            self.rejected += 1
            self.log.warning("frame rejected", direction=direction, error=str(exc))
            return
        pipe = self.pipes.get((frame.spacecraft, direction))
        if pipe is None:
            self.rejected += 1
            self.log.warning("frame for an unknown satellite", spacecraft=frame.spacecraft)
            return
        packets = [framed.data for framed in iter_frames(frame.packets)]
        now = self.clock.now()
        window = self.window(frame.spacecraft, now)
        if window is None:
            pipe.drop("-", "no_contact", len(packets))
            return
        station = window.station
        impairment = self.impairment(frame.spacecraft, direction, now)
        if impairment is not None and impairment.loss >= 1.0:
            pipe.drop(station, "cut", len(packets))
            return
        delay = light_time_s(window, now, self.masks[station], self.altitude[frame.spacecraft])
        departures = pipe.offer(packets, now, station, impairment.loss if impairment else None,
                                impairment.corruption if impairment else None)
        if not departures:
            return
        arrive = departures[-1][0] + delay
        self.clock.call_at(arrive, lambda _due: self._arrive(
            frame.spacecraft, frame.vc, direction, window.los, delay, departures))

    def _arrive(self, spacecraft: str, vc: int, direction: str, los: float, delay: float,
                departures: list[tuple[float, bytes]]) -> None:
        pipe = self.pipes[(spacecraft, direction)]
        window = self.window(spacecraft, self.clock.now() - delay)
        station = window.station if window is not None else "-"
        arrived = [packet for left, packet in departures if left + delay <= los]
        cut = len(departures) - len(arrived)
        if cut:
            pipe.drop(station, "los", cut)
        if not arrived:
            return
        for packet in arrived:
            pipe.delivered(station, packet)
        payload = b"".join(arrived)
        if direction == UP:
            frame = RadioFrame(spacecraft, vc, payload)
            try:
                self.uplinks[spacecraft].send_multipart(frame.to_multipart(), zmq.NOBLOCK)
            except zmq.Again:
                pipe.drop(station, "unreachable", len(arrived))
        else:
            self.ground_out.send_multipart(
                [b"TM", spacecraft.encode(), bytes((vc,)), station.encode(), payload])

    # --- statistics ------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters by satellite, direction and station, and the contact state of each."""
        now = self.clock.now()
        out: dict[str, Any] = {"time": now, "rejected": self.rejected, "links": []}
        for (satellite, direction), pipe in self.pipes.items():
            for station, counters in pipe.stats.items():
                out["links"].append({"satellite": satellite, "direction": direction,
                                     "station": station, **counters.to_dict()})
        out["contact"] = {
            name: (window.station if (window := self.window(name, now)) else None)
            for name in self.visibility
        }
        out["outages"] = [list(o) for o in self.outages if o[2] > now]
        return out

    async def _stats_loop(self) -> None:
        # Every half second of wall time: the statistics double as the link's heartbeat, by
        # which ground control knows its connection to the link is live.
        while True:
            self.ground_out.send_multipart([b"STATS", msgpack.packb(self.stats())])
            await asyncio.sleep(STATS_WALL_S)


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
    control.report(runtime.context, runtime.endpoints, "LINK")
    log.info("link up", satellites=list(run.satellites), stations=list(link.masks))
    try:
        await stop.wait()
    finally:
        link.close()
        runtime.close()
    log.info("link down")
    return 0
