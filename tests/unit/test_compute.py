"""Jobs and the scheduler: real work, checkpoints, budgets, priorities."""

from __future__ import annotations

import hashlib

import pytest

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


def job(job_id: int, priority: int = 100, work: float = 100.0, submitted: float = 0.0) -> Job:
    return Job(job_id, "sha256-chain", work, priority, submitted=submitted)


def test_a_chain_is_real_work_that_the_ground_can_recompute() -> None:
    j = job(7, work=3.0)
    for _ in range(6):
        j.advance(0.5)
    digest = hashlib.sha256(b"7").digest()
    for _ in range(3 * ITERATIONS_PER_NODE_S):
        digest = hashlib.sha256(digest).digest()
    assert j.remaining == 0 and j.digest == digest
    assert result_bytes(j.digest, 100) == expected_result("7", 3.0, 100)
    assert len(expected_result("7", 3.0, 100)) == 100


def test_a_rollback_loses_the_work_since_the_checkpoint_and_the_result_is_still_right() -> None:
    j = job(9, work=10.0)
    j.advance(4.0)
    j.checkpoint()
    j.advance(3.0)
    lost = j.roll_back()
    assert lost == pytest.approx(3.0) and j.done == pytest.approx(4.0) and j.rollbacks == 1
    while j.remaining:
        j.advance(1.0)
    assert result_bytes(j.digest, 64) == expected_result("9", 10.0, 64)


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


def test_a_preempted_job_resumes_before_a_later_one_of_the_same_priority() -> None:
    early, late = job(1, submitted=0.0), job(2, submitted=10.0)
    early.state = "PREEMPTED"
    assert set(plan([late, early], [0], 550.0, 550.0)) == {1}


def test_unusable_nodes_are_not_used() -> None:
    assert set(plan([job(1), job(2)], [3], 10_000.0, 550.0).values()) == {3}


@pytest.mark.parametrize(("description", "reason"), [
    ([1, 2], JobReason.NOT_A_MAP),
    ({"kind": "sha256-chain", "work": 1}, JobReason.MISSING_FIELD),
    ({"id": 1, "kind": "sha256-chain", "work": "lots"}, JobReason.BAD_TYPE),
    ({"id": 1, "kind": "bitcoin", "work": 1}, JobReason.UNKNOWN_KIND),
    ({"id": 1, "kind": "sha256-chain", "work": -1}, JobReason.OUT_OF_RANGE),
    ({"id": 1, "kind": "sha256-chain", "work": 1, "deadline": 5.0}, JobReason.OUT_OF_RANGE),
    ({"id": 1, "kind": "sha256-chain", "work": 1, "colour": "red"}, JobReason.BAD_TYPE),
])
def test_bad_job_descriptions_are_refused_with_a_reason(description, reason) -> None:
    with pytest.raises(JobError) as caught:
        parse_job(description, now=100.0)
    assert caught.value.code == reason


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
    assert result_bytes(back.digest, 64) == expected_result("5", 20.0, 64)
