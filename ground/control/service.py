"""Ground control as a process: the link, the archive, commanding, ingest and the operator API.

Talks to the space link (PUSH frames to uplink, SUB to what comes down) and to operators
(ROUTER for requests, PUB for live updates; the messages are in :mod:`ground.protocol`). It
predicts the contact plan of the whole network (stations, relays, inter-satellite links),
releases queued commands when a route reaches their satellite, and writes everything to the
archive, committing every half second of wall time so readers see it.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import msgpack
import structlog
import zmq

from common import collector, control, logs
from common.clock import ClockMaster, ClockState
from common.curve import Curve
from common.orbits import elements_from_tle
from common.radio import REALTIME, RadioFrame, RouteTag
from common.runconfig import RunConfig
from common.runtime import Runtime, initial_clock_state
from common.sdls import Signer, read_key_file
from common.zmqloop import NOBLOCK, Readable, drain, send_parts
from ground.archive import ARCHIVE_FILE, Archive
from ground.contacts import release_margin
from ground.control.alarms import Alarms
from ground.control.commanding import Command, Commanding
from ground.control.files import FileReceiver
from ground.control.ingest import Ingest
from ground.control.requests import Requests
from ground.link.config import LinkConfig
from ground.network.plan import GROUND, RELAY, ContactPlan
from ground.network.routing import Route, Router
from ground.passes import CONTACT_PLAN_FILE, network, write_contact_plan

HELLO_WALL_S = 0.5
#: Wall seconds without a word from the space link after which it is considered down.
LINK_SILENCE_WALL_S = 2.0
CONTACT_HORIZON_H = 24.0
#: A command is released only if a route delivers it within this many simulated seconds (the
#: wait of a store-and-forward hop included).
RELEASE_WAIT_S = 60.0
#: Frames of the space link read per turn of the event loop.
DOWNLINK_BATCH_FRAMES = 8
#: Wall seconds that timeouts may wait for ground control to read what has come down.
BEHIND_WALL_S = 10.0


class GroundControl:
    """Everything ground control does, around one event loop."""

    def __init__(self, runtime: Runtime, master: ClockMaster | None = None) -> None:
        self.runtime = runtime
        self.run = runtime.run
        self.clock = runtime.sim_clock  # the clock master's host: it applies changes too
        self.master = master
        self.log = structlog.get_logger("ground")
        self.archive = Archive(self.run.path / ARCHIVE_FILE)
        self.elements = {name: elements_from_tle(name, *self.run.tle[name])
                         for name in self.run.satellites}
        self.network = LinkConfig.from_overrides(self.run.link, seed=self.run.seed)
        self.plan = ContactPlan(self.elements, network(self.run.stations), self.network,
                                CONTACT_HORIZON_H * 3600)
        self.routes = Router(self.plan)
        self.schedules = self.plan.schedules
        self.contact: dict[str, str | None] = dict.fromkeys(self.run.satellites)
        self.link_stats: dict[str, Any] = {}
        self.counters: dict[str, int] = {"requests": 0, "bad_requests": 0, "link_frames": 0,
                                         "link_rejected": 0, "sent": 0, "send_failed": 0}
        self.commanding = Commanding(self.archive, list(self.run.satellites), self.clock.now,
                                     self._send, self._in_contact, self._command_changed)
        self.alarms = Alarms(self.archive, self.publish)
        auto = bool(self.run.control.get("auto_results", True))
        self.files = FileReceiver(self.run.path / "downlink", self.archive, self.commanding,
                                  self.clock.now, self._in_contact, confirm=auto)
        self.ingest = Ingest(self.archive, self.commanding, self.alarms, self.clock.now,
                             self.publish, self.files, auto_downlink=auto)
        self.requests = Requests(self)
        self.signers = _signers(self.run)
        restored = self.commanding.restore()
        alarms, transfers = self.alarms.restore(), self.files.restore()
        if restored or alarms or transfers:
            self.log.info("taken up after a restart", commands=restored, alarms=alarms,
                          transfers=transfers)
        self._readers: list[Readable] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._link_heard = -1e9
        self._behind_since: float | None = None

    # --- start and stop --------------------------------------------------------------------------

    def start(self) -> None:
        """Bind the operator sockets, connect to the link, start the timers."""
        context, endpoints = self.runtime.context, self.runtime.endpoints
        self.curve = Curve(self.run, "GROUND")
        self.router = context.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.curve.serve(context, self.router)
        self.router.bind(endpoints.ground())
        self.pub = context.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.setsockopt(zmq.SNDHWM, 100_000)
        self.curve.serve(context, self.pub)
        self.pub.bind(endpoints.ground_pub())
        self.to_link = context.socket(zmq.PUSH)
        self.to_link.setsockopt(zmq.LINGER, 0)
        self.to_link.setsockopt(zmq.SNDHWM, 10_000)
        self.curve.connect_to(self.to_link, "LINK")
        self.to_link.connect(endpoints.link())
        self.from_link = context.socket(zmq.SUB)
        self.from_link.setsockopt(zmq.LINGER, 0)
        self.from_link.setsockopt(zmq.RCVHWM, 100_000)
        self.from_link.setsockopt(zmq.SUBSCRIBE, b"")
        self.curve.connect_to(self.from_link, "LINK")
        self.from_link.connect(endpoints.link_down())
        self._from_link_reader = Readable(self.from_link, self._downlink)
        self._readers += [Readable(self.router, self._serve), self._from_link_reader]
        now = self.clock.now()
        self.plan.ensure(now)
        relayed = [(c.to, c.via, c.start, c.end) for c in self.plan.contacts(RELAY)
                   if c.frm in self.plan.relays]
        planned = self.passes(now - 3600, now + CONTACT_HORIZON_H * 3600)
        self.archive.set_contacts(planned, relayed)
        write_contact_plan(self.run.path / CONTACT_PLAN_FILE, planned, relayed)
        self.log.info("network", **self.plan.describe())
        self.clock.every(1.0, self._tick)
        self.clock.on_change(lambda state: self.publish("clock", _clock_dict(state)))
        self._tasks.append(asyncio.ensure_future(self._wall_loop()))

    def close(self) -> None:
        """Stop timers and sockets, and close the archive."""
        for task in self._tasks:
            task.cancel()
        for reader in self._readers:
            reader.close()
        for sock in (self.router, self.pub, self.to_link, self.from_link):
            sock.close(0)
        self.curve.close()
        self.archive.close()

    # --- time ------------------------------------------------------------------------------------

    def _tick(self, _due: float) -> None:
        now = self.clock.now()
        for name, route in self.reach_all_now(now).items():
            station = route.path[0] if route is not None else None
            if station != self.contact[name]:
                self.contact[name] = station
                path = route.label if route is not None else None
                self.publish(f"contact/{name}", {"satellite": name, "station": station,
                                                 "path": path, "time": now})
                self.log.info("contact" if station else "loss of signal", satellite=name,
                              station=station, path=path)
        self.files.tick()
        self.commanding.pump()
        if self._caught_up():
            self.commanding.check_timeouts()

    @property
    def reading(self) -> bool:
        """True while frames from the space link wait to be read (ground control is behind)."""
        return self._from_link_reader.pending()

    def _caught_up(self) -> bool:
        """True unless what came down is still waiting to be read: a command does not time out
        while its report may be sitting in ground control's own queue (at 1500× a second of
        reading a long playback is 25 simulated minutes). The wait is bounded in wall time."""
        if not self.reading:
            self._behind_since = None
            return True
        now = time.monotonic()
        if self._behind_since is None:
            self._behind_since = now
        return now - self._behind_since > BEHIND_WALL_S

    async def _wall_loop(self) -> None:
        while True:
            self.archive.commit()
            self.publish("hello", {"time": self.clock.now()})
            if self.master is not None:
                self.master.republish_if_due()
            await asyncio.sleep(HELLO_WALL_S)

    # --- the link --------------------------------------------------------------------------------

    @property
    def link_live(self) -> bool:
        """True while the space link's half-second statistics keep arriving."""
        return time.monotonic() - self._link_heard < LINK_SILENCE_WALL_S

    def reach_now(self, satellite: str, now: float) -> Route | None:
        """The route that reaches ``satellite`` now, if any (its first hop up now)."""
        return self.reach_all_now(now, [satellite])[satellite]

    def reach_all_now(self, now: float, satellites: list[str] | None = None
                      ) -> dict[str, Route | None]:
        """:meth:`reach_now` for every satellite (or those named), with one search."""
        return self.routes.routes_from(GROUND, satellites or list(self.schedules), now,
                                       first_wait_s=0.0, max_wait_s=self.network.store_max_s)

    def reach_next(self, satellite: str, now: float) -> Route | None:
        """The route that reaches ``satellite`` soonest from ``now``, waiting if need be."""
        return self.routes.route(GROUND, satellite, now, max_wait_s=self.network.store_max_s)

    def _in_contact(self, satellite: str, now: float) -> bool:
        if not self.link_live:
            return False  # a command sent now would be lost: hold it
        margin = release_margin(self.clock.rate)
        route = self.routes.route(GROUND, satellite, now, margin_s=margin, first_wait_s=0.0,
                                  max_wait_s=RELEASE_WAIT_S)
        return route is not None and route.arrival - now <= RELEASE_WAIT_S

    def _send(self, command: Command, raw: bytes) -> None:
        satellite = command.satellite
        signer = self.signers.get(satellite)
        if signer is not None:
            raw = signer.sign(raw)
        tag = RouteTag(satellite, t0=self.clock.now(), id=command.id)  # its send time
        frame = RadioFrame(satellite, REALTIME, raw, tag)
        try:
            send_parts(self.to_link, frame.to_multipart(), NOBLOCK)
            self.counters["sent"] += 1
        except zmq.Again:
            self.counters["send_failed"] += 1
            self.log.error("the space link is not taking frames", satellite=satellite)

    def send_link_control(self, message: dict[str, Any]) -> None:
        """A control message to the space link (an exercise act, such as a station outage)."""
        send_parts(self.to_link, [b"CTL", msgpack.packb(message)], NOBLOCK)

    def _downlink(self) -> None:
        # Few frames per turn: a playback frame holds hundreds of packets (tens of ms to
        # ingest), and operators' requests must not wait behind a whole backlog.
        for message in drain(self.from_link, DOWNLINK_BATCH_FRAMES):
            self._link_heard = time.monotonic()
            kind = message[0] if message else b""
            if kind == b"TM" and len(message) == 5 and len(message[2]) == 1:
                self.counters["link_frames"] += 1
                try:
                    satellite = message[1].decode("ascii")
                    station = message[3].decode("ascii")
                except UnicodeDecodeError:
                    self.counters["link_rejected"] += 1
                    continue
                if satellite not in self.contact:
                    self.counters["link_rejected"] += 1
                    continue
                self.ingest.frame(satellite, message[2][0], station, message[4])
            elif kind == b"ROUTE" and len(message) == 2:
                try:
                    report = msgpack.unpackb(message[1])
                    self.commanding.routed(int(report["id"]), [str(p) for p in report["path"]],
                                           float(report["sent"]), float(report["arrived"]))
                except (ValueError, TypeError, KeyError, msgpack.UnpackException):
                    self.counters["link_rejected"] += 1
            elif kind == b"STATS" and len(message) == 2:
                try:
                    self.link_stats = msgpack.unpackb(message[1])
                except (ValueError, msgpack.UnpackException):
                    self.counters["link_rejected"] += 1
            else:
                self.counters["link_rejected"] += 1
                self.log.warning("malformed message from the link", parts=len(message))

    # --- operators -------------------------------------------------------------------------------

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Send a live update to every operator client."""
        send_parts(self.pub, [topic.encode(), msgpack.packb(message, default=str)])

    def _command_changed(self, command: Command, stage: str | None) -> None:
        if command.name == "EXEC.ACTIVATE_KEY" and stage == "COMPLETED":
            signer = self.signers.get(command.satellite)
            if signer is not None:
                signer.use(int(command.args["spi"]))
                self.log.info("telecommand key rotated", satellite=command.satellite,
                              spi=command.args["spi"])
        self.publish(f"cmd/{command.satellite}", {
            "command_id": command.id, "satellite": command.satellite, "name": command.name,
            "state": command.state, "stage": stage, "time": self.clock.now(),
            "failure": command.failure, "path": command.path, "uplink_s": command.uplink_s})

    def _serve(self) -> None:
        for message in drain(self.router, 200):
            if len(message) < 2:  # nobody to answer: counted as a bad request
                self.counters["bad_requests"] += 1
                continue
            identity, body = message[0], message[-1]
            self.router.send_multipart([identity, msgpack.packb(self.requests.handle(body),
                                                                default=str)])

    def passes(self, start: float, end: float, satellite: str | None = None) -> list[Any]:
        """Predicted windows over [start, end]."""
        out = []
        for name, schedule in self.schedules.items():
            if satellite is not None and name != satellite:
                continue
            from ground.passes import passes

            for station in schedule.stations:
                out += passes(schedule.elements, station, start, end)
        return sorted(out, key=lambda p: p.aos)


def _signers(run: RunConfig) -> dict[str, Signer]:
    """A telecommand signer per satellite, when the run has keys (ARSNs kept across restarts)."""
    if not run.key_file:
        return {}
    keys = read_key_file(Path(run.key_file))
    home = run.path / "ground"
    return {name: Signer(name, keys[name], min(keys[name]), home / f"security-{name}.json")
            for name in run.satellites}


def _clock_dict(state: ClockState) -> dict[str, Any]:
    return {"epoch": state.epoch, "sim_anchor": state.sim_anchor,
            "wall_anchor": state.wall_anchor, "rate": state.rate, "paused": state.paused}


def run_ground(run_dir: str, clock_master: bool = False, console: bool = False) -> int:
    """Process entry point: run ground control until SIGTERM or SIGINT."""
    run = RunConfig.load(run_dir)
    log = logs.configure(run.run_dir, "GROUND", console=console)
    try:
        return asyncio.run(_main(run, clock_master, log))
    except Exception:
        log.exception("ground control failed")
        return 1


async def _main(run: RunConfig, clock_master: bool, log: Any) -> int:
    runtime = Runtime(run)
    master = None
    if clock_master:
        master = ClockMaster(runtime.context, runtime.endpoints.clock(),
                             initial_clock_state(run), run.run_dir)
    runtime.follow_clock()
    ground = GroundControl(runtime, master)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ground.start()
    collector.settle()
    control.report(runtime.context, runtime.endpoints, "GROUND")
    log.info("ground control up", satellites=list(run.satellites), clock_master=clock_master)
    started = time.monotonic()
    try:
        await stop.wait()
    finally:
        ground.close()
        if master is not None:
            master.close()
        runtime.close()
    log.info("ground control down", wall_s=round(time.monotonic() - started, 1))
    return 0
