"""A compute job end to end: submitted from the ground, run on the satellite's nodes, its
result file brought home in pieces and checked against a computation made here, from the job
kind's definition alone."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scenarios.testkit.ops import Ops
from scenarios.testkit.predicates import at_least, has_args

pytestmark = pytest.mark.hil

SAT = "SAT-02"
WORK_NODE_S = 120.0
OUTPUT = 8192
#: The sha256-chain job kind: ten SHA-256 iterations per node-second of work.
ITERATIONS_PER_NODE_S = 10


def sha256_chain_result(seed: str, work: float, size: int) -> bytes:
    """The result a sha256-chain job must produce: SHA-256 iterated over the seed's digest,
    then expanded to ``size`` bytes (SHA-256 of the previous block and ``b"expand"``), ending
    in the final digest."""
    digest = hashlib.sha256(seed.encode()).digest()
    for _ in range(round(work * ITERATIONS_PER_NODE_S)):
        digest = hashlib.sha256(digest).digest()
    body, block = bytearray(), digest
    while len(body) < size - len(digest):
        block = hashlib.sha256(block + b"expand").digest()
        body += block
    return bytes(body[: size - len(digest)]) + digest


async def test_a_job_s_result_comes_home_and_checks_out(module_fleet, ops: Ops) -> None:
    await ops.wait_for_dataflow([SAT])
    start = ops.now()
    await ops.send_and_assert_command(SAT, "COMPUTE.SUBMIT_JOB", job={
        "id": 5, "kind": "sha256-chain", "work": WORK_NODE_S, "priority": 100,
        "checkpoint_interval": 30, "seed": "hil-compute", "output_size": OUTPUT})
    await ops.await_event(SAT, "COMPUTE.RESULT_READY", has_args(job_id=5), start=start,
                          timeout=3600)
    await ops.await_telemetry(SAT, "COMPUTE.JOBS_DONE", at_least(1), start=start, timeout=600)

    async def verified() -> dict:
        while True:
            for transfer in await ops.client.transfers(SAT):
                if transfer["job_id"] == 5 and transfer["state"] in ("VERIFIED", "CONFIRMED"):
                    return transfer
            await ops.client.clock.sleep(30)

    transfer = await ops.client.clock.wait_for(verified(), 3600)
    data = Path(transfer["path"]).read_bytes()
    assert data == sha256_chain_result("hil-compute", WORK_NODE_S, OUTPUT)
    assert transfer["pieces"] == transfer["chunks"] == OUTPUT // 1024
    assert transfer["duplicates"] == 0
    await ops.await_event(SAT, "COMPUTE.RESULT_DELIVERED", has_args(job_id=5), start=start,
                          timeout=1800)
