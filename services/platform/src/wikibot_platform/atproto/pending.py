"""Short-lived sign-in state in Redis: sealed (AES-GCM, bound to its key) and single use (GETDEL).

A pending authorization request holds the PKCE verifier and the DPoP private key between ``/auth/login`` and
``/auth/callback``; taking it deletes it, so a replayed callback finds nothing.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import redis

from wikibot_shared.crypto import Box, DecryptionError


class OneTimeStore:
    def __init__(self, client: redis.Redis, box: Box, *, prefix: str, ttl: int) -> None:
        self._redis = client
        self._box = box
        self._prefix = prefix
        self.ttl = ttl

    def _context(self, key: str) -> str:
        return f"{self._prefix}{key}"

    def put(self, key: str, value: dict[str, Any]) -> None:
        sealed = self._box.seal(json.dumps(value), self._context(key))
        stored = self._redis.set(self._prefix + key, base64.b64encode(sealed).decode(), ex=self.ttl, nx=True)
        if not stored:
            raise RuntimeError("one-time key collision")  # 256-bit random keys: never in practice

    def take(self, key: str) -> dict[str, Any] | None:
        """The value, deleted as it is read; None if unknown, expired, already taken or tampered with."""
        if not key or len(key) > 200:
            return None
        raw = self._redis.getdel(self._prefix + key)
        if raw is None:
            return None
        try:
            value = json.loads(self._box.open(base64.b64decode(str(raw)), self._context(key)))
        except (DecryptionError, ValueError):
            return None
        return value if isinstance(value, dict) else None
