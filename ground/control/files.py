"""Result files from the satellites (the receiving half of the file transfer).

Pieces are written where they belong in the file as they come (a piece that comes twice is
counted, not stored twice). At end of file, or when a transfer has been quiet for a while while
its satellite is in contact — the transfer was cut by loss of signal, or the end-of-file report
was lost — the missing byte ranges are asked for again with COMPUTE.RESEND_RESULT through the
command queue, so in this contact or the next. A complete file whose SHA-256 matches is
confirmed with COMPUTE.RESULT_RECEIVED (unless operators confirm by hand: ``auto_results`` off).
Every piece and every step is in the archive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from common.dictionary.apps.compute import CHUNK_BYTES
from ground.archive import Archive
from ground.control.commanding import Commanding

#: Simulated seconds a transfer may stay quiet, in contact, before what is missing is asked for.
QUIET_S = 60.0
#: Ranges asked for in one RESEND_RESULT.
MAX_RANGES = 100


@dataclass
class Transfer:
    """One result file coming down."""

    satellite: str
    job_id: int
    path: Path
    size: int | None = None
    sha256: bytes | None = None
    pieces: set[int] = field(default_factory=set)
    duplicates: int = 0
    state: str = "RECEIVING"
    last_activity: float = 0.0
    request: int | None = None
    requests: int = 0

    @property
    def chunks(self) -> int:
        """Pieces the whole file has (None-safe: 0 until the size is known)."""
        return 0 if self.size is None else (self.size + CHUNK_BYTES - 1) // CHUNK_BYTES

    def missing(self) -> list[list[int]]:
        """Byte ranges not yet received, merged, as [offset, length]."""
        if self.size is None:
            return []
        ranges: list[list[int]] = []
        for index in range(self.chunks):
            offset = index * CHUNK_BYTES
            if offset in self.pieces:
                continue
            length = min(CHUNK_BYTES, self.size - offset)
            if ranges and ranges[-1][0] + ranges[-1][1] == offset:
                ranges[-1][1] += length
            else:
                ranges.append([offset, length])
        return ranges

    def to_dict(self) -> dict[str, Any]:
        """The transfer as the operator API reports it."""
        return {"satellite": self.satellite, "job_id": self.job_id, "state": self.state,
                "size": self.size, "pieces": len(self.pieces), "chunks": self.chunks,
                "duplicates": self.duplicates, "requests": self.requests,
                "path": str(self.path)}


class FileReceiver:
    """Every result transfer of the run."""

    def __init__(self, directory: Path, archive: Archive, commanding: Commanding,
                 now: Callable[[], float], in_contact: Callable[[str, float], bool],
                 confirm: bool = True) -> None:
        self.directory = directory
        self.confirm = confirm
        self.archive = archive
        self.commanding = commanding
        self.now = now
        self.in_contact = in_contact
        self.transfers: dict[tuple[str, int], Transfer] = {}
        self.log = structlog.get_logger("files")

    def restore(self) -> int:
        """Take up the transfers of a previous life: what the archive says arrived (and the
        file holds) is not asked for again. Returns how many are still coming down."""
        coming = 0
        for row, pieces, duplicates in self.archive.transfers():
            path = self.directory / row["satellite"] / f"{row['job_id']}.bin"
            transfer = Transfer(row["satellite"], row["job_id"], path, row["size"],
                                bytes.fromhex(row["sha256"]) if row["sha256"] else None,
                                pieces if path.exists() else set(), duplicates, row["state"],
                                self.now())
            self.transfers[(transfer.satellite, transfer.job_id)] = transfer
            coming += transfer.state == "RECEIVING"
        return coming

    def _transfer(self, satellite: str, job_id: int) -> Transfer:
        key = (satellite, job_id)
        transfer = self.transfers.get(key)
        if transfer is None:
            path = self.directory / satellite / f"{job_id}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            # Quiet is counted from now: a transfer just asked for is not yet overdue.
            transfer = self.transfers[key] = Transfer(satellite, job_id, path,
                                                      last_activity=self.now())
            self.archive.transfer(satellite, job_id, state="RECEIVING", time=self.now())
        return transfer

    def report(self, satellite: str, name: str, values: dict[str, Any], time: float) -> None:
        """A FILE_METADATA, FILE_DATA or FILE_EOF report came down."""
        transfer = self._transfer(satellite, values["job_id"])
        transfer.last_activity = self.now()
        if transfer.state in ("VERIFIED", "CONFIRMED"):
            if name == "COMPUTE.FILE_DATA":
                transfer.duplicates += 1
            return
        if name in ("COMPUTE.FILE_METADATA", "COMPUTE.FILE_EOF"):
            transfer.size, transfer.sha256 = values["size"], values["sha256"]
            self.archive.transfer(satellite, transfer.job_id, size=transfer.size,
                                  sha256=transfer.sha256.hex())
            if name == "COMPUTE.FILE_EOF":
                self._evaluate(transfer)
        elif name == "COMPUTE.FILE_DATA":
            self._piece(transfer, values["offset"], values["data"], time)

    def _piece(self, transfer: Transfer, offset: int, data: bytes, time: float) -> None:
        duplicate = offset in transfer.pieces
        self.archive.transfer_piece(transfer.satellite, transfer.job_id, offset, len(data), time,
                                    duplicate)
        if duplicate:
            transfer.duplicates += 1
            return
        mode = "r+b" if transfer.path.exists() else "wb"
        with transfer.path.open(mode) as handle:
            handle.seek(offset)
            handle.write(data)
        transfer.pieces.add(offset)

    def _evaluate(self, transfer: Transfer) -> None:
        missing = transfer.missing()
        if transfer.size is None:
            self._ask(transfer, [])
        elif missing:
            self._ask(transfer, missing[:MAX_RANGES])
        else:
            with transfer.path.open("r+b" if transfer.path.exists() else "wb") as handle:
                handle.truncate(transfer.size)
            digest = hashlib.sha256(transfer.path.read_bytes()).digest()
            if digest != transfer.sha256:
                self.log.error("result digest mismatch: asking for all of it again",
                               satellite=transfer.satellite, job_id=transfer.job_id)
                transfer.pieces.clear()
                self._ask(transfer, [[0, transfer.size]])
                return
            transfer.state = "VERIFIED"
            self.archive.transfer(transfer.satellite, transfer.job_id, state="VERIFIED",
                                  time=self.now())
            if self.confirm:
                self.commanding.submit(transfer.satellite, "COMPUTE.RESULT_RECEIVED",
                                       {"job_id": transfer.job_id})
            self.log.info("result verified", satellite=transfer.satellite,
                          job_id=transfer.job_id, size=transfer.size)

    def _ask(self, transfer: Transfer, ranges: list[list[int]]) -> None:
        pending = self.commanding.commands.get(transfer.request or -1)
        if pending is not None and not pending.final:
            return  # one request at a time
        command = self.commanding.submit(transfer.satellite, "COMPUTE.RESEND_RESULT",
                                         {"job_id": transfer.job_id, "ranges": ranges})
        transfer.request = command.id
        transfer.requests += 1

    def tick(self) -> None:
        """Ask again for quiet transfers whose satellite is in contact."""
        now = self.now()
        for transfer in self.transfers.values():
            if transfer.state != "RECEIVING" or now - transfer.last_activity < QUIET_S:
                continue
            if not self.in_contact(transfer.satellite, now):
                continue
            transfer.last_activity = now
            self._evaluate(transfer)

    def confirmed(self, satellite: str, job_id: int) -> None:
        """The satellite acknowledged our confirmation: the transfer is over."""
        transfer = self.transfers.get((satellite, job_id))
        if transfer is not None:
            transfer.state = "CONFIRMED"
            self.archive.transfer(satellite, job_id, state="CONFIRMED", time=self.now())


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""

