"""Result files to the ground, in pieces, across contacts (the sending half).

Semantics of CCSDS File Delivery Protocol class 2, driven by the ground: DOWNLINK_RESULT sends
the metadata (size, SHA-256), every piece and an end-of-file report; the ground answers a gap
with RESEND_RESULT listing the byte ranges it lacks — in this contact or the next one, since
ground commands only go up inside windows — and with RESULT_RECEIVED once it holds the whole
file with the right digest. Pieces go out a burst per loop iteration, never all at once.

Each file's progress is kept (:class:`Progress`) and reported by LIST_TRANSFERS: bytes sent
once and again, resend requests, and what the ground is known to hold — a resend request says
what it lacks, so the rest has arrived (the sender's view of a CFDP NAK).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from common.dictionary import DICTIONARY
from common.dictionary.apps.compute import CHUNK_BYTES

if TYPE_CHECKING:
    from flight.compute.app import ComputeManager

#: Pieces sent per loop iteration.
BURST = 64
#: Delivered transfers LIST_TRANSFERS still reports.
KEEP_DELIVERED = 32


@dataclass
class Progress:
    """One result file's way down, as the satellite sees it.

    ``state``: STORED (not asked for yet), SENDING (pieces going out), SENT (end of file sent,
    waiting for the ground's answer), DELIVERED (the ground confirmed it).
    """

    job_id: int
    size: int
    state: str = "STORED"
    sent: int = 0
    resent: int = 0
    resends: int = 0
    acked: int = 0
    started: float | None = None
    updated: float | None = None

    def summary(self) -> dict[str, Any]:
        """The LIST_TRANSFERS entry."""
        return asdict(self)


class Transfers:
    """The sender side of result downlinks."""

    def __init__(self, app: ComputeManager) -> None:
        self.app = app
        reports = {report.short: report for report in app.definition.reports}
        self.metadata = reports["FILE_METADATA"]
        self.data = reports["FILE_DATA"]
        self.eof = reports["FILE_EOF"]
        self.listing = reports["TRANSFER_LIST"]
        self.progress: dict[int, Progress] = {}
        self.delivered_recently: OrderedDict[int, Progress] = OrderedDict()
        self.bytes_sent = 0
        self.delivered_count = 0

    @property
    def active(self) -> set[int]:
        """Jobs whose file is on its way (asked for, not yet confirmed)."""
        return {job_id for job_id, p in self.progress.items() if p.state in ("SENDING", "SENT")}

    def _send(self, report: Any, values: dict[str, Any]) -> None:
        self.app.send_tm(report.service, report.subtype,
                         DICTIONARY.report_app_data(report, values))

    def _progress(self, job_id: int, size: int) -> Progress:
        progress = self.progress.get(job_id)
        if progress is None or progress.size != size:
            progress = self.progress[job_id] = Progress(job_id, size)
        return progress

    async def send_all(self, job_id: int) -> None:
        """Metadata, every piece, end of file."""
        data = self.app.results.load(job_id) or b""
        digest = self.app.results.digest(job_id)
        progress = self._progress(job_id, len(data))
        now = self.app.clock.now()
        if progress.started is None:
            progress.started = now
        progress.state, progress.updated = "SENDING", now
        self._send(self.metadata, {"job_id": job_id, "size": len(data), "sha256": digest})
        await self._pieces(progress, data, [(0, len(data))])
        self._eof(progress, digest)

    async def send_ranges(self, job_id: int, ranges: list[list[int]]) -> None:
        """The pieces covering ``ranges``, then end of file again."""
        data = self.app.results.load(job_id) or b""
        digest = self.app.results.digest(job_id)
        progress = self._progress(job_id, len(data))
        spans = [(max(0, offset), max(0, length)) for offset, length in ranges]
        missing = sum(min(len(data), o + n) - min(len(data), o) for o, n in spans)
        progress.resends += 1
        progress.acked = max(0, len(data) - missing)
        progress.state, progress.updated = "SENDING", self.app.clock.now()
        if progress.started is None:
            progress.started = progress.updated
        await self._pieces(progress, data, spans)
        self._eof(progress, digest)

    def _eof(self, progress: Progress, digest: bytes) -> None:
        self._send(self.eof, {"job_id": progress.job_id, "size": progress.size, "sha256": digest})
        if progress.state == "SENDING":
            progress.state = "SENT"
        progress.updated = self.app.clock.now()

    async def _pieces(self, progress: Progress, data: bytes,
                      spans: list[tuple[int, int]]) -> None:
        sent = 0
        first_pass = progress.sent < len(data)
        for offset, length in spans:
            end = min(len(data), offset + length)
            # Pieces start on chunk boundaries, so that a resend lines up with what came before.
            position = offset - offset % CHUNK_BYTES
            while position < end:
                piece = data[position:position + CHUNK_BYTES]
                self._send(self.data, {"job_id": progress.job_id, "offset": position,
                                       "data": piece})
                self.bytes_sent += len(piece)
                if first_pass and progress.sent < len(data):
                    progress.sent += len(piece)
                else:
                    progress.resent += len(piece)
                position += CHUNK_BYTES
                sent += 1
                if sent % BURST == 0:
                    progress.updated = self.app.clock.now()
                    await asyncio.sleep(0)

    def delivered(self, job_id: int) -> None:
        """The ground confirmed the file."""
        progress = self.progress.pop(job_id, None) or Progress(job_id, 0)
        progress.state, progress.acked = "DELIVERED", progress.size
        progress.updated = self.app.clock.now()
        self.delivered_recently[job_id] = progress
        while len(self.delivered_recently) > KEEP_DELIVERED:
            self.delivered_recently.popitem(last=False)
        self.delivered_count += 1

    def report(self, stored: dict[int, int]) -> None:
        """Send TM[140,5]: every stored result (``stored``: job id → size) and the recently
        delivered ones, with their progress."""
        entries = [self._progress(job_id, size).summary() for job_id, size in sorted(
            stored.items())]
        entries += [p.summary() for p in self.delivered_recently.values()]
        self._send(self.listing, {"transfers": entries[-400:]})

    def counters(self) -> dict[str, int]:
        """Transfer counters for housekeeping."""
        return {"TRANSFERS_ACTIVE": len(self.active),
                "TRANSFER_BYTES_SENT": self.bytes_sent & 0xFFFFFFFF,
                "RESULTS_DELIVERED": self.delivered_count}
