"""The compute manager. So far: node power control and load shedding; jobs come next.

Node power states are commanded to the hardware with SIM.SET_NODE_POWER actuator packets, so
that the physics sees the load. A shed level from fault protection caps what nodes may do:
1 no node busy, 2 only the first half of the nodes powered, 3 every node off.
"""

from __future__ import annotations

from typing import Any

from common import bus
from common.dictionary import DICTIONARY, FailureCode
from common.dictionary.apps.sim import APID as SIM_APID
from common.packets import TmPacket
from flight.framework.app import CommandFailed, FlightApp, handles, not_yet
from flight.framework.runtime import Runtime

_RANK = {"OFF": 0, "IDLE": 1, "BUSY": 2}


class ComputeManager(FlightApp):
    """Jobs on the satellite's server nodes."""

    NAME = "COMPUTE"

    def __init__(self, runtime: Runtime, satellite: str) -> None:
        super().__init__(runtime, satellite)
        self.node_count = 0
        self.commanded: dict[int, str] = {}
        self.node_power: dict[int, float] = {}
        self.shed_level = 0
        self.power_cap = self.params["POWER_CAP_W"]

    def subscriptions(self) -> list[bytes]:
        return [bus.topic(self.satellite, bus.TM, SIM_APID)]

    def on_telemetry(self, packet: TmPacket, raw: bytes, kind: str) -> None:
        if kind != bus.TM or (packet.service, packet.subtype) != (3, 25):
            return
        try:
            values = DICTIONARY.decode_tm(packet).values
        except Exception:
            return
        if "NODES.COUNT" in values:
            self.node_count = int(values["NODES.COUNT"])
            for node in range(self.node_count):
                self.node_power[node] = float(values[f"NODES.NODE{node}_POWER"])

    # --- node control ----------------------------------------------------------------------------

    def allowed(self, node: int) -> str:
        """The highest state the shed level lets ``node`` be in."""
        if self.shed_level >= 3:
            return "OFF"
        if self.shed_level == 2:
            return "IDLE" if node < max(1, self.node_count // 2) else "OFF"
        if self.shed_level == 1:
            return "IDLE"
        return "BUSY"

    def command_node(self, node: int, state: str) -> None:
        """Tell the hardware to put ``node`` in ``state``."""
        self.commanded[node] = state
        self.send_command("SIM.SET_NODE_POWER", node=node, state=state)

    def apply_shed(self) -> None:
        """Bring every node within what the shed level allows."""
        nodes = range(self.node_count) if self.node_count else sorted(self.commanded)
        for node in nodes:
            allowed = self.allowed(node)
            current = self.commanded.get(node, "BUSY")
            if _RANK[current] > _RANK[allowed]:
                self.command_node(node, allowed)

    def status_values(self) -> dict[str, Any]:
        busy = sum(1 for state in self.commanded.values() if state == "BUSY")
        powered = sum(1 for state in self.commanded.values() if state != "OFF")
        return {
            "JOBS_QUEUED": 0, "JOBS_RUNNING": 0, "JOBS_PREEMPTED": 0, "JOBS_DONE": 0,
            "JOBS_FAILED": 0, "JOBS_CANCELLED": 0,
            "NODE_UTILISATION": 100.0 * busy / powered if powered else 0.0,
            "POWER_DRAW": sum(self.node_power.values()), "POWER_CAP": self.power_cap,
            "WORK_LOST": 0.0, "RESULT_BYTES_PENDING": 0, "SHED_LEVEL": self.shed_level,
        }

    @handles("SET_NODE_STATE")
    def set_node_state(self, args: dict[str, Any]) -> None:
        node, state = args["node"], args["state"]
        if self.node_count and node >= self.node_count:
            raise CommandFailed(FailureCode.INVALID_ARGUMENT,
                                f"node {node}: this satellite has {self.node_count}", 1, "start")
        if _RANK[state] > _RANK[self.allowed(node)]:
            raise CommandFailed(FailureCode.NOT_ALLOWED_IN_MODE,
                                f"shed level {self.shed_level} allows node {node} at most "
                                f"{self.allowed(node)}", self.shed_level, "start")
        self.command_node(node, state)

    @handles("SHED")
    def shed(self, args: dict[str, Any]) -> None:
        self.shed_level = args["level"]
        self.apply_shed()

    @handles("SET_POWER_CAP")
    def set_power_cap(self, args: dict[str, Any]) -> None:
        self.power_cap = args["watts"]

    @handles("SUBMIT_JOB")
    def submit_job(self, args: dict[str, Any]) -> None:
        raise not_yet("job submission")

    @handles("CANCEL_JOB")
    def cancel_job(self, args: dict[str, Any]) -> None:
        raise not_yet("job cancellation")

    @handles("LIST_JOBS")
    def list_jobs(self, args: dict[str, Any]) -> None:
        raise not_yet("job listing")

    @handles("DOWNLINK_RESULT")
    def downlink_result(self, args: dict[str, Any]) -> None:
        raise not_yet("result downlink")
