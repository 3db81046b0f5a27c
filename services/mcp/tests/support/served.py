"""The real app under uvicorn on 127.0.0.1 over a world of its own, with the contract embedder, driven through
the official ``mcp`` SDK client and authenticated with personal access tokens (the tools' tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from services.mcp.tests.support.clients import error_text, payload, sdk
from services.mcp.tests.support.servers import ContractEmbedder, running, uvicorn_thread
from services.mcp.tests.support.world import ALICE, World, make_world
from wikibot_mcp.main import create_app

EXPECTED_TOOLS = {
    "read_note",
    "write_note",
    "edit_note",
    "list_notes",
    "search_notes",
    "semantic_search",
    "get_links",
    "get_history",
    "diff_note",
    "restore_note",
    "list_proposals",
    "get_recent_changes",
    "rename_note",
    "delete_note",
    "find_orphaned_notes",
    "list_attachments",
    "upload_attachment",
    "download_attachment",
    "delete_attachment",
    "search",
    "fetch",
}


class Served:
    def __init__(self, world: World, base: str, embedder: ContractEmbedder, app: Any = None) -> None:
        self.world, self.base, self.embedder, self.app = world, base, embedder, app

    def call(self, token: str | None, tool: str, args: dict[str, Any]) -> Any:
        async def go() -> Any:
            async with sdk(self.base, token) as client:
                return await client.call_tool(tool, args)

        return asyncio.run(go())

    def ok(self, tool: str, args: dict[str, Any], who: str = ALICE) -> dict[str, Any]:
        result = self.call(self.world.pat(who), tool, args)
        assert not result.is_error, result.content
        return payload(result)

    def fail(self, tool: str, args: dict[str, Any], who: str = ALICE) -> str:
        return error_text(self.call(self.world.pat(who), tool, args))


@contextmanager
def serve(tmp: Path, redis_url: str, **overrides: object) -> Iterator[Served]:
    """``overrides``: settings (``McpSettings`` fields) other than the world's defaults."""
    embedder = ContractEmbedder(tmp / "wikis")
    with running(embedder) as embedder_url:
        world = make_world(tmp, redis_url, embedder_internal_url=embedder_url, **overrides)
        app = create_app(world.settings)
        with uvicorn_thread(app) as base:
            yield Served(world, base, embedder, app)
    redis.Redis.from_url(redis_url).close()
