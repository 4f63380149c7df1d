"""Extended fuzzing of every parser: many random and mutated inputs, zero crashes expected.

Each input must either parse or be refused with the parser's own error type; anything else is a
crash and is printed. The unit suite runs a few hundred examples per parser; this runs as many
as asked (default 200,000 in total).

Run: ``.venv/bin/python bench/fuzz.py [--inputs 200000] [--seed 1]``
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgpack

from common.clock import ClockState
from common.dictionary import DICTIONARY
from common.errors import PacketError
from common.framing import PacketFramer
from common.packets import TcPacket, decode, encode
from common.radio import FrameError, RadioFrame
from common.sdls import SecurityError, Verifier
from ground.protocol import RequestError, validate

SEEDS = [encode(DICTIONARY.encode_command(name)) for name in list(DICTIONARY.commands)[:40]
         if not DICTIONARY.command(name).args]


def mutated(rng: random.Random) -> bytes:
    data = bytearray(rng.choice(SEEDS))
    for _ in range(rng.randrange(1, 4)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data[: len(data) - rng.randrange(0, 3)])


def packet(rng: random.Random) -> None:
    data = mutated(rng) if rng.random() < 0.6 else rng.randbytes(rng.randrange(0, 200))
    try:
        parsed = decode(data, DICTIONARY.apids)
        if isinstance(parsed, TcPacket):
            DICTIONARY.decode_command(parsed)
        else:
            DICTIONARY.decode_tm(parsed)
    except PacketError:
        pass


def framer(rng: random.Random) -> None:
    PacketFramer().feed(rng.randbytes(rng.randrange(0, 300)))


def radio(rng: random.Random) -> None:
    try:
        RadioFrame.from_multipart([rng.randbytes(rng.randrange(0, 12))
                                   for _ in range(rng.randrange(0, 5))])
    except FrameError:
        pass


def request(rng: random.Random) -> None:
    try:
        value = msgpack.unpackb(rng.randbytes(rng.randrange(0, 40)), strict_map_key=False)
    except Exception:  # not msgpack at all: ground control refuses those before validate
        return
    try:
        validate(value)
    except RequestError:
        pass


def clock(rng: random.Random) -> None:
    try:
        ClockState.unpack(rng.randbytes(rng.randrange(0, 80)))
    except ValueError:
        pass


VERIFIER = Verifier("SAT-01", {1: b"k" * 32}, 1)


def sdls(rng: random.Random) -> None:
    try:
        VERIFIER.verify(rng.randbytes(rng.randrange(0, 120)))
    except SecurityError:
        pass


TARGETS = {"packet+dictionary": packet, "framer": framer, "radio frame": radio,
           "operator request": request, "clock message": clock, "SDLS verify": sdls}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    crashes: Counter[str] = Counter()
    per_target = options.inputs // len(TARGETS)
    start = time.perf_counter()
    for name, target in TARGETS.items():
        for _ in range(per_target):
            try:
                target(rng)
            except Exception:
                crashes[name] += 1
                if crashes[name] <= 3:
                    traceback.print_exc()
        print(f"{name:<20} {per_target:>8,} inputs  {crashes[name]} crashes")
    elapsed = time.perf_counter() - start
    total = sum(crashes.values())
    print(f"{per_target * len(TARGETS):,} inputs in {elapsed:.1f} s; crashes {total} "
          f"(target 0): {'PASS' if total == 0 else 'MISS'}")
    return 0 if total == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
