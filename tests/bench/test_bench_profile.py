"""Summaries of py-spy's collapsed stacks: each sample goes to its innermost category."""

from __future__ import annotations

import pytest

from raftkv.bench import profile
from raftkv.bench.profile import ProfileError, categorize, summarize_collapsed, top_frames

COLLAPSED = """\
<module> (raftkv/node/main.py:238);run (asyncio/runners.py:118) 40
<module> (raftkv/node/main.py:238);run (asyncio/runners.py:118);data_received (aiohttp/web_protocol.py:446) 25
<module> (raftkv/node/main.py:238);write (raftkv/node/kv_routes.py:80);decode_body (raftkv/node/wire.py:60) 10
_serve (raftkv/storage/writer.py:110);commit (raftkv/storage/log_db.py:137) 20
run (asyncio/runners.py:118);_run (asyncio/events.py:80);step (raftkv/core/rawnode.py:200);dumps (json/encoder.py:1) 5
<module> (weird.py:1) 3
garbage line without count
"""


@pytest.mark.parametrize(
    ("stack", "category"),
    [
        (["run (asyncio/runners.py:118)"], "event loop"),
        (
            ["run (asyncio/runners.py:118)", "data_received (aiohttp/web_protocol.py:446)"],
            "HTTP server (aiohttp)",
        ),
        (
            ["send (raftkv/node/transport.py:50)", "_request (aiohttp/client.py:500)"],
            "HTTP client (aiohttp)",
        ),
        (
            [
                "write_bytes (aiohttp/client_reqrep.py:1594)",
                "write (aiohttp/http_writer.py:200)",
                "_send_headers_with_payload (aiohttp/http_writer.py:140)",
            ],
            "HTTP client (aiohttp)",
        ),
        (
            ["write_eof (aiohttp/web_response.py:587)", "_writelines (aiohttp/http_writer.py:116)"],
            "socket writes (send syscall)",
        ),
        (
            ["write (raftkv/node/kv_routes.py:80)", "decode_body (raftkv/node/wire.py:60)"],
            "JSON and wire codec",
        ),
        (["step (raftkv/core/rawnode.py:1)", "replace (dataclasses.py:1)"], "raft core"),
        (["<module> (weird.py:1)"], "other"),
    ],
    ids=[
        "loop",
        "http-server",
        "http-client",
        "client-writer",
        "socket-write",
        "json",
        "core-under-stdlib",
        "other",
    ],
)
def test_innermost_named_frame_decides(stack: list[str], category: str) -> None:
    assert categorize(stack) == category


def test_summary_counts_samples_per_category_and_skips_garbage() -> None:
    samples = summarize_collapsed(COLLAPSED)
    assert samples == {
        "event loop": 40,
        "HTTP server (aiohttp)": 25,
        "storage (sqlite, fsync)": 20,
        "JSON and wire codec": 15,
        "other": 3,
    }
    assert top_frames(COLLAPSED, limit=2) == [
        ("run (asyncio/runners.py:118)", 40),
        ("data_received (aiohttp/web_protocol.py:446)", 25),
    ]


def test_missing_py_spy_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile.shutil, "which", lambda name: None)
    with pytest.raises(ProfileError, match="pip install py-spy"):
        profile.find_py_spy()
