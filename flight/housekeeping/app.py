"""The housekeeping app: hardware readings into housekeeping reports, and the onboard recorder.

Sensor packets from the simulated hardware (or a real rig) keep the latest reading of every
physical parameter; the EPS, THERMAL, ORBIT and NODES structures report them at their own
rates. Every telemetry packet the satellite produces is recorded; PUS 15,9 plays a time span
back on the playback channel. Housekeeping's own packets are written to the store before they
are sent, and after a restart its sequence count resumes from the last one recorded, so its
stream stays contiguous across ``kill -9``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from common import bus
from common.dictionary import DICTIONARY
from common.dictionary.apps.sim import APID as SIM_APID
from common.dictionary.model import Structure
from common.dictionary.standard import STATUS_SID
from common.packets import SEQ_COUNT_MODULO, TmPacket
from flight.framework.app import CommandFailed, FailureCode, FlightApp, handles
from flight.framework.runtime import Runtime
from flight.housekeeping.gapfill import GapFiller
from flight.housekeeping.recorder import PacketStore

ONBOARD_ONLY = frozenset(app.apid for app in DICTIONARY.apps.values() if app.onboard_only)
#: Wall seconds a hole may wait for its retransmission before it is counted lost.
REPAIR_PATIENCE_WALL_S = 5.0
#: Packets put on the bus per loop iteration during playback.
PLAYBACK_BURST = 500
#: Simulated seconds between two RECORDER_OVERFLOW events at most.
OVERFLOW_EVENT_S = 60.0
MIB = 1024 * 1024


def mirrored_structures() -> dict[int, int]:
    """Sensor structure ID → ours, for each of our structures whose parameters are those of a
    sensor structure, in the same order (so the same layout: its report's values can be sent
    as they came)."""
    sensors = {structure.params: structure.sid for structure in DICTIONARY.apps["SIM"].structures}
    return {sensors[structure.params]: structure.sid
            for structure in DICTIONARY.apps["HK"].structures if structure.params in sensors}


#: Sensor structure ID → ours, for our structures that repeat one.
MIRRORS = mirrored_structures()
#: Whether a structure of ours takes its values by name, from every sensor reading (none of
#: today's: each repeats a sensor structure).
BY_VALUES = any(structure.sid != STATUS_SID and structure.sid not in MIRRORS.values()
                for structure in DICTIONARY.apps["HK"].structures)


class Housekeeping(FlightApp):
    """Housekeeping reports and the onboard recorder."""

    NAME = "HK"

    def __init__(self, runtime: Runtime, satellite: str) -> None:
        super().__init__(runtime, satellite)
        self.store = PacketStore(
            runtime.run.satellite_dir(satellite) / "recorder",
            int(self.params["RECORDER_LIMIT_MB"] * MIB),
            wrap=self.params["RECORDER_WRAP"] >= 0.5,
        )
        self.filler = GapFiller(self.store.stats.per_apid_last)
        last_own = self.store.stats.per_apid_last.get(self.apid)
        if last_own is not None:
            self._seq.set(self.apid, (last_own + 1) % SEQ_COUNT_MODULO)
        #: The latest reading of every sensor parameter, for structures that are no mirror.
        self.sensors: dict[str, Any] = {}
        #: The latest sensor report of each of our structures that repeats one, as it came
        #: (checked by decoding it; its values are never encoded again: the same bytes).
        self._mirrored: dict[int, bytes] = {}
        self.sensor_packets = 0
        self.playbacks = 0
        self.playback_packets = 0
        self._pending: list[bytes] = []
        #: Our own packets written with ``_pending``, published once they are on disk.
        self._own: list[bytes] = []
        self._flush_scheduled = False
        #: Packets the recorder dropped that no RECORDER_OVERFLOW event has told of yet.
        self._unreported_drops = 0
        self._overflow_reported_sim = -float("inf")
        self._oldest_hole_wall: float | None = None

    def subscriptions(self) -> list[bytes]:
        return [bus.topic(self.satellite, bus.TM), bus.topic(self.satellite, bus.RT)]

    def ignored_topics(self) -> frozenset[bytes]:
        # Our own packets come back on the TM prefix; they were recorded as they were made.
        return frozenset({bus.topic(self.satellite, bus.TM, self.apid)})

    async def on_stop(self) -> None:
        self._flush()
        if self.publisher is not None:
            self.publisher.flush()  # what _flush published, before the socket closes
        self.store.close()

    # --- recording -------------------------------------------------------------------------------

    def emit_tm(self, packet: bytes) -> None:
        # Our own packets: on disk before they are on the bus. Those made in one loop
        # iteration (every report due at one wake) are written together, then published.
        self._pending.append(packet)
        self._own.append(packet)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def on_telemetry(self, packet: TmPacket, raw: bytes, kind: str) -> None:
        if packet.apid == SIM_APID:
            if kind == bus.TM and packet.service == 3 and packet.subtype == 25:
                self._sensor(packet)
            return
        if packet.apid in ONBOARD_ONLY or packet.apid == self.apid:
            return
        if kind == bus.TM:
            record, gap = self.filler.live(packet.apid, packet.seq_count)
            if gap:
                self._ask_again(packet.apid, gap)
        elif kind == bus.RT:
            record = self.filler.retransmitted(packet.apid, packet.seq_count)
        else:
            return
        if record:
            self._pending.append(raw)
            self._schedule_flush()

    def _tell_overflow(self) -> None:
        """One RECORDER_OVERFLOW event per simulated minute at most, with every drop since the
        last: a full recorder in stop mode drops the event's own packet too, and that must
        not set off another event (the counters in housekeeping hold every drop)."""
        if not self._unreported_drops:
            return
        now = self.clock.now()
        if now - self._overflow_reported_sim < OVERFLOW_EVENT_S:
            return
        dropped, self._unreported_drops = self._unreported_drops, 0
        self._overflow_reported_sim = now
        self.event("RECORDER_OVERFLOW", dropped=dropped)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._pending:
            pending, self._pending = self._pending, []
            before = self.store.stats.overflows
            self.store.append(pending)
            self._unreported_drops += self.store.stats.overflows - before
        if self._own:
            own, self._own = self._own, []
            for packet in own:
                super().emit_tm(packet)
        self._tell_overflow()
        if self.filler.open == 0:
            self._oldest_hole_wall = None
        elif self._oldest_hole_wall is not None and (
                time.monotonic() - self._oldest_hole_wall > REPAIR_PATIENCE_WALL_S):
            lost = self.filler.give_up()
            self._oldest_hole_wall = None
            self.log.warning("recorder gaps given up", packets=lost)

    def _ask_again(self, apid: int, seqs: list[int]) -> None:
        app = DICTIONARY.by_apid.get(apid)
        if app is None or self.publisher is None:
            return
        if self._oldest_hole_wall is None:
            self._oldest_hole_wall = time.monotonic()
        self.publisher.send_control(
            bus.topic(self.satellite, bus.CTL, None, "NACK", app.name),
            {"apid": apid, "seqs": seqs},
        )

    def on_param_changed(self, short: str, value: float) -> None:
        if short in ("RECORDER_LIMIT_MB", "RECORDER_WRAP"):
            self.store.set_limit(int(self.params["RECORDER_LIMIT_MB"] * MIB),
                                 self.params["RECORDER_WRAP"] >= 0.5)

    # --- sensors and reports ---------------------------------------------------------------------

    def _sensor(self, packet: TmPacket) -> None:
        try:
            decoded = self.decode_tm(packet)
        except Exception as exc:  # a malformed sensor packet is counted, never fatal
            from common.dictionary import RejectReason

            self.reject(RejectReason.BAD_ARGUMENTS, f"sensor packet: {exc}")
            return
        self.sensor_packets += 1
        ours = MIRRORS.get(decoded.number)
        if ours is not None:
            self._mirrored[ours] = packet.app_data
        if ours is None or BY_VALUES:
            self.sensors.update(decoded.values)

    def structure_app_data(self, structure: Structure) -> bytes | None:
        report = self._mirrored.get(structure.sid)
        if report is not None:
            return DICTIONARY.hk_app_data_as(structure, report)
        return super().structure_app_data(structure)

    def structure_values(self, structure: Structure) -> Mapping[str, Any] | None:
        if self.sensors.keys() >= structure.param_names:
            return self.sensors
        return None  # no reading yet: no report

    def status_values(self) -> dict[str, Any]:
        stats = self.store.stats
        limit = max(self.store.limit_bytes, 1)
        return {
            "RECORDER_PACKETS": stats.packets, "RECORDER_BYTES": min(stats.size, 0xFFFFFFFF),
            "RECORDER_FILL": 100.0 * stats.size / limit,
            "RECORDER_OVERFLOWS": stats.overflows,
            "RECORDER_REPAIRED": self.filler.repaired, "RECORDER_GAPS": self.filler.lost,
            "PLAYBACKS": self.playbacks, "PLAYBACK_PACKETS": self.playback_packets,
            "SENSOR_PACKETS": self.sensor_packets,
        }

    # --- playback --------------------------------------------------------------------------------

    @handles("PLAYBACK")
    async def playback(self, args: dict[str, Any]) -> None:
        start, end = args["start"].to_unix(), args["end"].to_unix()
        if end < start:
            raise CommandFailed(FailureCode.INVALID_ARGUMENT,
                                f"playback span ends before it starts ({start} > {end})", 2,
                                stage="start")
        self._flush()
        self.event("PLAYBACK_STARTED", packets=self.store.count(start, end))
        sent = 0
        assert self.publisher is not None
        for packet in self.store.query(start, end):
            apid = ((packet[0] & 0x7) << 8) | packet[1]
            self.publisher.send(bus.topic(self.satellite, bus.PB, apid), packet)
            sent += 1
            if sent % PLAYBACK_BURST == 0:
                await asyncio.sleep(0)  # let the batch go and the rest of the app breathe
        self.playbacks += 1
        self.playback_packets += sent
        self.event("PLAYBACK_DONE", packets=sent)
