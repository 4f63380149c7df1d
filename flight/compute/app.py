"""The compute manager: the data centre on board.

Running jobs do their work — real SHA-256 chains — as simulated time passes, and checkpoint on
their interval; every scheduler tick (``TICK_S``), and whenever something changes (a job, a
command, a budget that no longer pays for the busy nodes, a node fault), the scheduler places
jobs on nodes by priority within the budget of :mod:`flight.compute.budget` — the cap, the
hardware's power readings (array, battery, platform load) and the radiator's temperature, and
nothing under a shed — and nodes above ``THROTTLE_TEMP_C`` take no work. Jobs that lose their
place are checkpointed and PREEMPTED; they resume when the budget returns. A node upset (the
hardware's NODE_UPSET event, or a node reading FAULT) rolls its job back to its checkpoint (the
work lost is counted), power-cycles the node and places the job elsewhere. Node power states go
to the hardware as SIM.SET_NODE_POWER actuator packets, so the physics sees the load.

Jobs come from the ground (SUBMIT_JOB) or from the onboard schedule (SCHEDULE_JOB: held until
their release time, then queued, in contact or not); both are checked at acceptance, so a bad
description is refused with TM[1,2] and a JOB_REFUSED event saying why. Finished jobs' results
wait in the result store until the ground confirms it received them whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from common import bus
from common.dictionary import DICTIONARY, FailureCode, RejectReason
from common.dictionary.apps.sim import APID as SIM_APID
from common.dictionary.apps.sim import NODE_SENSORS
from common.dictionary.model import Command
from common.files import write_atomic
from common.packets import TmPacket
from flight.compute.budget import Budget, Policy, Readings, budget
from flight.compute.intake import Intake
from flight.compute.jobs import FINISHED, Job, listing, load_jobs, result_bytes, save_jobs
from flight.compute.results import ResultStore
from flight.compute.scheduler import plan, slots_for
from flight.compute.transfer import Transfers
from flight.framework.app import CommandFailed, FlightApp, handles
from flight.framework.runtime import Runtime

_RANK = {"OFF": 0, "IDLE": 1, "BUSY": 2}
#: The hardware's orbit report, not read here (the budget follows the power readings): the
#: first bytes of its TM[3,25] application data, to pass it by without decoding it.
_ORBIT_REPORT = DICTIONARY.structures["SIM.SENSORS_ORBIT"].sid.to_bytes(2, "big")
#: Jobs LIST_JOBS reports at most (every unfinished one first, then the latest finished).
LIST_LIMIT = 200


class ComputeManager(FlightApp):
    """Jobs on the satellite's server nodes."""

    NAME = "COMPUTE"

    def __init__(self, runtime: Runtime, satellite: str) -> None:
        super().__init__(runtime, satellite)
        home = Path(runtime.run.satellite_dir(satellite))
        self.jobs_file = home / "jobs.msgpack"
        self.state_file = home / "compute.json"
        home.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[int, Job] = {job.job_id: job for job in load_jobs(self.jobs_file)}
        for job in self.jobs.values():
            if job.state == "RUNNING":
                job.state, job.node = "PREEMPTED", None  # resumed from its checkpoint
        self.results = ResultStore(home / "results")
        self.transfers = Transfers(self)
        self.node_count = 0
        self.sensor_state: dict[int, str] = {}
        #: Nodes stopped by an upset, until a reading shows them back after the power cycle.
        self.faulted: set[int] = set()
        self.node_temp: dict[int, float] = {}
        self.node_power: dict[int, float] = {}
        self.readings = Readings()
        self.commanded: dict[int, str] = {}
        self.manual_off: set[int] = set()
        self.shed_level = 0
        self.power_cap = self.params["POWER_CAP_W"]
        self.budget = Budget(0.0, "NO_READINGS", 0.0, 0.0, 0.0)
        self._policy: Policy | None = None
        self._policy_rate = 0.0
        self.work_lost = 0.0
        states = [job.state for job in self.jobs.values()]
        self.counts = {state: states.count(state) for state in FINISHED}
        self._ticker: Any = None
        self._progress_at: float | None = None
        self.intake = Intake(self)
        self._load_state()

    def _load_state(self) -> None:
        """What fault protection and operators set survives a restart of this app."""
        try:
            saved = json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return
        self.shed_level = int(saved.get("shed_level", 0))
        self.power_cap = float(saved.get("power_cap", self.power_cap))
        self.manual_off = set(saved.get("manual_off", []))

    def _save_state(self) -> None:
        write_atomic(self.state_file, json.dumps({
            "shed_level": self.shed_level, "power_cap": self.power_cap,
            "manual_off": sorted(self.manual_off)}))

    def subscriptions(self) -> list[bytes]:
        return [bus.topic(self.satellite, bus.TM, SIM_APID)]

    async def on_start(self) -> None:
        self._progress_at = self.clock.now()
        self._ticker = self.clock.every(self.params["TICK_S"], self.tick)
        for job in self.jobs.values():
            if job.state == "SCHEDULED":
                self.intake.arm(job)

    async def on_stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        self.intake.stop()
        self._save()

    def on_param_changed(self, short: str, value: float) -> None:
        self._policy = None
        self.schedule()

    # --- the hardware's view ----------------------------------------------------------------------

    def on_telemetry(self, packet: TmPacket, raw: bytes, kind: str) -> None:
        if kind != bus.TM or ((packet.service, packet.subtype) == (3, 25)
                              and packet.app_data[:2] == _ORBIT_REPORT):
            return
        try:
            decoded = self.decode_tm(packet)
        except Exception:
            self.reject(RejectReason.BAD_ARGUMENTS, "unreadable hardware packet")
            return
        values = decoded.values
        if decoded.name == "SIM.NODE_UPSET":
            self._node_fault(int(values["node"]))
            return
        if decoded.kind != "hk" or decoded.name == "SIM.SENSORS_ORBIT":
            return  # other hardware events, and the orbit: the budget follows power readings
        self.readings.update(values, self.clock.now())
        unseen: list[int] = []  # faults whose event we did not see
        if "NODES.COUNT" in values:
            self.node_count = int(values["NODES.COUNT"])
            for node in range(self.node_count):
                state_name, temp_name, power_name = NODE_SENSORS[node]
                state = values[state_name]
                self.sensor_state[node] = state
                self.node_temp[node] = float(values[temp_name])
                self.node_power[node] = float(values[power_name])
                if state != "FAULT":
                    self.faulted.discard(node)
                elif node not in self.faulted:
                    unseen.append(node)
        for node in unseen:
            self._node_fault(node)
        # Once per round of readings (the node readings come last): is the budget still right?
        if "NODES.COUNT" in values and self._out_of_step():
            self.schedule()

    def _node_fault(self, node: int) -> None:
        """A node stopped (an upset): roll its job back, power-cycle it, place the job again."""
        self._advance(self.clock.now())
        for job in self.jobs.values():
            if job.state == "RUNNING" and job.node == node:
                lost = job.roll_back()
                self.work_lost += lost
                self.event("JOB_ROLLED_BACK", job_id=job.job_id, lost=lost)
                job.node = None
                self._set_state(job, "PREEMPTED")
        # Not usable until a reading says it is back; power-cycling clears the fault.
        self.faulted.add(node)
        self.command_node(node, "OFF")
        if self.allowed(node) != "OFF" and node not in self.manual_off:
            self.command_node(node, "IDLE")
        self.schedule()

    # --- the budget -----------------------------------------------------------------------------

    def allowed(self, node: int) -> str:
        """The highest state the shed level lets ``node`` be in."""
        if self.shed_level >= 3:
            return "OFF"
        if self.shed_level == 2:
            return "IDLE" if node < max(1, self.node_count // 2) else "OFF"
        if self.shed_level == 1:
            return "IDLE"
        return "BUSY"

    def usable_nodes(self) -> list[int]:
        """Nodes that may run a job now (power, shed, thermal, faults, operator)."""
        limit = self.params["THROTTLE_TEMP_C"]
        return [node for node in range(self.node_count)
                if self.allowed(node) == "BUSY" and node not in self.manual_off
                and node not in self.faulted and self.sensor_state.get(node) != "FAULT"
                and self.node_temp.get(node, 0.0) < limit]

    def current_budget(self) -> Budget:
        """Power compute (all nodes) may draw now, and why."""
        # Made again only when a parameter, the cap or the rate changed: the budget is asked
        # for at every round of readings, and a dataclass is made by interpreted code.
        rate, policy = self.clock.rate, self._policy
        if policy is None or policy.cap_w != self.power_cap or self._policy_rate != rate:
            policy = self._policy = Policy.from_params(self.params, self.power_cap, rate)
            self._policy_rate = rate
        return budget(self.readings, policy, self.shed_level, self.clock.now())

    def idle_baseline(self) -> float:
        """What the nodes draw with none busy (the budget's share that work cannot have)."""
        extra = self.params["NODE_BUSY_EXTRA_W"]
        busy = sum(1 for state in self.sensor_state.values() if state == "BUSY")
        return max(0.0, sum(self.node_power.values()) - extra * busy)

    def busy_budget(self) -> float:
        """Power the nodes may draw beyond idle: what busy nodes have to share."""
        return self.budget.watts - self.idle_baseline()

    def _out_of_step(self) -> bool:
        """True when the budget no longer pays for the running jobs, or pays for a waiting one."""
        self.budget = self.current_budget()
        extra, nodes = self.params["NODE_BUSY_EXTRA_W"], len(self.usable_nodes())
        running = sum(1 for job in self.jobs.values() if job.state == "RUNNING")
        if slots_for(self.busy_budget(), extra, nodes) < running:
            return True
        waiting = any(job.state in ("QUEUED", "PREEMPTED") for job in self.jobs.values())
        grow = slots_for(self.busy_budget() - self.params["BUDGET_MARGIN_W"], extra, nodes)
        return waiting and grow > running

    # --- work and placement ---------------------------------------------------------------------

    def tick(self, due: float) -> None:
        """Advance running jobs to ``due``, then place jobs for what comes next."""
        changed = self._advance(due)
        self.schedule()
        if changed:
            self._save()

    def _advance(self, now: float) -> bool:
        """Do the running jobs' work up to ``now``: checkpoints, completions, deadlines."""
        last = self._progress_at
        if last is not None and now <= last:
            return False
        self._progress_at = now
        if last is None:
            return False
        dt = now - last
        changed = False
        for job in list(self.jobs.values()):
            if job.state != "RUNNING":
                continue
            job.advance(dt)
            if job.done - job.checkpoint_done >= job.checkpoint_interval:
                job.checkpoint()
                changed = True
            if job.remaining <= 0:
                self._finish(job, now)
                changed = True
            elif job.deadline is not None and now > job.deadline:
                self.event("JOB_FAILED", job_id=job.job_id, code=1)
                self._free_node(job)
                self._end(job, "FAILED", now)
                changed = True
        return changed

    def schedule(self) -> None:
        """Put the right jobs on the right nodes now."""
        if self._advance(self.clock.now()):
            self._save()  # a checkpoint or an end reached here is kept like any other
        self.budget = self.current_budget()
        assignment = plan(self.jobs.values(), self.usable_nodes(), self.busy_budget(),
                          self.params["NODE_BUSY_EXTRA_W"], self.params["BUDGET_MARGIN_W"])
        for job in self.jobs.values():
            if job.state == "RUNNING" and job.job_id not in assignment:
                self.log.info("preempting", job_id=job.job_id, node=job.node,
                              budget=round(self.budget.watts, 1), limit=self.budget.limit,
                              busy_budget=round(self.busy_budget(), 1),
                              usable=self.usable_nodes(), readings=self.readings)
                job.checkpoint()
                self._free_node(job)
                self._set_state(job, "PREEMPTED")
        for job_id, node in assignment.items():
            job = self.jobs[job_id]
            if job.state != "RUNNING" or job.node != node:
                job.node = node
                self._set_state(job, "RUNNING")
                self.command_node(node, "BUSY")
        busy = set(assignment.values())
        for node in range(self.node_count):
            target = "IDLE" if node not in busy else "BUSY"
            if _RANK[target] > _RANK[self.allowed(node)] or node in self.manual_off:
                target = "OFF" if node in self.manual_off or self.allowed(node) == "OFF" \
                    else "IDLE"
            if self.commanded.get(node) != target and node not in busy:
                self.command_node(node, target)

    def _free_node(self, job: Job) -> None:
        if job.node is not None and job.node not in self.manual_off:
            self.command_node(job.node, "IDLE" if self.allowed(job.node) != "OFF" else "OFF")
        job.node = None

    def _finish(self, job: Job, now: float) -> None:
        data = result_bytes(job.digest, job.output_size)
        self.results.save(job.job_id, data)
        self._free_node(job)
        self._end(job, "DONE", now)
        self.event("RESULT_READY", job_id=job.job_id, size=len(data))

    def _end(self, job: Job, state: str, now: float) -> None:
        job.finished = now
        self._set_state(job, state)
        self.counts[state] += 1

    def _set_state(self, job: Job, state: str) -> None:
        if job.state == state:
            return
        job.state = state
        job.history.append((self.clock.now(), state))
        self.event("JOB_STATE", job_id=job.job_id, state=state)

    def _save(self) -> None:
        save_jobs(self.jobs_file, list(self.jobs.values()))

    def command_node(self, node: int, state: str) -> None:
        """Tell the hardware to put ``node`` in ``state``."""
        self.commanded[node] = state
        self.send_command("SIM.SET_NODE_POWER", node=node, state=state)

    # --- jobs coming in ---------------------------------------------------------------------------

    def accept(self, command: Command, args: dict[str, Any]) -> None:
        """Job descriptions are checked before acceptance (:mod:`flight.compute.intake`)."""
        self.intake.accept(command.verb, args)

    def _add(self, job: Job) -> None:
        self.jobs[job.job_id] = job
        job.history.append((self.clock.now(), job.state))
        self.event("JOB_STATE", job_id=job.job_id, state=job.state)
        if job.state == "SCHEDULED":
            self.intake.arm(job)
        else:
            self.schedule()
        self._save()

    def queue(self, job: Job) -> None:
        """A scheduled job's release time has come: it joins the queue."""
        self._set_state(job, "QUEUED")
        self.schedule()
        self._save()

    # --- housekeeping -----------------------------------------------------------------------------

    def status_values(self) -> dict[str, Any]:
        states = [job.state for job in self.jobs.values()]
        busy = sum(1 for state in self.commanded.values() if state == "BUSY")
        powered = sum(1 for state in self.commanded.values() if state != "OFF")
        pending = self.results.pending()
        return {
            "JOBS_QUEUED": states.count("QUEUED"), "JOBS_RUNNING": states.count("RUNNING"),
            "JOBS_PREEMPTED": states.count("PREEMPTED"), "JOBS_DONE": self.counts["DONE"],
            "JOBS_FAILED": self.counts["FAILED"], "JOBS_CANCELLED": self.counts["CANCELLED"],
            "JOBS_SCHEDULED": states.count("SCHEDULED"), "JOBS_REFUSED": self.intake.refused,
            "NODE_UTILISATION": 100.0 * busy / powered if powered else 0.0,
            "POWER_DRAW": sum(self.node_power.values()), "POWER_CAP": self.power_cap,
            "WORK_LOST": self.work_lost, "RESULT_BYTES_PENDING": min(sum(pending.values()),
                                                                     0xFFFFFFFF),
            "SHED_LEVEL": self.shed_level, "NODES_BUSY": busy, "BUDGET": self.budget.watts,
            "BUDGET_LIMIT": self.budget.limit, "BUDGET_POWER": self.budget.power_w,
            "BUDGET_THERMAL": self.budget.thermal_w, "BATTERY_SHARE": self.budget.share_w,
            **self.transfers.counters(),
        }

    # --- commands ---------------------------------------------------------------------------------

    @handles("SUBMIT_JOB")
    def submit_job(self, args: dict[str, Any]) -> None:
        self._add(self.intake.take("SUBMIT_JOB", args))

    @handles("SCHEDULE_JOB")
    def schedule_job(self, args: dict[str, Any]) -> None:
        self._add(self.intake.take("SCHEDULE_JOB", args))

    @handles("CANCEL_JOB")
    def cancel_job(self, args: dict[str, Any]) -> None:
        job = self._job(args["job_id"])
        if job.state in FINISHED:
            raise CommandFailed(FailureCode.NOT_ALLOWED_IN_MODE,
                                f"job {job.job_id} is already {job.state}", 0, "start")
        self.intake.disarm(job.job_id)
        self._advance(self.clock.now())
        self._free_node(job)
        self._end(job, "CANCELLED", self.clock.now())
        self.schedule()
        self._save()

    @handles("LIST_JOBS")
    def list_jobs(self, args: dict[str, Any]) -> None:
        report = next(r for r in self.definition.reports if r.short == "JOB_LIST")
        pending = self.results.pending()
        summaries = [{**job.summary(), "result": job.job_id in pending}
                     for job in listing(self.jobs.values(), LIST_LIMIT)]
        self.send_tm(report.service, report.subtype,
                     DICTIONARY.report_app_data(report, {"jobs": summaries}))

    @handles("LIST_TRANSFERS")
    def list_transfers(self, args: dict[str, Any]) -> None:
        self.transfers.report(self.results.pending())

    @handles("SET_POWER_CAP")
    def set_power_cap(self, args: dict[str, Any]) -> None:
        self.power_cap = args["watts"]
        self._save_state()
        self.schedule()

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
        if state == "OFF":
            self.manual_off.add(node)
        else:
            self.manual_off.discard(node)
        self._save_state()
        self._advance(self.clock.now())
        for job in self.jobs.values():
            if job.state == "RUNNING" and job.node == node and state != "BUSY":
                job.checkpoint()
                job.node = None
                self._set_state(job, "PREEMPTED")
        self.command_node(node, state)
        self.schedule()

    @handles("SHED")
    def shed(self, args: dict[str, Any]) -> None:
        self.shed_level = args["level"]
        self._save_state()
        self.schedule()

    # The two below complete once the transfer is under way and the pieces follow: a completion
    # report sent after the last piece would wait behind the whole file in the downlink, and be
    # lost with it when the contact ends. LIST_TRANSFERS follows each file's progress.

    @handles("DOWNLINK_RESULT")
    def downlink_result(self, args: dict[str, Any]) -> None:
        self.spawn(self.transfers.send_all(self._owed(args["job_id"])))

    @handles("RESEND_RESULT")
    def resend_result(self, args: dict[str, Any]) -> None:
        ranges = args["ranges"]
        if not isinstance(ranges, list) or not all(
                isinstance(r, list | tuple) and len(r) == 2 and all(isinstance(x, int) for x in r)
                for r in ranges):
            raise CommandFailed(FailureCode.INVALID_ARGUMENT,
                                "ranges must be a list of [offset, length]", 2, "start")
        self.spawn(self.transfers.send_ranges(self._owed(args["job_id"]), ranges))

    @handles("RESULT_RECEIVED")
    def result_received(self, args: dict[str, Any]) -> None:
        if args["job_id"] in self.transfers.delivered_recently:
            return  # confirmed already (the ground's confirmation came twice): nothing to do
        job_id = self._owed(args["job_id"])
        self.results.delete(job_id)
        self.transfers.delivered(job_id)
        self.event("RESULT_DELIVERED", job_id=job_id)

    def _job(self, job_id: int) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise CommandFailed(FailureCode.UNKNOWN_JOB, f"no job {job_id}", job_id, "start")
        return job

    def _owed(self, job_id: int) -> int:
        if self.results.load(job_id) is None:
            raise CommandFailed(FailureCode.UNKNOWN_JOB, f"no stored result for job {job_id}",
                                job_id, "start")
        return job_id

