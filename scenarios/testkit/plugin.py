"""The dawndusk pytest plugin (registered through the ``pytest11`` entry point).

Fixtures:

* ``dawndusk_config`` — the fleet configuration (a dict in the TOML's shape, or a
  :class:`~scenarios.config.FleetConfig`); override it in a test module or conftest.
* ``fleet`` / ``module_fleet`` / ``session_fleet`` — the fleet, launched for the test, the module
  or the session (the test chooses by asking for one), always torn down; its run directory is
  kept when a test using it failed, removed otherwise.
* ``ops`` — the verbs (:class:`~scenarios.testkit.ops.Ops`) on whichever fleet the test asked
  for (``fleet`` unless it asked for a wider one), with a fresh history for every test.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from ground.client import Client
from scenarios.testkit.ops import Ops
from scenarios.testkit.testbed import Fleet

DEFAULT_CONFIG: dict[str, Any] = {
    "run": {"start": "2026-03-20T03:10:00Z", "rate": 20.0},
    "constellation": {"per_plane": 1},
    "ground": {"stations": ["polar"]},
    "timing": {"sensor_interval_s": 5.0},
}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item.config.stash.setdefault(_FAILED, set()).add(item.nodeid)  # type: ignore[arg-type]
        item.stash[_ITEM_FAILED] = True


_FAILED = pytest.StashKey[set[str]]()
_ITEM_FAILED = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dawndusk: a test that runs a dawndusk fleet")


@pytest.fixture(scope="session")
def dawndusk_config() -> Any:
    """The fleet configuration for the fleet fixtures (override to choose another)."""
    return DEFAULT_CONFIG


def _base(name: str) -> Path:
    # Short, so that the run's ipc socket paths stay within the OS limit.
    return Path(tempfile.mkdtemp(prefix=f"dd-{name[:12]}-", dir="/tmp"))


def _fleet(request: pytest.FixtureRequest, config: Any, name: str) -> Iterator[Fleet]:
    fleet = Fleet(config, _base(name))
    fleet.start()
    failed_before = len(request.config.stash.get(_FAILED, set()))
    try:
        yield fleet
    finally:
        fleet.stop()
        failed_now = len(request.config.stash.get(_FAILED, set()))
        if failed_now > failed_before:
            print(f"\ndawndusk: run kept in {fleet.base}")
        else:
            fleet.remove()


@pytest.fixture
def fleet(request: pytest.FixtureRequest, dawndusk_config: Any) -> Iterator[Fleet]:
    """A fleet for this test alone."""
    yield from _fleet(request, dawndusk_config, request.node.name)


@pytest.fixture(scope="module")
def module_fleet(request: pytest.FixtureRequest, dawndusk_config: Any) -> Iterator[Fleet]:
    """A fleet shared by the tests of a module."""
    yield from _fleet(request, dawndusk_config, request.module.__name__.split(".")[-1])


@pytest.fixture(scope="session")
def session_fleet(request: pytest.FixtureRequest, dawndusk_config: Any) -> Iterator[Fleet]:
    """A fleet shared by the whole session."""
    yield from _fleet(request, dawndusk_config, "session")


@pytest.fixture
async def ops(request: pytest.FixtureRequest) -> AsyncIterator[Ops]:
    """The test verbs on the widest fleet the test asked for, with a fresh history."""
    for name in ("session_fleet", "module_fleet", "fleet"):
        if name in request.fixturenames:
            target: Fleet = request.getfixturevalue(name)
            break
    else:
        target = request.getfixturevalue("fleet")
    assert target.run is not None
    client = await Client(target.run, request.node.name).connect()
    verbs = await Ops(client, target.run).start()
    try:
        yield verbs
    finally:
        await verbs.close()
        await client.close()
