"""FP: fault protection — limit monitoring (PUS 12), event-actions (PUS 19), satellite mode.

Two kinds of PUS 12 monitor:

* a **limit monitor** for every parameter with limits in the dictionary (IDs from 1, in
  dictionary order): its transitions are the generic LIMIT_VIOLATION / LIMIT_RECOVERED events;
* a **protection monitor** per hazard (IDs from 0x100): thresholds are FP's onboard parameters
  (PUS 20), and each transition raises its own event (BATTERY_LOW, NODE_OVERHEAT, ...), so that
  the event-action table can map it to an action.

The PUS 19 event-action table maps any event of any app on the satellite's bus to actions. An
event is named ``APP.EVENT`` and carried as one 32-bit value, ``APID << 16 | event ID`` — the
pair by which ECSS-E-ST-70-41C identifies an event definition.
"""

from __future__ import annotations

from collections.abc import Iterable

from common.dictionary.apps import executive
from common.dictionary.apps.compute import COMPUTE
from common.dictionary.apps.housekeeping import HK
from common.dictionary.apps.sim import MAX_NODES, SIM
from common.dictionary.model import (
    App,
    Arg,
    Command,
    Event,
    Param,
    Report,
    Setting,
    Severity,
    function,
)
from common.dictionary.standard import define_app, heartbeat_watch_params
from common.dictionary.types import Bool, Enum, Float, Msgpack, UInt

APID = 0x040

MODE = Enum({"NOMINAL": 0, "DEGRADED": 1, "SAFE": 2})
LEVEL = Enum({"NONE": 0, "WARNING": 1, "DANGER": 2})
CAUSE = Enum(
    {
        "COMMAND": 0,
        "BATTERY_LOW": 1,
        "BATTERY_CRITICAL": 2,
        "OVER_TEMPERATURE": 3,
        "COMMAND_LOSS": 4,
        "HEARTBEAT_LOST": 5,
        "RECOVERED": 6,
        #: A definition the operators added, naming no cause of its own.
        "EVENT_ACTION": 7,
    }
)
#: How an event-action definition changed.
CHANGE = Enum({"ADDED": 1, "DELETED": 2, "ENABLED": 3, "DISABLED": 4})
#: Why an action was not executed (REFUSED: its telecommand was refused onboard, e.g. its
#: app is stopped).
ACTION_FAILURE = Enum({"BAD_ARGUMENTS": 1, "TOO_DEEP": 2, "REFUSED": 3})
#: First ID of the protection monitors (limit monitors count from 1).
PROTECTION_MONITOR_BASE = 0x100
PROTECTION_MONITORS = {
    "BATTERY_CHARGE": PROTECTION_MONITOR_BASE,
    "RADIATOR_HEAT": PROTECTION_MONITOR_BASE + 1,
    **{f"NODE{node}_HEAT": PROTECTION_MONITOR_BASE + 0x10 + node for node in range(MAX_NODES)},
}


def monitor_enum(params: Iterable[Param]) -> Enum:
    """PUS 12 monitor IDs: a limit monitor per parameter with limits, numbered from 1 in
    dictionary order, then the protection monitors."""
    limits = {param.name: index for index, param in enumerate(params, start=1)}
    return Enum({**limits, **PROTECTION_MONITORS}, bits=16)


def event_key(apid: int, event_id: int) -> int:
    """The 32-bit value naming an event on the wire: its APID and its event ID."""
    return (apid << 16) | event_id


def event_enum(apps: Iterable[App]) -> Enum:
    """Every event of ``apps``, labelled ``APP.EVENT``."""
    return Enum({event.name: event_key(event.apid, event.event_id)
                 for app in apps for event in app.events}, bits=32)


def define(monitored: Iterable[Param], supervised: Iterable[str]) -> App:
    """The fault protection app, monitoring ``monitored`` and guarding the ``supervised`` apps.

    Its event-action table may name any event of the satellite's apps, its own included, so
    it is assembled twice: once to learn its own events, once with the enumeration of all.
    """
    monitored, supervised = tuple(monitored), tuple(supervised)
    draft = _define(monitored, supervised, Enum({"NONE": 0}, bits=32))
    # The executive's events do not depend on the apps it supervises.
    others = (executive.define(()), HK, COMPUTE, SIM)
    return _define(monitored, supervised, event_enum((*others, draft)))


def _define(monitored: tuple[Param, ...], supervised: tuple[str, ...], events: Enum) -> App:
    monitors = monitor_enum(monitored)
    apps = Enum({name: index for index, name in enumerate(supervised, start=1)})
    monitor = Arg("monitor", monitors, "parameter monitor")
    event = Arg("event", events, "event (APP.EVENT) of an event-action definition")
    node = Arg("node", UInt(8, 0, MAX_NODES - 1), "compute node")
    temp = Arg("temp", Float(32), "temperature", "degC")
    soc = Arg("soc", Float(32), "battery state of charge", "%")
    _U16, _U32 = UInt(16), UInt(32)
    return define_app(
        "FP",
        APID,
        "Fault protection",
        "Watches telemetry limits with persistence, heartbeats, the command-loss timer and "
        "the events of every app; runs the event-action table; owns the satellite mode "
        "(NOMINAL, DEGRADED, SAFE).",
        supervised=True,
        commands=(
            function("SET_MODE", 16, "Command the satellite mode.", Arg("mode", MODE, "mode")),
            Command("ENABLE_MONITOR", 12, 1, "Enable a parameter monitor.", (monitor,)),
            Command("DISABLE_MONITOR", 12, 2, "Disable a parameter monitor.", (monitor,)),
            Command("REPORT_MONITORS", 12, 13,
                    "Report the status of every parameter monitor (TM[12,14])."),
            Command("ENABLE_MONITORING", 12, 15, "Enable the parameter monitoring function."),
            Command("DISABLE_MONITORING", 12, 16, "Disable the parameter monitoring function."),
            Command(
                "ADD_ACTION", 19, 1,
                "Add an event-action definition, disabled: the event and a msgpack list of "
                "actions, each {\"tc\": \"APP.VERB\", \"args\": {...}} (an argument "
                "\"$name\" takes the event's argument name), {\"mode\": \"DEGRADED\" or "
                "\"SAFE\", \"cause\": CAUSE}, {\"shed\": 0..3} or {\"recover\": CAUSE}.",
                (event, Arg("actions", Msgpack(1024), "the actions, executed in order")),
            ),
            Command("DELETE_ACTION", 19, 2,
                    "Delete a disabled event-action definition.", (event,)),
            Command("DELETE_ALL_ACTIONS", 19, 3, "Delete every event-action definition."),
            Command("ENABLE_ACTION", 19, 4, "Enable an event-action definition.", (event,)),
            Command("DISABLE_ACTION", 19, 5, "Disable an event-action definition.", (event,)),
            Command("REPORT_ACTIONS", 19, 6,
                    "Report the status of every event-action definition (TM[19,7])."),
            Command("ENABLE_EVENT_ACTIONS", 19, 8, "Enable the event-action function."),
            Command("DISABLE_EVENT_ACTIONS", 19, 9, "Disable the event-action function."),
        ),
        status=(
            Param("FP", "MODE", MODE, "satellite mode"),
            Param("FP", "SHED_LEVEL", UInt(8, 0, 3), "compute shed level commanded"),
            Param("FP", "MONITORS_ENABLED", _U16, "parameter monitors enabled"),
            Param("FP", "VIOLATIONS", _U32, "limit violations detected"),
            Param("FP", "ACTIONS_FIRED", _U32, "event-action definitions executed"),
            Param("FP", "LAST_TC_AGE", Float(32), "time since the last valid telecommand", "s"),
            Param("FP", "MONITORING", Bool(), "parameter monitoring function enabled"),
            Param("FP", "EVENT_ACTIONS", Bool(), "event-action function enabled"),
            Param("FP", "DEFINITIONS", _U16, "event-action definitions in the table"),
            Param("FP", "DEFINITIONS_ENABLED", _U16, "event-action definitions enabled"),
            Param("FP", "ACTIONS_FAILED", _U32,
                  "actions not executed, and onboard telecommands refused"),
            *heartbeat_watch_params("FP"),
        ),
        status_interval_s=10.0,
        events=(
            Event(
                16, "MODE_CHANGED", Severity.HIGH, "mode {old} -> {new}: {cause}",
                (
                    Arg("old", MODE, "previous mode"),
                    Arg("new", MODE, "new mode"),
                    Arg("cause", CAUSE, "cause"),
                ),
            ),
            Event(
                17, "LIMIT_VIOLATION", Severity.MEDIUM,
                "{monitor} = {value:g} out of limits ({level})",
                (monitor, Arg("value", Float(64), "value"), Arg("level", LEVEL, "level")),
            ),
            Event(
                18, "LIMIT_RECOVERED", Severity.INFO, "{monitor} = {value:g} back within limits",
                (monitor, Arg("value", Float(64), "value")),
            ),
            Event(
                19, "HEARTBEAT_LOST", Severity.HIGH, "no heartbeat from {app} for {age:.0f} s",
                (Arg("app", apps, "application"), Arg("age", Float(32), "silence", "s")),
            ),
            Event(
                20, "ACTION_FIRED", Severity.MEDIUM,
                "event-action for {event} executed: {actions} actions ({fired} so far)",
                (event, Arg("actions", UInt(8), "actions executed"),
                 Arg("fired", _U32, "times this definition fired")),
            ),
            Event(
                21, "COMMAND_LOSS", Severity.HIGH, "no valid telecommand for {age:.0f} s",
                (Arg("age", Float(32), "time since the last telecommand", "s"),),
            ),
            Event(22, "BATTERY_LOW", Severity.HIGH,
                  "battery at {soc:.1f} %: below the shed threshold", (soc,)),
            Event(23, "BATTERY_CRITICAL", Severity.HIGH,
                  "battery at {soc:.1f} %: below the safe-mode threshold", (soc,)),
            Event(24, "BATTERY_RECOVERED", Severity.INFO,
                  "battery at {soc:.1f} %: above the recovery threshold", (soc,)),
            Event(25, "NODE_HOT", Severity.MEDIUM,
                  "node {node} at {temp:.1f} degC: above the throttle threshold", (node, temp)),
            Event(26, "NODE_OVERHEAT", Severity.HIGH,
                  "node {node} at {temp:.1f} degC: above the power-off threshold",
                  (node, temp)),
            Event(27, "NODE_COOLED", Severity.INFO,
                  "node {node} at {temp:.1f} degC: cooled below its thresholds", (node, temp)),
            Event(28, "RADIATOR_HOT", Severity.HIGH,
                  "radiator at {temp:.1f} degC: above its limit", (temp,)),
            Event(29, "RADIATOR_COOLED", Severity.INFO,
                  "radiator at {temp:.1f} degC: cooled below its limit", (temp,)),
            Event(
                30, "ACTION_FAILED", Severity.MEDIUM,
                "event-action for {event}: action {index} not executed: {reason}",
                (event, Arg("index", UInt(8), "position of the action in its definition"),
                 Arg("reason", ACTION_FAILURE, "why")),
            ),
            Event(31, "DEFINITION_CHANGED", Severity.INFO, "event-action for {event} {change}",
                  (event, Arg("change", CHANGE, "what changed"))),
            Event(32, "MONITOR_CHANGED", Severity.INFO, "monitor {monitor} enabled={enabled}",
                  (monitor, Arg("enabled", UInt(8, 0, 1), "1 enabled, 0 disabled"))),
            Event(
                33, "FUNCTION_CHANGED", Severity.INFO, "PUS {service} function enabled={enabled}",
                (Arg("service", UInt(8), "12 monitoring, 19 event-action"),
                 Arg("enabled", UInt(8, 0, 1), "1 enabled, 0 disabled")),
            ),
        ),
        reports=(
            Report(
                "MONITOR_STATUS", 12, 14,
                "Every parameter monitor: a msgpack list of {monitor, enabled, level, value}.",
                (Arg("monitors", Msgpack(8192), "monitor statuses"),),
            ),
            Report(
                "ACTION_STATUS", 19, 7,
                "Every event-action definition: a msgpack list of {event, enabled, fired, "
                "actions}.",
                (Arg("definitions", Msgpack(16384), "definition statuses"),),
            ),
        ),
        settings=(
            Setting(1, "SOC_SHED_PCT", "state of charge that sheds compute", 30.0, 0.0, 100.0, "%"),
            Setting(2, "SOC_SAFE_PCT", "state of charge that enters SAFE", 15.0, 0.0, 100.0, "%"),
            Setting(3, "SOC_RECOVER_PCT",
                    "state of charge that ends a battery shed (DEGRADED -> NOMINAL)", 50.0,
                    0.0, 100.0, "%"),
            Setting(4, "NODE_THROTTLE_C", "node temperature that throttles compute", 85.0,
                    0.0, 150.0, "degC"),
            Setting(5, "NODE_OFF_C", "node temperature that powers a node off", 95.0,
                    0.0, 150.0, "degC"),
            Setting(6, "HEARTBEAT_TIMEOUT_S", "silence before an app is restarted", 30.0,
                    1.0, 3600.0, "s"),
            Setting(7, "COMMAND_LOSS_S", "telecommand silence that enters SAFE", 86_400.0,
                    60.0, 2_592_000.0, "s"),
            Setting(8, "RADIATOR_HOT_C", "radiator temperature that stops compute", 75.0,
                    0.0, 150.0, "degC"),
            Setting(9, "THERMAL_HYSTERESIS_C",
                    "how far below a threshold a temperature must fall to clear it", 5.0,
                    0.0, 50.0, "degC"),
        ),
    )
