"""The embedder's contract as ``wiki.search`` relies on it: the contract double the other tests search through
refuses and accepts exactly what the real embedder does (same status, same error code, same field named)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from services.mcp.tests.support.servers import ContractEmbedder, running
from services.mcp.tests.support.world import World, make_world
from wikibot_embedder.config import EmbedderSettings
from wikibot_embedder.main import create_app

OK = {"wiki": "notes", "query": "welcome"}
PAYLOADS: list[Any] = [
    OK,
    {**OK, "mode": "fulltext", "k": 50, "max_chunks_per_page": 10, "paths": ["Home.md"]},
    {**OK, "paths": []},
    {**OK, "paths": None},
    {**OK, "query": ""},
    {**OK, "query": "   "},
    {**OK, "query": "x" * 2001},
    {**OK, "query": 7},
    {**OK, "mode": "fuzzy"},
    {**OK, "k": 0},
    {**OK, "k": 51},
    {**OK, "k": "5"},
    {**OK, "k": 5.0},
    {**OK, "k": True},
    {**OK, "max_chunks_per_page": 0},
    {**OK, "max_chunks_per_page": 11},
    {**OK, "paths": "Home.md"},
    {**OK, "paths": [""]},
    {**OK, "paths": [1]},
    {**OK, "paths": ["x" * 4097]},
    {**OK, "extra": 1},
    {"query": "x"},
    {"wiki": "notes"},
    {**OK, "wiki": ""},
    {**OK, "wiki": 1},
    {**OK, "wiki": "missing"},
    {**OK, "wiki": "Bad Slug"},
    {**OK, "wiki": "missing", "query": "   "},
    [],
    "a string",
]


@pytest.fixture
def world(tmp_path: Path, redis_url: str, redis_client: redis.Redis) -> World:
    return make_world(tmp_path, redis_url)


@pytest.fixture
def real(world: World, redis_url: str) -> Iterator[TestClient]:
    assert world.settings.database_url
    settings = EmbedderSettings(
        data_dir=world.settings.data_dir,
        redis_url=redis_url,
        database_url=world.settings.database_url,
        worker=False,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _outcome(response: httpx.Response) -> tuple[int, str | None, str | None]:
    body = response.json()
    if response.status_code == 200:
        return 200, None, None
    message = str(body["message"])
    return response.status_code, body["error"], message.split(":")[0] if ":" in message else message


def test_the_double_is_exactly_as_strict_as_the_embedder(
    world: World, real: TestClient, tmp_path: Path
) -> None:
    double = ContractEmbedder(tmp_path / "wikis")
    with running(double) as url, httpx.Client(base_url=url) as http:
        for payload in PAYLOADS:
            ours, theirs = http.post("/search", json=payload), real.post("/search", json=payload)
            assert _outcome(ours) == _outcome(theirs), (payload, ours.text, theirs.text)
        for raw in (b"{not json", b""):
            headers = {"content-type": "application/json"}
            ours, theirs = (
                http.post("/search", content=raw, headers=headers),
                real.post("/search", content=raw, headers=headers),
            )
            assert (ours.status_code, ours.json()["error"]) == (theirs.status_code, theirs.json()["error"])
        for wiki in ("notes", "missing"):
            ours, theirs = http.get(f"/status/{wiki}"), real.get(f"/status/{wiki}")
            assert ours.status_code == theirs.status_code
            assert ours.json().keys() == theirs.json().keys()
