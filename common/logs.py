"""Structured logging: JSON lines in the run directory, a readable rendering on a terminal.

Every process logs to ``RUN_DIR/logs/<name>.jsonl`` (one JSON object per line, with the
timestamp, level, event and bound context such as ``satellite`` and ``app``). Interactive
commands add a human-readable console rendering on standard error.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Any, TextIO

import structlog

_handles: list[TextIO] = []


def log_path(run_dir: str | Path, name: str) -> Path:
    """Where process ``name`` of a run writes its JSON lines."""
    return Path(run_dir) / "logs" / f"{name}.jsonl"


def configure(run_dir: str | Path | None, name: str, *, console: bool = False,
              level: str = "info", **context: Any) -> structlog.stdlib.BoundLogger:
    """Configure structlog for this process; return a logger bound with ``context``.

    Safe to call again in a forked child: it closes what the parent opened and starts over.
    """
    for handle in _handles:
        with contextlib.suppress(OSError):
            handle.close()
    _handles.clear()
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(getattr(logging, level.upper()))

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if run_dir is not None:
        path = log_path(run_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a", encoding="utf-8", buffering=1)
        _handles.append(handle)
        file_handler = logging.StreamHandler(handle)
        file_handler.setFormatter(structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info,
                        structlog.processors.JSONRenderer()],
            foreign_pre_chain=shared,
        ))
        root.addHandler(file_handler)
    if console or run_dir is None:
        console_handler = logging.StreamHandler(sys.stderr)
        console_handler.setFormatter(structlog.stdlib.ProcessorFormatter(
            processor=structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()),
            foreign_pre_chain=shared,
        ))
        root.addHandler(console_handler)

    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(process=name, **context)
    return structlog.get_logger(name)
