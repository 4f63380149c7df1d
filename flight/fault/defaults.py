"""Fault protection's configuration: its monitors and its default event-action table.

Kept apart from the logic, as cFS apps keep their tables: the protection monitors say which
hazard raises which event, and the default table says what is done about each event. Both
load at start (the table from the saved state instead, when there is one).

The standard pattern throughout: a monitor's transition raises an event; the table maps the
event to actions. What is not a parameter — a silent heartbeat, the command-loss timer, an
event of another app — raises its event directly and goes through the same table.
"""

from __future__ import annotations

from typing import Any

from common.dictionary import DICTIONARY
from common.dictionary.apps.fault import PROTECTION_MONITORS
from common.dictionary.apps.sim import MAX_NODES
from flight.fault.monitors import LimitMonitor, Monitor, ProtectionMonitor, Threshold, node_of

#: The default event-action table, all enabled: event → actions in order.
DEFAULT_TABLE: dict[str, list[dict[str, Any]]] = {
    # Power: shed compute at the shed threshold, SAFE at the safe threshold; a battery shed
    # ends by itself once the battery has recharged past the recovery threshold.
    "FP.BATTERY_LOW": [{"shed": 2}, {"mode": "DEGRADED", "cause": "BATTERY_LOW"}],
    "FP.BATTERY_CRITICAL": [{"shed": 3}, {"mode": "SAFE", "cause": "BATTERY_CRITICAL"}],
    "FP.BATTERY_RECOVERED": [{"recover": "BATTERY_LOW"}],
    # The power system could not carry the load at all (the battery is empty).
    "SIM.LOAD_SHED": [{"shed": 3}, {"mode": "SAFE", "cause": "BATTERY_CRITICAL"}],
    # Thermal: a hot node throttles compute, an overheating node is powered off, a hot
    # radiator throttles too. Throttling is shed level 1 (no new work, nodes idle): an idle
    # node commanded alone would be given work again by the compute manager's next schedule,
    # while a node commanded OFF stays off until the operators power it. Over-temperature is
    # left by command only: operators find out why (a degraded radiator does not mend itself).
    "FP.NODE_HOT": [{"shed": 1}, {"mode": "DEGRADED", "cause": "OVER_TEMPERATURE"}],
    "FP.NODE_OVERHEAT": [
        {"tc": "COMPUTE.SET_NODE_STATE", "args": {"node": "$node", "state": "OFF"}},
        {"mode": "DEGRADED", "cause": "OVER_TEMPERATURE"},
    ],
    "FP.RADIATOR_HOT": [{"shed": 1}, {"mode": "DEGRADED", "cause": "OVER_TEMPERATURE"}],
    # Software: a silent app is restarted by the executive.
    "FP.HEARTBEAT_LOST": [{"tc": "EXEC.RESTART_APP", "args": {"app": "$app"}}],
    # No telecommand from the ground for too long: wait for it in SAFE.
    "FP.COMMAND_LOSS": [{"shed": 3}, {"mode": "SAFE", "cause": "COMMAND_LOSS"}],
}


def limit_monitors(monitored: dict[str, int]) -> list[Monitor]:
    """A limit monitor for every parameter with dictionary limits (``name → monitor ID``)."""
    found: list[Monitor] = []
    for name, monitor_id in monitored.items():
        if name in PROTECTION_MONITORS:
            continue
        limits = DICTIONARY.params[name].limits
        assert limits is not None
        found.append(LimitMonitor(monitor_id, name, name, limits.persistence, node_of(name),
                                  limits=limits))
    return found


def _persistence(param: str) -> int:
    limits = DICTIONARY.params[param].limits
    return limits.persistence if limits is not None else 1


def protection_monitors() -> list[Monitor]:
    """One monitor per hazard, with the persistence the dictionary gives its parameter."""
    soc, radiator = "EPS.BATTERY_SOC", "THERMAL.RADIATOR_TEMP"
    found: list[Monitor] = [
        ProtectionMonitor(
            PROTECTION_MONITORS["BATTERY_CHARGE"], "BATTERY_CHARGE", soc, _persistence(soc),
            high=False,
            thresholds=(Threshold("WARNING", "SOC_SHED_PCT"), Threshold("DANGER", "SOC_SAFE_PCT")),
            recover="SOC_RECOVER_PCT",
            events={"WARNING": "BATTERY_LOW", "DANGER": "BATTERY_CRITICAL",
                    "NONE": "BATTERY_RECOVERED"},
            value_arg="soc",
        ),
        ProtectionMonitor(
            PROTECTION_MONITORS["RADIATOR_HEAT"], "RADIATOR_HEAT", radiator,
            _persistence(radiator), thresholds=(Threshold("DANGER", "RADIATOR_HOT_C"),),
            hysteresis="THERMAL_HYSTERESIS_C",
            events={"DANGER": "RADIATOR_HOT", "NONE": "RADIATOR_COOLED"}, value_arg="temp",
        ),
    ]
    for node in range(MAX_NODES):
        param = f"NODES.NODE{node}_TEMP"
        name = f"NODE{node}_HEAT"
        found.append(ProtectionMonitor(
            PROTECTION_MONITORS[name], name, param, _persistence(param), node,
            thresholds=(Threshold("WARNING", "NODE_THROTTLE_C"),
                        Threshold("DANGER", "NODE_OFF_C")),
            hysteresis="THERMAL_HYSTERESIS_C",
            events={"WARNING": "NODE_HOT", "DANGER": "NODE_OVERHEAT", "NONE": "NODE_COOLED"},
            value_arg="temp", event_args={"node": node},
        ))
    return found
