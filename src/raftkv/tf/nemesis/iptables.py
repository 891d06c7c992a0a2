"""iptables rules that cut links between local nodes, tagged so that exactly ours go away.

Every node binds its own loopback address and uses it as the source of its peer
connections, so a rule on (source, destination, destination port) drops the connections
one node opens to another and nothing else: the framework's clients connect from
127.0.0.1 and are never cut. A rule matches the destination's listening port, so a
one-way cut stops the requests of A to B while B's requests to A (and their answers)
still pass: A cannot send Raft messages to B, B can still send to A.

Each rule carries the comment `raftkv-chaos-<pid>-<token>`; a rule whose runner (pid)
is gone is stale, left by a crashed run, and is removed at the start of the next one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

TAG_PREFIX = "raftkv-chaos-"
_TAG_PATTERN = re.compile(r"--comment \"?(raftkv-chaos-[\w-]+)\"?")

#: Runs one iptables command (argv) and returns its standard output; raises on failure.
Runner = Callable[[Sequence[str]], str]


@dataclass(frozen=True, slots=True)
class Cut:
    """The connections `source_host` opens to `dest_host`:`dest_port` are dropped."""

    source_name: str
    source_host: str
    dest_name: str
    dest_host: str
    dest_port: int

    def describe(self) -> str:
        return f"{self.source_name} -/-> {self.dest_name}"


def run_tag(token: str, pid: int | None = None) -> str:
    return f"{TAG_PREFIX}{os.getpid() if pid is None else pid}-{token}"


def rule_args(cut: Cut, tag: str) -> list[str]:
    """The match and target of one rule (after `-I INPUT 1` / `-D INPUT`)."""
    return [
        "-i", "lo",
        "-s", cut.source_host,
        "-d", cut.dest_host,
        "-p", "tcp",
        "--dport", str(cut.dest_port),
        "-m", "comment", "--comment", tag,
        "-j", "DROP",
    ]  # fmt: skip


def add_command(cut: Cut, tag: str) -> list[str]:
    # First in the chain: a host rule accepting ESTABLISHED traffic must not let the peers'
    # long-lived streams through a cut.
    return ["iptables", "-w", "-I", "INPUT", "1", *rule_args(cut, tag)]


def tagged_rules(listing: str, owns: Callable[[str], bool]) -> list[str]:
    """The `-A INPUT ...` lines of `iptables -S INPUT` whose tag `owns` accepts."""
    rules = []
    for line in listing.splitlines():
        match = _TAG_PATTERN.search(line)
        if line.startswith("-A INPUT ") and match and owns(match.group(1)):
            rules.append(line)
    return rules


def delete_command(rule_line: str) -> list[str]:
    """`iptables -S` prints a rule as `-A INPUT <spec>`; `-D INPUT <spec>` deletes it."""
    spec = rule_line.split()[2:]
    return ["iptables", "-w", "-D", "INPUT", *[part.strip('"') for part in spec]]


def remove_tagged(run: Runner, owns: Callable[[str], bool]) -> int:
    """Deletes every INPUT rule whose tag `owns` accepts; returns how many."""
    rules = tagged_rules(run(["iptables", "-w", "-S", "INPUT"]), owns)
    for rule in rules:
        run(delete_command(rule))
    return len(rules)


def is_stale(tag: str, alive: Callable[[int], bool]) -> bool:
    """A tag of a runner that is gone (or a tag in a form we do not know: also ours, old)."""
    pid_text = tag.removeprefix(TAG_PREFIX).split("-", 1)[0]
    return not pid_text.isdigit() or not alive(int(pid_text))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_iptables(argv: Sequence[str]) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=10, check=False)
    if done.returncode != 0:
        raise OSError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def why_no_iptables() -> str | None:
    """None when this process can add INPUT rules, else one line saying why not."""
    if os.geteuid() != 0:
        return "partitions need root (iptables rules)"
    if shutil.which("iptables") is None:
        return "partitions need iptables, which is not installed"
    try:
        run_iptables(["iptables", "-w", "-S", "INPUT"])
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"iptables does not work here: {str(error).splitlines()[0]}"
    return None
