"""Questions about a wiki on real repositories (``wiki.queries``): listing with filters and paging, links and
orphans, and search — its filters and its freshness (``min_commit``) over the embedder's contract double, and
a write searched at once against the real embedder."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from services.mcp.tests.support.servers import ContractEmbedder, running
from services.mcp.tests.support.world import ALICE, World, make_world
from tests.support.embedder_app import embedder_server
from tests.support.servers import free_port
from wikibot_mcp.wiki import gitrepo
from wikibot_shared import git, queue
from wikibot_shared.errors import InputError
from wikibot_shared.locks import repo_lock
from wikibot_shared.storage import Author


def test_list_filters_and_paging(world: World) -> None:
    a = world.actor(ALICE)
    for i in range(7):
        world.core.write(
            a, f"Team/P{i}", f"---\ntags: [{'even' if i % 2 == 0 else 'odd'}]\ncategories: ops\n---\n# P{i}\n"
        )
    everything = world.core.list(a)
    assert everything["total"] == 8
    team = world.core.list(a, prefix="team/", limit=3)
    assert [p["path"] for p in team["pages"]] == ["Team/P0", "Team/P1", "Team/P2"]
    second = world.core.list(a, prefix="Team/", limit=3, cursor=team["next_cursor"])
    assert [p["path"] for p in second["pages"]] == ["Team/P3", "Team/P4", "Team/P5"]
    assert world.core.list(a, tag="even")["total"] == 4
    assert world.core.list(a, category="OPS")["total"] == 7
    assert world.core.list(a, updated_since="2999-01-01")["total"] == 0
    assert world.core.list(a, updated_since="2000-01-01T00:00:00Z")["total"] == 8
    with pytest.raises(InputError):
        world.core.list(a, updated_since="yesterday")
    with pytest.raises(InputError):
        world.core.list(a, limit=0)


def test_links_and_orphans(world: World) -> None:
    a = world.actor(ALICE)
    world.core.write(a, "Setup Guide", "[[Missing Page]] [[Home]]\n")
    world.core.write(a, "Lonely", "nobody links here\n")
    links = world.core.links(a, "Setup Guide")
    assert links == {
        "path": "Setup Guide",
        "links_to": ["Home"],
        "missing": ["Missing Page"],
        "linked_from": ["Home"],
    }
    assert world.core.orphans(a)["orphans"] == ["Lonely"]


# -- search: filters and freshness, over the embedder's contract double (and the real embedder) -----------

WAIT = 1.0  # MCP_SEARCH_FRESHNESS_WAIT for these tests


@pytest.fixture
def embedder(tmp_path: Path) -> Iterator[ContractEmbedder]:
    double = ContractEmbedder(tmp_path / "wikis")
    with running(double):
        yield double


def searching_world(tmp_path: Path, redis_url: str, embedder: ContractEmbedder, **settings: object) -> World:
    return make_world(
        tmp_path,
        redis_url,
        embedder_internal_url=embedder.url,
        search_freshness_wait=WAIT,
        **settings,
    )


@pytest.fixture
def sworld(tmp_path: Path, redis_url: str, redis_client: redis.Redis, embedder: ContractEmbedder) -> World:
    return searching_world(tmp_path, redis_url, embedder)


def quiet_commit(world: World, files: dict[str, str], *, when: str | None = None) -> str:
    """A commit no change notice announces (as a push the embedder missed), dated ``when`` if given."""
    repo = world.repo()
    env = dict(Author.for_did(ALICE, "alice.test").env)
    if when:
        env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    with repo_lock(world.settings.wikis_dir, "notes"):
        for path, text in files.items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
        git.run(repo, "add", "--", *files)
        git.run(repo, "commit", "-q", "-m", "quiet change", env=env)
    head = gitrepo.read_head(repo)
    assert head
    return head


def paths_of(result: dict[str, Any]) -> set[str]:
    return {r["path"] for r in result["results"]}


def sent_paths(embedder: ContractEmbedder) -> Any:
    searches = [body for method, path, body in embedder.requests if method == "POST" and path == "/search"]
    return searches[-1].get("paths", "absent")


def test_search_filters_narrow_the_results(sworld: World, embedder: ContractEmbedder) -> None:
    a = sworld.actor(ALICE)
    sworld.core.write(a, "Ops/Deploy", "---\ntags: [ops]\ncategories: [runbook]\n---\nDeploy the widget.\n")
    sworld.core.write(a, "Dev/Deploy", "---\ntags: [dev]\n---\nDeploy the widget locally.\n")
    sworld.core.write(a, "Dev/Notes", "---\ncategories: [Runbook]\n---\nHow we deploy.\n")
    quiet_commit(sworld, {"Ops/Old.md": "Deploy the widget, the old way.\n"}, when="2001-02-03T04:05:06Z")
    search = functools.partial(sworld.core.search, a, "deploy", mode="fulltext")
    assert paths_of(search()) == {"Ops/Deploy", "Dev/Deploy", "Dev/Notes", "Ops/Old"}
    assert sent_paths(embedder) == "absent"  # no filter, no page list
    assert paths_of(search(prefix="ops/")) == {"Ops/Deploy", "Ops/Old"}
    assert sent_paths(embedder) == ["Ops/Deploy.md", "Ops/Old.md"]
    assert paths_of(search(prefix="Ops")) == {"Ops/Deploy", "Ops/Old"}
    assert paths_of(search(tag="OPS")) == {"Ops/Deploy"}
    assert paths_of(search(category="runbook")) == {"Ops/Deploy", "Dev/Notes"}
    assert paths_of(search(updated_since="2020-01-01")) == {"Ops/Deploy", "Dev/Deploy", "Dev/Notes"}
    assert paths_of(search(updated_since="2001-02-03T04:05:06Z")) == {
        "Ops/Deploy",
        "Dev/Deploy",
        "Dev/Notes",
        "Ops/Old",
    }
    assert paths_of(search(prefix="Ops/", updated_since="2020-01-01")) == {"Ops/Deploy"}
    assert paths_of(search(prefix="Dev/", category="runbook")) == {"Dev/Notes"}
    assert paths_of(search(tag="dev", category="runbook")) == set()
    nothing = search(tag="no-such-tag")
    assert nothing["results"] == []
    assert sent_paths(embedder) == []
    assert nothing["fresh"] is True
    assert nothing["indexed_commit"] == gitrepo.read_head(sworld.repo())
    # list_notes means the same by the same filters
    listed = sworld.core.list(a, prefix="Ops/", updated_since="2020-01-01")
    assert [p["path"] for p in listed["pages"]] == ["Ops/Deploy"]


def test_filters_are_applied_before_the_k_best_are_taken(sworld: World) -> None:
    a = sworld.actor(ALICE)
    for i in range(20):  # match more words than the tagged pages: without the filter they would fill k
        sworld.core.write(a, f"Bulk/Loud {i:02}", "alpha beta gamma widget\n")
    for i in range(12):
        sworld.core.write(a, f"Bulk/Kept {i:02}", "---\ntags: [keep]\n---\nwidget\n")
    unfiltered = sworld.core.search(a, "alpha beta gamma widget", mode="hybrid", k=10)
    assert all(p.startswith("Bulk/Loud") for p in paths_of(unfiltered))
    kept = sworld.core.search(a, "alpha beta gamma widget", mode="hybrid", k=10, tag="keep")
    assert len(kept["results"]) == 10
    assert all(p.startswith("Bulk/Kept") for p in paths_of(kept))


def test_a_search_reports_an_index_behind_the_wiki_without_waiting(
    sworld: World, embedder: ContractEmbedder
) -> None:
    a = sworld.actor(ALICE)
    held = embedder.hold("notes")
    written = sworld.core.write(a, "Fresh", "kiwifruit\n")
    started = time.monotonic()
    stale = sworld.core.search(a, "kiwifruit")
    assert time.monotonic() - started < WAIT / 2
    assert stale["results"] == []
    assert (stale["indexed_commit"], stale["min_commit"], stale["fresh"]) == (held, None, False)
    assert stale["behind_commits"] == 1
    assert f"min_commit={written['commit'][:12]}" in stale["message"]
    embedder.release("notes")
    fresh = sworld.core.search(a, "kiwifruit")
    assert paths_of(fresh) == {"Fresh"}
    assert (fresh["fresh"], fresh["behind_commits"], fresh["message"]) == (True, 0, None)


def test_min_commit_waits_until_the_index_holds_it(
    sworld: World, embedder: ContractEmbedder, redis_client: redis.Redis
) -> None:
    a = sworld.actor(ALICE)
    embedder.hold("notes")
    written = sworld.core.write(a, "Fresh", "kiwifruit\n")
    catch_up = threading.Timer(0.3, embedder.release, args=("notes",))
    started = time.monotonic()
    catch_up.start()
    found = sworld.core.search(a, "kiwifruit", min_commit=written["commit"][:10])
    assert 0.25 <= time.monotonic() - started < WAIT
    assert paths_of(found) == {"Fresh"}
    assert found["min_commit"] == found["indexed_commit"] == written["commit"]
    assert (found["fresh"], found["behind_commits"], found["message"]) == (True, 0, None)
    kicks = [f for _id, f in redis_client.xrange(queue.STREAM) if f["source"] == "search"]
    assert [(k["wiki"], k["commit"]) for k in kicks] == [("notes", written["commit"])]


def test_a_min_commit_that_never_arrives_answers_within_the_wait(
    sworld: World, embedder: ContractEmbedder, redis_client: redis.Redis
) -> None:
    a = sworld.actor(ALICE)
    held = embedder.hold("notes")
    sworld.core.write(a, "One", "kiwifruit one\n")
    written = sworld.core.write(a, "Two", "kiwifruit two\n")
    for _ in range(2):
        started = time.monotonic()
        late = sworld.core.search(a, "kiwifruit", min_commit=written["commit"])
        assert WAIT <= time.monotonic() - started < WAIT + 1.0
        assert late["results"] == []
        assert (late["indexed_commit"], late["fresh"], late["behind_commits"]) == (held, False, 2)
        assert late["min_commit"] == written["commit"]
        assert "still catching up: 2 commits behind" in late["message"]
        assert "Retry the same search" in late["message"]
    kicks = [f for _id, f in redis_client.xrange(queue.STREAM) if f["source"] == "search"]
    assert len(kicks) == 1  # one "index now" per wiki every few seconds, however many wait


def test_only_a_few_searches_wait_at_once(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, embedder: ContractEmbedder
) -> None:
    world = searching_world(tmp_path, redis_url, embedder, search_freshness_waiters=1)
    a = world.actor(ALICE)
    embedder.hold("notes")
    written = world.core.write(a, "Fresh", "kiwifruit\n")
    waiting: list[dict[str, Any]] = []
    first = threading.Thread(
        target=lambda: waiting.append(world.core.search(a, "kiwifruit", min_commit=written["commit"]))
    )
    first.start()
    deadline = time.monotonic() + WAIT
    while not any(m == "GET" for m, _p, _b in embedder.requests) and time.monotonic() < deadline:
        time.sleep(0.01)  # until the first search polls the index's status
    started = time.monotonic()
    crowded = world.core.search(a, "kiwifruit", min_commit=written["commit"])
    assert time.monotonic() - started < WAIT / 2
    first.join()
    assert crowded["fresh"] is False
    assert "did not" in crowded["message"]
    assert waiting[0]["fresh"] is False
    assert "waited" in waiting[0]["message"]


def test_search_inputs_are_checked_precisely(sworld: World, embedder: ContractEmbedder) -> None:
    a = sworld.actor(ALICE)
    repo = sworld.repo()
    tree = git.run(repo, "rev-parse", "HEAD^{tree}").decode().strip()
    elsewhere = git.run(
        repo, "commit-tree", tree, "-m", "never on main", env=Author.for_did(ALICE, "alice.test").env
    )
    elsewhere_id = elsewhere.decode().strip()
    embedder.requests.clear()
    for kwargs, error, words in [
        ({"updated_since": "yesterday"}, "invalid_time", "updated_since 'yesterday' is not a time"),
        ({"updated_since": "2025-13-01"}, "invalid_time", "updated_since '2025-13-01'"),
        ({"prefix": "../etc"}, "invalid_path", "'.' or '..'"),
        ({"prefix": "/Team"}, "invalid_path", "relative to the wiki"),
        ({"prefix": "/"}, "invalid_path", "leave prefix out"),
        ({"prefix": "a?b"}, "invalid_path", "cannot contain '?'"),
        ({"tag": "a\x00b"}, "invalid_filter", "tag 'a"),
        ({"category": "x" * 201}, "invalid_filter", "at most 200 characters"),
        ({"min_commit": "HEAD~1"}, "unknown_commit", "min_commit 'HEAD~1' is not a commit id"),
        ({"min_commit": "0" * 40}, "unknown_commit", f"min_commit '{'0' * 40}' is not a commit of this wiki"),
        ({"min_commit": elsewhere_id}, "unknown_commit", "no longer in the wiki's history"),
    ]:
        with pytest.raises(InputError) as caught:
            sworld.core.search(a, "anything", **kwargs)
        assert caught.value.code == error, kwargs
        assert words in caught.value.message, (kwargs, caught.value.message)
    assert embedder.requests == []  # refused before anything was asked


def test_search_right_after_each_write_finds_it_with_the_real_embedder(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    """50 writes, each searched at once with its commit as min_commit, while the real embedder's worker indexes
    in the background from the writers' change notices; then a commit no notice announced."""
    port = free_port()
    world = make_world(tmp_path, redis_url, embedder_internal_url=f"http://127.0.0.1:{port}")
    assert world.settings.database_url
    a = world.actor(ALICE)
    with (
        embedder_server(world.settings.data_dir, redis_url, world.settings.database_url, port=port),
        world.core.search_client.client,  # its keep-alive connection, closed before the server goes
    ):
        for i in range(50):
            written = world.core.write(a, f"Fresh/Note {i}", f"# Note {i}\n\nThe codeword is zq{i}xv.\n")
            mode = ("fulltext", "hybrid", "semantic")[i % 3]
            query = f"zq{i}xv" if mode != "semantic" else f"Note {i} codeword zq{i}xv"
            found = world.core.search(a, query, mode=mode, k=3, min_commit=written["commit"])
            assert found["fresh"] is True, (i, found["message"])
            assert found["results"][0]["path"] == f"Fresh/Note {i}" or mode == "semantic", (i, found)
            assert f"Fresh/Note {i}" in paths_of(found), (i, mode)
        # Pushed past the notices (the sweep is an hour away): the waiting search asks the embedder itself.
        quiet = quiet_commit(world, {"Quiet.md": "A page about the mountain xylophone.\n"})
        found = world.core.search(a, "xylophone", mode="fulltext", min_commit=quiet)
        assert (found["fresh"], found["indexed_commit"]) == (True, quiet)
        assert paths_of(found) == {"Quiet"}
        narrowed = world.core.search(a, "codeword", mode="hybrid", k=5, prefix="Fresh/", tag="none")
        assert narrowed["results"] == []
        some = world.core.search(a, "codeword", mode="fulltext", k=5, prefix="Fresh/Note 1")
        assert len(some["results"]) == 5
        assert all(p.startswith("Fresh/Note 1") for p in paths_of(some))
