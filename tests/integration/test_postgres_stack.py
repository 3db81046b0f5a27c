"""The whole stack on PostgreSQL (``compose.postgres.yaml``, what ``make up POSTGRES=1`` runs), through Caddy:
migrations, health, an agent's write read back over MCP and REST and from the ``postgres`` service itself, search
over the write, a backup by ``pg_dump``, and a restart that keeps it all."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.mcp.tests.support.clients import payload, sdk
from tests.integration.journey.wire import bearer
from tests.integration.stack import Stack, running_stack
from tests.integration.test_agent_stack import SETUP

NOTE = "# Postgres Notes\n\nThe ledger reconciliation runs nightly on the xylophant cluster.\n"


@pytest.fixture(scope="module")
def pg_stack() -> Iterator[Stack]:
    with running_stack(files=("compose.yaml", "compose.postgres.yaml")) as stack:
        yield stack


def psql(stack: Stack, sql: str) -> str:
    """Ask the ``postgres`` service itself (with the password: local sockets need not be trusted)."""
    out = stack.compose_cmd(
        "exec", "-T", "-e", "PGPASSWORD=wikibot-dev-only", "postgres",
        "psql", "-h", "127.0.0.1", "-U", "wikibot", "-d", "wikibot", "-At", "-c", sql,
    )  # fmt: skip
    return out.stdout.strip()


def test_the_stack_runs_on_postgresql_end_to_end(pg_stack: Stack, tmp_path: Path) -> None:
    stack = pg_stack
    health = stack.get("/api/health")
    assert health.status_code == 200, health.text
    assert health.json()["database"]["status"] == "ok"
    backend = stack.exec(
        "platform", "python", "-c", "import os; print(os.environ['DATABASE_URL'].split(':', 1)[0])"
    )
    assert backend.stdout.strip() == "postgresql+psycopg"
    assert psql(stack, "select count(*) from alembic_version") == "1"

    token = stack.exec("platform", "python", "-c", SETUP).stdout.strip().splitlines()[-1]
    base, host = f"http://127.0.0.1:{stack.port}", stack.host("agents")

    async def agent() -> dict[str, object]:
        async with sdk(base, token, host=host) as client:
            await client.call_tool("write_note", {"path": "Postgres Notes", "content": NOTE})
            return payload(await client.call_tool("read_note", {"path": "Postgres Notes"}))

    assert asyncio.run(agent())["content"] == NOTE
    rest = stack.get("/api/v1/pages/Postgres Notes", slug="agents", headers=bearer(token))
    assert rest.status_code == 200, rest.text
    assert psql(stack, "select slug from wikis where slug = 'agents'") == "agents"
    assert psql(stack, "select count(*) from access_tokens where wiki_slug = 'agents'") == "1"

    deadline = time.monotonic() + 120
    while True:  # the embedder indexes the write (its state is in PostgreSQL too)
        found = stack.get("/api/v1/search", slug="agents", params={"q": "xylophant"}, headers=bearer(token))
        if found.status_code == 200 and any(r["path"] == "Postgres Notes" for r in found.json()["results"]):
            break
        assert time.monotonic() < deadline, found.text
        time.sleep(1)

    archive = tmp_path / "pg.tar.gz"
    made = stack.compose_stream(
        "exec", "-T", "platform", "wikibot-admin", "backup", "create", "-", stdout=archive
    )
    assert made.returncode == 0, made.stderr.decode()
    assert "the postgresql database" in made.stderr.decode()
    assert archive.stat().st_size > 1000

    stack.restart()
    again = stack.get("/api/v1/pages/Postgres Notes", slug="agents", headers=bearer(token))
    assert again.status_code == 200, again.text
    assert again.json()["content"] == NOTE
