"""HK: housekeeping reports and the onboard recorder (PUS 3 and PUS 15)."""

from __future__ import annotations

from common.dictionary.apps.sim import EPS, NODES, ORBIT, THERMAL
from common.dictionary.model import Arg, Command, Event, Param, Setting, Severity, Structure
from common.dictionary.standard import define_app
from common.dictionary.types import Float, Time, UInt

APID = 0x020

_U32 = UInt(32)

HK = define_app(
    "HK",
    APID,
    "Housekeeping",
    "Gathers hardware readings and app status into periodic PUS 3 reports, and keeps the "
    "onboard recorder: every TM the satellite produces, on disk, played back on command.",
    supervised=True,
    commands=(
        Command(
            "PLAYBACK", 15, 9,
            "Downlink the recorded packets whose time lies in [start, end] (PUS 15,9).",
            (Arg("start", Time(), "first packet time"), Arg("end", Time(), "last packet time")),
        ),
    ),
    status=(
        Param("HK", "RECORDER_PACKETS", _U32, "packets in the recorder"),
        Param("HK", "RECORDER_BYTES", _U32, "bytes in the recorder", "B"),
        Param(
            "HK", "RECORDER_FILL", Float(32), "recorder fill level", "%",
        ),
        Param("HK", "RECORDER_OVERFLOWS", _U32, "packets discarded by the overflow policy"),
        Param("HK", "RECORDER_REPAIRED", _U32, "gaps filled by asking the sender again"),
        Param("HK", "RECORDER_GAPS", _U32, "packets never recorded (not held by the sender)"),
        Param("HK", "PLAYBACKS", _U32, "playbacks completed"),
        Param("HK", "PLAYBACK_PACKETS", _U32, "packets sent by playback"),
        Param("HK", "SENSOR_PACKETS", _U32, "sensor packets received"),
    ),
    structures=(
        Structure(2, "EPS", "Electrical power.", EPS, 10.0),
        Structure(3, "THERMAL", "Temperatures and heaters.", THERMAL, 10.0),
        Structure(4, "ORBIT", "Position and sunlight.", ORBIT, 30.0),
        Structure(5, "NODES", "Compute node states, temperatures and power.", NODES, 10.0),
    ),
    events=(
        Event(
            16, "PLAYBACK_STARTED", Severity.INFO, "playback of {packets} packets started",
            (Arg("packets", _U32, "packets in the span"),),
        ),
        Event(
            17, "PLAYBACK_DONE", Severity.INFO, "playback done: {packets} packets sent",
            (Arg("packets", _U32, "packets sent"),),
        ),
        Event(
            18, "RECORDER_OVERFLOW", Severity.MEDIUM,
            "recorder full: {dropped} oldest packets discarded",
            (Arg("dropped", _U32, "packets discarded"),),
        ),
    ),
    settings=(
        Setting(1, "RECORDER_LIMIT_MB", "recorder size limit", 256.0, 0.25, 65536.0, "MiB"),
        Setting(2, "RECORDER_WRAP", "when full: 1 drops the oldest packets, 0 stops recording",
                1.0, 0.0, 1.0),
    ),
)
