"""The keys a verifier checks signatures with (``verify.jwks``): the remote JWKS cache and its refetch limit."""

from pathlib import Path

import httpx

from wikibot_shared.keys import KeyStore
from wikibot_shared.verify import RemoteJWKS


def test_remote_jwks_refetches_once_per_interval(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.ensure()
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(200, json=store.jwks())

    remote = RemoteJWKS(
        "http://platform/.well-known/jwks.json",
        httpx.Client(transport=httpx.MockTransport(handler)),
        min_interval=60,
    )
    assert remote.get(store.current().kid) is not None
    assert remote.get("unknown") is None
    assert (
        remote.refresh() is False
    )  # too soon: an attacker's unknown kids cannot make us hammer the platform
    assert len(calls) == 1
    broken = RemoteJWKS(
        "http://platform/jwks",
        httpx.Client(transport=httpx.MockTransport(lambda _r: httpx.Response(500))),
        min_interval=0,
    )
    assert broken.get("anything") is None
