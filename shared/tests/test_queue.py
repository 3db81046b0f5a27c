import pytest
import redis

from wikibot_shared import queue
from wikibot_shared.errors import RateLimited
from wikibot_shared.ratelimit import hit


def test_change_notices_round_trip_through_a_consumer_group(redis_client: redis.Redis) -> None:
    queue.ensure_group(redis_client, "embedder")
    queue.ensure_group(redis_client, "embedder")  # idempotent
    queue.notify_change(redis_client, "notes", source="mcp", commit="abc123", paths=["Home.md", "a/b.md"])
    queue.notify_change(redis_client, "other", source="git")
    notices = queue.read_notices(redis_client, "embedder", "worker-1", block_ms=100)
    assert [(n.wiki, n.source, n.commit, n.paths) for n in notices] == [
        ("notes", "mcp", "abc123", ("Home.md", "a/b.md")),
        ("other", "git", None, ()),
    ]
    assert all(n.id and n.at > 0 for n in notices)
    assert queue.pending_count(redis_client, "embedder") == 2
    assert queue.ack(redis_client, "embedder", [n.id for n in notices if n.id]) == 2
    assert queue.pending_count(redis_client, "embedder") == 0
    assert queue.read_notices(redis_client, "embedder", "worker-1", block_ms=50) == []
    assert queue.stream_length(redis_client) == 2


def test_unacked_notices_stay_pending_for_recovery(redis_client: redis.Redis) -> None:
    queue.ensure_group(redis_client, "embedder")
    queue.notify_change(redis_client, "notes", source="ui")
    assert len(queue.read_notices(redis_client, "embedder", "crashed", block_ms=50)) == 1
    assert queue.pending_count(redis_client, "embedder") == 1
    assert queue.pending_count(redis_client, "no-such-group") == 0


def test_rate_limit_counts_across_clients(redis_client: redis.Redis, redis_url: str) -> None:
    other = redis.Redis.from_url(redis_url, decode_responses=True)
    assert hit(redis_client, "signin", "1.2.3.4", limit=3, window=60) == 2
    assert hit(other, "signin", "1.2.3.4", limit=3, window=60) == 1
    assert hit(redis_client, "signin", "1.2.3.4", limit=3, window=60) == 0
    with pytest.raises(RateLimited) as err:
        hit(other, "signin", "1.2.3.4", limit=3, window=60)
    assert 1 <= err.value.retry_after <= 60
    assert err.value.status == 429
    assert hit(redis_client, "signin", "5.6.7.8", limit=3, window=60) == 2  # keys are independent
    other.close()
