"""The internal HTTP API as mcp calls it: contract shapes, precise errors, tenants kept apart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from services.embedder.tests.support import Wikis
from wikibot_embedder.config import EmbedderSettings
from wikibot_embedder.indexer import Indexer
from wikibot_embedder.main import create_app
from wikibot_shared import queue

SECRET = "The vault combination for project nightingale is 4417."


@pytest.fixture
def client(settings: EmbedderSettings, wikis: Wikis) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_search_contract(client: TestClient, wikis: Wikis, indexer: Indexer) -> None:
    wikis.create("notes", {"Setup Guide.md": "# Setup Guide\n\n## Linux\n\nRun the installer with sudo.\n"})
    head = wikis.git("notes", "rev-parse", "HEAD")
    indexer.sync("notes")
    response = client.post("/search", json={"wiki": "notes", "query": "installer linux", "mode": "hybrid"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["wiki"], body["mode"], body["commit"]) == ("notes", "hybrid", head)
    (page,) = body["results"]
    assert set(page) == {"path", "page", "title", "score", "chunks"}
    assert (page["path"], page["page"], page["title"]) == ("Setup Guide.md", "Setup Guide", "Setup Guide")
    (chunk,) = page["chunks"]
    assert set(chunk) == {"section", "text", "snippet", "score", "position"}
    assert chunk["section"] == "Setup Guide > Linux"
    assert chunk["text"] == "Run the installer with sudo."
    assert chunk["position"] == 0
    assert "**installer**" in chunk["snippet"]  # full-text match highlighted


def test_k_and_max_chunks_per_page_bound_the_results(
    client: TestClient, wikis: Wikis, indexer: Indexer
) -> None:
    sections = "\n\n".join(f"## Part {i}\n\n" + " ".join(["otters swim and play."] * 30) for i in range(6))
    wikis.create("notes", {f"Otters {i}.md": sections for i in range(4)})
    indexer.sync("notes")
    body = client.post(
        "/search", json={"wiki": "notes", "query": "otters", "k": 2, "max_chunks_per_page": 2}
    ).json()
    assert len(body["results"]) == 2
    assert all(1 <= len(r["chunks"]) <= 2 for r in body["results"])
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_paths_narrow_a_search_to_those_pages(client: TestClient, wikis: Wikis, indexer: Indexer) -> None:
    wikis.create(
        "notes",
        {
            "Ops/Deploy.md": "# Deploy\n\nDeploy with the rollout script.\n",
            "Dev/Deploy.md": "# Deploy\n\nDeploy locally with the dev script.\n",
        },
    )
    indexer.sync("notes")
    for mode in ("semantic", "fulltext", "hybrid"):
        ask = {"wiki": "notes", "query": "deploy script", "mode": mode}
        assert len(client.post("/search", json=ask).json()["results"]) == 2
        only = client.post("/search", json={**ask, "paths": ["Ops/Deploy.md", "Gone.md"]}).json()
        assert [r["path"] for r in only["results"]] == ["Ops/Deploy.md"]
        none = client.post("/search", json={**ask, "paths": []}).json()
        assert none["results"] == []
        assert none["commit"] == wikis.git("notes", "rev-parse", "HEAD")


def test_not_indexed_yet_answers_empty_and_asks_the_worker(
    client: TestClient, wikis: Wikis, redis_client: redis.Redis
) -> None:
    wikis.create("fresh")
    for _ in range(3):
        body = client.post("/search", json={"wiki": "fresh", "query": "anything"}).json()
        assert body == {"wiki": "fresh", "mode": "hybrid", "commit": None, "results": []}
    notices = [fields for _id, fields in redis_client.xrange(queue.STREAM)]
    assert notices == [{"wiki": "fresh", "source": "reindex", "at": notices[0]["at"]}]  # once, not per query


def test_readiness_names_the_model(client: TestClient) -> None:
    body = client.get("/readyz").json()
    assert body["status"] == "ok"
    assert body["model"] == "all-MiniLM-L6-v2/onnx-fp32-v1/seq256/chunking2"
    assert body["worker"] == "off"


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"wiki": "notes", "query": ""}, "query"),
        ({"wiki": "notes", "query": "   "}, "query"),
        ({"wiki": "notes", "query": "x", "mode": "fuzzy"}, "mode"),
        ({"wiki": "notes", "query": "x", "k": 0}, "k"),
        ({"wiki": "notes", "query": "x", "k": 51}, "k"),
        ({"wiki": "notes", "query": "x", "max_chunks_per_page": 0}, "max_chunks_per_page"),
        ({"wiki": "notes", "query": "x", "extra": 1}, "extra"),
        ({"query": "x"}, "wiki"),
        ({"wiki": "notes", "query": "x" * 2001}, "query"),
        ({"wiki": "notes", "query": "x", "k": "5"}, "k"),  # strict: JSON types as written
        ({"wiki": "notes", "query": "x", "k": 5.0}, "k"),
        ({"wiki": "notes", "query": "x", "k": True}, "k"),
        ({"wiki": "notes", "query": "x", "paths": "A.md"}, "paths"),
        ({"wiki": "notes", "query": "x", "paths": [""]}, "paths.0"),
        ({"wiki": "notes", "query": "x", "paths": ["A.md", 2]}, "paths.1"),
        ({"wiki": "notes", "query": "x", "paths": ["x" * 4097]}, "paths.0"),
        ({"wiki": "notes", "query": "x", "paths": ["A.md"] * 100_001}, "paths"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    client: TestClient, wikis: Wikis, payload: dict[str, object], where: str
) -> None:
    wikis.create("notes")
    response = client.post("/search", json=payload)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_request"
    assert body["message"].startswith(where)


def test_malformed_json_is_a_400(client: TestClient) -> None:
    response = client.post("/search", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("wiki", ["missing", "Bad Slug", "..etc", "x", "%2e%2e"])
def test_unknown_wiki_is_a_404(client: TestClient, wiki: str) -> None:
    for response in (
        client.post("/search", json={"wiki": wiki, "query": "x"}),
        client.get(f"/status/{wiki}"),
        client.post(f"/reindex/{wiki}"),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "unknown_wiki"


def test_fts_syntax_in_a_query_is_just_text(client: TestClient, wikis: Wikis, indexer: Indexer) -> None:
    wikis.create("notes", {"A.md": 'The "quoted" NEAR(thing) AND stuff* -- col:umn'})
    indexer.sync("notes")
    for query in [
        '"unbalanced',
        "NEAR(",
        "col:umn",
        "AND OR NOT",
        "*",
        "^",
        "(((",
        "'; DROP TABLE chunks; --",
    ]:
        response = client.post("/search", json={"wiki": "notes", "query": query, "mode": "fulltext"})
        assert response.status_code == 200, (query, response.text)


def test_a_query_never_returns_another_wikis_chunks(
    client: TestClient, wikis: Wikis, indexer: Indexer
) -> None:
    wikis.create("alice", {"Vault.md": SECRET})
    wikis.create("bob", {"Lunch.md": "Sandwiches on Friday."})
    indexer.sync("alice")
    indexer.sync("bob")
    for mode in ("semantic", "fulltext", "hybrid"):
        body = client.post(
            "/search", json={"wiki": "bob", "query": "vault combination nightingale", "mode": mode}
        )
        texts = [c["text"] for r in body.json()["results"] for c in r["chunks"]]
        assert SECRET not in texts
        assert all(r["path"] == "Lunch.md" for r in body.json()["results"])
        mine = client.post(
            "/search", json={"wiki": "alice", "query": "vault combination", "mode": mode}
        ).json()
        assert mine["results"][0]["chunks"][0]["text"] == SECRET


def test_status_reports_lag_until_indexed(client: TestClient, wikis: Wikis, indexer: Indexer) -> None:
    first = wikis.create("notes")
    indexer.sync("notes")
    wikis.commit("notes", {"A.md": "one"})
    head = wikis.commit("notes", {"B.md": "two"})
    body = client.get("/status/notes").json()
    assert body["indexed_commit"] == first
    assert body["head_commit"] == head
    assert body["lag_commits"] == 2
    assert body["chunks"] == 1
    indexer.sync("notes")
    body = client.get("/status/notes").json()
    assert (body["indexed_commit"], body["lag_commits"], body["chunks"]) == (head, 0, 3)


def test_reindex_queues_a_notice(client: TestClient, wikis: Wikis, redis_client: redis.Redis) -> None:
    wikis.create("notes")
    response = client.post("/reindex/notes?full=true")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    entries = redis_client.xrange(queue.STREAM)
    assert entries[-1][1]["wiki"] == "notes"
    assert entries[-1][1]["source"] == "reindex"
    assert redis_client.get("wikibot:embedder:full:notes") == "1"


def test_worker_thread_indexes_on_notice(
    settings: EmbedderSettings, wikis: Wikis, redis_client: redis.Redis
) -> None:
    """The app as deployed: the worker runs inside the API process and answers notices."""
    import time

    settings.worker = True
    wikis.create("notes")
    with TestClient(create_app(settings)) as running:
        head = wikis.commit("notes", {"Kites.md": "Flying kites on a windy beach."})
        queue.notify_change(redis_client, "notes", source="mcp", commit=head)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            body = running.post("/search", json={"wiki": "notes", "query": "kites beach"}).json()
            if body["commit"] == head:
                break
            time.sleep(0.05)
        assert body["commit"] == head
        assert body["results"][0]["path"] == "Kites.md"
