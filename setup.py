"""Build: the project's metadata is in pyproject.toml; this adds the compiled hot path.

The modules listed in ``common/compiled.py`` are compiled to C extensions with mypyc when it
and a C compiler are there (``DAWNDUSK_COMPILE=0`` skips it); without them the same modules
run as pure Python, only slower. ``common.compiled.guard`` keeps a build older than its source
out of every process.
"""

from __future__ import annotations

import ast
import importlib.machinery
import os
from pathlib import Path
from typing import Any

from setuptools import setup

ROOT = Path(__file__).resolve().parent


def _listed() -> tuple[list[str], str]:
    """MODULES and GROUP of common/compiled.py, read without importing the package."""
    values: dict[str, object] = {}
    for node in ast.parse((ROOT / "common" / "compiled.py").read_text()).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.value is not None and node.target.id in ("MODULES", "GROUP"):
            values[node.target.id] = ast.literal_eval(node.value)
    modules, group = values["MODULES"], values["GROUP"]
    assert isinstance(modules, tuple) and isinstance(group, str)
    return [str(path) for path in modules], group


def _remove_strays(modules: list[str]) -> None:
    """Delete extensions built from modules no longer on the list (Python would import them
    ahead of their source)."""
    listed = set(modules)
    for package in ("common", "flight"):
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            for extension in (ROOT / package).rglob(f"*{suffix}"):
                source = extension.with_name(extension.name.removesuffix(suffix) + ".py")
                if source.relative_to(ROOT).as_posix() not in listed:
                    extension.unlink()


def _extensions() -> list[Any]:
    modules, group = _listed()
    if os.environ.get("DAWNDUSK_COMPILE", "1") == "0":
        _remove_strays([])  # a pure build leaves no extension of an earlier one behind
        return []
    _remove_strays(modules)
    from mypyc.build import mypycify

    return mypycify(modules, opt_level="3", multi_file=True, group_name=group)


# Both cores: mypyc's C for the hot path is split over several files (multi_file).
setup(ext_modules=_extensions(), options={"build_ext": {"parallel": os.cpu_count() or 1}})
