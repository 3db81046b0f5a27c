"""The per-process cache of wiki state: bounded, least recently served out first, closed when evicted."""

from __future__ import annotations

from pathlib import Path

import redis

from services.otterwiki.tests.support import World, make_world
from wikibot_shared.migrate import upgrade


def test_the_cache_holds_at_most_its_capacity(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    url = f"sqlite:///{tmp_path / 'wikibot.db'}"
    upgrade(url)
    world = make_world(tmp_path, url, redis_url, cache_wikis=2)
    try:
        for slug in ("one", "two", "three"):
            world.wiki(slug, "olive", public=True)
        reader = world.browser()
        states = world.states()
        assert reader.get("one", "/Home").status_code == 200
        first = states.peek("one")
        for slug in ("two", "one", "three"):
            assert reader.get(slug, "/Home").status_code == 200
        assert len(states) == 2
        assert states.builds == 3  # one, two, three; "one" again was a hit
        assert states.cached() == ["one", "three"]  # "two" was served least recently
        assert states.peek("one") is first
        assert reader.get("two", "/Home").status_code == 200
        assert states.builds == 4
        assert states.cached() == ["three", "two"]
    finally:
        world.close()


def test_evicted_state_is_closed(world: World) -> None:
    world.wiki("one", "olive", public=True)
    reader = world.browser()
    assert reader.get("one", "/Home").status_code == 200
    state = world.states().get("one")
    world.states().forget("one")
    assert state.storage.repo.git.cat_file_all is None  # git's persistent cat-file processes are gone
    assert reader.get("one", "/Home").status_code == 200
    assert world.states().get("one") is not state
