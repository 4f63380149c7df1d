"""Fault protection (skeleton: answers the standard commands and holds the mode)."""

from __future__ import annotations

from typing import Any

from flight.framework.app import FlightApp, handles, not_yet


class FaultProtection(FlightApp):
    """Limit monitoring, event-actions and the satellite mode."""

    NAME = "FP"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mode = "NOMINAL"

    def status_values(self) -> dict[str, Any]:
        return {"MODE": self.mode, "SHED_LEVEL": 0, "MONITORS_ENABLED": 0, "VIOLATIONS": 0,
                "ACTIONS_FIRED": 0, "LAST_TC_AGE": 0.0}

    @handles("SET_MODE")
    def set_mode(self, args: dict[str, Any]) -> None:
        old, self.mode = self.mode, args["mode"]
        if old != self.mode:
            self.event("MODE_CHANGED", old=old, new=self.mode, cause="COMMAND")

    @handles("ENABLE_MONITOR")
    def enable_monitor(self, args: dict[str, Any]) -> None:
        raise not_yet("parameter monitoring")

    @handles("DISABLE_MONITOR")
    def disable_monitor(self, args: dict[str, Any]) -> None:
        raise not_yet("parameter monitoring")

    @handles("ENABLE_ACTION")
    def enable_action(self, args: dict[str, Any]) -> None:
        raise not_yet("the event-action table")

    @handles("DISABLE_ACTION")
    def disable_action(self, args: dict[str, Any]) -> None:
        raise not_yet("the event-action table")
