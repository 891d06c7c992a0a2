"""The nemesis of each kind (a factory: every run gets fresh bookkeeping)."""

from __future__ import annotations

from collections.abc import Callable

from .base import Nemesis
from .kill import KillNemesis
from .pause import PauseNemesis

NEMESES: dict[str, Callable[[], Nemesis]] = {
    "kill": KillNemesis,
    "pause": PauseNemesis,
}
