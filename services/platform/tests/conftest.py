"""Fixtures for the platform's sign-in tests: a private CA, the reference PDS, and platform apps to sign in to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.pds import ReferencePds, reference_pds
from tests.support.platform_app import CLIENT_HOST
from tests.support.tls import TestCA


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def pds(test_ca: TestCA) -> Iterator[ReferencePds]:
    with reference_pds(hosts={CLIENT_HOST: "127.0.0.1"}, ca_file=test_ca.cafile) as server:
        yield server
