"""`schemathesis` against `/openapi.json` of a leader and of a follower, every check: no server
error, every answer (status, content type, headers, body) as the document says, schema-valid
requests accepted and schema-violating ones refused.

Bounded: a fixed seed, `EXAMPLES` cases per operation and mode. Two runs per node:
- positive (schema-valid data) on every operation but those that reshape the cluster or dial
  out: add-learner (a valid one connects to the address it names: this test sends nothing
  off the machine), change-membership and transfer-leader (valid ones remove voters or move
  leadership mid-run, and the answers during a transfer are 503s by design);
- negative (schema-violating data) on change-membership too, and on everything else (not on
  transfer-leader: its body is optional, so schemathesis also sends it without one, which is
  a valid transfer).
The `/raft/*` POST routes take msgpack, which schemathesis cannot generate (the peer envelope
has its own fuzzing), and `/raft/stream` is a WebSocket; both are left out of the runs.

Every request carries the bearer token; the positive run's also `X-Raftkv-Deadline-Ms: 10000`
(a tiny generated deadline makes a write time out: a documented 504, but a server error to
schemathesis). The negative run leaves the header to schemathesis: fixing it would make a
request whose only fault is that header valid, and a valid change-membership reshapes the
cluster.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from node_harness import TOKEN, Cluster, running_cluster, write

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("RAFTKV_SCHEMATHESIS_EXAMPLES", "25"))
SEED = 15
DIAL_OUT = ["/admin/add-learner"]
RESHAPE = ["/admin/change-membership", "/admin/transfer-leader"]
NOT_JSON = ["/raft/stream", "/raft/vote", "/raft/append", "/raft/snapshot"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("openapi"), 2, token=TOKEN) as cluster:
        yield cluster


def schemathesis(addr: str, mode: str, excluded: list[str], report: Path) -> tuple[int, str]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"http://{addr}/openapi.json",
        "--checks",
        "all",
        "--mode",
        mode,
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--header",
        f"Authorization: Bearer {TOKEN}",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(report),
    ]
    if mode == "positive":
        command += ["--header", "X-Raftkv-Deadline-Ms: 10000"]
    for path in excluded:
        command += ["--exclude-path", path]
    # Its cache goes to the working directory: the test's, never the repository.
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=report.parent)
    return result.returncode, result.stdout + result.stderr


def generated(output: str) -> int:
    match = re.search(r"(\d+) generated", output)
    assert match, output[-3000:]
    return int(match.group(1))


@pytest.mark.parametrize("role", ["leader", "follower"])
def test_the_node_answers_as_its_openapi_document_says(
    cluster: Cluster, role: str, tmp_path: Path
) -> None:
    leader = cluster.leader()
    node = leader if role == "leader" else cluster.followers(leader)[0]
    runs = {
        "positive": DIAL_OUT + RESHAPE + NOT_JSON,
        "negative": [*DIAL_OUT, "/admin/transfer-leader", *NOT_JSON],
    }
    for mode, excluded in runs.items():
        code, output = schemathesis(node.addr, mode, excluded, tmp_path / mode)
        print(f"{role} {mode}: {generated(output)} cases")
        assert code == 0, output[-8000:]
    # The cluster is whole: the same leader, and it still commits through the follower.
    assert cluster.leader() is leader
    follower = cluster.followers(leader)[0]
    assert write(follower.addr, f"after-{role}", "v", 1, client_id=f"oa-{role}")[0] == 200
