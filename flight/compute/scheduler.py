"""Placing jobs on nodes by priority, within the power and thermal budget.

Pure logic: given the jobs that could run, the nodes that may be busy and the power budget, it
says which job runs on which node. A job keeps its node while it keeps its place; when the
budget shrinks, the lowest-priority running jobs lose theirs (the caller checkpoints them), and
when it grows back they resume first among equals (they were submitted earlier). A job starts
only if the budget has ``margin_w`` to spare beyond it, while a running job keeps its place as
long as the budget covers it: a budget at the edge does not start and stop jobs every tick.
"""

from __future__ import annotations

from collections.abc import Iterable

from flight.compute.jobs import Job

RUNNABLE = ("QUEUED", "RUNNING", "PREEMPTED")


def rank(job: Job) -> tuple[int, bool, float, int]:
    """Sort key: higher priority first, then running jobs (a job is displaced only by a higher
    priority, never by an equal), then earlier submission, then lower id."""
    return (-job.priority, job.state != "RUNNING", job.submitted, job.job_id)


def slots_for(watts: float, busy_extra_w: float, nodes: int) -> int:
    """Busy nodes ``watts`` pays for (never more than ``nodes``)."""
    if busy_extra_w <= 0:
        return nodes
    return min(nodes, int(max(0.0, watts) // busy_extra_w))


def plan(jobs: Iterable[Job], usable_nodes: list[int], budget_w: float,
         busy_extra_w: float, margin_w: float = 0.0) -> dict[int, int]:
    """Job id → node for the jobs that should be running now.

    ``budget_w`` is the power the nodes may draw beyond idle and ``busy_extra_w`` what a node
    draws busy beyond idle: the budget keeps ``floor(budget_w / busy_extra_w)`` busy nodes,
    and starts more only while ``budget_w - margin_w`` pays for them; never more than there are
    usable nodes.
    """
    runnable = sorted((j for j in jobs if j.state in RUNNABLE), key=rank)
    usable = set(usable_nodes)
    keep = slots_for(budget_w, busy_extra_w, len(usable_nodes))
    grow = slots_for(budget_w - margin_w, busy_extra_w, len(usable_nodes))
    running = sum(1 for j in runnable if j.state == "RUNNING" and j.node in usable)
    slots = max(min(keep, running), grow)
    chosen = runnable[:slots]
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
