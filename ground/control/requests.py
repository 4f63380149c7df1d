"""Answers to operator requests (the ops of :mod:`ground.protocol`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgpack
import structlog

from common.dictionary import DICTIONARY, json_value
from ground.control.commanding import CommandRefused
from ground.protocol import RequestError, validate

if TYPE_CHECKING:
    from ground.control.service import GroundControl


class Requests:
    """Dispatches one request to the op that answers it."""

    def __init__(self, ground: GroundControl) -> None:
        self.ground = ground
        self.log = structlog.get_logger("requests")

    def handle(self, body: bytes) -> dict[str, Any]:
        """The reply to one raw request (never raises)."""
        self.ground.counters["requests"] += 1
        request: Any = None
        try:
            request = msgpack.unpackb(body, strict_map_key=False)
            op = validate(request)
            result = getattr(self, f"op_{op.name}")(request)
            return {"id": request.get("id"), "ok": True, **result}
        except (RequestError, CommandRefused, KeyError, ValueError) as exc:
            self.ground.counters["bad_requests"] += 1
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            return {"id": request.get("id") if isinstance(request, dict) else None,
                    "ok": False, "error": str(message)}
        except Exception as exc:  # a bug here must not take ground control down
            self.ground.counters["bad_requests"] += 1
            self.log.exception("request failed", request=repr(request)[:200])
            return {"id": request.get("id") if isinstance(request, dict) else None,
                    "ok": False, "error": f"internal error: {exc!r}"}

    # --- commanding ------------------------------------------------------------------------------

    def op_cmd(self, r: dict[str, Any]) -> dict[str, Any]:
        command = self.ground.commanding.submit(
            r["satellite"], r["command"], r.get("args") or {}, release_at=r.get("release_at"),
            timeout_s=r.get("timeout"))
        return {"command": command.to_dict()}

    def op_command(self, r: dict[str, Any]) -> dict[str, Any]:
        command = self.ground.commanding.commands.get(r["command_id"])
        if command is None:
            raise KeyError(f"no command {r['command_id']}")
        return {"command": command.to_dict()}

    def op_history(self, r: dict[str, Any]) -> dict[str, Any]:
        commands = [c for c in self.ground.commanding.commands.values()
                    if (r.get("satellite") is None or c.satellite == r["satellite"])
                    and c.id > (r.get("since_id") or 0)]
        return {"commands": [c.to_dict() for c in commands[-(r.get("limit") or 200):]]}

    def op_retry(self, r: dict[str, Any]) -> dict[str, Any]:
        return {"command": self.ground.commanding.retry(r["command_id"]).to_dict()}

    def op_cancel(self, r: dict[str, Any]) -> dict[str, Any]:
        return {"command": self.ground.commanding.cancel(r["command_id"]).to_dict()}

    def op_queue(self, r: dict[str, Any]) -> dict[str, Any]:
        commanding = self.ground.commanding
        commanding.set_queue(r["satellite"], r["state"].upper())
        return {"queue": {"satellite": r["satellite"], "state": commanding.queues[r["satellite"]],
                          "waiting": len(commanding.waiting[r["satellite"]])}}

    # --- telemetry -------------------------------------------------------------------------------

    def op_tlm(self, r: dict[str, Any]) -> dict[str, Any]:
        if r["param"] not in DICTIONARY.params:
            raise KeyError(f"unknown parameter {r['param']!r}")
        latest = self.ground.ingest.latest(r["satellite"], r["param"])
        if latest is None:
            return {"value": None, "time": None}
        return {"value": json_value(latest[1]), "time": latest[0]}

    def op_series(self, r: dict[str, Any]) -> dict[str, Any]:
        self.ground.archive.commit()
        points = self.ground.archive.parameter(r["satellite"], r["param"], r.get("start"),
                                               r.get("end"))
        return {"points": [list(p) for p in points]}

    def op_events(self, r: dict[str, Any]) -> dict[str, Any]:
        self.ground.archive.commit()
        events = self.ground.archive.events(r.get("satellite"), r.get("since"), None,
                                            r.get("name"))
        limit = r.get("limit")
        return {"events": events[-limit:] if limit else events}

    def op_passes(self, r: dict[str, Any]) -> dict[str, Any]:
        now = self.ground.clock.now()
        start = r.get("start", now)
        end = r.get("end", start + 86400.0)
        return {"passes": [vars(p) for p in self.ground.passes(start, end, r.get("satellite"))]}

    def op_sync(self, r: dict[str, Any]) -> dict[str, Any]:
        self.ground.archive.commit()
        return {"time": self.ground.clock.now(), "reading": self.ground.reading}

    def op_status(self, r: dict[str, Any]) -> dict[str, Any]:
        now = self.ground.clock.now()
        satellites = {}
        for name, schedule in self.ground.schedules.items():
            window = schedule.window_at(now)
            upcoming = schedule.next_window(now)
            reach = self.ground.reach_now(name, now)
            soonest = reach or self.ground.reach_next(name, now)
            satellites[name] = {
                "station": window.station if window else None,
                "los": window.los if window else None,
                "next_aos": upcoming.aos if upcoming else None,
                "next_station": upcoming.station if upcoming else None,
                # How the network reaches it: now, or soonest (relays and ISLs included).
                "path": reach.label if reach else None,
                "via": reach.kind if reach else None,
                "next_path": soonest.label if soonest else None,
                "next_reach": soonest.arrival if soonest else None,
                "queue": self.ground.commanding.queues[name],
                "waiting": len(self.ground.commanding.waiting[name]),
            }
        counters = {**self.ground.counters, **self.ground.ingest.counters,
                    "unmatched_reports": self.ground.commanding.unmatched_reports,
                    "duplicates": self.ground.archive.duplicates}
        return {"time": now, "satellites": satellites, "counters": counters,
                "link": self.ground.link_stats}

    def op_alarms(self, r: dict[str, Any]) -> dict[str, Any]:
        return {"alarms": self.ground.alarms.listing(bool(r.get("all")))}

    def op_ack(self, r: dict[str, Any]) -> dict[str, Any]:
        alarm = self.ground.alarms.acknowledge(r["alarm_id"], self.ground.clock.now(),
                                               r.get("by") or "operator")
        return {"alarm": alarm.to_dict()}

    # --- clock -----------------------------------------------------------------------------------

    def op_clock(self, r: dict[str, Any]) -> dict[str, Any]:
        master = self.ground.master
        if master is None:
            raise ValueError("this ground control is not the clock master of the run")
        action = r["action"]
        if action == "pause":
            state = master.pause()
        elif action == "resume":
            state = master.resume()
        elif action == "rate":
            if r.get("rate") is None:
                raise ValueError("clock: 'rate' needs a rate")
            state = master.set_rate(float(r["rate"]))
        else:
            raise ValueError(f"clock: action must be pause, resume or rate, not {action!r}")
        self.ground.clock.apply(state)
        return {"clock": {"epoch": state.epoch, "sim_anchor": state.sim_anchor,
                          "wall_anchor": state.wall_anchor, "rate": state.rate,
                          "paused": state.paused}}

    def op_outage(self, r: dict[str, Any]) -> dict[str, Any]:
        from ground.passes import STATIONS

        name = r["station"].upper()
        relays = {relay.upper(): relay for relay in self.ground.plan.relays}
        if name not in STATIONS and name not in relays:
            known = ", ".join([*STATIONS, *self.ground.plan.relays])
            raise ValueError(f"unknown station or relay {r['station']!r}; known: {known}")
        name = relays.get(name, name)
        if r["end"] <= r["start"]:
            raise ValueError("outage: end must come after start")
        self.ground.send_link_control({"op": "outage", "station": name,
                                       "start": r["start"], "end": r["end"]})
        if r.get("announced"):
            self.ground.plan.add_outage(name, r["start"], r["end"])
        return {"outage": {"station": name, "start": r["start"], "end": r["end"],
                           "announced": bool(r.get("announced"))}}

    def op_impair(self, r: dict[str, Any]) -> dict[str, Any]:
        if r["satellite"] != "*" and r["satellite"] not in self.ground.schedules:
            raise ValueError(f"unknown satellite {r['satellite']!r}")
        direction = r.get("direction") or "both"
        if direction not in ("up", "down", "both"):
            raise ValueError("impair: direction must be up, down or both")
        for name in ("loss", "corruption"):
            if not 0.0 <= float(r.get(name) or 0.0) <= 1.0:
                raise ValueError(f"impair: {name} must be a probability")
        if r["end"] <= r["start"]:
            raise ValueError("impair: end must come after start")
        impairment = {"op": "impair", "satellite": r["satellite"], "direction": direction,
                      "loss": float(r.get("loss") or 0.0),
                      "corruption": float(r.get("corruption") or 0.0),
                      "start": r["start"], "end": r["end"]}
        self.ground.send_link_control(impairment)
        return {"impairment": impairment}

    def op_transfers(self, r: dict[str, Any]) -> dict[str, Any]:
        return {"transfers": [t.to_dict() for t in self.ground.files.transfers.values()
                              if r.get("satellite") in (None, t.satellite)]}

    def op_now(self, r: dict[str, Any]) -> dict[str, Any]:
        state = self.ground.clock.state
        return {"time": self.ground.clock.now(), "rate": state.rate, "paused": state.paused}
