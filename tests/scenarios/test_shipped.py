"""The shipped scenarios pass for their reasons: first_light (two satellites, with a process
per app and with one for each satellite's apps), eclipse_season, ground_outage (shortened).

They are in one file so that they run one after the other: two fleets at 1000× at once on two
cores fall behind far enough to lose what they are there to show."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.scenarios import RATE, end_run

pytestmark = pytest.mark.process


def play(scenario: str, run_dir: Path, *args: str) -> tuple[int, str, list[dict[str, Any]]]:
    """Run ``dawndusk run SCENARIO`` to its end; (exit status, output, expectations)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scenarios.cli", "run", scenario, "--no-progress", "--run-dir",
         str(run_dir), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            end_run(process, run_dir)
    expectations = json.loads((run_dir / "expectations.json").read_text())
    return process.returncode, output.decode(errors="replace"), expectations


def held(expectations: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
    """The expectations whose text contains ``what``; each must have held."""
    found = [e for e in expectations if what in e["what"]]
    assert found, f"no expectation about {what!r}: {[e['what'] for e in expectations]}"
    assert all(e["ok"] for e in found), found
    return found


def test_a_first_light_of_two_satellites_passes_and_leaves_a_report(tmp_path: Path) -> None:
    run_dir = tmp_path / "fl"
    status, output, expectations = play("first_light", run_dir, "--satellites", "2",
                                        "--rate", RATE)
    assert status == 0, output[-3000:]
    assert "all expectations held" in output
    assert expectations and all(item["ok"] for item in expectations)
    assert len(held(expectations, "commissioned in its first contact")) == 2
    held(expectations, "SAT-02: compute takes work again")
    report = (run_dir / "report" / "report.html").read_text()
    assert "Contact windows" in report and "data:image/png;base64," in report
    for name in ("contacts", "battery", "radiator", "utilisation", "events", "latency"):
        assert (run_dir / "report" / f"{name}.png").stat().st_size > 1000
    assert json.loads((run_dir / "status.json").read_text())["counters"]["packets"] > 0
    plan = [json.loads(line) for line in (run_dir / "contacts.jsonl").read_text().splitlines()]
    assert {window["satellite"] for window in plan} == {"SAT-01", "SAT-02"}


def test_first_light_passes_with_each_satellites_apps_in_one_process(tmp_path: Path) -> None:
    run_dir = tmp_path / "together"
    status, output, expectations = play("first_light", run_dir, "--satellites", "2",
                                        "--rate", RATE, "--app-hosting", "together")
    assert status == 0, output[-3000:]
    assert expectations and all(item["ok"] for item in expectations)
    assert json.loads((run_dir / "run.json").read_text())["app_hosting"] == "together"
    logs = {path.name for path in (run_dir / "logs").iterdir()}
    assert {"SAT-01.HK+COMPUTE+FP.jsonl", "SAT-02.HK+COMPUTE+FP.jsonl"} <= logs
    assert "SAT-01.HK.jsonl" not in logs


def test_eclipse_season_sheds_compute_at_every_eclipse_and_finishes_the_jobs(
        tmp_path: Path) -> None:
    run_dir = tmp_path / "eclipse"
    status, output, expectations = play("eclipse_season", run_dir, "--rate", RATE)
    assert status == 0, output[-3000:]
    assert "all expectations held" in output
    assert all(e["ok"] for e in expectations)
    held(expectations, "every job finished")
    (playback,) = held(expectations, "the recorder's playback filled the archive")
    assert not playback["detail"].startswith("0 missing before"), playback
    assert len(held(expectations, "compute shed in the eclipse of")) >= 2
    assert held(expectations, "compute resumed after the eclipse of")
    (preempted,) = held(expectations, "the lower-priority jobs were preempted in eclipse")
    assert preempted["detail"] == "preempted: [1, 2, 3]"
    (done,) = held(expectations, "every job's DONE event is archived")
    assert done["detail"] == "done: [1, 2, 3, 4]"


def test_ground_outage_playback_fills_every_gap_the_outage_left(tmp_path: Path) -> None:
    run_dir = tmp_path / "outage"
    status, output, expectations = play("ground_outage", run_dir, "--satellites", "1",
                                        "--hours", "11", "--rate", RATE)
    assert status == 0, output[-3000:]
    assert all(e["ok"] for e in expectations)
    held(expectations, "the outage costs contact windows")
    held(expectations, "nothing came down during the outage")
    (before,) = held(expectations, "SAT-01: before playback the archive lacks packets")
    assert int(before["detail"].split()[0]) > 1000, before  # hours of housekeeping
    (after,) = held(expectations, "SAT-01: playback filled every gap")
    assert after["detail"].startswith("0 missing"), after
    held(expectations, "SAT-01: the archive holds every packet the recorder had")
