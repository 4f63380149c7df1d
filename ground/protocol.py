"""The operator API of ground control: every message, declared once. This module is its spec.

Transport: ground control binds a ROUTER socket (``ground``) for requests and a PUB socket
(``ground.pub``) for live updates; clients connect a DEALER and a SUB. Every message is a
msgpack map.

Requests carry ``op`` and ``id`` (chosen by the client, echoed in the reply) and the fields the
op declares below; replies are ``{"id": id, "ok": true, ...result}`` or ``{"id": id, "ok":
false, "error": text}``. A request that is not valid msgpack, names no known op, or lacks a
required field is answered with ``ok: false`` and counted; ground control never crashes on it.

Publications are two frames, ``[topic, msgpack]``, topics:

* ``tm/<SAT>`` — ``{"satellite", "time", "values": {param: value}}`` from each housekeeping report
* ``event/<SAT>`` — ``{"satellite", "time", "name", "severity", "message", "args"}``
* ``cmd/<SAT>`` — ``{"command_id", "satellite", "name", "state", "stage", "time", "failure",
  "path", "uplink_s"}`` at every stage (``stage`` null when only the path became known)
* ``alarm/<SAT>`` — ``{"alarm_id", "satellite", "param", "level", "value", "time", "state"}``
* ``contact/<SAT>`` — ``{"satellite", "station" (or null), "path", "time"}`` when the way the
  ground reaches a satellite starts, changes or ends (``station`` is the station or relay at
  the ground end, ``path`` the whole way: ``KASHGAR>SAT-01>SAT-02``)
* ``clock`` — ``{"epoch", "sim_anchor", "wall_anchor", "rate", "paused"}``
* ``hello`` — ``{"time"}`` every half second of wall time, so that a client knows it is live
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Command life-cycle stages, in order; a command ends in COMPLETED, FAILED, TIMEOUT or
#: CANCELLED.
STAGES = ("QUEUED", "RELEASED", "SENT", "ACCEPTED", "STARTED", "COMPLETED")
FINAL_STATES = ("COMPLETED", "FAILED", "TIMEOUT", "CANCELLED")
QUEUE_STATES = ("ENABLED", "BLOCKED", "DISABLED")


@dataclass(frozen=True)
class Field:
    """A request field: its Python type(s), whether it is required, and what it means."""

    types: tuple[type, ...]
    required: bool
    doc: str


@dataclass(frozen=True)
class Op:
    """A request: its fields and what its reply carries."""

    name: str
    doc: str
    fields: dict[str, Field]
    reply: str


def _f(types: type | tuple[type, ...], doc: str, required: bool = False) -> Field:
    return Field(types if isinstance(types, tuple) else (types,), required, doc)


_NUMBER = (int, float)
_SAT = _f(str, "satellite name", required=True)

OPS: dict[str, Op] = {op.name: op for op in (
    Op("cmd", "Queue a telecommand; refused at once (with the reason) if its arguments are bad.",
       {"satellite": _SAT, "command": _f(str, "APP.VERB", True),
        "args": _f(dict, "argument name → value"),
        "release_at": _f(_NUMBER, "simulated Unix time before which it is not released"),
        "timeout": _f(_NUMBER, "simulated seconds after sending before it times out")},
       "command: the command record (see 'command')"),
    Op("command", "One command's record with every stage reached and its time.",
       {"command_id": _f(int, "command id", True)},
       "command: {id, satellite, name, args, state, stages: [[stage, time]], failure, seq, "
       "path (the way it took), uplink_s (how long it took)}"),
    Op("history", "Command records, newest last.",
       {"satellite": _f(str, "only this satellite"), "since_id": _f(int, "only ids above this"),
        "limit": _f(int, "at most this many (default 200)")},
       "commands: [command]"),
    Op("retry", "Queue a new copy of a finished command: a retry is an explicit, visible act.",
       {"command_id": _f(int, "the command to send again", True)}, "command"),
    Op("cancel", "Cancel a command that has not been sent yet.",
       {"command_id": _f(int, "command id", True)}, "command"),
    Op("queue", "Set a satellite's command queue ENABLED, BLOCKED (held) or DISABLED (refuses).",
       {"satellite": _SAT, "state": _f(str, "ENABLED, BLOCKED or DISABLED", True)},
       "queue: {satellite, state, waiting}"),
    Op("tlm", "The latest value of a parameter.",
       {"satellite": _SAT, "param": _f(str, "NAMESPACE.NAME", True)},
       "value, time (null when never received)"),
    Op("series", "A parameter's values over a span.",
       {"satellite": _SAT, "param": _f(str, "NAMESPACE.NAME", True),
        "start": _f(_NUMBER, "from"), "end": _f(_NUMBER, "to")},
       "points: [[time, value]]"),
    Op("events", "Events in a span, oldest first.",
       {"satellite": _f(str, "only this satellite"), "since": _f(_NUMBER, "from this time"),
        "name": _f(str, "only this event"), "limit": _f(int, "at most this many")},
       "events: [{satellite, app, name, severity, time, message, args}]"),
    Op("passes", "Predicted contact windows.",
       {"satellite": _f(str, "only this satellite"), "start": _f(_NUMBER, "from"),
        "end": _f(_NUMBER, "to")},
       "passes: [{satellite, station, aos, tca, los, max_elevation_deg}]"),
    Op("status", "Per satellite: contact now, next AOS/LOS, how the network reaches it now or "
       "soonest (path, via: direct/relay/isl), queue state and length; counters.",
       {}, "satellites: {name: {station, los, next_aos, next_station, path, via, next_path, "
       "next_reach, queue, waiting}}, counters: {...}, link: {...}, time"),
    Op("sync", "Commit what ground control has taken in to the archive file now, so that a "
       "reader of the file sees it (it commits every half wall second on its own).",
       {}, "time, reading (frames from the space link are waiting to be read: ground "
       "control is behind)"),
    Op("alarms", "Alarms, open ones by default.",
       {"all": _f(bool, "include cleared and acknowledged")}, "alarms: [alarm]"),
    Op("ack", "Acknowledge an alarm.",
       {"alarm_id": _f(int, "alarm id", True), "by": _f(str, "operator name")}, "alarm"),
    Op("clock", "Pause, resume or change the rate of the run's clock (ground control as master).",
       {"action": _f(str, "pause, resume or rate", True), "rate": _f(_NUMBER, "new rate")},
       "clock: {epoch, sim_anchor, wall_anchor, rate, paused}"),
    Op("now", "Simulated time now, as ground control sees it.", {}, "time, rate, paused"),
    Op("outage", "Take a ground station or a relay out of service for a span (a test or "
       "exercise act; unless announced, ground control's predictions do not know it).",
       {"station": _f(str, "station or relay name", True), "start": _f(_NUMBER, "from", True),
        "end": _f(_NUMBER, "until", True),
        "announced": _f(bool, "ground control's contact plan knows it too")},
       "outage: {station, start, end, announced}"),
    Op("impair", "Add loss or corruption to a satellite's link for a span; loss 1 cuts it "
       "(a test or exercise act).",
       {"satellite": _f(str, "satellite name, or * for every one", True),
        "direction": _f(str, "up, down or both (default both)"),
        "loss": _f(_NUMBER, "probability a packet is lost"),
        "corruption": _f(_NUMBER, "probability a packet gets a flipped bit"),
        "start": _f(_NUMBER, "from", True), "end": _f(_NUMBER, "until", True)},
       "impairment: {...}"),
    Op("transfers", "Result files coming down or arrived, with their progress.",
       {"satellite": _f(str, "only this satellite")},
       "transfers: [{satellite, job_id, state, size, pieces, chunks, duplicates, requests, "
       "path}]"),
)}


class RequestError(ValueError):
    """A request that does not follow this protocol."""


def validate(request: Any) -> Op:
    """The op of a request, after checking its fields; raises :class:`RequestError`."""
    if not isinstance(request, dict):
        raise RequestError("a request must be a map")
    op = OPS.get(request.get("op"))  # type: ignore[arg-type]
    if op is None:
        raise RequestError(f"unknown op {request.get('op')!r}; known: {', '.join(OPS)}")
    for name, spec in op.fields.items():
        value = request.get(name)
        if value is None:
            if spec.required:
                raise RequestError(f"{op.name}: field {name!r} is required ({spec.doc})")
            continue
        wrong_bool = isinstance(value, bool) and bool not in spec.types
        if not isinstance(value, spec.types) or wrong_bool:
            expected = " or ".join(t.__name__ for t in spec.types)
            raise RequestError(f"{op.name}: field {name!r} must be {expected}, "
                               f"not {type(value).__name__}")
    unknown = sorted(set(request) - set(op.fields) - {"op", "id"})
    if unknown:
        raise RequestError(f"{op.name}: unknown field(s) {', '.join(unknown)}")
    return op
