"""Ground control's telemetry ingest: housekeeping packets archived per second.

Every housekeeping packet that comes down is decoded, stored raw, its values stored by series,
kept as the latest, checked against the limits and published to operators
(``ground.control.ingest``). Measured here on the eight structures a satellite downlinks (EXEC,
HK, COMPUTE and FP status, HK's EPS, THERMAL, ORBIT and NODES) of SATELLITES satellites, one
packet of each per simulated second, with values inside their limits, into a real archive file,
committed every half wall second as ground control does, published on a real ZeroMQ socket.

Baseline, in the same run: storing the raw packets alone (``Archive.add_packet``), what any
archive of them costs at least. The two alternate, ROUNDS times; the best round of each counts.

Target: ingest as fast as first_light sends when all four satellites are in contact, eight
structures at 1 Hz at 600×: 19,200 packets/s (52 µs a packet).

Run: ``.venv/bin/python bench/ingest.py [--satellites 16] [--seconds 100] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgpack
import zmq

from common import compiled
from common.cuc import CucTime
from common.dictionary import DICTIONARY
from common.dictionary.model import Param, Structure
from common.dictionary.types import Bool, Enum
from common.packets import TmPacket, decode, encode
from common.zmqloop import send_parts
from ground.archive import Archive
from ground.control.alarms import Alarms
from ground.control.commanding import Commanding
from ground.control.ingest import Ingest

TARGET_PACKETS_S = 4 * 8 * 600
#: Ground control commits the archive this often (``ground.control.service.HELLO_WALL_S``).
COMMIT_WALL_S = 0.5
EPOCH = 1.8e9


def downlinked() -> list[Structure]:
    """The housekeeping structures satellites send down (not the hardware's sensor reports)."""
    return [s for s in DICTIONARY.structures.values()
            if not DICTIONARY.apps[s.name.split(".")[0]].onboard_only]


def value(param: Param, step: int) -> Any:
    """A value of ``param`` that changes with ``step`` and stays inside its limits."""
    kind = param.type
    if isinstance(kind, Enum):
        labels = list(kind.labels)
        return labels[step % len(labels)]
    if isinstance(kind, Bool):
        return bool(step % 2)
    low = max(0, kind.minimum)  # type: ignore[attr-defined]
    high = min(kind.maximum, low + 100)  # type: ignore[attr-defined]
    limits = param.limits
    if limits is not None:
        low = max(low, limits.warn_low if limits.warn_low is not None else low)
        high = min(high, limits.warn_high if limits.warn_high is not None else high)
    chosen = low + (step % 50) * (high - low) / 50
    return int(chosen) if isinstance(kind.minimum, int) else chosen  # type: ignore[attr-defined]


def packets(satellites: int, seconds: int) -> list[tuple[str, bytes]]:
    """(satellite, packet) of every structure of every satellite, second by second."""
    out = []
    structures = downlinked()
    counts: dict[tuple[int, int], int] = {}
    for second in range(seconds):
        stamp = CucTime.from_unix(EPOCH + second)
        for index in range(1, satellites + 1):
            for structure in structures:
                data = DICTIONARY.hk_app_data(
                    structure, {p.name: value(p, second + index) for p in structure.params})
                seq = counts.get((index, structure.apid), 0)
                counts[(index, structure.apid)] = (seq + 1) % 16384
                out.append((f"SAT-{index:02d}",
                            encode(TmPacket(structure.apid, 3, 25, data, seq, time=stamp))))
    return out


def store_raw(archive: Archive, stream: list[tuple[str, bytes]]) -> None:
    """The baseline: each packet stored raw, with the header fields the archive keeps."""
    next_commit = time.monotonic() + COMMIT_WALL_S
    for count, (satellite, data) in enumerate(stream):
        packet = decode(data, DICTIONARY.apids)
        assert isinstance(packet, TmPacket)
        stamp = packet.time
        archive.add_packet(satellite, packet.apid, packet.seq_count, "TM", packet.service,
                           packet.subtype, stamp.to_unix(), stamp.coarse, stamp.fine, EPOCH, 0,
                           data, "KSAT")
        if count % 100 == 0 and time.monotonic() > next_commit:
            archive.commit()
            next_commit = time.monotonic() + COMMIT_WALL_S
    archive.commit()


def ingest_all(archive: Archive, stream: list[tuple[str, bytes]], pub: zmq.Socket[Any]
               ) -> Ingest:
    """What ground control does with each packet, committed as it commits."""
    def publish(topic: str, message: dict[str, Any]) -> None:
        send_parts(pub, [topic.encode(), msgpack.packb(message, default=str)])

    satellites = sorted({satellite for satellite, _ in stream})
    commanding = Commanding(archive, satellites, lambda: EPOCH, lambda *_: None,
                            lambda *_: False, lambda *_: None)
    ingest = Ingest(archive, commanding, Alarms(archive, publish), lambda: EPOCH, publish,
                    None, auto_downlink=False)
    next_commit = time.monotonic() + COMMIT_WALL_S
    for count, (satellite, data) in enumerate(stream):
        ingest.packet(satellite, 0, "KSAT", data, EPOCH)
        if count % 100 == 0 and time.monotonic() > next_commit:
            archive.commit()
            next_commit = time.monotonic() + COMMIT_WALL_S
    archive.commit()
    return ingest


def timed(run: Any, *args: Any) -> tuple[float, Any]:
    """Run ``run(archive, *args)`` on a new archive file; return (wall seconds, result)."""
    with tempfile.TemporaryDirectory(prefix="ddingest-") as tmp:
        archive = Archive(Path(tmp) / "archive.sqlite")
        try:
            start = time.perf_counter()
            result = run(archive, *args)
            return time.perf_counter() - start, result
        finally:
            archive.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--satellites", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    stream = packets(options.satellites, options.seconds)
    values = sum(len(s.params) for s in downlinked()) * options.satellites * options.seconds
    print(f"{len(stream):,} housekeeping packets ({values:,} values): {options.satellites} "
          f"satellites x {len(downlinked())} structures x {options.seconds} s; "
          f"hot path {compiled.describe()}")
    context = zmq.Context()
    pub = context.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    best = {"raw packets (baseline)": float("inf"), "ingest": float("inf")}
    try:
        with tempfile.TemporaryDirectory(prefix="ddingest-") as tmp:
            pub.bind(f"ipc://{tmp}/pub")
            for _ in range(options.rounds):
                took, _ = timed(store_raw, stream)
                best["raw packets (baseline)"] = min(best["raw packets (baseline)"], took)
                took, ingest = timed(ingest_all, stream, pub)
                best["ingest"] = min(best["ingest"], took)
                assert ingest.counters["packets"] == len(stream), dict(ingest.counters)
    finally:
        pub.close()
        context.term()
    for name, took in best.items():
        print(f"{name:<24} {len(stream) / took:>9,.0f} packets/s  "
              f"{1e6 * took / len(stream):6.1f} µs a packet")
    ratio = best["raw packets (baseline)"] / best["ingest"]
    rate = len(stream) / best["ingest"]
    verdict = "PASS" if rate >= TARGET_PACKETS_S else \
        f"MISS by {100 * (1 - rate / TARGET_PACKETS_S):.0f} %"
    print(f"ingest vs baseline: {ratio:.2f}x the baseline's rate")
    print(f"ingest {rate:,.0f} packets/s, target >= {TARGET_PACKETS_S:,} packets/s "
          f"(4 satellites x 8 structures at 600x): {verdict}")
    return 0 if rate >= TARGET_PACKETS_S else 1


if __name__ == "__main__":
    sys.exit(main())
