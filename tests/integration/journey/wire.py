"""The journey's clients below the browser and the SDK: raw MCP JSON-RPC and REST with a given credential, git
over smart HTTP with a personal access token, and a snapshot of everything the database and repositories hold.

All traffic goes to Caddy's published port on 127.0.0.1 (git through ``http.curloptResolve``)."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import httpx

from tests.integration.stack import Stack

MCP_ACCEPT = "application/json, text/event-stream"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mcp_tool_call(
    stack: Stack, slug: str, token: str, tool: str, arguments: dict[str, Any]
) -> httpx.Response:
    """One ``tools/call`` straight to /mcp: the gate answers before any MCP session exists."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    return stack.request(
        "POST", "/mcp", slug=slug, json=body, headers={**bearer(token), "Accept": MCP_ACCEPT}
    )


def token_grant(stack: Stack, form: dict[str, str]) -> httpx.Response:
    return stack.request("POST", "/auth/oauth/token", data=form)


# -- git ----------------------------------------------------------------------------------------------------------
def git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Journey",
        "GIT_AUTHOR_EMAIL": "journey@example.invalid",
        "GIT_COMMITTER_NAME": "Journey",
        "GIT_COMMITTER_EMAIL": "journey@example.invalid",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def repo_url(stack: Stack, slug: str, token: str) -> str:
    return f"http://x:{token}@{stack.host(slug)}/repo.git"


def clone(stack: Stack, slug: str, token: str, dest: Path) -> subprocess.CompletedProcess[str]:
    resolve = f"http.curloptResolve={slug}.localhost:{stack.port}:127.0.0.1"
    return git("-c", resolve, "clone", "-q", repo_url(stack, slug, token), str(dest))


def commit_page(work: Path, name: str, content: str, message: str) -> None:
    (work / f"{name}.md").write_text(content)
    added = git("add", f"{name}.md", cwd=work)
    assert added.returncode == 0, added.stderr
    committed = git("commit", "-q", "-m", message, cwd=work)
    assert committed.returncode == 0, committed.stderr


def push(stack: Stack, slug: str, work: Path) -> subprocess.CompletedProcess[str]:
    resolve = f"http.curloptResolve={slug}.localhost:{stack.port}:127.0.0.1"
    return git("-c", resolve, "push", "-q", "origin", "HEAD", cwd=work)


# -- everything the platform holds ----------------------------------------------------------------------------------
SNAPSHOT = textwrap.dedent(
    """
    import json, subprocess
    from sqlalchemy import select
    from wikibot_shared.config import CommonSettings
    from wikibot_shared.db import make_engine
    from wikibot_shared.models import Base
    settings = CommonSettings()
    engine = make_engine(settings.database_url)
    skip = {"index_state"}  # search state: rebuilt from git, cleared by a restore (docs/backup.md)
    tables = {}
    with engine.connect() as conn:
        for name, table in sorted(Base.metadata.tables.items()):
            if name in skip:
                continue
            rows = [{k: str(v) for k, v in row._mapping.items()} for row in conn.execute(select(table))]
            tables[name] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))
    repos = {}
    for repo in sorted(settings.wikis_dir.glob("*/repo")):
        run = lambda *a: subprocess.run(["git", "-C", str(repo), *a], capture_output=True, text=True).stdout
        repos[repo.parent.name] = {"head": run("rev-parse", "HEAD").strip(),
                                   "files": run("ls-tree", "-r", "HEAD").splitlines(),
                                   "log": run("log", "--format=%H %an <%ae> %s").splitlines()}
    print(json.dumps({"tables": tables, "repos": repos}))
    """
)


def snapshot(stack: Stack) -> dict[str, Any]:
    """Every row of every table (search state aside) and every wiki's commits and files."""
    out = stack.exec("platform", "python", "-c", SNAPSHOT).stdout
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return data
