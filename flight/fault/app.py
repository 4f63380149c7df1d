"""Fault protection: limit monitoring (PUS 12), the event-action table (PUS 19), and the mode.

Monitors check every parameter that has limits in the dictionary, sample by sample from the
hardware's sensor packets, with the persistence the dictionary gives; a change of level is a
LIMIT_VIOLATION or LIMIT_RECOVERED event. The event-action table reacts to what fault
protection detects — battery low and very low, node over-temperature, a silent heartbeat, no
telecommand from the ground for too long — with commands to the other apps, each firing an
ACTION_FIRED event. The mode goes NOMINAL → DEGRADED → SAFE by itself and back only by command;
every change is a MODE_CHANGED event naming its cause.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from common import bus
from common.dictionary import DICTIONARY, GROUND_ID, SUPERVISED
from common.dictionary.apps.fault import ACTION
from common.dictionary.apps.sim import APID as SIM_APID
from common.dictionary.apps.sim import MAX_NODES
from common.dictionary.model import Limits, Param
from common.packets import TcPacket, TmPacket
from flight.framework.app import FlightApp, handles
from flight.framework.runtime import Runtime

MODES = ("NOMINAL", "DEGRADED", "SAFE")
SHED_FOR_MODE = {"NOMINAL": 0, "DEGRADED": 2, "SAFE": 3}
#: Node temperatures must fall this far below a threshold before it can fire again.
THERMAL_HYSTERESIS_C = 5.0
#: Radiator temperature beyond which compute must stop (the dictionary's danger limit).
_RADIATOR_LIMITS = DICTIONARY.params["THERMAL.RADIATOR_TEMP"].limits
RADIATOR_DANGER_C = (_RADIATOR_LIMITS.danger_high if _RADIATOR_LIMITS and
                     _RADIATOR_LIMITS.danger_high is not None else 75.0)


@dataclass
class Monitor:
    """One PUS 12 parameter monitor."""

    param: Param
    limits: Limits
    enabled: bool = True
    level: str = "NONE"
    pending: str = "NONE"
    count: int = 0
    value: float = 0.0


class FaultProtection(FlightApp):
    """Watches the satellite and protects it."""

    NAME = "FP"

    def __init__(self, runtime: Runtime, satellite: str) -> None:
        super().__init__(runtime, satellite)
        monitored = self.definition.command("ENABLE_MONITOR").args[0].type.labels
        self.monitors = {name: Monitor(DICTIONARY.params[name], DICTIONARY.params[name].limits)
                         for name in monitored}
        self.actions_enabled = dict.fromkeys(ACTION.labels, True)
        self.mode = "NOMINAL"
        self.shed_level = 0
        self.violations = 0
        self.actions_fired = 0
        self.last_ground_tc = self.clock.now()
        self.command_loss_fired = False
        self.watched = [app.name for app in SUPERVISED if app.name != self.NAME]
        self.beats: dict[str, tuple[float, float]] = {}
        self.stopped_on_purpose: set[str] = set()
        self.restarting: dict[str, float] = {}
        self.node_throttled: set[int] = set()
        self.radiator_hot = False
        self.node_off: set[int] = set()
        self._watch: Any = None

    def subscriptions(self) -> list[bytes]:
        return [
            bus.topic(self.satellite, bus.TM, SIM_APID),
            bus.topic(self.satellite, bus.TC),
            bus.topic(self.satellite, bus.CTL, None, "HB", ""),
            bus.topic(self.satellite, bus.CTL, None, "READY", ""),
        ]

    async def on_start(self) -> None:
        now = (self.clock.now(), time.monotonic())
        self.beats = dict.fromkeys(self.watched, now)
        self._watch = self.clock.every(1.0, self._periodic)

    async def on_stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()

    # --- inputs ----------------------------------------------------------------------------------

    def on_telemetry(self, packet: TmPacket, raw: bytes, kind: str) -> None:
        if kind != bus.TM or packet.service != 3 or packet.subtype != 25:
            return
        try:
            values = DICTIONARY.decode_tm(packet).values
        except Exception as exc:  # counted and reported, never fatal
            from common.dictionary import RejectReason

            self.reject(RejectReason.BAD_ARGUMENTS, f"sensor packet: {exc}")
            return
        for name, value in values.items():
            monitor = self.monitors.get(name)
            if monitor is not None and monitor.enabled:
                self._check(monitor, float(value))
        self._battery(values)
        self._thermal(values)

    def on_command_seen(self, tc: TcPacket) -> None:
        if tc.source_id == GROUND_ID:
            self._ground_contact()
        if tc.apid == DICTIONARY.apps["EXEC"].apid:
            try:
                decoded = DICTIONARY.decode_command(tc)
            except Exception:
                return
            verb, app = decoded.command.verb, decoded.args.get("app")
            if verb == "STOP_APP":
                self.stopped_on_purpose.add(app)
            elif verb in ("START_APP", "RESTART_APP"):
                self.stopped_on_purpose.discard(app)
                self.beats[app] = (self.clock.now(), time.monotonic())

    def _handle_command(self, tc: TcPacket) -> None:
        if tc.source_id == GROUND_ID:
            self._ground_contact()
        super()._handle_command(tc)

    def _ground_contact(self) -> None:
        self.last_ground_tc = self.clock.now()
        self.command_loss_fired = False

    def on_control(self, topic: bus.Topic, message: Any) -> None:
        if len(topic.rest) >= 2 and topic.rest[0] in ("HB", "READY") and isinstance(message, dict):
            app = message.get("app")
            if app in self.watched:
                self.beats[app] = (self.clock.now(), time.monotonic())
                if topic.rest[0] == "READY":
                    self.restarting.pop(app, None)

    # --- PUS 12 monitoring ----------------------------------------------------------------------

    def _check(self, monitor: Monitor, value: float) -> None:
        monitor.value = value
        level = (monitor.limits.level(value) or "none").upper()
        if level == monitor.level:
            monitor.pending, monitor.count = level, 0
            return
        if level != monitor.pending:
            monitor.pending, monitor.count = level, 0
        monitor.count += 1
        if monitor.count < monitor.limits.persistence:
            return
        monitor.level, monitor.count = level, 0
        name = monitor.param.name
        if level == "NONE":
            self.event("LIMIT_RECOVERED", monitor=name, value=value)
        else:
            self.violations += 1
            self.event("LIMIT_VIOLATION", monitor=name, value=value, level=level)

    # --- PUS 19 event-actions ---------------------------------------------------------------------

    def _fire(self, action: str, commands: list[tuple[str, dict[str, Any]]]) -> bool:
        if not self.actions_enabled[action]:
            return False
        self.actions_fired += 1
        self.event("ACTION_FIRED", action=action)
        for name, args in commands:
            self.send_command(name, **args)
        return True

    def _battery(self, values: dict[str, Any]) -> None:
        soc = values.get("EPS.BATTERY_SOC")
        if soc is None:
            return
        if soc < self.params["SOC_SAFE_PCT"] and self.mode != "SAFE":
            if self._fire("SAFE_ON_BATTERY", [("COMPUTE.SHED", {"level": 3})]):
                self._set_mode("SAFE", "BATTERY_CRITICAL")
        elif soc < self.params["SOC_SHED_PCT"] and self.mode == "NOMINAL":
            if self._fire("SHED_COMPUTE", [("COMPUTE.SHED", {"level": 2})]):
                self._set_mode("DEGRADED", "BATTERY_LOW")

    def _thermal(self, values: dict[str, Any]) -> None:
        radiator = values.get("THERMAL.RADIATOR_TEMP")
        if radiator is not None and radiator > RADIATOR_DANGER_C and not self.radiator_hot:
            # The radiator cannot take the load: no node may work until operators act.
            if self._fire("THROTTLE_NODE", [("COMPUTE.SHED", {"level": 1})]):
                self.radiator_hot = True
                if self.mode == "NOMINAL":
                    self._set_mode("DEGRADED", "OVER_TEMPERATURE")
        throttle, off = self.params["NODE_THROTTLE_C"], self.params["NODE_OFF_C"]
        for node in range(MAX_NODES):
            temp = values.get(f"NODES.NODE{node}_TEMP")
            if temp is None:
                continue
            if temp > off and node not in self.node_off:
                if self._fire("POWER_OFF_NODE",
                              [("COMPUTE.SET_NODE_STATE", {"node": node, "state": "OFF"})]):
                    self.node_off.add(node)
                    if self.mode == "NOMINAL":
                        self._set_mode("DEGRADED", "OVER_TEMPERATURE")
            elif temp > throttle and node not in self.node_throttled:
                if self._fire("THROTTLE_NODE",
                              [("COMPUTE.SET_NODE_STATE", {"node": node, "state": "IDLE"})]):
                    self.node_throttled.add(node)
                    if self.mode == "NOMINAL":
                        self._set_mode("DEGRADED", "OVER_TEMPERATURE")
            if temp < throttle - THERMAL_HYSTERESIS_C:
                self.node_throttled.discard(node)
            if temp < off - THERMAL_HYSTERESIS_C:
                self.node_off.discard(node)

    def _periodic(self, _due: float) -> None:
        now_sim, now_wall = self.clock.now(), time.monotonic()
        timeout = self.params["HEARTBEAT_TIMEOUT_S"]
        floor = self.runtime.run.timing.heartbeat_timeout_wall_s
        ready_wall = self.runtime.run.timing.ready_timeout_wall_s
        for app in self.watched:
            if app in self.stopped_on_purpose:
                continue
            asked = self.restarting.get(app)
            if asked is not None and now_wall - asked < ready_wall:
                continue  # a new process is on its way: judge it once it speaks
            sim, wall = self.beats.get(app, (now_sim, now_wall))
            if now_sim - sim > timeout and now_wall - wall > floor:
                self.event("HEARTBEAT_LOST", app=app, age=now_sim - sim)
                if self._fire("RESTART_APP", [("EXEC.RESTART_APP", {"app": app})]):
                    self.restarting[app] = now_wall
                self.beats[app] = (now_sim, now_wall)
        age = now_sim - self.last_ground_tc
        if age > self.params["COMMAND_LOSS_S"] and not self.command_loss_fired:
            self.command_loss_fired = True
            self.event("COMMAND_LOSS", age=age)
            if self.mode != "SAFE" and self._fire("SAFE_ON_COMMAND_LOSS",
                                                  [("COMPUTE.SHED", {"level": 3})]):
                self._set_mode("SAFE", "COMMAND_LOSS")

    # --- mode ------------------------------------------------------------------------------------

    def _set_mode(self, mode: str, cause: str) -> None:
        old, self.mode = self.mode, mode
        self.shed_level = SHED_FOR_MODE[mode]
        if old != mode:
            self.event("MODE_CHANGED", old=old, new=mode, cause=cause)

    def status_values(self) -> dict[str, Any]:
        return {
            "MODE": self.mode, "SHED_LEVEL": self.shed_level,
            "MONITORS_ENABLED": sum(m.enabled for m in self.monitors.values()),
            "VIOLATIONS": self.violations, "ACTIONS_FIRED": self.actions_fired,
            "LAST_TC_AGE": max(0.0, self.clock.now() - self.last_ground_tc),
        }

    # --- commands --------------------------------------------------------------------------------

    @handles("SET_MODE")
    def set_mode(self, args: dict[str, Any]) -> None:
        mode = args["mode"]
        self._set_mode(mode, "COMMAND")
        self.send_command("COMPUTE.SHED", level=SHED_FOR_MODE[mode])
        if mode == "NOMINAL":
            self.node_throttled.clear()
            self.node_off.clear()
            self.radiator_hot = False

    @handles("ENABLE_MONITOR")
    def enable_monitor(self, args: dict[str, Any]) -> None:
        self.monitors[args["monitor"]].enabled = True

    @handles("DISABLE_MONITOR")
    def disable_monitor(self, args: dict[str, Any]) -> None:
        monitor = self.monitors[args["monitor"]]
        monitor.enabled = False
        monitor.level = monitor.pending = "NONE"
        monitor.count = 0

    @handles("ENABLE_ACTION")
    def enable_action(self, args: dict[str, Any]) -> None:
        self.actions_enabled[args["action"]] = True

    @handles("DISABLE_ACTION")
    def disable_action(self, args: dict[str, Any]) -> None:
        self.actions_enabled[args["action"]] = False
