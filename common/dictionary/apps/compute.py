"""COMPUTE: the compute manager, the data centre on board."""

from __future__ import annotations

from enum import IntEnum

from common.dictionary.apps.sim import MAX_NODES, NODE_COMMAND
from common.dictionary.model import Arg, Event, Param, Report, Setting, Severity, function
from common.dictionary.standard import define_app, enum_of
from common.dictionary.types import Blob, Enum, Float, Msgpack, Time, UInt

APID = 0x030
#: Mission-specific PUS service for compute reports.
COMPUTE_SERVICE = 140
#: Bytes of a result file per FILE_DATA packet.
CHUNK_BYTES = 1024

JOB_STATE = Enum(
    {"QUEUED": 0, "RUNNING": 1, "PREEMPTED": 2, "DONE": 3, "FAILED": 4, "CANCELLED": 5,
     "SCHEDULED": 6}
)

#: The fields of a job description, in this order (the numbering of JOB_FIELD).
JOB_FIELDS = ("id", "kind", "work", "priority", "deadline", "checkpoint_interval",
              "input_size", "output_size", "seed")
JOB_FIELD = Enum({"NONE": 0, **{name.upper(): index for index, name in
                                enumerate(JOB_FIELDS, start=1)}})


class JobReason(IntEnum):
    """Why a job description is refused at acceptance: the failure data of TM[1,2] with code
    INVALID_JOB, and the ``reason`` of the JOB_REFUSED event (which also names the field)."""

    NOT_A_MAP = 1
    MISSING_FIELD = 2
    BAD_TYPE = 3
    UNKNOWN_KIND = 4
    OUT_OF_RANGE = 5
    DUPLICATE_ID = 6
    UNKNOWN_FIELD = 7
    #: The deadline is not in the future.
    DEADLINE_PASSED = 8
    #: The work could not be done by the deadline even on a node of its own from the start.
    DEADLINE_UNREACHABLE = 9
    #: A scheduled release time that is not in the future.
    RELEASE_PASSED = 10
    #: Too many jobs waiting (queued, preempted or scheduled) already.
    QUEUE_FULL = 11


JOB_REASON = enum_of(JobReason, bits=8)

#: Unfinished jobs (scheduled, queued, running, preempted) the compute manager holds at most.
MAX_OPEN_JOBS = 256

#: Why the compute budget is what it is (the term that limits it).
BUDGET_LIMIT = Enum({"CAP": 0, "POWER": 1, "THERMAL": 2, "SHED": 3, "NO_READINGS": 4})

_U16, _U32, _F32 = UInt(16), UInt(32), Float(32)
_job_id = Arg("job_id", _U32, "job identifier")
_JOB_TEXT = (
    "a msgpack map: id (1..2^32-1), kind ('sha256-chain'), work (node-seconds, >0), and "
    "optionally priority (0..255, default 100), deadline (Unix time), checkpoint_interval "
    "(1..86400 s, default 600), input_size and output_size (bytes, default 64) and seed (text). "
    "A bad description is refused at acceptance (TM[1,2] INVALID_JOB, failure data: the "
    "JobReason) and the JOB_REFUSED event names the reason and the field."
)

COMPUTE = define_app(
    "COMPUTE",
    APID,
    "Compute manager",
    "Accepts jobs, schedules them on the satellite's server nodes within the power and thermal "
    "budget, checkpoints them, restarts them after a node fault, and stores their results.",
    supervised=True,
    commands=(
        function("SUBMIT_JOB", 16, f"Submit a job, queued at once: {_JOB_TEXT}",
                 Arg("job", Msgpack(512), "job description")),
        function("CANCEL_JOB", 17, "Cancel a queued, running or preempted job.", _job_id),
        function("LIST_JOBS", 18, "Report every known job (TM[140,1])."),
        function(
            "SET_POWER_CAP", 19, "Limit the power compute may draw.",
            Arg("watts", Float(32, 0.0, 100_000.0), "power cap", "W"),
        ),
        function(
            "SET_NODE_STATE", 20, "Command a node's power state.",
            Arg("node", UInt(8, 0, MAX_NODES - 1), "node index"),
            Arg("state", NODE_COMMAND, "power state"),
        ),
        function("DOWNLINK_RESULT", 21, "Send a job's result file to the ground.", _job_id),
        function(
            "SHED", 22,
            "Shed compute load (fault protection): 0 none, 1 no new work and the hottest "
            "nodes idle, 2 half the nodes off, 3 every node off.",
            Arg("level", UInt(8, 0, 3), "shed level"),
        ),
        function(
            "RESEND_RESULT", 23,
            "Send parts of a result file again: a msgpack list of [offset, length] ranges "
            "(an empty list resends the end-of-file report).",
            _job_id, Arg("ranges", Msgpack(2048), "byte ranges missing on the ground"),
        ),
        function("RESULT_RECEIVED", 24,
                 "The ground holds the result file whole, with the right digest: free it.",
                 _job_id),
        function(
            "SCHEDULE_JOB", 25,
            "Onboard schedule: hold a job (state SCHEDULED) and queue it at its release time, "
            "in or out of contact; checked at acceptance as SUBMIT_JOB is, and the release "
            "time must be in the future. CANCEL_JOB removes it from the schedule.",
            Arg("release", Time(), "when the job is queued (simulated time)"),
            Arg("job", Msgpack(512), "job description"),
        ),
        function("LIST_TRANSFERS", 26,
                 "Report the progress of every result file stored or recently delivered "
                 "(TM[140,5])."),
    ),
    status=(
        Param("COMPUTE", "JOBS_QUEUED", _U16, "jobs waiting for a node"),
        Param("COMPUTE", "JOBS_RUNNING", _U16, "jobs running"),
        Param("COMPUTE", "JOBS_PREEMPTED", _U16, "jobs preempted, checkpointed"),
        Param("COMPUTE", "JOBS_DONE", _U32, "jobs completed"),
        Param("COMPUTE", "JOBS_FAILED", _U32, "jobs failed"),
        Param("COMPUTE", "JOBS_CANCELLED", _U32, "jobs cancelled"),
        Param("COMPUTE", "NODE_UTILISATION", _F32, "share of powered nodes busy", "%"),
        Param("COMPUTE", "POWER_DRAW", _F32, "power drawn by compute", "W"),
        Param("COMPUTE", "POWER_CAP", _F32, "power compute may draw", "W"),
        Param("COMPUTE", "WORK_LOST", _F32, "work lost to upsets since start", "node-s"),
        Param("COMPUTE", "RESULT_BYTES_PENDING", _U32, "result bytes awaiting downlink", "B"),
        Param("COMPUTE", "SHED_LEVEL", UInt(8, 0, 3), "shed level in force"),
        Param("COMPUTE", "NODES_BUSY", UInt(8), "nodes running a job"),
        Param("COMPUTE", "BUDGET", _F32,
              "power compute (all nodes) may draw now: the least of the cap, the power and the "
              "thermal terms (0 under a shed)", "W"),
        Param("COMPUTE", "BUDGET_LIMIT", BUDGET_LIMIT, "which term sets the budget"),
        Param("COMPUTE", "BUDGET_POWER", _F32,
              "power term: the larger of the array's output (less what the battery needs to "
              "recharge) and the battery's share, less the platform's load", "W"),
        Param("COMPUTE", "BUDGET_THERMAL", _F32,
              "thermal term: the cap, tapered to nothing as the radiator nears its limit", "W"),
        Param("COMPUTE", "BATTERY_SHARE", _F32,
              "battery power the budget may count on at this state of charge", "W"),
        Param("COMPUTE", "TRANSFERS_ACTIVE", _U16, "result files being downlinked"),
        Param("COMPUTE", "TRANSFER_BYTES_SENT", _U32, "result bytes sent (resends included)",
              "B"),
        Param("COMPUTE", "RESULTS_DELIVERED", _U32, "result files the ground confirmed"),
        Param("COMPUTE", "JOBS_SCHEDULED", _U16, "jobs held by the onboard schedule"),
        Param("COMPUTE", "JOBS_REFUSED", _U32, "job descriptions refused at acceptance"),
    ),
    events=(
        Event(
            16, "JOB_STATE", Severity.INFO, "job {job_id} is {state}",
            (_job_id, Arg("state", JOB_STATE, "new state")),
        ),
        Event(
            17, "JOB_FAILED", Severity.LOW, "job {job_id} failed: {code}",
            (_job_id, Arg("code", UInt(16), "failure reason")),
        ),
        Event(
            19, "RESULT_READY", Severity.INFO, "job {job_id} result stored: {size} bytes",
            (_job_id, Arg("size", _U32, "file size", "B")),
        ),
        Event(
            20, "RESULT_DELIVERED", Severity.INFO, "job {job_id} result confirmed by the ground",
            (_job_id,),
        ),
        Event(
            18, "JOB_ROLLED_BACK", Severity.LOW,
            "job {job_id} rolled back to its checkpoint after an upset; {lost:.1f} node-s lost",
            (_job_id, Arg("lost", _F32, "work lost", "node-s")),
        ),
        Event(
            21, "JOB_REFUSED", Severity.LOW, "job {job_id} refused: {reason} (field {field})",
            (Arg("job_id", _U32, "job identifier (0 when the description has none)"),
             Arg("reason", JOB_REASON, "why"), Arg("field", JOB_FIELD, "the field at fault")),
        ),
    ),
    reports=(
        Report(
            "JOB_LIST", COMPUTE_SERVICE, 1, "Every job known to the compute manager.",
            (Arg("jobs", Msgpack(60_000), "list of job summaries"),),
        ),
        Report(
            "FILE_METADATA", COMPUTE_SERVICE, 2, "A result file's transfer begins.",
            (_job_id, Arg("size", _U32, "file size", "B"),
             Arg("sha256", Blob(32), "SHA-256 of the whole file")),
        ),
        Report(
            "FILE_DATA", COMPUTE_SERVICE, 3, "A piece of a result file.",
            (_job_id, Arg("offset", _U32, "position in the file", "B"),
             Arg("data", Blob(CHUNK_BYTES), "the bytes")),
        ),
        Report(
            "FILE_EOF", COMPUTE_SERVICE, 4, "Every piece asked for has been sent.",
            (_job_id, Arg("size", _U32, "file size", "B"),
             Arg("sha256", Blob(32), "SHA-256 of the whole file")),
        ),
        Report(
            "TRANSFER_LIST", COMPUTE_SERVICE, 5,
            "Progress of each result file: job id, size, state (STORED, SENDING, SENT, "
            "DELIVERED), bytes sent once and again, resend requests, bytes the ground is known "
            "to hold (its last resend request said what it lacked) and times of the last "
            "activity.",
            (Arg("transfers", Msgpack(60_000), "list of transfer summaries"),),
        ),
    ),
    settings=(
        Setting(1, "POWER_CAP_W", "default compute power cap", 3000.0, 0.0, 100_000.0, "W"),
        Setting(2, "THROTTLE_TEMP_C", "node temperature that halts new work", 85.0, 0.0, 120.0,
                "degC"),
        Setting(3, "NODE_BUSY_EXTRA_W", "power a busy node draws beyond idle", 550.0, 1.0,
                5000.0, "W"),
        Setting(4, "BATTERY_SHARE_W",
                "battery power the satellite may draw when the array gives less (in eclipse): "
                "0.57 C of the 3 kWh battery, ~18 % depth of discharge in a 19-min eclipse",
                1700.0, 0.0, 100_000.0, "W"),
        Setting(5, "TICK_S", "scheduler period", 10.0, 1.0, 600.0, "s"),
        Setting(6, "BATTERY_RESERVE_PCT",
                "state of charge at and below which the battery gives compute nothing and "
                "RECHARGE_W of the array's power is kept for it", 45.0, 0.0, 100.0, "%"),
        Setting(7, "BATTERY_FULL_SHARE_PCT",
                "state of charge from which the battery gives its whole share (linear from the "
                "reserve)", 60.0, 0.0, 100.0, "%"),
        Setting(8, "RECHARGE_W", "array power kept to recharge a battery at its reserve",
                500.0, 0.0, 100_000.0, "W"),
        Setting(9, "RADIATOR_LIMIT_C", "radiator temperature at which compute gets no power "
                "(below fault protection's danger limit)", 70.0, -50.0, 150.0, "degC"),
        Setting(10, "RADIATOR_TAPER_K", "span below the radiator limit over which the budget "
                "falls from the cap to nothing", 15.0, 0.1, 100.0, "K"),
        Setting(11, "BUDGET_MARGIN_W", "headroom a job must leave to start (keeps jobs from "
                "flapping on a budget at the edge)", 100.0, 0.0, 5000.0, "W"),
    ),
)
