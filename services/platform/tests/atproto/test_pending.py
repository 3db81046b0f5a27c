import base64
import os

import redis

from wikibot_platform.atproto.pending import OneTimeStore
from wikibot_shared.crypto import Box


def test_one_time_values_are_sealed_and_taken_once(redis_client: redis.Redis) -> None:
    store = OneTimeStore(redis_client, Box(os.urandom(32)), prefix="t:p:", ttl=30)
    store.put("k1", {"verifier": "secret-verifier", "n": 1})
    raw = redis_client.get("t:p:k1")
    assert raw is not None
    assert "secret-verifier" not in base64.b64decode(str(raw)).decode("latin-1")
    assert 0 < redis_client.ttl("t:p:k1") <= 30
    assert store.take("k1") == {"verifier": "secret-verifier", "n": 1}
    assert store.take("k1") is None  # single use
    assert store.take("") is None
    assert store.take("x" * 500) is None


def test_values_are_bound_to_their_key_and_box(redis_client: redis.Redis) -> None:
    box = Box(os.urandom(32))
    store = OneTimeStore(redis_client, box, prefix="t:p:", ttl=30)
    store.put("a", {"v": 1})
    redis_client.rename("t:p:a", "t:p:b")  # moved under another state: does not open
    assert store.take("b") is None
    store.put("c", {"v": 2})
    assert OneTimeStore(redis_client, Box(os.urandom(32)), prefix="t:p:", ttl=30).take("c") is None
    redis_client.set("t:p:d", "not base64 !!")
    assert store.take("d") is None
