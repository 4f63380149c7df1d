"""Warm the preloaded image before forking, so that children share what they would each build.

A child forked from a preloaded parent shares its pages until it writes them. It writes far
more than its own data: objects built on first use (the dictionary's field codecs, construct's
compiled parsers), and on CPython 3.11 the bytecode of every function it runs, which the
specialising interpreter rewrites in place during its first calls. Doing that work once in
the parent, before the fork, leaves it in shared pages.

Nothing here may create a ZeroMQ context or a thread: a context does not survive a fork.
"""

from __future__ import annotations

import asyncio
import time

from common.cuc import CucTime
from common.dictionary import DICTIONARY
from common.dictionary.model import Command, Event, Report, Structure
from common.dictionary.standard import STANDARD_REPORTS
from common.packets import TmPacket, decode, encode, encode_tm

#: Calls that make CPython 3.11 quicken and specialise a function (it takes 8; a margin).
ROUNDS = 64


def build_codecs() -> int:
    """Build every field codec of the dictionary, compile the variable layouts and make the
    structures' cached names; return how many codecs there are."""
    owners: tuple[Command | Structure | Event | Report, ...] = (
        *DICTIONARY.commands.values(), *DICTIONARY.structures.values(),
        *DICTIONARY.events.values(), *DICTIONARY.reports.values(), *STANDARD_REPORTS,
    )
    for owner in owners:
        if isinstance(owner, Structure):
            owner.param_names  # noqa: B018 - cached on first use: made here, shared
            for param in owner.params:
                getattr(param.type, "names", None)  # an enum's decoding table, likewise
        codec = DICTIONARY.codec(owner)
        if codec.layout.fixed is None:
            codec.layout._compile()  # construct's code generation, once for every child
    return len(owners)


def exercise_packets(rounds: int = ROUNDS) -> None:
    """Encode and decode the packets every app sends and receives, ``rounds`` times."""
    ping = DICTIONARY.command("EXEC.PING")
    alive = DICTIONARY.standard_report(17, 2)
    for count in range(rounds):
        tc = DICTIONARY.encode_command(ping.name, seq_count=count)
        DICTIONARY.decode_command(decode(encode(tc), DICTIONARY.apids))  # type: ignore[arg-type]
        _round_trip(ping.apid, 17, 2, DICTIONARY.report_app_data(alive, {}), count)


def exercise_structures(rounds: int = ROUNDS) -> None:
    """Encode and decode a report of every fixed-size housekeeping structure, ``rounds`` times:
    every app encodes its own and decodes the hardware's (enums, booleans and times included)."""
    samples = []
    for structure in DICTIONARY.structures.values():
        codec = DICTIONARY.codec(structure)
        if codec.layout.size is not None:
            samples.append((structure, codec.decode(bytes(codec.layout.size))))  # fields at 0
    for count in range(rounds):
        for structure, values in samples:
            _round_trip(structure.apid, 3, 25, DICTIONARY.hk_app_data(structure, values), count)


def _round_trip(apid: int, service: int, subtype: int, app_data: bytes, count: int) -> None:
    """Encode a TM packet stamped now, then decode it and its values as a receiver does."""
    tm = TmPacket(apid, service, subtype, app_data, count, count, 0,
                  CucTime.from_unix(time.time()))
    DICTIONARY.decode_tm(decode(encode_tm(tm), DICTIONARY.apids))  # type: ignore[arg-type]


async def _spin(rounds: int) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(rounds):
        future = loop.create_future()
        loop.call_soon(future.set_result, None)
        await future
        await asyncio.sleep(0)


def exercise_event_loop(rounds: int = ROUNDS) -> None:
    """Run an asyncio event loop through ``rounds`` callbacks, futures and sleeps."""
    asyncio.run(_spin(rounds))


_warm = False


def warm_up() -> None:
    """Everything above (call after importing the apps, before forking the zygote), once per
    image: a process forked from a warmed parent (an executive of a fleet) inherits it warm."""
    global _warm
    if _warm:
        return
    _warm = True
    build_codecs()
    exercise_packets()
    exercise_structures()
    exercise_event_loop()

