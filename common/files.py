"""Files that must never be seen half-written, and finding the files a process restores after a
restart."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: str | Path, content: bytes | str) -> Path:
    """Write ``content`` to ``path`` so that a reader (or a process killed mid-write) sees
    either the old file or the new one, never a part: a temporary file beside it, renamed over
    it. Text is written as UTF-8; missing parent directories are made. Returns the path.

    The temporary name carries the process id, so two processes writing the same file cannot
    rename each other's half-written copy.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def files_named(directory: Path, prefix: str = "", suffix: str = "") -> list[Path]:
    """The entries of ``directory`` whose names start with ``prefix`` and end with ``suffix``.

    Not ``Path.glob``: it compiles its pattern into a regular expression, and doing that in
    every forked app process ran the ``re`` compiler there, which copied ~0.18 MiB of the
    preloaded image into each (``bench/memory.py``).
    """
    return [directory / name for name in os.listdir(directory)
            if name.startswith(prefix) and name.endswith(suffix)
            and len(name) >= len(prefix) + len(suffix)]
