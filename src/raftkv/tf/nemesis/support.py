"""Which fault kinds this deployer and machine can inject, and why not the others."""

from __future__ import annotations

from raftkv.tf.deployer import Deployer
from raftkv.tf.local import LocalDeployer
from raftkv.tf.loopback import can_bind, node_host

from .events import KINDS
from .iptables import why_no_iptables
from .membership import Growing
from .partition import Disconnecting
from .pause import Pausing
from .registry import NEMESES


def unsupported_kinds(deployer: Deployer) -> dict[str, str]:
    """kind -> one line saying why it cannot run on this deployer or machine."""
    reasons: dict[str, str] = {}
    for kind in KINDS:
        reason = _why_not(kind, deployer)
        if reason is not None:
            reasons[kind] = reason
    return reasons


def _why_not(kind: str, deployer: Deployer) -> str | None:
    deployer_name = type(deployer).__name__
    if kind not in NEMESES:
        return f"the {kind} nemesis is not available in this build"
    if kind not in deployer.capabilities:
        return f"{deployer_name} cannot inject {kind} faults"
    if kind == "pause" and not isinstance(deployer, Pausing):
        return f"{deployer_name} has no pause_node/resume_node"
    if kind == "partition":
        return _why_no_partition(deployer)
    if kind == "membership" and not isinstance(deployer, Growing):
        return f"{deployer_name} cannot add or remove nodes"
    return None


def _why_no_partition(deployer: Deployer) -> str | None:
    if not isinstance(deployer, LocalDeployer):
        ok = isinstance(deployer, Disconnecting)
        return None if ok else f"{type(deployer).__name__} cannot disconnect nodes"
    if not deployer.distinct_hosts or not can_bind(node_host(1)):
        return "partitions need a loopback address per node (127.0.0.11, .12, ...), not available"
    return why_no_iptables()
