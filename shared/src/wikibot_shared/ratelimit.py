"""Rate limits shared by every worker: a fixed-window counter in Redis per (bucket, key)."""

from __future__ import annotations

import time

import redis

from .errors import RateLimited


def hit(client: redis.Redis, bucket: str, key: str, *, limit: int, window: int) -> int:
    """Count one request; raise ``RateLimited`` (with ``retry_after`` seconds) past ``limit`` per ``window``.

    Returns the number of requests left in the window."""
    now = int(time.time())
    window_start = now - now % window
    name = f"wikibot:rl:{bucket}:{key}:{window_start}"
    pipe = client.pipeline()
    pipe.incr(name)
    pipe.expire(name, window + 1)
    count = int(pipe.execute()[0])
    if count > limit:
        raise RateLimited(
            f"too many requests; try again in {window_start + window - now} s",
            retry_after=max(1, window_start + window - now),
        )
    return limit - count
