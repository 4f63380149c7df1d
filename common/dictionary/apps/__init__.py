"""The applications of a dawndusk satellite, assembled in one place.

The executive and fault protection are defined from the others: the executive's app table
lists the supervised apps, and fault protection has a monitor for every limited parameter.
"""

from __future__ import annotations

from common.dictionary.apps import executive, fault
from common.dictionary.apps.compute import COMPUTE
from common.dictionary.apps.housekeeping import HK
from common.dictionary.apps.sim import SIM
from common.dictionary.model import App, Param


def _limited(apps: tuple[App, ...]) -> list[Param]:
    seen: dict[str, Param] = {}
    for app in apps:
        for structure in app.structures:
            for param in structure.params:
                if param.limits is not None:
                    seen.setdefault(param.name, param)
    return list(seen.values())


_SUPERVISED_NAMES = ("HK", "COMPUTE", "FP")
FP = fault.define(_limited((HK, COMPUTE, SIM)), _SUPERVISED_NAMES)
SUPERVISED: tuple[App, ...] = (HK, COMPUTE, FP)
EXEC = executive.define(SUPERVISED)
APPS: tuple[App, ...] = (EXEC, HK, COMPUTE, FP, SIM)

__all__ = ["APPS", "COMPUTE", "EXEC", "FP", "HK", "SIM", "SUPERVISED"]
