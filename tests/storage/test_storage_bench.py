"""The storage micro-benchmark runs and shows group commit at work."""

from __future__ import annotations

from pathlib import Path

import pytest

from raftkv.storage.bench import HEADER, main, run_writers


async def test_concurrent_writers_share_commits(tmp_path: Path) -> None:
    result = await run_writers(tmp_path / "bench", writers=8, seconds=0.2, entry_bytes=10)
    assert result.persists > 0
    assert result.transactions < result.persists
    assert result.fsyncs == result.transactions


def test_main_prints_one_row_per_writer_count(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    main(["--seconds", "0.05", "--writers", "1", "4", "--dir", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == HEADER
    assert [line.split()[0] for line in lines[1:]] == ["1", "4"]
    assert list(tmp_path.iterdir()) == []  # the temp data dirs are gone
