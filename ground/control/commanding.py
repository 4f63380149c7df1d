"""Command queues and verification: every command tracked from QUEUED to its end.

Each satellite has a queue (ENABLED, BLOCKED or DISABLED). A command is checked against the
dictionary when it is queued (a bad one is refused then, with the reason), waits for a contact
window (and its release time, if it has one), is released, encoded with the next sequence count
of its APID and sent — once. Its PUS 1 reports move it through ACCEPTED, STARTED and COMPLETED,
or FAILED with the failure code; if nothing final arrives within its timeout it ends in TIMEOUT.
Every stage is time-stamped in simulated time in the archive, and so is the way the command
took through the space network and how long it took to arrive (reported by the network).
Nothing is ever re-sent by itself: a retry is a new command that names the one it repeats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from common.dictionary import DICTIONARY, GROUND_ID
from common.dictionary.standard import VERIFICATION_STAGES
from common.packets import AckFlags, TcPacket, encode_tc
from common.sequence import SequenceCounter
from ground.archive import Archive
from ground.protocol import FINAL_STATES, QUEUE_STATES

#: Default simulated seconds a sent command may take to complete.
DEFAULT_TIMEOUT_S = 600.0


@dataclass
class Command:
    """One command's record."""

    id: int
    satellite: str
    name: str
    args: dict[str, Any]
    apid: int
    created: float
    release_at: float | None
    timeout_s: float
    state: str = "QUEUED"
    seq: int | None = None
    failure: str | None = None
    stages: list[tuple[str, float]] = field(default_factory=list)
    sent_at: float | None = None
    retry_of: int | None = None
    #: The way it took (``KASHGAR>SAT-01``, ``TL-1>SAT-03``) and its uplink time, seconds.
    path: str | None = None
    uplink_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as the operator API returns it."""
        return {"id": self.id, "satellite": self.satellite, "name": self.name,
                "args": self.args, "state": self.state, "seq": self.seq,
                "failure": self.failure, "stages": [list(s) for s in self.stages],
                "release_at": self.release_at, "retry_of": self.retry_of, "path": self.path,
                "uplink_s": self.uplink_s}

    @property
    def final(self) -> bool:
        """True once the command can change no more."""
        return self.state in FINAL_STATES


class CommandRefused(ValueError):
    """A command that cannot be queued (bad arguments, unknown command, queue disabled)."""


class Commanding:
    """The queues of every satellite and the verification of what was sent."""

    def __init__(self, archive: Archive, satellites: list[str], now: Callable[[], float],
                 send: Callable[[Command, bytes], None],
                 in_contact: Callable[[str, float], bool],
                 notify: Callable[[Command, str | None], None]) -> None:
        self.archive = archive
        self.now = now
        self.send = send
        self.in_contact = in_contact
        self.notify = notify
        self.queues = {name: "ENABLED" for name in satellites}
        self.commands: dict[int, Command] = {}
        self.waiting: dict[str, list[Command]] = {name: [] for name in satellites}
        self.in_flight: dict[tuple[str, int, int], Command] = {}
        self.sequences = {name: SequenceCounter() for name in satellites}
        self.unmatched_reports = 0

    # --- queueing --------------------------------------------------------------------------------

    def submit(self, satellite: str, name: str, args: dict[str, Any] | None = None, *,
               release_at: float | None = None, timeout_s: float | None = None,
               retry_of: int | None = None) -> Command:
        """Check and queue a command; raises :class:`CommandRefused` with the reason."""
        if satellite not in self.queues:
            raise CommandRefused(f"unknown satellite {satellite!r}")
        if self.queues[satellite] == "DISABLED":
            raise CommandRefused(f"the command queue of {satellite} is disabled")
        try:
            definition = DICTIONARY.command(name)
            DICTIONARY.command_app_data(definition, args or {})  # refuses bad arguments now
        except ValueError as exc:
            raise CommandRefused(str(exc)) from None
        except Exception as exc:  # UnknownCommand is a PacketError
            raise CommandRefused(str(exc)) from None
        now = self.now()
        timeout = DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s
        command_id = self.archive.add_command(satellite, definition.name, dict(args or {}),
                                              definition.apid, now, release_at, timeout,
                                              retry_of)
        command = Command(command_id, satellite, definition.name, dict(args or {}),
                          definition.apid, now, release_at, timeout, retry_of=retry_of)
        self.commands[command_id] = command
        self.waiting[satellite].append(command)
        self._stage(command, "QUEUED", now)
        self.pump()
        return command

    def retry(self, command_id: int) -> Command:
        """Queue a new copy of a finished command."""
        old = self.commands.get(command_id)
        if old is None:
            raise CommandRefused(f"no command {command_id}")
        if not old.final:
            raise CommandRefused(f"command {command_id} is still {old.state}; retry a "
                                 "finished command only")
        return self.submit(old.satellite, old.name, old.args, timeout_s=old.timeout_s,
                           retry_of=old.id)

    def cancel(self, command_id: int) -> Command:
        """Cancel a command not yet sent."""
        command = self.commands.get(command_id)
        if command is None:
            raise CommandRefused(f"no command {command_id}")
        if command.state != "QUEUED":
            raise CommandRefused(f"command {command_id} is {command.state}: too late to cancel")
        self.waiting[command.satellite].remove(command)
        self._finish(command, "CANCELLED", self.now(), "cancelled by operator")
        return command

    def set_queue(self, satellite: str, state: str) -> None:
        """ENABLED releases in windows, BLOCKED holds, DISABLED also refuses new commands."""
        if satellite not in self.queues:
            raise CommandRefused(f"unknown satellite {satellite!r}")
        if state not in QUEUE_STATES:
            raise CommandRefused(f"queue state must be one of {', '.join(QUEUE_STATES)}")
        self.queues[satellite] = state
        self.archive.set_queue(satellite, state)
        self.pump()

    # --- release and send ------------------------------------------------------------------------

    def pump(self) -> None:
        """Release every command whose satellite is in contact and whose time has come."""
        now = self.now()
        for satellite, waiting in self.waiting.items():
            if not waiting or self.queues[satellite] != "ENABLED":
                continue
            if not self.in_contact(satellite, now):
                continue
            for command in list(waiting):
                if command.release_at is not None and command.release_at > now:
                    continue
                waiting.remove(command)
                self._release(command, now)

    def _release(self, command: Command, now: float) -> None:
        self._stage(command, "RELEASED", now)
        definition = DICTIONARY.command(command.name)
        seq = self.sequences[command.satellite].next(command.apid)
        tc = TcPacket(command.apid, definition.service, definition.subtype,
                      DICTIONARY.command_app_data(definition, command.args), seq, GROUND_ID,
                      AckFlags.ALL)
        raw = encode_tc(tc)
        command.seq = seq
        command.sent_at = now
        # On disk before it goes: after a crash, a command is either still QUEUED/RELEASED
        # (never sent: safe to send) or SENT (perhaps sent: never sent again by itself).
        self.archive.set_command(command.id, seq=seq, raw=raw, sent_at=now)
        self.in_flight[(command.satellite, command.apid, seq)] = command
        self._stage(command, "SENT", now)
        self.send(command, raw)

    # --- verification ----------------------------------------------------------------------------

    def verification(self, satellite: str, apid: int, seq: int, subtype: int,
                     code: str | None, time: float) -> None:
        """A PUS 1 report about (APID, sequence count) came down."""
        command = self.in_flight.get((satellite, apid, seq))
        if command is None:
            self.unmatched_reports += 1
            return
        stage, success = VERIFICATION_STAGES[subtype]
        if not success:
            self._finish(command, "FAILED", time, f"{stage.lower()}: {code}")
            return
        named = {"ACCEPTANCE": "ACCEPTED", "START": "STARTED", "COMPLETION": "COMPLETED"}
        if stage in named:
            if named[stage] == "COMPLETED":
                self._finish(command, "COMPLETED", time)
            else:
                self._stage(command, named[stage], time)

    def routed(self, command_id: int, path: list[str], sent: float, arrived: float) -> None:
        """The network delivered a command to its satellite, this way."""
        command = self.commands.get(command_id)
        if command is None or command.path is not None:
            return
        command.path = ">".join(path)
        command.uplink_s = arrived - sent
        self.archive.set_command(command.id, path=command.path, uplink_s=command.uplink_s)
        self.notify(command, None)

    def check_timeouts(self) -> None:
        """End in TIMEOUT every sent command whose time is up."""
        now = self.now()
        for key, command in list(self.in_flight.items()):
            if command.sent_at is not None and now - command.sent_at > command.timeout_s:
                self._finish(command, "TIMEOUT", now,
                             f"no completion within {command.timeout_s:g} s (last stage "
                             f"{command.state})")
                self.in_flight.pop(key, None)

    # --- after a restart -------------------------------------------------------------------------

    def restore(self) -> int:
        """Take up the commands of a previous life from the archive; return how many.

        Unfinished commands that were never sent go back to their queue; sent ones wait for
        their verification (or their timeout) again. Sequence counts continue after the
        highest used, so that no telecommand repeats one. Queues keep the state operators
        gave them.
        """
        restored = 0
        for satellite, state in self.archive.queues().items():
            if satellite in self.queues:
                self.queues[satellite] = state
        highest: dict[tuple[str, int], int] = {}
        for row in self.archive.commands():
            if row["satellite"] not in self.queues:
                continue
            command = Command(
                row["id"], row["satellite"], row["name"], row["args"], row["apid"],
                row["created"], row["release_at"], row["timeout"] or DEFAULT_TIMEOUT_S,
                state=row["state"], seq=row["seq"], failure=row["failure"],
                stages=[(stage, when) for stage, when, _ in self.archive.stages(row["id"])],
                sent_at=row["sent_at"], retry_of=row["retry_of"], path=row["path"],
                uplink_s=row["uplink_s"])
            self.commands[command.id] = command
            if command.seq is not None:
                highest[(command.satellite, command.apid)] = command.seq
            if command.final:
                continue
            restored += 1
            if command.state in ("QUEUED", "RELEASED") or command.seq is None:
                command.state = "QUEUED"
                self.waiting[command.satellite].append(command)
            else:
                self.in_flight[(command.satellite, command.apid, command.seq)] = command
        for (satellite, apid), seq in highest.items():
            self.sequences[satellite].set(apid, seq + 1)
        return restored

    # --- bookkeeping -----------------------------------------------------------------------------

    def _stage(self, command: Command, stage: str, time: float, detail: str | None = None
               ) -> None:
        if any(name == stage for name, _ in command.stages):
            return
        command.stages.append((stage, time))
        if not command.final:
            command.state = stage
        self.archive.add_stage(command.id, stage, time, detail)
        self.archive.set_command(command.id, state=command.state)
        self.archive.commit()  # the command history is visible to readers at once
        self.notify(command, stage)

    def _finish(self, command: Command, state: str, time: float, failure: str | None = None
                ) -> None:
        if command.final:
            return
        command.failure = failure
        command.state = state
        if command.seq is not None:
            self.in_flight.pop((command.satellite, command.apid, command.seq), None)
        self.archive.set_command(command.id, state=state, failure=failure)
        self._stage(command, state, time, failure)
