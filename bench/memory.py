"""Memory of one satellite: every process of ``dawndusk sat``, by proportional set size.

A satellite is an executive, its zygote and three app processes — or one app process for
all three with ``app_hosting = "together"``, or the executive's process alone with the apps in
it (``app_hosting = "executive"``); every layout is measured, one after the other.
The apps are forked from the zygote, which the executive forked after importing everything,
so they share those pages.
Printed per process: PSS (shared pages split among the processes that share them — the sum is
what the satellite really costs) and USS (pages private to the process: what each further
satellite of a fleet costs at least, when the fleet shares one preloaded image). For
comparison, the same figures for a fresh interpreter that imports what a flight process
imports, measured in the same run.

The satellite is measured once it says it is ready (every app RUNNING, reported on the run's
control socket), every app has answered a command, and its memory has stopped growing.

Then the same for a satellite in a fleet of FLEET satellites (launched as ``dawndusk run``
launches them: every process forked from the launcher's preloaded image, inter-satellite links
off), measured once the fleet is ready and its memory has settled: the processes below each
executive, and the mean over the fleet's satellites. The fleet-wide processes (ground control,
space link, simulated hardware) are not a satellite's and are left out.

Target (issue #3): ≤ 30 MiB for a whole satellite (sum of PSS). Standalone, a satellite carries
the whole preloaded interpreter image by itself (the baseline line shows its size); in a fleet
the image is shared by every process, so a satellite costs its private pages and its share.

Run: ``.venv/bin/python bench/memory.py``
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgpack
import zmq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import compiled  # noqa: E402
from common.dictionary import DICTIONARY, SUPERVISED  # noqa: E402
from common.endpoints import Endpoints  # noqa: E402
from common.packets import encode  # noqa: E402
from common.radio import RadioFrame  # noqa: E402
from common.runconfig import APP_HOSTINGS, RunConfig, new_run  # noqa: E402
from scenarios.processes import descendants, stop_tree  # noqa: E402

TARGET_MIB = 30.0
SATELLITE = "SAT-01"
#: Satellites of the fleet measured.
FLEET = 4
#: Wall-clock guards: nothing here waits longer than this for a condition.
READY_WALL_S = 30.0
SETTLE_WALL_S = 15.0
#: Memory is settled when this many readings in a row move the total by less than SETTLE_MIB.
SETTLE_READINGS = 4
SETTLE_MIB = 0.05


def memory(pid: int) -> tuple[float, float]:
    """(PSS, USS) of a process in MiB, from /proc/PID/smaps_rollup."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields[name] = int(rest.split()[0])
    uss = fields["Private_Clean"] + fields["Private_Dirty"]
    return fields["Pss"] / 1024, uss / 1024


def wait_ready(control: zmq.Socket[Any], process: subprocess.Popen[bytes]) -> float:
    """Wait for the executive's readiness report; return the wall seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < READY_WALL_S:
        if process.poll() is not None:
            raise SystemExit(f"the satellite exited with status {process.returncode}")
        if control.poll(100):
            report = msgpack.unpackb(control.recv())
            if report.get("process") == SATELLITE and report.get("state") == "ready":
                return time.monotonic() - start
    raise SystemExit(f"{SATELLITE} did not report ready within {READY_WALL_S} s")


def command_every_app(run: RunConfig, context: zmq.Context[Any]) -> None:
    """Ping every app through the radio, so that each has run its command path."""
    uplink = context.socket(zmq.PUSH)
    uplink.setsockopt(zmq.LINGER, 1000)
    uplink.connect(Endpoints(run).uplink(SATELLITE))
    for seq, app in enumerate(("EXEC", *(a.name for a in SUPERVISED))):
        tc = DICTIONARY.encode_command(f"{app}.PING", seq_count=seq)
        uplink.send_multipart(RadioFrame(SATELLITE, 0, encode(tc)).to_multipart())
    uplink.close()


def settle(pids: list[int]) -> tuple[float, int]:
    """Wait until the total USS stops moving; return (wall seconds waited, readings taken)."""
    start = time.monotonic()
    last = sum(memory(pid)[1] for pid in pids)
    steady = readings = 0
    while steady < SETTLE_READINGS and time.monotonic() - start < SETTLE_WALL_S:
        time.sleep(0.25)  # the interval between two readings, not a wait for a condition
        total = sum(memory(pid)[1] for pid in pids)
        readings += 1
        steady = steady + 1 if abs(total - last) < SETTLE_MIB else 0
        last = total
    return time.monotonic() - start, readings


def fresh_interpreter() -> tuple[float, float]:
    """(PSS, USS) of a new interpreter that imports what the flight processes import (and
    leaves out what they leave out, ``flight.image``)."""
    code = ("import flight.image; flight.image.leave_out(); "
            "import flight.registry; flight.registry.preload(); import sys; "
            "sys.stdout.write('ok\\n'); sys.stdout.flush(); sys.stdin.read()")
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, cwd=ROOT)
    try:
        assert process.stdout is not None and process.stdout.readline() == b"ok\n"
        return memory(process.pid)
    finally:
        process.kill()
        process.wait()


def measure(app_hosting: str) -> list[tuple[str, int, float, float]]:
    """Start a satellite, wait until it is ready and settled, return (role, pid, PSS, USS)."""
    rows: list[tuple[str, int, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="ddmem-") as tmp:
        run = new_run(Path(tmp) / "run", (SATELLITE,), rate=10.0, app_hosting=app_hosting)
        run.save()
        context = zmq.Context()
        control = context.socket(zmq.PULL)
        control.setsockopt(zmq.LINGER, 0)
        control.bind(Endpoints(run).control())
        process = subprocess.Popen(
            [sys.executable, "-m", "scenarios.cli", "sat", SATELLITE, "--run-dir", run.run_dir],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            took = wait_ready(control, process)
            command_every_app(run, context)
            pids = [process.pid, *descendants(process.pid)]
            waited, readings = settle(pids)
            print(f"ready after {took:.2f} s wall; memory settled after {waited:.2f} s "
                  f"({readings} readings)")
            # The executive's only child is its zygote; the zygote's children are the apps.
            for index, pid in enumerate(pids):
                pss, uss = memory(pid)
                rows.append((("executive", "zygote")[index] if index < 2 else "app", pid, pss,
                             uss))
        finally:
            stop_tree(process, grace_s=5.0)
            context.destroy(0)
    return rows


def in_fleet(app_hosting: str) -> tuple[list[tuple[str, int, float, float]], float, float]:
    """Launch a fleet of FLEET satellites; return the rows of its first satellite's processes
    (as ``measure``) and the mean PSS and USS of a satellite, once ready and settled."""
    import asyncio

    from common import logs
    from scenarios.config import FleetConfig
    from scenarios.launcher import Launcher

    with tempfile.TemporaryDirectory(prefix="ddmem-") as tmp:
        config = FleetConfig(per_plane=FLEET, rate=10.0, seed=7, app_hosting=app_hosting,
                             link={"isl": "none"})
        run = config.run_config(Path(tmp) / "run")
        logs.configure(run.run_dir, "BENCH", console=False)
        launcher = Launcher(run)
        launcher.fork_zygote()  # before any ZeroMQ context in this process

        async def settled() -> dict[str, list[int]]:
            await launcher.start(timeout_wall_s=READY_WALL_S + 5.0 * FLEET)
            trees = {name: [launcher.processes[name].pid,
                            *descendants(launcher.processes[name].pid)]
                     for name in run.satellites}
            await asyncio.to_thread(settle, [pid for pids in trees.values() for pid in pids])
            return trees

        async def main() -> tuple[dict[str, list[int]], dict[int, tuple[float, float]]]:
            try:
                trees = await settled()
                return trees, {pid: memory(pid) for pids in trees.values() for pid in pids}
            finally:
                await launcher.stop()

        trees, figures = asyncio.run(main())
    first = trees[run.satellites[0]]
    rows = [(("executive", "zygote")[index] if index < 2 else "app", pid, *figures[pid])
            for index, pid in enumerate(first)]
    per_satellite = [[figures[pid] for pid in pids] for pids in trees.values()]
    return (rows, sum(sum(f[0] for f in s) for s in per_satellite) / FLEET,
            sum(sum(f[1] for f in s) for s in per_satellite) / FLEET)


def print_rows(title: str, rows: list[tuple[str, int, float, float]]) -> float:
    """Print a satellite's processes and their total; return the total PSS."""
    print(f"{title}:")
    print(f"{'process':<10} {'pid':>7} {'PSS MiB':>8} {'USS MiB':>8}")
    for name, pid, pss, uss in rows:
        print(f"{name:<10} {pid:>7} {pss:>8.1f} {uss:>8.1f}")
    total_pss = sum(row[2] for row in rows)
    total_uss = sum(row[3] for row in rows)
    print(f"{'total':<10} {len(rows):>7} {total_pss:>8.1f} {total_uss:>8.1f}")
    print(f"of which shared with other processes (PSS - USS): {total_pss - total_uss:.1f} MiB; "
          f"private (USS): {total_uss:.1f} MiB\n")
    return total_pss


def main() -> int:
    print(f"hot path {compiled.describe()}\n")
    totals = {}
    for app_hosting in APP_HOSTINGS:
        rows = measure(app_hosting)
        totals[f"standalone, apps hosted {app_hosting}"] = print_rows(
            f"a satellite standalone, apps hosted {app_hosting}", rows)
    for app_hosting in APP_HOSTINGS:
        rows, pss, uss = in_fleet(app_hosting)
        print_rows(f"the first satellite of a fleet of {FLEET}, apps hosted {app_hosting}", rows)
        print(f"mean over the fleet's {FLEET} satellites: PSS {pss:.1f} MiB, USS {uss:.1f} MiB\n")
        totals[f"in a fleet of {FLEET}, apps hosted {app_hosting}"] = pss
    pss, uss = fresh_interpreter()
    print(f"baseline, one fresh interpreter importing the flight modules: "
          f"PSS {pss:.1f} MiB, USS {uss:.1f} MiB")
    ok = True
    for layout, total_pss in totals.items():
        met = total_pss <= TARGET_MIB
        ok &= met
        verdict = "PASS" if met else f"MISS by {total_pss - TARGET_MIB:.1f} MiB"
        print(f"satellite total PSS, {layout}: {total_pss:.1f} MiB, "
              f"target <= {TARGET_MIB:.0f} MiB: {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
