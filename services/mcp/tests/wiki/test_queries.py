"""Questions about a wiki on real repositories (``wiki.queries``): listing with filters and paging, links and
orphans."""

from __future__ import annotations

import pytest

from services.mcp.tests.support.world import ALICE, World
from wikibot_shared.errors import InputError


def test_list_filters_and_paging(world: World) -> None:
    a = world.actor(ALICE)
    for i in range(7):
        world.core.write(
            a, f"Team/P{i}", f"---\ntags: [{'even' if i % 2 == 0 else 'odd'}]\ncategories: ops\n---\n# P{i}\n"
        )
    everything = world.core.list(a)
    assert everything["total"] == 8
    team = world.core.list(a, prefix="team/", limit=3)
    assert [p["path"] for p in team["pages"]] == ["Team/P0", "Team/P1", "Team/P2"]
    second = world.core.list(a, prefix="Team/", limit=3, cursor=team["next_cursor"])
    assert [p["path"] for p in second["pages"]] == ["Team/P3", "Team/P4", "Team/P5"]
    assert world.core.list(a, tag="even")["total"] == 4
    assert world.core.list(a, category="OPS")["total"] == 7
    assert world.core.list(a, updated_since="2999-01-01")["total"] == 0
    assert world.core.list(a, updated_since="2000-01-01T00:00:00Z")["total"] == 8
    with pytest.raises(InputError):
        world.core.list(a, updated_since="yesterday")
    with pytest.raises(InputError):
        world.core.list(a, limit=0)


def test_links_and_orphans(world: World) -> None:
    a = world.actor(ALICE)
    world.core.write(a, "Setup Guide", "[[Missing Page]] [[Home]]\n")
    world.core.write(a, "Lonely", "nobody links here\n")
    links = world.core.links(a, "Setup Guide")
    assert links == {
        "path": "Setup Guide",
        "links_to": ["Home"],
        "missing": ["Missing Page"],
        "linked_from": ["Home"],
    }
    assert world.core.orphans(a)["orphans"] == ["Lonely"]
