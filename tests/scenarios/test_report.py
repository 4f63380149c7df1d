"""The run report from a small archive made by hand: what it counts, what it saves for a rebuild,
and the plots it draws; and the runner's verdict on a run interrupted part way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from ground.archive import ARCHIVE_FILE, Archive
from scenarios import report, report_plots, runner, story
from scenarios.cli.runs import report_cmd
from scenarios.config import FleetConfig
from scenarios.mission import Mission, Scenario

START = 1_773_964_800.0  # 2026-03-20, FleetConfig's default start
END = START + 6 * 3600
SAT = "SAT-01"
APID = 0x020
IMAGES = ("contacts", "battery", "node_temp", "radiator", "utilisation", "jobs", "events",
          "latency")


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    store = Archive(tmp_path / ARCHIVE_FILE)
    yield store
    store.close()


def contact(aos: float, los: float, station: str = "KASHGAR") -> SimpleNamespace:
    return SimpleNamespace(satellite=SAT, station=station, aos=aos, tca=(aos + los) / 2,
                           los=los, max_elevation_deg=30.0)


def packet(archive: Archive, seq: int, time: float, vc: int = 0, apid: int = APID) -> int:
    found = archive.add_packet(SAT, apid, seq % 16384, "TM", 3, 25, time, int(time), 0, time,
                               vc, b"")
    assert found is not None
    return found


def test_contact_windows_count_only_what_lies_within_the_run(archive: Archive) -> None:
    archive.set_contacts(
        [contact(START - 3000, START - 2400),   # before the start: not counted
         contact(START - 300, START + 300),     # straddles the start: its last 5 min
         contact(START + 3600, START + 4200),   # inside: 10 min
         contact(END - 300, END + 300),         # straddles the end: its first 5 min
         contact(END + 600, END + 1200)],       # after the end: not counted
        relayed=[(SAT, "RELAY-1", START, START + 1800)])  # a relay window is no pass
    assert report.contact_windows(archive, START, END) == (3, 20.0)
    summary = report.summarise(archive, START, END)
    assert (summary.passes, summary.contact_minutes) == (3, 20.0)
    assert ("contact windows in the run", "3 (20 min)") in summary.rows()


def test_missing_packets_in_real_time_and_still_missing_after_playback(
        archive: Archive) -> None:
    archive.set_contacts([contact(START, START + 600)])
    for seq in [*range(50), *range(600, 650)]:  # real time: counts 50-599 never came down
        packet(archive, seq, START + 2.0 * seq)
    for seq in range(50, 400):  # playback brought 50-399 down later
        packet(archive, seq, START + 2.0 * seq, vc=1)
    archive.add_gap(SAT, APID, 50, 999, START + 1200)  # what ground control logged: unused
    archive.commit()
    summary = report.summarise(archive, START, END)
    assert summary.missing_realtime == {SAT: 550}
    assert summary.missing_now == {SAT: 200}
    rows = dict(summary.rows())
    assert rows["packets missing in real time (sequence counts)"] == "550"
    assert rows["packets still missing after playback"] == "200"


def test_command_latencies_include_failed_and_timed_out_commands(archive: Archive) -> None:
    for state, sent, end in (("COMPLETED", 10.0, 14.0), ("FAILED", 20.0, 50.0),
                             ("TIMEOUT", None, 3600.0)):
        command = archive.add_command(SAT, "EXEC.PING", {}, 0x010, START)
        if sent is not None:
            archive.add_stage(command, "SENT", START + sent)
        archive.add_stage(command, state, START + end)
        archive.set_command(command, state=state)
    archive.commit()
    # from sending to the end, or from queueing when the command was never sent
    assert report_plots.command_latencies(archive) == {"COMPLETED": [4.0], "FAILED": [30.0],
                                                 "TIMEOUT": [3600.0]}


def test_the_hottest_node_and_the_eclipses_come_from_the_archive(archive: Archive) -> None:
    for k, time in enumerate(START + 60.0 * n for n in range(10)):
        pid = packet(archive, k, time, apid=0x040)
        archive.add_params(pid, SAT, time, {"NODES.NODE0_TEMP": 20.0, "NODES.NODE1_TEMP": 60.0 + k,
                                            "NODES.NODE2_TEMP": 30.0,
                                            "ORBIT.SUNLIT": k not in (3, 4, 8)})
    hottest = report_plots._values(archive, SAT, report_plots.NODE_TEMPS)
    assert [value for _, value in hottest] == [60.0 + k for k in range(10)]
    sunlit = archive.parameter(SAT, "ORBIT.SUNLIT")
    # to the first sample in sunlight again; the gap after 9 min ends the last one
    assert report_plots._in_shadow(sunlit) == [(START + 180, START + 300),
                                               (START + 480, START + 540)]
    assert report_plots._in_shadow([*sunlit[:9], (START + 3600, 0)]) == [
        (START + 180, START + 300), (START + 480, START + 480), (START + 3600, START + 3600)]


def make_run(run_dir: Path) -> Path:
    """A run directory of one satellite's six hours, with a node that overheats, an eclipse, an
    outage, events and commands that end every way."""
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"clock": {"sim": START}}))
    (run_dir / "status.json").write_text(json.dumps({"time": END}))
    archive = Archive(run_dir / ARCHIVE_FILE)
    archive.set_contacts([contact(START + 3600 * h, START + 3600 * h + 600) for h in range(6)])
    for k in range(360):
        time = START + 60.0 * k
        pid = packet(archive, k, time, apid=0x040)
        archive.add_params(pid, SAT, time, {
            "EPS.BATTERY_SOC": 90.0 - k / 10, "NODES.NODE0_TEMP": 20.0,
            "NODES.NODE2_TEMP": min(85.0, 20.0 + k / 2), "THERMAL.BATTERY_TEMP": 15.0,
            "THERMAL.RADIATOR_TEMP": 0.0, "COMPUTE.NODE_UTILISATION": 50.0,
            "COMPUTE.JOBS_DONE": k // 100, "ORBIT.SUNLIT": not 100 <= k < 130})
        if k in (130, 131, 200):
            archive.add_event(pid, SAT, "FP", "FP.NODE_HOT" if k == 200 else
                              "FP.LIMIT_VIOLATION", 3, time, "hot", {})
    for state in ("COMPLETED", "FAILED", "TIMEOUT"):
        command = archive.add_command(SAT, "EXEC.PING", {}, 0x010, START)
        archive.add_stage(command, "SENT", START + 10)
        archive.add_stage(command, state, START + 20)
        archive.set_command(command, state=state)
    archive.close()
    (run_dir / "logs").mkdir()
    (run_dir / "logs" / "LINK.jsonl").write_text(
        json.dumps({"event": "fleet ready"}) + "\n" + "".join(
            json.dumps({"node": name, "start": START + 7200, "end": START + 10800,
                        "event": "outage"}) + "\n" for name in ("KASHGAR", "SANYA")))
    return run_dir


def test_the_report_draws_every_plot_from_a_small_archive(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "run")
    page = report.build(run_dir).read_text()
    for name in IMAGES:
        assert (run_dir / report.REPORT_DIR / f"{name}.png").stat().st_size > 1000, name
    assert page.count("data:image/png;base64,") == len(IMAGES)
    assert report_plots.outages(run_dir) == [("KASHGAR", START + 7200, START + 10800),
                                       ("SANYA", START + 7200, START + 10800)]


def test_the_saved_title_and_story_survive_a_rebuild(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "run")
    story.save_story(run_dir, story.Story("dawndusk: first_light", START, START + 3 * 3600,
                                            ((START + 60, "SAT-01 commissioned"),)))
    result = CliRunner().invoke(report_cmd, [str(run_dir)])
    assert result.exit_code == 0, result.output
    page = (run_dir / report.REPORT_DIR / "report.html").read_text()
    assert "<title>dawndusk: first_light</title>" in page
    assert "<h2>Story</h2>" in page and "SAT-01 commissioned" in page
    assert "(3.0 h)" in page  # the span played, from the story


def test_a_run_directory_without_a_saved_story_still_rebuilds(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "old")
    result = CliRunner().invoke(report_cmd, [str(run_dir)])
    assert result.exit_code == 0, result.output
    page = (run_dir / report.REPORT_DIR / "report.html").read_text()
    assert "<title>dawndusk run: old</title>" in page and "Story" not in page
    assert "(6.0 h)" in page  # the end from ground control's last status


class FakeLauncher:
    """Launches nothing (the fleet is not what these tests are about)."""

    zygote = None

    def __init__(self, run: Any) -> None:
        self.run = run

    def fork_zygote(self) -> None:
        pass


class FakeGround:
    """A ground client whose simulated time stands still."""

    def __init__(self, now: float) -> None:
        self.time = now

    def now(self) -> float:
        return self.time


def interrupt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, at: float | None
              ) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    """Play a scenario that Ctrl-C interrupts at simulated ``at`` (None: before the script
    began); (exit status, expectations, saved story)."""

    async def interrupted(scenario: Scenario, config: FleetConfig, launcher: FakeLauncher,
                          progress: bool, played: runner.Played) -> None:
        if at is not None:
            mission = played.mission = Mission(FakeGround(at), config, launcher.run)
            mission.note("SAT-01 commissioned")
            mission.expect(True, "SAT-01 answers its first ping")
            mission.ended = mission.now()  # as _play does when Ctrl-C cancels it
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "Launcher", FakeLauncher)
    monkeypatch.setattr(runner, "_play", interrupted)
    monkeypatch.setattr(runner.logs, "configure", lambda *args, **kwargs: None)
    config = FleetConfig(per_plane=1, security=False, transport="tcp")
    scenario = Scenario(tmp_path / "demo.py", ModuleType("demo"), config, interrupted)
    run_dir = tmp_path / "run"
    status = runner.play(scenario, run_dir, progress=False, make_report=False)
    return (status, json.loads((run_dir / "expectations.json").read_text()),
            json.loads((run_dir / story.STORY_FILE).read_text()))


def test_an_interrupted_run_is_stamped_with_simulated_time(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
        ) -> None:
    status, expectations, story = interrupt(monkeypatch, tmp_path, START + 5 * 3600)
    assert status == 1
    assert expectations[-1] == {"what": "the run: interrupted", "ok": False,
                                "time": START + 5 * 3600, "detail": ""}
    assert story == {"title": "dawndusk: demo", "start": START, "end": START + 5 * 3600,
                     "notes": [[START + 5 * 3600, "SAT-01 commissioned"]]}
    assert "5 simulated hours" in capsys.readouterr().err


def test_a_run_interrupted_before_its_script_is_stamped_with_the_runs_clock(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _, expectations, story = interrupt(monkeypatch, tmp_path, None)
    (only,) = expectations
    assert only["what"] == "the run: interrupted"
    # the clock was held at the start (the fleet never came up), not the wall clock's date
    assert only["time"] == story["end"] == START
    assert story["notes"] == []
