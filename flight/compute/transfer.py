"""Result files to the ground, in pieces, across contacts (the sending half).

Semantics of CCSDS File Delivery Protocol class 2, driven by the ground: DOWNLINK_RESULT sends
the metadata (size, SHA-256), every piece and an end-of-file report; the ground answers a gap
with RESEND_RESULT listing the byte ranges it lacks — in this contact or the next one, since
ground commands only go up inside windows — and with RESULT_RECEIVED once it holds the whole
file with the right digest. Pieces go out a burst per loop iteration, never all at once.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from common.dictionary import DICTIONARY
from common.dictionary.apps.compute import CHUNK_BYTES

if TYPE_CHECKING:
    from flight.compute.app import ComputeManager

#: Pieces sent per loop iteration.
BURST = 64


class Transfers:
    """The sender side of result downlinks."""

    def __init__(self, app: ComputeManager) -> None:
        self.app = app
        reports = {report.short: report for report in app.definition.reports}
        self.metadata = reports["FILE_METADATA"]
        self.data = reports["FILE_DATA"]
        self.eof = reports["FILE_EOF"]
        self.active: set[int] = set()
        self.bytes_sent = 0
        self.delivered_count = 0

    def _send(self, report: Any, values: dict[str, Any]) -> None:
        self.app.send_tm(report.service, report.subtype,
                         DICTIONARY.report_app_data(report, values))

    async def send_all(self, job_id: int) -> None:
        """Metadata, every piece, end of file."""
        data = self.app.results.load(job_id) or b""
        digest = self.app.results.digest(job_id)
        self.active.add(job_id)
        self._send(self.metadata, {"job_id": job_id, "size": len(data), "sha256": digest})
        await self._pieces(job_id, data, [(0, len(data))])
        self._send(self.eof, {"job_id": job_id, "size": len(data), "sha256": digest})

    async def send_ranges(self, job_id: int, ranges: list[list[int]]) -> None:
        """The pieces covering ``ranges``, then end of file again."""
        data = self.app.results.load(job_id) or b""
        digest = self.app.results.digest(job_id)
        self.active.add(job_id)
        spans = [(max(0, offset), max(0, length)) for offset, length in ranges]
        await self._pieces(job_id, data, spans)
        self._send(self.eof, {"job_id": job_id, "size": len(data), "sha256": digest})

    async def _pieces(self, job_id: int, data: bytes, spans: list[tuple[int, int]]) -> None:
        sent = 0
        for offset, length in spans:
            end = min(len(data), offset + length)
            # Pieces start on chunk boundaries, so that a resend lines up with what came before.
            position = offset - offset % CHUNK_BYTES
            while position < end:
                piece = data[position:position + CHUNK_BYTES]
                self._send(self.data, {"job_id": job_id, "offset": position, "data": piece})
                self.bytes_sent += len(piece)
                position += CHUNK_BYTES
                sent += 1
                if sent % BURST == 0:
                    await asyncio.sleep(0)

    def delivered(self, job_id: int) -> None:
        """The ground confirmed the file."""
        self.active.discard(job_id)
        self.delivered_count += 1

    def counters(self) -> dict[str, int]:
        """Transfer counters for housekeeping."""
        return {"TRANSFERS_ACTIVE": len(self.active),
                "TRANSFER_BYTES_SENT": self.bytes_sent & 0xFFFFFFFF,
                "RESULTS_DELIVERED": self.delivered_count}
