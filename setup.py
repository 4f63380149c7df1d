"""Build: the project's metadata is in pyproject.toml; this adds the compiled hot path.

The modules listed in ``common/compiled.py`` are compiled to C extensions with mypyc when it
and a C compiler are there (``DAWNDUSK_COMPILE=0`` skips it, and removes any earlier build);
without them the same modules run as pure Python, only slower. The digests of the sources are
written down before mypyc reads them, and ``common.compiled.guard`` keeps a build of other
sources out of every process. They are put in place only once the extensions are built: a
build that fails (a type error, a compiler error) leaves no record that would vouch for the
extensions of the build before it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def _compiled() -> ModuleType:
    """common/compiled.py, loaded by its path (it imports nothing of the project)."""
    spec = importlib.util.spec_from_file_location("dawndusk_compiled",
                                                  ROOT / "common" / "compiled.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _extensions() -> list[Any]:
    compiled = _compiled()
    modules = list(compiled.MODULES)
    compiling = os.environ.get("DAWNDUSK_COMPILE", "1") != "0"
    # Python would import an extension ahead of its source: none may outlive its place.
    for path, extension in compiled.extensions(ROOT).items():
        if not compiling or path not in modules:
            extension.unlink()
    if not compiling:
        library = compiled.group_library(ROOT)
        if library is not None:
            library.unlink()
        (ROOT / compiled.MANIFEST).unlink(missing_ok=True)
        return []
    from mypyc.build import mypycify

    # Until this build has succeeded, no record vouches for the extensions there now.
    (ROOT / compiled.MANIFEST).unlink(missing_ok=True)
    # Before mypyc reads them: an edit made after is seen.
    compiled.write_manifest(modules, ROOT, compiled.MANIFEST_PENDING)
    return mypycify(modules, opt_level="3", multi_file=True, group_name=compiled.GROUP)


class BuildExt(build_ext):  # type: ignore[misc]
    """build_ext, then the digests of what it compiled put in place."""

    def run(self) -> None:
        super().run()
        compiled = _compiled()
        pending = ROOT / compiled.MANIFEST_PENDING
        if pending.exists():
            pending.replace(ROOT / compiled.MANIFEST)


# Both cores: mypyc's C for the hot path is split over several files (multi_file).
setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt},
      options={"build_ext": {"parallel": os.cpu_count() or 1}})
