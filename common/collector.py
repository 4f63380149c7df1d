"""The garbage collector in a process of a run, once the process is up.

CPython collects its youngest generation after every 700 net allocations of containers, and
older generations as those collections pile up, walking every object still there. A flight
process makes a tuple, list or dict for nearly every packet and frees almost all of them at
once, so at 1000x the collector ran hundreds of times a second, and each older collection
walked the dictionary, the codecs, the apps and their buffers again: what start-up built and
the process keeps until it ends.

So, once a process is up, :func:`settle` moves everything it has into the collector's permanent
generation (``gc.freeze``: never walked again; a forked child's pages are not touched by it
either) and collects the youngest generation less often. Cycles are still collected.
Measured with ``bench/fleet.py`` (4 satellites in one flight process at 1000x, timers coalesced
over 10 ms, same session): flight CPU 0.72–0.78 cores before, 0.66–0.69 after.

The youngest generation is collected after 100,000 net allocations, not 10,000: what a flight
process holds for a while — the packets its apps decoded once for all of them
(``flight.framework.decoded``), the messages waiting for an app — is some 25,000 young
containers at any moment, and every young collection walked them all (~9 ms of CPU; measured
with a callback on ``gc.callbacks``), though it found next to nothing to free (43 objects in
40 s). 100 satellites at 100x, four to a flight process: ~5 % of the flight processes' CPU
(perf) went to it. Alternately with 10,000: median stream 99-101x against 96x, reports
99.8-101.5 % against 96.8 %.
"""

from __future__ import annotations

import gc

#: Net container allocations between collections of the youngest generation (CPython: 700).
YOUNG_ALLOCATIONS = 100_000
#: Young collections per middle one, middle per old one (CPython: 10 and 10).
MIDDLE_EVERY = 20
OLD_EVERY = 100


def settle() -> None:
    """Call once the process has started: freeze what it holds, collect less often."""
    gc.freeze()
    gc.set_threshold(YOUNG_ALLOCATIONS, MIDDLE_EVERY, OLD_EVERY)
