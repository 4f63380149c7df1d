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


class ControlError(ValueError):
    """A message on the control socket that is not a process report."""


def parse_report(frames: list[bytes]) -> dict[str, Any]:
    """A process report from received frames; raises :class:`ControlError`."""
    if len(frames) != 1:
        raise ControlError(f"a report is one frame, not {len(frames)}")
    try:
        message = msgpack.unpackb(frames[0])
    except (ValueError, msgpack.UnpackException) as exc:
        raise ControlError(f"not msgpack: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("process"), str) \
            or not isinstance(message.get("state"), str):
        raise ControlError(f"not a report: {str(message)[:80]}")
    return message


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
