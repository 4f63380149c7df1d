"""The housekeeping app (skeleton: answers the standard commands; reports and recorder come
with the simulated hardware)."""

from __future__ import annotations

from typing import Any

from flight.framework.app import FlightApp, handles, not_yet


class Housekeeping(FlightApp):
    """Housekeeping reports and the onboard recorder."""

    NAME = "HK"

    def status_values(self) -> dict[str, Any]:
        return {
            "RECORDER_PACKETS": 0, "RECORDER_BYTES": 0, "RECORDER_FILL": 0.0,
            "RECORDER_OVERFLOWS": 0, "PLAYBACKS": 0, "PLAYBACK_PACKETS": 0, "SENSOR_PACKETS": 0,
        }

    @handles("PLAYBACK")
    def playback(self, args: dict[str, Any]) -> None:
        raise not_yet("recorder playback")
