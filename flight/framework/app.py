"""The flight application base: what every app on the satellite bus does the same way.

A subclass names its dictionary entry and writes one handler per command::

    class Housekeeping(FlightApp):
        NAME = "HK"

        @handles("PLAYBACK")
        def playback(self, args): ...

The base registers the handlers against the dictionary (a command without a handler, or a
handler for no command, is an error at construction), answers the standard commands (PING,
NOOP, RESET_COUNTERS, the PUS 3 housekeeping controls, PUS 20 parameters), sends PUS 1
verification reports as each telecommand's acknowledgement flags ask (failures always),
keeps the command, error, rejection and gap counters, generates periodic housekeeping on
simulated time, sends a heartbeat, and raises events.

An app never assumes it is alone in its process: everything it owns hangs off ``self`` and the
:class:`~flight.framework.runtime.Runtime` it is given.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
import os
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

import msgpack
import structlog
from mypy_extensions import mypyc_attr

from common import bus
from common.cuc import CucTime
from common.dictionary import DICTIONARY, DICTIONARY_VERSION, GROUND_ID, FailureCode, RejectReason
from common.dictionary.model import App as AppDefinition
from common.dictionary.model import Command, Structure
from common.dictionary.registry import DecodedTm
from common.dictionary.standard import STATUS_SID, request_words
from common.errors import BadArguments, PacketError, UnknownApid, UnknownCommand
from common.framing import cut
from common.localbus import LocalBus, LocalSubscriber
from common.packets import AckFlags, TcPacket, TmPacket, encode_tc, pack_tm
from common.sequence import GapCounter, SequenceCounter
from common.zmqloop import Readable, each_message
from flight.framework.decoded import DECODED
from flight.framework.runtime import Runtime

Handler = Callable[..., Any]

#: The methods marked by :func:`handles`, with their verb and whether they are optional. Kept
#: here rather than on the functions: a method compiled by mypyc has no ``__dict__``, and the
#: class keeps the very object the decorator returned.
_MARKS: dict[Handler, tuple[str, bool]] = {}


class CommandFailed(Exception):
    """Raised by a handler: the command fails with a PUS 1 failure code.

    ``stage="start"`` makes it a start failure (TM[1,4]) instead of a completion failure.
    """

    def __init__(self, code: FailureCode, message: str, data: int = 0,
                 stage: str = "completion") -> None:
        super().__init__(message)
        self.code = code
        self.data = data
        self.stage = stage


def handles(verb: str, *, optional: bool = False) -> Callable[[Handler], Handler]:
    """Mark a method as the handler of the app's command ``verb``.

    ``optional`` handlers (the base's PUS 20 parameter commands) are ignored by apps whose
    dictionary entry has no such command.
    """

    def mark(method: Handler) -> Handler:
        _MARKS[method] = (verb, optional)
        return method

    return mark


#: TM packets every app keeps for retransmission to the recorder.
TM_HISTORY = 4096
#: Bus messages handled per wake-up before the loop serves anything else.
DRAIN_BATCH = 500
#: Minimum wall seconds between two events of the same kind about rejected input.
_REJECT_EVENT_GAP_WALL_S = 0.1


@mypyc_attr(allow_interpreted_subclasses=True)  # an app need not be compiled to be one
class FlightApp:
    """Base of every flight application."""

    NAME: ClassVar[str] = ""

    def __init__(self, runtime: Runtime, satellite: str) -> None:
        self.runtime = runtime
        self.satellite = satellite
        self.definition: AppDefinition = DICTIONARY.apps[self.NAME]
        self.apid = self.definition.apid
        self.clock = runtime.clock
        self.log = structlog.get_logger(self.NAME).bind(satellite=satellite, app=self.NAME)
        self._handlers = self._collect_handlers()
        self.counters = dict.fromkeys(
            ("CMD_COUNT", "CMD_ERR_COUNT", "PKT_REJECTED", "SEQ_GAPS", "EVENTS"), 0
        )
        self.rejections: dict[str, int] = {}
        self.params = {s.short: s.default for s in self.definition.settings}
        self._seq = SequenceCounter()
        #: The last TM packets sent, kept to fill the recorder's gaps on request.
        self._history: deque[tuple[int, bytes]] = deque(maxlen=TM_HISTORY)
        self._msg_counters: dict[tuple[int, int], int] = {}
        self._gaps = GapCounter()
        self._ignored: frozenset[bytes] = frozenset()
        self.ignored_messages = 0
        #: The periodic reports, by interval: one timer for every structure of that interval
        #: (due at its whole multiples, so together), and those structures, in SID order.
        self._hk_timers: dict[float, Any] = {}
        self._hk_due: dict[float, list[int]] = {}
        self._hk_enabled = {s.sid: s.enabled for s in self.definition.structures}
        self._hk_interval = {s.sid: s.interval_s for s in self.definition.structures}
        self._structures = {s.sid: s for s in self.definition.structures}
        #: The status structure's parameter names without "APP.", in its order.
        self._status_keys = _short_names(self.NAME, self._structures.get(STATUS_SID))
        self._started_sim = self.clock.now()
        self._heartbeat_timer: Any = None
        self._heartbeats = 0
        self._last_reject_event: dict[str, float] = {}
        self._tm_topic = bus.topic(satellite, bus.TM, self.apid)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.publisher: bus.PublisherPort | None = None
        self.subscriber: bus.SubscriberPort | None = None
        self._readable: Readable | None = None
        self._local_subscriber: LocalSubscriber | None = None
        self.running = False
        self._stopped = False
        #: Which start of its host this app is, when a host starts its apps in place
        #: (flight.executive.hosts); 0 for an app with a process of its own. In READY and
        #: heartbeats, so that the supervisor tells this app from the one it replaced.
        self.generation = 0
        self._clock_listener: Callable[[Any], None] | None = None

    # --- handler registration --------------------------------------------------------------------

    def _collect_handlers(self) -> dict[str, Handler]:
        found: dict[str, Handler] = {}
        verbs = {command.verb for command in self.definition.commands}
        for klass in reversed(type(self).__mro__):
            for name, attr in vars(klass).items():
                mark = _MARKS.get(attr) if callable(attr) else None
                if mark is None or (mark[1] and mark[0] not in verbs):
                    continue
                found[mark[0]] = getattr(self, name)
        missing = sorted(verbs - set(found))
        extra = sorted(set(found) - verbs)
        if missing or extra:
            raise TypeError(
                f"{type(self).__name__}: handlers do not match the dictionary of "
                f"{self.NAME}: missing {missing}, unknown {extra}"
            )
        return found

    # --- hooks for subclasses --------------------------------------------------------------------

    def subscriptions(self) -> list[bytes]:
        """Extra topic prefixes to receive (own telecommands are always received)."""
        return []

    def ignored_topics(self) -> frozenset[bytes]:
        """Topics that the subscriptions take in but this app has no use for (its own
        telemetry, say): their messages are counted in ``ignored_messages`` and not opened."""
        return frozenset()

    def on_telemetry(self, packet: TmPacket, raw: bytes, kind: str) -> None:
        """A telemetry packet arrived from the bus (with a TM, PB or RT subscription);
        ``kind`` says which: live, recorder playback, or retransmission."""

    def on_command_seen(self, tc: TcPacket) -> None:
        """A telecommand for another app passed by (with a subscription to other TCs)."""

    def on_control(self, topic: bus.Topic, message: Any) -> None:
        """A control message arrived from the bus (only with a CTL subscription)."""

    def status_values(self) -> dict[str, Any]:
        """This app's own status parameters, by short name (beyond the standard counters)."""
        return {}

    def structure_values(self, structure: Structure) -> Mapping[str, Any] | None:
        """Values of a housekeeping structure other than STATUS, by full parameter name;
        ``None`` when there is nothing to report yet (no report is sent)."""
        return None

    def structure_app_data(self, structure: Structure) -> bytes | None:
        """The application data of a report of a structure other than STATUS (its values by
        :meth:`structure_values`, encoded); ``None``: no report."""
        values = self.structure_values(structure)
        return None if values is None else DICTIONARY.hk_app_data(structure, values)

    async def on_start(self) -> None:
        """Called once the app is live on the bus, before it announces itself ready."""

    async def on_stop(self) -> None:
        """Called when the app stops."""

    # --- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Join the bus (over ZeroMQ, proving the subscriptions live, or in memory where the
        satellite's bus runs in this process), start timers, announce ready."""
        local = self.runtime.local_buses.get(self.satellite)
        if local is not None:
            took = self._join_local_bus(local)
        else:
            took = await self._join_bus()
        for sid in self._structures:
            self._arm_hk(sid)
        await self.on_start()
        self.event("STARTED", pid=os.getpid(), app_version=DICTIONARY_VERSION)
        self._heartbeat(self.clock.now())
        self._clock_listener = self._clock_changed  # the one object given, the one taken back
        self.clock.on_change(self._clock_listener)
        assert self.publisher is not None
        self.publisher.send_control(
            bus.topic(self.satellite, bus.CTL, None, "READY", self.NAME),
            {"app": self.NAME, "pid": os.getpid(), "gen": self.generation,
             "sim": self.clock.now()},
        )
        self.log.info("ready", bus_probe_wall_s=round(took, 4))

    def _subscribe_all(self, subscriber: bus.SubscriberPort) -> None:
        subscriber.subscribe(bus.topic(self.satellite, bus.TC, self.apid))
        subscriber.subscribe(bus.topic(self.satellite, bus.CTL, None, "NACK", self.NAME))
        for prefix in self.subscriptions():
            subscriber.subscribe(prefix)
        self._ignored = self.ignored_topics()

    async def _join_bus(self) -> float:
        """Connect to the bus proxy, prove the subscriptions live and start reading; the wall
        seconds the proof took."""
        endpoints = self.runtime.endpoints
        publisher = self.publisher = bus.Publisher(self.runtime.context,
                                                   endpoints.bus_in(self.satellite))
        subscriber = self.subscriber = bus.Subscriber(self.runtime.context,
                                                      endpoints.bus_out(self.satellite))
        self._subscribe_all(subscriber)
        held: list[list[bytes]] = []
        took = await bus.prove_live(
            publisher, subscriber, self.satellite, self.NAME,
            self.runtime.run.timing.ready_timeout_wall_s, held,
        )
        self.running = True
        self._started_sim = self.clock.now()
        for message in held:
            self._handle_guarded(message)
        self._readable = Readable(
            subscriber.socket,
            each_message(subscriber.socket, self._handle_message, self._message_failed,
                         DRAIN_BATCH),
            on_error=lambda exc: self._message_failed([], exc),
            pacer=self.clock,
        )
        return took

    def _join_local_bus(self, local: LocalBus) -> float:
        """Publish and subscribe at the bus in this process: its subscriptions are live as
        they are made, so there is nothing to prove (0 s)."""
        self.publisher = local.publisher()
        subscriber = self._local_subscriber = local.subscriber(
            self._handle_message, self._message_failed, DRAIN_BATCH)
        self.subscriber = subscriber
        self._subscribe_all(subscriber)
        self.running = True
        self._started_sim = self.clock.now()
        return 0.0

    async def stop(self, signal_number: int = 0) -> None:
        """Stop timers and input, say so, flush and close (once; an app whose start was cut
        short — hosted in place, say — closes what it had opened too)."""
        if self._stopped:
            return
        self._stopped = True
        running, self.running = self.running, False
        if running and signal_number:
            self.event("STOPPING", signal=signal_number)
        for timer in self._hk_timers.values():
            timer.cancel()
        if self._heartbeat_timer is not None:
            self._heartbeat_timer.cancel()
        if self._readable is not None:
            self._readable.close()
        if self._local_subscriber is not None:
            self._local_subscriber.close()
        if self._clock_listener is not None:
            self.clock.off_change(self._clock_listener)
        for task in list(self._tasks):
            task.cancel()
        await self.on_stop()
        if self.publisher is not None:
            self.publisher.close()
        if self.subscriber is not None:
            self.subscriber.close()
        self.log.info("stopped")

    def spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run a task owned by this app (cancelled when it stops)."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.error("task failed", exc_info=task.exception())

    # --- receiving -------------------------------------------------------------------------------

    def _handle_guarded(self, message: bus.Message) -> None:
        try:
            self._handle_message(message)
        except Exception as exc:
            self._message_failed(message, exc)

    def _message_failed(self, message: bus.Message, exc: Exception) -> None:
        """Handling one bus message (or one packet of it) raised: it is rejected, counted and
        evented like malformed input, and the messages after it are handled as usual."""
        topic = message[0][:64] if message else b""
        self.log.error("bus message handling failed", topic=topic, exc_info=exc)
        self.reject(RejectReason.BAD_MESSAGE, f"handling a message on {topic!r} failed: {exc!r}")

    def input_backlogs(self) -> int:
        """Times this app's bus input was left waiting after a full batch (it was behind)."""
        if self._readable is not None:
            return self._readable.backlogs
        return self._local_subscriber.backlogs if self._local_subscriber is not None else 0

    def _handle_message(self, message: bus.Message) -> None:
        if len(message) != 2:
            self.reject(RejectReason.BAD_MESSAGE, f"{len(message)}-part bus message")
            return
        raw_topic, payload = message
        if raw_topic in self._ignored:
            self.ignored_messages += 1
            return
        try:
            topic = bus.parse_topic(raw_topic)
        except (ValueError, UnicodeDecodeError):
            self.reject(RejectReason.BAD_TOPIC, f"bad topic {raw_topic[:64]!r}")
            return
        if topic.kind == bus.CTL:
            try:
                content = msgpack.unpackb(payload)
            except (ValueError, msgpack.UnpackException):
                self.reject(RejectReason.BAD_MESSAGE, f"control message on {raw_topic!r}")
                return
            if topic.rest[:2] == ("NACK", self.NAME) and isinstance(content, dict):
                self._retransmit(content)
            else:
                self.on_control(topic, content)
            return
        packets, end = cut(payload)
        for data in packets:
            try:  # one packet of a batch that cannot be handled must not cost the others
                self._handle_packet(topic, data)
            except Exception as exc:
                self._message_failed([raw_topic, data], exc)
        if end != len(payload):
            self.reject(RejectReason.TOO_SHORT, f"{len(payload) - end} trailing bytes")

    def _handle_packet(self, topic: bus.Topic, data: bytes) -> None:
        try:
            packet = DECODED.packet(data)
        except PacketError as exc:
            self.reject_malformed(exc)
            return
        if packet.apid != topic.apid:
            self.reject(RejectReason.BAD_TOPIC, f"APID 0x{packet.apid:03X} on {topic}")
            return
        if isinstance(packet, TcPacket):
            if topic.kind == bus.ONBOARD:
                self.on_onboard_command(packet, data)
                return
            if topic.kind != bus.TC:
                self.reject(RejectReason.WRONG_PACKET_TYPE, f"TC on {topic}")
                return
            if packet.apid == self.apid:
                self._observe((packet.apid, packet.source_id), packet.seq_count)
                self._handle_command(packet)
            else:
                # Not counted for gaps: another app's telecommands the executive refused
                # (its app stopped) never reach the bus, and are no loss of ours.
                self.on_command_seen(packet)
        else:
            if topic.kind in (bus.TC, bus.ONBOARD):
                self.reject(RejectReason.WRONG_PACKET_TYPE, f"TM on {topic}")
                return
            if topic.kind == bus.TM:
                self._observe(packet.apid, packet.seq_count)
            self.on_telemetry(packet, data, topic.kind)

    def _observe(self, stream: object, count: int) -> None:
        missing = self._gaps.observe(stream, count)
        if missing:
            self.counters["SEQ_GAPS"] += missing
            apid = stream[0] if isinstance(stream, tuple) else stream
            self.event("SEQUENCE_GAP", apid=apid, missing=missing)

    def decode_tm(self, packet: TmPacket) -> DecodedTm:
        """The values of a telemetry packet received (decoded once for every app of the
        process: read them, do not change them); raises as :meth:`Dictionary.decode_tm`."""
        return DECODED.tm(packet)

    def reject_malformed(self, exc: PacketError) -> None:
        """Count a packet that failed its checks (an idle packet is filler: not counted)."""
        if exc.reason != "idle":
            self.reject(RejectReason.of(exc), str(exc))

    def reject(self, reason: RejectReason, detail: str, event: str = "PACKET_REJECTED",
               reason_arg: str | None = None, count: int | None = None) -> None:
        """Count a packet or message dropped as malformed, log it, and raise ``event`` about it
        (at most one per reason every 0.1 wall seconds; the count in it says how many)."""
        self.counters["PKT_REJECTED"] += 1
        self.rejections[reason.name] = self.rejections.get(reason.name, 0) + 1
        self.log.warning("packet rejected", reason=reason.name, detail=detail)
        now = asyncio.get_running_loop().time()
        key = f"{event}/{reason_arg or reason.name}"
        if now - self._last_reject_event.get(key, -1e9) >= _REJECT_EVENT_GAP_WALL_S:
            self._last_reject_event[key] = now
            args: dict[str, Any] = {"reason": reason_arg or reason.name}
            if event == "PACKET_REJECTED":
                args["count"] = self.counters["PKT_REJECTED"]
            elif count is not None:
                args["count"] = count
            self.event(event, **args)

    # --- telecommands and their verification -----------------------------------------------------

    def accept(self, command: Command, args: dict[str, Any]) -> None:
        """Checks an app makes before accepting a command its dictionary entry cannot express
        (the arguments are already decoded and range-checked); raise :class:`CommandFailed`
        to refuse it with TM[1,2]. Accepts everything by default."""

    def _handle_command(self, tc: TcPacket) -> None:
        try:
            decoded = DICTIONARY.decode_command(tc)
        except UnknownCommand as exc:
            code = FailureCode.ILLEGAL_FUNCTION if exc.is_function else FailureCode.ILLEGAL_SERVICE
            self.refuse_command(tc, code, str(exc))
            return
        except BadArguments as exc:
            self.refuse_command(tc, FailureCode.INVALID_ARGUMENT, str(exc), _arg_index(tc, exc))
            return
        except UnknownApid as exc:
            self.refuse_command(tc, FailureCode.ILLEGAL_APID, str(exc))
            return
        command = decoded.command
        try:
            self.accept(command, decoded.args)
        except CommandFailed as failed:
            self.refuse_command(tc, failed.code, str(failed), failed.data)
            return
        if tc.ack_flags & AckFlags.ACCEPTANCE:
            self._verify(tc, 1)
        handler = self._handlers[command.verb]
        try:
            result = handler(decoded.args)
        except CommandFailed as failed:
            self._fail(tc, command, failed)
            return
        except Exception as crash:
            self.log.exception("command handler failed", command=command.name)
            self._fail(tc, command, CommandFailed(FailureCode.EXECUTION_FAILED, repr(crash)))
            return
        if tc.ack_flags & AckFlags.START:
            self._verify(tc, 3)
        if inspect.isawaitable(result):
            self.spawn(self._complete_later(tc, command, result))
        else:
            self._complete(tc, command)

    async def _complete_later(self, tc: TcPacket, command: Command, work: Awaitable[Any]) -> None:
        try:
            await work
        except CommandFailed as exc:
            exc.stage = "completion"
            self._fail(tc, command, exc)
            return
        except asyncio.CancelledError:
            self._fail(tc, command, CommandFailed(FailureCode.EXECUTION_FAILED, "app stopped"))
            raise
        except Exception as crash:
            self.log.exception("command failed", command=command.name)
            self._fail(tc, command, CommandFailed(FailureCode.EXECUTION_FAILED, repr(crash)))
            return
        self._complete(tc, command)

    def _complete(self, tc: TcPacket, command: Command) -> None:
        self.counters["CMD_COUNT"] += 1
        if tc.ack_flags & AckFlags.COMPLETION:
            self._verify(tc, 7)
        self.log.info("command completed", command=command.name, seq=tc.seq_count)

    def _fail(self, tc: TcPacket, command: Command, exc: CommandFailed) -> None:
        self.counters["CMD_ERR_COUNT"] += 1
        subtype = 4 if exc.stage == "start" else 8
        self._verify(tc, subtype, exc.code, exc.data)
        self.event("COMMAND_REJECTED", service=tc.service, subtype=tc.subtype,
                   function=command.function_id or 0, code=exc.code.name, apid=tc.apid)
        self.log.warning("command failed", command=command.name, code=exc.code.name,
                         detail=str(exc))

    def refuse_command(self, tc: TcPacket, code: FailureCode, detail: str,
                       data: int = 0) -> None:
        """Acceptance failure (TM[1,2]): always reported, whatever the ack flags (the
        executive sends it for a telecommand its app is not there to refuse)."""
        self.counters["CMD_ERR_COUNT"] += 1
        self._verify(tc, 2, code, data)
        function = int.from_bytes(tc.app_data[:2], "big") if tc.service == 8 else 0
        self.event("COMMAND_REJECTED", service=tc.service, subtype=tc.subtype,
                   function=function, code=code.name, apid=tc.apid)
        self.log.warning("command refused", code=code.name, detail=detail, seq=tc.seq_count)

    def _verify(self, tc: TcPacket, subtype: int, code: FailureCode | None = None,
                data: int = 0) -> None:
        packet_id, sequence = request_words(tc.apid, tc.seq_count)
        values: dict[str, Any] = {"packet_id": packet_id, "sequence": sequence}
        if code is not None:
            values.update(code=code.name, data=data)
        report = DICTIONARY.standard_report(1, subtype)
        self.send_tm(1, subtype, DICTIONARY.report_app_data(report, values), dest=tc.source_id)

    # --- sending ---------------------------------------------------------------------------------

    def send_tm(self, service: int, subtype: int, app_data: bytes, *,
                time: float | None = None, dest: int = GROUND_ID) -> bytes:
        """Publish one TM packet of this app (time defaults to now); return its bytes."""
        key = (service, subtype)
        counter = self._msg_counters.get(key, 0)
        self._msg_counters[key] = (counter + 1) & 0xFFFF
        seq = self._seq.next(self.apid)
        packet = pack_tm(self.apid, service, subtype, app_data, seq, counter, dest,
                         CucTime.from_unix(self.clock.now() if time is None else time))
        self._history.append((seq, packet))
        self.emit_tm(packet)
        return packet

    def emit_tm(self, packet: bytes) -> None:
        """Put one of this app's encoded TM packets on the bus."""
        if self.publisher is not None:
            self.publisher.send(self._tm_topic, packet)

    def _retransmit(self, request: dict[str, Any]) -> None:
        """Send again the packets the recorder asks for, if we still hold them."""
        wanted = request.get("seqs")
        if not isinstance(wanted, list) or self.publisher is None:
            return
        wanted_set = set(wanted)
        topic = bus.topic(self.satellite, bus.RT, self.apid)
        sent = 0
        for seq, packet in self._history:
            if seq in wanted_set:
                self.publisher.send(topic, packet)
                sent += 1
        self.log.info("retransmitted", asked=len(wanted_set), sent=sent)

    def send_command(self, name: str, **args: Any) -> TcPacket:
        """Send an onboard telecommand ``APP.VERB`` (source ID: this app's APID).

        It goes by way of the executive, which holds it while its app is on the way back and
        refuses it (TM[1,2] to this app) when that app is stopped: see
        :mod:`flight.executive.gate`. No success is reported; a failure always is."""
        command = DICTIONARY.command(name)
        tc = TcPacket(command.apid, command.service, command.subtype,
                      DICTIONARY.command_app_data(command, args),
                      self._seq.next(command.apid), self.apid, AckFlags.NONE)
        assert self.publisher is not None
        self.publisher.send(bus.topic(self.satellite, bus.ONBOARD, command.apid), encode_tc(tc))
        return tc

    def on_onboard_command(self, tc: TcPacket, data: bytes) -> None:
        """An onboard telecommand on its way to the executive (only the executive takes it)."""
        self.reject(RejectReason.WRONG_PACKET_TYPE, f"onboard TC for 0x{tc.apid:03X} here")

    def event(self, short: str, **args: Any) -> None:
        """Raise this app's event ``short`` (TM[5,severity])."""
        event = self.definition.event(short)
        self.counters["EVENTS"] += 1
        self.send_tm(5, int(event.severity), DICTIONARY.event_app_data(event, args))
        self.log.info("event raised", name=event.name, severity=event.severity.name,
                      text=event.message.format(**args))

    # --- housekeeping ----------------------------------------------------------------------------

    def _arm_hk(self, sid: int) -> None:
        """(Re)schedule structure ``sid``'s reports by its interval and enabled flag."""
        for period, sids in list(self._hk_due.items()):
            if sid in sids:
                sids.remove(sid)
                if not sids:
                    del self._hk_due[period]
                    self._hk_timers.pop(period).cancel()
        if not self._hk_enabled[sid]:
            return
        # Due at whole multiples of the interval (simulated time): the reports of an app due
        # together are made from one timer tick, and those of a process in one wake, stamped
        # with one time.
        period = self._hk_interval[sid]
        cohort = self._hk_due.get(period)
        if cohort is not None:
            cohort.append(sid)
            cohort.sort()
            return
        self._hk_due[period] = [sid]
        self._hk_timers[period] = self.clock.every(
            period, functools.partial(self._report_due, period),
            first=(math.floor(self.clock.now() / period) + 1) * period)

    def _report_due(self, period: float, due: float) -> None:
        """The reports of every structure of interval ``period``, due at ``due``; one that
        fails is logged, and costs the others nothing."""
        for sid in tuple(self._hk_due.get(period, ())):
            try:
                self.report_hk(sid, due)
            except Exception:
                self.log.exception("housekeeping report failed", sid=sid, due=due)

    def report_hk(self, sid: int, due: float | None = None) -> None:
        """Send one TM[3,25] report of structure ``sid`` (stamped ``due``, default now)."""
        structure = self._structures[sid]
        if sid == STATUS_SID:  # values by short name: the structure's names less "APP."
            app_data = DICTIONARY.hk_app_data(structure, self._status(due), self._status_keys)
        else:
            found = self.structure_app_data(structure)
            if found is None:
                return
            app_data = found
        self.send_tm(3, 25, app_data, time=due)

    def _status(self, due: float | None) -> dict[str, Any]:
        """The values of this app's status structure, by their names without "APP."."""
        now = self.clock.now() if due is None else due
        assert self.publisher is not None
        return {
            **self.counters,
            # What it could not send, and, on the bus in memory, what came for it while it
            # was too far behind to take it (a socket's drops show only as sequence gaps).
            "BUS_DROPS": self.publisher.dropped + (self._local_subscriber.dropped
                                                   if self._local_subscriber is not None else 0),
            "UPTIME": max(0, min(int(now - self._started_sim), 0xFFFFFFFF)),
            **self.status_values(),
        }

    def _clock_changed(self, _state: Any) -> None:
        # The next heartbeat was planned at the old rate: after a drop from 400x to 20x it
        # would come twenty times too late and the app be taken for hung. Beat now, re-plan.
        if self.running and self._heartbeat_timer is not None:
            self._heartbeat_timer.cancel()
            self._heartbeat(self.clock.now())

    def _heartbeat(self, _due: float) -> None:
        timing = self.runtime.run.timing
        self._heartbeats += 1
        assert self.publisher is not None
        self.publisher.send_control(
            bus.topic(self.satellite, bus.CTL, None, "HB", self.NAME),
            {"app": self.NAME, "pid": os.getpid(), "gen": self.generation,
             "seq": self._heartbeats,
             "sim": self.clock.now()},
        )
        # On simulated time, but at high rates no more often than four times per wall-clock
        # silence a watchdog tolerates (a heartbeat per wall millisecond would be waste).
        period = max(timing.heartbeat_s, self.clock.rate * timing.heartbeat_timeout_wall_s / 4)
        self._heartbeat_timer = self.clock.call_later(period, self._heartbeat)

    # --- standard commands -----------------------------------------------------------------------

    @handles("PING")
    def _ping(self, args: dict[str, Any]) -> None:
        self.send_tm(17, 2, b"")

    @handles("NOOP")
    def _noop(self, args: dict[str, Any]) -> None:
        self.event("NOOP", commands=self.counters["CMD_COUNT"] + 1)

    @handles("RESET_COUNTERS")
    def _reset_counters(self, args: dict[str, Any]) -> None:
        for name in self.counters:
            self.counters[name] = 0
        self.rejections.clear()
        # This command itself is counted after the reset, as cFS apps do.
        self.event("COUNTERS_RESET")

    @handles("ENABLE_HK")
    def _enable_hk(self, args: dict[str, Any]) -> None:
        self._set_hk(args["structure"], enabled=True)

    @handles("DISABLE_HK")
    def _disable_hk(self, args: dict[str, Any]) -> None:
        self._set_hk(args["structure"], enabled=False)

    @handles("SET_HK_INTERVAL")
    def _set_hk_interval(self, args: dict[str, Any]) -> None:
        self._set_hk(args["structure"], interval=args["interval"])

    @handles("REPORT_HK")
    def _report_hk(self, args: dict[str, Any]) -> None:
        self.report_hk(self.definition.structure(args["structure"]).sid)

    def _set_hk(self, short: str, *, enabled: bool | None = None,
                interval: float | None = None) -> None:
        sid = self.definition.structure(short).sid
        if enabled is not None:
            self._hk_enabled[sid] = enabled
        if interval is not None:
            self._hk_interval[sid] = interval
        self._arm_hk(sid)
        self.event("HK_CHANGED", sid=sid, enabled=int(self._hk_enabled[sid]),
                   interval=self._hk_interval[sid])

    @handles("GET_PARAM", optional=True)
    def _get_param(self, args: dict[str, Any]) -> None:
        setting = next(s for s in self.definition.settings if s.short == args["param"])
        report = DICTIONARY.standard_report(20, 2)
        self.send_tm(20, 2, DICTIONARY.report_app_data(
            report, {"param": setting.setting_id, "value": self.params[setting.short]}))

    @handles("SET_PARAM", optional=True)
    def _set_param(self, args: dict[str, Any]) -> None:
        setting = next(s for s in self.definition.settings if s.short == args["param"])
        value = args["value"]
        if not setting.lo <= value <= setting.hi:
            raise CommandFailed(FailureCode.INVALID_ARGUMENT,
                                f"{setting.name} must be within {setting.lo}..{setting.hi}",
                                stage="start")
        self.params[setting.short] = value
        self.on_param_changed(setting.short, value)
        self.event("PARAM_CHANGED", param=setting.short, value=value)

    def on_param_changed(self, short: str, value: float) -> None:
        """An onboard parameter was set by command."""


def not_yet(feature: str) -> CommandFailed:
    """The failure of a command whose behaviour a later version of the app brings."""
    return CommandFailed(FailureCode.EXECUTION_FAILED, f"{feature} is not implemented yet")


def _arg_index(tc: TcPacket, exc: BadArguments) -> int:
    """1-based index of the argument a BadArguments names (0 when none), as failure data."""
    if not exc.argument:
        return 0
    try:
        command = DICTIONARY.lookup_command(tc)
    except PacketError:
        return 0
    for index, arg in enumerate(command.args, start=1):
        if arg.name == exc.argument:
            return index
    return 0


def _short_names(app: str, structure: Structure | None) -> tuple[str, ...]:
    """The names of ``structure``'s parameters without the prefix ``app.``."""
    if structure is None:
        return ()
    prefix = f"{app}."
    return tuple(p.name.removeprefix(prefix) for p in structure.params)
