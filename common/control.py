"""Process control of a run: every process tells the launcher when it is ready.

A process that is ready sends ``{"process": name, "pid": pid, "state": "ready"}`` (msgpack) on a
PUSH socket to the run's ``control`` endpoint, which the launcher binds. Started by hand, with
no launcher listening, the message simply goes nowhere.
"""

from __future__ import annotations

import os
import weakref
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


#: One reporting socket per context, kept open: closing a PUSH right after its last send can
#: lose what it sent on ipc (libzmq issue 4660) — a launcher would then wait for a "ready"
#: that never comes. It goes when the context is destroyed.
_sockets: weakref.WeakKeyDictionary[zmq.Context[Any], zmq.Socket[Any]] = \
    weakref.WeakKeyDictionary()


def report(context: zmq.Context[Any], endpoints: Endpoints, process: str,
           state: str = "ready", **detail: Any) -> None:
    """Tell the launcher (if any) that ``process`` is ``state``."""
    sock = _sockets.get(context)
    try:
        if sock is None or sock.closed:
            sock = context.socket(zmq.PUSH)
            sock.setsockopt(zmq.LINGER, 2000)
            sock.connect(endpoints.control())
            _sockets[context] = sock
        sock.send(msgpack.packb({"process": process, "pid": os.getpid(), "state": state,
                                 **detail}), zmq.NOBLOCK)
    except zmq.ZMQError:
        pass
