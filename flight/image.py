"""What a satellite's processes leave out of their interpreter image.

A satellite's apps are forked from a zygote holding everything the flight software imports, so
every module in that image costs memory in each satellite, whether flight code uses it or not
(issue #3, ``bench/memory.py``). The modules below are imported by libraries as optional extras
only, and each library works without them. Marking a module absent in ``sys.modules`` before
anything imports it makes that import fail as if it were not installed.
"""

from __future__ import annotations

import sys

#: Module → why a satellite does without it, and what takes its place.
LEFT_OUT = {
    "rich": "structlog's pretty console tracebacks and rendering; the satellite logs JSON lines",
    "ssl": "asyncio's TLS transports; no flight socket uses TLS (ZeroMQ does its own)",
    "_hashlib": "OpenSSL's hashes (and its 3 MiB library): hashlib and hmac fall back to "
                "CPython's own SHA-256, as fast for the 32-byte links of compute jobs and "
                "about 5x slower per byte on long inputs (3 ms a MiB of result file)",
}


def leave_out(*, console: bool = False) -> list[str]:
    """Keep the modules of ``LEFT_OUT`` out of this process; return those that were.

    Call first, before asyncio, structlog or hashlib is imported: a module already imported
    stays. With ``console`` (readable logs on standard error) rich stays available.
    """
    kept_out = []
    for name in LEFT_OUT:
        if name == "rich" and console:
            continue
        if sys.modules.setdefault(name, None) is None:  # type: ignore[arg-type]
            kept_out.append(name)
    return kept_out
