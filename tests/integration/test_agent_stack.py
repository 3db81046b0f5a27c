"""The agent plane through the compose stack, via Caddy only: a personal access token created inside the
stack, MCP with the official SDK client, REST, RFC 9728 metadata and the 401 challenge, and a git clone."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

from services.mcp.tests.support.clients import payload, sdk
from tests.integration.stack import Stack

# A wiki (argv[1], default "agents") and a write token for it, made inside the platform container; prints the token.
SETUP = r"""
import secrets, sys
from wikibot_shared.config import CommonSettings
from wikibot_shared.db import make_engine, make_session_factory, transaction
from wikibot_shared.models import AccessToken, User, Wiki
from wikibot_shared.storage import Author, init_repo
from wikibot_shared.tokens import PAT_PREFIX, new_opaque
s = CommonSettings()
db = make_session_factory(make_engine(s.database_url))
slug = sys.argv[1] if len(sys.argv) > 1 else "agents"
did = "did:plc:agentstack"
with transaction(db) as session:
    if session.get(User, did) is None:
        session.add(User(did=did, handle="agent.test", username="agentstack"))
    if session.get(Wiki, slug) is None:
        session.add(Wiki(slug=slug, owner_did=did, display_name=slug.title()))
if not (s.wikis_dir / slug / "repo").exists():
    init_repo(s.wikis_dir, slug, {"Home.md": "# Home\n"}, Author.for_did(did, "agent.test"), "Create wiki")
token, digest = new_opaque(PAT_PREFIX)
with transaction(db) as session:
    session.add(AccessToken(id=secrets.token_hex(8), token_hash=digest, wiki_slug=slug, owner_did=did,
                            name="integration", scopes="wiki:read wiki:write"))
print(token)
"""


def test_agent_plane_through_caddy(stack: Stack, tmp_path: Path) -> None:
    token = stack.exec("platform", "python", "-c", SETUP).stdout.strip().splitlines()[-1]
    assert token.startswith("wbp_")
    host = stack.host("agents")
    base = f"http://127.0.0.1:{stack.port}"

    anon = stack.request(
        "POST", "/mcp", slug="agents", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    )
    assert anon.status_code == 401
    assert anon.headers["x-wikibot-service"] == "mcp"
    assert (
        f'resource_metadata="http://{host}/.well-known/oauth-protected-resource/mcp"'
        in anon.headers["www-authenticate"]
    )
    meta = stack.get("/.well-known/oauth-protected-resource/mcp", slug="agents").json()
    assert meta["resource"] == f"http://{host}/mcp"
    assert meta["authorization_servers"] == [f"http://localhost:{stack.port}"]

    async def agent() -> tuple[dict, dict]:
        async with sdk(base, token, host=host) as client:
            wrote = payload(
                await client.call_tool("write_note", {"path": "From Agent", "content": "# Hi\n\nstack\n"})
            )
            read = payload(await client.call_tool("read_note", {"path": "From Agent"}))
            return wrote, read

    wrote, read = asyncio.run(agent())
    assert wrote["created"] is True
    assert read["content"] == "# Hi\n\nstack\n"

    rest = stack.get("/api/v1/pages/From Agent", slug="agents", headers={"Authorization": f"Bearer {token}"})
    assert rest.status_code == 200
    assert rest.headers["etag"] == f'"{read["revision"]}"'

    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    clone = subprocess.run(
        [
            "git",
            "-c",
            f"http.curloptResolve=agents.localhost:{stack.port}:127.0.0.1",
            "clone",
            "-q",
            f"http://x:{token}@agents.localhost:{stack.port}/repo.git",
            str(tmp_path / "c"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert clone.returncode == 0, clone.stderr
    assert (tmp_path / "c" / "From Agent.md").read_text() == "# Hi\n\nstack\n"
    log = subprocess.run(
        ["git", "-C", str(tmp_path / "c"), "log", "-1", "--format=%an <%ae>"], capture_output=True, text=True
    )
    assert log.stdout.strip() == "agent.test <did:plc:agentstack@did.invalid>"


SEARCHES = ("search_notes", "semantic_search", "search_notes", "semantic_search")


def test_a_write_is_found_by_the_next_search_with_its_commit_every_time(stack: Stack) -> None:
    """Through Caddy with the Python SDK and the stack's real embedder (its worker indexes from the change
    notices in the background): each of 24 writes is searched at once with the commit it returned as
    ``min_commit``, alternating full-text and semantic search, and the fresh answer names the page."""
    token = stack.exec("platform", "python", "-c", SETUP).stdout.strip().splitlines()[-1]
    host = stack.host("agents")

    async def agent() -> list[tuple[int, str, dict]]:
        answers = []
        async with sdk(f"http://127.0.0.1:{stack.port}", token, host=host) as client:
            for i in range(24):
                page = f"Fresh/Loop {i}"
                wrote = payload(
                    await client.call_tool(
                        "write_note", {"path": page, "content": f"# Loop {i}\n\nThe codeword is kq{i}vz.\n"}
                    )
                )
                tool = SEARCHES[i % len(SEARCHES)]
                query = f"kq{i}vz" if tool == "search_notes" else f"Loop {i} codeword kq{i}vz"
                found = payload(await client.call_tool(tool, {"query": query, "min_commit": wrote["commit"]}))
                answers.append((i, wrote["commit"], found))
        return answers

    for i, commit, found in asyncio.run(agent()):
        assert found["fresh"] is True, (i, found["message"])
        assert found["min_commit"] == commit
        assert f"Fresh/Loop {i}" in [hit["path"] for hit in found["results"]], (i, found["results"])
