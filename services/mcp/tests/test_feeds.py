"""Following changes over REST on the real app under uvicorn: the resumable cursor of ``/api/v1/changes``, the
Atom feed (with a read-only token in its URL for a private wiki) and the Server-Sent Events stream."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from services.mcp.tests.support.servers import uvicorn_thread
from services.mcp.tests.support.world import ALICE, World, make_world
from wikibot_mcp.main import create_app
from wikibot_shared import git
from wikibot_shared.db import transaction
from wikibot_shared.models import AccessToken
from wikibot_shared.storage import Author

HOST = "notes.localhost:8080"
A = "{http://www.w3.org/2005/Atom}"


class Feeds:
    def __init__(self, world: World, base: str) -> None:
        self.world, self.base = world, base

    def get(self, path: str, token: str | None = None, host: str = HOST, **kw: Any) -> httpx.Response:
        headers = {"Host": host, **({"Authorization": f"Bearer {token}"} if token else {})}
        return httpx.get(f"{self.base}/api/v1{path}", headers=headers, timeout=30, **kw)

    def write(self, page: str) -> str:
        result = self.world.core.write(self.world.actor(ALICE), page, f"# {page}\n")
        return str(result["commit"])


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Feeds]:
    world = make_world(tmp_path_factory.mktemp("feeds"), redis_url)
    world.add_wiki("open-wiki", public=True)
    with uvicorn_thread(create_app(world.settings)) as base:
        yield Feeds(world, base)


def test_the_cursor_gives_every_change_once_oldest_first(feeds: Feeds) -> None:
    token = feeds.world.pat(ALICE)
    start = feeds.get("/changes", token).json()
    assert start["next"] == git.run(feeds.world.repo(), "rev-parse", "HEAD").decode().strip()
    made = [feeds.write(f"Follow {i}") for i in range(3)]
    page = feeds.get("/changes", token, params={"after": start["next"], "limit": 2}).json()
    assert [c["commit"] for c in page["changes"]] == made[:2]
    assert page["changes"][0]["pages"] == [{"path": "Follow 0", "change": "created"}]
    rest = feeds.get("/changes", token, params={"after": page["next"]}).json()
    assert [c["commit"] for c in rest["changes"]] == made[2:]
    idle = feeds.get("/changes", token, params={"after": rest["next"]}).json()
    assert idle == {"changes": [], "next": made[2]}
    bad = feeds.get("/changes", token, params={"after": "not-a-commit"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "unknown_cursor"
    # history rewritten past the cursor (a force push): said, not guessed
    repo = feeds.world.repo()
    git.run(repo, "reset", "-q", "--hard", made[0])
    git.run(
        repo, "commit", "-q", "--allow-empty", "-m", "rewritten", env=Author.for_did(ALICE, "alice.test").env
    )
    gone = feeds.get("/changes", token, params={"after": made[2]})
    assert gone.status_code == 409
    assert gone.json()["error"] == "cursor_gone"
    assert "start again without 'after'" in gone.json()["message"]


def _check_atom(body: bytes) -> ET.Element:
    """RFC 4287's requirements: the feed has id, title, updated and an author (here, feed-level); every entry id,
    title, updated and an alternate link; times are RFC 3339."""
    feed = ET.fromstring(body)  # noqa: S314 - our own server's answer
    assert feed.tag == f"{A}feed"
    for tag in ("id", "title", "updated", "author"):
        assert feed.find(f"{A}{tag}") is not None, tag
    assert feed.find(f"{A}link[@rel='self']") is not None
    for entry in feed.findall(f"{A}entry"):
        for tag in ("id", "title", "updated"):
            assert (entry.findtext(f"{A}{tag}") or "").strip(), tag
        assert entry.find(f"{A}link[@rel='alternate']") is not None
        datetime.strptime(entry.findtext(f"{A}updated") or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return feed


def test_the_atom_feed_with_a_read_only_token_in_its_url(feeds: Feeds) -> None:
    commit = feeds.write("Atom Page")
    assert feeds.get("/changes.atom").status_code == 401  # a private wiki
    reader = feeds.world.pat(ALICE, scopes="wiki:read")
    answer = feeds.get("/changes.atom", params={"token": reader})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = _check_atom(answer.content)
    first = feed.find(f"{A}entry")
    assert first is not None
    assert first.findtext(f"{A}id") == f"http://notes.localhost:8080/-/commit/{commit}"
    assert "Atom Page (created)" in (first.findtext(f"{A}summary") or "")
    writer = feeds.world.pat(ALICE)
    refused = feeds.get("/changes.atom", params={"token": writer})
    assert refused.status_code == 400
    assert refused.json()["error"] == "token_can_write"
    assert feeds.get("/changes.atom", params={"token": "x" + reader}).status_code == 400
    with transaction(feeds.world.db) as db:
        db.execute(
            update(AccessToken)
            .values(revoked_at=datetime.now(UTC))
            .where(AccessToken.wiki_slug == "notes", AccessToken.scopes == "wiki:read")
        )
    revoked = feeds.get("/changes.atom", params={"token": reader})
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["message"]
    public = feeds.get("/changes.atom", host="open-wiki.localhost:8080")
    assert public.status_code == 200
    _check_atom(public.content)


def test_the_stream_sends_each_commit_and_resumes_from_its_id(feeds: Feeds) -> None:
    token = feeds.world.pat(ALICE)
    headers = {"Host": HOST, "Authorization": f"Bearer {token}"}
    seen: list[tuple[str, str]] = []
    with httpx.stream("GET", f"{feeds.base}/api/v1/changes/stream", headers=headers, timeout=30) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == "retry: 2000"
        writer = threading.Thread(target=lambda: [feeds.write(f"Live {i}") for i in range(2)])
        writer.start()
        event: dict[str, str] = {}
        for line in lines:
            if not line:
                if event.get("event") == "change":
                    seen.append((event["id"], event["data"]))
                event = {}
                if len(seen) == 2:
                    break
                continue
            name, _, value = line.partition(": ")
            event[name] = value
        writer.join()
    assert [s[0] for s in seen] == [
        c["commit"] for c in reversed(feeds.get("/changes", token, params={"limit": 2}).json()["changes"])
    ]
    assert '"path":"Live 0"' in seen[0][1]
    later = feeds.write("After the stream")
    resumed: list[str] = []
    with httpx.stream(
        "GET",
        f"{feeds.base}/api/v1/changes/stream",
        headers={**headers, "Last-Event-ID": seen[-1][0]},
        timeout=30,
    ) as stream:
        for line in stream.iter_lines():
            if line.startswith("id: "):
                resumed.append(line[4:])
                break
    assert resumed == [later]
    bad = feeds.get("/changes/stream", token, params={"after": "0" * 40})
    assert bad.status_code == 400
