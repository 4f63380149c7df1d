"""The compiled hot path: the guard that keeps a stale build out, and mypyc's rules in source."""

from __future__ import annotations

import ast
import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common import compiled

ROOT = Path(__file__).resolve().parent.parent.parent
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


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


def _tree(root: Path, sources: dict[str, str], extensions: list[str], library: bool) -> None:
    """Sources with their text, extensions beside some, and the group's library."""
    for path, text in sources.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    for path in extensions:
        (root / path.removesuffix(".py")).with_suffix(SUFFIX).write_bytes(b"")
    if library:
        (root / f"{compiled.GROUP}__mypyc{SUFFIX}").write_bytes(b"")
    (root / "common").mkdir(exist_ok=True)


def test_a_build_is_stale_where_a_source_is_not_what_it_compiled_or_has_no_extension(
        tmp_path: Path) -> None:
    paths = ["common/a.py", "common/b.py", "flight/c.py"]
    _tree(tmp_path, {path: f"# {path}\n" for path in paths}, ["common/a.py", "common/b.py"],
          library=True)
    compiled.write_manifest(paths, tmp_path)
    # c was never built; b is edited after the build (its time may not have changed at all).
    (tmp_path / "common/b.py").write_text("# edited\n")
    assert compiled.stale_sources(paths, tmp_path) == ["common/b.py", "flight/c.py"]
    # A checkout that only touched a file, or wrote it back as it was, is no change.
    (tmp_path / "common/b.py").write_text("# common/b.py\n")
    (tmp_path / "flight" / f"c{SUFFIX}").write_bytes(b"")
    assert compiled.stale_sources(paths, tmp_path) == []


def test_no_library_or_no_manifest_means_everything_is_stale(tmp_path: Path) -> None:
    _tree(tmp_path, {"common/a.py": "# a\n"}, ["common/a.py"], library=False)
    compiled.write_manifest(["common/a.py"], tmp_path)
    assert compiled.stale_sources(["common/a.py"], tmp_path) == ["common/a.py"]
    _tree(tmp_path, {}, [], library=True)
    (tmp_path / compiled.MANIFEST).unlink()
    assert compiled.stale_sources(["common/a.py"], tmp_path) == ["common/a.py"]


def test_an_extension_of_a_module_off_the_list_is_a_stray(tmp_path: Path) -> None:
    _tree(tmp_path, {"common/a.py": "", "flight/old.py": "", "flight/plain.py": ""},
          ["common/a.py", "flight/old.py"], library=True)
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
