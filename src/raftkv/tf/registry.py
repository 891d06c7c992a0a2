"""Every scenario `raftkv-tf` can run, registered by the module that defines it.

A scenario module calls `register(ScenarioEntry(...))` at import; `scenarios()` imports the
known scenario modules first, so a new one only needs a line in SCENARIO_MODULES.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from raftkv.core.errors import RaftKVError

from .scenario import Scenario

SCENARIO_MODULES = (
    "raftkv.examples.basic_failover",
    "raftkv.examples.compose_failover",
    "raftkv.examples.k8s_failover",
    "raftkv.examples.chaos",
)


class ScenarioSkipped(RaftKVError):
    """The scenario cannot run here (no Docker engine, no cluster); exits `exit_code`."""

    def __init__(self, reason: str, exit_code: int = 0) -> None:
        super().__init__(reason)
        self.exit_code = exit_code


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
    """Every registered scenario, by name, after importing the known scenario modules."""
    for module in SCENARIO_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as missing:
            if missing.name != module:  # a broken import inside the module is a bug
                raise
    return [_registry[name] for name in sorted(_registry)]


def _identity(entry: ScenarioEntry) -> tuple[str, str]:
    return entry.build.__qualname__, entry.summary
