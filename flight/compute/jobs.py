"""Jobs of the onboard data centre: description, validation, real work and checkpoints.

A job's work is measured in node-seconds. The ``sha256-chain`` kind does real, verifiable
computation: starting from a seed, it hashes the digest again and again, ``ITERATIONS_PER_NODE_S``
times per node-second of work, so that the ground can recompute the result independently. Its
checkpoint is (iterations done, current digest): a node upset rolls the job back to it.
The result file is ``output_size`` bytes expanded from the final digest, ending in it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from common.dictionary.apps.compute import JOB_FIELDS, JobReason
from common.files import write_atomic

__all__ = ["FINISHED", "ITERATIONS_PER_NODE_S", "KINDS", "Job", "JobError", "JobReason",
           "expected_result", "listing", "load_jobs", "parse_job", "result_bytes", "save_jobs"]

#: SHA-256 iterations per node-second of work: real work, kept light enough that a fleet at
#: 1000× real time spends a few per cent of a core on it.
ITERATIONS_PER_NODE_S = 10
KINDS = ("sha256-chain",)
MAX_OUTPUT_BYTES = 16 * 1024 * 1024
MAX_WORK_NODE_S = 30 * 86400.0
MAX_SEED_BYTES = 64
#: States a job does not leave.
FINISHED = ("DONE", "FAILED", "CANCELLED")


class JobError(ValueError):
    """A job description that cannot be accepted: ``code`` says why (the failure data of
    TM[1,2]) and ``field`` which field is at fault ("" when none is)."""

    def __init__(self, code: JobReason, message: str, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.field = field


@dataclass
class Job:
    """One job and its progress."""

    job_id: int
    kind: str
    work: float
    priority: int = 100
    deadline: float | None = None
    checkpoint_interval: float = 600.0
    input_size: int = 0
    output_size: int = 64
    seed: str = ""
    state: str = "QUEUED"
    node: int | None = None
    done: float = 0.0
    iterations: int = 0
    digest: bytes = b""
    checkpoint_done: float = 0.0
    checkpoint_iterations: int = 0
    checkpoint_digest: bytes = b""
    submitted: float = 0.0
    finished: float | None = None
    lost: float = 0.0
    rollbacks: int = 0
    #: When the onboard schedule queues the job (SCHEDULED jobs only).
    release: float | None = None
    history: list[tuple[float, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = self.checkpoint_digest = initial_digest(self.seed or str(self.job_id))

    @property
    def remaining(self) -> float:
        """Node-seconds of work left."""
        return max(0.0, self.work - self.done)

    @property
    def target_iterations(self) -> int:
        """Iterations the whole job takes."""
        return round(self.work * ITERATIONS_PER_NODE_S)

    def advance(self, node_seconds: float) -> None:
        """Do ``node_seconds`` of work, for real (hash iterations)."""
        self.done = min(self.work, self.done + node_seconds)
        target = min(self.target_iterations, round(self.done * ITERATIONS_PER_NODE_S))
        digest = self.digest
        for _ in range(target - self.iterations):
            digest = hashlib.sha256(digest).digest()
        self.digest = digest
        self.iterations = target

    def checkpoint(self) -> None:
        """Save the progress a rollback returns to."""
        self.checkpoint_done = self.done
        self.checkpoint_iterations = self.iterations
        self.checkpoint_digest = self.digest

    def roll_back(self) -> float:
        """Return to the last checkpoint; return the node-seconds of work lost."""
        lost = self.done - self.checkpoint_done
        self.done = self.checkpoint_done
        self.iterations = self.checkpoint_iterations
        self.digest = self.checkpoint_digest
        self.lost += lost
        self.rollbacks += 1
        return lost

    def summary(self) -> dict[str, Any]:
        """A short description for LIST_JOBS."""
        return {"id": self.job_id, "kind": self.kind, "state": self.state,
                "priority": self.priority, "work": self.work, "done": round(self.done, 3),
                "checkpoint": round(self.checkpoint_done, 3), "node": self.node,
                "lost": round(self.lost, 3), "rollbacks": self.rollbacks,
                "release": self.release, "deadline": self.deadline}


def initial_digest(seed: str) -> bytes:
    """The first digest of a chain."""
    return hashlib.sha256(seed.encode()).digest()


def expected_result(seed: str, work: float, output_size: int) -> bytes:
    """What a ``sha256-chain`` job's result file must contain (the ground's independent check)."""
    digest = initial_digest(seed)
    for _ in range(round(work * ITERATIONS_PER_NODE_S)):
        digest = hashlib.sha256(digest).digest()
    return result_bytes(digest, output_size)


def result_bytes(final_digest: bytes, output_size: int) -> bytes:
    """The result file: ``output_size`` bytes expanded from the digest, ending in the digest."""
    size = max(output_size, len(final_digest))
    wanted = size - len(final_digest)
    blocks = []
    block = final_digest
    for _ in range(-(-wanted // len(final_digest))):  # linear: a 16 MiB file is 0.5 M blocks
        block = hashlib.sha256(block + b"expand").digest()
        blocks.append(block)
    body = b"".join(blocks)[:wanted]
    return body + final_digest


_TYPES: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "id": (int, True), "kind": (str, True), "work": ((int, float), True),
    "priority": (int, False), "deadline": ((int, float), False),
    "checkpoint_interval": ((int, float), False), "input_size": (int, False),
    "output_size": (int, False), "seed": (str, False),
}
assert tuple(_TYPES) == JOB_FIELDS, "the dictionary's job fields and ours differ"

#: Allowed ranges of the numeric fields: (low, high, how the message says it).
_RANGES: dict[str, tuple[float, float, str]] = {
    "id": (1, 0xFFFFFFFF, "1..4294967295"),
    "work": (math.ulp(0.0), MAX_WORK_NODE_S, f"more than 0 and at most {MAX_WORK_NODE_S:g}"),
    "priority": (0, 255, "0..255"),
    "checkpoint_interval": (1, 86400, "1..86400 s"),
    "input_size": (0, MAX_OUTPUT_BYTES, f"0..{MAX_OUTPUT_BYTES}"),
    "output_size": (32, MAX_OUTPUT_BYTES, f"32..{MAX_OUTPUT_BYTES}"),
}


def parse_job(description: Any, now: float, start: float | None = None) -> Job:
    """A job from its msgpack description; raises :class:`JobError` saying what is wrong.

    ``now`` is the time of acceptance; ``start`` the earliest the job may run (its release
    time on the onboard schedule; ``now`` by default), which the deadline must leave room
    after for the work on one node.
    """
    start = now if start is None else start
    if not isinstance(description, dict):
        raise JobError(JobReason.NOT_A_MAP, "a job description must be a map")
    unknown = sorted(str(name) for name in set(description) - set(_TYPES))
    if unknown:
        raise JobError(JobReason.UNKNOWN_FIELD, f"unknown job field(s) {', '.join(unknown)}")
    for name, (types, required) in _TYPES.items():
        value = description.get(name)
        if value is None:
            if required:
                raise JobError(JobReason.MISSING_FIELD, f"job field {name!r} is required", name)
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            raise JobError(JobReason.BAD_TYPE, f"job field {name!r} has the wrong type", name)
        if isinstance(value, float) and not math.isfinite(value):
            raise JobError(JobReason.OUT_OF_RANGE, f"job field {name!r} must be finite", name)
    if description["kind"] not in KINDS:
        raise JobError(JobReason.UNKNOWN_KIND,
                       f"unknown job kind {description['kind']!r}; known: {', '.join(KINDS)}",
                       "kind")
    for name, (low, high, allowed) in _RANGES.items():
        value = description.get(name)
        if value is not None and not low <= value <= high:
            raise JobError(JobReason.OUT_OF_RANGE, f"job field {name!r} must be {allowed}", name)
    seed = description.get("seed", str(description["id"]))
    if len(seed.encode()) > MAX_SEED_BYTES:
        raise JobError(JobReason.OUT_OF_RANGE,
                       f"job field 'seed' must be at most {MAX_SEED_BYTES} bytes", "seed")
    deadline = description.get("deadline")
    work = float(description["work"])
    if deadline is not None:
        if deadline <= now:
            raise JobError(JobReason.DEADLINE_PASSED, "job deadline is not in the future",
                           "deadline")
        if deadline < start + work:
            raise JobError(JobReason.DEADLINE_UNREACHABLE,
                           f"{work:g} node-s of work cannot be done {deadline - start:g} s "
                           "after the job may start", "deadline")
    return Job(
        job_id=description["id"], kind=description["kind"], work=work,
        priority=description.get("priority", 100), deadline=deadline,
        checkpoint_interval=float(description.get("checkpoint_interval", 600.0)),
        input_size=description.get("input_size", 0),
        output_size=description.get("output_size", 64), seed=seed, submitted=start,
    )


def listing(jobs: Iterable[Job], limit: int) -> list[Job]:
    """At most ``limit`` jobs to report: every unfinished one first, then the latest finished."""
    everything = list(jobs)
    open_jobs = [job for job in everything if job.state not in FINISHED][:limit]
    finished = sorted((job for job in everything if job.state in FINISHED),
                      key=lambda job: job.finished or 0.0)
    room = limit - len(open_jobs)
    return open_jobs + (finished[len(finished) - room:] if room > 0 else [])


def save_jobs(path: Any, jobs: list[Job]) -> None:
    """Keep every job (state and checkpoint) on disk, atomically."""
    from dataclasses import asdict

    import msgpack

    records = []
    for job in jobs:
        record = asdict(job)
        # What survives a restart is the checkpoint, not the progress since.
        record.update(done=job.checkpoint_done, iterations=job.checkpoint_iterations,
                      digest=job.checkpoint_digest)
        records.append(record)
    write_atomic(path, msgpack.packb(records, use_bin_type=True))


def load_jobs(path: Any) -> list[Job]:
    """The jobs kept on disk (none if there is no file yet)."""
    import msgpack

    try:
        records = msgpack.unpackb(path.read_bytes(), raw=False)
    except FileNotFoundError:
        return []
    jobs = []
    for record in records:
        record["history"] = [tuple(item) for item in record.get("history", [])]
        jobs.append(Job(**record))
    return jobs
