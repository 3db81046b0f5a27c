"""Integration tests: the whole compose stack, built from this checkout, through Caddy."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.integration.stack import Stack, running_stack

# testcontainers on machines without the reaper image and with /.dockerenv (OFFLINE-DOCKER.md §6).
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with running_stack() as running:
        yield running
