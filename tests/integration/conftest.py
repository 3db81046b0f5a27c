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


# Ordered steps (``@pytest.mark.incremental`` on a class): once a step fails, the later ones are reported as
# xfail naming it, instead of failing for a reason that is not theirs.
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "incremental: steps of one story; a failed step skips the rest")


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    if "incremental" in item.keywords and call.excinfo is not None and item.parent is not None:
        item.parent.stash[_FAILED_STEP] = item.name


def pytest_runtest_setup(item: pytest.Item) -> None:
    if "incremental" in item.keywords and item.parent is not None:
        failed = item.parent.stash.get(_FAILED_STEP, None)
        if failed is not None:
            pytest.xfail(f"an earlier step failed: {failed}")


_FAILED_STEP = pytest.StashKey[str]()
