"""Telemetry ingest: every packet that comes down, checked, archived once, understood.

A packet is decoded and stored (idempotently: a packet played back twice is stored once), tagged
real-time or playback by its virtual channel; housekeeping values go to the parameter archive,
the latest-value cache and the alarm checks; events go to the event log; verification reports
move commands along. Real-time streams are watched for sequence gaps. A malformed packet is
counted and logged, and ingest carries on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import structlog

from common.dictionary import DICTIONARY, GROUND_ID, json_value
from common.dictionary.failures import describe_failure
from common.dictionary.standard import request_of
from common.errors import PacketError
from common.framing import iter_frames
from common.packets import TmPacket, decode
from common.radio import REALTIME
from common.sequence import GapCounter
from ground.archive import Archive
from ground.control.alarms import Alarms
from ground.control.commanding import Commanding
from ground.control.files import FileReceiver

#: Parameter name → the housekeeping structures that carry it.
_CARRIED_BY: dict[str, list[str]] = {}
for _structure in DICTIONARY.structures.values():
    for _param in _structure.params:
        _CARRIED_BY.setdefault(_param.name, []).append(_structure.name)


class Ingest:
    """Turns downlinked frames into archive rows, values, events and verification stages."""

    def __init__(self, archive: Archive, commanding: Commanding, alarms: Alarms,
                 now: Callable[[], float], publish: Callable[[str, dict[str, Any]], None],
                 files: FileReceiver | None = None, auto_downlink: bool = True) -> None:
        self.archive = archive
        self.files = files
        self.auto_downlink = auto_downlink
        self.commanding = commanding
        self.alarms = alarms
        self.now = now
        self.publish = publish
        self.log = structlog.get_logger("ingest")
        #: The latest report of each satellite's housekeeping structures: (time, order of
        #: arrival, values).
        self.latest_reports: dict[tuple[str, str], tuple[float, int, dict[str, Any]]] = {}
        self.gaps = GapCounter()
        self.counters: Counter[str] = Counter()
        self._asked_jobs: dict[str, float] = {}

    def frame(self, satellite: str, vc: int, station: str, payload: bytes) -> None:
        """Ingest every packet of a downlinked frame."""
        end = 0
        received = self.now()
        for framed in iter_frames(payload):
            end = framed.offset + len(framed.data)
            self.packet(satellite, vc, station, framed.data, received)
        if end != len(payload):
            self.counters["rejected"] += 1
            self.counters["rejected_too_short"] += 1
            self.log.warning("trailing bytes in a frame", satellite=satellite,
                             bytes=len(payload) - end)

    def latest(self, satellite: str, param: str) -> tuple[float, Any] | None:
        """The latest (time, value) of a parameter of a satellite, from whichever of the
        structures that carry it reported the latest time (the last to arrive, of equals)."""
        newest: tuple[float, int, dict[str, Any]] | None = None
        for structure in _CARRIED_BY.get(param, ()):
            report = self.latest_reports.get((satellite, structure))
            if report is not None and param in report[2] and (
                    newest is None or report[:2] > newest[:2]):
                newest = report
        return None if newest is None else (newest[0], newest[2][param])

    def _results(self, satellite: str, name: str, args: dict[str, Any]) -> None:
        """Follow result files: fetch new ones, close confirmed ones."""
        if self.files is None:
            return
        if name == "COMPUTE.RESULT_READY" and self.auto_downlink:
            self._fetch(satellite, args["job_id"])
        elif name == "COMPUTE.RESULT_DELIVERED":
            self.files.confirmed(satellite, args["job_id"])

    def _fetch(self, satellite: str, job_id: int) -> None:
        """Ask for a result file not yet coming down."""
        assert self.files is not None
        if (satellite, job_id) not in self.files.transfers:
            self.files._transfer(satellite, job_id)
            self.commanding.submit(satellite, "COMPUTE.DOWNLINK_RESULT", {"job_id": job_id})

    def _pending_results(self, satellite: str, values: dict[str, Any], time: float) -> None:
        """Results waiting on board that we were not told about (their RESULT_READY came out
        of contact): ask for the job list, at most once every ten simulated minutes."""
        if not self.auto_downlink or not values.get("COMPUTE.RESULT_BYTES_PENDING"):
            return
        if time - self._asked_jobs.get(satellite, -1e18) < 600.0:
            return
        self._asked_jobs[satellite] = time
        self.commanding.submit(satellite, "COMPUTE.LIST_JOBS", {}, timeout_s=600.0)

    def packet(self, satellite: str, vc: int, station: str, data: bytes, received: float) -> None:
        """Ingest one packet."""
        try:
            packet = decode(data, DICTIONARY.apids)
        except PacketError as exc:
            if exc.reason == "idle":
                return
            self.counters["rejected"] += 1
            self.counters[f"rejected_{exc.reason}"] += 1
            self.log.warning("packet rejected", satellite=satellite, reason=exc.reason,
                             error=str(exc), bytes=data[:64].hex())
            return
        if not isinstance(packet, TmPacket):
            self.counters["rejected"] += 1
            self.counters["rejected_tc_on_downlink"] += 1
            return
        time = packet.time.to_unix()
        packet_id = self.archive.add_packet(
            satellite, packet.apid, packet.seq_count, "TM", packet.service, packet.subtype,
            time, packet.time.coarse, packet.time.fine, received, vc, data, station)
        if packet_id is None:
            self.counters["duplicates"] += 1
            return
        self.counters["packets"] += 1
        self.counters["playback" if vc != REALTIME else "realtime"] += 1
        if vc == REALTIME:
            missing = self.gaps.observe((satellite, packet.apid), packet.seq_count)
            if missing:
                self.counters["gap_packets"] += missing
                self.archive.add_gap(satellite, packet.apid,
                                     (packet.seq_count - missing) % 16384, missing, time)
        try:
            tm = DICTIONARY.decode_tm(packet)
        except (PacketError, KeyError, ValueError) as exc:
            self.counters["undecoded"] += 1
            self.log.warning("telemetry not understood", satellite=satellite,
                             apid=packet.apid, error=str(exc))
            return
        if tm.kind == "hk":
            self.archive.add_params(packet_id, satellite, time, tm.values)
            previous = self.latest_reports.get((satellite, tm.name))
            if previous is None or previous[0] <= time:
                self.latest_reports[(satellite, tm.name)] = (time, self.counters["packets"],
                                                             tm.values)
            self.alarms.check(satellite, tm.name, tm.values, time)
            if tm.name == "COMPUTE.STATUS":
                self._pending_results(satellite, tm.values, time)
            self.publish(f"tm/{satellite}", {"satellite": satellite, "time": time,
                                             "structure": tm.name,
                                             "values": {k: json_value(v)
                                                        for k, v in tm.values.items()}})
        elif tm.kind == "event":
            args = {k: json_value(v) for k, v in tm.values.items()}
            self.archive.add_event(packet_id, satellite, tm.app, tm.name, tm.severity or 1,
                                   time, tm.message or "", args)
            self.publish(f"event/{satellite}", {"satellite": satellite, "time": time,
                                                "name": tm.name, "severity": tm.severity,
                                                "message": tm.message, "args": args})
            self._results(satellite, tm.name, args)
        elif tm.name == "COMPUTE.JOB_LIST" and self.files is not None and self.auto_downlink:
            for job in tm.values["jobs"]:
                if job.get("result"):
                    self._fetch(satellite, int(job["id"]))
        elif tm.name.startswith("COMPUTE.FILE_") and self.files is not None:
            self.files.report(satellite, tm.name, tm.values, time)
        elif packet.service == 1 and packet.dest_id == GROUND_ID:
            # Reports to other sources (a test set, onboard apps) are not about our commands.
            values = tm.values
            code = values.get("code")
            self.commanding.verification(
                satellite, *request_of(values["packet_id"], values["sequence"]),
                packet.subtype, describe_failure(code, values.get("data")) if code else None,
                time)
