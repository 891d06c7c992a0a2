"""`raftkv-tf compose_failover` end to end: real node containers, both restart modes, plus
the skip without an engine and the error for a missing image.

Needs a Docker engine and the node image (scripts/docker-setup.sh, scripts/build-image.sh):
without them these tests fail under CI=true and skip elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docker_support import require_docker_and_image

from raftkv.examples.compose_failover import main as compose_failover


@pytest.mark.docker
@pytest.mark.timeout(400)
@pytest.mark.parametrize("mode", ["graceful", "kill"])
def test_compose_failover_passes(
    mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_docker_and_image("compose_failover")
    report_path = tmp_path / "report.json"
    exit_code = compose_failover(["--restart-mode", mode, "--json", str(report_path)])
    output = capsys.readouterr().out
    assert exit_code == 0, output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS"
    assert report["settings"]["restart_mode"] == mode
    assert "PASS compose_failover" in output


@pytest.mark.docker
@pytest.mark.timeout(120)
def test_missing_image_fails_with_the_build_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require_docker_and_image("compose_failover")
    monkeypatch.setenv("OPENRAFT_KV_IMAGE", "raftkv-node:no-such-tag")
    assert compose_failover(["--seed", "7"]) == 1
    output = capsys.readouterr().out
    assert "FAIL compose_failover" in output
    assert "scripts/build-image.sh" in output


def test_no_engine_skips_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A DOCKER_HOST nobody listens on stands for a machine without an engine."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/raftkv-test/docker.sock")
    assert compose_failover(["--seed", "7"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("SKIP compose_failover: no Docker engine reachable:")
