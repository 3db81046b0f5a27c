"""The per-wiki Redis lock: at most one embedder replica writes a wiki's index at a time.

``SET key token NX PX ttl`` to take it; a heartbeat thread extends it while the holder works; extending and
releasing compare the token first (Lua), so a holder whose lock expired can neither extend nor free the
next holder's lock. A writer checks ``held`` before it publishes. Even if two writers overlapped, each builds
its own complete generation and the swap is atomic, so the index is never corrupt (store.py).

A holder that dies (SIGKILL, OOM, a lost node) cannot release its lock, and waiting out the TTL would leave its
wikis unindexed for up to ``ttl_ms`` after it is back. So every process that takes locks keeps a short-lived
beacon key alive (``ALIVE_KEY``, refreshed several times per ``ALIVE_TTL_MS``), and each token names its
process: a lock whose process has no beacon is taken over at once, atomically (Lua).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
import weakref
from types import TracebackType

import redis

KEY = "wikibot:embedder:lock:{slug}"
ALIVE_PREFIX = "wikibot:embedder:alive:"
ALIVE_TTL_MS = 5_000

_EXTEND = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
# Take the lock if it is free or its holder's process has no beacon (the holder is dead).
_TAKE = """
local holder = redis.call('get', KEYS[1])
if holder then
  local process = string.match(holder, '^([0-9a-f]+)%.')
  if not process or redis.call('exists', ARGV[3] .. process) == 1 then return 0 end
end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
_SWAP = "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class WikiLock:
    def __init__(self, client: redis.Redis, slug: str, *, ttl_ms: int = 30_000) -> None:
        self.client = client
        self.key = KEY.format(slug=slug)
        self.ttl_ms = ttl_ms
        self.token = f"{instance()}.{secrets.token_hex(12)}"
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def acquire(self) -> bool:
        _beacon(self.client)
        if not self.client.eval(_TAKE, 1, self.key, self.token, self.ttl_ms, ALIVE_PREFIX):
            # Ours but held by no lock of this process: one whose release was lost (Redis restarted from its
            # append-only file with the key in it, or went away at the moment we released).
            holder = self.client.get(self.key)
            if not (isinstance(holder, str | bytes) and _abandoned_here(holder)):
                return False
            if not self.client.eval(_SWAP, 1, self.key, holder, self.token, self.ttl_ms):
                return False
        with _active_lock:
            _active.add(self.token)
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
        with _active_lock:
            _active.discard(self.token)
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


class _Beacon:
    """This process's liveness key, refreshed by a daemon thread while the process and its client live."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = weakref.ref(client)
        self.key = ALIVE_PREFIX + instance()
        client.set(self.key, "1", px=ALIVE_TTL_MS)  # before the first lock is taken
        threading.Thread(target=self._run, name="embedder-beacon", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(ALIVE_TTL_MS / 5000)
            client = self.client()
            if client is None:
                return
            with contextlib.suppress(redis.RedisError):  # Redis is away: our locks may be taken over
                client.set(self.key, "1", px=ALIVE_TTL_MS)
            del client


_beacons: dict[tuple[int, int], _Beacon] = {}
_beacons_lock = threading.Lock()
_instances: dict[int, str] = {}


def instance() -> str:
    """This process's id in lock tokens (per pid: a forked child is another process)."""
    return _instances.setdefault(os.getpid(), secrets.token_hex(8))


def _beacon(client: redis.Redis) -> None:
    key = (os.getpid(), id(client))
    with _beacons_lock:
        beacon = _beacons.get(key)
        if beacon is None or beacon.client() is not client:
            _beacons[key] = _Beacon(client)


_active: set[str] = set()  # the tokens this process's locks hold right now
_active_lock = threading.Lock()


def _abandoned_here(holder: str | bytes) -> bool:
    token = holder.decode() if isinstance(holder, bytes) else holder
    with _active_lock:
        return token.startswith(instance() + ".") and token not in _active
