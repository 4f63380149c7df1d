"""Every command of the dictionary, sent as operators send it — through ground control (the
simulated hardware's through the test set, which is the only way to reach it) — and completed;
bad arguments refused before they are queued, with the range that was broken; and commands
that the satellite must refuse, failing with the PUS failure code that says why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from common.dictionary import DICTIONARY
from common.dictionary.types import Enum, Float, Int, UInt
from ground.client import GroundError
from scenarios.faults import inject
from scenarios.testkit.ops import Ops
from scenarios.testkit.predicates import at_least, has_args
from tests.hil.conftest import with_changes

pytestmark = pytest.mark.hil

SAT = "SAT-01"
Args = dict[str, Any] | Callable[[Ops], dict[str, Any]]


@pytest.fixture(scope="module")
def dawndusk_config() -> dict[str, Any]:
    # Results fetched and confirmed by hand: the commands that do it are among those tested.
    return with_changes(constellation={"per_plane": 1},
                        ground={"stations": ["polar"], "auto_results": False})


def _first(enum_owner: str, arg: str) -> str:
    """The first label of a command's enumerated argument."""
    (found,) = [a for a in DICTIONARY.command(enum_owner).args if a.name == arg]
    assert isinstance(found.type, Enum)
    return next(iter(found.type.labels))


def _standard(app: str) -> list[tuple[str, Args]]:
    """The standard commands every app answers, with harmless arguments."""
    names = DICTIONARY.commands
    structure = _first(f"{app}.REPORT_HK", "structure")
    interval = DICTIONARY.structures[f"{app}.{structure}"].interval_s
    steps: list[tuple[str, Args]] = [
        (f"{app}.PING", {}), (f"{app}.NOOP", {}),
        (f"{app}.REPORT_HK", {"structure": structure}),
        (f"{app}.SET_HK_INTERVAL", {"structure": structure, "interval": interval}),
        (f"{app}.DISABLE_HK", {"structure": structure}),
        (f"{app}.ENABLE_HK", {"structure": structure}),
        (f"{app}.RESET_COUNTERS", {}),
    ]
    if f"{app}.GET_PARAM" in names:
        setting = DICTIONARY.apps[app].settings[0]
        steps += [(f"{app}.GET_PARAM", {"param": setting.short}),
                  (f"{app}.SET_PARAM", {"param": setting.short, "value": setting.default})]
    return [(name, args) for name, args in steps if name in names]


def _job(job_id: int, work: float = 60.0) -> dict[str, Any]:
    return {"id": job_id, "kind": "sha256-chain", "work": work, "priority": 10,
            "checkpoint_interval": 30, "seed": f"hil-{job_id}", "output_size": 2048}


#: Every command, in an order that leaves the satellite as it found it.
GROUND_STEPS: list[tuple[str, Args]] = [
    *_standard("EXEC"),
    ("EXEC.STOP_APP", {"app": "COMPUTE"}), ("EXEC.START_APP", {"app": "COMPUTE"}),
    ("EXEC.RESTART_APP", {"app": "COMPUTE"}),
    ("EXEC.ACTIVATE_KEY", {"spi": 2}),  # telecommand key rotation (ground follows it)
    *_standard("HK"),
    ("HK.PLAYBACK", lambda ops: {"start": ops.now() - 300, "end": ops.now()}),
    *_standard("COMPUTE"),
    ("COMPUTE.SET_POWER_CAP", {"watts": 3000.0}), ("COMPUTE.SHED", {"level": 0}),
    ("COMPUTE.SET_NODE_STATE", {"node": 3, "state": "IDLE"}),
    ("COMPUTE.SUBMIT_JOB", {"job": _job(1)}),
    ("COMPUTE.SCHEDULE_JOB", lambda ops: {"release": ops.now() + 3600, "job": _job(2)}),
    ("COMPUTE.LIST_JOBS", {}), ("COMPUTE.LIST_TRANSFERS", {}),
    ("COMPUTE.CANCEL_JOB", {"job_id": 2}),
    ("COMPUTE.DOWNLINK_RESULT", {"job_id": 1}),
    ("COMPUTE.RESEND_RESULT", {"job_id": 1, "ranges": [[0, 1024]]}),
    ("COMPUTE.RESULT_RECEIVED", {"job_id": 1}),
    ("COMPUTE.RESULT_RECEIVED", {"job_id": 1}),  # twice: a repeated confirmation is harmless
    *_standard("FP"),
    ("FP.SET_MODE", {"mode": "NOMINAL"}),
    ("FP.ADD_ACTION", {"event": "EXEC.APP_STOPPED", "actions": [{"tc": "HK.NOOP"}]}),
    ("FP.ENABLE_ACTION", {"event": "EXEC.APP_STOPPED"}),
    ("FP.DISABLE_ACTION", {"event": "EXEC.APP_STOPPED"}),
    ("FP.DELETE_ACTION", {"event": "EXEC.APP_STOPPED"}),
    ("FP.REPORT_ACTIONS", {}), ("FP.REPORT_MONITORS", {}),
    ("FP.DISABLE_MONITOR", lambda ops: {"monitor": _first("FP.DISABLE_MONITOR", "monitor")}),
    ("FP.ENABLE_MONITOR", lambda ops: {"monitor": _first("FP.ENABLE_MONITOR", "monitor")}),
    ("FP.DISABLE_MONITORING", {}), ("FP.ENABLE_MONITORING", {}),
    ("FP.DISABLE_EVENT_ACTIONS", {}), ("FP.ENABLE_EVENT_ACTIONS", {}),
    ("FP.DELETE_ALL_ACTIONS", {}),
]
#: The simulated hardware's, through the test set (its packets never leave the satellite).
TEST_SET_STEPS: list[tuple[str, Args]] = [
    *_standard("SIM"),
    ("SIM.SET_NODE_POWER", {"node": 3, "state": "IDLE"}), ("SIM.SET_HEATER", {"on": False}),
    ("SIM.INJECT_UPSET", {"node": 3}), ("SIM.FAIL_BATTERY_CELLS", {"strings": 1}),
    ("SIM.DEGRADE_RADIATOR", {"factor": 1.0}),
]


def test_the_steps_cover_every_command_of_the_dictionary() -> None:
    covered = {name for name, _ in GROUND_STEPS + TEST_SET_STEPS}
    assert covered == set(DICTIONARY.commands), (
        f"missing: {sorted(set(DICTIONARY.commands) - covered)}; "
        f"unknown: {sorted(covered - set(DICTIONARY.commands))}")


async def test_every_command_is_accepted_started_and_completed(module_fleet, ops: Ops) -> None:
    await ops.wait_for_dataflow([SAT])
    for name, args in GROUND_STEPS:
        values = args(ops) if callable(args) else args
        if name == "COMPUTE.DOWNLINK_RESULT":  # a result to bring down first
            await ops.await_telemetry(SAT, "COMPUTE.JOBS_DONE", at_least(1), timeout=3600)
        if name == "COMPUTE.RESULT_RECEIVED":  # confirm what has come down whole
            await _verified(ops, 1)
        await ops.send_and_assert_command(SAT, name, max_delay=900, **values)
    assert ops.run is not None
    for name, args in TEST_SET_STEPS:
        await inject(ops.run, SAT, name, **(args(ops) if callable(args) else args))
    # And the satellite is still well: every app answers.
    for app in ("EXEC", "HK", "COMPUTE", "FP"):
        await ops.send_and_assert_command(SAT, f"{app}.PING")


async def _verified(ops: Ops, job_id: int) -> None:
    async def arrived() -> None:
        while not any(t["job_id"] == job_id and t["state"] in ("VERIFIED", "CONFIRMED")
                      for t in await ops.client.transfers(SAT)):
            await ops.client.clock.sleep(10)

    await ops.client.clock.wait_for(arrived(), 1800)


def _bad_values(arg: Any) -> list[Any]:
    """Values an argument's type refuses."""
    kind = arg.type
    if isinstance(kind, Enum):
        return ["NO_SUCH_LABEL"]
    if isinstance(kind, UInt | Int | Float):
        out = []
        if kind.minimum is not None and kind.minimum > float("-inf"):
            out.append(kind.minimum - 1)
        if kind.maximum is not None and kind.maximum < float("inf"):
            out.append(kind.maximum + 1)
        return out
    return []


BAD = [(name, arg.name, value) for name, command in sorted(DICTIONARY.commands.items())
       for arg in command.args for value in _bad_values(arg)
       if not name.startswith("SIM.")]


async def test_bad_arguments_are_refused_before_they_are_queued(module_fleet, ops: Ops) -> None:
    assert len(BAD) > 40
    for name, arg, value in BAD:
        command = DICTIONARY.command(name)
        args = {a.name: _good(a) for a in command.args}
        args[arg] = value
        with pytest.raises(GroundError) as refusal:
            await ops.send_command(SAT, name, **args)
        assert arg in str(refusal.value) and name in str(refusal.value), refusal.value
    status = await ops.client.status()
    assert status["counters"]["bad_requests"] >= len(BAD)


def _good(arg: Any) -> Any:
    kind = arg.type
    if isinstance(kind, Enum):
        return next(iter(kind.labels))
    if isinstance(kind, UInt | Int | Float):
        return max(kind.minimum, 0) if kind.minimum > float("-inf") else 0
    return arg.default


async def test_commands_the_satellite_must_refuse_fail_with_the_code_that_says_why(
        module_fleet, ops: Ops) -> None:
    await ops.wait_for_dataflow([SAT])
    now = ops.now()
    refusals = [
        ("COMPUTE.SUBMIT_JOB", "INVALID_JOB", {"job": {"id": 7, "kind": "sha256-chain",
                                                       "work": -5.0}}),
        ("COMPUTE.SUBMIT_JOB", "INVALID_JOB", {"job": {"id": 8, "kind": "bitcoin",
                                                       "work": 10.0}}),
        ("COMPUTE.CANCEL_JOB", "UNKNOWN_JOB", {"job_id": 4242}),
        ("COMPUTE.DOWNLINK_RESULT", "UNKNOWN_JOB", {"job_id": 4242}),
        ("EXEC.ACTIVATE_KEY", "INVALID_ARGUMENT", {"spi": 200}),
        ("FP.ADD_ACTION", "INVALID_ARGUMENT", {"event": "EXEC.APP_STOPPED",
                                               "actions": [{"tc": "NOPE.NOTHING"}]}),
        ("FP.ENABLE_ACTION", "INVALID_ARGUMENT", {"event": "HK.PLAYBACK_DONE"}),
        ("HK.PLAYBACK", "INVALID_ARGUMENT", {"start": now, "end": now - 600}),
    ]
    for name, code, args in refusals:
        handle = await ops.send_and_assert_failure(SAT, name, code, max_delay=900, **args)
        assert code in (handle.error or "")
    await ops.await_event(SAT, "COMPUTE.JOB_REFUSED", has_args(), start=now, timeout=900)
