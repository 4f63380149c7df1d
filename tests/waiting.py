"""Waiting in an async test for something to become true: on readiness, with a wall-clock
guard so that nothing hangs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(predicate: Callable[[], object], wall_s: float = 5.0,
                step_wall_s: float = 0.001) -> None:
    """Run the loop until ``predicate()`` holds; fail the test after ``wall_s`` seconds."""
    deadline = time.monotonic() + wall_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(step_wall_s)
