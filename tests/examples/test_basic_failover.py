"""basic_failover end to end with real raftkv-node processes, in both restart modes."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from raftkv.examples.basic_failover import main

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def node_cmdlines() -> dict[int, str]:
    """The command line of every live process started with a raftkv-tf node config."""
    found = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "--config" in text and "/raftkv-tf-" in text and alive(int(cmdline.parent.name)):
            found[int(cmdline.parent.name)] = text
    return found


def node_pids() -> set[int]:
    return set(node_cmdlines())


@pytest.mark.parametrize("mode", ["graceful", "kill"])
def test_basic_failover_passes(
    mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = node_pids()
    report_path = tmp_path / "report.json"
    code = main(["--restart-mode", mode, "--seed", "11", "--json", str(report_path)])
    output = capsys.readouterr().out
    assert code == 0, output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS" and report["settings"]["restart_mode"] == mode
    old, new = report["facts"]["old_leader"], report["facts"]["new_leader"]
    assert new["node"] != old["node"] and new["term"] > old["term"]
    assert report["facts"]["converged"]["keys"] == 16
    assert report["facts"]["converged"]["voters"] == [0, 1, 2]
    timings = report["timings"]
    assert 0 < timings["failover_leader_agreed_s"] <= timings["failover_first_write_s"]
    assert re.search(r"PASS basic_failover in [\d.]+ s", output)
    assert "seed 11" in output and f"restart leader {old['node']} ({mode})" in output
    assert node_pids() <= before, "no node process is left behind"
    run_dir = re.search(r"node logs in (\S+)/node-\*", report["deployer"])
    assert run_dir is not None and not Path(run_dir.group(1)).exists(), "removed after a pass"


def test_ctrl_c_stops_every_node_and_reports_interrupted(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    command = [sys.executable, "-m", "raftkv.examples.basic_failover", "--json", str(report_path)]
    # SIG_DFL: a child of a non-interactive shell may inherit SIGINT ignored.
    run = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert run.stdout is not None
    lines = []
    for line in run.stdout:
        lines.append(line)
        if "deploy 3 nodes" in line:
            break
    run.send_signal(signal.SIGINT)
    rest, _ = run.communicate(timeout=60)
    output = "".join(lines) + rest
    assert run.returncode == 130, output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "INTERRUPTED", output
    run_dir = re.search(r"node logs in (\S+)/node-\*", report["deployer"])
    assert run_dir is not None
    assert not any(run_dir.group(1) in cmd for cmd in node_cmdlines().values()), "a node survived"
    shutil.rmtree(run_dir.group(1), ignore_errors=True)  # kept: the run did not pass
