"""The invariants: each rule on hand-made observations (with a control that passes), then
whole runs against in-process nodes whose `/state` a fault doctors: the run fails during
the run, not at the end, and the report says when and which observation."""

from __future__ import annotations

import asyncio
import io
import time

import msgspec
import pytest
from aiohttp import web
from rich.console import Console
from tf_fakes import fake_state, serve_routes

from raftkv.client import NodeState
from raftkv.tf.context import RunContext
from raftkv.tf.deployer import Deployer, NodeEndpoint, RestartMode, Topology
from raftkv.tf.invariants import InvariantChecker
from raftkv.tf.observer import Observation
from raftkv.tf.report import FAIL, PASS, Reporter
from raftkv.tf.runner import new_report, run_scenario
from raftkv.tf.scenario import Scenario
from raftkv.tf.writes import WriteLog

pytestmark = pytest.mark.timeout(60)

T0 = 1000.0


def seen(name: str, at: float, state: NodeState | None, incarnation: int = 0) -> Observation:
    with_kv = state is not None and state.kv is not None
    return Observation(name, T0 + at, state, None if state else "down", with_kv, incarnation)


def leader(node_id: int, term: int, **fields) -> NodeState:
    return fake_state(node_id, "Leader", term=term, **fields)


def follower(node_id: int, term: int, **fields) -> NodeState:
    return fake_state(node_id, "Follower", leader=0, term=term, **fields)


def first_violation(observations: list[Observation], writes: WriteLog | None = None):
    checker = InvariantChecker(writes or WriteLog(), T0)
    for observation in observations:
        checker.observe(observation)
    return checker.violation


def written(*pairs: tuple[str, str]) -> WriteLog:
    writes = WriteLog()
    for key, value in pairs:
        writes.acknowledge(key, value)
    return writes


CASES = {
    "a healthy run with a restart and a new leader": (
        [
            seen("node-0", 0.1, leader(0, 1, applied=5)),
            seen("node-1", 0.2, follower(1, 1, applied=5, kv={"k": "1"})),
            seen("node-0", 0.5, None),
            seen("node-0", 1.0, follower(0, 2, applied=3), incarnation=1),
            seen("node-1", 1.1, leader(1, 2, applied=6, kv={"k": "2"})),
            seen("node-1", 1.2, leader(1, 2, applied=7, kv={"k": "2", "j": "1"})),
        ],
        None,
    ),
    "two leaders in one term": (
        [seen("node-0", 0.1, leader(0, 3)), seen("node-1", 0.4, leader(1, 3))],
        "one leader per term broken at 0.40 s by node-1's /state: node 1 leads term 3, "
        "which node 0 (node-0) was seen leading at 0.10 s",
    ),
    "a term going back, even across a restart": (
        [seen("node-2", 0.1, follower(2, 4)), seen("node-2", 0.7, follower(2, 3), 1)],
        "monotonic term and indexes broken at 0.70 s by node-2's /state: term went back "
        "from 4 (at 0.10 s) to 3",
    ),
    "an applied index going back in one process": (
        [
            seen("node-1", 0.1, follower(1, 2, applied=9)),
            seen("node-1", 0.2, follower(1, 2, applied=8)),
        ],
        "monotonic term and indexes broken at 0.20 s by node-1's /state: applied index went "
        "back from 9 (at 0.10 s) to 8 in the same process",
    ),
    "an acknowledged key disappearing": (
        [
            seen("node-1", 0.1, follower(1, 2, applied=4, kv={"k": "1"})),
            seen("node-1", 0.3, follower(1, 2, applied=6, kv={})),
        ],
        "acknowledged keys stay broken at 0.30 s by node-1's /state: 'k' = '1' at applied "
        "index 4 (0.10 s) is gone at applied index 6",
    ),
    "a key changing to a value nobody wrote": (
        [
            seen("node-0", 0.1, follower(0, 2, applied=4, kv={"k": "1"})),
            seen("node-0", 0.3, follower(0, 2, applied=5, kv={"k": "x"})),
        ],
        "acknowledged keys stay broken at 0.30 s by node-0's /state: 'k' = '1' at applied "
        "index 4 (0.10 s) became 'x', a value no write of the run carried",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_rules(case: str) -> None:
    observations, expected = CASES[case]
    violation = first_violation(observations, written(("k", "1"), ("k", "2"), ("j", "1")))
    assert (violation.describe() if violation else None) == expected


def test_a_key_going_back_to_a_value_acknowledged_before_the_newer_one_was_sent() -> None:
    writes = WriteLog()
    writes.acknowledge("k", "old")
    time.sleep(0.002)
    writes.acknowledge("k", "new")
    violation = first_violation(
        [
            seen("node-0", 0.1, follower(0, 2, applied=4, kv={"k": "new"})),
            seen("node-0", 0.3, follower(0, 2, applied=5, kv={"k": "old"})),
        ],
        writes,
    )
    assert violation is not None and "went back to 'old'" in violation.detail


def test_a_node_that_lost_its_state_is_named_so() -> None:
    violation = first_violation(
        [
            seen("node-1", 0.1, follower(1, 3, applied=7)),
            seen("node-1", 2.0, fake_state(1, "Learner", term=0, voters=()), incarnation=1),
        ]
    )
    assert violation is not None
    assert violation.detail.endswith("to 0 (it came back with no log: its durable state was lost)")


def test_a_rule_that_crashes_is_a_named_violation_not_a_dead_observer() -> None:
    checker = InvariantChecker(WriteLog(), T0)

    class Broken:
        def observe(self, observation: Observation, at_s: float) -> str | None:
            raise KeyError("oops")

    checker.rules = (("broken rule", Broken()),)  # type: ignore[assignment]
    checker.observe(seen("node-0", 0.5, follower(0, 1)))
    assert checker.violation is not None
    assert checker.violation.describe() == (
        "broken rule broken at 0.50 s by node-0's /state: the check crashed: KeyError: 'oops'"
    )


def test_an_older_state_after_a_restart_is_not_a_loss() -> None:
    """A restarted node may resume below what it showed; its keys are not compared then."""
    violation = first_violation(
        [
            seen("node-0", 0.1, follower(0, 2, applied=4, kv={"k": "1"})),
            seen("node-0", 0.9, follower(0, 2, applied=2, kv={}), incarnation=1),
        ],
        written(("k", "1")),
    )
    assert violation is None


# --- whole runs against doctored nodes ----------------------------------------------------


class DoctoredNodes(Deployer):
    """In-process nodes serving `/healthz` and a `/state` the test (or a fault) edits."""

    def __init__(self) -> None:
        self.states: dict[str, NodeState] = {}
        self._endpoints: dict[str, NodeEndpoint] = {}
        self._runners: list[web.AppRunner] = []

    async def deploy(self, topology: Topology) -> list[NodeEndpoint]:
        for node_id, name in enumerate(topology.names()):
            role = "Leader" if node_id == 0 else "Follower"
            self.states[name] = fake_state(node_id, role, leader=0, term=2, applied=3, kv={})
            port = await self._serve(name)
            addr = f"127.0.0.1:{port}"
            self._endpoints[name] = NodeEndpoint(name, node_id, addr, addr)
        return list(self._endpoints.values())

    async def _serve(self, name: str) -> int:
        async def state(request: web.Request) -> web.Response:
            return web.Response(body=msgspec.json.encode(self.states[name]))

        async def healthz(request: web.Request) -> web.Response:
            return web.Response(text="ok")

        runner, port = await serve_routes({"/state": state, "/healthz": healthz})
        self._runners.append(runner)
        return port

    def endpoint(self, name: str) -> NodeEndpoint:
        return self._endpoints[name]

    async def start_node(self, name: str) -> None:
        return None

    async def stop_node(self, name: str, mode: RestartMode = "graceful") -> None:
        return None

    async def wait_ready(self, name: str, timeout: float) -> None:
        return None

    async def cleanup(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners = []


class TermGoesBack:
    """The fault: after `after` s, node-1 reports the term before the one it reported."""

    name = "term-goes-back"

    def __init__(self, deployer: DoctoredNodes, after: float, doctor: bool = True) -> None:
        self.deployer, self.after, self.doctor = deployer, after, doctor
        self.doctored_at: float | None = None

    async def run(self, ctx: RunContext) -> None:
        await asyncio.sleep(self.after)
        if self.doctor:
            state = self.deployer.states["node-1"]
            self.deployer.states["node-1"] = fake_state(1, "Follower", leader=0, term=1)
            assert state.current_term == 2
            self.doctored_at = ctx.elapsed()
        # With the fault, a driving workload that would run on past the run timeout.
        await asyncio.sleep(30 if self.doctor else 1.0)


async def run_doctored(doctor: bool) -> tuple[object, TermGoesBack, str]:
    deployer = DoctoredNodes()
    fault = TermGoesBack(deployer, after=1.0, doctor=doctor)
    scenario = (
        Scenario.builder("doctored")
        .nodes(3)
        .deployer(lambda: deployer)
        .workload(fault)
        .observer(interval=0.05)
        .run_timeout(20)
        .build()
    )
    output = io.StringIO()
    report = new_report(scenario, 1)
    await run_scenario(scenario, report, reporter=Reporter(Console(file=output, width=300)))
    return report, fault, output.getvalue()


async def test_a_term_going_back_fails_the_run_while_it_runs_and_says_when() -> None:
    report, fault, output = await run_doctored(doctor=True)
    assert report.verdict == FAIL
    assert fault.doctored_at is not None
    assert report.total_s < 15, "failed during the run, long before the workload ends"
    assert report.reason.startswith("expectation invariants failed during the run")
    assert "monotonic term and indexes broken at " in report.reason
    assert "by node-1's /state: term went back from 2 (at " in report.reason
    broken = report.facts["invariant_violation"]
    assert broken["node"] == "node-1" and broken["rule"] == "monotonic term and indexes"
    assert fault.doctored_at - 0.1 <= broken["at_s"] <= fault.doctored_at + 1.0
    assert "reason: expectation invariants failed during the run" in output


async def test_control_the_same_run_without_the_fault_passes() -> None:
    """Proves the run above failed because of the doctored term, not of the setup."""
    report, _, _ = await run_doctored(doctor=False)
    assert report.verdict == PASS, report.reason
    assert report.facts["invariants"]["observations"] > 20
    assert report.facts["invariants"]["with_maps"] >= 3  # every node, at least once
