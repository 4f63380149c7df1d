"""The compiled hot path: the guard that keeps a stale build out, and mypyc's rules in source."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common import compiled

ROOT = Path(__file__).resolve().parent.parent.parent
SUFFIX = ".cpython-311-x86_64-linux-gnu.so"


def _native_classes() -> set[str]:
    """Names of the classes defined in compiled modules (mypyc makes them native)."""
    names = set()
    for path in compiled.MODULES:
        for node in ast.walk(ast.parse((ROOT / path).read_text())):
            if isinstance(node, ast.ClassDef):
                names.add(node.name)
    return names


def test_no_compiled_function_binds_one_exception_name_to_a_native_class_and_another() -> None:
    # mypyc gives a local one type, from its first binding: ``except CommandFailed as exc``
    # then ``except Exception as exc`` raises TypeError for any other exception (measured:
    # "e.Native object expected; got ValueError"), and a forged telecommand crashed the radio's
    # handler that way. Each native exception gets a name of its own.
    native = _native_classes()
    found = []
    for path in compiled.MODULES:
        for function in ast.walk(ast.parse((ROOT / path).read_text())):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            bound: dict[str, set[str]] = {}
            for node in ast.walk(function):
                if isinstance(node, ast.ExceptHandler) and node.name and node.type is not None:
                    bound.setdefault(node.name, set()).add(ast.unparse(node.type))
            for name, types in bound.items():
                if len(types) > 1 and types & native:
                    found.append(f"{path}: {function.name}: {name} as {sorted(types)}")
    assert not found, found


def _tree(root: Path, sources: dict[str, float], extensions: list[str],
          library_at: float | None) -> None:
    """Sources with their mtimes, extensions beside some, and the group's library."""
    for path, mtime in sources.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("")
        os.utime(root / path, (mtime, mtime))
    for path in extensions:
        (root / path.removesuffix(".py")).with_suffix(SUFFIX).write_bytes(b"")
    if library_at is not None:
        library = root / f"{compiled.GROUP}__mypyc{SUFFIX}"
        library.write_bytes(b"")
        os.utime(library, (library_at, library_at))


def test_a_build_is_stale_where_a_source_is_newer_than_the_library_or_has_no_extension(
        tmp_path: Path) -> None:
    now = time.time()
    paths = ["common/a.py", "common/b.py", "flight/c.py"]
    _tree(tmp_path, {"common/a.py": now - 100, "common/b.py": now, "flight/c.py": now - 100},
          ["common/a.py", "common/b.py"], library_at=now - 50)
    # b was edited after the build; c was never built.
    assert compiled.stale_sources(paths, tmp_path) == ["common/b.py", "flight/c.py"]
    os.utime(tmp_path / "common/b.py", (now - 100, now - 100))
    (tmp_path / "flight/c.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    assert compiled.stale_sources(paths, tmp_path) == []


def test_no_library_means_everything_is_stale(tmp_path: Path) -> None:
    _tree(tmp_path, {"common/a.py": time.time()}, ["common/a.py"], library_at=None)
    assert compiled.stale_sources(["common/a.py"], tmp_path) == ["common/a.py"]


def test_an_extension_of_a_module_off_the_list_is_a_stray(tmp_path: Path) -> None:
    now = time.time()
    _tree(tmp_path, {"common/a.py": now, "flight/old.py": now, "flight/plain.py": now},
          ["common/a.py", "flight/old.py"], library_at=now + 1)
    assert compiled.strays(["common/a.py"], tmp_path) == ["flight/old.py"]


def _loaded(env: dict[str, str]) -> list[str]:
    code = ("import common.compiled as c, common.packets as p, flight.framework.app as a; "
            "print(c.mode(), p.__file__, a.__file__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, **env}, cwd=ROOT)
    return out.stdout.split()


def test_pure_python_can_be_asked_for_whatever_is_built() -> None:
    mode, *files = _loaded({compiled.PURE_ENV: "1"})
    assert mode == "pure" and all(name.endswith(".py") for name in files)


def test_where_the_hot_path_was_built_it_is_what_runs() -> None:
    if compiled.group_library() is None:
        pytest.skip("no compiled build here (DAWNDUSK_COMPILE=0, or no C compiler)")
    # make rebuilds what changed: a build that is there but stale would run pure, unseen.
    assert compiled.stale_sources() == [] and compiled.strays() == []
    mode, *files = _loaded({compiled.PURE_ENV: ""})
    assert mode == "compiled" and not any(name.endswith(".py") for name in files)
