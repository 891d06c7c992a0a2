"""Every scenario `raftkv-tf` can run, registered by the module that defines it.

Three sources, all listed by `raftkv-tf list`:
- built in: the modules of SCENARIO_MODULES, which call `register(ScenarioEntry(...))`;
- installed: entry points of the group `raftkv.scenarios` (in a package's
  pyproject.toml: `[project.entry-points."raftkv.scenarios"] mine = "my_pkg.scenarios"`);
  an entry point names a module that registers its scenarios, a `ScenarioEntry`, or a
  function `build(args) -> Scenario`;
- a file: `raftkv-tf run path/to/scenario.py` (see `load_file`).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from raftkv.core.errors import RaftKVError

from .scenario import Scenario

ENTRY_POINT_GROUP = "raftkv.scenarios"
SCENARIO_MODULES = (
    "raftkv.examples.basic_failover",
    "raftkv.examples.compose_failover",
    "raftkv.examples.k8s_failover",
    "raftkv.examples.chaos",
    "raftkv.examples.compose_chaos",
)


class ScenarioSkipped(RaftKVError):
    """The scenario cannot run here (no Docker engine, no cluster); exits `exit_code`."""

    def __init__(self, reason: str, exit_code: int = 0) -> None:
        super().__init__(reason)
        self.exit_code = exit_code


class ScenarioNotFound(RaftKVError):
    """A scenario file or entry point that yields no scenario; says what it lacks."""


@dataclass(frozen=True, slots=True)
class ScenarioEntry:
    name: str
    summary: str
    build: Callable[[argparse.Namespace], Scenario]
    """Builds the scenario from the parsed command line (common and own options)."""
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    preflight: Callable[[argparse.Namespace], Awaitable[None]] | None = None
    """Checks the environment before anything starts; raises ScenarioSkipped."""
    describe_settings: Callable[[argparse.Namespace], dict[str, object]] | None = None
    """Scenario options worth printing at the start and keeping in the JSON report."""
    origin: str = "built in"
    """Where it comes from, for `raftkv-tf list`: built in, an entry point, a file."""


_registry: dict[str, ScenarioEntry] = {}


def register(entry: ScenarioEntry) -> ScenarioEntry:
    """Adds `entry`; the same scenario registered again (its module run as `__main__` and
    imported by name) is not a clash, another scenario of the same name is."""
    known = _registry.get(entry.name)
    if known is not None and _identity(known) != _identity(entry):
        raise ValueError(f"scenario {entry.name!r} is registered twice")
    _registry[entry.name] = entry
    return entry


def scenarios() -> list[ScenarioEntry]:
    """Every registered scenario, by name: the built-in modules, then the entry points."""
    for module in SCENARIO_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as missing:
            if missing.name != module:  # a broken import inside the module is a bug
                raise
    for point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        _load_entry_point(point)
    return [_registry[name] for name in sorted(_registry)]


def load_file(path: Path) -> ScenarioEntry:
    """The scenario a Python file defines, by the first of: the one `ScenarioEntry` it
    registers; a module-level `build(args) -> Scenario` (with optional `add_arguments`,
    `NAME` (default: the file's stem) and `SUMMARY`); a module-level `scenario` (a
    `Scenario`)."""
    if not path.is_file():
        raise ScenarioNotFound(f"{path}: no such file")
    before = set(_registry)
    module = _import_file(path)
    added = [name for name in _registry if name not in before]
    if len(added) > 1:
        raise ScenarioNotFound(f"{path} registers {len(added)} scenarios; a file runs one")
    if added:
        return _from(_registry[added[0]], f"file {path}")
    entry = _entry_of(module, str(getattr(module, "NAME", path.stem)), f"file {path}")
    if entry is None:
        raise ScenarioNotFound(
            f"{path} defines no scenario: give it build(args) -> Scenario, a module-level "
            "`scenario`, or register a ScenarioEntry"
        )
    return entry


def _load_entry_point(point: metadata.EntryPoint) -> None:
    origin = f"entry point {point.name}" + (f" ({point.dist.name})" if point.dist else "")
    before = set(_registry)
    loaded = point.load()
    if isinstance(loaded, ModuleType):  # importing it registered its scenarios
        for name in set(_registry) - before:
            _registry[name] = _from(_registry[name], origin)
        return
    entry = loaded if isinstance(loaded, ScenarioEntry) else None
    if entry is None and callable(loaded):
        entry = ScenarioEntry(point.name, _summary(loaded), loaded)
    if entry is None:
        raise ScenarioNotFound(
            f"{origin}: {point.value} is neither a module, a ScenarioEntry nor a build function"
        )
    register(_from(entry, origin))


def _entry_of(module: ModuleType, name: str, origin: str) -> ScenarioEntry | None:
    summary = str(getattr(module, "SUMMARY", "") or _summary(module))
    build = getattr(module, "build", None)
    if callable(build):
        add = getattr(module, "add_arguments", None)
        return ScenarioEntry(name, summary, build, add_arguments=add, origin=origin)
    scenario = getattr(module, "scenario", None)
    if isinstance(scenario, Scenario):
        summary = summary or scenario.description
        return ScenarioEntry(scenario.name, summary, lambda args: scenario, origin=origin)
    return None


def _import_file(path: Path) -> ModuleType:
    name = f"raftkv_user_scenario_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ScenarioNotFound(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up by name
    spec.loader.exec_module(module)
    return module


def _from(entry: ScenarioEntry, origin: str) -> ScenarioEntry:
    return entry if entry.origin != "built in" else replace(entry, origin=origin)


def _summary(thing: Any) -> str:
    doc = (getattr(thing, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _identity(entry: ScenarioEntry) -> tuple[str, str]:
    return entry.build.__qualname__, entry.summary
