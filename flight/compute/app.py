"""The compute manager (skeleton: answers the standard commands; jobs come later)."""

from __future__ import annotations

from typing import Any

from flight.framework.app import FlightApp, handles, not_yet


class ComputeManager(FlightApp):
    """Jobs on the satellite's server nodes."""

    NAME = "COMPUTE"

    def status_values(self) -> dict[str, Any]:
        return {
            "JOBS_QUEUED": 0, "JOBS_RUNNING": 0, "JOBS_PREEMPTED": 0, "JOBS_DONE": 0,
            "JOBS_FAILED": 0, "JOBS_CANCELLED": 0, "NODE_UTILISATION": 0.0, "POWER_DRAW": 0.0,
            "POWER_CAP": self.params["POWER_CAP_W"], "WORK_LOST": 0.0, "RESULT_BYTES_PENDING": 0,
        }

    @handles("SUBMIT_JOB")
    def submit_job(self, args: dict[str, Any]) -> None:
        raise not_yet("job submission")

    @handles("CANCEL_JOB")
    def cancel_job(self, args: dict[str, Any]) -> None:
        raise not_yet("job cancellation")

    @handles("LIST_JOBS")
    def list_jobs(self, args: dict[str, Any]) -> None:
        raise not_yet("job listing")

    @handles("SET_POWER_CAP")
    def set_power_cap(self, args: dict[str, Any]) -> None:
        raise not_yet("the power cap")

    @handles("SET_NODE_STATE")
    def set_node_state(self, args: dict[str, Any]) -> None:
        raise not_yet("node power control")

    @handles("DOWNLINK_RESULT")
    def downlink_result(self, args: dict[str, Any]) -> None:
        raise not_yet("result downlink")
