"""COMPUTE: the compute manager, the data centre on board."""

from __future__ import annotations

from common.dictionary.apps.sim import MAX_NODES, NODE_COMMAND
from common.dictionary.model import Arg, Event, Param, Report, Setting, Severity, function
from common.dictionary.standard import define_app
from common.dictionary.types import Blob, Enum, Float, Msgpack, UInt

APID = 0x030
#: Mission-specific PUS service for compute reports.
COMPUTE_SERVICE = 140
#: Bytes of a result file per FILE_DATA packet.
CHUNK_BYTES = 1024

JOB_STATE = Enum(
    {"QUEUED": 0, "RUNNING": 1, "PREEMPTED": 2, "DONE": 3, "FAILED": 4, "CANCELLED": 5}
)

_U16, _U32, _F32 = UInt(16), UInt(32), Float(32)
_job_id = Arg("job_id", _U32, "job identifier")

COMPUTE = define_app(
    "COMPUTE",
    APID,
    "Compute manager",
    "Accepts jobs, schedules them on the satellite's server nodes within the power and thermal "
    "budget, checkpoints them, restarts them after a node fault, and stores their results.",
    supervised=True,
    commands=(
        function(
            "SUBMIT_JOB", 16,
            "Submit a job: a msgpack map with id, kind, work (node-seconds), priority, "
            "deadline, checkpoint interval, input and output size.",
            Arg("job", Msgpack(512), "job description"),
        ),
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
        Param("COMPUTE", "BUDGET", _F32, "power compute may draw now (cap, eclipse, shed)", "W"),
        Param("COMPUTE", "TRANSFERS_ACTIVE", _U16, "result files being downlinked"),
        Param("COMPUTE", "TRANSFER_BYTES_SENT", _U32, "result bytes sent (resends included)",
              "B"),
        Param("COMPUTE", "RESULTS_DELIVERED", _U32, "result files the ground confirmed"),
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
    ),
    settings=(
        Setting(1, "POWER_CAP_W", "default compute power cap", 3000.0, 0.0, 100_000.0, "W"),
        Setting(2, "THROTTLE_TEMP_C", "node temperature that halts new work", 85.0, 0.0, 120.0,
                "degC"),
        Setting(3, "NODE_BUSY_EXTRA_W", "power a busy node draws beyond idle", 550.0, 1.0,
                5000.0, "W"),
        Setting(4, "ECLIPSE_BUDGET_W", "compute power allowed in eclipse", 550.0, 0.0,
                100_000.0, "W"),
        Setting(5, "TICK_S", "scheduler period", 10.0, 1.0, 600.0, "s"),
    ),
)
