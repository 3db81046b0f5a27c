"""Rate limits shared by every worker: a fixed-window counter in Redis per (bucket, key).

``hit`` counts one request against one limit, ``hit_all`` against several in one round trip (an agent's write
counts as a call and as a write). ``parse_limits`` reads a service's ``*_RATE_LIMITS`` override, JSON
``{"name": [requests, window seconds]}`` over its defaults.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import redis

from .config import json_object
from .errors import RateLimited

Limits = Mapping[str, tuple[int, int]]  # name → (requests, window seconds)


def hit(client: redis.Redis, bucket: str, key: str, *, limit: int, window: int) -> int:
    """Count one request; raise ``RateLimited`` (with ``retry_after`` seconds) past ``limit`` per ``window``.

    Returns the number of requests left in the window."""
    return hit_all(client, key, {bucket: (limit, window)})[bucket]


def hit_all(client: redis.Redis, key: str, limits: Limits) -> dict[str, int]:
    """Count one request of ``key`` against every limit in ``limits`` (one pipeline); raise ``RateLimited`` for
    the first one it passes. Returns what is left of each."""
    return hit_all_reading(client, key, limits, None)[0]


def hit_all_reading(
    client: redis.Redis, key: str, limits: Limits, read: str | None
) -> tuple[dict[str, int], Any]:
    """``hit_all``, and the value of the Redis key ``read`` (None: nothing read) got in the same round trip."""
    now = int(time.time())
    pipe = client.pipeline(transaction=False)
    if read is not None:
        pipe.get(read)
    starts = {}
    for bucket, (_limit, window) in limits.items():
        starts[bucket] = now - now % window
        name = f"wikibot:rl:{bucket}:{key}:{starts[bucket]}"
        pipe.incr(name)
        pipe.expire(name, window + 1)
    replies = pipe.execute()
    value = replies.pop(0) if read is not None else None
    left = {}
    for (bucket, (limit, window)), count in zip(limits.items(), replies[::2], strict=True):
        if int(count) > limit:
            wait = max(1, starts[bucket] + window - now)
            raise RateLimited(f"too many requests; try again in {wait} s", retry_after=wait)
        left[bucket] = limit - int(count)
    return left, value


def parse_limits(raw: str | None, defaults: Limits, setting: str) -> dict[str, tuple[int, int]]:
    """``defaults`` with the overrides of ``raw`` (the value of the environment variable ``setting``); a
    ``ValueError`` naming ``setting`` for anything but known names with two positive integers."""
    limits = dict(defaults)
    if not raw:
        return limits
    for name, value in json_object(raw, setting).items():
        if (
            name not in limits
            or not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        ):
            raise ValueError(
                f"{setting}: {name!r} must be one of {', '.join(limits)} with [requests, window seconds]"
            )
        limits[name] = (value[0], value[1])
    return limits
