"""Apps hosted in the executive's own process: a host made of apps that ends as a process does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from flight.executive.hosts import START_FAILED, InProcessHosts
from flight.registry import APP_CLASSES

EVENTS: list[tuple[str, str, int]] = []


class Stand:
    """Stands in for a flight app: records its start and stop."""

    NAME = "HK"
    fails = False

    def __init__(self, runtime: Any, satellite: str) -> None:
        self.name = type(self).NAME
        self.stopped_apps = runtime.stopped_apps

    async def start(self) -> None:
        await asyncio.sleep(0)
        if self.fails:
            raise RuntimeError("no bus")
        EVENTS.append(("start", self.name, 0))

    async def stop(self, signal_number: int = 0) -> None:
        EVENTS.append(("stop", self.name, signal_number))


class Fails(Stand):
    NAME = "COMPUTE"
    fails = True


class Unmade(Stand):
    NAME = "COMPUTE"

    def __init__(self, runtime: Any, satellite: str) -> None:
        raise OSError("the recorder's disk is gone")


class Stuck(Stand):
    NAME = "FP"

    async def stop(self, signal_number: int = 0) -> None:
        EVENTS.append(("stop", self.name, signal_number))
        await asyncio.Event().wait()  # never done


class Other(Stand):
    NAME = "FP"


@pytest.fixture
async def hosts(monkeypatch) -> AsyncIterator[InProcessHosts]:
    monkeypatch.setitem(APP_CLASSES, "HK", f"{__name__}:Stand")
    monkeypatch.setitem(APP_CLASSES, "COMPUTE", f"{__name__}:Fails")
    monkeypatch.setitem(APP_CLASSES, "FP", f"{__name__}:Other")
    EVENTS.clear()
    made = InProcessHosts(SimpleNamespace(stopped_apps=frozenset()), "SAT-01")  # type: ignore
    yield made
    for task in (made._starting, made._ending):  # nothing of a test left running
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _ended(found: list[tuple[int, int]]) -> None:
    for _ in range(100):
        if found:
            return
        await asyncio.sleep(0)
    raise AssertionError("the host never ended")


async def test_a_signal_stops_the_apps_in_place_and_the_host_ends_as_a_process_would(
        hosts: InProcessHosts) -> None:
    ended: list[tuple[int, int]] = []
    hosts.on_exit(lambda number, status: ended.append((number, status)))
    number = await hosts.spawn(["HK", "FP"], ["COMPUTE"])
    assert number == os.getpid()  # what the apps here put in their heartbeats
    for _ in range(10):
        await asyncio.sleep(0)
    assert [e for e in EVENTS if e[0] == "start"] == [("start", "HK", 0), ("start", "FP", 0)]
    hosts.signal(number + 1, signal.SIGTERM)  # not ours: nothing
    hosts.signal(number, signal.SIGTERM)
    await _ended(ended)
    assert ended == [(number, -signal.SIGTERM)] and hosts.exits[number] == -signal.SIGTERM
    assert [e for e in EVENTS if e[0] == "stop"] == [("stop", "HK", signal.SIGTERM),
                                                     ("stop", "FP", signal.SIGTERM)]
    # Started again, the number is the same: the earlier end is forgotten.
    assert await hosts.spawn(["HK"], []) == number and number not in hosts.exits


async def test_apps_that_fail_to_start_end_their_host_with_a_status_and_are_stopped(
        hosts: InProcessHosts) -> None:
    ended: list[tuple[int, int]] = []
    hosts.on_exit(lambda number, status: ended.append((number, status)))
    number = await hosts.spawn(["HK", "COMPUTE", "FP"], [])
    await _ended(ended)
    assert ended == [(number, START_FAILED)]
    # Every app is stopped, those that started and those that did not; FP never started.
    assert [e[1] for e in EVENTS if e[0] == "stop"] == ["HK", "COMPUTE", "FP"]
    assert ("start", "FP", 0) not in EVENTS


async def test_a_signal_while_the_apps_start_cuts_the_start_short(hosts: InProcessHosts) -> None:
    ended: list[tuple[int, int]] = []
    hosts.on_exit(lambda number, status: ended.append((number, status)))
    number = await hosts.spawn(["HK", "FP"], [])
    hosts.signal(number, signal.SIGKILL)  # before either has started
    await _ended(ended)
    assert ended == [(number, -signal.SIGKILL)]
    assert [e for e in EVENTS if e[0] == "start"] == []
    assert [e[1] for e in EVENTS if e[0] == "stop"] == ["HK", "FP"]


async def test_fault_protection_made_in_place_knows_the_apps_held_stopped(
        hosts: InProcessHosts) -> None:
    await hosts.spawn(["FP"], ["COMPUTE"])
    assert hosts._apps[0].stopped_apps == frozenset({"COMPUTE"})


async def test_apps_that_cannot_be_made_end_their_host_and_those_made_are_stopped(
        hosts: InProcessHosts, monkeypatch) -> None:
    monkeypatch.setitem(APP_CLASSES, "COMPUTE", f"{__name__}:Unmade")
    ended: list[tuple[int, int]] = []
    hosts.on_exit(lambda number, status: ended.append((number, status)))
    number = await hosts.spawn(["HK", "COMPUTE", "FP"], [])  # no exception: as a process would
    await _ended(ended)
    assert ended == [(number, START_FAILED)]
    assert EVENTS == [("stop", "HK", 0)]  # made, never started, and closed again


async def test_every_spawn_is_a_new_generation_given_to_its_apps(hosts: InProcessHosts) -> None:
    await hosts.spawn(["HK"], [])
    first = hosts.generation
    assert hosts._apps[0].generation == first
    hosts.signal(hosts.number, signal.SIGTERM)
    await hosts.spawn(["HK"], [])
    assert hosts.generation == first + 1 and hosts._apps[0].generation == first + 1


async def test_a_kill_ends_a_host_whose_apps_will_not_stop(hosts: InProcessHosts,
                                                           monkeypatch) -> None:
    monkeypatch.setitem(APP_CLASSES, "FP", f"{__name__}:Stuck")
    ended: list[tuple[int, int]] = []
    hosts.on_exit(lambda number, status: ended.append((number, status)))
    number = await hosts.spawn(["HK", "FP"], [])
    for _ in range(10):
        await asyncio.sleep(0)
    hosts.signal(number, signal.SIGTERM)
    for _ in range(10):
        await asyncio.sleep(0)
    assert ended == [] and ("stop", "FP", signal.SIGTERM) in EVENTS  # FP's stop hangs
    hosts.signal(number, signal.SIGKILL)
    await _ended(ended)
    assert ended == [(number, -signal.SIGKILL)]
