"""Which fault kinds this deployer and machine can inject, and why not the others."""

from __future__ import annotations

from raftkv.tf.deployer import Deployer

from .events import KINDS
from .pause import Pausing
from .registry import NEMESES


def unsupported_kinds(deployer: Deployer) -> dict[str, str]:
    """kind -> one line saying why it cannot run on this deployer or machine."""
    reasons: dict[str, str] = {}
    deployer_name = type(deployer).__name__
    for kind in KINDS:
        if kind not in NEMESES:
            reasons[kind] = f"the {kind} nemesis is not available in this build"
        elif kind not in deployer.capabilities:
            reasons[kind] = f"{deployer_name} cannot inject {kind} faults"
        elif kind == "pause" and not isinstance(deployer, Pausing):
            reasons[kind] = f"{deployer_name} has no pause_node/resume_node"
    return reasons
