"""Unit tests of the runtime's parts: topics, run configuration, endpoints, zygote, app base."""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from common import bus
from common.clock import ClockState
from common.endpoints import EndpointError, Endpoints
from common.runconfig import RUN_FILE, ClockAnchor, ConfigError, RunConfig, new_run
from common.zygote import Zygote
from tests.unit.fake_sockets import QueuedSocket


def test_topics_filter_by_satellite_kind_and_apid() -> None:
    tm = bus.topic("SAT-01", bus.TM, 0x20)
    assert tm == b"SAT-01/TM/020"
    assert tm.startswith(bus.topic("SAT-01", bus.TM))
    assert not tm.startswith(bus.topic("SAT-01", bus.TC))
    assert bus.parse_topic(tm) == bus.Topic("SAT-01", "TM", 0x20, ())
    assert bus.parse_topic(b"SAT-01/CTL/HB/HK") == bus.Topic("SAT-01", "CTL", None, ("HB", "HK"))
    for bad in (b"SAT-01", b"SAT-01/XX/020", b"SAT-01/TM/20", b"/TM/020", b"SAT-01/TM/02G"):
        with pytest.raises(ValueError):
            bus.parse_topic(bad)


def test_run_config_round_trips_and_names_bad_fields(tmp_path: Path) -> None:
    run = new_run(tmp_path / "run", ("SAT-01", "SAT-02"), rate=60.0)
    run.save()
    assert RunConfig.load(run.run_dir) == run
    with pytest.raises(ConfigError, match="satellites"):
        RunConfig("/r", ("SAT/1",), ClockAnchor(0, 0))
    with pytest.raises(ConfigError, match="repeat"):
        RunConfig("/r", ("A", "A"), ClockAnchor(0, 0))
    with pytest.raises(ConfigError, match="rate"):
        RunConfig("/r", ("A",), ClockAnchor(0, 0, rate=0))
    with pytest.raises(ConfigError, match=r"no run\.json"):
        RunConfig.load(tmp_path / "nowhere")


def test_socket_directory_stays_short_even_for_deep_run_directories(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    run = new_run(deep, ("SAT-01",))
    assert len(Endpoints(run).downlink("SAT-01")) - len("ipc://") <= 107
    assert run.socket_dir.startswith("/tmp/dd-")


def test_a_run_s_socket_directory_is_removed_and_nothing_else(tmp_path: Path) -> None:
    import socket
    import tempfile

    from scenarios.launcher import remove_socket_dir

    def listen(path: Path) -> None:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(path))  # the file stays after close, as a dead process's does

    deep = tmp_path / ("x" * 60) / ("y" * 60)
    run = new_run(deep, ("SAT-01",))
    made = Path(run.socket_dir)
    assert made.parent == Path("/tmp") and not made.is_relative_to(deep)
    listen(made / "clock")
    assert remove_socket_dir(run.socket_dir, run.run_dir)
    assert not made.exists()
    assert remove_socket_dir(run.socket_dir, run.run_dir)  # already gone: nothing to do
    # A socket directory inside the run directory (a short one's): its sockets go, then it.
    inside = tmp_path / "r" / "sock"
    inside.mkdir(parents=True)
    listen(inside / "clock")
    assert remove_socket_dir(inside, tmp_path / "r")
    assert not inside.exists() and (tmp_path / "r").exists()
    # Something other than sockets in it: the sockets go, the directory and the rest stay.
    other = Path(tempfile.mkdtemp(prefix="dd-", dir="/tmp"))
    try:
        listen(other / "clock")
        (other / "notes").write_text("kept")
        assert not remove_socket_dir(other, deep)
        assert sorted(p.name for p in other.iterdir()) == ["notes"]
    finally:
        (other / "notes").unlink()
        other.rmdir()
    # A directory the run did not make for itself is left alone, sockets and all.
    listen(tmp_path / "elsewhere")
    assert not remove_socket_dir(tmp_path, deep)
    assert (tmp_path / "elsewhere").exists()


def test_too_long_ipc_path_is_a_clear_error() -> None:
    run = RunConfig("/r", ("SAT-01",), ClockAnchor(0, 0), socket_dir="/tmp/" + "z" * 120)
    with pytest.raises(EndpointError, match="107"):
        Endpoints(run).bus_in("SAT-01")
    with pytest.raises(EndpointError, match="not in this run"):
        Endpoints(run).bus_in("SAT-09")


def test_tcp_endpoints_are_distinct() -> None:
    run = RunConfig("/r", ("A", "B", "C"), ClockAnchor(0, 0), transport="tcp")
    endpoints = Endpoints(run)
    addresses = [endpoints.clock(), endpoints.control(), endpoints.ground(),
                 endpoints.ground_pub(), endpoints.link()]
    for name in run.satellites:
        addresses += [endpoints.bus_in(name), endpoints.bus_out(name), endpoints.uplink(name),
                      endpoints.downlink(name)]
    assert len(set(addresses)) == len(addresses)


def test_clock_state_changes_keep_simulated_time_continuous() -> None:
    state = ClockState(3, sim_anchor=1000.0, wall_anchor=50.0, rate=10.0)
    faster = state.changed(rate=100.0, wall=60.0)
    assert faster.epoch == 4 and faster.sim_at(60.0) == state.sim_at(60.0) == 1100.0
    assert faster.sim_at(61.0) == 1200.0
    paused = faster.changed(paused=True, wall=61.0)
    assert paused.sim_at(1e9) == 1200.0 and paused.wall_at(1300.0) == float("inf")
    assert ClockState.unpack(paused.pack()) == paused
    with pytest.raises(ValueError):
        state.changed(rate=0.0)
    with pytest.raises(ValueError):
        ClockState.unpack(b"\x01\x02")


def _sleep_and_exit(code: int, seconds: float) -> int:
    time.sleep(seconds)
    return code


async def test_zygote_spawns_reports_exits_and_takes_children_down() -> None:
    zygote = Zygote.fork()
    exits: dict[int, int] = {}
    zygote.on_exit(lambda pid, status: exits.__setitem__(pid, status))
    try:
        zygote.attach()
        quick = await zygote.spawn("tests.unit.test_runtime_parts:_sleep_and_exit", [3, 0.0])
        slow = await zygote.spawn("tests.unit.test_runtime_parts:_sleep_and_exit", [0, 60.0])
        deadline = time.monotonic() + 5
        while quick not in exits and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert exits[quick] == 3
        os.kill(slow, signal.SIGKILL)
        while slow not in exits and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert exits[slow] == -9
        orphan = await zygote.spawn("tests.unit.test_runtime_parts:_sleep_and_exit", [0, 60.0])
    finally:
        zygote.close()
    # Closing the zygote ends it, and its last child goes with it.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{orphan}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            break
        if state == "Z":
            break  # ended; its new parent has not reaped it yet
        await asyncio.sleep(0.02)
    else:
        os.kill(orphan, signal.SIGKILL)
        pytest.fail("the zygote's child outlived it")


def test_an_app_whose_handlers_do_not_match_the_dictionary_is_refused(tmp_path: Path) -> None:
    from flight.framework.app import FlightApp, handles
    from flight.framework.runtime import Runtime

    class Incomplete(FlightApp):
        NAME = "FP"

        @handles("SET_MODE")
        def set_mode(self, args: dict) -> None: ...

        @handles("NOT_A_COMMAND")
        def nothing(self, args: dict) -> None: ...

    run = new_run(tmp_path / "run", ("SAT-01",))
    runtime = Runtime(run)
    try:
        with pytest.raises(TypeError, match=r"missing .*ENABLE_MONITOR.*unknown .*NOT_A_COMMAND"):
            Incomplete(runtime, "SAT-01")
    finally:
        runtime.close()


def test_warm_up_builds_every_codec_and_leaves_nothing_that_a_fork_would_break() -> None:
    import threading

    from common.dictionary import DICTIONARY
    from common.dictionary.standard import STANDARD_REPORTS
    from flight.framework.warmup import warm_up

    threads = threading.active_count()
    warm_up()
    # No ZeroMQ context (it would have started its I/O and reaper threads), no executor.
    assert threading.active_count() == threads
    owners = (*DICTIONARY.commands.values(), *DICTIONARY.structures.values(),
              *DICTIONARY.events.values(), *DICTIONARY.reports.values(), *STANDARD_REPORTS)
    layouts = [DICTIONARY.codec(owner).layout for owner in owners]
    assert all(layout.fixed is not None or layout._compiled is not None for layout in layouts)


def test_warm_up_runs_once_per_image(monkeypatch: pytest.MonkeyPatch) -> None:
    # An executive forked from a fleet's warmed launcher must not redo it: the work would copy
    # the pages it touches into that satellite's private memory (bench/memory.py).
    from flight.framework import warmup

    calls: list[str] = []
    monkeypatch.setattr(warmup, "_warm", False)
    monkeypatch.setattr(warmup, "build_codecs", lambda: calls.append("codecs"))
    monkeypatch.setattr(warmup, "exercise_packets", lambda: calls.append("packets"))
    monkeypatch.setattr(warmup, "exercise_structures", lambda: calls.append("structures"))
    monkeypatch.setattr(warmup, "exercise_event_loop", lambda: calls.append("loop"))
    warmup.warm_up()
    warmup.warm_up()
    assert calls == ["codecs", "packets", "structures", "loop"]


def test_a_kept_run_is_used_instead_of_reading_the_file(tmp_path: Path) -> None:
    from flight.framework import runtime

    run = new_run(tmp_path / "run", ("SAT-01",))
    run.save()
    assert runtime.kept_run(run.run_dir) == run  # read from run.json
    runtime.keep_run(run)
    try:
        (Path(run.run_dir) / RUN_FILE).unlink()
        assert runtime.kept_run(run.run_dir) is run
    finally:
        runtime._KEPT_RUNS.pop(run.run_dir, None)


def test_each_message_handles_the_rest_of_a_batch_after_one_that_raises() -> None:
    from common.zmqloop import each_message

    socket = QueuedSocket([[b"1"], [b"x"], [b"3"], [b"y"], [b"5"]])
    handled: list[int] = []
    failed: list[tuple[list[bytes], str]] = []
    batch = each_message(socket, lambda m: handled.append(int(m[0])),  # type: ignore[arg-type]
                         lambda m, exc: failed.append((m, type(exc).__name__)), limit=10)
    batch()  # one batch: every message in it
    assert handled == [1, 3, 5]
    assert failed == [([b"x"], "ValueError"), ([b"y"], "ValueError")]
    assert socket.waiting == []


@pytest.fixture
def pipe():
    """A connected inproc PULL and PUSH pair, closed after the test."""
    import zmq

    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    pull.bind("inproc://pipe")
    push = context.socket(zmq.PUSH)
    push.connect("inproc://pipe")
    try:
        yield pull, push
    finally:
        push.close(0)
        pull.close(0)
        context.destroy(0)


async def test_asking_whether_input_is_pending_does_not_lose_the_wake_up(pipe) -> None:
    # ZeroMQ's descriptor is edge-triggered: reading EVENTS can consume the edge that would
    # have woken the reader. Whatever finds input pending must see it served.
    from common.zmqloop import Readable, drain

    pull, push = pipe
    got: list[list[bytes]] = []
    handled = asyncio.Event()

    def handler() -> None:
        got.extend(drain(pull, 1))  # one at a time: input stays pending between batches
        handled.set()

    reader = Readable(pull, handler)
    try:
        await asyncio.sleep(0)
        assert not reader.pending()
        for index in range(3):
            push.send(bytes([index]))
        deadline = time.monotonic() + 5
        while not reader.pending():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.001)
        while len(got) < 3:
            handled.clear()
            reader.pending()
            await asyncio.wait_for(handled.wait(), 5)
        assert got == [[b"\x00"], [b"\x01"], [b"\x02"]] and not reader.pending()
    finally:
        reader.close()


async def test_every_reply_wakes_a_dealer_that_sends_while_replies_arrive(tmp_path) -> None:
    # A send on a watched socket takes the descriptor's edge of a reply already queued, and no
    # new edge comes while it is unread: the way ground.client asks ground control, many
    # requests in flight against an echoing server, every one must be answered.
    import threading

    import zmq

    from common.zmqloop import Readable, drain

    context = zmq.Context()
    address = f"ipc://{tmp_path}/echo"
    server = context.socket(zmq.ROUTER)
    server.setsockopt(zmq.LINGER, 0)
    server.bind(address)
    stop = threading.Event()

    def echo() -> None:
        poller = zmq.Poller()
        poller.register(server, zmq.POLLIN)
        while not stop.is_set():
            if poller.poll(50):
                for frames in drain(server, 100):
                    server.send_multipart(frames)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(address)
    waiting: dict[bytes, asyncio.Future[None]] = {}

    def replies() -> None:
        for frames in drain(dealer, 500):
            waiting.pop(frames[-1]).set_result(None)

    reader = Readable(dealer, replies)
    unanswered = 0

    async def worker(index: int) -> None:
        nonlocal unanswered
        for number in range(250):
            key = f"{index}:{number}".encode()
            waiting[key] = asyncio.get_running_loop().create_future()
            dealer.send(key, zmq.NOBLOCK)
            reader.sent()
            try:
                await asyncio.wait_for(waiting[key], 5.0)
            except TimeoutError:
                unanswered += 1
                waiting.pop(key, None)
                return  # one lost wake-up is enough to know

    try:
        await asyncio.gather(*(worker(index) for index in range(16)))
        assert unanswered == 0, f"{unanswered} requests never saw their reply"
    finally:
        reader.close()
        stop.set()
        thread.join(5)
        context.destroy(0)


async def test_a_paced_socket_reads_new_input_at_the_next_wake_and_a_backlog_at_once(
        pipe) -> None:
    # A busy socket is read at the clock's pace: what arrives within a resolution of the last
    # wake waits for the next one (the descriptor unwatched meanwhile). What a full batch left
    # behind is read on the next iterations, or a sender's queue could overflow meanwhile.
    from common.clock import SimClock
    from common.zmqloop import Readable, drain

    pull, push = pipe
    clock = SimClock(ClockState(1, 0.0, time.time(), 1.0), resolution_wall_s=0.2)
    loop = asyncio.get_running_loop()
    batches: list[tuple[float, list[list[bytes]]]] = []
    got = asyncio.Event()

    def handler() -> None:
        batches.append((loop.time(), drain(pull, 10)))
        got.set()

    reader = Readable(pull, handler, pacer=clock)
    try:
        push.send(b"first")
        await asyncio.wait_for(got.wait(), 5)
        first_at, paced_at = batches[0][0], clock.pace()
        assert batches[0][1] == [[b"first"]]
        assert paced_at > first_at, "reading did not move the pace"
        for index in range(50):  # all inside the resolution after the first read
            push.send(bytes([index]))
        deadline = time.monotonic() + 5
        while sum(len(batch) for _, batch in batches) < 51:
            assert time.monotonic() < deadline, "not every message was read"
            await asyncio.sleep(0.01)
        # (asyncio may run a timer up to its clock resolution early)
        assert batches[1][0] >= paced_at - 1e-3, "read again before the next wake"
        assert [m for _, batch in batches[1:] for m in batch] == [[bytes([i])] for i in range(50)]
        assert [len(batch) for _, batch in batches[1:]] == [10] * 5
        # Read, then looked at again at the next pace (not parked on a wake for new input);
        # the backlog after a full batch did not wait for another pace.
        assert (reader.parked, reader.polled) == (0, 2)
    finally:
        reader.close()


async def test_a_paced_socket_under_a_steady_flow_is_looked_at_each_pace_not_woken(pipe) -> None:
    # While input keeps coming, a paced socket is read once per pace without its descriptor
    # waking the loop in between; found quiet, it goes back to waking on input.
    from common.clock import SimClock
    from common.zmqloop import Readable, drain

    pull, push = pipe
    resolution = 0.2
    clock = SimClock(ClockState(1, 0.0, time.time(), 1.0), resolution_wall_s=resolution)
    loop = asyncio.get_running_loop()
    reads: list[tuple[float, int]] = []

    def handler() -> None:
        reads.append((loop.time(), len(drain(pull, 1000))))

    reader = Readable(pull, handler, pacer=clock)
    first = reader.woken  # its own look at construction
    try:
        sent = 0
        for _ in range(80):  # input every 10 ms for 0.8 s and more: four paces at least
            push.send(b"x")
            sent += 1
            await asyncio.sleep(0.01)
        deadline = time.monotonic() + 5
        while sum(n for _, n in reads) < sent:
            assert time.monotonic() < deadline, "not every message was read"
            await asyncio.sleep(0.01)
        # The first read is at once; from then on, one per point of the wake grid (each in a
        # later cell of the grid; a read may come late in its cell, so gaps may be shorter
        # than the resolution; asyncio may run a timer up to 1 ms early).
        cells = [math.floor((at + 1e-3) / resolution) for at, _ in reads[1:]]
        assert all(b > a for a, b in itertools.pairwise(cells)), \
            f"read more often than the pace: grid cells {cells}"
        assert len(reads) < sent / 4, "the socket was read per arrival, not per pace"
        assert reader.polled >= len(reads) - 1
        assert reader.woken - first <= 2, \
            "the descriptor woke the loop while the socket was being polled"
        # Quiet now: the next input wakes the socket again and is read.
        await asyncio.sleep(3 * resolution)
        before = reader.woken
        push.send(b"later")
        deadline = time.monotonic() + 5
        while sum(n for _, n in reads) < sent + 1:
            assert time.monotonic() < deadline, "input after a quiet spell was not read"
            await asyncio.sleep(0.01)
        assert reader.woken > before
    finally:
        reader.close()


async def test_publisher_counts_every_packet_the_bus_could_not_take(monkeypatch) -> None:
    import zmq

    monkeypatch.setattr(bus, "BUS_HWM", 4)
    monkeypatch.setattr(bus, "MAX_BACKLOG_FRAMES", 5)
    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 4)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.bind("inproc://publisher-drops")
    publisher = bus.Publisher(context, "inproc://publisher-drops")
    try:
        # Readiness: a probe that arrives proves the subscription has reached the publisher;
        # from then on nothing it sends is dropped unseen.
        deadline = time.monotonic() + 5
        while not sub.poll(10):
            assert time.monotonic() < deadline, "the subscription never reached the publisher"
            publisher.socket.send_multipart([b"probe", b""])
        while sub.poll(50):
            assert sub.recv_multipart()[0] == b"probe"
        sent = 200
        for count in range(sent):
            publisher.send(b"SAT-01/TM/020", count.to_bytes(4, "big"))
            publisher.flush()  # one frame each
        # Every packet is delivered, waiting in the backlog, or counted as dropped.
        assert publisher.dropped > 0
        assert publisher.packets + publisher.backlog + publisher.dropped == sent
        received = 0
        deadline = time.monotonic() + 5
        while received < sent - publisher.dropped and time.monotonic() < deadline:
            if sub.poll(10):
                sub.recv_multipart()
                received += 1
            else:
                await asyncio.sleep(0.002)  # let the backlog's retry run
        assert received == sent - publisher.dropped == publisher.packets
    finally:
        publisher.close()
        sub.close(0)
        context.destroy(0)


def test_an_app_reports_its_publisher_drops_in_its_status(tmp_path: Path) -> None:
    from common.dictionary import DICTIONARY
    from common.dictionary.standard import STATUS_SID
    from common.packets import decode
    from flight.framework.runtime import Runtime
    from flight.registry import app_class

    run = new_run(tmp_path / "run", ("SAT-01",))
    runtime = Runtime(run)
    try:
        app = app_class("FP")(runtime, "SAT-01")
        sent: list[bytes] = []
        app.publisher = SimpleNamespace(dropped=7, send=lambda _topic, packet: sent.append(packet))
        app.counters["SEQ_GAPS"] = 3
        app.report_hk(STATUS_SID)
        values = DICTIONARY.decode_tm(decode(sent[-1])).values
        assert values["FP.BUS_DROPS"] == 7 and values["FP.SEQ_GAPS"] == 3
    finally:
        runtime.close()


def test_the_executive_is_sent_the_telemetry_it_downlinks_and_not_the_hardware_sensors() -> None:
    from common.dictionary import DICTIONARY
    from flight.executive.app import executive_subscriptions

    prefixes = executive_subscriptions("SAT-01")

    def received(topic: bytes) -> bool:
        return any(topic.startswith(prefix) for prefix in prefixes)

    for app in DICTIONARY.apps.values():
        live = bus.topic("SAT-01", bus.TM, app.apid)
        assert received(live) is not app.onboard_only, app.name
        assert received(bus.topic("SAT-01", bus.PB, app.apid))
    assert not received(bus.topic("SAT-02", bus.TM, DICTIONARY.apps["HK"].apid))
    assert received(bus.topic("SAT-01", bus.CTL, None, "HB", "HK"))


_FILL_CHECK = """
import ctypes
from common.zygote import _MallInfo2, fill_malloc_holes
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = _MallInfo2
blocks = [ctypes.create_string_buffer(2000 + 16 * n) for n in range(64)]
kept = blocks[::2]
del blocks  # every other block freed: holes between blocks in use
filled = fill_malloc_holes()
after = libc.mallinfo2()
print(filled, after.fordblks - after.keepcost)
"""


def test_filling_the_c_heap_leaves_no_free_block_for_a_child_to_copy() -> None:
    import ctypes
    import subprocess
    import sys

    if not hasattr(ctypes.CDLL(None), "mallinfo2"):
        pytest.skip("not glibc")
    # In a process of its own: mallinfo2 counts the heaps of every thread, and the tests before
    # this one leave threads' heaps behind (the fill is for the main thread's, a child's).
    out = subprocess.run([sys.executable, "-c", _FILL_CHECK], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    filled, free_below_top = (int(word) for word in out.split())
    assert filled >= 32 * 2000
    assert free_below_top < 16 * 1024


def test_files_named_lists_by_prefix_and_suffix_only(tmp_path: Path) -> None:
    from common.files import files_named

    for name in ("seg-00000002.pkt", "seg-00000001.pkt", "seg-.pkt.tmp", "seg.pkt", "1.bin",
                 ".bin", "x.bin.1.tmp"):
        (tmp_path / name).write_bytes(b"")
    assert sorted(p.name for p in files_named(tmp_path, "seg-", ".pkt")) == [
        "seg-00000001.pkt", "seg-00000002.pkt"]
    assert sorted(p.name for p in files_named(tmp_path, suffix=".bin")) == [".bin", "1.bin"]
    assert files_named(tmp_path, "nothing-") == []


def test_the_simulated_hardware_runs_in_a_process_per_group_of_satellites(tmp_path) -> None:
    from scenarios.launcher import sim_groups

    names = tuple(f"SAT-{n:02d}" for n in range(1, 10))
    run = new_run(tmp_path / "run", names)
    assert run.sim_group == 4
    assert sim_groups(run) == [("SIM-1", list(names[:4])), ("SIM-2", list(names[4:8])),
                               ("SIM-3", list(names[8:]))]
    # A rig plays SAT-01 and SAT-05: the groups are made of the rest.
    assert sim_groups(run, ("SAT-01", "SAT-05")) == [
        ("SIM-1", ["SAT-02", "SAT-03", "SAT-04", "SAT-06"]),
        ("SIM-2", ["SAT-07", "SAT-08", "SAT-09"])]
    small = new_run(tmp_path / "small", names[:3])
    assert sim_groups(small) == [("SIM", list(names[:3]))]
    run.save()
    assert RunConfig.load(run.run_dir).sim_group == 4
    with pytest.raises(ConfigError, match="sim_group"):
        new_run(tmp_path / "bad", names, sim_group=0)


def test_executives_run_in_a_process_each_or_in_groups_named_for_the_launcher(tmp_path) -> None:
    from scenarios.launcher import flight_groups

    names = tuple(f"SAT-{n:02d}" for n in range(1, 8))
    assert flight_groups(new_run(tmp_path / "one", names)) == [(n, [n]) for n in names]
    grouped = new_run(tmp_path / "run", names, flight_group=3, app_hosting="executive")
    assert flight_groups(grouped) == [("FLIGHT-1", list(names[:3])),
                                      ("FLIGHT-2", list(names[3:6])), ("FLIGHT-3", [names[6]])]
    with pytest.raises(ConfigError, match="flight_group"):
        new_run(tmp_path / "bad", names, flight_group=0)


def test_an_atomic_write_leaves_the_old_file_or_the_new_one_and_no_temporary(
        tmp_path: Path) -> None:
    from common.files import write_atomic

    target = tmp_path / "deep" / "state.json"
    assert write_atomic(target, "first") == target
    write_atomic(target, b"\x00second")
    assert target.read_bytes() == b"\x00second"
    blocked = tmp_path / "a-directory"
    (blocked / "inside").mkdir(parents=True)
    with pytest.raises(OSError):
        write_atomic(blocked, "cannot replace a directory")
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "a-directory", "deep", "inside", "state.json"]


def test_apps_of_one_process_decode_a_packet_they_all_receive_once() -> None:
    from common.cuc import CucTime
    from common.dictionary import DICTIONARY
    from common.errors import CrcMismatch
    from common.packets import TmPacket, encode_tm
    from flight.framework.decoded import DecodeMemo

    structure = DICTIONARY.structures["SIM.SENSORS_EPS"]
    values = {name: 0 for name in structure.param_names}
    codec = DICTIONARY.codec(structure)
    values = codec.decode(codec.encode_trusted(values))  # every value in its wire form
    data = encode_tm(TmPacket(DICTIONARY.apps["SIM"].apid, 3, 25,
                              DICTIONARY.hk_app_data(structure, values), 5, 0, 0,
                              CucTime(2_000_000_000)))
    memo = DecodeMemo(size=3, sharing=True)
    first = memo.packet(bytes(data))  # each app receives its own copy of the bytes
    again = memo.packet(bytes(bytearray(data)))
    assert again is first and (memo.decoded, memo.hits) == (1, 1)
    assert memo.tm(again) is memo.tm(first)
    assert memo.tm(first).values == values
    assert memo.tm(TmPacket(*first)).values == values  # an equal packet of its own: decoded
    bad = bytearray(data)
    bad[-1] ^= 1
    for _ in range(2):  # a bad packet fails for every app that receives it, and is not kept
        with pytest.raises(CrcMismatch):
            memo.packet(bytes(bad))
    assert memo.decoded == 1
    recent = []
    for seq in range(6, 14):  # bounded: two generations of 3, never more
        recent.append(encode_tm(first._replace(seq_count=seq)))
        memo.packet(recent[-1])
        assert len(memo._packets) + len(memo._older_packets) <= 6
    # What was remembered just before a generation turned over is still found after it.
    decoded = memo.decoded
    for data_again in recent[-4:]:
        memo.packet(bytes(bytearray(data_again)))
    assert memo.decoded == decoded
    alone = DecodeMemo()  # one app per process: a plain decode, nothing kept
    assert alone.packet(data) == first and (alone.decoded, alone.hits, alone._packets) == (0, 0, {})


async def test_the_client_counts_what_it_cannot_understand_from_ground_control_and_reads_on(
        tmp_path: Path) -> None:
    # A stand-in ground control sends the client malformed updates and replies between good
    # ones: each is counted, and neither the good messages after them nor the client are lost.
    import msgpack
    import zmq

    from ground.client import Client

    run = new_run(tmp_path / "run", ("SAT-01",))
    endpoints = Endpoints(run)
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    pub = context.socket(zmq.PUB)
    router.bind(endpoints.ground())
    pub.bind(endpoints.ground_pub())
    stop = asyncio.Event()

    async def ground_control() -> None:
        while not stop.is_set():
            pub.send_multipart([b"hello", msgpack.packb({"time": 0.0})])
            while router.poll(0):
                identity, body = router.recv_multipart()
                request_id = msgpack.unpackb(body)["id"]
                for bad in (b"\xc1", msgpack.packb([1, 2])):  # not msgpack; not a map
                    router.send_multipart([identity, bad])
                router.send_multipart([identity, msgpack.packb({"id": request_id, "ok": True,
                                                                "value": 42})])
            await asyncio.sleep(0.01)

    server = asyncio.ensure_future(ground_control())
    client = Client(run)
    try:
        await client.connect(wall_timeout=10)
        for frames in ([b"tm/SAT-01"], [b"\xff\xfe", msgpack.packb({})],
                       [b"tm/SAT-01", b"\xc1"], [b"tm/SAT-01", msgpack.packb({"values": {}})],
                       [b"tm/SAT-01", msgpack.packb({"satellite": "SAT-01", "time": 5.0,
                                                     "values": {"HK.MODE": "NOMINAL"}})]):
            pub.send_multipart(frames)
        assert await client.tlm("SAT-01", "HK.MODE") == 42  # the good reply after two bad
        deadline = time.monotonic() + 10
        while client._latest.get(("SAT-01", "HK.MODE")) is None:
            assert time.monotonic() < deadline, "the good update after the bad ones was lost"
            await asyncio.sleep(0.01)
        assert client.malformed == {"update": 4, "reply": 2}
        assert client.connected
    finally:
        stop.set()
        await server
        await client.close()
        context.destroy(0)


async def test_a_reader_keeping_up_counts_no_backlog_and_one_left_behind_by_full_batches_does(
        pipe) -> None:
    # Heartbeat watches judge no one while their reader is behind (flight.framework.lookout):
    # input that merely arrived while a batch was being handled is not "behind".
    from common.zmqloop import Readable, each_message

    pull, push = pipe
    handled: list[bytes] = []

    def slow(message: list[bytes]) -> None:
        handled.append(message[0])
        time.sleep(0.002)  # more input arrives meanwhile

    reader = Readable(pull, each_message(pull, slow, lambda m, e: None, limit=25))
    try:
        for index in range(40):  # a steady trickle, each batch well below the limit
            push.send(bytes([index]))
            await asyncio.sleep(0.003)
        deadline = time.monotonic() + 5
        while len(handled) < 40:
            assert time.monotonic() < deadline, "not every message was read"
            await asyncio.sleep(0.01)
        assert reader.backlogs == 0
        for index in range(85):  # a burst: three full batches leave input waiting
            push.send(bytes([index]))
        while len(handled) < 125:
            assert time.monotonic() < deadline, "not every message was read"
            await asyncio.sleep(0.01)
        assert reader.backlogs == 3
    finally:
        reader.close()
