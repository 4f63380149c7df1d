"""SIM: the simulated hardware's packet interface (sensors out, actuators in).

The simulated hardware reaches a satellite only through these packets on its bus, so that a
hardware-in-the-loop rig speaking the same packets can replace it. Sensor readings are the
physical parameters (``ORBIT.*``, ``EPS.*``, ``THERMAL.*``, ``NODES.*``); housekeeping reports
them again in its own structures, so each parameter is declared once, here.
"""

from __future__ import annotations

from common.dictionary.model import Arg, Event, Limits, Param, Severity, Structure, function
from common.dictionary.standard import define_app
from common.dictionary.types import Bool, Enum, Float, UInt

APID = 0x050
#: Compute nodes per satellite that the fixed layouts have room for.
MAX_NODES = 8

NODE_STATE = Enum({"OFF": 0, "IDLE": 1, "BUSY": 2, "FAULT": 3})
NODE_COMMAND = Enum({"OFF": 0, "IDLE": 1, "BUSY": 2})
_F32 = Float(32)

ORBIT = (
    Param("ORBIT", "LATITUDE", _F32, "sub-satellite geodetic latitude", "deg"),
    Param("ORBIT", "LONGITUDE", _F32, "sub-satellite longitude", "deg"),
    Param("ORBIT", "ALTITUDE", _F32, "altitude above the WGS84 ellipsoid", "km"),
    Param("ORBIT", "SUNLIT", Bool(), "true when the satellite is in sunlight"),
    Param("ORBIT", "BETA", _F32, "beta angle: Sun elevation above the orbit plane", "deg"),
    Param("ORBIT", "IN_SAA", Bool(), "true inside the South Atlantic Anomaly"),
)

EPS = (
    Param(
        "EPS", "BATTERY_SOC", _F32, "battery state of charge", "%",
        Limits(warn_low=40.0, danger_low=25.0, persistence=3),
    ),
    Param(
        "EPS", "BATTERY_VOLTAGE", _F32, "battery voltage", "V",
        Limits(warn_low=26.0, warn_high=33.6, danger_low=24.0, danger_high=34.0),
    ),
    Param("EPS", "BATTERY_CURRENT", _F32, "battery current, positive when charging", "A"),
    Param("EPS", "BATTERY_ENERGY", _F32, "energy stored in the battery", "Wh"),
    Param("EPS", "SOLAR_POWER", _F32, "power delivered by the solar array", "W"),
    Param("EPS", "LOAD_POWER", _F32, "power drawn by all loads", "W"),
    Param("EPS", "PLATFORM_POWER", _F32, "power drawn by the platform (not compute)", "W"),
    Param("EPS", "COMPUTE_POWER", _F32, "power drawn by the compute nodes", "W"),
    Param("EPS", "SHED_POWER", _F32, "load the power system could not supply", "W"),
    Param("EPS", "CELLS_FAILED", UInt(8), "battery cell strings lost to faults"),
)

THERMAL = (
    Param(
        "THERMAL", "RADIATOR_TEMP", _F32, "radiator temperature", "degC",
        Limits(warn_high=60.0, danger_high=75.0, warn_low=-40.0, danger_low=-60.0),
    ),
    Param(
        "THERMAL", "BUS_TEMP", _F32, "platform (bus) temperature", "degC",
        Limits(warn_low=-10.0, warn_high=45.0, danger_low=-20.0, danger_high=55.0),
    ),
    Param(
        "THERMAL", "BATTERY_TEMP", _F32, "battery temperature", "degC",
        Limits(warn_low=0.0, warn_high=35.0, danger_low=-5.0, danger_high=45.0),
    ),
    Param("THERMAL", "HEATER_ON", Bool(), "platform heater state"),
    Param("THERMAL", "RADIATOR_EFFICIENCY", _F32, "radiator emissivity factor (1 = new)"),
)

NODES = (
    *(
        param
        for node in range(MAX_NODES)
        for param in (
            Param("NODES", f"NODE{node}_STATE", NODE_STATE, f"compute node {node} power state"),
            Param(
                "NODES", f"NODE{node}_TEMP", _F32, f"compute node {node} temperature", "degC",
                Limits(warn_high=80.0, danger_high=90.0, persistence=2),
            ),
            Param("NODES", f"NODE{node}_POWER", _F32, f"compute node {node} power draw", "W"),
        )
    ),
    Param("NODES", "COUNT", UInt(8, 0, MAX_NODES), "compute nodes fitted"),
    Param("NODES", "UPSETS", UInt(32), "single-event upsets since start"),
)

#: Each node slot's (state, temperature, power) parameter names, in slot order.
NODE_SENSORS = tuple(
    tuple(param.name for param in NODES[3 * node:3 * node + 3]) for node in range(MAX_NODES)
)

_node = Arg("node", UInt(8, 0, MAX_NODES - 1), "compute node index")

SIM = define_app(
    "SIM",
    APID,
    "Simulated hardware",
    "Orbit, power, thermal and compute-node models of one satellite, seen through sensor "
    "packets and driven by actuator packets.",
    onboard_only=True,
    commands=(
        function(
            "SET_NODE_POWER", 16, "Actuator: switch a compute node's power state.",
            _node, Arg("state", NODE_COMMAND, "power state"),
        ),
        function("SET_HEATER", 17, "Actuator: switch the platform heater.",
                 Arg("on", Bool(), "heater on")),
        function("INJECT_UPSET", 32, "Fault injection: a single-event upset on a node.", _node),
        function(
            "FAIL_BATTERY_CELLS", 33, "Fault injection: lose battery cell strings.",
            Arg("strings", UInt(8, 1, 8), "strings lost"),
        ),
        function(
            "DEGRADE_RADIATOR", 34, "Fault injection: scale the radiator's emissivity.",
            Arg("factor", Float(32, 0.05, 1.0), "new emissivity factor"),
        ),
    ),
    structures=(
        Structure(2, "SENSORS_ORBIT", "Orbit and sunlight sensors.", ORBIT, 1.0),
        Structure(3, "SENSORS_EPS", "Electrical power sensors.", EPS, 1.0),
        Structure(4, "SENSORS_THERMAL", "Thermal sensors.", THERMAL, 1.0),
        Structure(5, "SENSORS_NODES", "Compute node sensors.", NODES, 1.0),
    ),
    events=(
        Event(
            16, "NODE_UPSET", Severity.MEDIUM, "single-event upset on node {node}",
            (_node, Arg("in_saa", UInt(8, 0, 1), "1 inside the South Atlantic Anomaly")),
        ),
        Event(17, "ECLIPSE_ENTRY", Severity.INFO, "eclipse entry"),
        Event(18, "ECLIPSE_EXIT", Severity.INFO, "eclipse exit"),
        Event(
            19, "BATTERY_CELLS_FAILED", Severity.HIGH, "{strings} battery cell strings failed",
            (Arg("strings", UInt(8), "strings failed so far"),),
        ),
        Event(
            20, "RADIATOR_DEGRADED", Severity.MEDIUM, "radiator emissivity factor now {factor:.2f}",
            (Arg("factor", Float(32), "emissivity factor"),),
        ),
        Event(
            21, "LOAD_SHED", Severity.HIGH, "battery empty: {power:.0f} W of load unpowered",
            (Arg("power", Float(32), "load not supplied", "W"),),
        ),
    ),
)
