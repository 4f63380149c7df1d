"""Real-time factor of whole fleets with housekeeping at 1 Hz: lag, CPU and memory per satellite.

For each fleet size N (default 4, 12 and 50 satellites) a fleet is launched with the scenario
launcher — ground control (the clock master), the space link, the simulated hardware (a
process per ``sim_group`` satellites, 4 by default) and N executives with their apps, every
process forked from a preloaded zygote. Every periodic
housekeeping structure of every flight app (EXEC, HK, COMPUTE and FP status, HK's EPS, THERMAL,
ORBIT and NODES) is set to 1 s simulated with ``APP.SET_HK_INTERVAL`` over each satellite's bus,
as a test set would, and the simulated hardware reports its sensors at 1 Hz
(``timing.sensor_interval_s``). Timers are coalesced over 10 simulated seconds at the asked rate
(``timing.timer_resolution_wall_s``, 5 ms at least). Ground control is then asked for the
target rate and every satellite's bus is watched:

* **real-time factor reached**: how fast the due times of the housekeeping reports that arrive
  advance per wall second (per report stream; the slowest stream and the median), and the same
  for the simulated hardware's sensor reports. A timer that falls behind catches up tick by
  tick, so a fleet that cannot keep up shows a lower factor than asked, and a growing lag;
* **lag**: simulated time when a report arrives minus the time it was due (how late timers
  fire, plus the bus and this observer), in simulated and wall seconds;
* reports received against those due in the window (the rest were late or lost), and apps
  restarted (fault protection restarts an app whose heartbeat it misses);
* **CPU**: cores used over the window by the fleet (by kind of process), by this observer, and
  by everything else on the machine (it is shared); per satellite and simulated second;
* **memory**: PSS and USS of each satellite's processes (executive, its zygote, HK, COMPUTE,
  FP), and of the fleet-wide processes: idle (at the start rate) and after the window.

``--app-hosting together`` runs each satellite's HK, COMPUTE and FP in one process
(``run.app_hosting``): two processes fewer per satellite, as very large fleets would;
``--app-hosting executive`` runs them in the executive's process, and ``--flight-group N`` the
executives of N satellites in one process (``run.flight_group``): memory per satellite is then
a group's divided by its satellites.
``--isl none`` turns the inter-satellite links off: with them (in-plane, the default), from
about 12 satellites in one plane every satellite is in range of its neighbours, and a
satellite's telemetry reaches the ground through the executives of every satellite between
it and the one in a pass, so the relaying grows with the square of the fleet.

A fleet keeps up when every stream reached 98 % of the asked rate with every report and no
restart. One that does not is launched again at 0.6× the rate (``--tries`` in all), so that the
rate it sustains is shown next to its target.

Targets (issue #7): 4 satellites ≥ 1000×, 100 satellites ≥ 100×; sizes between are compared to
a log-log interpolation of the two, marked as such.

Run: ``.venv/bin/python bench/fleet.py [--sizes 4 12 50 100] [--seconds 20] [--tries 2]
[--app-hosting together]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import compiled
from common.dictionary.standard import STATUS_SID
from common.procstat import cpu_ticks as process_cpu_ticks
from common.runconfig import APP_HOSTINGS, Timing
from ground.link.config import ISL_TOPOLOGIES, LinkConfig

#: (satellites, real-time factor) the issue asks for.
TARGETS = ((4, 1000.0), (100, 100.0))
DEFAULT_SIZES = (4, 12, 50)
HK_INTERVAL_S = 1.0
#: The clock rate while the fleet starts and is configured.
START_RATE = 10.0
FLIGHT_APPS = ("EXEC", "HK", "COMPUTE", "FP")
#: Source ID of the test set (as scenarios.faults uses).
TEST_SET_ID = 2
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: Simulated seconds over which timers may be coalesced (so the lag this allows).
COALESCE_SIM_S = 10.0
#: A fleet keeps up when its slowest stream and its report count reach this share of the asked.
KEEP_UP = 0.98
#: A fleet that did not keep up is tried again at this share of the rate.
BACK_OFF = 0.6
#: Launches of one fleet before its measurement counts as failed.
LAUNCH_ATTEMPTS = 2
MAX_RESOLUTION_WALL_S = 0.25


def target(satellites: int) -> tuple[float, bool]:
    """(real-time factor to reach, whether it is one the issue states or an interpolation)."""
    (n0, r0), (n1, r1) = TARGETS
    if satellites <= n0:
        return r0, satellites == n0
    if satellites >= n1:
        return r1, satellites == n1
    share = math.log(satellites / n0) / math.log(n1 / n0)
    return r0 * (r1 / r0) ** share, False


def resolution_for(rate: float) -> float:
    """Timer resolution (wall seconds) for a run at ``rate``: processes coalesce timers over
    ``COALESCE_SIM_S`` simulated seconds (the run's default resolution for slow runs, at most
    ``MAX_RESOLUTION_WALL_S``). Every wake-up of an idle process costs ~125 µs: hundreds of
    processes cannot each wake for every 1 Hz report at 100× and more."""
    return min(MAX_RESOLUTION_WALL_S, max(Timing().timer_resolution_wall_s, COALESCE_SIM_S / rate))


# --- /proc ----------------------------------------------------------------------------------------


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (0 once it is gone)."""
    return process_cpu_ticks(pid) or 0


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def memory_mib(pid: int) -> tuple[float, float]:
    """(PSS, USS) of a process in MiB (zeros once it is gone)."""
    from bench.memory import memory

    try:
        return memory(pid)
    except (OSError, KeyError):
        return 0.0, 0.0


# --- configuring housekeeping over each satellite's bus -------------------------------------------


async def set_hk_intervals(context: Any, run: Any, satellite: str, interval: float,
                           wall_timeout: float = 30.0) -> list[str]:
    """Set every periodic structure of every flight app of ``satellite`` to ``interval``;
    return what failed (empty when every command completed)."""
    import zmq

    from common import bus
    from common.dictionary import DICTIONARY
    from common.endpoints import Endpoints
    from common.framing import iter_frames
    from common.packets import AckFlags, TcPacket, TmPacket, decode, encode_tc

    endpoints = Endpoints(run)
    publisher = bus.Publisher(context, endpoints.bus_in(satellite))
    subscriber = bus.Subscriber(context, endpoints.bus_out(satellite))
    subscriber.subscribe(bus.topic(satellite, bus.TM))
    pending: dict[tuple[int, int], str] = {}
    failed: list[str] = []
    try:
        await bus.prove_live(publisher, subscriber, satellite, "BENCH", wall_timeout, [])
        for app in FLIGHT_APPS:
            command = DICTIONARY.command(f"{app}.SET_HK_INTERVAL")
            for seq, structure in enumerate(DICTIONARY.apps[app].structures):
                tc = TcPacket(command.apid, command.service, command.subtype,
                              DICTIONARY.command_app_data(command, {
                                  "structure": structure.short, "interval": interval}),
                              seq, TEST_SET_ID, AckFlags.ALL)
                publisher.send(bus.topic(satellite, bus.TC, command.apid), encode_tc(tc))
                pending[(command.apid, seq)] = structure.name
        publisher.flush()
        deadline = time.monotonic() + wall_timeout
        while pending and time.monotonic() < deadline:
            try:
                _topic, payload = subscriber.socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                await asyncio.sleep(0.01)
                continue
            for framed in iter_frames(payload):
                packet = decode(framed.data)
                if (not isinstance(packet, TmPacket) or packet.service != 1
                        or packet.dest_id != TEST_SET_ID or packet.subtype not in (2, 4, 7, 8)):
                    continue
                values = DICTIONARY.decode_tm(packet).values
                key = (values["packet_id"] & 0x7FF, values["sequence"] & 0x3FFF)
                name = pending.pop(key, None)
                if name is not None and packet.subtype != 7:
                    failed.append(f"{satellite} {name}: TM[1,{packet.subtype}]")
        failed += [f"{satellite} {name}: no answer" for name in pending.values()]
    finally:
        publisher.close()
        subscriber.close()
    return failed


# --- watching housekeeping ------------------------------------------------------------------------


#: Wall seconds the observer lets input gather before it reads (each wake of its hundred-odd
#: sockets costs more than the packets it then reads: unpaced, it took ~0.17 cores of the two
#: at 100 satellites and 100x). It adds up to this much to the lags measured.
OBSERVER_PACE_WALL_S = 0.02


#: Wall seconds between reading the warm-up's reports and opening the window.
SETTLE_WALL_S = 1.0


class WallPacer:
    """Paces the observer's sockets on wall time (:class:`common.zmqloop.Pacer`)."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._last = -float("inf")

    def pace(self) -> float:
        return self._last + self.period_s

    def woke(self, loop_time: float) -> None:
        self._last = loop_time


class Observer:
    """Every satellite's housekeeping reports and heartbeats, straight off its bus (read at
    most every ``OBSERVER_PACE_WALL_S``).

    While the fleet is measured, a message is only kept, with the simulated time it was read
    at; its reports are read later (:meth:`snapshot`), outside the measured window: reading
    each report as it came took the observer ~0.19 cores of the two at 100 satellites and
    100x, CPU the fleet it measures did not have."""

    def __init__(self, context: Any, run: Any, clock: Any) -> None:
        from common import bus
        from common.cuc import CucTime
        from common.dictionary import DICTIONARY
        from common.endpoints import Endpoints
        from common.zmqloop import Readable

        self.clock = clock
        #: The simulated hardware's sensor reports are judged apart from housekeeping.
        self.hardware_apids = {a.apid for a in DICTIONARY.apps.values() if a.onboard_only}
        # CUC (TAI since 1958) to Unix, for this run's epoch (no leap second inside a bench).
        probe = CucTime.from_unix(run.clock.sim)
        self.cuc_offset = probe.to_unix() - (probe.coarse + probe.fine / 65536)
        #: (satellite, APID, SID) → [latest due time, reports]
        self.streams: dict[tuple[str, int, int], list[float]] = {}
        self.lags = array("d")
        #: Telemetry messages kept to be read: (satellite, simulated time read, payload); the
        #: first is message number ``_kept_from`` of all received.
        self._kept: list[tuple[str, float, bytes]] = []
        self._kept_from = 0
        self.pids: dict[tuple[str, str], set[int]] = {}
        self.sockets = []
        self.readers = []
        endpoints = Endpoints(run)
        pacer = WallPacer(OBSERVER_PACE_WALL_S)
        for satellite in run.satellites:
            sub = bus.Subscriber(context, endpoints.bus_out(satellite))
            sub.subscribe(bus.topic(satellite, bus.TM))
            sub.subscribe(bus.topic(satellite, bus.CTL, None, "HB"))
            self.sockets.append(sub)
            drain_it = functools.partial(self._drain, sub, satellite)
            self.readers.append(Readable(sub.socket, drain_it, pacer=pacer))

    def _drain(self, subscriber: Any, satellite: str) -> None:
        import msgpack

        from common.zmqloop import drain

        now = self.clock.now()
        kept = self._kept
        for topic, payload in drain(subscriber.socket, 500):
            if b"/CTL/" in topic:
                beat = msgpack.unpackb(payload)
                self.pids.setdefault((satellite, str(beat["app"])), set()).add(int(beat["pid"]))
                continue
            kept.append((satellite, now, payload))

    def mark(self) -> int:
        """How many telemetry messages have been received so far."""
        return self._kept_from + len(self._kept)

    def snapshot(self, mark: int
                 ) -> tuple[dict[tuple[str, int, int], tuple[float, float]], int]:
        """Read the reports of the messages received before ``mark`` (a :meth:`mark`, called
        in order), then: per stream, the latest due time and reports so far; lag samples so
        far."""
        upto = mark - self._kept_from
        for satellite, now, payload in self._kept[:upto]:
            self._read(satellite, now, payload)
        del self._kept[:upto]
        self._kept_from = mark
        return {key: (v[0], v[1]) for key, v in self.streams.items()}, len(self.lags)

    def _read(self, satellite: str, now: float, payload: bytes) -> None:
        unpack = struct.unpack_from
        offset, end = 0, len(payload)
        while offset + 21 <= end:
            length = ((payload[offset + 4] << 8) | payload[offset + 5]) + 7
            if payload[offset + 7] == 3 and payload[offset + 8] == 25:
                apid = ((payload[offset] & 0x07) << 8) | payload[offset + 1]
                coarse, fine, sid = unpack(">IHH", payload, offset + 13)
                due = coarse + fine / 65536 + self.cuc_offset
                stream = self.streams.get((satellite, apid, sid))
                if stream is None:
                    stream = self.streams[(satellite, apid, sid)] = [due, 0.0]
                stream[0] = max(stream[0], due)
                stream[1] += 1
                if apid not in self.hardware_apids:
                    self.lags.append(now - due)
            offset += length

    def close(self) -> None:
        """Stop watching and close the sockets."""
        for reader in self.readers:
            reader.close()
        for sub in self.sockets:
            sub.close()


# --- one fleet ------------------------------------------------------------------------------------


def measure(satellites: int, rate: float, window_s: float, warmup_s: float,
            resolution_wall_s: float, keep: bool = False,
            app_hosting: str = "separate", isl: str | None = None,
            sim_group: int | None = None, flight_group: int = 1) -> dict[str, Any]:
    """Launch a fleet of ``satellites``, run it at ``rate``, and measure it (in this process)."""
    from common import logs
    from scenarios.config import FleetConfig
    from scenarios.launcher import Launcher

    tmp = tempfile.mkdtemp(prefix="ddfleet-")
    config = FleetConfig(per_plane=satellites, rate=START_RATE, seed=7, app_hosting=app_hosting,
                         sim_group=sim_group or FleetConfig.sim_group, flight_group=flight_group,
                         link={} if isl is None else {"isl": isl},
                         timing={"sensor_interval_s": HK_INTERVAL_S,
                                 "timer_resolution_wall_s": resolution_wall_s})
    run = config.run_config(Path(tmp) / "run")
    logs.configure(run.run_dir, "BENCH", console=False)
    launcher = Launcher(run)
    launcher.fork_zygote()  # before any ZeroMQ context in this process
    try:
        result = asyncio.run(_measure(launcher, rate, window_s, warmup_s))
    except BaseException:
        print(f"the run directory is kept for its logs: {run.run_dir}", file=sys.stderr)
        raise
    finally:
        if launcher.zygote is not None:
            asyncio.run(launcher.stop())
    if keep:
        print(f"run directory kept: {run.run_dir}", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return {**result, "resolution_wall_s": resolution_wall_s, "app_hosting": app_hosting,
            "isl": isl or LinkConfig().isl, "sim_group": config.sim_group,
            "flight_group": flight_group}


async def _measure(launcher: Any, rate: float, window_s: float, warmup_s: float
                   ) -> dict[str, Any]:
    import zmq

    from ground.client import Client

    run = launcher.run
    satellites = len(run.satellites)
    # The observer shares the cores with hundreds of processes: ahead of them (the fleet was
    # forked before, at normal priority), it measures the fleet, not its own wait for a core.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, -5)
    started = time.monotonic()
    context = zmq.Context()
    observer: Observer | None = None
    try:
        await launcher.start(timeout_wall_s=60.0 + 2.0 * satellites)
        launch_s = time.monotonic() - started
        async with Client(run, "bench") as ground:
            gate = asyncio.Semaphore(8)

            async def configure(name: str) -> list[str]:
                async with gate:
                    return await set_hk_intervals(context, run, name, HK_INTERVAL_S)

            failures = [f for fs in await asyncio.gather(*map(configure, run.satellites))
                        for f in fs]
            observer = Observer(context, run, ground.clock)
            memory_idle = _memory(launcher, _below(_tree(), os.getpid()) - {os.getpid()})
            await _patiently(lambda: ground.set_rate(rate))
            await asyncio.sleep(warmup_s)  # wall time: the window of a wall-clock measurement
            observer.snapshot(observer.mark())  # the warm-up read now, not in the window,
            # and the input that waited meanwhile taken in before the window opens (its
            # streams would seem to catch up, and the fleet to run faster than it does).
            await asyncio.sleep(SETTLE_WALL_S)
            pids = _below(_tree(), os.getpid()) - {os.getpid()}
            cpu0 = {pid: cpu_ticks(pid) for pid in pids}
            own0, machine0 = os.times(), machine_ticks()
            wall0 = time.monotonic()
            start = observer.mark()
            await asyncio.sleep(window_s)
            end = observer.mark()
            wall = time.monotonic() - wall0
            cpu1 = {pid: cpu_ticks(pid) for pid in pids}
            own1, machine1 = os.times(), machine_ticks()
            sim_now = ground.clock.now()
            streams0, lags0 = observer.snapshot(start)
            streams1, lags1 = observer.snapshot(end)
            kinds = _kinds(launcher, observer)
            memory = _memory(launcher, pids)
            lags = sorted(observer.lags[lags0:lags1])
            behind = [sim_now - streams1[k][0] for k in streams1
                      if k[1] not in observer.hardware_apids]
            restarts = sum(len(p) - 1 for p in observer.pids.values())
    finally:
        if observer is not None:
            observer.close()
        context.destroy(0)
        await launcher.stop()
    # The sensor structures (the simulated hardware's STATUS keeps its own rate).
    hardware = {k for k in streams1 if k[1] in observer.hardware_apids and k[2] != STATUS_SID}

    def advance(keys: set[tuple[str, int, int]]) -> list[tuple[float, str]]:
        return sorted(((streams1[k][0] - streams0.get(k, (streams1[k][0], 0))[0]) / wall,
                       f"{k[0]} APID 0x{k[1]:03X} SID {k[2]}") for k in keys)

    per_stream = advance({k for k in streams1 if k[1] not in observer.hardware_apids})
    per_sensor = advance(hardware)
    factors = [f for f, _ in per_stream]
    due = len(per_stream) * rate * wall / HK_INTERVAL_S
    received = sum(streams1[k][1] - streams0.get(k, (0, 0))[1] for k in streams1
                   if k not in hardware)
    sensors = sum(streams1[k][1] - streams0.get(k, (0, 0))[1] for k in hardware)
    cpu: dict[str, float] = {}
    for pid in pids:
        kind = kinds.get(pid, "zygotes")
        # A process that ended in the window (an app restarted) reads 0 at its end: what it
        # used is lost, and what its successor used is in "the rest of the machine".
        used = max(0, cpu1[pid] - cpu0[pid]) if cpu1[pid] else 0
        cpu[kind] = cpu.get(kind, 0.0) + used / CLK_TCK / wall
    own = (own1.user + own1.system - own0.user - own0.system) / wall
    machine = (machine1[0] - machine0[0]) / CLK_TCK / wall
    return {
        "satellites": satellites, "processes": len(pids), "asked": rate, "launch_s": launch_s,
        "window_s": wall, "streams": len(per_stream), "configure_failures": failures,
        "factor_min": factors[0] if factors else 0.0,
        "factor_median": statistics.median(factors) if factors else 0.0,
        "received": received, "due": due,
        "lag_median_s": _quantile(lags, 0.5), "lag_p95_s": _quantile(lags, 0.95),
        "lag_max_s": lags[-1] if lags else math.nan,
        "behind_max_s": max(behind, default=math.nan), "restarts": restarts,
        "slowest": per_stream[:3], "sensor_streams": len(per_sensor),
        "sensor_factor_min": per_sensor[0][0] if per_sensor else 0.0,
        "sensor_factor_median": statistics.median(f for f, _ in per_sensor) if per_sensor
        else 0.0, "sensor_reports": sensors,
        "sensor_due": len(per_sensor) * rate * wall / HK_INTERVAL_S,
        "cpu": cpu, "cpu_fleet": sum(cpu.values()), "cpu_observer": own,
        "cpu_machine": machine, "memory_idle": memory_idle, "memory_loaded": memory,
    }


async def _patiently(make: Any, attempts: int = 6) -> Any:
    """A ground control request (``make()`` builds it) that may wait behind ground control's
    start-up work — a large fleet's contact plan takes a while: asked again on a timeout."""
    for attempt in range(attempts):
        try:
            return await make()
        except TimeoutError:
            if attempt == attempts - 1:
                raise
    return None


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else math.nan


def fleet_wide(name: str) -> str:
    """The kind of a fleet-wide process by its launcher name (the simulated hardware may be
    several processes: SIM-1, SIM-2, …); "" for a satellite's."""
    kind = name.split("-")[0]
    return kind if kind in ("GROUND", "LINK", "SIM") else ""


def _kinds(launcher: Any, observer: Observer) -> dict[int, str]:
    kinds = {p.pid: kind for p in launcher.processes.values() if (kind := fleet_wide(p.name))}
    hosted: dict[int, set[str]] = {}
    for (_satellite, app), pids in observer.pids.items():
        for pid in pids:
            hosted.setdefault(pid, set()).add(app)
    for pid, apps in hosted.items():  # apps that share a process: one kind, "HK+COMPUTE+FP"
        kinds[pid] = "+".join([a for a in FLIGHT_APPS if a in apps]
                              + sorted(apps - set(FLIGHT_APPS)))
    for process in launcher.processes.values():
        kinds.setdefault(process.pid, "EXEC")
    return kinds


def _tree() -> dict[int, list[int]]:
    """Children of every process, from one pass over /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    return children


def _below(children: dict[int, list[int]], pid: int) -> set[int]:
    found, stack = {pid}, [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def _memory(launcher: Any, pids: set[int]) -> dict[str, Any]:
    """PSS and USS by satellite and of the fleet-wide processes (each process read once)."""
    from scenarios.launcher import flight_groups

    children = _tree()
    figures = {pid: memory_mib(pid) for pid in pids}
    per_satellite = []
    for name, group in flight_groups(launcher.run):  # a group's memory, shared by its own
        own = _below(children, launcher.processes[name].pid)
        pss = sum(figures.get(p, (0.0, 0.0))[0] for p in own) / len(group)
        uss = sum(figures.get(p, (0.0, 0.0))[1] for p in own) / len(group)
        per_satellite += [(pss, uss)] * len(group)
    shared = dict.fromkeys(("GROUND", "LINK", "SIM"), 0.0)
    for process in launcher.processes.values():
        kind = fleet_wide(process.name)
        if kind:
            shared[kind] += figures.get(process.pid, (0.0, 0.0))[0]
    return {
        "pss_per_satellite": statistics.mean(p for p, _ in per_satellite),
        "pss_per_satellite_max": max(p for p, _ in per_satellite),
        "uss_per_satellite": statistics.mean(u for _, u in per_satellite),
        "pss_fleetwide": shared,
        "pss_total": sum(f[0] for f in figures.values()),
    }


# --- the report -----------------------------------------------------------------------------------


def report(result: dict[str, Any], first: dict[str, Any]) -> bool:
    """Print a fleet's figures (of its last attempt) against its target, judged by its first
    attempt; return whether the target is met."""
    n, asked = result["satellites"], result["asked"]
    goal, stated = target(n)
    reached = result["factor_min"]
    print(f"\n{n} satellites ({result['processes']} processes, up in {result['launch_s']:.1f} s),"
          f" asked {asked:.0f}×, timers coalesced over {1000 * result['resolution_wall_s']:.0f} ms"
          f" wall, watched {result['window_s']:.0f} s wall, flight apps hosted "
          f"{result['app_hosting']}, inter-satellite links {result['isl']}, "
          f"{result['sim_group']} satellites per hardware process"
          + (f", {result['flight_group']} satellites per flight process"
             if result.get("flight_group", 1) > 1 else ""))
    if result["configure_failures"]:
        print(f"  HK configuration failed: {', '.join(result['configure_failures'][:5])}")
    print(f"  real-time factor reached: slowest stream {reached:.0f}×, median "
          f"{result['factor_median']:.0f}× ({result['streams']} streams of 1 Hz housekeeping)")
    if result["slowest"]:
        print("  slowest streams: " + ", ".join(f"{name} {factor:.0f}×"
                                                for factor, name in result["slowest"]))
    print(f"  reports received {result['received']:.0f} of {result['due']:.0f} due "
          f"({100 * result['received'] / max(result['due'], 1):.1f} %); app restarts "
          f"{result['restarts']}")
    rate = max(asked, 1e-9)
    print(f"  simulated hardware: slowest sensor stream {result['sensor_factor_min']:.0f}×, median "
          f"{result['sensor_factor_median']:.0f}× ({result['sensor_streams']} streams at "
          f"{HK_INTERVAL_S:g} s); {result['sensor_reports']:.0f} of {result['sensor_due']:.0f} "
          f"sensor reports")
    print(f"  lag (arrival − due): median {result['lag_median_s']:.2f} s, p95 "
          f"{result['lag_p95_s']:.2f} s, max {result['lag_max_s']:.2f} s simulated "
          f"(= {1000 * result['lag_median_s'] / rate:.1f} / {1000 * result['lag_p95_s'] / rate:.1f}"
          f" / {1000 * result['lag_max_s'] / rate:.1f} ms wall); furthest behind at the end "
          f"{result['behind_max_s']:.1f} s")
    by_kind = ", ".join(f"{k} {v:.2f}" for k, v in sorted(result["cpu"].items(),
                                                           key=lambda kv: -kv[1]))
    others = result["cpu_machine"] - result["cpu_fleet"] - result["cpu_observer"]
    print(f"  CPU (cores): fleet {result['cpu_fleet']:.2f} ({by_kind}); this observer "
          f"{result['cpu_observer']:.2f}; the rest of the machine {max(0.0, others):.2f} "
          f"of {os.cpu_count()}")
    for when in ("idle", "loaded"):
        memory = result[f"memory_{when}"]
        fleetwide = ", ".join(f"{k} {v:.0f}" for k, v in memory["pss_fleetwide"].items())
        print(f"  memory per satellite, {when + ':':7} PSS {memory['pss_per_satellite']:.1f} MiB "
              f"(max {memory['pss_per_satellite_max']:.1f}), USS "
              f"{memory['uss_per_satellite']:.1f} MiB; fleet-wide PSS MiB: {fleetwide}; all "
              f"processes {memory['pss_total']:.0f} MiB")
    if kept_up(result):
        cost = result["cpu_fleet"] / (n * min(reached, asked))
        print(f"  CPU per satellite and simulated second at {asked:.0f}×: {1e6 * cost:.0f} µs "
              f"(fixed costs per wall second included)")
    how = "target" if stated else "interpolated target"
    ok = kept_up(first) and first["asked"] >= KEEP_UP * goal
    if ok:
        verdict = f"PASS (kept up at {first['asked']:.0f}×)"
    elif kept_up(first):  # asked for less than the target (--rate) and kept up
        verdict = (f"MISS: asked only {first['asked']:.0f}× and kept up; "
                   f"{100 * (1 - first['asked'] / goal):.0f} % short of it")
    elif kept_up(result):
        verdict = (f"MISS: fell behind at {first['asked']:.0f}× (slowest stream "
                   f"{first['factor_min']:.0f}×, sensors {first['sensor_factor_min']:.0f}×, "
                   f"{first['restarts']} apps restarted); keeps up at {asked:.0f}×, "
                   f"{100 * (1 - asked / goal):.0f} % short")
    else:
        verdict = (f"MISS: kept up at none of the rates tried, down to {asked:.0f}× (slowest "
                   f"stream {reached:.0f}×, sensors {result['sensor_factor_min']:.0f}×)")
    print(f"  {how} ≥ {goal:.0f}×: {verdict}")
    return ok


def kept_up(result: dict[str, Any]) -> bool:
    """Every housekeeping and sensor stream advanced at the asked rate, every report came, no
    app was restarted."""
    asked = KEEP_UP * result["asked"]
    return (result["factor_min"] >= asked and result["sensor_factor_min"] >= asked
            and result["restarts"] == 0 and result["received"] >= KEEP_UP * result["due"]
            and result["sensor_reports"] >= KEEP_UP * result["sensor_due"])


def run_one(size: int, rate: float, args: argparse.Namespace) -> dict[str, Any] | None:
    """Measure one fleet in a child process (its own zygote and ZeroMQ); None if it failed."""
    command = [sys.executable, __file__, "--one", str(size), "--rate", str(rate),
               "--seconds", str(args.seconds), "--warmup", str(args.warmup)]
    if args.resolution:
        command += ["--resolution", str(args.resolution)]
    if args.keep:
        command.append("--keep")
    command += ["--app-hosting", args.app_hosting]
    if args.isl:
        command += ["--isl", args.isl]
    if args.sim_group:
        command += ["--sim-group", str(args.sim_group)]
    command += ["--flight-group", str(args.flight_group)]
    for _attempt in range(LAUNCH_ATTEMPTS):
        child = subprocess.run(command, capture_output=True, text=True,
                               cwd=Path(__file__).resolve().parent.parent)
        if "LaunchError: not ready within" not in child.stderr:
            break
        # A process's one readiness message can be lost on ipc (common.control sends it and
        # closes at once: the libzmq tail loss of DESIGN §8); the fleet is launched again.
        print(f"  {size} satellites at {rate:.0f}×: {child.stderr.strip().splitlines()[-1]}; "
              f"launching again")
        for line in child.stderr.splitlines():
            if line.startswith("the run directory is kept") and not args.keep:
                shutil.rmtree(Path(line.rpartition(": ")[2]).parent, ignore_errors=True)
    lines = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
    for line in child.stderr.splitlines():
        if line.startswith("run directory"):
            print(f"  {line}")
    if child.returncode != 0 or not lines:
        print(f"\n{size} satellites at {rate:.0f}×: the measurement failed (exit "
              f"{child.returncode})\n{child.stderr[-2000:]}")
        return None
    return dict(json.loads(lines[-1][len("RESULT "):]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--seconds", type=float, default=20.0, help="wall seconds watched")
    parser.add_argument("--warmup", type=float, default=5.0, help="wall seconds before that")
    parser.add_argument("--factor", type=float, default=1.0,
                        help="first ask for this many times the target rate")
    parser.add_argument("--rate", type=float, help="first ask for this rate whatever the size")
    parser.add_argument("--tries", type=int, default=2,
                        help=f"fleets that do not keep up are tried again at {BACK_OFF:g}× "
                             f"the rate, this many times in all")
    parser.add_argument("--resolution", type=float,
                        help="timer resolution, wall seconds (default: by rate)")
    parser.add_argument("--keep", action="store_true", help="keep the run directories")
    parser.add_argument("--app-hosting", choices=APP_HOSTINGS, default="separate",
                        help="a process per flight app, one for a satellite's apps, or the "
                             "apps in the executive's process")
    parser.add_argument("--isl", choices=ISL_TOPOLOGIES,
                        help=f"inter-satellite links (default: the fleet's, {LinkConfig().isl})")
    parser.add_argument("--sim-group", type=int,
                        help="satellites per simulated-hardware process (default: the fleet's)")
    parser.add_argument("--flight-group", type=int, default=1,
                        help="satellites whose executives share a process (default 1)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:  # the child: one fleet, its figures as one JSON line
        rate = args.rate or args.factor * target(args.one)[0]
        resolution = args.resolution or resolution_for(rate)
        print("RESULT " + json.dumps(measure(args.one, rate, args.seconds, args.warmup,
                                             resolution, args.keep, args.app_hosting,
                                             args.isl, args.sim_group, args.flight_group)))
        return 0
    print(f"fleets with every housekeeping structure at {HK_INTERVAL_S:g} s simulated; "
          f"targets {', '.join(f'{n} satellites ≥ {r:.0f}×' for n, r in TARGETS)}; "
          f"hot path {compiled.describe()}")
    all_ok = True
    for size in args.sizes:
        rate = args.rate or args.factor * target(size)[0]
        first: dict[str, Any] | None = None
        for attempt in range(max(1, args.tries)):
            result = run_one(size, rate, args)
            if result is None:
                break
            first = first or result
            if kept_up(result) or attempt == args.tries - 1:
                break
            print(f"\n{size} satellites did not keep up at {rate:.0f}× (slowest stream "
                  f"{result['factor_min']:.0f}×, slowest sensor stream "
                  f"{result['sensor_factor_min']:.0f}×, {result['restarts']} apps restarted, "
                  f"{100 * result['received'] / max(result['due'], 1):.0f} % of reports); "
                  f"trying {BACK_OFF * rate:.0f}×")
            rate *= BACK_OFF
        if result is None or first is None:
            all_ok = False
            continue
        all_ok &= report(result, first)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
