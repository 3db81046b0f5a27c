"""Search through the compose stack: a wiki created on the data volume, a change notice, and the embedder's
internal API answering from inside the stack network (it is never routed by Caddy)."""

from __future__ import annotations

import json
import time

from tests.integration.stack import Stack

SLUG = "searchstack"

CREATE = f"""
from wikibot_shared.config import CommonSettings
from wikibot_shared.db import make_engine, make_session_factory, transaction
from wikibot_shared.models import User, Wiki
from wikibot_shared.queue import notify_change, redis_client
from wikibot_shared.storage import Author, init_repo
s = CommonSettings()
with transaction(make_session_factory(make_engine(s.database_url))) as db:
    db.merge(User(did="did:plc:searchstack", handle="search.stack", username="searchstack"))
    db.add(Wiki(slug="{SLUG}", owner_did="did:plc:searchstack", display_name="Search stack"))
files = {{
    "Home.md": "# Home\\n\\nWelcome to the team wiki.",
    "Deploy Runbook.md": "# Deploy Runbook\\n\\n## Rollback\\n\\nTo roll back a bad release, redeploy the previous tag.",
}}
head = init_repo(s.wikis_dir, "{SLUG}", files, Author.for_did("did:plc:searchstack", "search.stack"), "Create")
notify_change(redis_client(s.redis_url), "{SLUG}", source="platform", commit=head)
print(head)
"""

COMMIT = f"""
import os
from wikibot_shared.config import CommonSettings
from wikibot_shared.locks import repo_lock
from wikibot_shared.queue import notify_change, redis_client
from wikibot_shared.storage import git, wiki_paths
s = CommonSettings()
repo = wiki_paths(s.wikis_dir, "{SLUG}").repo
env = {{"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@did.invalid", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@did.invalid"}}
with repo_lock(s.wikis_dir, "{SLUG}"):
    (repo / "Pottery.md").write_text("# Pottery\\n\\nFire the kiln slowly so the glaze does not crack.")
    git(repo, "rm", "-q", "Home.md")
    git(repo, "add", "Pottery.md")
    git(repo, "commit", "-q", "-m", "pottery", env=env)
    head = git(repo, "rev-parse", "HEAD").strip()
notify_change(redis_client(s.redis_url), "{SLUG}", source="mcp", commit=head, paths=["Pottery.md", "Home.md"])
print(head)
"""

ASK = """
import json, sys, httpx
method, path, body = sys.argv[1], sys.argv[2], sys.argv[3]
r = httpx.request(method, "http://embedder:8003" + path, json=json.loads(body) if body else None, timeout=30)
print(json.dumps({"status": r.status_code, "body": r.json()}))
"""


def ask(stack: Stack, method: str, path: str, body: dict[str, object] | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    out = stack.exec("mcp", "python", "-c", ASK, method, path, json.dumps(body) if body else "").stdout
    answer = json.loads(out.strip().splitlines()[-1])
    return answer["status"], answer["body"]


def wait_for_commit(stack: Stack, query: str, commit: str, timeout: float = 120.0) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    body: dict = {}  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        status, body = ask(stack, "POST", "/search", {"wiki": SLUG, "query": query, "mode": "hybrid"})
        assert status == 200, body
        if body["commit"] == commit:
            return body
        time.sleep(0.5)
    raise AssertionError(f"the index did not reach {commit} in {timeout}s: {body}")


def test_a_new_wiki_becomes_searchable_and_follows_commits(stack: Stack) -> None:
    head = stack.exec("platform", "python", "-c", CREATE).stdout.strip().splitlines()[-1]
    body = wait_for_commit(stack, "how do I roll back a release", head)
    top = body["results"][0]
    assert (top["path"], top["title"]) == ("Deploy Runbook.md", "Deploy Runbook")
    assert top["chunks"][0]["section"] == "Deploy Runbook > Rollback"

    second = stack.exec("platform", "python", "-c", COMMIT).stdout.strip().splitlines()[-1]
    body = wait_for_commit(stack, "kiln glaze", second)
    assert body["results"][0]["path"] == "Pottery.md"
    paths = {
        r["path"]
        for r in ask(stack, "POST", "/search", {"wiki": SLUG, "query": "welcome team"})[1]["results"]
    }
    assert "Home.md" not in paths  # deleted in the second commit

    status, state = ask(stack, "GET", f"/status/{SLUG}")
    assert status == 200
    assert (state["indexed_commit"], state["head_commit"], state["lag_commits"]) == (second, second, 0)
    assert state["chunks"] == 2

    status, error = ask(stack, "POST", "/search", {"wiki": "nosuchwiki", "query": "x"})
    assert (status, error["error"]) == (404, "unknown_wiki")


def test_operator_cli_runs_through_compose_exec(stack: Stack) -> None:
    stack.exec("platform", "python", "-c", CREATE.replace(SLUG, "clistack"))
    reindex = stack.exec("embedder", "wikibot-search", "reindex", "clistack", "--full")
    assert "clistack" in reindex.stderr
    assert "chunks in the index" in reindex.stderr
    status = stack.exec("embedder", "wikibot-search", "status").stdout
    row = next(line for line in status.splitlines() if line.startswith("clistack"))
    assert row.split()[3] == "0"  # no commits behind
    missing = stack.exec("embedder", "wikibot-search", "reindex", "nosuchwiki", check=False)
    assert missing.returncode == 2
    assert "no wiki 'nosuchwiki'" in missing.stderr


def test_embedder_is_not_routed_by_caddy(stack: Stack) -> None:
    response = stack.request("POST", "/search", json={"wiki": SLUG, "query": "x"})
    assert response.headers.get("x-wikibot-service") != "embedder"


# Pages as people write them: no H1, an H1 that is not the page name, setext headings, duplicate headings,
# front matter. Every section is long enough to be a chunk of its own (tiny ones merge into their parent) and
# says "lantern", so each can come back from a search.
def _para(topic: str) -> str:
    return " ".join(
        f"The lantern {topic} note {i} explains one more detail of the {topic} procedure." for i in range(6)
    )


LABEL_CORPUS = {
    "Labels/No H1": f"{_para('intro')}\n\n## Rollback\n\n{_para('rollback')}\n\n## Rollback\n\n{_para('backup')}\n",
    "Labels/Setext": f"Overview\n========\n\n{_para('overview')}\n\nDetails\n-------\n\n{_para('details')}\n",
    "Labels/Front": f"---\ntitle: Lantern Checklist\ntags: [ops]\n---\n\n# Not the file name\n\n{_para('body')}\n\n"
    f"## Steps\n\n{_para('steps')}\n",
    "Labels/Deep": f"# Deep\n\n## A\n\n### Notes\n\n{_para('alpha')}\n\n## B\n\n### Notes\n\n{_para('beta')}\n",
}


def test_every_section_label_search_returns_reads_back_through_mcp_and_rest(stack: Stack) -> None:
    """The labels the embedder gives hits are the labels read_note and REST find (one Markdown model)."""
    import asyncio
    from urllib.parse import quote

    from services.mcp.tests.support.clients import payload, sdk
    from tests.integration.test_agent_stack import SETUP

    token = stack.exec("platform", "python", "-c", SETUP).stdout.strip().splitlines()[-1]
    base, host = f"http://127.0.0.1:{stack.port}", stack.host("agents")

    async def labels() -> tuple[set[tuple[str, str]], list[str], list[str]]:
        async with sdk(base, token, host=host) as client:
            for path, text in LABEL_CORPUS.items():
                await client.call_tool("write_note", {"path": path, "content": text})
            found: set[tuple[str, str]] = set()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                for tool, args in (
                    ("semantic_search", {"query": "lantern", "n": 10, "max_chunks_per_page": 10}),
                    ("search_notes", {"query": "lantern", "limit": 10}),
                ):
                    for hit in payload(await client.call_tool(tool, args))["results"]:
                        for match in hit["matches"]:
                            found.add((hit["path"], match["section"]))
                if {p for p, _ in found} >= set(LABEL_CORPUS):
                    break
                await asyncio.sleep(0.5)
            failures, checked = [], []
            for path, label in sorted(found):
                if not label:
                    continue  # the page as a whole: no section to name
                result = await client.call_tool("read_note", {"path": path, "section": label})
                if result.is_error:
                    failures.append(f"{path} / {label}: {result.content[0].text}")
                else:
                    assert payload(result)["section"] == label
                    checked.append(label)
            return found, failures, checked

    found, failures, checked = asyncio.run(labels())
    assert {p for p, _ in found} >= set(LABEL_CORPUS), found
    assert not failures, failures
    expected = {
        "Rollback",
        "Rollback [2]",
        "Overview",
        "Overview > Details",
        "Not the file name > Steps",
        "Deep > A > Notes",
        "Deep > B > Notes",
    }
    assert expected <= set(checked), checked
    for path, label in found:
        if not label:
            continue
        rest = stack.get(
            f"/api/v1/pages/{quote(path)}?section={quote(label)}",
            slug="agents",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert rest.status_code == 200, (path, label, rest.text)
        assert rest.json()["section"] == label
