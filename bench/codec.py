"""Encode and decode rates of a TM[3,25] housekeeping report with 64 bytes of parameters.

Compared, in the same run, with a hand-written ``struct`` codec (the ceiling) and with
spacepackets' ``PusTm`` (plus ``struct`` for the parameters, so that every decoder ends with
named values). Targets (issue #2): decode ≥ 0.15× the struct baseline and ≥ 3× spacepackets.

Run: ``.venv/bin/python bench/codec.py [--seconds 0.3] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import binascii
import functools
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spacepackets.ecss import PusTm

from common import compiled
from common.cuc import CucTime
from common.dictionary.model import Param, Structure
from common.dictionary.registry import Dictionary
from common.dictionary.standard import define_app
from common.dictionary.types import Float, UInt
from common.packets import TmPacket, decode, encode

# 12 float32 and 4 uint32: 64 bytes of parameters after the 2-byte structure ID.
_PARAMS = tuple(Param("BENCH", f"F{i}", Float(32), "float") for i in range(12)) + tuple(
    Param("BENCH", f"U{i}", UInt(32), "count") for i in range(4)
)
APP = define_app(
    "BENCH", 0x100, "Bench", "A 64-byte housekeeping structure.",
    structures=(Structure(2, "REPORT", "64 bytes of parameters", _PARAMS),),
)
DICTIONARY = Dictionary([APP])
STRUCTURE = DICTIONARY.structures["BENCH.REPORT"]
VALUES = {p.name: (1.5 * i if p.type.kind == "float" else 1000 + i) for i, p in enumerate(_PARAMS)}
TIME = CucTime(2_100_000_000, 1234)
NAMES = [p.name for p in _PARAMS]

# --- ours ----------------------------------------------------------------------------------------


def ours_encode() -> bytes:
    data = DICTIONARY.hk_app_data(STRUCTURE, VALUES)
    return encode(TmPacket(0x100, 3, 25, data, 42, 7, 1, TIME))


def ours_decode(packet: bytes) -> dict:
    tm = decode(packet)
    assert isinstance(tm, TmPacket)
    return DICTIONARY.decode_tm(tm).values


# --- hand-written struct baseline ---------------------------------------------------------------

_HEADER = struct.Struct(">HHHBBBHHIH")
_BODY = struct.Struct(">H12f4I")


def struct_encode() -> bytes:
    body = _BODY.pack(2, *(VALUES[n] for n in NAMES))
    length = 19 + len(body) + 2
    head = _HEADER.pack(0x0800 | 0x100, 0xC000 | 42, length - 7, 0x20, 3, 25, 7, 1,
                        TIME.coarse, TIME.fine)
    packet = head + body
    return packet + binascii.crc_hqx(packet, 0xFFFF).to_bytes(2, "big")


def struct_decode(packet: bytes) -> dict:
    if binascii.crc_hqx(packet, 0xFFFF):
        raise ValueError("crc")
    head = _HEADER.unpack_from(packet)
    if head[2] + 7 != len(packet) or head[4:6] != (3, 25) or head[3] >> 4 != 2:
        raise ValueError("header")
    _header = (head[0] & 0x7FF, head[1] & 0x3FFF, head[6], head[7], CucTime.from_wire(*head[8:]))
    _sid, *values = _BODY.unpack_from(packet, 19)
    return dict(zip(NAMES, values, strict=True))


# --- spacepackets --------------------------------------------------------------------------------

_PARAMS_ONLY = struct.Struct(">12f4I")


def spacepackets_encode() -> bytes:
    body = (2).to_bytes(2, "big") + _PARAMS_ONLY.pack(*(VALUES[n] for n in NAMES))
    return PusTm(3, 25, timestamp=TIME.pack(), source_data=body, apid=0x100, seq_count=42,
                 message_counter=7, destination_id=1).pack()


def spacepackets_decode(packet: bytes) -> dict:
    tm = PusTm.unpack(packet, timestamp_len=6)
    return dict(zip(NAMES, _PARAMS_ONLY.unpack_from(tm.source_data, 2), strict=True))


# --- construct forms of the TM header, to justify the layout path --------------------------------


def header_forms() -> dict[str, Callable[[bytes], object]]:
    """Three ways to parse the 19-byte TM header with construct, and our layout path."""
    from construct import BitsInteger, BitStruct, Computed, Int8ub, Int16ub, Int32ub, Struct, this

    from common.packets import TM_HEADER

    bits = Struct(
        "primary" / BitStruct(
            "version" / BitsInteger(3), "type" / BitsInteger(1), "sec" / BitsInteger(1),
            "apid" / BitsInteger(11), "flags" / BitsInteger(2), "count" / BitsInteger(14),
            "length" / BitsInteger(16),
        ),
        "secondary" / BitStruct("pus" / BitsInteger(4), "ref" / BitsInteger(4)),
        "service" / Int8ub, "subtype" / Int8ub, "counter" / Int16ub, "dest" / Int16ub,
        "coarse" / Int32ub, "fine" / Int16ub,
    )
    words = Struct(
        "w0" / Int16ub, "w1" / Int16ub, "length" / Int16ub, "pus" / Int8ub, "service" / Int8ub,
        "subtype" / Int8ub, "counter" / Int16ub, "dest" / Int16ub, "coarse" / Int32ub,
        "fine" / Int16ub, "apid" / Computed(this.w0 & 0x7FF), "count" / Computed(this.w1 & 0x3FFF),
    ).compile()
    return {
        "construct BitStruct": bits.parse,
        "construct compiled words": words.parse,
        "dawndusk layout (struct path)": TM_HEADER.unpack,
    }


# --- measurement ---------------------------------------------------------------------------------


def rate(fn: Callable[[], object], seconds: float, repeat: int) -> float:
    """Best calls per second over ``repeat`` runs of about ``seconds`` each."""
    batch = 200
    best = 0.0
    for _ in range(repeat):
        calls = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(batch):
                fn()
            calls += batch
        best = max(best, calls / elapsed)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.3)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()

    packet = ours_encode()
    assert packet == struct_encode() == spacepackets_encode(), "the three encoders disagree"
    expected = ours_decode(packet)
    assert struct_decode(packet) == expected == spacepackets_decode(packet)
    print(f"TM[3,25]: {len(packet)} bytes, 64 bytes of parameters ({len(NAMES)} parameters); "
          f"hot path {compiled.describe()}")

    results = {}
    for name, enc, dec in (
        ("struct (baseline)", struct_encode, struct_decode),
        ("spacepackets", spacepackets_encode, spacepackets_decode),
        ("dawndusk", ours_encode, ours_decode),
    ):
        results[name] = (
            rate(enc, options.seconds, options.repeat),
            rate(functools.partial(dec, packet), options.seconds, options.repeat),
        )
        enc_rate, dec_rate = results[name]
        print(f"{name:<18} encode {enc_rate:>10,.0f}/s   decode {dec_rate:>10,.0f}/s")

    print("TM header parse only:")
    for label, parse in header_forms().items():
        parsed = rate(functools.partial(parse, packet), options.seconds, 3)
        print(f"  {label:<30} {parsed:>10,.0f}/s")

    base_enc, base_dec = results["struct (baseline)"]
    sp_enc, sp_dec = results["spacepackets"]
    our_enc, our_dec = results["dawndusk"]
    checks = [
        ("decode vs struct baseline", our_dec / base_dec, 0.15),
        ("decode vs spacepackets", our_dec / sp_dec, 3.0),
    ]
    print(f"encode vs struct baseline: {our_enc / base_enc:.2f}x   "
          f"encode vs spacepackets: {our_enc / sp_enc:.2f}x   (no target)")
    failed = 0
    for label, ratio, target in checks:
        ok = ratio >= target
        failed += not ok
        print(f"{label}: {ratio:.2f}x   target >= {target}x   {'PASS' if ok else 'MISS'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
