"""How much context ``tools/list`` costs an agent on every turn: its JSON size and token count.

Tokens are counted with the MiniLM WordPiece tokenizer the embedder ships (no LLM tokenizer is installable
offline); an LLM's count differs, the before/after ratio is what to compare.

    python bench/bench_tools_list.py
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


ICONS = "https://wikibot.example/app/static/icons"
# What most hosts hand the model of each tool; the rest (title, icons, annotations, outputSchema) is for the host.
MODEL_SEES = ("name", "description", "inputSchema")


def tools_list() -> list[dict[str, object]]:
    from wikibot_mcp.actors import Actors
    from wikibot_mcp.tools import build_server

    # listing needs neither a core nor an authorizer; the icons at a deployment's typical URL
    server = build_server(None, Actors(None, None), ICONS)  # type: ignore[arg-type]

    async def go() -> list[dict[str, object]]:
        listed = await server.list_tools()
        return [
            t.to_mcp_tool(name=t.name).model_dump(by_alias=True, mode="json", exclude_none=True)
            for t in listed
        ]

    return asyncio.run(go())


def main() -> None:
    from wikibot_embedder.encoder import TokenCounter

    tools = tools_list()
    text = json.dumps({"tools": tools}, separators=(",", ":"))
    (tokens,) = TokenCounter().count_tokens([text])
    print(f"tools/list: {len(tools)} tools, {len(text)} bytes of JSON, {tokens} WordPiece tokens")
    seen = json.dumps([{k: t[k] for k in MODEL_SEES if k in t} for t in tools], separators=(",", ":"))
    (seen_tokens,) = TokenCounter().count_tokens([seen])
    print(f"  of which name, description, inputSchema: {len(seen)} bytes, {seen_tokens} WordPiece tokens")
    for tool in tools:
        one = json.dumps(tool, separators=(",", ":"))
        print(f"  {tool['name']:<22} {len(one):>6} bytes  output schema: {'outputSchema' in tool}")


if __name__ == "__main__":
    main()
