"""FP: fault protection — limit monitoring (PUS 12), event-actions (PUS 19), satellite mode."""

from __future__ import annotations

from collections.abc import Iterable

from common.dictionary.model import (
    App,
    Arg,
    Command,
    Event,
    Param,
    Setting,
    Severity,
    function,
)
from common.dictionary.standard import define_app
from common.dictionary.types import Enum, Float, UInt

APID = 0x040

MODE = Enum({"NOMINAL": 0, "DEGRADED": 1, "SAFE": 2})
LEVEL = Enum({"NONE": 0, "WARNING": 1, "DANGER": 2})
#: Event-action definitions (PUS 19) of the fault protection table.
ACTION = Enum(
    {
        "SHED_COMPUTE": 1,
        "SAFE_ON_BATTERY": 2,
        "THROTTLE_NODE": 3,
        "POWER_OFF_NODE": 4,
        "RESTART_APP": 5,
        "SAFE_ON_COMMAND_LOSS": 6,
    }
)
CAUSE = Enum(
    {
        "COMMAND": 0,
        "BATTERY_LOW": 1,
        "BATTERY_CRITICAL": 2,
        "OVER_TEMPERATURE": 3,
        "COMMAND_LOSS": 4,
        "HEARTBEAT_LOST": 5,
        "RECOVERED": 6,
    }
)


def monitor_enum(params: Iterable[Param]) -> Enum:
    """PUS 12 monitor IDs: one per parameter that has limits, numbered in dictionary order."""
    return Enum({param.name: index for index, param in enumerate(params, start=1)}, bits=16)


def define(monitored: Iterable[Param], supervised: Iterable[str]) -> App:
    """The fault protection app, monitoring ``monitored`` and guarding the ``supervised`` apps."""
    monitors = monitor_enum(monitored)
    apps = Enum({name: index for index, name in enumerate(supervised, start=1)})
    monitor = Arg("monitor", monitors, "monitored parameter")
    action = Arg("action", ACTION, "event-action definition")
    _U32 = UInt(32)
    return define_app(
        "FP",
        APID,
        "Fault protection",
        "Watches telemetry limits with persistence, heartbeats and events; runs the "
        "event-action table; owns the satellite mode (NOMINAL, DEGRADED, SAFE).",
        supervised=True,
        commands=(
            function("SET_MODE", 16, "Command the satellite mode.", Arg("mode", MODE, "mode")),
            Command("ENABLE_MONITOR", 12, 1, "Enable a parameter monitor.", (monitor,)),
            Command("DISABLE_MONITOR", 12, 2, "Disable a parameter monitor.", (monitor,)),
            Command("ENABLE_ACTION", 19, 4, "Enable an event-action definition.", (action,)),
            Command("DISABLE_ACTION", 19, 5, "Disable an event-action definition.", (action,)),
        ),
        status=(
            Param("FP", "MODE", MODE, "satellite mode"),
            Param("FP", "SHED_LEVEL", UInt(8, 0, 3), "compute shed level commanded"),
            Param("FP", "MONITORS_ENABLED", UInt(16), "parameter monitors enabled"),
            Param("FP", "VIOLATIONS", _U32, "limit violations detected"),
            Param("FP", "ACTIONS_FIRED", _U32, "event-actions executed"),
            Param("FP", "LAST_TC_AGE", Float(32), "time since the last valid telecommand", "s"),
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
                20, "ACTION_FIRED", Severity.MEDIUM, "event-action {action} executed",
                (action,),
            ),
            Event(
                21, "COMMAND_LOSS", Severity.HIGH, "no valid telecommand for {age:.0f} s",
                (Arg("age", Float(32), "time since the last telecommand", "s"),),
            ),
        ),
        settings=(
            Setting(1, "SOC_SHED_PCT", "state of charge that sheds compute", 30.0, 0.0, 100.0, "%"),
            Setting(2, "SOC_SAFE_PCT", "state of charge that enters SAFE", 15.0, 0.0, 100.0, "%"),
            Setting(3, "SOC_RECOVER_PCT", "state of charge that ends a shed", 50.0, 0.0, 100.0,
                    "%"),
            Setting(4, "NODE_THROTTLE_C", "node temperature that throttles compute", 85.0,
                    0.0, 150.0, "degC"),
            Setting(5, "NODE_OFF_C", "node temperature that powers a node off", 95.0,
                    0.0, 150.0, "degC"),
            Setting(6, "HEARTBEAT_TIMEOUT_S", "silence before an app is restarted", 30.0,
                    1.0, 3600.0, "s"),
            Setting(7, "COMMAND_LOSS_S", "telecommand silence that enters SAFE", 86_400.0,
                    60.0, 2_592_000.0, "s"),
        ),
    )
