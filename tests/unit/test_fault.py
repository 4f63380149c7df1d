"""Fault protection as an app, driven by synthetic packets on a fake bus and a fake clock.

The app is the real one (dispatch, handlers, monitors, table, modes); only its bus and clocks
are stand-ins: sensor packets and telecommands go in through the app's receive path as bytes,
and what it publishes (events, verification reports, telecommands to other apps) is decoded
back with the dictionary.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from common import bus
from common.dictionary import DICTIONARY, GROUND_ID
from common.dictionary.standard import STATUS_SID, request_words
from common.dictionary.types import Bool, Enum
from common.packets import TcPacket, TmPacket, decode, encode, encode_tc
from common.runconfig import Timing
from common.sequence import SequenceCounter
from flight.fault.app import FaultProtection

SAT = "SAT-01"
T0 = 1_780_000_000.0
TEST_SET_ID = 2


class FakeClock:
    """Simulated time that moves only when the test says."""

    rate = 1.0

    def __init__(self, now: float) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    def every(self, *_args: Any, **_kwargs: Any) -> SimpleNamespace:
        return SimpleNamespace(cancel=lambda: None)

    call_later = every


class FakePublisher:
    """Keeps what the app publishes."""

    dropped = 0

    def __init__(self) -> None:
        self.sent: list[tuple[bus.Topic, bytes]] = []

    def send(self, topic: bytes, data: bytes) -> None:
        self.sent.append((bus.parse_topic(topic), data))

    def send_control(self, topic: bytes, message: Any) -> None:
        pass

    def close(self) -> None:
        pass


class FakeSubscriber:
    def __init__(self) -> None:
        self.prefixes: set[bytes] = set()

    def subscribe(self, prefix: bytes) -> None:
        self.prefixes.add(prefix)

    def unsubscribe(self, prefix: bytes) -> None:
        self.prefixes.discard(prefix)


def _nominal(param: Any) -> Any:
    if isinstance(param.type, Enum):
        return "IDLE" if "IDLE" in param.type.labels else next(iter(param.type.labels))
    if isinstance(param.type, Bool):
        return False
    return {"EPS.BATTERY_SOC": 80.0, "EPS.BATTERY_VOLTAGE": 30.0, "NODES.COUNT": 4}.get(
        param.name, 20.0 if param.unit == "degC" else 0)


SENSORS = [DICTIONARY.structures[f"SIM.SENSORS_{name}"] for name in ("EPS", "THERMAL", "NODES")]


class Harness:
    """One fault protection app with its stand-ins."""

    def __init__(self, home: Path, stopped: frozenset[str] = frozenset()) -> None:
        self.home = home
        self.clock = FakeClock(T0)
        self.wall = 0.0
        run = SimpleNamespace(timing=Timing(), satellite_dir=lambda _sat: home)
        runtime = SimpleNamespace(run=run, clock=self.clock, stopped_apps=stopped)
        self.app = FaultProtection(runtime, SAT, wall=lambda: self.wall)
        self.bus = FakePublisher()
        self.app.publisher = self.bus  # type: ignore[assignment]
        self.app.subscriber = FakeSubscriber()  # type: ignore[assignment]
        for prefix in self.app.subscriptions():
            self.app.subscriber.subscribe(prefix)
        self.seq = SequenceCounter()
        self.values = {p.name: _nominal(p) for s in SENSORS for p in s.params}
        self.read = 0

    # --- in ----------------------------------------------------------------------------------

    def _deliver(self, kind: str, apid: int, data: bytes) -> None:
        self.app._handle_message([bus.topic(SAT, kind, apid), data])
        self._loop_back()

    def _loop_back(self) -> None:
        """Like the real bus and executive, hand the app back the telecommands it published
        (fault protection watches every telecommand on the bus, its own included, once the
        executive has put it there)."""
        while self.read < len(self.bus.sent):
            topic, sent = self.bus.sent[self.read]
            self.read += 1
            if topic.kind in (bus.TC, bus.ONBOARD):
                self.app._handle_message([bus.topic(SAT, bus.TC, topic.apid), sent])

    def sensors(self, samples: int = 1, advance_s: float = 1.0, **values: Any) -> None:
        """``samples`` rounds of every sensor structure, ``advance_s`` apart; keyword names
        are parameter names with ``__`` for the dot (``EPS__BATTERY_SOC=25``)."""
        self.values.update({name.replace("__", "."): value for name, value in values.items()})
        for _ in range(samples):
            self.clock.t += advance_s
            for structure in SENSORS:
                tm = TmPacket(structure.apid, 3, 25, DICTIONARY.hk_app_data(structure,
                                                                           self.values),
                              self.seq.next(structure.apid))
                self._deliver(bus.TM, structure.apid, encode(tm))

    def event_from(self, name: str, **args: Any) -> None:
        """Another app's event on the bus."""
        event = DICTIONARY.events[name]
        tm = TmPacket(event.apid, 5, int(event.severity), DICTIONARY.event_app_data(event, args),
                      self.seq.next(event.apid))
        self._deliver(bus.TM, event.apid, encode(tm))

    def command(self, name: str, source: int = GROUND_ID, **args: Any) -> tuple[int, int]:
        """Send a telecommand; the verification report it got, (1, subtype), or (0, 0)."""
        tc = DICTIONARY.encode_command(name, args, seq_count=self.seq.next(0x7F0),
                                       source_id=source)
        start = len(self.bus.sent)
        self._deliver(bus.TC, tc.apid, encode(tc))
        for topic, data in self.bus.sent[start:]:
            if topic.kind == bus.TM:
                packet = decode(data)
                if packet.service == 1 and packet.subtype in (2, 4, 7, 8):
                    return 1, packet.subtype
        return 0, 0

    def tick(self, seconds: float, wall_s: float = 0.0) -> None:
        """Let simulated (and wall) time pass, then run the app's periodic checks."""
        self.clock.t += seconds
        self.wall += wall_s
        self.app.periodic(self.clock.t)
        self._loop_back()

    # --- out ---------------------------------------------------------------------------------

    def out(self, since: int = 0) -> list[tuple[str, dict[str, Any]]]:
        """What the app published: ("FP.EVENT", args) events and ("APP.VERB", args) commands."""
        found = []
        for _topic, data in self.bus.sent[since:]:
            packet = decode(data)
            if isinstance(packet, TcPacket):
                decoded = DICTIONARY.decode_command(packet)
                found.append((decoded.command.name, decoded.args))
            elif packet.service == 5:
                tm = DICTIONARY.decode_tm(packet)
                found.append((tm.name, tm.values))
        return found

    def sent_tcs(self, name: str, since: int = 0) -> list[TcPacket]:
        """The telecommands ``APP.VERB`` the app sent."""
        found = []
        for _topic, data in self.bus.sent[since:]:
            packet = decode(data)
            if (isinstance(packet, TcPacket)
                    and DICTIONARY.decode_command(packet).command.name == name):
                found.append(packet)
        return found

    def refusal_from_executive(self, tc: TcPacket, code: str) -> None:
        """The executive's TM[1,2] about ``tc`` (as flight.executive.gate sends it)."""
        packet_id, sequence = request_words(tc.apid, tc.seq_count)
        report = DICTIONARY.standard_report(1, 2)
        data = DICTIONARY.report_app_data(report, {"packet_id": packet_id,
                                                   "sequence": sequence, "code": code,
                                                   "data": 0})
        apid = DICTIONARY.apps["EXEC"].apid
        self._deliver(bus.TM, apid, encode(TmPacket(apid, 1, 2, data, self.seq.next(apid),
                                                    dest_id=tc.source_id)))

    def names(self, since: int = 0) -> list[str]:
        return [name for name, _ in self.out(since)]

    def mark(self) -> int:
        return len(self.bus.sent)

    def status(self) -> dict[str, Any]:
        """Fault protection's status values, as its TM[3,25] report carries them."""
        start = self.mark()
        self.app.report_hk(STATUS_SID)
        for _topic, data in self.bus.sent[start:]:
            packet = decode(data)
            if (packet.service, packet.subtype) == (3, 25):
                return DICTIONARY.decode_tm(packet).values
        raise AssertionError("no status report was sent")

    def report(self, command: str) -> Any:
        start = self.mark()
        assert self.command(command) == (1, 7)
        for _topic, data in self.bus.sent[start:]:
            packet = decode(data)
            if packet.service in (12, 19):
                return next(iter(DICTIONARY.decode_tm(packet).values.values()))
        raise AssertionError(f"{command} sent no report")


@pytest.fixture
def fp(tmp_path: Path) -> Harness:
    return Harness(tmp_path / "SAT-01")


def fp_events(harness: Harness, since: int = 0) -> list[str]:
    return [name for name in harness.names(since) if name.startswith("FP.")]


def test_a_handler_that_crashes_fails_its_command_and_the_app_goes_on(fp: Harness) -> None:
    def crash(_args: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    fp.app._handlers["NOOP"] = crash
    start = fp.mark()
    assert fp.command("FP.NOOP") == (1, 8)
    failures = [values for name, values in fp.out(start) if name == "FP.COMMAND_REJECTED"]
    assert failures and failures[0]["code"] == "EXECUTION_FAILED"
    assert fp.command("FP.SET_MODE", mode="NOMINAL") == (1, 7)


# --- battery ---------------------------------------------------------------------------------


def test_battery_low_sheds_compute_then_very_low_enters_safe_in_order(fp: Harness) -> None:
    fp.sensors(5, EPS__BATTERY_SOC=35.0)
    assert "FP.BATTERY_LOW" not in fp.names()
    start = fp.mark()
    fp.sensors(3, EPS__BATTERY_SOC=29.0)
    out = [item for item in fp.out(start) if item[0] != "FP.LIMIT_VIOLATION"]
    assert out == [
        ("FP.BATTERY_LOW", {"soc": 29.0}),
        ("FP.ACTION_FIRED", {"event": "FP.BATTERY_LOW", "actions": 2, "fired": 1}),
        ("COMPUTE.SHED", {"level": 2}),
        ("FP.MODE_CHANGED", {"old": "NOMINAL", "new": "DEGRADED", "cause": "BATTERY_LOW"}),
    ]
    start = fp.mark()
    fp.sensors(3, EPS__BATTERY_SOC=14.0)
    out = [item for item in fp.out(start) if item[0] != "FP.LIMIT_VIOLATION"]
    assert out == [
        ("FP.BATTERY_CRITICAL", {"soc": 14.0}),
        ("FP.ACTION_FIRED", {"event": "FP.BATTERY_CRITICAL", "actions": 2, "fired": 1}),
        ("COMPUTE.SHED", {"level": 3}),
        ("FP.MODE_CHANGED", {"old": "DEGRADED", "new": "SAFE", "cause": "BATTERY_CRITICAL"}),
    ]
    status = fp.status()
    assert (status["FP.MODE"], status["FP.SHED_LEVEL"], status["FP.ACTIONS_FIRED"]) == (
        "SAFE", 3, 2)


def test_a_violation_needs_its_persistence_in_consecutive_samples(fp: Harness) -> None:
    # EPS.BATTERY_SOC has persistence 3 in the dictionary: an interrupted run does not count.
    for soc in (29.0, 29.0, 31.0, 29.0, 29.0):
        fp.sensors(EPS__BATTERY_SOC=soc)
    assert "FP.BATTERY_LOW" not in fp.names()
    fp.sensors(EPS__BATTERY_SOC=29.0)
    assert fp.names().count("FP.BATTERY_LOW") == 1
    fp.sensors(10, EPS__BATTERY_SOC=29.0)
    assert fp.names().count("FP.BATTERY_LOW") == 1, "a transition is reported once"


def test_limit_monitors_report_each_level_and_the_recovery(fp: Harness) -> None:
    # Warning below 40 %, danger below 25 %, persistence 3 (the dictionary's limits).
    fp.sensors(2, EPS__BATTERY_SOC=39.0)
    assert "FP.LIMIT_VIOLATION" not in fp.names()
    fp.sensors(1)
    fp.sensors(3, EPS__BATTERY_SOC=35.0)
    fp.sensors(3, EPS__BATTERY_SOC=24.0)
    fp.sensors(3, EPS__BATTERY_SOC=60.0)
    limits = [(name, args) for name, args in fp.out()
              if name in ("FP.LIMIT_VIOLATION", "FP.LIMIT_RECOVERED")]
    assert limits == [
        ("FP.LIMIT_VIOLATION", {"monitor": "EPS.BATTERY_SOC", "value": 39.0, "level": "WARNING"}),
        ("FP.LIMIT_VIOLATION", {"monitor": "EPS.BATTERY_SOC", "value": 24.0, "level": "DANGER"}),
        ("FP.LIMIT_RECOVERED", {"monitor": "EPS.BATTERY_SOC", "value": 60.0}),
    ]
    assert fp.status()["FP.VIOLATIONS"] == 3  # two limit violations, one BATTERY_LOW


def test_a_battery_shed_ends_by_itself_only_above_the_recovery_threshold(fp: Harness) -> None:
    fp.sensors(3, EPS__BATTERY_SOC=29.0)
    assert fp.app.mode == "DEGRADED"
    fp.sensors(10, EPS__BATTERY_SOC=45.0)  # above the shed threshold, below SOC_RECOVER_PCT
    assert fp.app.mode == "DEGRADED" and "FP.BATTERY_RECOVERED" not in fp.names()
    start = fp.mark()
    fp.sensors(3, EPS__BATTERY_SOC=51.0)
    assert [item for item in fp.out(start) if not item[0].startswith("FP.LIMIT")] == [
        ("FP.BATTERY_RECOVERED", {"soc": 51.0}),
        ("FP.ACTION_FIRED", {"event": "FP.BATTERY_RECOVERED", "actions": 1, "fired": 1}),
        ("COMPUTE.SHED", {"level": 0}),
        ("FP.MODE_CHANGED", {"old": "DEGRADED", "new": "NOMINAL", "cause": "RECOVERED"}),
    ]
    assert fp.status()["FP.SHED_LEVEL"] == 0
    # Re-armed: the next low battery sheds again.
    fp.sensors(3, EPS__BATTERY_SOC=29.0)
    assert fp.app.mode == "DEGRADED"


def test_recovery_leaves_neither_safe_nor_a_degraded_held_by_over_temperature(
        fp: Harness) -> None:
    fp.sensors(3, EPS__BATTERY_SOC=29.0)
    fp.sensors(2, NODES__NODE0_TEMP=86.0)
    fp.sensors(3, EPS__BATTERY_SOC=60.0)
    assert "FP.BATTERY_RECOVERED" in fp.names() and fp.app.mode == "DEGRADED"
    fp.sensors(3, EPS__BATTERY_SOC=10.0)
    fp.sensors(3, EPS__BATTERY_SOC=60.0)
    assert fp.app.mode == "SAFE"


def test_the_recovery_threshold_is_an_onboard_parameter(fp: Harness) -> None:
    assert fp.command("FP.SET_PARAM", param="SOC_RECOVER_PCT", value=40.0) == (1, 7)
    fp.sensors(3, EPS__BATTERY_SOC=29.0)
    fp.sensors(3, EPS__BATTERY_SOC=41.0)
    assert fp.app.mode == "NOMINAL"


# --- thermal ---------------------------------------------------------------------------------


def test_a_hot_node_is_throttled_then_powered_off_and_only_cooling_clears_it(
        fp: Harness) -> None:
    fp.sensors(2, NODES__NODE1_TEMP=86.0)
    assert [item for item in fp.out() if not item[0].startswith("FP.LIMIT")] == [
        ("FP.NODE_HOT", {"node": 1, "temp": 86.0}),
        ("FP.ACTION_FIRED", {"event": "FP.NODE_HOT", "actions": 2, "fired": 1}),
        ("COMPUTE.SHED", {"level": 1}),
        ("FP.MODE_CHANGED", {"old": "NOMINAL", "new": "DEGRADED", "cause": "OVER_TEMPERATURE"}),
    ]
    start = fp.mark()
    fp.sensors(2, NODES__NODE1_TEMP=96.0)
    assert [item for item in fp.out(start) if not item[0].startswith("FP.LIMIT")] == [
        ("FP.NODE_OVERHEAT", {"node": 1, "temp": 96.0}),
        ("FP.ACTION_FIRED", {"event": "FP.NODE_OVERHEAT", "actions": 2, "fired": 1}),
        ("COMPUTE.SET_NODE_STATE", {"node": 1, "state": "OFF"}),
    ]
    start = fp.mark()
    fp.sensors(3, NODES__NODE1_TEMP=88.0)  # cooling through the throttle band: no re-throttle
    fp.sensors(3, NODES__NODE1_TEMP=81.0)  # within the hysteresis: still latched
    assert [name for name in fp.names(start) if name != "FP.LIMIT_VIOLATION"] == []
    fp.sensors(2, NODES__NODE1_TEMP=79.0)
    assert ("FP.NODE_COOLED", {"node": 1, "temp": 79.0}) in fp.out(start)
    assert fp.app.mode == "DEGRADED", "over-temperature is left by command"
    fp.sensors(2, NODES__NODE1_TEMP=86.0)
    assert fp.names().count("FP.NODE_HOT") == 2, "cooled, it is watched again"


def test_the_radiator_limit_stops_all_work_and_absent_nodes_are_not_judged(
        fp: Harness) -> None:
    # Nodes 4..7 are not fitted (NODES.COUNT = 4): their readings are placeholders.
    fp.sensors(3, NODES__NODE5_TEMP=120.0)
    assert fp.names() == []
    fp.sensors(1, THERMAL__RADIATOR_TEMP=76.0)
    out = [item for item in fp.out() if not item[0].startswith("FP.LIMIT")]
    assert out == [
        ("FP.RADIATOR_HOT", {"temp": 76.0}),
        ("FP.ACTION_FIRED", {"event": "FP.RADIATOR_HOT", "actions": 2, "fired": 1}),
        ("COMPUTE.SHED", {"level": 1}),
        ("FP.MODE_CHANGED", {"old": "NOMINAL", "new": "DEGRADED", "cause": "OVER_TEMPERATURE"}),
    ]


def test_commanding_nominal_rearms_protection(fp: Harness) -> None:
    fp.sensors(2, NODES__NODE2_TEMP=86.0)
    start = fp.mark()
    assert fp.command("FP.SET_MODE", mode="NOMINAL") == (1, 7)
    assert fp.out(start)[:2] == [
        ("COMPUTE.SHED", {"level": 0}),
        ("FP.MODE_CHANGED", {"old": "DEGRADED", "new": "NOMINAL", "cause": "COMMAND"}),
    ]
    fp.sensors(2)  # still hot: protection acts again
    assert fp.names().count("FP.NODE_HOT") == 2 and fp.app.mode == "DEGRADED"


# --- heartbeats and the command-loss timer ----------------------------------------------------


def test_a_silent_app_is_restarted_once_per_timeout_unless_stopped_on_purpose(
        fp: Harness) -> None:
    fp.tick(31.0, wall_s=1.0)  # overdue in simulated time, not yet on the wall-clock floor
    assert fp.names() == []
    fp.app.on_control(bus.parse_topic(bus.topic(SAT, bus.CTL, None, "HB", "COMPUTE")),
                      {"app": "COMPUTE"})
    assert fp.command("EXEC.STOP_APP", app="COMPUTE") == (0, 0)  # seen, not ours to answer
    fp.tick(1.0, wall_s=5.0)
    assert fp.out() == [
        ("FP.HEARTBEAT_LOST", {"app": "HK", "age": 32.0}),
        ("FP.ACTION_FIRED", {"event": "FP.HEARTBEAT_LOST", "actions": 1, "fired": 1}),
        ("EXEC.RESTART_APP", {"app": "HK"}),
    ]
    fp.tick(40.0, wall_s=10.0)  # overdue again, but the restart asked for is on its way
    assert fp.names().count("FP.HEARTBEAT_LOST") == 1
    fp.tick(50.0, wall_s=30.0)  # COMPUTE stays stopped on purpose; HK is still silent
    lost = [args["app"] for name, args in fp.out() if name == "FP.HEARTBEAT_LOST"]
    assert lost == ["HK", "HK"]


def test_an_app_stopped_by_command_stays_unjudged_after_fault_protection_restarts(
        fp: Harness) -> None:
    # Sharing a process with the app being stopped, fault protection is restarted too, perhaps
    # before it saw the command: the executive tells the new process which apps it keeps stopped.
    again = Harness(fp.home, stopped=frozenset({"COMPUTE"}))
    assert again.app.watch.stopped == {"COMPUTE"}
    again.tick(40.0, wall_s=10.0)
    lost = [args["app"] for name, args in again.out() if name == "FP.HEARTBEAT_LOST"]
    assert lost == ["HK"]  # silent too, but not stopped: judged
    # Running again (its READY), however it was started: judged again.
    again.app.on_control(bus.parse_topic(bus.topic(SAT, bus.CTL, None, "READY", "COMPUTE")),
                         {"app": "COMPUTE"})
    assert again.app.watch.stopped == set()


def test_no_telecommand_for_the_command_loss_time_enters_safe_once(fp: Harness) -> None:
    assert fp.command("FP.SET_PARAM", param="COMMAND_LOSS_S", value=100.0) == (1, 7)
    fp.tick(90.0)
    assert fp.command("HK.NOOP") == (0, 0)  # a ground telecommand to another app counts
    fp.tick(90.0)
    assert "FP.COMMAND_LOSS" not in fp.names()
    fp.command("HK.NOOP", source=TEST_SET_ID)  # not from the ground: does not count
    bad = DICTIONARY.encode_command("HK.NOOP", seq_count=99)
    fp._deliver(bus.TC, bad.apid, encode_tc(bad._replace(app_data=b"\x00\x63")))  # unknown
    start = fp.mark()
    fp.tick(15.0)
    assert [item for item in fp.out(start)] == [
        ("FP.COMMAND_LOSS", {"age": 105.0}),
        ("FP.ACTION_FIRED", {"event": "FP.COMMAND_LOSS", "actions": 2, "fired": 1}),
        ("COMPUTE.SHED", {"level": 3}),
        ("FP.MODE_CHANGED", {"old": "NOMINAL", "new": "SAFE", "cause": "COMMAND_LOSS"}),
    ]
    fp.tick(500.0)
    assert fp.names().count("FP.COMMAND_LOSS") == 1
    assert fp.status()["FP.LAST_TC_AGE"] == pytest.approx(605.0)
    assert fp.command("FP.SET_MODE", mode="NOMINAL") == (1, 7)
    fp.tick(101.0)
    assert fp.names().count("FP.COMMAND_LOSS") == 2, "the timer runs again after contact"


# --- enabling and disabling -------------------------------------------------------------------


def test_a_disabled_monitor_is_silent_and_reenabled_it_judges_afresh(fp: Harness) -> None:
    assert fp.command("FP.DISABLE_MONITOR", monitor="BATTERY_CHARGE") == (1, 7)
    fp.sensors(5, EPS__BATTERY_SOC=10.0)
    names = fp.names()
    assert "FP.BATTERY_CRITICAL" not in names and fp.app.mode == "NOMINAL"
    assert "FP.LIMIT_VIOLATION" in names, "the other monitors of the parameter still watch"
    statuses = {m["monitor"]: m for m in fp.report("FP.REPORT_MONITORS")}
    assert statuses["BATTERY_CHARGE"]["enabled"] is False
    assert statuses["EPS.BATTERY_SOC"]["level"] == "DANGER"
    assert fp.status()["FP.MONITORS_ENABLED"] == len(statuses) - 1
    assert fp.command("FP.ENABLE_MONITOR", monitor="BATTERY_CHARGE") == (1, 7)
    fp.sensors(2)
    assert fp.app.mode == "NOMINAL", "persistence starts again"
    fp.sensors(1)
    assert fp.app.mode == "SAFE"
    changed = [args for name, args in fp.out() if name == "FP.MONITOR_CHANGED"]
    assert changed == [{"monitor": "BATTERY_CHARGE", "enabled": 0},
                       {"monitor": "BATTERY_CHARGE", "enabled": 1}]


def test_disabling_the_monitoring_function_stops_every_monitor(fp: Harness) -> None:
    assert fp.command("FP.DISABLE_MONITORING") == (1, 7)
    fp.sensors(5, EPS__BATTERY_SOC=10.0, NODES__NODE0_TEMP=99.0)
    assert fp_events(fp) == ["FP.FUNCTION_CHANGED"] and not fp.status()["FP.MONITORING"]
    assert fp.command("FP.ENABLE_MONITORING") == (1, 7)
    fp.sensors(3)
    assert fp.app.mode == "SAFE"


def test_a_disabled_definition_reports_its_event_and_does_nothing(fp: Harness) -> None:
    assert fp.command("FP.DISABLE_ACTION", event="FP.BATTERY_LOW") == (1, 7)
    fp.sensors(3, EPS__BATTERY_SOC=29.0)
    names = fp.names()
    assert "FP.BATTERY_LOW" in names and "FP.ACTION_FIRED" not in names
    assert fp.app.mode == "NOMINAL" and "COMPUTE.SHED" not in names
    assert fp.command("FP.DELETE_ACTION", event="SIM.LOAD_SHED") == (1, 4), \
        "an enabled definition cannot be deleted"
    assert fp.command("FP.DELETE_ACTION", event="FP.BATTERY_LOW") == (1, 7)
    assert fp.command("FP.ENABLE_ACTION", event="FP.BATTERY_LOW") == (1, 4), "it is gone"
    status = fp.status()
    assert status["FP.DEFINITIONS"] == status["FP.DEFINITIONS_ENABLED"] == 8


def test_disabling_the_event_action_function_stops_every_definition(fp: Harness) -> None:
    assert fp.command("FP.DISABLE_EVENT_ACTIONS") == (1, 7)
    fp.sensors(3, EPS__BATTERY_SOC=10.0)
    assert "FP.BATTERY_CRITICAL" in fp.names() and fp.app.mode == "NOMINAL"
    assert fp.command("FP.ENABLE_EVENT_ACTIONS") == (1, 7)
    fp.sensors(3, EPS__BATTERY_SOC=60.0)
    fp.sensors(3, EPS__BATTERY_SOC=10.0)
    assert fp.app.mode == "SAFE"


# --- the table by command ---------------------------------------------------------------------


def test_a_definition_added_for_another_apps_event_starts_disabled_then_fires(
        fp: Harness) -> None:
    actions = [{"tc": "COMPUTE.SET_NODE_STATE", "args": {"node": "$node", "state": "OFF"}},
               {"mode": "DEGRADED"}]
    assert fp.command("FP.ADD_ACTION", event="SIM.NODE_UPSET", actions=actions) == (1, 7)
    fp.event_from("SIM.NODE_UPSET", node=3, in_saa=1)
    assert "FP.ACTION_FIRED" not in fp.names(), "added definitions start disabled"
    assert fp.command("FP.ENABLE_ACTION", event="SIM.NODE_UPSET") == (1, 7)
    start = fp.mark()
    fp.event_from("SIM.NODE_UPSET", node=3, in_saa=1)
    assert fp.out(start) == [
        ("FP.ACTION_FIRED", {"event": "SIM.NODE_UPSET", "actions": 2, "fired": 1}),
        ("COMPUTE.SET_NODE_STATE", {"node": 3, "state": "OFF"}),
        ("FP.MODE_CHANGED", {"old": "NOMINAL", "new": "DEGRADED", "cause": "EVENT_ACTION"}),
    ]
    table = {d["event"]: d for d in fp.report("FP.REPORT_ACTIONS")}
    assert table["SIM.NODE_UPSET"]["fired"] == 1 and table["SIM.NODE_UPSET"]["enabled"]
    assert table["SIM.NODE_UPSET"]["actions"][0]["args"]["node"] == "$node"
    changes = [args["change"] for name, args in fp.out() if name == "FP.DEFINITION_CHANGED"]
    assert changes == ["ADDED", "ENABLED"]


def test_events_played_back_from_the_recorder_trigger_nothing(fp: Harness) -> None:
    event = DICTIONARY.events["SIM.LOAD_SHED"]
    data = DICTIONARY.event_app_data(event, {"power": 800.0})
    fp._deliver(bus.PB, event.apid, encode(TmPacket(event.apid, 5, 4, data, 7)))
    fp._deliver(bus.RT, event.apid, encode(TmPacket(event.apid, 5, 4, data, 7)))
    assert fp.names() == [] and fp.app.mode == "NOMINAL"
    fp.event_from("SIM.LOAD_SHED", power=800.0)
    assert fp.app.mode == "SAFE"
    assert ("FP.MODE_CHANGED", {"old": "NOMINAL", "new": "SAFE",
                                "cause": "BATTERY_CRITICAL"}) in fp.out()


def test_the_app_listens_to_exactly_the_apps_its_table_names_and_the_executive(
        fp: Harness) -> None:
    # The executive's telemetry always: it reports the onboard telecommands it could not
    # deliver (flight.executive.gate).
    prefixes = fp.app.subscriber.prefixes  # type: ignore[union-attr]
    tm = {app: bus.topic(SAT, bus.TM, DICTIONARY.apps[app].apid) for app in ("EXEC", "HK")}
    assert tm["EXEC"] in prefixes and tm["HK"] not in prefixes
    assert fp.command("FP.ADD_ACTION", event="HK.STARTED", actions=[{"shed": 1}]) == (1, 7)
    assert tm["HK"] in prefixes
    assert fp.command("FP.DELETE_ACTION", event="HK.STARTED") == (1, 7)
    assert tm["HK"] not in prefixes and tm["EXEC"] in prefixes
    restart = [{"tc": "EXEC.START_APP", "args": {"app": "$app"}}]
    assert fp.command("FP.ADD_ACTION", event="EXEC.APP_HEARTBEAT_LOST", actions=restart) == (1, 7)
    assert fp.command("FP.DELETE_ACTION", event="EXEC.APP_HEARTBEAT_LOST") == (1, 7)
    assert tm["EXEC"] in prefixes


def test_an_action_whose_telecommand_is_refused_onboard_is_counted_as_failed(
        fp: Harness) -> None:
    fp.sensors(3, NODES__NODE2_TEMP=99.0)  # overheating: node 2 is to be powered off
    sent = fp.sent_tcs("COMPUTE.SET_NODE_STATE")
    assert len(sent) == 1, fp.out()
    start = fp.mark()
    fp.refusal_from_executive(sent[0], "APP_NOT_RUNNING")
    assert fp.out(start) == [("FP.ACTION_FAILED", {"event": "FP.NODE_OVERHEAT", "index": 1,
                                                   "reason": "REFUSED"})]
    assert fp.status()["FP.ACTIONS_FAILED"] == 1
    fp.refusal_from_executive(sent[0], "APP_NOT_RUNNING")  # told twice: counted, no event
    assert fp.out(start)[1:] == [] and fp.status()["FP.ACTIONS_FAILED"] == 2


@pytest.mark.parametrize(("event", "actions", "why"), [
    ("SIM.NODE_UPSET", [{"tc": "COMPUTE.NO_SUCH"}], "unknown command"),
    ("SIM.NODE_UPSET", [{"tc": "COMPUTE.SHED", "args": {"level": "$nothing"}}], "no argument"),
    ("SIM.NODE_UPSET", [{"tc": "COMPUTE.SHED", "args": {"level": 9}}], "allowed"),
    ("SIM.NODE_UPSET", [{"tc": "COMPUTE.SHED"}], "needs argument level"),
    ("SIM.NODE_UPSET", [{"mode": "NOMINAL"}], "never lowers"),
    ("SIM.NODE_UPSET", [{"shed": 0}], "never lowers"),
    ("SIM.NODE_UPSET", [{"recover": "WHATEVER"}], "one of"),
    ("SIM.NODE_UPSET", [], "list of 1..8"),
    ("SIM.NODE_UPSET", [{"shed": 1, "mode": "SAFE"}], "exactly one"),
    ("FP.ACTION_FIRED", [{"shed": 1}], "takes no definition"),
    ("FP.BATTERY_LOW", [{"shed": 1}], "delete it first"),
])
def test_a_definition_that_could_not_work_is_refused_at_uplink(
        fp: Harness, event: str, actions: list, why: str) -> None:
    from flight.fault.table import DefinitionError

    with pytest.raises(DefinitionError, match=why):
        fp.app.table.add(event, actions)
    assert fp.command("FP.ADD_ACTION", event=event, actions=actions) == (1, 4)
    assert fp.status()["FP.CMD_ERR_COUNT"] == 1


def test_an_action_that_cannot_be_sent_is_counted_and_reported(fp: Harness) -> None:
    # "$app" is an application's name, not a node index: only the event's values tell.
    bad = [{"tc": "COMPUTE.SET_NODE_STATE", "args": {"node": "$app", "state": "OFF"}},
           {"shed": 1}]
    fp.app.table.delete_all()
    fp.app.table.add("FP.HEARTBEAT_LOST", bad, enabled=True)
    fp.tick(40.0, wall_s=10.0)
    failed = [args for name, args in fp.out() if name == "FP.ACTION_FAILED"]
    assert failed == [{"event": "FP.HEARTBEAT_LOST", "index": 1, "reason": "BAD_ARGUMENTS"}] * 2
    assert fp.status()["FP.ACTIONS_FAILED"] == 2
    assert fp.names().count("COMPUTE.SHED") == 1, "the next action still runs (once: level 1)"


def test_mode_table_and_timer_survive_a_restart(fp: Harness) -> None:
    assert fp.command("FP.SET_PARAM", param="COMMAND_LOSS_S", value=100.0) == (1, 7)
    assert fp.command("FP.ADD_ACTION", event="HK.STARTED", actions=[{"shed": 1}]) == (1, 7)
    assert fp.command("FP.DISABLE_MONITOR", monitor="RADIATOR_HEAT") == (1, 7)
    fp.sensors(3, EPS__BATTERY_SOC=10.0)
    contact = fp.clock.t
    fp.app._save()
    again = Harness(fp.home)
    again.clock.t = contact + 60.0
    assert again.app.mode == "SAFE" and again.app.modes.shed_level == 3
    table = again.app.table.definitions
    assert "HK.STARTED" in table and not table["HK.STARTED"].enabled
    assert table["FP.BATTERY_CRITICAL"].fired == 1
    assert not again.app.monitors["RADIATOR_HEAT"].enabled
    assert again.status()["FP.LAST_TC_AGE"] > 60.0, "a restart is not a telecommand"


def test_the_event_enumeration_names_every_event_by_apid_and_id() -> None:
    labels = DICTIONARY.command("FP.ENABLE_ACTION").args[0].type.labels
    assert labels == {event.name: (event.apid << 16) | event.event_id
                      for event in DICTIONARY.events.values()}


def test_gaps_count_in_the_app_s_own_telecommands_only(fp: Harness) -> None:
    # Another app's telecommands the executive refused (that app stopped) never reach the
    # bus: fault protection, which sees them all, must not take that for a loss.
    assert fp.command("COMPUTE.PING") == (0, 0)
    fp.seq.next(0x7F0)  # one the executive refused
    assert fp.command("COMPUTE.PING") == (0, 0)
    assert fp.status()["FP.SEQ_GAPS"] == 0
    assert fp.command("FP.PING") == (1, 7)
    fp.seq.next(0x7F0)
    assert fp.command("FP.PING") == (1, 7)
    assert fp.status()["FP.SEQ_GAPS"] == 1
