"""Every error code the node can send is documented: in `wire.ERROR_CODES` (with its status),
in `/openapi.json` (the `Err.code` enum, and under the right status of each endpoint), and in
the README's table. Read from the source, so that a new code cannot be added silently."""

from __future__ import annotations

import re
from pathlib import Path

from openapi_spec_validator import validate

from raftkv.node.openapi import openapi_document
from raftkv.node.wire import ERROR_CODES

ROOT = Path(__file__).resolve().parents[2]
NODE_SRC = ROOT / "src" / "raftkv" / "node"
RAISED = re.compile(r'ApiFailure\(\s*(\d{3}),\s*"([a-z_]+)"')
HELPERS = {"bad_request": 400, "no_leader": 503, "timeout": 504, "proposal_dropped": 503}


def codes_in_source() -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for path in NODE_SRC.glob("*.py"):
        text = path.read_text()
        for status, code in RAISED.findall(text):
            found.setdefault(code, set()).add(int(status))
        for helper, status in HELPERS.items():
            if re.search(rf"\b{helper}\(", text):
                found.setdefault(helper, set()).add(status)
        if '"too_many_connections"' in text:
            found.setdefault("too_many_connections", set()).add(503)
    return found


def test_every_code_the_source_sends_is_listed_with_its_status() -> None:
    found = codes_in_source()
    assert "learner_unreachable" in found and "proposal_dropped" in found
    for code, statuses in found.items():
        assert code in ERROR_CODES, code
        assert statuses == {ERROR_CODES[code][0]}, (code, statuses)


def test_the_readme_names_every_code() -> None:
    readme = (ROOT / "README.md").read_text()
    for code in ERROR_CODES:
        assert f"`{code}`" in readme, code


def test_the_document_is_valid_openapi_with_every_code() -> None:
    document = openapi_document()
    validate(document)
    enum = document["components"]["schemas"]["Error"]["properties"]["Err"]["properties"]["code"]
    assert set(enum["enum"]) == set(ERROR_CODES)
    write = document["paths"]["/kv/write"]["post"]
    assert write["requestBody"]["required"] is True
    for status in ("400", "409", "413", "421", "502", "503", "504"):
        assert status in write["responses"], status
    assert "default" not in write["responses"]
    assert document["paths"]["/healthz"]["get"]["responses"]["200"]["content"] == {
        "text/plain": {"schema": {"type": "string"}}
    }
    snapshot = document["paths"]["/raft/snapshot"]["post"]["requestBody"]
    assert "application/msgpack" in snapshot["content"]
    assert "101" in document["paths"]["/raft/stream"]["get"]["responses"]
    assert "503" in document["paths"]["/raft/stream"]["get"]["responses"]
    state = document["paths"]["/state"]["get"]
    assert [p["name"] for p in state["parameters"]] == ["kv"]
    metrics = document["paths"]["/admin/metrics"]["get"]["responses"]["200"]
    ok = metrics["content"]["application/json"]["schema"]["properties"]["Ok"]
    assert ok == {"$ref": "#/components/schemas/AdminMetrics"}
