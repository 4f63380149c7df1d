"""Process control of a run: every process tells the launcher when it is ready.

A process that is ready sends ``{"process": name, "pid": pid, "state": "ready"}`` (msgpack) on a
PUSH socket to the run's ``control`` endpoint, which the launcher binds. Started by hand, with
no launcher listening, the message simply goes nowhere.
"""

from __future__ import annotations

import os
from typing import Any

import msgpack
import zmq

from common.endpoints import Endpoints


def report(context: zmq.Context[Any], endpoints: Endpoints, process: str,
           state: str = "ready", **detail: Any) -> None:
    """Tell the launcher (if any) that ``process`` is ``state``."""
    sock = context.socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, 2000)
    sock.setsockopt(zmq.IMMEDIATE, 0)
    try:
        sock.connect(endpoints.control())
        sock.send(msgpack.packb({"process": process, "pid": os.getpid(), "state": state,
                                 **detail}), zmq.NOBLOCK)
    except zmq.ZMQError:
        pass
    finally:
        sock.close()
