"""Uplinked telecommands reach a supervised app only when it is on the bus to read them.

The bus is PUB/SUB: a telecommand published while its app is starting, backing off after an
exit, or stopped would be dropped by ZeroMQ without a trace, and the ground would wait for a
verification report that never comes. So the executive passes every telecommand for a
supervised app through this gate: those uplinked, and the onboard ones apps send each other
(fault protection's actions, the compute manager's power switching), which reach the bus by
way of the executive (topic kind ``OTC``) for this reason:

- its app is running (it announced itself ready, so its subscription is live): published;
- its app is coming back (starting, backing off, being restarted): held, in order, and
  published the moment it announces itself ready;
- its app is stopped by command, is shut down, already has :data:`HOLD_MAX` held, or a held
  command waited past its hold time (:func:`hold_s`, simulated) *and* the ready timeout in
  wall seconds: refused with TM[1,2] (``APP_NOT_RUNNING``, ``BUSY`` when full, ``TIMEOUT`` when
  expired) to the telecommand's source (the ground, or the app that sent it), counted and
  raised as the executive's ``COMMAND_REJECTED``.

A telecommand already published to an app that then hangs or is killed is the app's to lose
(its process's input goes with it); the ground's verification timeout covers that.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from common.dictionary import FailureCode
from common.packets import TcPacket
from common.runconfig import Timing

if TYPE_CHECKING:
    from flight.executive.supervisor import Supervisor

#: Telecommands held per app while it comes back; more are refused as BUSY.
HOLD_MAX = 64
#: Simulated seconds a held telecommand may wait at least.
HOLD_S = 120.0


def hold_s(timing: Timing) -> float:
    """How long a held telecommand may wait, simulated: past the longest restart back-off and
    the longest start the executive lets an app take before killing it."""
    return max(HOLD_S, timing.restart_backoff_max_s + 2 * timing.heartbeat_timeout_s)


class Sender(Protocol):
    """What the gate needs of the executive."""

    def publish_tc(self, apid: int, data: bytes) -> None: ...

    def refuse_command(self, tc: TcPacket, code: FailureCode, detail: str,
                       data: int = 0) -> None: ...


@dataclass
class Held:
    """A telecommand waiting for its app."""

    tc: TcPacket
    data: bytes
    since_sim: float
    since_wall: float


class CommandGate:
    """Holds or refuses the telecommands of apps not on the bus (see the module)."""

    def __init__(self, sender: Sender, supervisor: Supervisor, apids: dict[int, str],
                 ready_timeout_wall_s: float, hold_s: float = HOLD_S) -> None:
        self.sender = sender
        self.supervisor = supervisor
        #: APID → supervised app name (other APIDs are published as they come).
        self.apids = apids
        self.ready_timeout_wall_s = ready_timeout_wall_s
        self.hold_s = hold_s
        self.held: dict[str, deque[Held]] = {}
        #: Telecommands held so far, and refused for an app not running (all reasons).
        self.held_total = 0
        self.refused_total = 0

    def route(self, tc: TcPacket, data: bytes, now_sim: float) -> None:
        """Publish, hold or refuse one telecommand (uplinked or onboard)."""
        name = self.apids.get(tc.apid)
        if name is None:
            self.sender.publish_tc(tc.apid, data)
            return
        if self.supervisor.on_bus(name):
            self.ready(name)  # (none wait once it is ready; kept in order all the same)
            self.sender.publish_tc(tc.apid, data)
            return
        if not self.supervisor.coming_back(name):
            self._refuse(tc, FailureCode.APP_NOT_RUNNING, self._why(name))
            return
        queue = self.held.setdefault(name, deque())
        if len(queue) >= HOLD_MAX:
            self._refuse(tc, FailureCode.BUSY, f"{HOLD_MAX} telecommands already wait for {name}")
        else:
            queue.append(Held(tc, data, now_sim, time.monotonic()))
            self.held_total += 1

    def ready(self, name: str) -> None:
        """``name`` is on the bus: what waited for it goes, in order (not if its process
        was told to end meanwhile: a process stopped while starting still announces itself)."""
        if not self.supervisor.on_bus(name):
            return
        for item in self.held.pop(name, ()):
            self.sender.publish_tc(item.tc.apid, item.data)

    def check(self, now_sim: float) -> None:
        """Refuse what waits for an app no longer coming back, or waited too long."""
        now_wall = time.monotonic()
        for name in list(self.held):
            if self.supervisor.on_bus(name):
                self.ready(name)
                continue
            queue = self.held[name]
            if not self.supervisor.coming_back(name):
                for item in self.held.pop(name):
                    self._refuse(item.tc, FailureCode.APP_NOT_RUNNING, self._why(name))
                continue
            while queue and (now_sim - queue[0].since_sim > self.hold_s
                             and now_wall - queue[0].since_wall > self.ready_timeout_wall_s):
                item = queue.popleft()
                self._refuse(item.tc, FailureCode.TIMEOUT,
                             f"{name} not back within {now_sim - item.since_sim:.0f} s")
            if not queue:
                del self.held[name]

    def _why(self, name: str) -> str:
        return f"{name} is {self.supervisor.children[name].state.lower()}, not coming back"

    def _refuse(self, tc: TcPacket, code: FailureCode, detail: str) -> None:
        self.refused_total += 1
        self.sender.refuse_command(tc, code, detail)

    def waiting(self) -> int:
        """Telecommands held now."""
        return sum(len(queue) for queue in self.held.values())
