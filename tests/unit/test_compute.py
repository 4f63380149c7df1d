"""Jobs, the budget and the scheduler, and the compute manager itself on a bench.

The bench (:class:`Bench`) runs a real :class:`ComputeManager` on a fake bus with a clock the
test moves: telecommands go in as packets through the app's own receiving path, hardware
readings and upset events as SIM sensor packets, and every packet the app publishes (events,
verification reports, reports, SET_NODE_POWER actuator commands) is decoded for the test. A
small stand-in for the hardware follows the actuator commands, so node states and power
readings answer what the compute manager commanded.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from common import bus
from common.cuc import CucTime
from common.dictionary import DICTIONARY
from common.dictionary.apps.compute import CHUNK_BYTES
from common.dictionary.standard import request_of
from common.packets import TcPacket, TmPacket, decode, encode, encode_tm
from common.runconfig import new_run
from flight.compute.app import ComputeManager
from flight.compute.budget import Policy, Readings, budget
from flight.compute.jobs import (
    ITERATIONS_PER_NODE_S,
    Job,
    JobError,
    JobReason,
    expected_result,
    load_jobs,
    parse_job,
    result_bytes,
    save_jobs,
)
from flight.compute.scheduler import plan

T0 = 1_781_000_000.0


def job(job_id: int, priority: int = 100, work: float = 100.0, submitted: float = 0.0) -> Job:
    return Job(job_id, "sha256-chain", work, priority, submitted=submitted)


def independent_result(seed: str, work_node_s: float, size: int) -> bytes:
    """The result file a sha256-chain job must produce, computed here from its definition
    (10 SHA-256 iterations per node-second over the seed, expanded to ``size`` bytes ending in
    the final digest), without flight's helpers."""
    digest = hashlib.sha256(seed.encode()).digest()
    for _ in range(round(work_node_s * 10)):
        digest = hashlib.sha256(digest).digest()
    blocks, block = [], digest
    while 32 * len(blocks) < size - 32:
        block = hashlib.sha256(block + b"expand").digest()
        blocks.append(block)
    return b"".join(blocks)[: size - 32] + digest


# --- jobs ----------------------------------------------------------------------------------------

def test_a_chain_is_real_work_that_the_ground_can_recompute() -> None:
    j = job(7, work=3.0)
    for _ in range(6):
        j.advance(0.5)
    digest = hashlib.sha256(b"7").digest()
    for _ in range(3 * ITERATIONS_PER_NODE_S):
        digest = hashlib.sha256(digest).digest()
    assert j.remaining == 0 and j.digest == digest
    assert result_bytes(j.digest, 100) == expected_result("7", 3.0, 100)
    assert expected_result("7", 3.0, 100) == independent_result("7", 3.0, 100)


def test_a_rollback_loses_the_work_since_the_checkpoint_and_the_result_is_still_right() -> None:
    j = job(9, work=10.0)
    j.advance(4.0)
    j.checkpoint()
    j.advance(3.0)
    lost = j.roll_back()
    assert lost == pytest.approx(3.0) and j.done == pytest.approx(4.0) and j.rollbacks == 1
    while j.remaining:
        j.advance(1.0)
    assert result_bytes(j.digest, 64) == independent_result("9", 10.0, 64)


def test_jobs_survive_a_restart_from_their_checkpoint(tmp_path) -> None:
    j = job(5, work=20.0)
    j.advance(8.0)
    j.checkpoint()
    j.advance(5.0)
    j.state = "RUNNING"
    save_jobs(tmp_path / "jobs.msgpack", [j])
    (back,) = load_jobs(tmp_path / "jobs.msgpack")
    assert back.done == pytest.approx(8.0) and back.digest == j.checkpoint_digest
    while back.remaining:
        back.advance(2.0)
    assert result_bytes(back.digest, 64) == independent_result("5", 20.0, 64)


GOOD = {"id": 1, "kind": "sha256-chain", "work": 10}


@pytest.mark.parametrize(("description", "reason", "field"), [
    ([1, 2], JobReason.NOT_A_MAP, ""),
    ({"kind": "sha256-chain", "work": 1}, JobReason.MISSING_FIELD, "id"),
    ({**GOOD, "work": "lots"}, JobReason.BAD_TYPE, "work"),
    ({**GOOD, "priority": True}, JobReason.BAD_TYPE, "priority"),
    ({**GOOD, "kind": "bitcoin"}, JobReason.UNKNOWN_KIND, "kind"),
    ({**GOOD, "work": -1}, JobReason.OUT_OF_RANGE, "work"),
    ({**GOOD, "work": 0}, JobReason.OUT_OF_RANGE, "work"),
    ({**GOOD, "work": float("nan")}, JobReason.OUT_OF_RANGE, "work"),
    ({**GOOD, "id": 0}, JobReason.OUT_OF_RANGE, "id"),
    ({**GOOD, "id": 1 << 32}, JobReason.OUT_OF_RANGE, "id"),
    ({**GOOD, "priority": 256}, JobReason.OUT_OF_RANGE, "priority"),
    ({**GOOD, "checkpoint_interval": 0.5}, JobReason.OUT_OF_RANGE, "checkpoint_interval"),
    ({**GOOD, "input_size": -1}, JobReason.OUT_OF_RANGE, "input_size"),
    ({**GOOD, "output_size": 16}, JobReason.OUT_OF_RANGE, "output_size"),
    ({**GOOD, "seed": "x" * 65}, JobReason.OUT_OF_RANGE, "seed"),
    ({**GOOD, "deadline": 5.0}, JobReason.DEADLINE_PASSED, "deadline"),
    ({**GOOD, "deadline": 105.0}, JobReason.DEADLINE_UNREACHABLE, "deadline"),
    ({**GOOD, "colour": "red"}, JobReason.UNKNOWN_FIELD, ""),
])
def test_bad_job_descriptions_are_refused_with_a_reason_and_the_field(description, reason,
                                                                      field) -> None:
    with pytest.raises(JobError) as caught:
        parse_job(description, now=100.0)
    assert caught.value.code == reason and caught.value.field == field


def test_a_deadline_counts_from_the_release_of_a_scheduled_job() -> None:
    assert parse_job({**GOOD, "deadline": 150.0}, now=100.0).deadline == 150.0
    with pytest.raises(JobError) as caught:
        parse_job({**GOOD, "deadline": 150.0}, now=100.0, start=145.0)
    assert caught.value.code == JobReason.DEADLINE_UNREACHABLE


# --- the scheduler -------------------------------------------------------------------------------

def test_jobs_fill_the_nodes_up_to_the_power_budget_and_no_further() -> None:
    jobs = [job(i) for i in range(1, 7)]
    assert len(plan(jobs, [0, 1, 2, 3], budget_w=1650.0, busy_extra_w=550.0)) == 3
    assert len(plan(jobs, [0, 1, 2, 3], budget_w=10_000.0, busy_extra_w=550.0)) == 4
    assert plan(jobs, [0, 1, 2, 3], budget_w=500.0, busy_extra_w=550.0) == {}


def test_the_lowest_priority_jobs_lose_their_place_when_the_budget_shrinks() -> None:
    jobs = [job(1, priority=10), job(2, priority=200), job(3, priority=100), job(4, priority=50)]
    first = plan(jobs, [0, 1, 2, 3], 4 * 550.0, 550.0)
    for j in jobs:
        j.state, j.node = "RUNNING", first[j.job_id]
    smaller = plan(jobs, [0, 1, 2, 3], 2 * 550.0, 550.0)
    assert set(smaller) == {2, 3}
    assert smaller[2] == first[2] and smaller[3] == first[3], "survivors keep their nodes"


def test_a_budget_at_the_edge_keeps_running_jobs_but_starts_none() -> None:
    running, waiting = job(1), job(2)
    running.state, running.node = "RUNNING", 0
    assert plan([running, waiting], [0, 1], 1150.0, 550.0, margin_w=100.0) == {1: 0}
    assert plan([running, waiting], [0, 1], 1200.0, 550.0, margin_w=100.0) == {1: 0, 2: 1}
    fresh = [job(1), job(2)]
    assert len(plan(fresh, [0, 1], 1150.0, 550.0, margin_w=100.0)) == 1


def test_a_preempted_job_resumes_before_a_later_one_of_the_same_priority() -> None:
    early, late = job(1, submitted=0.0), job(2, submitted=10.0)
    early.state = "PREEMPTED"
    assert set(plan([late, early], [0], 550.0, 550.0)) == {1}


def test_only_a_higher_priority_displaces_a_running_job() -> None:
    running, earlier = job(2, submitted=10.0), job(1, submitted=0.0)
    running.state, running.node = "RUNNING", 0
    earlier.state = "PREEMPTED"
    assert plan([running, earlier], [0], 550.0, 550.0) == {2: 0}
    urgent = job(3, priority=101, submitted=20.0)
    assert plan([running, earlier, urgent], [0], 550.0, 550.0) == {3: 0}


def test_unusable_nodes_are_not_used() -> None:
    assert set(plan([job(1), job(2)], [3], 10_000.0, 550.0).values()) == {3}


# --- the budget ----------------------------------------------------------------------------------

def readings(solar: float = 4160.0, soc: float = 80.0, platform: float = 300.0,
             radiator: float = 25.0, at: float = T0) -> Readings:
    return Readings(solar, platform, soc, radiator, at)


POLICY = Policy(cap_w=3000.0)


def test_in_sunlight_compute_runs_on_the_array_and_a_weak_array_shrinks_the_budget() -> None:
    full = budget(readings(), POLICY, 0, T0)
    assert (full.watts, full.limit) == (3000.0, "CAP")
    weak = budget(readings(solar=2500.0), POLICY, 0, T0)
    assert (weak.watts, weak.limit) == (2200.0, "POWER"), "array less the platform"
    heater_on = budget(readings(solar=2500.0, platform=450.0), POLICY, 0, T0)
    assert heater_on.watts == 2050.0


def test_eclipse_entry_leaves_compute_the_battery_share_less_the_platform() -> None:
    eclipse = budget(readings(solar=0.0), POLICY, 0, T0)
    assert (eclipse.watts, eclipse.limit, eclipse.share_w) == (1400.0, "POWER", 1700.0)
    # With four idle nodes (600 W) that pays for one busy node (550 W), not two.
    assert plan([job(1), job(2)], [0, 1, 2, 3], eclipse.watts - 600.0, 550.0, 100.0).keys() \
        == {1}


def test_a_battery_near_its_reserve_gives_less_and_gets_its_charge_back_first() -> None:
    half = budget(readings(solar=0.0, soc=52.5), POLICY, 0, T0)
    assert half.share_w == pytest.approx(850.0) and half.watts == pytest.approx(550.0)
    assert budget(readings(solar=0.0, soc=45.0), POLICY, 0, T0).watts == 0.0
    sunlit_low = budget(readings(solar=2500.0, soc=40.0), POLICY, 0, T0)
    assert sunlit_low.watts == pytest.approx(2500.0 - 500.0 - 300.0), "recharge kept back"


def test_a_hot_radiator_tapers_the_budget_to_nothing_at_its_limit() -> None:
    assert budget(readings(radiator=55.0), POLICY, 0, T0).limit == "CAP"
    warm = budget(readings(radiator=62.5), POLICY, 0, T0)
    assert (warm.watts, warm.limit) == (1500.0, "THERMAL")
    assert budget(readings(radiator=71.0), POLICY, 0, T0).watts == 0.0


def test_no_fresh_readings_or_a_shed_means_no_budget() -> None:
    assert budget(Readings(), POLICY, 0, T0).limit == "NO_READINGS"
    assert budget(readings(at=T0 - 121.0), POLICY, 0, T0).watts == 0.0
    shed = budget(readings(), POLICY, 1, T0)
    assert (shed.watts, shed.limit) == (0.0, "SHED")
    # At 100× a reading 121 s old is 1.2 wall seconds old: a stalled process, not a dead EPS.
    params = {s.short: s.default for s in DICTIONARY.apps["COMPUTE"].settings}
    fast = Policy.from_params(params, 3000.0, rate=100.0)
    assert budget(readings(at=T0 - 121.0), fast, 0, T0).limit == "CAP"
    assert budget(readings(at=T0 - 501.0), fast, 0, T0).limit == "NO_READINGS"


# --- the compute manager on a bench ---------------------------------------------------------------

class ManualClock:
    """Simulated time that moves only when the test says, firing timers in order."""

    rate = 1.0

    def __init__(self, now: float) -> None:
        self.t = now
        self._heap: list[tuple[float, int, SimpleNamespace]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self.t

    def call_at(self, due: float, callback: Callable[[float], Any],
                period: float | None = None) -> SimpleNamespace:
        timer = SimpleNamespace(due=due, callback=callback, period=period, cancelled=False)
        timer.cancel = lambda: setattr(timer, "cancelled", True)
        heapq.heappush(self._heap, (due, next(self._order), timer))
        return timer

    def call_later(self, delay: float, callback: Callable[[float], Any]) -> SimpleNamespace:
        return self.call_at(self.t + delay, callback)

    def every(self, period: float, callback: Callable[[float], Any],
              first: float | None = None) -> SimpleNamespace:
        return self.call_at(self.t + period if first is None else first, callback, period)

    def run_until(self, end: float) -> None:
        while self._heap and self._heap[0][0] <= end:
            due, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self.t = max(self.t, due)
            if timer.period is not None:
                heapq.heappush(self._heap, (due + timer.period, next(self._order), timer))
            timer.callback(due)
        self.t = max(self.t, end)


class FakeBus:
    """Takes what the app publishes."""

    dropped = 0

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes]] = []

    def send(self, topic: bytes, packet: bytes) -> None:
        self.sent.append((topic, packet))

    def send_control(self, topic: bytes, message: Any) -> None:
        pass


class Bench:
    """A compute manager, a stand-in for its hardware, and a clock the test moves."""

    def __init__(self, home: Path, nodes: int = 4, solar_w: float = 4160.0) -> None:
        self.run = new_run(home, ("SAT-01",), sim_start=T0)
        self.clock = ManualClock(T0)
        self.nodes = ["IDLE"] * nodes
        self.solar_w, self.soc, self.radiator_c = solar_w, 80.0, 25.0
        self.app = self._start()
        self.seq = itertools.count()
        self.applied = 0

    def _start(self) -> ComputeManager:
        app = ComputeManager(SimpleNamespace(run=self.run, clock=self.clock), "SAT-01")
        app.publisher = FakeBus()
        asyncio.run(app.on_start())
        return app

    def restart(self) -> None:
        """The app stops and a new one starts on the same satellite directory."""
        asyncio.run(self.app.on_stop())
        self.app = self._start()
        self.applied = 0

    # --- what goes in --------------------------------------------------------------------------

    def command(self, name: str, **args: Any) -> TcPacket:
        """A telecommand through the app's receiving path (as the bus delivers it)."""
        tc = DICTIONARY.encode_command(name, args, seq_count=next(self.seq) % 16384)
        self.app._handle_message([bus.topic("SAT-01", bus.TC, tc.apid), encode(tc)])
        return tc

    def submit(self, job_id: int, work: float, priority: int = 100, **extra: Any) -> TcPacket:
        return self.command("COMPUTE.SUBMIT_JOB", job={
            "id": job_id, "kind": "sha256-chain", "work": work, "priority": priority,
            "seed": f"bench-{job_id}", **extra})

    def _sim_packet(self, app_data: bytes, service: int, subtype: int) -> None:
        sim = DICTIONARY.apps["SIM"]
        raw = encode_tm(TmPacket(sim.apid, service, subtype, app_data, next(self.seq) % 16384,
                                 time=CucTime.from_unix(self.clock.now())))
        packet = decode(raw)
        assert isinstance(packet, TmPacket)
        self.app.on_telemetry(packet, raw, bus.TM)

    def sensors(self) -> None:
        """One round of sensor packets, from the stand-in hardware's state."""
        self.follow_actuators()
        power = {"OFF": 0.0, "IDLE": 150.0, "BUSY": 700.0, "FAULT": 150.0}
        node_w = [power[state] for state in self.nodes]
        values: dict[str, Any] = {
            "EPS.BATTERY_SOC": self.soc, "EPS.BATTERY_VOLTAGE": 30.0,
            "EPS.BATTERY_CURRENT": 0.0, "EPS.BATTERY_ENERGY": 30.0 * self.soc,
            "EPS.SOLAR_POWER": self.solar_w, "EPS.LOAD_POWER": 300.0 + sum(node_w),
            "EPS.PLATFORM_POWER": 300.0, "EPS.COMPUTE_POWER": sum(node_w),
            "EPS.SHED_POWER": 0.0, "EPS.CELLS_FAILED": 0,
            "THERMAL.RADIATOR_TEMP": self.radiator_c, "THERMAL.BUS_TEMP": 20.0,
            "THERMAL.BATTERY_TEMP": 20.0, "THERMAL.HEATER_ON": False,
            "THERMAL.RADIATOR_EFFICIENCY": 1.0, "NODES.COUNT": len(self.nodes),
            "NODES.UPSETS": 0,
        }
        for index in range(8):
            fitted = index < len(self.nodes)
            values[f"NODES.NODE{index}_STATE"] = self.nodes[index] if fitted else "OFF"
            values[f"NODES.NODE{index}_TEMP"] = 40.0
            values[f"NODES.NODE{index}_POWER"] = node_w[index] if fitted else 0.0
        for short in ("SENSORS_EPS", "SENSORS_THERMAL", "SENSORS_NODES"):
            structure = DICTIONARY.apps["SIM"].structure(short)
            self._sim_packet(DICTIONARY.hk_app_data(structure, values), 3, 25)
        self.follow_actuators()

    def upset(self, node: int) -> None:
        """A single-event upset: the node stops, and the hardware says so in an event."""
        self.nodes[node] = "FAULT"
        event = DICTIONARY.apps["SIM"].event("NODE_UPSET")
        self._sim_packet(DICTIONARY.event_app_data(event, {"node": node, "in_saa": 0}), 5,
                         int(event.severity))

    def follow_actuators(self) -> None:
        """The stand-in hardware obeys SIM.SET_NODE_POWER (a FAULT clears only through OFF)."""
        for args in self.published(self.applied, kinds=("tc",)):
            node, state = args["node"], args["state"]
            if node < len(self.nodes) and (self.nodes[node] != "FAULT" or state == "OFF"):
                self.nodes[node] = state
        self.applied = self.mark()

    def run_for(self, seconds: float, step: float = 5.0) -> None:
        """Let simulated time pass, with sensor readings every ``step`` seconds."""
        end = self.clock.now() + seconds
        while self.clock.now() < end:
            self.sensors()
            self.clock.run_until(min(end, self.clock.now() + step))
        self.sensors()

    # --- what comes out ------------------------------------------------------------------------

    def mark(self) -> int:
        """Where the app's output stands now (for ``published(since=...)``)."""
        return len(self.app.publisher.sent)

    def published(self, since: int = 0, kinds: tuple[str, ...] = ("tm",)) -> list[dict[str, Any]]:
        """Decoded packets the app published: TM as {"name", **values}, SIM commands' args."""
        out = []
        for _topic, raw in self.app.publisher.sent[since:]:
            packet = decode(raw)
            if isinstance(packet, TmPacket) and "tm" in kinds:
                tm = DICTIONARY.decode_tm(packet)
                out.append({"name": tm.name, "kind": (packet.service, packet.subtype),
                            **tm.values})
            elif isinstance(packet, TcPacket) and "tc" in kinds:
                out.append(dict(DICTIONARY.decode_command(packet).args))
        return out

    def events(self, name: str) -> list[dict[str, Any]]:
        return [tm for tm in self.published() if tm["name"] == f"COMPUTE.{name}"]

    def states(self, job_id: int) -> list[str]:
        return [e["state"] for e in self.events("JOB_STATE") if e["job_id"] == job_id]

    def verifications(self, tc: TcPacket) -> list[tuple[int, str | None, int | None]]:
        return [(tm["kind"][1], tm.get("code"), tm.get("data")) for tm in self.published()
                if tm["kind"][0] == 1
                and request_of(tm["packet_id"], tm["sequence"]) == tc.request_id]

    def status(self) -> dict[str, Any]:
        return self.app.status_values()

    def result(self, job_id: int) -> bytes | None:
        return self.app.results.load(job_id)


@pytest.fixture
def bench(tmp_path: Path) -> Bench:
    return Bench(tmp_path / "run")


def test_jobs_fill_the_nodes_up_to_the_budget_the_readings_allow(bench: Bench) -> None:
    for job_id in range(1, 7):
        bench.submit(job_id, work=1000.0)
    bench.run_for(20)
    assert bench.status()["NODES_BUSY"] == 4 and bench.nodes.count("BUSY") == 4
    assert bench.status()["BUDGET_LIMIT"] == "CAP"
    bench.command("COMPUTE.SET_POWER_CAP", watts=2000.0)
    bench.run_for(10)
    # 2000 W for all nodes, less 600 W idle: two busy nodes (2 × 550 W), not three.
    assert bench.nodes.count("BUSY") == 2 and bench.status()["JOBS_PREEMPTED"] == 2
    bench.solar_w = 1800.0  # the array weakens: 1800 − 300 W platform leaves 1500 W
    bench.command("COMPUTE.SET_POWER_CAP", watts=3000.0)
    bench.run_for(10)
    assert bench.nodes.count("BUSY") == 1 and bench.status()["BUDGET_LIMIT"] == "POWER"


def test_the_budget_follows_a_parameter_set_by_command_and_the_clock_rate(bench: Bench) -> None:
    # The manager keeps its budget policy between rounds of readings: what it depends on
    # changing must reach the budget at once.
    bench.radiator_c = 62.5  # halfway down the 15 K taper below the 70 °C limit
    bench.run_for(10)
    assert bench.status()["BUDGET_LIMIT"] == "THERMAL"
    bench.command("COMPUTE.SET_PARAM", param="RADIATOR_LIMIT_C", value=90.0)
    bench.run_for(10)
    assert bench.status()["BUDGET_LIMIT"] == "CAP"
    bench.clock.run_until(bench.clock.now() + 121.0)  # no readings for 121 s
    assert bench.app.current_budget().limit == "NO_READINGS"
    bench.clock.rate = 100.0  # 1.2 wall seconds: a slow process, not a dead EPS
    assert bench.app.current_budget().limit == "CAP"


def test_eclipse_entry_preempts_the_lowest_priority_jobs_with_a_checkpoint_and_they_resume(
        bench: Bench) -> None:
    for job_id, priority in ((1, 10), (2, 40), (3, 30), (4, 20)):
        bench.submit(job_id, work=200.0, priority=priority, checkpoint_interval=30)
    bench.run_for(45)
    assert all(bench.app.jobs[i].state == "RUNNING" for i in range(1, 5))
    before = {i: bench.app.jobs[i].done for i in range(1, 5)}
    bench.solar_w = 0.0  # eclipse entry: no flag, just the array's reading
    bench.sensors()
    preempted = {i for i in range(1, 5) if bench.app.jobs[i].state == "PREEMPTED"}
    assert preempted == {1, 3, 4}, "all but the highest priority (job 2)"
    for i in preempted:
        j = bench.app.jobs[i]
        assert j.checkpoint_done == j.done >= before[i], "checkpointed where it stopped"
    assert bench.nodes.count("BUSY") == 1
    bench.run_for(120)
    assert {i for i in range(1, 5) if bench.app.jobs[i].state == "PREEMPTED"} == {1, 3, 4}
    frozen = {i: bench.app.jobs[i].done for i in preempted}
    bench.solar_w = 4160.0  # eclipse exit
    bench.run_for(400)
    for i in range(1, 5):
        assert bench.states(i)[-1] == "DONE", bench.states(i)
        assert bench.result(i) == independent_result(f"bench-{i}", 200.0, 64)
    for i in preempted:
        assert bench.states(i)[:4] == ["QUEUED", "RUNNING", "PREEMPTED", "RUNNING"]
        assert bench.app.jobs[i].lost == 0.0 and frozen[i] < 200.0
    assert "PREEMPTED" not in bench.states(2)


def test_a_shed_preempts_every_job_with_a_checkpoint_and_lifting_it_resumes_them(
        bench: Bench) -> None:
    bench.submit(1, work=100.0)
    bench.submit(2, work=100.0, priority=50)
    bench.run_for(30)
    bench.command("COMPUTE.SHED", level=1)
    assert [bench.app.jobs[i].state for i in (1, 2)] == ["PREEMPTED", "PREEMPTED"]
    assert all(bench.app.jobs[i].checkpoint_done == bench.app.jobs[i].done > 0 for i in (1, 2))
    bench.run_for(60)
    assert bench.status()["BUDGET_LIMIT"] == "SHED" and "BUSY" not in bench.nodes
    bench.command("COMPUTE.SHED", level=0)
    bench.run_for(150)
    for i in (1, 2):
        assert bench.app.jobs[i].state == "DONE"
        assert bench.result(i) == independent_result(f"bench-{i}", 100.0, 64)


def test_an_upset_event_rolls_the_job_back_and_it_completes_elsewhere_with_the_right_result(
        bench: Bench) -> None:
    bench.submit(1, work=150.0, checkpoint_interval=20)
    bench.run_for(55)
    j = bench.app.jobs[1]
    node, checkpoint = j.node, j.checkpoint_done
    assert node is not None and checkpoint == 40.0, "checkpoints every 20 node-s"
    mark = bench.mark()
    bench.upset(node)
    commands = bench.published(mark, kinds=("tc",))
    assert commands[:2] == [{"node": node, "state": "OFF"}, {"node": node, "state": "IDLE"}], \
        "the node is power-cycled"
    (rolled,) = bench.events("JOB_ROLLED_BACK")
    assert rolled["lost"] == pytest.approx(55.0 - checkpoint), "the work since the checkpoint"
    assert j.done == checkpoint and j.state == "RUNNING" and j.node != node, "placed elsewhere"
    bench.run_for(150)
    assert j.state == "DONE" and j.rollbacks == 1
    assert bench.status()["WORK_LOST"] == pytest.approx(15.0)
    assert bench.result(1) == independent_result("bench-1", 150.0, 64)


def test_an_upset_disturbs_only_the_job_on_that_node(bench: Bench) -> None:
    for job_id in range(1, 5):
        bench.submit(job_id, work=500.0, checkpoint_interval=20)
    bench.run_for(30)
    victim = bench.app.jobs[3]
    node = victim.node
    bench.upset(node)
    assert victim.state == "PREEMPTED", "nowhere to go: every other node is busy"
    assert all(bench.app.jobs[i].state == "RUNNING" for i in (1, 2, 4))
    bench.run_for(10)  # the power-cycled node reads IDLE again and takes the job back
    assert victim.state == "RUNNING" and victim.node == node
    assert all("PREEMPTED" not in bench.states(i) for i in (1, 2, 4))


def test_a_node_that_reads_fault_without_an_event_is_treated_as_upset(bench: Bench) -> None:
    bench.submit(1, work=100.0, checkpoint_interval=20)
    bench.run_for(35)
    node = bench.app.jobs[1].node
    bench.nodes[node] = "FAULT"  # the event was lost: only the reading tells
    bench.sensors()
    assert len(bench.events("JOB_ROLLED_BACK")) == 1 and bench.app.jobs[1].node != node
    bench.run_for(120)
    assert bench.app.jobs[1].state == "DONE" and bench.nodes[node] != "FAULT"
    assert bench.result(1) == independent_result("bench-1", 100.0, 64)


@pytest.mark.parametrize(("description", "reason", "field"), [
    ({"id": 5, "kind": "sha256-chain", "work": -3}, "OUT_OF_RANGE", "WORK"),
    ({"id": 5, "kind": "quantum", "work": 3}, "UNKNOWN_KIND", "KIND"),
    ({"id": 5, "kind": "sha256-chain", "work": 3, "deadline": T0 - 1}, "DEADLINE_PASSED",
     "DEADLINE"),
    ({"kind": "sha256-chain", "work": 3}, "MISSING_FIELD", "ID"),
    ([5], "NOT_A_MAP", "NONE"),
])
def test_a_bad_job_is_refused_at_acceptance_with_a_failure_code_that_says_why(
        bench: Bench, description, reason, field) -> None:
    tc = bench.command("COMPUTE.SUBMIT_JOB", job=description)
    assert bench.verifications(tc) == [(2, "INVALID_JOB", JobReason[reason])], \
        "refused at acceptance: no TM[1,1], no start"
    (refused,) = bench.events("JOB_REFUSED")
    expected_id = description.get("id", 0) if isinstance(description, dict) else 0
    assert (refused["job_id"], refused["reason"], refused["field"]) == (expected_id, reason,
                                                                        field)
    assert bench.status()["JOBS_REFUSED"] == 1 and bench.app.counters["CMD_ERR_COUNT"] == 1
    assert not bench.app.jobs


def test_a_good_job_is_accepted_started_and_completed_and_a_repeat_is_refused(
        bench: Bench) -> None:
    tc = bench.submit(1, work=10.0)
    assert [v[0] for v in bench.verifications(tc)] == [1, 3, 7]
    again = bench.submit(1, work=10.0)
    assert bench.verifications(again) == [(2, "INVALID_JOB", JobReason.DUPLICATE_ID)]


def test_the_onboard_schedule_queues_a_job_at_its_release_time_even_after_a_restart(
        bench: Bench) -> None:
    release = T0 + 300.0
    tc = bench.command("COMPUTE.SCHEDULE_JOB", release=release, job={
        "id": 1, "kind": "sha256-chain", "work": 50.0, "seed": "bench-1"})
    assert [v[0] for v in bench.verifications(tc)] == [1, 3, 7]
    assert bench.states(1) == ["SCHEDULED"] and bench.status()["JOBS_SCHEDULED"] == 1
    bench.run_for(100)
    bench.restart()
    bench.run_for(190)
    assert bench.app.jobs[1].state == "SCHEDULED" and "BUSY" not in bench.nodes
    bench.run_for(20)
    assert bench.states(1)[:2] == ["QUEUED", "RUNNING"], "released after the restart"
    assert bench.app.jobs[1].submitted == release
    bench.run_for(60)
    assert bench.app.jobs[1].state == "DONE"
    assert bench.result(1) == independent_result("bench-1", 50.0, 64)


def test_a_scheduled_job_can_be_cancelled_and_a_past_release_is_refused(bench: Bench) -> None:
    bench.command("COMPUTE.SCHEDULE_JOB", release=T0 + 100.0, job=GOOD)
    bench.command("COMPUTE.CANCEL_JOB", job_id=1)
    bench.run_for(200)
    assert bench.states(1) == ["SCHEDULED", "CANCELLED"]
    late = bench.command("COMPUTE.SCHEDULE_JOB", release=T0 + 100.0, job={**GOOD, "id": 2})
    assert bench.verifications(late) == [(2, "INVALID_JOB", JobReason.RELEASE_PASSED)]
    tight = bench.command("COMPUTE.SCHEDULE_JOB", release=T0 + 400.0,
                          job={**GOOD, "id": 3, "deadline": T0 + 405.0})
    assert bench.verifications(tight) == [(2, "INVALID_JOB", JobReason.DEADLINE_UNREACHABLE)]


def test_list_transfers_reports_each_files_progress(bench: Bench) -> None:
    size = 5 * CHUNK_BYTES + 100
    bench.submit(1, work=10.0, output_size=size)
    bench.run_for(30)
    assert bench.result(1) is not None

    def listing() -> dict[str, Any]:
        bench.command("COMPUTE.LIST_TRANSFERS")
        (entry,) = bench.events("TRANSFER_LIST")[-1]["transfers"]
        return entry

    def transfer(name: str, **args: Any) -> list[int]:
        """Run a transfer command and the sending it starts; its verification subtypes."""
        async def run() -> TcPacket:
            tc = bench.command(name, **args)
            await asyncio.gather(*list(bench.app._tasks))
            return tc
        return [v[0] for v in bench.verifications(asyncio.run(run()))]

    assert listing()["state"] == "STORED"
    mark = bench.mark()
    assert transfer("COMPUTE.DOWNLINK_RESULT", job_id=1) == [1, 3, 7]
    order = [tm["kind"] for tm in bench.published(mark)]
    assert order.index((1, 7)) < order.index((140, 2)), "completed before the pieces go"
    assert [tm["offset"] for tm in bench.events("FILE_DATA")] == \
        list(range(0, size, CHUNK_BYTES))
    first = listing()
    assert (first["state"], first["size"], first["sent"], first["resent"]) == \
        ("SENT", size, size, 0)
    assert transfer("COMPUTE.RESEND_RESULT", job_id=1,
                    ranges=[[2 * CHUNK_BYTES, CHUNK_BYTES]]) == [1, 3, 7]
    second = listing()
    assert (second["resends"], second["resent"], second["acked"]) == \
        (1, CHUNK_BYTES, size - CHUNK_BYTES)
    bench.command("COMPUTE.RESULT_RECEIVED", job_id=1)
    delivered = listing()
    assert (delivered["state"], delivered["acked"]) == ("DELIVERED", size)
    assert bench.result(1) is None and bench.status()["RESULTS_DELIVERED"] == 1
