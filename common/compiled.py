"""The hot path compiled with mypyc, and the guard that never lets a stale build run.

A fleet's CPU goes almost all to CPython running the per-packet code of the flight software
(encode, decode, dispatch, monitoring, the hardware models): ~72 % of every cycle in a
100-satellite fleet was the interpreter itself. ``setup.py`` compiles the modules below to C
extensions with mypyc (from the same typed source) when it can; the pure-Python modules stay
the reference, and are what runs when there is no build.

An extension sits next to its ``.py`` and Python would import it first, even after the source
was edited. So the build writes down what it compiled: a fingerprint of every source, taken before
mypyc reads them (:data:`MANIFEST`). :func:`guard` runs before any of these modules is imported
(``common/__init__`` calls it, and ``flight`` imports ``common`` first): when a source no longer
matches its fingerprint, an extension is missing or left from an older list, or ``DAWNDUSK_PURE=1``
is set, every one of them is imported from source for the life of the process (they call each
other natively, so it is all or none), and a stale build says so once on standard error.
``make`` rebuilds.

This module itself is never compiled, and imports nothing of the project (``setup.py`` loads it
by its path). ``python3 common/compiled.py`` prints the list, for make.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Final

#: Source files compiled by ``setup.py``, relative to the project root: what the fleet runs per
#: packet or per simulated second. Control logic that runs now and then (supervision, the
#: command gate, the event-action table, the scheduler) stays interpreted. A compiled class
#: checks the type of what it is given; where a test gives a stand-in, the type is a protocol.
MODULES: Final = (
    "common/packets.py",
    "common/framing.py",
    "common/sequence.py",
    "common/cuc.py",
    "common/layout.py",
    "common/bus.py",
    "common/localbus.py",
    "common/zmqloop.py",
    "common/clock.py",
    "common/radio.py",
    "common/dictionary/fields.py",
    "common/dictionary/registry.py",
    "flight/framework/app.py",
    "flight/framework/decoded.py",
    "flight/fault/app.py",
    "flight/fault/monitors.py",
    "flight/housekeeping/app.py",
    "flight/housekeeping/recorder.py",
    "flight/housekeeping/gapfill.py",
    "flight/compute/app.py",
    "flight/compute/budget.py",
    "flight/executive/app.py",
    "flight/executive/radio.py",
    "flight/sim/app.py",
    "flight/sim/models/nodes.py",
    "flight/sim/models/power.py",
    "flight/sim/models/satellite.py",
    "flight/sim/models/thermal.py",
)
#: mypyc's shared library for the modules above (``setup.py`` names it so).
GROUP: Final = "dawndusk_hot"
#: What the build compiled: source path → fingerprint of its text, beside this module.
MANIFEST: Final = "common/compiled_sources.json"
#: Where the digests wait while a build runs (put in place as ``MANIFEST`` once it succeeded).
MANIFEST_PENDING: Final = f"{MANIFEST}.pending"
#: Set to 1 to run the pure-Python modules even where a fresh build exists.
PURE_ENV: Final = "DAWNDUSK_PURE"

ROOT: Final = Path(__file__).resolve().parent.parent

#: "compiled", "pure" (no build, or asked for) or "stale" (a build of other sources).
_mode: str | None = None


def module_name(path: str) -> str:
    """``common/packets.py`` → ``common.packets``."""
    return path.removesuffix(".py").replace("/", ".")


def group_library(root: Path = ROOT) -> Path | None:
    """mypyc's shared library of the group, where the compiled code of every module is (each
    module's own extension only hands it out), if there is one."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = root / f"{GROUP}__mypyc{suffix}"
        if candidate.exists():
            return candidate
    return None


def digest(path: str, root: Path = ROOT) -> str:
    """A fingerprint of a source's text: its length and CRC-32 (to see an edit, not to resist
    one; and no hashlib, which would bring OpenSSL into every satellite: flight/image.py)."""
    text = (root / path).read_bytes()
    return f"{len(text)}:{zlib.crc32(text):08x}"


def write_manifest(paths: Sequence[str] = MODULES, root: Path = ROOT,
                   name: str = MANIFEST) -> None:
    """Write down the digests of ``paths`` as they are now (the build, before compiling, to
    ``MANIFEST_PENDING``)."""
    (root / name).write_text(json.dumps({path: digest(path, root) for path in paths},
                                        indent=1) + "\n")


def extensions(root: Path = ROOT) -> dict[str, Path]:
    """Every extension beside a source of ``common`` and ``flight``, by that source's path
    (one walk of the two packages)."""
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    found = {}
    for package in ("common", "flight"):
        for file in (root / package).rglob("*"):
            suffix = next((s for s in suffixes if file.name.endswith(s)), None)
            if suffix is not None:
                source = file.with_name(file.name.removesuffix(suffix) + ".py")
                found[source.relative_to(root).as_posix()] = file
    return found


def stale_sources(paths: Sequence[str] = MODULES, root: Path = ROOT,
                  built: dict[str, Path] | None = None) -> list[str]:
    """The sources among ``paths`` without an extension (``built``: :func:`extensions`), or
    not as the build compiled them (all of them when there is no build at all)."""
    built = extensions(root) if built is None else built
    try:
        compiled_from = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        compiled_from = {}
    if group_library(root) is None or not isinstance(compiled_from, dict):
        return list(paths)
    return [path for path in paths
            if path not in built or compiled_from.get(path) != digest(path, root)]


def strays(paths: Sequence[str] = MODULES, root: Path = ROOT,
           built: dict[str, Path] | None = None) -> list[str]:
    """Sources of ``common`` and ``flight`` that have an extension beside them but are not
    among ``paths``: left by a build from before a module was taken off the list."""
    built = extensions(root) if built is None else built
    listed = set(paths)
    return sorted(path for path in built if path not in listed and (root / path).exists())


class _FromSource:
    """Finds the compiled modules' sources, ahead of their extensions."""

    def __init__(self, paths: Sequence[str], root: Path) -> None:
        self.sources = {module_name(path): root / path for path in paths}

    def find_spec(self, name: str, path: object = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        source = self.sources.get(name)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(name, source)


def guard() -> str:
    """Decide once per process whether the compiled modules may be used; return the mode."""
    global _mode
    if _mode is not None:
        return _mode
    asked_pure = os.environ.get(PURE_ENV, "") in ("1", "true", "yes")
    built = extensions()
    stray = strays(built=built)
    stale = stale_sources(built=built) + stray
    if not stale and not asked_pure:
        _mode = "compiled"
        return _mode
    # Extensions there but not to be used: a stale build, said so; none at all: plain Python.
    _mode = "stale" if built and not asked_pure else "pure"
    if _mode == "stale":
        more = f" and {len(stale) - 1} more" if len(stale) > 1 else ""
        sys.stderr.write(f"dawndusk: the compiled hot path was not built from this "
                         f"{stale[0]}{more}: running pure Python (slower) until it is rebuilt "
                         "(make)\n")
    if any(module_name(path) in sys.modules for path in (*MODULES, *stray)):
        raise RuntimeError("dawndusk: a compiled module was imported before the guard ran")
    sys.meta_path.insert(0, _FromSource((*MODULES, *stray), ROOT))
    return _mode


def mode() -> str:
    """How the hot path runs in this process: ``compiled``, ``pure`` or ``stale``."""
    return guard()


def describe() -> str:
    """One line for logs and benchmarks: how the hot path runs here."""
    return {"compiled": f"compiled with mypyc ({len(MODULES)} modules)",
            "pure": "pure Python (no compiled build, or DAWNDUSK_PURE=1)",
            "stale": "pure Python: the compiled build is not of these sources"}[guard()]


if __name__ == "__main__":  # for make: the sources whose change means a rebuild
    print(" ".join(MODULES))
