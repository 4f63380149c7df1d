"""Fault protection: PUS 12 monitoring, the PUS 19 event-action table, and the satellite mode.

Everything fault protection notices becomes an event, and every reaction goes through the
event-action table (:mod:`flight.fault.table`, defaults in :mod:`flight.fault.defaults`):

* monitors (:mod:`flight.fault.monitors`) check the hardware's sensor packets sample by
  sample with persistence; a limit monitor's transition is LIMIT_VIOLATION / LIMIT_RECOVERED,
  a protection monitor's its own event (BATTERY_LOW, NODE_OVERHEAT, RADIATOR_HOT, ...);
* a silent heartbeat is HEARTBEAT_LOST, the command-loss timer COMMAND_LOSS
  (:mod:`flight.fault.watch`);
* events of the other apps come from the bus (the app subscribes to the telemetry of every
  app its table names).

A definition firing is an ACTION_FIRED event and counts in housekeeping; an action that cannot
be executed is an ACTION_FAILED event and counts too. The mode (:mod:`flight.fault.modes`)
is raised by actions and lowered by command (or by a battery recovery); every change is a
MODE_CHANGED event naming its cause. Mode, table, monitor switches and the command-loss timer
are saved in the satellite's directory (:mod:`flight.fault.state`), so that a restarted
fault protection carries on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import bus
from common.dictionary import DICTIONARY, GROUND_ID, SUPERVISED, RejectReason
from common.dictionary.apps.executive import APID as EXEC_APID
from common.dictionary.apps.sim import APID as SIM_APID
from common.dictionary.standard import request_of
from common.dictionary.types import Enum
from common.errors import ArgumentError, PacketError
from common.packets import TcPacket, TmPacket
from flight.fault import state
from flight.fault.defaults import DEFAULT_TABLE, limit_monitors, protection_monitors
from flight.fault.modes import SHED_FOR_MODE, ModeChange, ModeKeeper
from flight.fault.monitors import LimitMonitor, MonitorSet, ProtectionMonitor, Transition
from flight.fault.table import Action, DefinitionError, EventActionTable
from flight.fault.watch import CommandLossTimer, HeartbeatWatch
from flight.framework.app import CommandFailed, FlightApp, handles
from flight.framework.busy import BUSY_FACTOR, watch_counters
from flight.framework.runtime import Runtime

#: Definitions firing definitions (through FP's own events) stop at this depth.
MAX_DEPTH = 4
#: Action telecommands remembered until a failure report about them could come.
MAX_SENT_ACTIONS = 256


class FaultProtection(FlightApp):
    """Watches the satellite and protects it."""

    NAME = "FP"

    def __init__(self, runtime: Runtime, satellite: str,
                 wall: Callable[[], float] = time.monotonic) -> None:
        super().__init__(runtime, satellite)
        #: Wall clock (monotonic seconds) of the heartbeat watch's floor; replaceable in tests.
        self.wall = wall
        monitor_ids = self.definition.command("ENABLE_MONITOR").args[0].type
        assert isinstance(monitor_ids, Enum)
        self.monitors = MonitorSet(limit_monitors(monitor_ids.labels) + protection_monitors())
        self.table = EventActionTable()
        for event, actions in DEFAULT_TABLE.items():
            self.table.add(event, actions, enabled=True)
        self.modes = ModeKeeper()
        self.violations = self.actions_fired = self.actions_failed = 0
        #: Request ID → (trigger, position) of the action telecommands sent lately.
        self._sent_actions: dict[tuple[int, int], tuple[str, int]] = {}
        self.loss = CommandLossTimer(self.clock.now())
        watched = [app.name for app in SUPERVISED if app.name != self.NAME]
        # Apps stopped by command before this process started: the executive says which.
        self.watch = HeartbeatWatch(watched, self.clock.now(), self.wall(), runtime.stopped_apps)
        self.state_file = Path(runtime.run.satellite_dir(satellite)) / state.STATE_FILE
        self._depth = 0
        self._event_apids: set[int] = set()
        self._ticker: Any = None
        self._load()

    # --- life cycle ------------------------------------------------------------------------------

    def subscriptions(self) -> list[bytes]:
        self._event_apids = self._wanted_apids()
        return [
            bus.topic(self.satellite, bus.TM, SIM_APID),
            *(bus.topic(self.satellite, bus.TM, apid) for apid in sorted(self._event_apids)),
            bus.topic(self.satellite, bus.TC),
            bus.topic(self.satellite, bus.CTL, None, "HB", ""),
            bus.topic(self.satellite, bus.CTL, None, "READY", ""),
        ]

    async def on_start(self) -> None:
        # Judged afresh from now; a run of checks behind on the input gives back at most
        # what the busy check waits for a busy app (flight.framework.busy).
        timing = self.runtime.run.timing
        self.watch = HeartbeatWatch(self.watch.apps, self.clock.now(), self.wall(),
                                    self.watch.stopped,
                                    behind_cap_wall_s=BUSY_FACTOR * timing.heartbeat_timeout_wall_s)
        self.watch.lookout.reset(self.clock.now(), self.wall(), self.input_backlogs())
        self._ticker = self.clock.every(self.watch.lookout.period_s, self.periodic)

    async def on_stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        self._save()

    def _wanted_apids(self) -> set[int]:
        # The executive's always: it reports our onboard telecommands it could not deliver.
        return (self.table.apids() | {EXEC_APID}) - {self.apid, SIM_APID}

    def _follow_events(self) -> None:
        """Receive the telemetry of exactly the apps whose events the table names."""
        wanted = self._wanted_apids()
        if self.subscriber is not None:
            for apid in wanted - self._event_apids:
                self.subscriber.subscribe(bus.topic(self.satellite, bus.TM, apid))
            for apid in self._event_apids - wanted:
                self.subscriber.unsubscribe(bus.topic(self.satellite, bus.TM, apid))
        self._event_apids = wanted

    # --- inputs ----------------------------------------------------------------------------------

    def on_telemetry(self, packet: TmPacket, raw: bytes, kind: str) -> None:
        if kind != bus.TM:
            return  # playback and retransmissions are history, not news
        if packet.service == 1 and packet.dest_id == self.apid:
            self._verification(packet)
            return
        sensors = packet.apid == SIM_APID and (packet.service, packet.subtype) == (3, 25)
        if not sensors and packet.service != 5:
            return
        try:
            decoded = self.decode_tm(packet)
        except PacketError as exc:  # counted and reported, never fatal
            self.reject(RejectReason.BAD_ARGUMENTS, f"telemetry from 0x{packet.apid:03X}: {exc}")
            return
        if sensors:
            for transition in self.monitors.sample(decoded.values, self.params):
                self._transition(transition)
        elif decoded.kind == "event":
            self.dispatch(decoded.name, decoded.values)

    def on_command_seen(self, tc: TcPacket) -> None:
        if tc.source_id != GROUND_ID and tc.apid != DICTIONARY.apps["EXEC"].apid:
            return
        try:
            decoded = DICTIONARY.decode_command(tc)
        except PacketError:
            return  # its own app refuses and reports it
        if tc.source_id == GROUND_ID:
            self._ground_contact()
        verb, app = decoded.command.verb, decoded.args.get("app")
        if decoded.command.app != "EXEC" or app is None:
            return
        if verb == "STOP_APP":
            self.watch.stopped_on_purpose(app)
        elif verb in ("START_APP", "RESTART_APP"):
            self.watch.started(app, self.clock.now(), self.wall(), restart=verb == "RESTART_APP")

    def _handle_command(self, tc: TcPacket) -> None:
        if tc.source_id == GROUND_ID:
            try:
                DICTIONARY.decode_command(tc)
            except PacketError:
                pass  # refused below; an invalid telecommand does not reset the timer
            else:
                self._ground_contact()
        super()._handle_command(tc)

    def _ground_contact(self) -> None:
        self.loss.contact(self.clock.now())
        self._save()

    def on_control(self, topic: bus.Topic, message: Any) -> None:
        if len(topic.rest) >= 2 and topic.rest[0] in ("HB", "READY") and isinstance(message, dict):
            pid = message.get("pid")
            self.watch.beat(str(message.get("app")), self.clock.now(), self.wall(),
                            ready=topic.rest[0] == "READY",
                            pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else 0)

    def periodic(self, due: float | None = None) -> None:
        """Every simulated second: heartbeats and the command-loss timer."""
        now_sim, now_wall = self.clock.now(), self.wall()
        timing = self.runtime.run.timing
        for silence in self.watch.overdue(now_sim, now_wall, self.params["HEARTBEAT_TIMEOUT_S"],
                                          timing.heartbeat_timeout_wall_s,
                                          timing.ready_timeout_wall_s, due,
                                          self.input_backlogs()):
            self.event("HEARTBEAT_LOST", app=silence.app, age=silence.age)
        age = self.loss.expired(now_sim, self.params["COMMAND_LOSS_S"])
        if age is not None:
            self._save()
            self.event("COMMAND_LOSS", age=age)

    # --- PUS 12: monitor transitions become events ----------------------------------------------

    def _transition(self, transition: Transition) -> None:
        monitor, value = transition.monitor, transition.value
        if transition.new != "NONE":
            self.violations += 1
        if isinstance(monitor, LimitMonitor):
            if transition.new == "NONE":
                self.event("LIMIT_RECOVERED", monitor=monitor.name, value=value)
            else:
                self.event("LIMIT_VIOLATION", monitor=monitor.name, value=value,
                           level=transition.new)
        elif isinstance(monitor, ProtectionMonitor):
            short = monitor.events.get(transition.new)
            if short is not None:
                self.event(short, **monitor.event_args, **{monitor.value_arg: value})

    # --- PUS 19: events become actions ------------------------------------------------------------

    def event(self, short: str, **args: Any) -> None:
        """Raise an event of ours; the event-action table hears it at once."""
        super().event(short, **args)
        self.dispatch(f"{self.NAME}.{short}", args)

    def dispatch(self, name: str, args: dict[str, Any]) -> None:
        """Event ``name`` happened with ``args``: run its definition if one is enabled."""
        definition = self.table.triggered(name)
        if definition is None:
            return
        if self._depth >= MAX_DEPTH:
            self._action_failed(name, 0, "TOO_DEEP", "definitions fired each other too deep")
            return
        self._depth += 1
        try:
            definition.fired += 1
            self.actions_fired += 1
            self.event("ACTION_FIRED", event=name, actions=len(definition.actions),
                       fired=definition.fired)
            for index, action in enumerate(definition.actions, start=1):
                self._execute(name, index, action, args)
        finally:
            self._depth -= 1
        self._save()

    def _execute(self, event: str, index: int, action: Action, args: dict[str, Any]) -> None:
        if action.kind == "tc":
            try:
                tc = self.send_command(action.command, **action.resolve(args))
            except (ArgumentError, KeyError, ValueError) as exc:
                self._action_failed(event, index, "BAD_ARGUMENTS", str(exc))
                return
            self._sent_actions[tc.request_id] = (event, index)
            while len(self._sent_actions) > MAX_SENT_ACTIONS:
                del self._sent_actions[next(iter(self._sent_actions))]
        elif action.kind == "mode":
            self._mode_changed(self.modes.escalate(action.mode, action.cause))
        elif action.kind == "shed":
            if self.modes.shed(action.level):
                self.send_command("COMPUTE.SHED", level=action.level)
        elif action.kind == "recover":
            change = self.modes.recover(action.cause)
            if change is not None:
                self.send_command("COMPUTE.SHED", level=self.modes.shed_level)
                self._mode_changed(change)

    def _verification(self, packet: TmPacket) -> None:
        """A PUS 1 report about one of our onboard telecommands: only failures are sent."""
        if packet.subtype not in (2, 4, 6, 8):
            return
        try:
            values = self.decode_tm(packet).values
        except PacketError as exc:
            self.reject(RejectReason.BAD_ARGUMENTS, f"report from 0x{packet.apid:03X}: {exc}")
            return
        request = request_of(values["packet_id"], values["sequence"])
        detail = f"TM[1,{packet.subtype}] {values.get('code')} from 0x{packet.apid:03X}"
        action = self._sent_actions.pop(request, None)
        if action is not None:
            self._action_failed(*action, "REFUSED", detail)
        else:  # a mode's shed, say: the sender's COMMAND_REJECTED event tells the ground
            self.actions_failed += 1
            self.log.warning("onboard command failed", apid=request[0], seq=request[1],
                             detail=detail)

    def _action_failed(self, event: str, index: int, reason: str, detail: str) -> None:
        self.actions_failed += 1
        self.log.warning("action not executed", trigger=event, index=index, detail=detail)
        self.event("ACTION_FAILED", event=event, index=index, reason=reason)

    def _mode_changed(self, change: ModeChange | None) -> None:
        if change is not None:
            self._save()
            self.event("MODE_CHANGED", old=change.old, new=change.new, cause=change.cause)

    # --- housekeeping and state -----------------------------------------------------------------

    @property
    def mode(self) -> str:
        """The satellite mode."""
        return self.modes.mode

    def status_values(self) -> dict[str, Any]:
        return {
            "MODE": self.modes.mode, "SHED_LEVEL": self.modes.shed_level,
            "MONITORS_ENABLED": self.monitors.enabled_count(),
            "VIOLATIONS": self.violations, "ACTIONS_FIRED": self.actions_fired,
            "LAST_TC_AGE": self.loss.age(self.clock.now()),
            "MONITORING": self.monitors.function_enabled,
            "EVENT_ACTIONS": self.table.function_enabled,
            "DEFINITIONS": len(self.table.definitions),
            "DEFINITIONS_ENABLED": self.table.enabled_count(),
            "ACTIONS_FAILED": self.actions_failed,
            **watch_counters(self.watch.lookout, self.watch.busy),
        }

    def _save(self) -> None:
        state.save(self.state_file, self.modes, self.table, self.monitors, self.loss)

    def _load(self) -> None:
        state.load(self.state_file, self.modes, self.table, self.monitors, self.loss, self.log)

    # --- commands: mode and monitors ------------------------------------------------------------

    @handles("SET_MODE")
    def set_mode(self, args: dict[str, Any]) -> None:
        mode = args["mode"]
        change = self.modes.command(mode)
        self.send_command("COMPUTE.SHED", level=SHED_FOR_MODE[mode])
        if mode == "NOMINAL":
            # Re-arm protection: a hazard still present fires again after its persistence.
            for monitor in self.monitors.monitors.values():
                if isinstance(monitor, ProtectionMonitor):
                    monitor.reset()
        self._save()
        self._mode_changed(change)

    def _set_monitor(self, name: str, enabled: bool) -> None:
        monitor = self.monitors[name]
        monitor.enabled = enabled
        if not enabled:
            monitor.reset()
        self._save()
        self.event("MONITOR_CHANGED", monitor=name, enabled=int(enabled))

    @handles("ENABLE_MONITOR")
    def enable_monitor(self, args: dict[str, Any]) -> None:
        self._set_monitor(args["monitor"], True)

    @handles("DISABLE_MONITOR")
    def disable_monitor(self, args: dict[str, Any]) -> None:
        self._set_monitor(args["monitor"], False)

    @handles("REPORT_MONITORS")
    def report_monitors(self, args: dict[str, Any]) -> None:
        report = DICTIONARY.reports["FP.MONITOR_STATUS"]
        self.send_tm(12, 14, DICTIONARY.report_app_data(
            report, {"monitors": self.monitors.status()}))

    def _set_monitoring(self, enabled: bool) -> None:
        self.monitors.function_enabled = enabled
        self._save()
        self.event("FUNCTION_CHANGED", service=12, enabled=int(enabled))

    @handles("ENABLE_MONITORING")
    def enable_monitoring(self, args: dict[str, Any]) -> None:
        self._set_monitoring(True)

    @handles("DISABLE_MONITORING")
    def disable_monitoring(self, args: dict[str, Any]) -> None:
        self._set_monitoring(False)

    # --- commands: the event-action table -------------------------------------------------------

    def _table_changed(self, event: str, change: str) -> None:
        self._follow_events()
        self._save()
        self.event("DEFINITION_CHANGED", event=event, change=change)

    def _table_call(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except DefinitionError as exc:
            raise CommandFailed(exc.code, str(exc), exc.data, stage="start") from None

    @handles("ADD_ACTION")
    def add_action(self, args: dict[str, Any]) -> None:
        self._table_call(lambda: self.table.add(args["event"], args["actions"]))
        self._table_changed(args["event"], "ADDED")

    @handles("DELETE_ACTION")
    def delete_action(self, args: dict[str, Any]) -> None:
        self._table_call(lambda: self.table.delete(args["event"]))
        self._table_changed(args["event"], "DELETED")

    @handles("DELETE_ALL_ACTIONS")
    def delete_all_actions(self, args: dict[str, Any]) -> None:
        deleted = list(self.table.definitions)
        self.table.delete_all()
        for event in deleted:
            self._table_changed(event, "DELETED")

    @handles("ENABLE_ACTION")
    def enable_action(self, args: dict[str, Any]) -> None:
        self._table_call(lambda: self.table.set_enabled(args["event"], True))
        self._table_changed(args["event"], "ENABLED")

    @handles("DISABLE_ACTION")
    def disable_action(self, args: dict[str, Any]) -> None:
        self._table_call(lambda: self.table.set_enabled(args["event"], False))
        self._table_changed(args["event"], "DISABLED")

    @handles("REPORT_ACTIONS")
    def report_actions(self, args: dict[str, Any]) -> None:
        report = DICTIONARY.reports["FP.ACTION_STATUS"]
        self.send_tm(19, 7, DICTIONARY.report_app_data(
            report, {"definitions": self.table.status()}))

    def _set_event_actions(self, enabled: bool) -> None:
        self.table.function_enabled = enabled
        self._save()
        self.event("FUNCTION_CHANGED", service=19, enabled=int(enabled))

    @handles("ENABLE_EVENT_ACTIONS")
    def enable_event_actions(self, args: dict[str, Any]) -> None:
        self._set_event_actions(True)

    @handles("DISABLE_EVENT_ACTIONS")
    def disable_event_actions(self, args: dict[str, Any]) -> None:
        self._set_event_actions(False)
