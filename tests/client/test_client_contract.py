"""The node's OpenAPI document (`raftkv.node.openapi`) against what the client decodes and
what a real node answers: `/state` with its digest, key count and (small) map or the reason it
left the map out, and `GET /kv/scan` with its query parameters and pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from client_real_cluster import RealCluster

from raftkv.client import NodeClient, NodeState, ScanPage
from raftkv.node.openapi import openapi_document

DOC = openapi_document()
SCHEMAS = DOC["components"]["schemas"]


def test_the_document_is_valid_openapi() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(DOC)


def test_scan_is_documented_with_its_query_and_page() -> None:
    scan = DOC["paths"]["/kv/scan"]["get"]
    parameters = {p["name"]: p for p in scan["parameters"]}
    assert set(parameters) == {"prefix", "after", "limit"}
    assert all(p["in"] == "query" and not p["required"] for p in parameters.values())
    assert parameters["after"]["schema"] == {"type": "string"}
    limit = parameters["limit"]["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 1000, 100)
    ok = scan["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["properties"]["Ok"] == {"$ref": "#/components/schemas/ScanResponse"}
    assert "requestBody" not in scan


def test_state_documents_digest_key_count_and_a_map_that_may_be_left_out() -> None:
    state = DOC["paths"]["/state"]["get"]
    assert [p["name"] for p in state["parameters"]] == ["kv"]
    ok = state["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/StateResponse"}, "not wrapped in Ok"
    schema = SCHEMAS["StateResponse"]
    assert schema["properties"]["kv_digest"]["pattern"] == "^[0-9a-f]{16}$"
    assert {"kv_digest", "kv_keys", "last_applied_index"} <= set(schema["required"])
    assert not {"kv", "kv_omitted"} & set(schema["required"])
    assert {"type": "null"} in schema["properties"]["kv"]["anyOf"]
    assert "StateQuery" not in SCHEMAS and "ScanQuery" not in SCHEMAS, "queries are parameters"


@pytest.mark.parametrize(
    ("model", "documented"), [(NodeState, "StateResponse"), (ScanPage, "ScanResponse")]
)
def test_every_field_the_client_decodes_is_documented(model: type, documented: str) -> None:
    fields = {field.encode_name for field in msgspec.structs.fields(model)}
    assert fields <= set(SCHEMAS[documented]["properties"])


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[str]:
    """One formed node that leaves its map out of `/state` past 3 keys."""
    cluster = RealCluster.start(tmp_path, size=1, state_kv_max_keys=3)
    try:
        await cluster.wait_healthy()
        await cluster.form()
        yield cluster.addrs[0]
    finally:
        cluster.stop_all()


@pytest.mark.e2e
@pytest.mark.timeout(60)
async def test_a_real_node_answers_as_its_served_document_says(node: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    async with aiohttp.ClientSession() as http:
        served = await get(http, node, "/openapi.json")
        assert served["paths"]["/kv/scan"] == DOC["paths"]["/kv/scan"]

        def check(body: Any, name: str) -> None:
            root = {"$ref": f"#/components/schemas/{name}", "components": served["components"]}
            jsonschema.validate(body, root)

        async with NodeClient(node) as client:
            await client.write("a", "1", serial=1)
            small = await get(http, node, "/state")
            check(small, "StateResponse")
            assert small["kv"] == {"a": "1"} and "kv_omitted" not in small
            for i in range(4):
                await client.write(f"b{i}", str(i), serial=1)
        large = await get(http, node, "/state")
        check(large, "StateResponse")
        assert large["kv"] is None and large["kv_keys"] == 5 and large["kv_omitted"]
        check(await get(http, node, "/state?kv=false"), "StateResponse")
        page = await get(http, node, "/kv/scan?prefix=b&limit=2")
        check(page["Ok"], "ScanResponse")
        assert page["Ok"] == {"items": [["b0", "0"], ["b1", "1"]], "next": "b1"}


async def get(http: aiohttp.ClientSession, addr: str, path: str) -> Any:
    async with http.get(f"http://{addr}{path}") as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()
