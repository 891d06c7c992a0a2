"""The `raftkv` CLI run in-process (`main([...])`) against fake nodes: output and exit codes.

`main` runs its own event loop, so it runs in a thread while the fakes serve on the test's.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from client_fake_node import FakeNode, MakeFake, err

from raftkv.cli import main


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


def nodes(*fakes: FakeNode | str) -> str:
    return ",".join(f if isinstance(f, str) else f.addr for f in fakes)


async def test_put_then_get(make_fake: MakeFake, capsys: pytest.CaptureFixture[str]) -> None:
    fake = await make_fake()
    assert await cli("--nodes", fake.addr, "put", "color", "blue") == 0
    assert await cli("--nodes", fake.addr, "put", "color", "red") == 0
    assert await cli("--nodes", fake.addr, "get", "color", "--linearizable") == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["OK", "OK (previous value: blue)", "red"]
    write = fake.received("/kv/write")[0].body
    assert write["client_id"] and write["serial"] == 1
    assert fake.received("/kv/read")[0].body["consistency"] == "linearizable"


async def test_get_of_a_missing_key_exits_1(
    make_fake: MakeFake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = await make_fake()
    assert await cli("--nodes", fake.addr, "get", "nothing") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "error: key not found: nothing\n"
    assert fake.received("/kv/read")[0].body["consistency"] == "local"


async def test_a_node_error_is_one_line_with_code_and_message(
    make_fake: MakeFake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = await make_fake()
    fake.script("/kv/write", *[err(503, "no_leader", "no leader is known") for _ in range(50)])
    assert await cli("--nodes", fake.addr, "--timeout", "0.3", "put", "k", "v") == 1
    assert capsys.readouterr().err == "error: no_leader: no leader is known\n"


async def test_an_indeterminate_write_says_so(
    make_fake: MakeFake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = await make_fake()
    fake.script("/kv/write", fake.slow(1.0))
    assert await cli("--nodes", fake.addr, "--timeout", "0.3", "put", "k", "v") == 1
    line = capsys.readouterr().err
    assert line.startswith("error: timeout: ")
    assert line.endswith("(the write may or may not have been applied)\n")


async def test_status_shows_every_node_and_the_unreachable_ones(
    make_fake: MakeFake, dead_addr: str, capsys: pytest.CaptureFixture[str]
) -> None:
    leader = await make_fake(0, role="Leader", term=3)
    follower = await make_fake(1, role="Follower", term=3)
    follower.leader_id = 0
    assert await cli("--nodes", nodes(leader, follower, dead_addr), "status") == 0
    rows = {
        line.split("│")[2].strip(): line
        for line in capsys.readouterr().out.splitlines()
        if line.count("│") > 5
    }
    assert "Leader" in rows[leader.addr] and " 3 " in rows[leader.addr]
    assert "Follower" in rows[follower.addr]
    assert "unreachable" in rows[dead_addr]
    assert "0,1,2" in rows[follower.addr]


async def test_status_shows_key_count_and_digest(
    make_fake: MakeFake, capsys: pytest.CaptureFixture[str]
) -> None:
    node = await make_fake(0)
    node.kv.update({"a": "1", "b": "2"})
    node.digest = "0123456789abcdef"
    reference = await make_fake(1, role="Follower")
    assert await cli("--nodes", nodes(node, reference), "status") == 0
    out = capsys.readouterr().out
    assert "keys" in out and "digest" in out
    rows = {
        line.split("│")[2].strip(): [cell.strip() for cell in line.split("│")[1:-1]]
        for line in out.splitlines()
        if line.count("│") > 5
    }
    assert rows[node.addr][-2:] == ["2", "0123456789abcdef"]
    assert rows[reference.addr][-2:] == ["-", "-"], "a reference node sends neither"


async def test_scan_prints_key_value_lines_in_key_order(
    make_fake: MakeFake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = await make_fake()
    fake.kv.update({"user-b": "2", "user-a": "1", "other": "x=y", "user-c": "3"})
    assert await cli("--nodes", fake.addr, "scan", "user-") == 0
    assert capsys.readouterr().out == "user-a=1\nuser-b=2\nuser-c=3\n"
    assert await cli("--nodes", fake.addr, "scan") == 0
    assert capsys.readouterr().out.splitlines()[0] == "other=x=y"
    assert await cli("--nodes", fake.addr, "scan", "user-", "--limit", "2") == 0
    assert capsys.readouterr().out == "user-a=1\nuser-b=2\n"
    limited = fake.received("/kv/scan")[-1]
    assert limited.query["limit"] == "2" and len(fake.received("/kv/scan")) == 3


async def test_scan_pages_through_a_large_state_on_the_first_node_that_answers(
    make_fake: MakeFake, dead_addr: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = await make_fake()
    fake.kv.update({f"k{i:04}": str(i) for i in range(2500)})
    assert await cli("--nodes", nodes(dead_addr, fake), "scan", "--limit", "2100") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"k{i:04}={i}" for i in range(2100)]
    pages = fake.received("/kv/scan")
    assert [p.query["limit"] for p in pages] == ["1000"] * 3
    assert [p.query.get("after") for p in pages] == [None, "k0999", "k1999"]


async def test_scan_of_nothing_prints_nothing(
    make_fake: MakeFake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = await make_fake()
    assert await cli("--nodes", fake.addr, "scan", "none-") == 0
    assert capsys.readouterr().out == ""


async def test_a_refused_scan_is_one_error_line(
    make_fake: MakeFake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = await make_fake()
    fake.script("/kv/scan", err(400, "bad_request", "invalid query: bad"))
    assert await cli("--nodes", fake.addr, "scan") == 1
    assert capsys.readouterr().err == "error: bad_request: invalid query: bad\n"


async def test_status_exits_1_when_no_node_answers(
    dead_addr: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli("--nodes", dead_addr, "--timeout", "1", "status") == 1
    assert "unreachable" in capsys.readouterr().out


async def test_admin_commands(make_fake: MakeFake, capsys: pytest.CaptureFixture[str]) -> None:
    fake = await make_fake()
    base = ("--nodes", fake.addr, "--token", "t0k")
    assert await cli(*base, "init") == 0
    assert await cli(*base, "add-learner", "1", "127.0.0.1:9001", "--no-blocking") == 0
    assert await cli(*base, "change-membership", "0", "1", "2", "--retain") == 0
    assert await cli(*base, "metrics") == 0
    out = capsys.readouterr().out
    assert "initialized" in out and "voters are now [0, 1, 2]" in out
    assert json.loads(out[out.index("{") :])["role"] == "Leader"
    assert fake.received("/admin/add-learner")[0].body["blocking"] is False
    assert fake.received("/admin/change-membership")[0].body == {
        "voters": [0, 1, 2],
        "retain": True,
    }
    assert all(r.headers["Authorization"] == "Bearer t0k" for r in fake.requests)


async def test_admin_commands_skip_a_refusing_node(
    make_fake: MakeFake, dead_addr: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = await make_fake()
    assert await cli("--nodes", nodes(dead_addr, fake), "add-learner", "3", "127.0.0.1:9") == 0
    assert fake.received("/admin/add-learner")[0].body["blocking"] is True


async def test_admin_refusal_is_reported(
    make_fake: MakeFake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = await make_fake()
    fake.script(
        "/admin/change-membership", err(409, "learner_not_found", "not a learner or voter: [7]")
    )
    assert await cli("--nodes", fake.addr, "change-membership", "7") == 1
    assert capsys.readouterr().err == "error: learner_not_found: not a learner or voter: [7]\n"


async def test_nodes_default_from_the_environment(
    make_fake: MakeFake, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = await make_fake()
    fake.kv["k"] = "from-env"
    monkeypatch.setenv("RAFTKV_NODES", fake.addr)
    assert await cli("get", "k") == 0
    assert capsys.readouterr().out == "from-env\n"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["put", "only-key"],
        ["--nodes", "no-port", "status"],
        ["--timeout", "0", "status"],
        ["add-learner", "one", "127.0.0.1:1"],
        ["add-learner", "1", "nowhere"],
        ["change-membership"],
        ["scan", "--limit", "0"],
        ["scan", "a", "b"],
    ],
    ids=[
        "no-command",
        "unknown",
        "missing-arg",
        "bad-nodes",
        "zero-timeout",
        "bad-id",
        "bad-addr",
        "no-ids",
        "scan-zero-limit",
        "scan-two-prefixes",
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage: raftkv" in capsys.readouterr().err


def test_a_bad_environment_default_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAFTKV_NODES", "localhost")
    with pytest.raises(SystemExit) as caught:
        main(["status"])
    assert caught.value.code == 2
    assert "$RAFTKV_NODES" in capsys.readouterr().err


async def test_the_token_is_sent_on_reads_and_writes(
    make_fake: MakeFake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = await make_fake()
    assert await cli("--nodes", fake.addr, "--token", "s3cret", "put", "k", "v") == 0
    assert await cli("--nodes", fake.addr, "--token", "s3cret", "get", "k") == 0
    assert {r.path for r in fake.requests} >= {"/kv/write", "/kv/read"}
    assert all(r.headers.get("Authorization") == "Bearer s3cret" for r in fake.requests)
