"""The scenario runner end to end: a shortened first light, Ctrl-C, and kill -9 of the runner."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.process.procs import descendants, kill_all, wait_gone
from tests.scenarios import RATE

pytestmark = pytest.mark.process


def dawndusk(*args: str, **kwargs) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "scenarios.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)


def test_a_shortened_first_light_passes_and_leaves_a_report(tmp_path: Path) -> None:
    run_dir = tmp_path / "fl"
    process = dawndusk("run", "first_light", "--satellites", "2", "--rate", RATE,
                       "--no-progress", "--run-dir", str(run_dir))
    try:
        output, _ = process.communicate(timeout=400)
    finally:
        if process.poll() is None:
            kill_all(descendants(process.pid) | {process.pid})
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-3000:]
    assert "all expectations held" in text
    expectations = json.loads((run_dir / "expectations.json").read_text())
    assert expectations and all(item["ok"] for item in expectations)
    report = (run_dir / "report" / "report.html").read_text()
    assert "Contact windows" in report and "data:image/png;base64," in report
    for name in ("contacts", "battery", "radiator", "utilisation", "events", "latency"):
        assert (run_dir / "report" / f"{name}.png").stat().st_size > 1000


def wait_ready(run_dir: Path, wall_s: float = 90.0) -> None:
    log = run_dir / "logs" / "RUNNER.jsonl"
    deadline = time.monotonic() + wall_s
    while not (log.exists() and "fleet ready" in log.read_text()):
        assert time.monotonic() < deadline, "the fleet never became ready"
        time.sleep(0.1)


CONFIG = """
[run]
start = "2026-03-20T03:10:00Z"
rate = 50.0
[constellation]
per_plane = 2
[ground]
stations = ["polar"]
"""


@pytest.mark.parametrize("how", ["sigint", "kill9"])
def test_no_process_survives_the_runner(tmp_path: Path, how: str) -> None:
    config = tmp_path / "fleet.toml"
    config.write_text(CONFIG)
    run_dir = tmp_path / "run"
    process = dawndusk("up", str(config), "--run-dir", str(run_dir))
    tree: set[int] = set()
    try:
        wait_ready(run_dir)
        tree = set(descendants(process.pid))
        # the launcher's zygote; ground, link, sim, two executives; their zygotes and apps
        assert len(tree) >= 1 + 5 + 2 * (1 + 3), tree
        if how == "sigint":
            process.send_signal(signal.SIGINT)
            process.wait(30)
        else:
            process.kill()
            process.wait(5)
        left = wait_gone(tree, 10.0)
        assert left == set(), f"processes survived the runner: {sorted(left)}"
    finally:
        kill_all(set(descendants(process.pid)) | tree)
        if process.poll() is None:
            process.kill()
