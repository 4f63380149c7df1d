"""The result store: finished jobs' result files on disk, until the ground confirms them.

Each result is ``<job_id>.bin`` with its SHA-256 in ``<job_id>.sha256``, written atomically, so
a restart of the compute manager (or of the satellite) finds every result still owed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from common.files import files_named, write_atomic


class ResultStore:
    """Result files of one satellite."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        # What is on disk, read once: every change goes through this store.
        self._sizes = {int(path.stem): path.stat().st_size
                       for path in files_named(directory, suffix=".bin") if path.stem.isdigit()}

    def _path(self, job_id: int, suffix: str) -> Path:
        return self.directory / f"{job_id}{suffix}"

    def save(self, job_id: int, data: bytes) -> str:
        """Store a result; return its SHA-256 (hex)."""
        digest = hashlib.sha256(data).hexdigest()
        for suffix, content in ((".bin", data), (".sha256", digest.encode())):
            write_atomic(self._path(job_id, suffix), content)
        self._sizes[job_id] = len(data)
        return digest

    def load(self, job_id: int) -> bytes | None:
        """The result of ``job_id``, if stored."""
        try:
            return self._path(job_id, ".bin").read_bytes()
        except FileNotFoundError:
            return None

    def digest(self, job_id: int) -> bytes:
        """The SHA-256 (raw bytes) of a stored result."""
        return bytes.fromhex(self._path(job_id, ".sha256").read_text())

    def delete(self, job_id: int) -> None:
        """Forget a result the ground has confirmed."""
        for suffix in (".bin", ".sha256"):
            self._path(job_id, suffix).unlink(missing_ok=True)
        self._sizes.pop(job_id, None)

    def pending(self) -> dict[int, int]:
        """Job id → size of every result still stored."""
        return dict(self._sizes)
