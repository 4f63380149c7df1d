"""Fault protection's parts on their own: protection monitors, the table's state, the mode."""

from __future__ import annotations

from common.dictionary import DICTIONARY
from flight.fault.defaults import DEFAULT_TABLE, protection_monitors
from flight.fault.modes import ModeKeeper
from flight.fault.monitors import ProtectionMonitor
from flight.fault.table import EventActionTable

PARAMS = {s.short: s.default for s in DICTIONARY.apps["FP"].settings}


def battery() -> ProtectionMonitor:
    monitor = next(m for m in protection_monitors() if m.name == "BATTERY_CHARGE")
    assert isinstance(monitor, ProtectionMonitor)
    return monitor


def test_a_recovery_threshold_on_the_wrong_side_is_the_entry_threshold() -> None:
    # SOC_RECOVER_PCT set below SOC_SHED_PCT would end a shed while still below the shed
    # threshold: the monitor recovers no earlier than back above the shed threshold.
    monitor = battery()
    params = {**PARAMS, "SOC_RECOVER_PCT": 10.0}
    assert monitor.recovery_limit(params) == PARAMS["SOC_SHED_PCT"]
    assert monitor.recovery_limit(PARAMS) == PARAMS["SOC_RECOVER_PCT"]


def test_a_protection_monitor_escalates_but_never_steps_down_one_level() -> None:
    monitor = battery()
    monitor.persistence = 1
    levels = []
    for soc in (35.0, 29.0, 14.0, 20.0, 40.0, 49.0, 51.0, 20.0):
        transition = monitor.sample(soc, PARAMS)
        levels.append(transition.new if transition else None)
    assert levels == [None, "WARNING", "DANGER", None, None, None, "NONE", "WARNING"]


def test_the_table_state_round_trips_and_drops_what_no_longer_checks() -> None:
    table = EventActionTable()
    for event, actions in DEFAULT_TABLE.items():
        table.add(event, actions, enabled=True)
    table.definitions["FP.COMMAND_LOSS"].fired = 3
    table.set_enabled("FP.NODE_HOT", False)
    state = table.to_state()
    state["definitions"].append({"event": "NO.SUCH_EVENT", "actions": [{"shed": 1}],
                                 "enabled": True})
    state["definitions"].append({"event": "SIM.LOAD_SHED"})  # malformed
    again = EventActionTable()
    skipped = again.load_state(state)
    assert len(skipped) == 2 and "NO.SUCH_EVENT" in skipped[0]
    assert again.status() == table.status()


def test_modes_rise_by_action_and_fall_by_command_or_a_cleared_cause() -> None:
    modes = ModeKeeper()
    change = modes.escalate("DEGRADED", "OVER_TEMPERATURE")
    assert change is not None and (change.old, change.new) == ("NOMINAL", "DEGRADED")
    assert modes.escalate("DEGRADED", "BATTERY_LOW") is None
    assert modes.recover("BATTERY_LOW") is None, "over-temperature still holds it"
    assert modes.shed(2) and not modes.shed(1) and modes.shed_level == 2
    change = modes.command("DEGRADED")
    assert change is None and modes.causes == {"COMMAND"} and modes.shed_level == 2
    assert modes.recover("OVER_TEMPERATURE") is None, "a commanded DEGRADED stays"
    assert modes.command("NOMINAL") is not None and modes.shed_level == 0
