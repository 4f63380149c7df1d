"""The operator console starts the way ``dawndusk console`` starts it (``Console(run).run()``)."""

from __future__ import annotations

import gc
from pathlib import Path

import zmq

from common.runconfig import new_run
from ground.console.app import Console


def test_the_console_runs_and_quits_through_app_run(tmp_path: Path) -> None:
    # Seen: the console kept its run configuration as ``self.run``, hiding Textual's
    # ``App.run``, so ``dawndusk console`` failed at once with "'RunConfig' object is not
    # callable" (the process tests drive the console with ``run_test`` and never saw it).
    run = new_run(tmp_path / "run", ("SAT-01",), rate=1.0)
    run.save()
    console = Console(run)
    shown: list[str] = []

    async def operator(pilot) -> None:  # no ground control is running: the console waits
        await pilot.pause()
        shown.append(str(console.title))
        await pilot.press("ctrl+q")

    before = {id(c) for c in gc.get_objects() if isinstance(c, zmq.Context)}
    console.run(headless=True, size=(120, 40), auto_pilot=operator)
    assert shown == ["dawndusk console"]
    assert console.return_code in (0, None)
    # Its connection attempt, cut short by the quit, left no context open: one left for the
    # collector to destroy at exit waited forever on its sockets (the command hung on quit).
    left = [c for c in gc.get_objects()
            if isinstance(c, zmq.Context) and id(c) not in before and not c.closed]
    assert left == []
