"""Fixtures for every test.

A run made in a test's own process (``new_run``, ``FleetConfig.run_config``) makes the run's
socket directory; when pytest's temporary path is too long for ipc socket paths (it is under
``pytest -n``), that is a private ``/tmp/dd-XXXXXXXX``, outside the test's ``tmp_path``, and
nothing else removes it. Runs made by a process the test starts (``dawndusk up`` or ``run``)
are the launcher's to clean up, and the test's when it kills the launcher.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from common import runconfig
from scenarios.launcher import remove_socket_dir


@pytest.fixture(autouse=True)
def _remove_socket_dirs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Remove every socket directory a run made in this test's process when the test ends,
    failing or not. Autouse fixtures are set up first, so this runs after the test's other
    fixtures have stopped what they started; runs made by wider-scoped fixtures (set up before
    it) are not seen, and stay theirs to clean up."""
    made: list[tuple[str, Path]] = []
    make = runconfig.short_socket_dir

    def recorded(run_dir: Path) -> str:
        socket_dir = make(run_dir)
        made.append((socket_dir, run_dir))
        return socket_dir

    monkeypatch.setattr(runconfig, "short_socket_dir", recorded)
    yield
    for socket_dir, run_dir in made:
        remove_socket_dir(socket_dir, run_dir)
