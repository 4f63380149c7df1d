"""What fault protection keeps across its restarts, in the satellite's directory.

The mode and shed level (compute keeps its shed across restarts too: the two must agree), the
event-action table with its switches and counts, the monitor switches, and the command-loss
timer (a crash loop of fault protection must not keep the satellite out of SAFE forever).
Written atomically (a temporary file, then a rename) at every change.
"""

from __future__ import annotations

import json
from pathlib import Path

import structlog

from common.files import write_atomic
from flight.fault.modes import ModeKeeper
from flight.fault.monitors import MonitorSet
from flight.fault.table import EventActionTable
from flight.fault.watch import CommandLossTimer

STATE_FILE = "fault.json"


def save(path: Path, modes: ModeKeeper, table: EventActionTable, monitors: MonitorSet,
         loss: CommandLossTimer) -> None:
    """Write the state to ``path``."""
    state = {
        "modes": modes.to_state(), "table": table.to_state(),
        "monitors": {name: m.enabled for name, m in monitors.monitors.items()},
        "monitoring": monitors.function_enabled,
        "loss": {"last_contact": loss.last_contact, "fired": loss.fired},
    }
    write_atomic(path, json.dumps(state))


def load(path: Path, modes: ModeKeeper, table: EventActionTable, monitors: MonitorSet,
         loss: CommandLossTimer, log: structlog.stdlib.BoundLogger) -> None:
    """Restore the state saved in ``path``, if any; what no longer checks is logged, skipped."""
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return
    except ValueError as exc:
        log.warning("saved state unreadable: defaults used", error=str(exc))
        return
    modes.load_state(state.get("modes", {}))
    if "table" in state:
        for skipped in table.load_state(state["table"]):
            log.warning("saved event-action definition dropped", detail=skipped)
    for name, enabled in state.get("monitors", {}).items():
        if name in monitors.monitors:
            monitors[name].enabled = bool(enabled)
    monitors.function_enabled = bool(state.get("monitoring", True))
    saved = state.get("loss", {})
    if isinstance(saved.get("last_contact"), int | float):
        loss.last_contact = float(saved["last_contact"])
        loss.fired = bool(saved.get("fired", False))
