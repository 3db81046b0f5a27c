"""The per-wiki Redis lock: at most one embedder replica writes a wiki's index at a time.

``SET key token NX PX ttl`` to take it; a heartbeat thread extends it while the holder works; extending and
releasing compare the token first (Lua), so a holder whose lock expired can neither extend nor free the
next holder's lock. A writer checks ``held`` before it publishes. Even if two writers overlapped, each builds
its own complete generation and the swap is atomic, so the index is never corrupt (store.py).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from types import TracebackType

import redis

KEY = "wikibot:embedder:lock:{slug}"

_EXTEND = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class WikiLock:
    def __init__(self, client: redis.Redis, slug: str, *, ttl_ms: int = 30_000) -> None:
        self.client = client
        self.key = KEY.format(slug=slug)
        self.ttl_ms = ttl_ms
        self.token = secrets.token_hex(16)
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def acquire(self) -> bool:
        if not self.client.set(self.key, self.token, nx=True, px=self.ttl_ms):
            return False
        self._beat = threading.Thread(target=self._heartbeat, name=f"lock:{self.key}", daemon=True)
        self._beat.start()
        return True

    @property
    def held(self) -> bool:
        return self._beat is not None and not self._lost.is_set()

    def check(self) -> bool:
        """Ask Redis (not just the heartbeat's last word) whether we still hold it."""
        if not self.held:
            return False
        ok = self.client.get(self.key) == self.token
        if not ok:
            self._lost.set()
        return ok

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl_ms / 3000):
            try:
                if not self.client.eval(_EXTEND, 1, self.key, self.token, self.ttl_ms):
                    self._lost.set()
                    return
            except redis.RedisError:
                continue  # Redis is briefly away: the key may still be ours; check() decides at publish

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
            with contextlib.suppress(redis.RedisError):  # else it expires on its own
                self.client.eval(_RELEASE, 1, self.key, self.token)
            self._beat = None

    def __enter__(self) -> WikiLock:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.release()
