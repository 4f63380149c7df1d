"""Memory of one satellite: every process of ``dawndusk sat``, by proportional set size.

A satellite is an executive, its zygote and three app processes. The apps are forked from the
zygote, which the executive forked after importing everything, so they share those pages.
Printed per process: PSS (shared pages split among the processes that share them — the sum is
what the satellite really costs) and USS (pages private to the process). For comparison, the
same figures for a fresh interpreter that imports what a flight process imports.

Target (issue #3): ≤ 30 MiB for a whole satellite (sum of PSS).

Run: ``.venv/bin/python bench/memory.py``
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.runconfig import new_run
from tests.process.groundside import GroundSide
from tests.process.procs import descendants, kill_all, wait_gone

TARGET_MIB = 30.0


def memory(pid: int) -> tuple[float, float]:
    """(PSS, USS) of a process in MiB, from /proc/PID/smaps_rollup."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields[name] = int(rest.split()[0])
    uss = fields["Private_Clean"] + fields["Private_Dirty"]
    return fields["Pss"] / 1024, uss / 1024


def name_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[-60:]
    except OSError:
        return "?"


def fresh_interpreter() -> tuple[float, float]:
    code = ("import zmq, construct, msgpack, structlog, common.dictionary, common.bus, "
            "flight.registry; flight.registry.preload(); import sys; sys.stdout.write('ok\\n');"
            " sys.stdout.flush(); sys.stdin.read()")
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent)
    assert process.stdout is not None and process.stdout.readline() == b"ok\n"
    try:
        return memory(process.pid)
    finally:
        process.kill()
        process.wait()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="ddmem-") as tmp:
        run = new_run(Path(tmp) / "run", ("SAT-01",), rate=10.0)
        run.save()
        process = subprocess.Popen(
            [sys.executable, "-m", "scenarios.cli", "sat", "SAT-01", "--run-dir", run.run_dir],
            cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        ground = GroundSide(run, "SAT-01")
        try:
            ground.ping_until_alive()
            for app in ("HK", "COMPUTE", "FP"):
                ground.ping_until_alive(f"{app}.PING")
            time.sleep(1.0)  # let every process finish its start-up allocations
            pids = [process.pid, *sorted(descendants(process.pid))]
            total_pss = total_uss = 0.0
            print(f"{'pid':>7} {'PSS MiB':>8} {'USS MiB':>8}  process")
            for pid in pids:
                pss, uss = memory(pid)
                total_pss += pss
                total_uss += uss
                print(f"{pid:>7} {pss:>8.1f} {uss:>8.1f}  {name_of(pid)}")
            print(f"{'total':>7} {total_pss:>8.1f} {total_uss:>8.1f}  ({len(pids)} processes)")
        finally:
            ground.close()
            tree = descendants(process.pid)
            process.terminate()
            process.wait(5)
            kill_all(wait_gone(tree, 3.0))
    pss, uss = fresh_interpreter()
    print(f"for comparison, one fresh interpreter importing the flight modules: "
          f"PSS {pss:.1f} MiB, USS {uss:.1f} MiB")
    ok = total_pss <= TARGET_MIB
    print(f"satellite total PSS {total_pss:.1f} MiB, target <= {TARGET_MIB:.0f} MiB: "
          f"{'PASS' if ok else f'MISS by {total_pss - TARGET_MIB:.1f} MiB'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
