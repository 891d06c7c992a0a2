"""Partition rules: what each variant cuts, the iptables commands, and tag cleanup."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from raftkv.tf.nemesis import iptables
from raftkv.tf.nemesis.cuts import plan_cuts

MEMBERS = ["node-0", "node-1", "node-2"]
FIVE = [f"node-{i}" for i in range(5)]


def test_isolate_leader_cuts_both_ways_between_leader_and_the_rest() -> None:
    plan = plan_cuts("isolate-leader", MEMBERS, "node-1", random.Random(1))
    assert plan.action == "isolate leader node-1"
    assert set(plan.links) == {
        ("node-1", "node-0"), ("node-1", "node-2"), ("node-0", "node-1"), ("node-2", "node-1"),
    }  # fmt: skip


@pytest.mark.parametrize("seed", range(10))
def test_split_keeps_a_majority_together(seed: int) -> None:
    plan = plan_cuts("split", FIVE, "node-0", random.Random(seed))
    cut_off = {a for a, _ in plan.links} | {b for _, b in plan.links}
    assert len(plan.links) == 2 * 2 * 3, "2 x 3 pairs, both ways"
    minority = {name for name in cut_off if sum(a == name for a, _ in plan.links) == 3}
    assert len(minority) == 2


def test_one_way_cuts_a_single_direction() -> None:
    plan = plan_cuts("one-way", MEMBERS, "node-0", random.Random(3))
    ((source, dest),) = plan.links
    assert source != dest and plan.action == f"one-way cut {source} -/-> {dest}"


@pytest.mark.parametrize("members", [MEMBERS, FIVE], ids=["3", "5"])
def test_bridge_sees_both_halves_that_do_not_see_each_other(members: list[str]) -> None:
    plan = plan_cuts("bridge", members, "node-0", random.Random(5))
    touched = {name for link in plan.links for name in link}
    (bridge,) = set(members) - touched
    assert bridge in plan.action
    assert all((b, a) in plan.links for a, b in plan.links)


def test_same_seed_same_cuts() -> None:
    plans = [plan_cuts("bridge", FIVE, "node-0", random.Random(9)) for _ in range(2)]
    assert plans[0] == plans[1]


def test_bad_variants_and_too_few_nodes_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown partition variant"):
        plan_cuts("flood", MEMBERS, "node-0", random.Random(1))
    with pytest.raises(ValueError, match="at least 3"):
        plan_cuts("split", MEMBERS[:2], "node-0", random.Random(1))


CUT = iptables.Cut("node-0", "127.0.0.11", "node-1", "127.0.0.12", 4100)


def test_add_command_drops_only_the_sources_connections_to_the_peer_port() -> None:
    assert iptables.add_command(CUT, "raftkv-chaos-7-ab") == [
        "iptables", "-w", "-I", "INPUT", "1", "-i", "lo", "-s", "127.0.0.11", "-d", "127.0.0.12",
        "-p", "tcp", "--dport", "4100", "-m", "comment", "--comment", "raftkv-chaos-7-ab",
        "-j", "DROP",
    ]  # fmt: skip


LISTING = """-P INPUT ACCEPT
-A INPUT -s 127.0.0.11/32 -d 127.0.0.12/32 -i lo -p tcp -m tcp --dport 4100 -m comment --comment raftkv-chaos-1-aa -j DROP
-A INPUT -s 127.0.0.12/32 -d 127.0.0.11/32 -i lo -p tcp -m tcp --dport 4101 -m comment --comment "raftkv-chaos-2-bb" -j DROP
-A INPUT -s 10.1.1.1/32 -m comment --comment "someone else" -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
"""


class FakeIptables:
    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> str:
        self.commands.append(list(argv))
        return LISTING if "-S" in argv else ""


def test_stale_cleanup_removes_only_tags_of_dead_runners() -> None:
    fake = FakeIptables()
    removed = iptables.remove_tagged(fake, lambda tag: iptables.is_stale(tag, lambda pid: pid == 2))
    assert removed == 1
    assert fake.commands[1] == [
        "iptables", "-w", "-D", "INPUT", "-s", "127.0.0.11/32", "-d", "127.0.0.12/32", "-i", "lo",
        "-p", "tcp", "-m", "tcp", "--dport", "4100", "-m", "comment", "--comment",
        "raftkv-chaos-1-aa", "-j", "DROP",
    ]  # fmt: skip


def test_heal_removes_exactly_this_runs_tag() -> None:
    fake = FakeIptables()
    assert iptables.remove_tagged(fake, lambda tag: tag == "raftkv-chaos-2-bb") == 1
    assert "raftkv-chaos-2-bb" in fake.commands[1] and "4101" in fake.commands[1]


def test_rules_of_others_are_never_touched() -> None:
    fake = FakeIptables()
    assert iptables.remove_tagged(fake, lambda tag: True) == 2
    assert not any("10.1.1.1/32" in command for command in fake.commands)


def test_run_tag_names_the_runner() -> None:
    tag = iptables.run_tag("cafe", pid=42)
    assert tag == "raftkv-chaos-42-cafe"
    assert iptables.is_stale(tag, lambda pid: False)
    assert not iptables.is_stale(tag, lambda pid: pid == 42)
    assert iptables.is_stale("raftkv-chaos-old", lambda pid: True), "unknown form: ours, stale"
