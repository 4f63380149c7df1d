"""Packets per second from one app through a satellite bus to another, and what was lost.

Three processes: the bus proxy (as the executive runs it), a sender and a receiver. Measured in
the same run:

* dawndusk: the sender encodes HK.EPS housekeeping reports (TM[3,25]) with the dictionary and
  publishes them with ``common.bus.Publisher`` (batched, XPUB_NODROP); the receiver drains with
  ``common.zmqloop``, splits, decodes each packet and its parameters, and counts sequence gaps.
* raw pyzmq: the same bytes, one PUB message per packet, drained by a SUB with NOBLOCK, no
  decoding — the baseline.

Target (issue #3): ≥ 100,000 packets/s end to end, with every lost packet counted.

Run: ``.venv/bin/python bench/bus.py [--packets 300000]``
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import compiled

TARGET = 100_000
SATELLITE = "SAT-01"


def _endpoints(directory: str) -> tuple[str, str]:
    return f"ipc://{directory}/bus.in", f"ipc://{directory}/bus.out"


def _eps_values() -> dict[str, Any]:
    from common.dictionary import DICTIONARY

    structure = DICTIONARY.structures["HK.EPS"]
    values: dict[str, Any] = {p.name: 12.5 + i for i, p in enumerate(structure.params)}
    values["EPS.CELLS_FAILED"] = 0
    return values


# --- processes -----------------------------------------------------------------------------------


def proxy_process(directory: str, ready: Any, stop: Any) -> None:
    import zmq

    from common.bus import BusProxy

    context = zmq.Context()
    proxy = BusProxy(context, *_endpoints(directory))
    proxy.start()
    ready.set()
    stop.wait()
    proxy.stop()
    context.term()


def ours_receiver(directory: str, expected: int, ready: Any, result: Any) -> None:
    import zmq

    from common import bus
    from common.dictionary import DICTIONARY
    from common.framing import iter_frames
    from common.packets import TmPacket, decode
    from common.sequence import GapCounter
    from common.zmqloop import Readable, drain

    async def main() -> None:
        context = zmq.Context()
        subscriber = bus.Subscriber(context, _endpoints(directory)[1])
        subscriber.subscribe(bus.topic(SATELLITE, bus.TM))
        gaps = GapCounter()
        state = {"received": 0, "first": 0.0, "last": 0.0, "errors": 0}
        done = asyncio.Event()
        decode_tm = DICTIONARY.decode_tm
        apids = DICTIONARY.apids

        def on_input() -> None:
            for _topic, payload in drain(subscriber.socket, 2000):
                for frame in iter_frames(payload):
                    try:
                        packet = decode(frame.data, apids)
                        assert isinstance(packet, TmPacket)
                        decode_tm(packet)
                    except Exception:
                        state["errors"] += 1
                        continue
                    gaps.observe(packet.apid, packet.seq_count)
                    if state["received"] == 0:
                        state["first"] = time.perf_counter()
                    state["received"] += 1
                    state["last"] = time.perf_counter()
                    if state["received"] >= expected:
                        done.set()

        readable = Readable(subscriber.socket, on_input)
        ready.set()
        try:
            await asyncio.wait_for(done.wait(), 60.0)
        except TimeoutError:
            pass
        # Anything not received by now is lost: wait a moment for stragglers, then count.
        await asyncio.sleep(0.2)
        readable.close()
        subscriber.close()
        context.term()
        elapsed = max(state["last"] - state["first"], 1e-9)
        result.put({"received": state["received"], "rate": state["received"] / elapsed,
                    "gaps": gaps.missing, "errors": state["errors"]})

    asyncio.run(main())


def ours_sender(directory: str, count: int, go: Any, result: Any) -> None:
    import zmq

    from common import bus
    from common.cuc import CucTime
    from common.dictionary import DICTIONARY
    from common.packets import TmPacket, encode_tm
    from common.sequence import SequenceCounter

    async def main() -> None:
        context = zmq.Context()
        publisher = bus.Publisher(context, _endpoints(directory)[0])
        structure = DICTIONARY.structures["HK.EPS"]
        topic = bus.topic(SATELLITE, bus.TM, structure.apid)
        values = _eps_values()
        seq = SequenceCounter()
        hk_app_data = DICTIONARY.hk_app_data
        go.wait()
        start = time.perf_counter()
        sim = 1.8e9
        for chunk in range(0, count, 1000):
            for i in range(chunk, min(chunk + 1000, count)):
                data = hk_app_data(structure, values)
                packet = encode_tm(TmPacket(structure.apid, 3, 25, data, seq.next(structure.apid),
                                            i & 0xFFFF, 1, CucTime.from_unix(sim + i * 0.001)))
                publisher.send(topic, packet)
            await asyncio.sleep(0)  # let the batch go, as an app's loop would
        elapsed = time.perf_counter() - start
        while publisher.backlog:
            await asyncio.sleep(0.001)
        publisher.close()
        context.term()
        result.put({"sent": count, "rate": count / elapsed, "dropped": publisher.dropped,
                    "frames": publisher.frames})

    asyncio.run(main())


def raw_receiver(directory: str, expected: int, ready: Any, result: Any) -> None:
    import zmq

    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 20_000)
    sub.setsockopt(zmq.SUBSCRIBE, f"{SATELLITE}/RAW/".encode())
    sub.connect(_endpoints(directory)[1])
    ready.set()
    received = 0
    first = last = 0.0
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    while received < expected:
        if not poller.poll(1000):
            break
        while True:
            try:
                sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if received == 0:
                first = time.perf_counter()
            received += 1
            last = time.perf_counter()
    sub.close(0)
    context.term()
    result.put({"received": received, "rate": received / max(last - first, 1e-9)})


def raw_sender(directory: str, count: int, go: Any, result: Any) -> None:
    import zmq

    from common.cuc import CucTime
    from common.dictionary import DICTIONARY
    from common.packets import TmPacket, encode_tm

    context = zmq.Context()
    pub = context.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 20_000)
    pub.connect(_endpoints(directory)[0])
    structure = DICTIONARY.structures["HK.EPS"]
    packet = encode_tm(TmPacket(structure.apid, 3, 25,
                                DICTIONARY.hk_app_data(structure, _eps_values()), 0, 0, 1,
                                CucTime.from_unix(1.8e9)))
    topic = f"{SATELLITE}/RAW/020".encode()
    go.wait()
    start = time.perf_counter()
    for _ in range(count):
        pub.send_multipart((topic, packet))
    elapsed = time.perf_counter() - start
    pub.close(linger=2000)
    context.term()
    result.put({"sent": count, "rate": count / elapsed})


# --- orchestration -------------------------------------------------------------------------------


def _wait_for_dataflow(directory: str, kind: str, receiver_ready: Any) -> None:
    """Publish probes on the measured topic until the proxy passes them (the subscription is
    live): the PUB/SUB join is a handshake, not a sleep."""
    import zmq

    context = zmq.Context()
    pub = context.socket(zmq.PUB)
    pub.connect(_endpoints(directory)[0])
    sub = context.socket(zmq.SUB)
    topic = f"{SATELLITE}/{'RAW' if kind == 'raw' else 'TM'}/7FE".encode()
    sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.connect(_endpoints(directory)[1])
    receiver_ready.wait(10)
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            pub.send_multipart((topic, b"probe"))
            if sub.poll(20):
                return
        raise SystemExit("the bus never passed a probe through")
    finally:
        pub.close(0)
        sub.close(0)
        context.term()


def measure(kind: str, count: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="ddbus-", dir="/tmp") as directory:
        proxy_ready, stop = ctx.Event(), ctx.Event()
        proxy = ctx.Process(target=proxy_process, args=(directory, proxy_ready, stop))
        proxy.start()
        proxy_ready.wait(10)
        receiver_ready, go = ctx.Event(), ctx.Event()
        results: Any = ctx.Queue()
        sender_results: Any = ctx.Queue()
        receive, send = (ours_receiver, ours_sender) if kind == "ours" else (
            raw_receiver, raw_sender)
        receiver = ctx.Process(target=receive, args=(directory, count, receiver_ready, results))
        sender = ctx.Process(target=send, args=(directory, count, go, sender_results))
        receiver.start()
        sender.start()
        try:
            _wait_for_dataflow(directory, kind, receiver_ready)
            time.sleep(0.3)  # let the sender's own connection settle (raw PUB has no handshake)
            go.set()
            sent = sender_results.get(timeout=120)
            got = results.get(timeout=120)
        finally:
            for process in (sender, receiver):
                process.join(30)
                if process.is_alive():
                    process.kill()
            stop.set()
            proxy.join(10)
            if proxy.is_alive():
                proxy.kill()
    return {"sent": sent, "received": got}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=300_000)
    options = parser.parse_args()
    raw = measure("raw", options.packets)
    ours = measure("ours", options.packets)

    raw_lost = raw["sent"]["sent"] - raw["received"]["received"]
    ours_lost = ours["sent"]["sent"] - ours["received"]["received"]
    counted = ours["received"]["gaps"] + ours["sent"]["dropped"]
    print(f"packets: {options.packets:,} HK.EPS TM[3,25] (60 bytes each); "
          f"hot path {compiled.describe()}")
    print(f"raw pyzmq PUB->proxy->SUB : {raw['received']['rate']:>10,.0f} packets/s received, "
          f"lost {raw_lost} (uncounted by design)")
    print(f"dawndusk bus (enc+dec)    : {ours['received']['rate']:>10,.0f} packets/s received, "
          f"lost {ours_lost}, counted as lost {counted} "
          f"(gaps {ours['received']['gaps']}, publisher drops {ours['sent']['dropped']}), "
          f"decode errors {ours['received']['errors']}")
    print(f"  sender encode+publish   : {ours['sent']['rate']:>10,.0f} packets/s in "
          f"{ours['sent']['frames']:,} frames")
    ratio = ours["received"]["rate"] / raw["received"]["rate"]
    print(f"dawndusk / raw: {ratio:.2f}x")
    rate_ok = ours["received"]["rate"] >= TARGET
    silent = ours_lost - counted
    print(f"target >= {TARGET:,} packets/s: {'PASS' if rate_ok else 'MISS'}; "
          f"silent loss {silent}: {'PASS' if silent == 0 else 'MISS'}")
    return 0 if rate_ok and silent == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
