"""The platform's public keys as the verifier sees them: read from the data volume (platform) or fetched from
its JWKS over the internal network (the other services), cached, reloaded on an unknown ``kid`` at most every
``min_interval``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol

import httpx
from joserfc.jwk import ECKey

from ..keys import KeyStore

log = logging.getLogger("wikibot.verify")


class KeyProvider(Protocol):
    def get(self, kid: str) -> ECKey | None: ...

    def refresh(self) -> bool:
        """Reload the keys; False if a reload happened too recently to try again."""
        ...

    @property
    def failing(self) -> bool:
        """The last reload could not read the keys (the platform not answering): an unknown ``kid`` may be a
        good one, so a token signed with it is neither accepted nor refused (``Verifier``: 503)."""
        ...


def _import_public(jwks: Mapping[str, Any]) -> dict[str, ECKey]:
    keys: dict[str, ECKey] = {}
    for jwk in jwks.get("keys", []):
        if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or "d" in jwk:
            continue
        kid = jwk.get("kid")
        if isinstance(kid, str) and kid:
            keys[kid] = ECKey.import_key(jwk)
    return keys


class _CachingKeys:
    def __init__(self, min_interval: float) -> None:
        self._keys: dict[str, ECKey] = {}
        self._loaded_at = float("-inf")
        self._min_interval = min_interval
        self._lock = threading.Lock()
        self.failing = False

    def _load(self) -> dict[str, ECKey]:
        raise NotImplementedError

    def get(self, kid: str) -> ECKey | None:
        if not self._keys:
            self.refresh()
        return self._keys.get(kid)

    def refresh(self) -> bool:
        with self._lock:
            if time.monotonic() - self._loaded_at < self._min_interval:
                return False
            self._loaded_at = time.monotonic()
            try:
                self._keys = self._load()
                self.failing = False
            except (httpx.HTTPError, ValueError, OSError) as exc:
                self.failing = True
                log.warning("could not load the JWKS", extra={"error": str(exc)})
            return True


class LocalKeys(_CachingKeys):
    """The platform's own keys, read from the data volume."""

    def __init__(self, store: KeyStore, min_interval: float = 1.0) -> None:
        super().__init__(min_interval)
        self.store = store

    def _load(self) -> dict[str, ECKey]:
        return _import_public(self.store.jwks())


class RemoteJWKS(_CachingKeys):
    """The platform's JWKS over the internal network, cached; refetched at most every ``min_interval``."""

    def __init__(self, url: str, client: httpx.Client | None = None, min_interval: float = 5.0) -> None:
        super().__init__(min_interval)
        self.url = url
        self.client = client or httpx.Client(timeout=5.0, follow_redirects=False)

    def _load(self) -> dict[str, ECKey]:
        response = self.client.get(self.url)
        response.raise_for_status()
        return _import_public(response.json())
