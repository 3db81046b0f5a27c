"""Path rules through every front door of the mcp service — MCP tools, REST ``/api/v1`` and git push — for each
kind of principal limited to ``Agents/``: a personal access token with ``paths``, an OAuth grant with
``write_paths``, and an editor whose membership is limited (through their own unlimited token, and through
their session cookie on REST). Inside is allowed; outside and straddling are refused with the rule in words,
and nothing is written: the repository's HEAD and the change stream stay as they were.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from services.mcp.tests.support.clients import error_text, payload, sdk
from services.mcp.tests.support.servers import uvicorn_thread
from services.mcp.tests.support.world import ALICE, BOB, World, make_world
from services.mcp.tests.test_githttp import Remote
from wikibot_mcp.main import create_app
from wikibot_mcp.wiki import gitrepo
from wikibot_shared.db import transaction
from wikibot_shared.keys import KeyStore
from wikibot_shared.models import OAuthClient, OAuthGrant, UserSession
from wikibot_shared.queue import STREAM
from wikibot_shared.tokens import SESSION_COOKIE, AccessClaims, issue_access_token, issue_session
from wikibot_shared.verify import LocalKeys, Verifier

AGENTS = ["Agents/"]
FILES = {
    "Agents/Plan.md": "# Plan\n\nThe plan.\n",
    "Team/Doc.md": "# Doc\n\nSee [[Agents/Plan]].\n",
}
KINDS = ("pat", "oauth", "member")
_slugs = itertools.count()


@dataclass
class Stack:
    world: World
    base: str
    keys: KeyStore
    remote: Remote


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("paths")
    world = make_world(tmp, redis_url)
    keys = KeyStore(world.settings.keys_dir)
    keys.ensure()
    with transaction(world.db) as db:
        db.add(OAuthClient(client_id="agent-app", client_name="Agent app"))
    verifier = Verifier(world.settings, world.db, LocalKeys(keys, min_interval=0))
    with uvicorn_thread(create_app(world.settings, verifier=verifier)) as base:
        yield Stack(world, base, keys, Remote(world, base))


@dataclass
class Limited:
    """One wiki of its own, and a credential of ``kind`` that may write only under ``Agents/``."""

    stack: Stack
    slug: str
    kind: str
    token: str

    @property
    def host(self) -> str:
        return f"{self.slug}.localhost:8080"

    def head(self) -> str | None:
        return gitrepo.read_head(self.stack.world.repo(self.slug))

    def notices(self) -> int:
        client = redis.Redis.from_url(self.stack.world.settings.redis_url)
        try:
            return sum(1 for _id, f in client.xrange(STREAM) if f[b"wiki"] == self.slug.encode())
        finally:
            client.close()

    def mcp(self, tool: str, args: dict[str, Any]) -> Any:
        async def go() -> Any:
            async with sdk(self.stack.base, self.token, host=self.host) as client:
                return await client.call_tool(tool, args)

        return asyncio.run(go())

    def rest(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Host": self.host, "Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return httpx.request(method, f"{self.stack.base}/api/v1{path}", headers=headers, timeout=30, **kw)


def limited(stack: Stack, kind: str) -> Limited:
    world = stack.world
    slug = f"paths{next(_slugs)}"
    world.add_wiki(slug, files=FILES)
    if kind == "pat":  # the owner's own token, limited
        token = world.pat(ALICE, slug, paths=AGENTS)
    elif kind == "oauth":  # an app the owner connected "only under Agents/"
        grant = secrets.token_hex(8)
        with transaction(world.db) as db:
            db.add(
                OAuthGrant(
                    id=grant,
                    client_id="agent-app",
                    user_did=ALICE,
                    wiki_slug=slug,
                    scopes="wiki:read wiki:write",
                    write_paths=AGENTS,
                )
            )
        claims = AccessClaims(
            issuer=world.settings.issuer,
            audience=world.settings.mcp_resource(slug),
            did=ALICE,
            client_id="agent-app",
            scope="wiki:read wiki:write",
            grant_id=grant,
            ttl=3600,
        )
        token = issue_access_token(stack.keys.current().key, claims)
    else:  # an editor of Agents/ only, through an unlimited token of their own
        world.grant(slug, BOB, "editor", paths=AGENTS)
        token = world.pat(BOB, slug)
    return Limited(stack, slug, kind, token)


@pytest.fixture(params=KINDS)
def who(stack: Stack, request: pytest.FixtureRequest) -> Limited:
    return limited(stack, request.param)


HOLDER = {"pat": "this token", "oauth": "this app", "member": "you"}


def refused(who: Limited, text: str, *outside: str) -> None:
    assert f"{HOLDER[who.kind]} may write only under 'Agents/'" in text, text
    for page in outside:
        assert f"'{page}'" in text, (page, text)


# -- MCP ---------------------------------------------------------------------------------------------------
def test_mcp_tools_write_inside_and_refuse_outside(who: Limited) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(16)).decode()
    inside = [
        ("write_note", {"path": "Agents/New", "content": "# New\n"}),
        ("write_note", {"path": "agents/lower", "content": "# Lower case is the same folder\n"}),
        ("edit_note", {"path": "Agents/Plan", "operation": "append", "content": "More."}),
        ("upload_attachment", {"path": "Agents/Plan", "filename": "d.png", "content_base64": png}),
        ("delete_attachment", {"path": "Agents/Plan", "filename": "d.png"}),
        ("rename_note", {"path": "Agents/New", "new_path": "Agents/Renamed"}),
        ("delete_note", {"path": "Agents/Renamed"}),
    ]
    for tool, args in inside:
        result = who.mcp(tool, args)
        assert not result.is_error, (who.kind, tool, error_text(result))
    head, notices = who.head(), who.notices()
    outside = [
        ("write_note", {"path": "Team/New", "content": "x"}, ["Team/New"]),
        ("write_note", {"path": "Agents", "content": "the folder's own page is outside"}, ["Agents"]),
        ("edit_note", {"path": "Team/Doc", "operation": "append", "content": "x"}, ["Team/Doc"]),
        ("delete_note", {"path": "Team/Doc"}, ["Team/Doc"]),
        ("upload_attachment", {"path": "Team/Doc", "filename": "d.png", "content_base64": png}, []),
        ("rename_note", {"path": "Agents/Plan", "new_path": "Team/Plan"}, ["Team/Plan"]),
        ("rename_note", {"path": "Team/Doc", "new_path": "Agents/Doc"}, ["Team/Doc"]),
    ]
    for tool, args, named in outside:
        result = who.mcp(tool, args)
        assert result.is_error, (who.kind, tool)
        refused(who, error_text(result), *named)
    assert (who.head(), who.notices()) == (head, notices)  # nothing written, nothing announced


def test_a_rename_whose_link_rewrites_reach_outside_is_refused_unless_links_stay(who: Limited) -> None:
    head = who.head()
    result = who.mcp("rename_note", {"path": "Agents/Plan", "new_path": "Agents/Plan 2"})
    assert result.is_error
    text = error_text(result)
    refused(who, text, "Team/Doc")
    assert "update_links=false" in text
    assert who.head() == head
    moved = who.mcp(
        "rename_note", {"path": "Agents/Plan", "new_path": "Agents/Plan 2", "update_links": False}
    )
    assert not moved.is_error, error_text(moved)
    assert payload(moved)["links_updated_in"] == []
    doc = who.mcp("read_note", {"path": "Team/Doc"})
    assert payload(doc)["content"] == FILES["Team/Doc.md"]  # untouched


# -- REST --------------------------------------------------------------------------------------------------
def test_rest_writes_inside_and_refuses_outside(who: Limited) -> None:
    assert who.rest("PUT", "/pages/Agents/Rest", json={"content": "# Rest\n"}).status_code == 201
    put = who.rest("PUT", "/attachments/Agents/Plan/r.txt", content=b"ok")
    assert put.status_code == 201, put.text
    head, notices = who.head(), who.notices()
    for method, path, kw in [
        ("PUT", "/pages/Team/Rest", {"json": {"content": "x"}}),
        ("PATCH", "/pages/Team/Doc", {"json": {"op": "append", "content": "x"}}),
        ("DELETE", "/pages/Team/Doc", {}),
        ("POST", "/pages/Agents/Plan/rename", {"json": {"new_path": "Team/Plan"}}),
        ("POST", "/pages/Team/Doc/rename", {"json": {"new_path": "Agents/Doc"}}),
        ("PUT", "/attachments/Team/Doc/r.txt", {"content": b"no"}),
    ]:
        answer = who.rest(method, path, **kw)
        assert answer.status_code == 403, (who.kind, method, path, answer.text)
        body = answer.json()
        assert body["error"] == "outside_write_paths"
        refused(who, body["message"])
    assert (who.head(), who.notices()) == (head, notices)
    assert who.rest("GET", "/pages/Team/Doc").status_code == 200  # reading stays per wiki


def test_a_limited_members_session_cookie_on_rest(stack: Stack) -> None:
    member = limited(stack, "member")
    with transaction(stack.world.db) as db:
        db.add(UserSession(id=f"s-{member.slug}", did=BOB, method="admin"))
    settings = stack.world.settings
    cookie = issue_session(
        stack.keys.current().key,
        issuer=settings.issuer,
        audience=settings.session_audience,
        did=BOB,
        sid=f"s-{member.slug}",
        ttl=600,
    )
    headers = {"Host": member.host, "Origin": f"http://{member.host}", "Cookie": f"{SESSION_COOKIE}={cookie}"}

    def put(page: str) -> httpx.Response:
        url = f"{stack.base}/api/v1/pages/{page}"
        return httpx.put(url, json={"content": "# x\n"}, headers=headers, timeout=30)

    assert put("Agents/By Cookie").status_code == 201
    head = member.head()
    outside = put("Team/By Cookie")
    assert outside.status_code == 403
    assert outside.json()["message"].startswith("you may write only under 'Agents/'")
    assert member.head() == head


# -- git push ----------------------------------------------------------------------------------------------
def _git_config(who: Limited) -> list[str]:
    return ["-c", f"http.curloptResolve={who.slug}.localhost:{who.stack.remote.port}:127.0.0.1"]


def _clone(who: Limited, tmp: Path) -> tuple[Path, Any]:
    remote = who.stack.remote
    url = f"http://{who.slug}.localhost:{remote.port}/repo.git"
    # OAuth access tokens are Bearer tokens; personal access tokens go as the Basic password, as git users do
    auth = (
        ["-c", f"http.extraHeader=Authorization: Bearer {who.token}"]
        if who.kind == "oauth"
        else [
            "-c",
            f"http.extraHeader=Authorization: Basic {base64.b64encode(f'x:{who.token}'.encode()).decode()}",
        ]
    )
    target = tmp / f"clone-{who.slug}"

    def git(*args: str, check: bool = True) -> Any:
        return remote.git(
            *_git_config(who), *auth, *args, cwd=target if args[0] != "clone" else None, check=check
        )

    git("clone", "-q", url, str(target))
    return target, git


def test_git_push_inside_lands_and_outside_or_straddling_is_refused_whole(
    who: Limited, tmp_path: Path
) -> None:
    clone, git = _clone(who, tmp_path)
    (clone / "Agents" / "Pushed.md").write_text("# Pushed\n")
    git("add", "-A")
    git("commit", "-qm", "inside")
    ok = git("push", "origin", "HEAD:main", check=False)
    assert ok.returncode == 0, ok.stderr
    head, notices = who.head(), who.notices()

    (clone / "Agents" / "Also.md").write_text("# Also\n")
    git("add", "-A")
    git("commit", "-qm", "inside again")
    (clone / "Team" / "Doc.md").write_text("# Doc\n\nchanged by the agent\n")
    git("add", "-A")
    git("commit", "-qm", "outside, in a second commit")
    straddling = git("push", "origin", "HEAD:main", check=False)
    assert straddling.returncode != 0
    assert "may write only under 'Agents/'" in straddling.stderr
    assert "'Team/Doc'" in straddling.stderr
    assert (who.head(), who.notices()) == (head, notices)  # refused whole: not even the inside commit

    # undone in a later commit: the net change is inside, but the history would still hold the outside edit
    (clone / "Team" / "Doc.md").write_text(FILES["Team/Doc.md"])
    git("add", "-A")
    git("commit", "-qm", "put it back")
    sneaky = git("push", "origin", "HEAD:main", check=False)
    assert sneaky.returncode != 0
    assert "'Team/Doc'" in sneaky.stderr
    assert who.head() == head


def test_git_pulling_others_edits_is_not_writing_them(who: Limited, tmp_path: Path) -> None:
    """The agent commits inside on an old base, pulls (a merge bringing the owner's edit outside) and pushes:
    the merge changes nothing against both parents, so it lands."""
    clone, git = _clone(who, tmp_path)
    owner = who.stack.world.actor(ALICE, who.slug)
    core = who.stack.world.core
    core.write(
        owner,
        "Team/Doc",
        "# Doc\n\nthe owner's edit\n",
        base_revision=core.read(owner, "Team/Doc")["revision"],
    )
    (clone / "Agents" / "Mine.md").write_text("# Mine\n")
    git("add", "-A")
    git("commit", "-qm", "mine")
    git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    pushed = git("push", "origin", "HEAD:main", check=False)
    assert pushed.returncode == 0, pushed.stderr
    repo = who.stack.world.repo(who.slug)
    assert (repo / "Team" / "Doc.md").read_text() == "# Doc\n\nthe owner's edit\n"
    assert (repo / "Agents" / "Mine.md").is_file()
