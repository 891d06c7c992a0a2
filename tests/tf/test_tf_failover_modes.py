"""basic_failover through `raftkv-tf` in both restart modes, the default (kill) included,
with the invariants checked during the run (observations with and without maps)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raftkv.tf import cli

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


@pytest.mark.parametrize(
    "options", [[], ["--restart-mode", "graceful"]], ids=["default", "graceful"]
)
def test_basic_failover_in_each_restart_mode(options: list[str], tmp_path: Path, capsys) -> None:
    path = tmp_path / "report.json"
    code = cli.main(["basic_failover", *options, "--seed", "21", "--json", str(path)])
    output = capsys.readouterr().out
    assert code == 0, output
    report = json.loads(path.read_text())
    mode = options[1] if options else "kill"
    assert report["settings"]["restart_mode"] == mode
    assert f"({mode})" in output and "expect invariants" in output
    checked = report["facts"]["invariants"]
    assert checked["observations"] > 10 and checked["with_maps"] >= 3
    old, new = report["facts"]["old_leader"], report["facts"]["new_leader"]
    assert new["term"] > old["term"]
