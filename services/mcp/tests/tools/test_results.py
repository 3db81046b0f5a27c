"""Every tool declares an output schema and every result fits it: checked with jsonschema on what the Python SDK
receives, and by the official TypeScript SDK, which validates structuredContent itself and throws on a misfit."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from services.mcp.tests.support.clients import sdk
from services.mcp.tests.support.served import EXPECTED_TOOLS, Served
from services.mcp.tests.support.world import ALICE
from tests.support import tssdk

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def plan(page: str) -> list[tuple[str, dict[str, Any]]]:
    """One call of each tool, in an order where each finds what it needs; the page is the caller's own."""
    moved = page + " Moved"
    return [
        ("write_note", {"path": page, "content": "# Typed\n\n## Part\n\nSee [[Home]].\n"}),
        ("read_note", {"path": page}),
        ("edit_note", {"path": page, "operation": "append", "content": "More."}),
        ("edit_note", {"path": page, "operation": "set_front_matter", "front_matter": {"tags": ["typed"]}}),
        ("list_notes", {"prefix": page.split("/")[0]}),
        ("search_notes", {"query": "Typed"}),
        ("semantic_search", {"query": "typed results"}),
        ("get_links", {"path": page}),
        ("get_history", {"path": page}),
        ("get_recent_changes", {}),
        ("find_orphaned_notes", {}),
        ("list_proposals", {}),
        (
            "upload_attachment",
            {"path": page, "filename": "d.png", "content_base64": base64.b64encode(PNG).decode()},
        ),
        ("list_attachments", {"path": page}),
        ("download_attachment", {"path": page, "filename": "d.png"}),
        ("delete_attachment", {"path": page, "filename": "d.png"}),
        ("search", {"query": "Typed"}),
        ("fetch", {"id": page}),
        ("diff_note", {"path": page, "from_commit": "$commit"}),
        ("restore_note", {"path": page, "commit": "$commit", "base_revision": "$revision"}),
        ("rename_note", {"path": page, "new_path": moved}),
        ("delete_note", {"path": moved}),
    ]


def filled(args: dict[str, Any], seen: list[dict[str, Any]]) -> dict[str, Any]:
    """``$commit``: the first write's commit; ``$revision``: the page's newest revision a result gave."""
    revision = next((r["revision"] for r in reversed(seen) if "revision" in r), None)
    values = {"$commit": seen[0]["commit"] if seen else None, "$revision": revision}
    return {k: values.get(v, v) if isinstance(v, str) else v for k, v in args.items()}


def test_the_plan_calls_every_tool() -> None:
    assert {name for name, _ in plan("P")} == EXPECTED_TOOLS


def test_every_result_fits_its_declared_schema_python_sdk(served: Served) -> None:
    async def go() -> tuple[dict[str, Any], list[tuple[str, Any]]]:
        async with sdk(served.base, served.world.pat(ALICE)) as client:
            schemas = {t.name: t.output_schema for t in (await client.list_tools()).tools}
            results, seen = [], []
            for name, args in plan("Typed/Py"):
                result = await client.call_tool(name, filled(args, seen))
                results.append((name, result))
                seen.append(result.structured_content or {})
            return schemas, results

    schemas, results = asyncio.run(go())
    assert set(schemas) == EXPECTED_TOOLS
    assert all(schemas.values()), [n for n, s in schemas.items() if not s]
    for name, result in results:
        assert not result.is_error, (name, result.content)
        assert result.structured_content is not None, name
        jsonschema.validate(result.structured_content, schemas[name])
        # the text block carries the same JSON, for hosts that show only text
        assert json.loads(result.content[0].text) == result.structured_content, name
    by_name = dict(results)
    assert (
        by_name["download_attachment"].structured_content["content_base64"] == base64.b64encode(PNG).decode()
    )
    assert by_name["rename_note"].structured_content["path"] == "Typed/Py Moved"


def test_a_misfit_is_caught_by_the_check_used_above(served: Served) -> None:
    """The schemas are strict enough to fail: a written page without its commit does not validate."""

    async def go() -> dict[str, Any]:
        async with sdk(served.base, served.world.pat(ALICE)) as client:
            return {t.name: t.output_schema for t in (await client.list_tools()).tools}

    schema = asyncio.run(go())["write_note"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"path": "P", "revision": "r", "created": True}, schema)


def test_every_result_fits_its_declared_schema_typescript_sdk(served: Served) -> None:
    script = Path(__file__).parent / "node" / "every_tool.mjs"
    url = f"http://notes.localhost:{served.base.rsplit(':', 1)[1]}/mcp"
    seen = tssdk.run_script(script, url, served.world.pat(ALICE), json.dumps(plan("Typed/Ts")))
    assert set(seen["withSchema"]) == EXPECTED_TOOLS
    assert [r["name"] for r in seen["results"]] == [name for name, _ in plan("Typed/Ts")]
    for r in seen["results"]:
        assert r["isError"] is False, r
        assert r["structured"] is not None, r
    fetched = {r["name"]: r["structured"] for r in seen["results"]}["fetch"]
    assert fetched["id"] == "Typed/Ts"
    assert fetched["text"].startswith("---\n")  # the tags set_front_matter wrote
