"""Placing jobs on nodes by priority, within the power and thermal budget.

Pure logic: given the jobs that could run, the nodes that may be busy and the power budget, it
says which job runs on which node. A job keeps its node while it keeps its place; when the
budget shrinks, the lowest-priority running jobs lose theirs (the caller checkpoints them), and
when it grows back they resume first among equals (they were submitted earlier).
"""

from __future__ import annotations

from collections.abc import Iterable

from flight.compute.jobs import Job

RUNNABLE = ("QUEUED", "RUNNING", "PREEMPTED")


def rank(job: Job) -> tuple[int, float, int]:
    """Sort key: higher priority first, then earlier submission, then lower id."""
    return (-job.priority, job.submitted, job.job_id)


def plan(jobs: Iterable[Job], usable_nodes: list[int], budget_w: float,
         busy_extra_w: float) -> dict[int, int]:
    """Job id → node for the jobs that should be running now.

    ``busy_extra_w`` is what a node draws busy beyond idle: the budget admits
    ``floor(budget_w / busy_extra_w)`` busy nodes, and never more than there are usable nodes.
    """
    slots = min(len(usable_nodes), int(max(0.0, budget_w) // busy_extra_w)) if busy_extra_w > 0 \
        else len(usable_nodes)
    chosen = sorted((j for j in jobs if j.state in RUNNABLE), key=rank)[:slots]
    usable = set(usable_nodes)
    assignment: dict[int, int] = {}
    taken: set[int] = set()
    for job in chosen:  # running jobs keep their node when they can
        if job.state == "RUNNING" and job.node in usable and job.node not in taken:
            assignment[job.job_id] = job.node
            taken.add(job.node)
    free = [node for node in usable_nodes if node not in taken]
    for job in chosen:
        if job.job_id not in assignment:
            node = free.pop(0)
            assignment[job.job_id] = node
    return assignment
