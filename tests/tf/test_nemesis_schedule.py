"""The nemesis schedule and workload loop, against a recording deployer (no processes)."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

import pytest
from tf_fakes import RecordingDeployer, fake_state

from raftkv.tf.context import WorkloadFailed
from raftkv.tf.deployer import Topology
from raftkv.tf.nemesis import KINDS, NemesisWorkload, unsupported_kinds
from raftkv.tf.nemesis.leader import minority_size
from raftkv.tf.nemesis.schedule import next_fault

pytestmark = pytest.mark.timeout(30)


class PausingDeployer(RecordingDeployer):
    capabilities = frozenset({"kill", "pause"})

    async def pause_node(self, name: str) -> None:
        self.events.append(f"pause {name}")

    async def resume_node(self, name: str) -> None:
        self.events.append(f"resume {name}")


class FakeObserver:
    def __init__(self, leader: int) -> None:
        self.nodes = ["node-0", "node-1", "node-2"]
        self.leader = leader

    def view(self) -> dict[str, object]:
        return {
            f"node-{i}": fake_state(
                i, "Leader" if i == self.leader else "Follower", leader=self.leader, term=2
            )
            for i in range(3)
        }


@dataclass
class FakeReporter:
    lines: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.lines.append(text)


@dataclass
class FakeContext:
    deployer: RecordingDeployer
    observer: FakeObserver
    rng: random.Random
    reporter: FakeReporter = field(default_factory=FakeReporter)
    topology: Topology = field(default_factory=Topology)
    started: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def context(seed: int, leader: int = 1) -> FakeContext:
    return FakeContext(PausingDeployer([]), FakeObserver(leader), random.Random(seed))


def schedule(seed: int, count: int) -> list[tuple[str, str, float, float]]:
    rng = random.Random(seed)
    planned = [next_fault(rng, KINDS, (1.0, 3.0), (1.0, 4.0)) for _ in range(count)]
    return [(p.kind, p.variant, p.quiet_s, p.hold_s) for p in planned]


def test_same_seed_same_schedule() -> None:
    assert schedule(7, 20) == schedule(7, 20)
    assert schedule(7, 20) != schedule(8, 20)


def test_schedule_draws_within_windows_and_kinds() -> None:
    for kind, _, quiet_s, hold_s in schedule(3, 200):
        assert kind in KINDS
        assert 1.0 <= quiet_s <= 3.0 and 1.0 <= hold_s <= 4.0


@pytest.mark.parametrize(("members", "size"), [(1, 1), (3, 1), (4, 1), (5, 2), (7, 3)])
def test_minority_is_never_a_majority(members: int, size: int) -> None:
    assert minority_size(members) == size


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kinds": ["flood"], "duration": 1.0},
        {"kinds": [], "duration": 1.0},
        {"kinds": ["kill"], "duration": 0.0},
        {"kinds": ["kill"], "duration": 1.0, "quiet": (2.0, 1.0)},
    ],
    ids=["unknown-kind", "no-kind", "zero-duration", "inverted-window"],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        NemesisWorkload(**kwargs)  # type: ignore[arg-type]


def test_unsupported_kinds_name_the_reason() -> None:
    reasons = unsupported_kinds(RecordingDeployer([]))
    assert set(reasons) == set(KINDS)
    assert "cannot inject kill" in reasons["kill"]
    assert "kill" not in unsupported_kinds(PausingDeployer([]))


async def run_workload(seed: int, kinds: list[str]) -> tuple[NemesisWorkload, FakeContext]:
    ctx = context(seed)
    workload = NemesisWorkload(kinds, duration=1.5, quiet=(0.05, 0.1), hold=(0.05, 0.1))
    await workload.run(ctx)  # type: ignore[arg-type]
    return workload, ctx


async def test_same_seed_same_faults_and_everything_healed() -> None:
    first, ctx = await run_workload(11, ["kill", "pause"])
    second, _ = await run_workload(11, ["kill", "pause"])
    assert [e.action for e in first.events] == [e.action for e in second.events]
    assert first.events and all(e.healed_s is not None for e in first.events)
    stops = [e for e in ctx.deployer.events if e.startswith("stop")]
    starts = [e for e in ctx.deployer.events if e.startswith("start")]
    pauses = [e for e in ctx.deployer.events if e.startswith("pause")]
    resumes = [e for e in ctx.deployer.events if e.startswith("resume")]
    assert len(stops) == len(starts) and len(pauses) == len(resumes)


async def test_leader_variant_targets_the_agreed_leader() -> None:
    workload, _ = await run_workload(5, ["kill"])
    leader_kills = [e for e in workload.events if e.detail["variant"] == "leader"]
    assert leader_kills and all(e.targets == ("node-1",) for e in leader_kills)


async def test_skipped_kinds_are_reported() -> None:
    workload, ctx = await run_workload(1, ["kill", "partition"])
    assert "partition" in workload.skipped
    assert any("nemesis partition skipped" in line for line in ctx.reporter.lines)


async def test_cancellation_heals_the_fault_in_effect() -> None:
    ctx = context(2)
    workload = NemesisWorkload(["pause"], duration=30.0, quiet=(0.01, 0.02), hold=(20.0, 20.0))
    task = asyncio.create_task(workload.run(ctx))  # type: ignore[arg-type]
    while not workload.events:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    paused = [e for e in ctx.deployer.events if e.startswith("pause")]
    assert paused and ctx.deployer.events[-1] == paused[-1].replace("pause", "resume")
    assert workload.events[-1].healed_s is not None


async def test_a_node_that_does_not_come_back_fails_the_run() -> None:
    class Unstartable(PausingDeployer):
        async def start_node(self, name: str) -> None:
            raise TimeoutError(f"{name} did not answer")

    ctx = FakeContext(Unstartable([]), FakeObserver(0), random.Random(4))
    workload = NemesisWorkload(["kill"], duration=1.0, quiet=(0.01, 0.02), hold=(0.01, 0.02))
    with pytest.raises(WorkloadFailed, match="did not come back"):
        await workload.run(ctx)  # type: ignore[arg-type]
