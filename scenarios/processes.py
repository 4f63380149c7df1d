"""Process bookkeeping for whoever starts fleets (the runner, the test kit, tests, benches):
who descends from whom, and making sure they all end — by pid, only processes one started."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: split after the last ')'.
        parent = int(stat[stat.rindex(")") + 2:].split()[1])
        out.setdefault(parent, []).append(int(entry.name))
    return out


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid``, parents before their children."""
    children = _children()
    found: list[int] = []
    seen: set[int] = set()
    queue = [pid]
    while queue:
        for child in children.get(queue.pop(0), []):
            if child not in seen:
                seen.add(child)
                found.append(child)
                queue.append(child)
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_gone(pids: set[int], wall_s: float) -> set[int]:
    """Wait until every pid has ended; return those still alive after ``wall_s``."""
    deadline = time.monotonic() + wall_s
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return set()
        time.sleep(0.02)
    return {pid for pid in pids if alive(pid)}


def kill_all(pids: set[int]) -> None:
    """SIGKILL every pid given (only ever pids the caller started, or their descendants)."""
    for pid in pids:
        if pid <= 0:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop_tree(process: subprocess.Popen[bytes], grace_s: float = 3.0,
              known: set[int] | None = None) -> None:
    """SIGTERM ``process``, give it ``grace_s``, then SIGKILL whatever of its tree (and of
    ``known``, pids seen earlier) is left."""
    tree = set(descendants(process.pid)) | (known or set())
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            try:
                process.wait(10.0)  # a loaded machine may take a while even to reap
            except subprocess.TimeoutExpired:
                pass
    kill_all(wait_gone(tree, 2.0))
