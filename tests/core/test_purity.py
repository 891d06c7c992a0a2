"""The core is pure: no I/O, no clock, no threads, no global randomness (DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import raftkv.core

CORE_DIR = Path(raftkv.core.__file__).parent
FORBIDDEN_MODULES = {"asyncio", "socket", "time", "threading", "os", "selectors", "subprocess"}
CORE_FILES = sorted(CORE_DIR.glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def uses_global_random(path: Path) -> list[str]:
    """Calls like `random.random()`: only an injected `random.Random` instance is allowed."""
    tree = ast.parse(path.read_text(), filename=str(path))
    calls = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "random"
            and node.attr != "Random"
        ):
            calls.append(f"random.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module == "random":
            calls.extend(f"from random import {a.name}" for a in node.names)
    return calls


def test_core_files_found() -> None:
    assert len(CORE_FILES) >= 10


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.name)
def test_no_io_clock_or_threads(path: Path) -> None:
    assert imported_modules(path) & FORBIDDEN_MODULES == set()


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.name)
def test_no_global_random(path: Path) -> None:
    assert uses_global_random(path) == []


def test_checker_catches_forbidden_imports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom asyncio import sleep\nimport random\nx = random.random()\n")
    assert imported_modules(bad) & FORBIDDEN_MODULES == {"time", "asyncio"}
    assert uses_global_random(bad) == ["random.random"]
