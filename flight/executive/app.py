"""The executive app: the satellite's bus owner, supervisor and radio, on its own bus."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from common import bus, control
from common.dictionary import DICTIONARY, SUPERVISED, RejectReason
from common.dictionary.model import Command
from common.errors import PacketError
from common.framing import cut
from common.localbus import LocalBus
from common.packets import TcPacket, TmPacket, check_frame, is_tc, peek_apid, peek_seq_count
from common.radio import PLAYBACK, REALTIME
from common.zygote import Zygote
from flight.executive.gate import CommandGate, hold_s
from flight.executive.hosts import Hosts, InProcessHosts, ProcessHosts
from flight.executive.radio import Radio
from flight.executive.supervisor import Supervisor
from flight.framework.app import CommandFailed, FailureCode, FlightApp, handles
from flight.framework.busy import watch_counters
from flight.framework.runtime import Runtime

#: APIDs whose packets never leave the satellite (the hardware interface).
ONBOARD_ONLY = frozenset(app.apid for app in DICTIONARY.apps.values() if app.onboard_only)
DOWNLINKED = frozenset(app.apid for app in DICTIONARY.apps.values() if not app.onboard_only)


def executive_subscriptions(satellite: str) -> list[bytes]:
    """What the executive of ``satellite`` receives from its bus: the live telemetry of every
    app the ground hears, each by its own topic (the simulated hardware's sensor traffic, a
    fifth of the bus at 1 Hz, is not even sent to it), playback, control and onboard
    telecommands."""
    return [*(bus.topic(satellite, bus.TM, apid) for apid in sorted(DOWNLINKED)),
            bus.topic(satellite, bus.PB), bus.topic(satellite, bus.CTL, None, ""),
            bus.topic(satellite, bus.ONBOARD)]


class Executive(FlightApp):
    """Owns the bus (its proxy, or the bus in memory where the apps run here), supervises
    the apps, and is the radio."""

    NAME = "EXEC"

    def __init__(self, runtime: Runtime, satellite: str, zygote: Zygote | None,
                 proxy: bus.BusProxy | LocalBus | None = None) -> None:
        super().__init__(runtime, satellite)
        self.proxy = proxy
        hosting = runtime.run.app_hosting
        hosts: Hosts
        if hosting == "executive":
            hosts = InProcessHosts(runtime, satellite)
        elif zygote is None:
            raise ValueError(f"app_hosting {hosting!r} needs a zygote to fork the apps from")
        else:
            hosts = ProcessHosts(zygote, runtime.run, satellite)
        self.supervisor = Supervisor(self, hosts, [app.name for app in SUPERVISED], hosting)
        #: Uplinked telecommands for an app not on the bus are held or refused, not lost.
        timing = runtime.run.timing
        self.gate = CommandGate(self, self.supervisor,
                                {app.apid: app.name for app in SUPERVISED},
                                timing.ready_timeout_wall_s, hold_s(timing))
        self.radio: Radio | None = None
        self._watchdog: Any = None
        self.last_command_sim: float | None = None
        self._reported_ready = False
        #: Set once every supervised app has been running (the satellite is ready).
        self.all_up = asyncio.Event()
        #: Live-telemetry topics the radio sends down as they come: topic → (APID, channel).
        self._downlinked_topics = {
            **{bus.topic(satellite, bus.TM, apid): (apid, REALTIME) for apid in DOWNLINKED},
            **{bus.topic(satellite, bus.PB, apid): (apid, PLAYBACK) for apid in DOWNLINKED},
        }

    def subscriptions(self) -> list[bytes]:
        return executive_subscriptions(self.satellite)

    async def on_start(self) -> None:
        self.radio = Radio(self)
        # The watchdog looks afresh from now (not from when the executive was built).
        self.supervisor.lookout.reset(self.clock.now(), time.monotonic(), self.input_backlogs())
        self._watchdog = self.clock.every(self.supervisor.lookout.period_s, self._watch)
        await self.supervisor.start_all()

    async def on_stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        await self.supervisor.shutdown()
        self.gate.check(self.clock.now())  # what still waits is refused, not forgotten
        if self.radio is not None:
            self.radio.close()

    def _watch(self, due: float) -> None:
        self.supervisor.check_heartbeats(due)
        self.gate.check(self.clock.now())

    def on_onboard_command(self, tc: TcPacket, data: bytes) -> None:
        self.gate.route(tc, data, self.clock.now())

    def publish_tc(self, apid: int, data: bytes) -> None:
        """Put an uplinked telecommand on the bus, for the app of ``apid``."""
        assert self.publisher is not None
        self.publisher.send(bus.topic(self.satellite, bus.TC, apid), data)

    # --- bus traffic -----------------------------------------------------------------------------

    def _handle_message(self, message: bus.Message) -> None:
        # The radio's hot path: a batch of one app's telemetry goes down as it came, once its
        # framing, CRCs, APIDs and sequence counts are checked (the fields inside are the
        # ground's to read, so no packet is decoded here).
        if len(message) == 2 and self.radio is not None:
            found = self._downlinked_topics.get(message[0])
            if found is not None:
                self._downlink_batch(message[0], message[1], *found)
                return
        super()._handle_message(message)

    def _downlink_batch(self, topic: bytes, payload: bytes, apid: int, vc: int) -> None:
        assert self.radio is not None
        good: list[bytes] = []
        packets, end = cut(payload)
        for data in packets:
            try:
                check_frame(data)
            except PacketError as exc:
                self.reject_malformed(exc)
                continue
            if is_tc(data):
                self.reject(RejectReason.WRONG_PACKET_TYPE, f"TC on {topic!r}")
                continue
            if (found := peek_apid(data)) != apid:
                self.reject(RejectReason.BAD_TOPIC, f"APID 0x{found:03X} on {topic!r}")
                continue
            if vc == REALTIME:
                self._observe(apid, peek_seq_count(data))
            good.append(data)
        if end != len(payload):
            self.reject(RejectReason.TOO_SHORT, f"{len(payload) - end} trailing bytes")
        elif good and len(good) == len(packets):
            self.radio.transmit(payload, vc, len(packets))  # the batch whole, as it came
            return
        for data in good:
            self.radio.transmit(data, vc)

    def on_telemetry(self, packet: TmPacket, raw: bytes, kind: str) -> None:
        # Only what the fast path above does not take: a telemetry topic without an APID.
        if self.radio is not None and packet.apid not in ONBOARD_ONLY:
            self.radio.transmit(raw, PLAYBACK if kind == bus.PB else REALTIME)

    def on_control(self, topic: bus.Topic, message: Any) -> None:
        if not topic.rest or not isinstance(message, dict):
            return
        kind = topic.rest[0]
        if kind not in ("HB", "READY"):
            return
        app, pid, generation = message.get("app"), message.get("pid", 0), message.get("gen", 0)
        if not isinstance(app, str) or not _is_int(pid) or not _is_int(generation):
            self.reject(RejectReason.BAD_MESSAGE,
                        f"{kind} with app {app!r}, pid {pid!r}, generation {generation!r}")
        elif kind == "HB":
            self.supervisor.beat(app, pid, generation)
        else:
            self.supervisor.ready(app, pid, generation)

    def all_running(self) -> None:
        """Every supervised app is up: the satellite is ready (told once to the launcher)."""
        if not self._reported_ready:
            self._reported_ready = True
            self.all_up.set()
            control.report(self.runtime.context, self.runtime.endpoints,
                           f"{self.satellite}", apps=list(self.supervisor.children))

    def command_received(self) -> None:
        """A valid telecommand came up the uplink."""
        self.last_command_sim = self.clock.now()

    # --- housekeeping ----------------------------------------------------------------------------

    def status_values(self) -> dict[str, Any]:
        values = self.supervisor.table()
        values.update(self.radio.counters() if self.radio else
                      {"UPLINK_PACKETS": 0, "UPLINK_REJECTED": 0, "DOWNLINK_PACKETS": 0,
                       "AUTH_REJECTED": 0, "ACTIVE_SPI": 0, "FORWARDED_FRAMES": 0,
                       "FORWARDED_BYTES": 0})
        packets = 0
        if self.proxy is not None:
            try:
                packets = self.proxy.statistics()["in_msgs"]
            except Exception:  # the proxy is stopping: report what we last knew
                packets = 0
        values["BUS_PACKETS"] = packets & 0xFFFFFFFF
        values.update(watch_counters(self.supervisor.lookout, self.supervisor.busy))
        values.update(TC_HELD=self.gate.held_total & 0xFFFFFFFF,
                      TC_WAITING=min(self.gate.waiting(), 0xFFFF),
                      TC_NOT_DELIVERED=self.gate.refused_total & 0xFFFFFFFF)
        return values

    # --- commands --------------------------------------------------------------------------------

    def _child(self, name: str) -> str:
        if name not in self.supervisor.children:
            raise CommandFailed(FailureCode.UNKNOWN_APP, f"no app {name}", stage="start")
        return name

    def accept(self, command: Command, args: dict[str, Any]) -> None:
        child = self.supervisor.children.get(args.get("app", ""))
        if command.verb == "RESTART_APP" and child is not None and not child.wanted:
            # Stopped by command, it stays stopped until START_APP: a restart asked by fault
            # protection for its silence must not undo an operator's stop.
            raise CommandFailed(FailureCode.NOT_ALLOWED_IN_MODE,
                                f"{child.name} was stopped by command; START_APP starts it")

    @handles("RESTART_APP")
    async def restart_app(self, args: dict[str, Any]) -> None:
        await self.supervisor.restart(self._child(args["app"]))

    @handles("STOP_APP")
    async def stop_app(self, args: dict[str, Any]) -> None:
        await self.supervisor.stop(self._child(args["app"]))

    @handles("START_APP")
    async def start_app(self, args: dict[str, Any]) -> None:
        await self.supervisor.start(self._child(args["app"]))

    @handles("ACTIVATE_KEY")
    def activate_key(self, args: dict[str, Any]) -> None:
        verifier = self.radio.verifier if self.radio is not None else None
        if verifier is None:
            raise CommandFailed(FailureCode.NOT_ALLOWED_IN_MODE,
                                "telecommand authentication is not configured", 0, "start")
        try:
            verifier.activate(args["spi"])
        except KeyError:
            raise CommandFailed(FailureCode.INVALID_ARGUMENT, f"no key SPI {args['spi']}", 1,
                                "start") from None
        self.event("KEY_ACTIVATED", spi=args["spi"])


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
