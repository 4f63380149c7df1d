"""Which class implements each flight app (the executive starts them by name)."""

from __future__ import annotations

import importlib
from typing import Any

#: Dictionary app name → "module:Class".
APP_CLASSES = {
    "EXEC": "flight.executive.app:Executive",
    "HK": "flight.housekeeping.app:Housekeeping",
    "COMPUTE": "flight.compute.app:ComputeManager",
    "FP": "flight.fault.app:FaultProtection",
}


def app_class(name: str) -> type[Any]:
    """The class of flight app ``name``."""
    try:
        module, _, cls = APP_CLASSES[name].partition(":")
    except KeyError:
        raise KeyError(f"no flight app {name!r}; known: {', '.join(APP_CLASSES)}") from None
    return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]


def preload() -> None:
    """Import every flight app module and read shared tables (before forking children)."""
    from common import cuc

    for name in APP_CLASSES:
        app_class(name)
    cuc.preload()
