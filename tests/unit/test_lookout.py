"""The heartbeat watches' lookout: a stall of the watcher's own process is nobody's silence."""

from __future__ import annotations

import pytest

from flight.fault.watch import HeartbeatWatch
from flight.framework.lookout import STALL_WALL_S, Lookout


def test_ticks_on_time_or_coalesced_are_no_stall() -> None:
    lookout = Lookout(1.0, sim=0.0, wall=0.0)
    # At 1000x, a 5 ms wake runs five one-second ticks at once: late, but not stalled.
    for wake in range(1, 100):
        now_sim, now_wall = wake * 5.0, wake * 0.005
        for due in range(int(now_sim) - 4, int(now_sim) + 1):
            assert lookout.look(float(due), now_sim, now_wall) == (0.0, 0.0)
    # At rate 1, every tick on time, a wall second apart.
    for second in range(100, 110):
        assert lookout.look(float(second), float(second), 0.5 + second) == (0.0, 0.0)
    assert lookout.stalls == 0


def test_a_late_tick_after_a_wall_clock_stall_gives_back_all_but_one_period() -> None:
    lookout = Lookout(1.0, sim=0.0, wall=0.0)
    assert lookout.look(1.0, 1.0, 0.02) == (0.0, 0.0)
    # The process stopped running its loop for 5 s of wall time at 60x: the ticks due at 2,
    # 3, ... all run when it comes back, at simulated time 301.
    stalled = lookout.look(2.0, 301.0, 5.02)
    assert stalled == pytest.approx((299.0, 5.0 * 299.0 / 300.0))
    # The rest of the catch-up runs at the same moment: nothing more to give back.
    assert all(lookout.look(float(due), 301.0, 5.02) == (0.0, 0.0) for due in range(3, 302))
    assert lookout.stalls == 1 and lookout.stalled_sim == pytest.approx(299.0)


def test_a_gap_short_on_the_wall_clock_or_a_pause_is_no_stall() -> None:
    lookout = Lookout(1.0, sim=0.0, wall=0.0)
    assert lookout.look(1.0, 100.0, STALL_WALL_S) == (0.0, 0.0)  # late, but within the bar
    # Paused for a minute: wall time passed, simulated time did not; the tick is on time.
    assert lookout.look(101.0, 101.0, 60.0) == (0.0, 0.0)


def test_the_watch_judges_a_silent_app_but_not_one_its_own_stall_kept_it_from_hearing() -> None:
    def overdue(watch: HeartbeatWatch, due: float, now_sim: float, now_wall: float) -> list:
        return [s.app for s in watch.overdue(now_sim, now_wall, timeout_s=30.0,
                                             floor_wall_s=5.0, grace_wall_s=10.0, due=due)]

    watch = HeartbeatWatch(["HK", "COMPUTE"], now_sim=0.0, now_wall=0.0)
    for second in range(1, 11):  # 60x: each tick a sixtieth of a wall second
        watch.beat("HK", float(second), second / 60)
        watch.beat("COMPUTE", float(second), second / 60)
        assert overdue(watch, float(second), float(second), second / 60) == []
    # The watcher's process stalls 6 wall seconds (360 simulated); its first tick back finds
    # both apps' beats still unread. Without the lookout both would be judged silent.
    assert overdue(watch, 11.0, 370.0, 10 / 60 + 6.0) == []
    assert watch.lookout.stalls == 1
    # Back on time: HK's beats are read again; COMPUTE stays silent and is found once its
    # silence, counted while the watch was looking, passes both bars.
    found, second = [], 370
    while not found and second < 1000:
        second += 1
        now_wall = 10 / 60 + 6.0 + (second - 370) / 60
        watch.beat("HK", float(second), now_wall)
        found = overdue(watch, float(second), float(second), now_wall)
    assert found == ["COMPUTE"]
    assert 370 + 300 <= second <= 370 + 302  # the 5 s wall-clock floor at 60x, not sooner


def test_a_watcher_behind_on_its_input_judges_no_one_until_it_has_caught_up() -> None:
    watch = HeartbeatWatch(["HK"], now_sim=0.0, now_wall=0.0)
    backlogs = 0

    def overdue(now_sim: float) -> list[str]:
        now_wall = now_sim / 60  # 60x; every tick on time, so never a stall
        return [s.app for s in watch.overdue(now_sim, now_wall, timeout_s=30.0,
                                             floor_wall_s=5.0, grace_wall_s=10.0,
                                             due=now_sim, backlogs=backlogs)]

    # HK's beats wait in the watcher's socket behind telemetry: a full batch every look.
    for second in range(1, 600):
        backlogs += 1
        assert overdue(float(second)) == []
    assert watch.lookout.behind == 599 and watch.lookout.stalls == 0
    # Caught up, and HK is really silent: found once the bars are passed from here.
    found = [second for second in range(600, 1000) if overdue(float(second))]
    assert found and 599 + 300 <= found[0] <= 599 + 302


def test_a_watcher_behind_for_good_still_finds_a_hung_app_past_the_cap() -> None:
    watch = HeartbeatWatch(["HK"], now_sim=0.0, now_wall=0.0, behind_cap_wall_s=30.0)
    found = []
    for second in range(1, 5000):  # behind at every look, for good; HK silent throughout
        now_wall = second / 60
        found += [(second, s.app) for s in watch.overdue(
            float(second), now_wall, timeout_s=30.0, floor_wall_s=5.0, grace_wall_s=10.0,
            due=float(second), backlogs=second)]  # one more full batch before every look
    # 30 s of wall time given back (1800 simulated at 60x), then the 5 s floor (300).
    assert found and found[0] == (1800 + 300 + 1, "HK")


def test_a_beat_read_after_a_stall_is_not_moved_past_now() -> None:
    assert Lookout.shifted(100.0, 10.0, (50.0, 5.0), now_sim=120.0, now_wall=12.0) == \
        (120.0, 12.0)
    assert Lookout.shifted(10.0, 1.0, (50.0, 5.0), now_sim=120.0, now_wall=12.0) == (60.0, 6.0)
