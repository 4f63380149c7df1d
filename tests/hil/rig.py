"""A hardware-in-the-loop rig for one satellite, written from scratch against the packets.

This is what a bench would run in place of the simulated hardware of one satellite: a process
on that satellite's software bus that *only* speaks the sensor and actuator packets of the
dictionary's SIM app — no flight framework, no physics. Here it is a bench power supply and a
thermal chamber: the battery sits at a fixed charge, every temperature at the chamber's
setting, and the compute nodes are whatever the actuator commands last said.

* Sensors out: SIM.SENSORS_ORBIT, _EPS, _THERMAL and _NODES as TM[3,25] on the SIM APID,
  every ``timing.sensor_interval_s`` simulated seconds, on the bus topic the flight apps
  subscribe to.
* Actuators in: SIM telecommands from the bus (SIM.SET_NODE_POWER, SIM.SET_HEATER; fault
  injections are refused: a real rig cannot upset a node on request), each answered with the
  PUS 1 reports its acknowledgement flags ask for.

Start a fleet that leaves a satellite's hardware to a rig, then the rig::

    dawndusk up fleet.toml --run-dir runs/hil --hil SAT-02
    python tests/hil/rig.py --run-dir runs/hil SAT-02 [--soc 77] [--temp 21]

It stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from common import bus
from common.cuc import CucTime
from common.dictionary import DICTIONARY, FailureCode
from common.dictionary.standard import request_words
from common.errors import PacketError
from common.framing import iter_frames
from common.packets import AckFlags, TcPacket, TmPacket, decode, encode_tm
from common.runconfig import RunConfig
from common.runtime import Runtime
from common.sequence import SequenceCounter
from common.zmqloop import Readable, drain

SIM = DICTIONARY.apps["SIM"]
SENSORS = [DICTIONARY.structures[f"SIM.SENSORS_{n}"] for n in ("ORBIT", "EPS", "THERMAL",
                                                              "NODES")]
NODES_FITTED = 4


class BenchRig:
    """Sensor readings of a bench, actuators that switch its node supplies."""

    def __init__(self, runtime: Runtime, satellite: str, soc: float, temp: float) -> None:
        self.runtime = runtime
        self.satellite = satellite
        self.clock = runtime.clock
        self.nodes = ["IDLE"] * NODES_FITTED
        self.heater = False
        self.soc, self.temp = soc, temp
        self.seq = SequenceCounter()
        self.commands = self.refused = 0
        context, endpoints = runtime.context, runtime.endpoints
        self.publisher = bus.Publisher(context, endpoints.bus_in(satellite))
        self.subscriber = bus.Subscriber(context, endpoints.bus_out(satellite))
        self.subscriber.subscribe(bus.topic(satellite, bus.TC, SIM.apid))

    # --- sensors ---------------------------------------------------------------------------------

    def readings(self) -> dict[str, Any]:
        """Every SIM sensor parameter, as the bench sees it."""
        power = {"OFF": 0.0, "IDLE": 60.0, "BUSY": 610.0}
        values: dict[str, Any] = {}
        for structure in SENSORS:
            for param in structure.params:
                values[param.name] = 0
        values.update({
            "ORBIT.SUNLIT": True, "ORBIT.ALTITUDE": 750.0,
            "EPS.BATTERY_SOC": self.soc, "EPS.BATTERY_VOLTAGE": 30.0,
            "EPS.SOLAR_POWER": 3000.0, "EPS.PLATFORM_POWER": 400.0,
            "EPS.COMPUTE_POWER": sum(power[s] for s in self.nodes),
            "THERMAL.RADIATOR_TEMP": self.temp, "THERMAL.BUS_TEMP": self.temp,
            "THERMAL.BATTERY_TEMP": self.temp, "THERMAL.HEATER_ON": self.heater,
            "THERMAL.RADIATOR_EFFICIENCY": 1.0, "NODES.COUNT": NODES_FITTED,
        })
        values["EPS.LOAD_POWER"] = values["EPS.PLATFORM_POWER"] + values["EPS.COMPUTE_POWER"]
        for node in range(8):
            state = self.nodes[node] if node < NODES_FITTED else "OFF"
            values[f"NODES.NODE{node}_STATE"] = state
            values[f"NODES.NODE{node}_TEMP"] = self.temp
            values[f"NODES.NODE{node}_POWER"] = power[state]
        return values

    def publish_sensors(self, _due: float) -> None:
        values = self.readings()
        for structure in SENSORS:
            self._send(3, 25, DICTIONARY.hk_app_data(structure, values))

    def _send(self, service: int, subtype: int, data: bytes, dest: int = 1) -> None:
        packet = TmPacket(SIM.apid, service, subtype, data, self.seq.next(SIM.apid), 0, dest,
                          CucTime.from_unix(self.clock.now()))
        self.publisher.send(bus.topic(self.satellite, bus.TM, SIM.apid), encode_tm(packet))

    # --- actuators -------------------------------------------------------------------------------

    def receive(self) -> None:
        for _topic, payload in drain(self.subscriber.socket, 100):
            for framed in iter_frames(payload):
                try:
                    tc = decode(framed.data, DICTIONARY.apids)
                    if isinstance(tc, TcPacket):
                        self.command(tc)
                except PacketError:
                    self.refused += 1

    def command(self, tc: TcPacket) -> None:
        decoded = DICTIONARY.decode_command(tc)
        name, args = decoded.command.name, decoded.args
        if name == "SIM.SET_NODE_POWER" and args["node"] < NODES_FITTED:
            self.nodes[args["node"]] = args["state"]
        elif name == "SIM.SET_HEATER":
            self.heater = bool(args["on"])
        else:
            self.refused += 1
            self._verify(tc, 2, FailureCode.INVALID_ARGUMENT)
            return
        self.commands += 1
        flags = AckFlags(tc.ack_flags)
        for flag, subtype in ((AckFlags.ACCEPTANCE, 1), (AckFlags.START, 3),
                              (AckFlags.COMPLETION, 7)):
            if flags & flag:
                self._verify(tc, subtype)

    def _verify(self, tc: TcPacket, subtype: int, code: FailureCode | None = None) -> None:
        packet_id, sequence = request_words(tc.apid, tc.seq_count)
        values: dict[str, Any] = {"packet_id": packet_id, "sequence": sequence}
        if code is not None:
            values.update(code=code.name, data=0)
        report = DICTIONARY.standard_report(1, subtype)
        self._send(1, subtype, DICTIONARY.report_app_data(report, values), dest=tc.source_id)

    async def run(self, stop: asyncio.Event) -> None:
        held: list[list[bytes]] = []
        await bus.prove_live(self.publisher, self.subscriber, self.satellite, "RIG", 20.0, held)
        reader = Readable(self.subscriber.socket, self.receive)
        timer = self.clock.every(self.runtime.run.timing.sensor_interval_s, self.publish_sensors)
        print(f"rig on {self.satellite}'s bus", flush=True)
        try:
            await stop.wait()
        finally:
            timer.cancel()
            reader.close()
            self.publisher.close()
            self.subscriber.close()


async def main(run_dir: str, satellite: str, soc: float, temp: float) -> int:
    runtime = Runtime(RunConfig.load(run_dir))
    runtime.follow_clock()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        await BenchRig(runtime, satellite, soc, temp).run(stop)
    finally:
        runtime.close()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("satellite")
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--soc", type=float, default=77.0, help="battery charge, %%")
    parser.add_argument("--temp", type=float, default=21.0, help="chamber temperature, °C")
    options = parser.parse_args()
    raise SystemExit(asyncio.run(main(options.run_dir, options.satellite, options.soc,
                                      options.temp)))
