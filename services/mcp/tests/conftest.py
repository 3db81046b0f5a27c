"""Fixtures for the mcp tests, made from the helpers in ``support``: ``world`` (the wiki core over a real little
world, per test) and ``served`` (the app under uvicorn over one, per test module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.mcp.tests.support.served import Served, serve
from services.mcp.tests.support.world import World, make_world


@pytest.fixture
def world(tmp_path: Path, redis_url: str, redis_client: redis.Redis) -> World:
    return make_world(tmp_path, redis_url)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("mcp"), redis_url) as running:
        yield running
