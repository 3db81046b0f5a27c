"""Tenants never see each other, in one worker process.

Two wikis hold a page with the same file name (``Secret.md``), so every per-wiki thing Otterwiki keeps — the
repository, its settings database (preferences, drafts, its cache of page tables of contents), the commit
metadata cache, its own signed cookie — would collide if anything crossed over. Requests for both wikis, by
owners, a viewer, a stranger and anonymous visitors, are interleaved in this one process, with writes in
between, and every response is checked for the other wiki's page, setting, history entry, search result and
rendered table of contents. Run with room for both wikis and with room for one (every switch rebuilds).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.otterwiki.tests.support import World, make_world
from wikibot_shared.migrate import upgrade

WIKIS = {
    "alpha": {"owner": "ann", "public": False},
    "beta": {"owner": "ben", "public": True},
}


def marks(slug: str) -> dict[str, str]:
    word = slug.title()
    return {
        "body": f"{slug}-secret-body",
        "heading": f"{word} Heading",
        "description": f"{word} description",
        "menu": f"{word}MenuLink",
        "only": f"{word}OnlyPage",
        "draft": f"{slug} unsaved draft",
        "commit": f"{slug} commit",
        "name": f"{word} Wiki",
    }


def other(slug: str) -> str:
    return "beta" if slug == "alpha" else "alpha"


@pytest.fixture(params=[32, 1], ids=["cached", "evicting"])
def two(
    request: pytest.FixtureRequest, tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> Iterator[World]:
    url = f"sqlite:///{tmp_path / 'wikibot.db'}"
    upgrade(url)
    world = make_world(tmp_path, url, redis_url, cache_wikis=request.param)
    for slug, spec in WIKIS.items():
        m = marks(slug)
        world.wiki(
            slug,
            str(spec["owner"]),
            public=bool(spec["public"]),
            name=m["name"],
            files={
                "Home.md": f"# Home\n\n{slug} home\n",
                "Secret.md": f"# Secret\n\n## {m['heading']}\n\n{m['body']}\n",
                f"{m['only']}.md": f"# {m['only']}\n",
            },
        )
    world.grant("alpha", "carl", "viewer")
    world.user("carl")
    yield world
    world.close()


def configure(world: World, slug: str) -> None:
    """The owner sets per-wiki preferences and leaves a draft, through Otterwiki's own pages."""
    owner = world.browser(str(WIKIS[slug]["owner"]))
    m = marks(slug)
    form = {
        "site_name": m["name"],
        "site_description": m["description"],
        "site_lang": "en",
        "robots_txt": "allow",
        "home_page": "",
        "not_found_page": "",
        "update_preferences": "Save Preferences",
    }
    assert owner.post(slug, "/-/admin", form, csrf_from="/-/admin").status_code == 302
    menu = {"link": f"/{m['only']}", "title": m["menu"], "icon": "", "sidebar_shortcut_home": "True"}
    assert (
        owner.post(
            slug, "/-/admin/sidebar_preferences", menu, csrf_from="/-/admin/sidebar_preferences"
        ).status_code
        == 302
    )
    draft = {"content": f"# Secret\n\n{m['draft']}\n", "cursor_line": "1", "cursor_ch": "0", "revision": ""}
    assert owner.post(slug, "/Secret/draft", draft, csrf_from="/Secret?edit").status_code == 200


def assert_only(slug: str, text: str, *keys: str) -> None:
    mine, theirs = marks(slug), marks(other(slug))
    for key in keys:
        assert mine[key] in text, (slug, key)
    for key, value in theirs.items():
        assert value not in text, (slug, "leaked", key, value)


def test_interleaved_wikis_and_users_never_cross_over(two: World) -> None:
    world = two
    configure(world, "alpha")
    configure(world, "beta")
    ann, ben, carl, anonymous = (world.browser(n) for n in ("ann", "ben", "carl", None))
    owners = {"alpha": ann, "beta": ben}
    for slug, owner in owners.items():  # each owner finds their own draft, and only it (saving discards it)
        assert_only(slug, owner.get(slug, "/Secret?edit").text, "draft")
        housekeeping = owner.get(slug, "/-/housekeeping").text
        assert housekeeping.count('name="delete_draft"') == 1
        assert_only(slug, housekeeping, "description")

    for round_ in range(4):
        for slug in ("alpha", "beta"):
            owner = owners[slug]
            page = owner.get(slug, "/Secret")
            assert page.status_code == 200
            assert_only(slug, page.text, "body", "heading", "description", "menu", "name")
            assert "?edit" in page.text  # the owner may edit …

            seen = carl.get(slug, "/Secret")
            if slug == "alpha":  # … the viewer may read alpha, never edit it
                assert seen.status_code == 200
                assert_only(slug, seen.text, "body", "description")
                assert "?edit" not in seen.text
            else:  # beta is public: carl reads it as anyone would, with no role
                assert seen.status_code == 200
                assert_only(slug, seen.text, "body")
                assert "?edit" not in seen.text

            saved = owner.save(
                slug,
                "Secret",
                f"# Secret\n\n## {marks(slug)['heading']}\n\n{marks(slug)['body']} {round_}\n",
                f"{marks(slug)['commit']} {round_}",
            )
            assert saved.status_code == 302

            editor = owners[other(slug)].get(other(slug), "/Secret?edit")
            assert editor.status_code == 200
            assert_only(other(slug), editor.text)

            history = owner.get(slug, "/Secret/history")
            assert_only(slug, history.text, "commit")
            log = anonymous.get("beta", "/-/changelog")
            assert_only("beta", log.text, *(("commit",) if slug == "beta" or round_ else ()))

            found = owner.post(slug, "/-/search", {"query": "secret-body"}, csrf_from="/-/index")
            assert found.status_code == 200
            assert "Search matched 1 page" in found.text
            assert f'{slug}-<span class="text-match">secret-body</span>' in found.text
            assert f"{other(slug)}-" not in found.text
            assert_only(slug, found.text)

            index = owner.get(slug, "/-/index")  # rendered from Otterwiki's cache of page headings
            assert_only(slug, index.text, "heading", "only")

            robots = anonymous.get(slug, "/robots.txt")
            if slug == "alpha":
                assert robots.status_code == 302  # private: nothing, not even robots.txt, without signing in
            else:
                assert robots.text == "User-agent: *\nAllow: /"

            assert ann.get("beta", "/-/admin").status_code == 403  # owner of alpha is no one on beta
            assert carl.get("beta", "/-/admin").status_code == 403
            assert ben.get("alpha", "/Secret").status_code == 403

    for slug in ("alpha", "beta"):
        commits = world.git(slug, "log", "--format=%an|%s").splitlines()
        assert all(marks(other(slug))["commit"] not in c for c in commits)
        assert all(c.startswith(f"{WIKIS[slug]['owner']}.test|") for c in commits)
        assert len([c for c in commits if marks(slug)["commit"] in c]) == 4
        assert marks(other(slug))["body"] not in world.git(slug, "show", "HEAD:Secret.md")


def test_one_wikis_cookie_and_csrf_token_are_void_on_another(two: World) -> None:
    ann = two.browser("ann")
    token = ann.csrf("alpha", "/Secret?edit")
    cookie = next(c for c in ann.client._cookies.values() if c.key == "otterwiki_session")
    ben = two.browser("ben")
    ben.get("beta", "/Home")
    ben.client.set_cookie("otterwiki_session", cookie.value, domain="beta.localhost")
    forged = ben.client.post(
        "/Secret/save",
        base_url="http://beta.localhost:8080",
        data={"content": "# cross-site\n", "commit": "x", "csrf_token": token},
    )
    assert forged.status_code == 400
    assert "cross-site" not in two.git("beta", "show", "HEAD:Secret.md")


def test_serving_one_wiki_again_builds_nothing_and_reads_no_wiki_state(two: World) -> None:
    """The ACL check is one live query per request; the wiki's own state is not re-read or rebuilt."""
    from sqlalchemy import event

    ann = two.browser("ann")
    assert ann.get("alpha", "/Home").status_code == 200
    states = two.states()
    state = states.get("alpha")
    builds = states.builds
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(state.engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert ann.get("alpha", "/-/index").status_code == 200
    finally:
        event.remove(state.engine, "before_cursor_execute", count)
    assert states.builds == builds
    assert states.get("alpha") is state
    assert not [s for s in statements if re.search(r"\bpreferences\b", s, re.I)]
