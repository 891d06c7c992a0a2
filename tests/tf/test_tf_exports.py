"""The public surface of `raftkv.tf` that scenario modules (compose, k8s, chaos) build on."""

from __future__ import annotations

import raftkv.tf


def test_every_exported_name_exists() -> None:
    missing = [name for name in raftkv.tf.__all__ if not hasattr(raftkv.tf, name)]
    assert missing == []


def test_exports_the_pieces_a_new_scenario_needs() -> None:
    needed = {
        "Scenario",
        "Deployer",
        "Observer",
        "RunContext",
        "FailoverWorkload",
        "ConvergenceExpectation",
        "bootstrap_cluster",
        "register",
        "ScenarioEntry",
        "run_scenario",
    }
    assert needed <= set(raftkv.tf.__all__)
