"""The executive's gate for uplinked telecommands: publish, hold, release in order, refuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from common.dictionary import FailureCode
from common.packets import TcPacket, encode_tc
from common.runconfig import Timing
from flight.executive.gate import HOLD_MAX, HOLD_S, CommandGate, hold_s
from flight.executive.supervisor import Supervisor

HK, OTHER = 0x020, 0x050


@dataclass
class Child:
    state: str = "RUNNING"


@dataclass
class Apps:
    """Stands in for the supervisor: each app's state, as the gate asks about it."""

    up: dict[str, bool] = field(default_factory=lambda: {"HK": True})
    wanted: dict[str, bool] = field(default_factory=lambda: {"HK": True})
    children: dict[str, Child] = field(default_factory=lambda: {"HK": Child()})

    def on_bus(self, name: str) -> bool:
        return self.up[name]

    def coming_back(self, name: str) -> bool:
        return self.wanted[name]


@dataclass
class Sent:
    published: list[tuple[int, bytes]] = field(default_factory=list)
    refused: list[tuple[int, FailureCode]] = field(default_factory=list)

    def publish_tc(self, apid: int, data: bytes) -> None:
        self.published.append((apid, data))

    def refuse_command(self, tc: TcPacket, code: FailureCode, detail: str,
                       data: int = 0) -> None:
        assert detail
        self.refused.append((tc.seq_count, code))


def tc(seq: int, apid: int = HK) -> tuple[TcPacket, bytes]:
    packet = TcPacket(apid, 17, 1, seq_count=seq)
    return packet, encode_tc(packet)


def gate(wall_s: float = 1e9) -> tuple[CommandGate, Apps, Sent]:
    apps, sent = Apps(), Sent()
    return CommandGate(sent, apps, {HK: "HK"}, wall_s), apps, sent  # type: ignore[arg-type]


def test_commands_for_a_running_app_or_an_unsupervised_apid_go_at_once() -> None:
    g, apps, sent = gate()
    g.route(*tc(1), 0.0)
    apps.up["HK"] = False
    g.route(*tc(2, OTHER), 0.0)
    assert [apid for apid, _ in sent.published] == [HK, OTHER]
    assert g.held_total == g.refused_total == 0


def test_commands_wait_for_an_app_coming_back_and_go_in_order_when_it_is_ready() -> None:
    g, apps, sent = gate()
    apps.up["HK"] = False
    packets = [tc(seq) for seq in (1, 2, 3)]
    for packet, data in packets:
        g.route(packet, data, 10.0)
    assert sent.published == [] and g.waiting() == 3 and g.held_total == 3
    apps.up["HK"] = True
    g.ready("HK")
    assert sent.published == [(HK, data) for _, data in packets]
    assert g.waiting() == 0 and g.refused_total == 0


def test_a_command_that_comes_once_the_app_is_back_goes_after_those_held() -> None:
    # The uplink may deliver before the executive has read the app's ready announcement.
    g, apps, sent = gate()
    apps.up["HK"] = False
    g.route(*tc(1), 0.0)
    apps.up["HK"] = True
    g.route(*tc(2), 0.0)
    assert [data for _, data in sent.published] == [tc(1)[1], tc(2)[1]]


def test_commands_for_an_app_stopped_by_command_are_refused_as_not_running() -> None:
    g, apps, sent = gate()
    apps.up["HK"], apps.wanted["HK"] = False, False
    g.route(*tc(1), 0.0)
    assert sent.refused == [(1, FailureCode.APP_NOT_RUNNING)] and sent.published == []
    assert g.refused_total == 1 and g.held == {}


def test_what_waits_for_an_app_then_stopped_is_refused_at_the_next_check() -> None:
    g, apps, sent = gate()
    apps.up["HK"] = False
    g.route(*tc(1), 0.0)
    g.route(*tc(2), 0.0)
    g.check(1.0)
    assert sent.refused == []
    apps.wanted["HK"] = False
    g.check(2.0)
    assert sent.refused == [(1, FailureCode.APP_NOT_RUNNING), (2, FailureCode.APP_NOT_RUNNING)]
    assert g.waiting() == 0 and sent.published == []


def test_a_check_finding_the_app_back_releases_what_waited() -> None:
    g, apps, sent = gate()
    apps.up["HK"] = False
    g.route(*tc(1), 0.0)
    apps.up["HK"] = True
    g.check(1.0)
    assert sent.published == [(HK, tc(1)[1])]


def test_more_than_the_hold_limit_is_refused_as_busy() -> None:
    g, apps, sent = gate()
    apps.up["HK"] = False
    for seq in range(HOLD_MAX + 2):
        g.route(*tc(seq), 0.0)
    assert g.waiting() == HOLD_MAX
    assert sent.refused == [(HOLD_MAX, FailureCode.BUSY), (HOLD_MAX + 1, FailureCode.BUSY)]


@pytest.mark.parametrize("wall_s, expired", [(0.0, True), (1e9, False)])
def test_a_command_held_too_long_is_refused_only_past_both_the_simulated_and_wall_limits(
        wall_s: float, expired: bool) -> None:
    g, apps, sent = gate(wall_s)
    apps.up["HK"] = False
    g.route(*tc(1), 0.0)
    g.route(*tc(2), HOLD_S / 2)
    g.check(HOLD_S - 1.0)
    assert sent.refused == []
    g.check(HOLD_S + 1.0)
    assert sent.refused == ([(1, FailureCode.TIMEOUT)] if expired else [])
    assert g.waiting() == (1 if expired else 2)


def test_nothing_is_released_to_a_process_told_to_end_though_it_announced_itself_ready() -> None:
    # A process stopped while it was starting still finishes starting and says so.
    g, apps, sent = gate()
    apps.up["HK"] = False
    g.route(*tc(1), 0.0)
    g.ready("HK")
    assert sent.published == [] and g.waiting() == 1
    apps.up["HK"] = True
    g.ready("HK")
    assert sent.published == [(HK, tc(1)[1])]


def test_the_hold_outlasts_the_longest_back_off_and_start_of_the_run() -> None:
    assert hold_s(Timing()) == 64.0 + 2 * 30.0  # the defaults: back-off and start
    slow = Timing(restart_backoff_max_s=600.0, heartbeat_timeout_s=60.0)
    assert hold_s(slow) == 720.0
    g, apps, sent = gate(0.0)
    g.hold_s = hold_s(slow)
    apps.up["HK"] = False
    g.route(*tc(1), 0.0)
    g.check(700.0)
    assert sent.refused == []
    g.check(721.0)
    assert sent.refused == [(1, FailureCode.TIMEOUT)]


def supervised_hk(hosting: str = "separate") -> tuple[Supervisor, list[str]]:
    """A supervisor of HK alone, with stand-ins for its executive and hosts; the names of the
    apps it told the gate are ready."""
    released: list[str] = []
    exe = SimpleNamespace(
        runtime=SimpleNamespace(run=SimpleNamespace(timing=Timing())),
        clock=SimpleNamespace(now=lambda: 0.0),
        gate=SimpleNamespace(ready=released.append),
        all_running=lambda: None)
    hosts = SimpleNamespace(on_exit=lambda callback: None)
    return Supervisor(exe, hosts, ["HK"], hosting), released  # type: ignore[arg-type]


def test_an_app_still_starting_whose_heartbeat_comes_is_ready() -> None:
    # Its READY can be read before the executive has recorded the forked pid (a stalled
    # executive reads the zygote's answer and READY in one wake-up): ignored, it would leave
    # the app STARTING for good, and every telecommand for it held, then refused.
    supervisor, released = supervised_hk()
    child = supervisor.children["HK"]
    child.pid, child.state = 4321, "STARTING"
    supervisor.beat("HK", 1234)  # not its pid: nothing
    assert child.state == "STARTING" and released == []
    supervisor.beat("HK", 4321)
    assert child.state == "RUNNING" and released == ["HK"]


def test_a_heartbeat_from_an_earlier_start_in_place_does_not_make_the_new_one_ready() -> None:
    # Apps hosted in the executive's process keep its pid from one start to the next: a
    # heartbeat the stopped generation sent a moment ago would otherwise release held
    # telecommands to apps not yet on the bus.
    supervisor, released = supervised_hk("executive")
    child = supervisor.children["HK"]
    child.pid, child.state, child.generation = 4321, "STARTING", 2
    supervisor.beat("HK", 4321, 1)
    supervisor.ready("HK", 4321, 1)
    assert child.state == "STARTING" and released == []
    supervisor.beat("HK", 4321, 2)
    assert child.state == "RUNNING" and released == ["HK"]
