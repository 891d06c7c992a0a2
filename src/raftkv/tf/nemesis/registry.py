"""The nemesis of each kind for a deployer (fresh bookkeeping for every run)."""

from __future__ import annotations

from collections.abc import Callable

from raftkv.tf.deployer import Deployer
from raftkv.tf.local import LocalDeployer

from .base import Nemesis
from .kill import KillNemesis
from .membership import MembershipNemesis
from .partition import DisconnectPartition, IptablesPartition
from .pause import PauseNemesis


def _partition(deployer: Deployer) -> Nemesis:
    return IptablesPartition() if isinstance(deployer, LocalDeployer) else DisconnectPartition()


NEMESES: dict[str, Callable[[Deployer], Nemesis]] = {
    "kill": lambda deployer: KillNemesis(),
    "pause": lambda deployer: PauseNemesis(),
    "partition": _partition,
    "membership": lambda deployer: MembershipNemesis(),
}
