"""The simulated hardware of one satellite, as an app on that satellite's bus.

It speaks only the packets a real hardware rig would: sensor readings out (SIM's housekeeping
structures, TM[3,25] on APID 0x050, every simulated second by default) and actuator commands in
(SIM.SET_NODE_POWER, SIM.SET_HEATER, and the fault injections). The physics advances on
simulated time in fixed steps; every step the orbit is sampled and power, thermal and upsets are
integrated. Many satellites' hardware runs in one process: each is its own app instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.dictionary.model import Structure
from common.orbits import OrbitSample, OrbitTrack
from common.packets import TcPacket
from flight.framework.app import FlightApp, handles
from flight.framework.runtime import Runtime
from flight.sim.models.satellite import SatelliteModel


class SimHardware(FlightApp):
    """Sensors and actuators of one simulated satellite."""

    NAME = "SIM"

    def __init__(self, runtime: Runtime, satellite: str, model: SatelliteModel,
                 track: OrbitTrack, step_s: float = 1.0) -> None:
        super().__init__(runtime, satellite)
        self.model = model
        self.track = track
        self.step_s = step_s
        self._stepper: Any = None
        self._sunlit: bool | None = None
        self._shedding = False
        self._orbit: OrbitSample | None = None
        #: The readings of the last physics step, made when first asked for (every sensor
        #: structure sent at one time shares them).
        self._readings: Mapping[str, Any] | None = None
        self.steps = 0

    async def on_start(self) -> None:
        interval = self.runtime.run.timing.sensor_interval_s
        for sid in self._hk_interval:
            if sid != 1:  # the sensor structures; STATUS keeps its own rate
                self._hk_interval[sid] = interval
                self._arm_hk(sid)
        self._stepper = self.clock.every(self.step_s, self._step)

    async def on_stop(self) -> None:
        if self._stepper is not None:
            self._stepper.cancel()

    def orbit(self, unix: float | None = None) -> OrbitSample:
        """Where the satellite is now (or at ``unix``)."""
        return self.track.at(self.clock.now() if unix is None else unix)

    def _step(self, due: float) -> None:
        # The readings sent between steps use this sample too: sampling at "now" instead would,
        # in a process running behind, flip between two cached hours of orbit and recompute one
        # at every call.
        orbit = self._orbit = self.track.at(due)
        self._readings = None
        for upset in self.model.step(self.step_s, orbit):
            self.event("NODE_UPSET", node=upset.node, in_saa=int(upset.in_saa))
        self.steps += 1
        if self._sunlit is not None and orbit.sunlit != self._sunlit:
            self.event("ECLIPSE_EXIT" if orbit.sunlit else "ECLIPSE_ENTRY")
        self._sunlit = orbit.sunlit
        shed = self.model.power.last.shed_w
        if shed > 0 and not self._shedding:
            self.event("LOAD_SHED", power=shed)
        self._shedding = shed > 0

    def structure_values(self, structure: Structure) -> Mapping[str, Any] | None:
        if self._readings is None:
            self._readings = self.model.readings(self._orbit or self.orbit())
        return self._readings

    # --- actuators -------------------------------------------------------------------------------

    def _handle_command(self, tc: TcPacket) -> None:
        # Any command may change the hardware (an actuator, an injected fault): the next
        # readings are taken afresh.
        super()._handle_command(tc)
        self._readings = None

    @handles("SET_NODE_POWER")
    def set_node_power(self, args: dict[str, Any]) -> None:
        self.model.set_node(args["node"], args["state"])

    @handles("SET_HEATER")
    def set_heater(self, args: dict[str, Any]) -> None:
        self.model.set_heater(bool(args["on"]))

    # --- fault injection -------------------------------------------------------------------------

    @handles("INJECT_UPSET")
    def inject_upset(self, args: dict[str, Any]) -> None:
        self.model.inject_upset(args["node"])
        self.event("NODE_UPSET", node=args["node"], in_saa=int(self.orbit().in_saa))

    @handles("FAIL_BATTERY_CELLS")
    def fail_battery_cells(self, args: dict[str, Any]) -> None:
        failed = self.model.fail_battery_strings(args["strings"])
        self.event("BATTERY_CELLS_FAILED", strings=failed)

    @handles("DEGRADE_RADIATOR")
    def degrade_radiator(self, args: dict[str, Any]) -> None:
        self.model.degrade_radiator(args["factor"])
        self.event("RADIATOR_DEGRADED", factor=args["factor"])
