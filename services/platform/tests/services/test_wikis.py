"""``services/wikis.py`` without HTTP: the shapes it takes and returns, its checks and its rate limit, on SQLite and
PostgreSQL with real git and Redis."""

from __future__ import annotations

import pytest

from services.platform.tests.support import Platform, share
from wikibot_platform.schemas import WikiCreate, WikiPublic, WikiUpdate
from wikibot_platform.services import wikis
from wikibot_shared import storage
from wikibot_shared.db import transaction
from wikibot_shared.errors import Forbidden, InputError, RateLimited
from wikibot_shared.models import PaymentStatus, Wiki


def create(platform: Platform, did: str, new: WikiCreate) -> WikiPublic:
    with platform.app.state.db() as db:
        return wikis.create_wiki(
            db, platform.settings, platform.app.state.redis, platform.principal(did), new
        )


def test_create_returns_the_public_shape_with_every_url(platform: Platform) -> None:
    alice = platform.user("alice")
    wiki = create(platform, alice, WikiCreate(slug="notes", display_name="  Team   Notes "))
    assert isinstance(wiki, WikiPublic)
    assert (wiki.slug, wiki.display_name, wiki.role, wiki.owner_did, wiki.owner_handle) == (
        "notes",
        "Team Notes",
        "owner",
        alice,
        "alice.test",
    )
    assert (wiki.is_public, wiki.read_only, wiki.tier, wiki.page_count) == (False, False, "free", 2)
    assert wiki.url == "http://notes.localhost:8080"
    assert wiki.mcp_url == "http://notes.localhost:8080/mcp"
    assert wiki.git_url == "http://notes.localhost:8080/repo.git"
    assert wiki.settings_url == "http://localhost:8080/app/wikis/notes"
    with platform.app.state.db() as db:
        assert wikis.get_wiki(db, platform.settings, "notes", platform.principal(alice)) == wiki
        assert wikis.list_wikis(db, platform.settings, platform.principal(alice)) == [wiki]


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"slug": "x" * 150}, "invalid_slug"),  # longer than the API's body allows
        ({"slug": "Bad Name"}, "invalid_slug"),
        ({"slug": "notes", "display_name": "x" * 500}, "invalid_display_name"),
    ],
)
def test_unchecked_form_values_get_the_service_layers_answer(
    platform: Platform, values: dict[str, str], code: str
) -> None:
    """The UI hands over its form unchecked (``ui.common.form_shape``): every value is checked here."""
    alice = platform.user("alice")
    with pytest.raises(InputError) as refused:
        create(platform, alice, WikiCreate.model_construct(**values))
    assert refused.value.code == code
    with platform.app.state.db() as db:
        assert db.query(Wiki).count() == 0


@pytest.mark.parametrize("settings_overrides", [{"rate_limits_json": '{"wiki_create": [1, 3600]}'}])
def test_creating_counts_against_wiki_create_whoever_calls(platform: Platform) -> None:
    alice, bob = platform.user("alice", tier="premium"), platform.user("bob")
    create(platform, alice, WikiCreate(slug="one"))
    with pytest.raises(RateLimited):
        create(platform, alice, WikiCreate(slug="two"))
    assert not storage.wiki_paths(platform.settings.wikis_dir, "two").repo.exists()
    assert create(platform, bob, WikiCreate(slug="bobs")).slug == "bobs"  # a budget per person


def test_update_sets_only_the_fields_given_and_needs_an_owner(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    create(platform, alice, WikiCreate(slug="notes", display_name="Notes"))
    share(platform, "notes", bob, "editor")
    with platform.app.state.db() as db:
        changed = wikis.update_wiki(
            db, platform.settings, platform.principal(alice), "notes", WikiUpdate(is_public=True)
        )
        assert (changed.display_name, changed.is_public) == ("Notes", True)
        with pytest.raises(Forbidden) as refused:
            wikis.update_wiki(
                db, platform.settings, platform.principal(bob), "notes", WikiUpdate(display_name="Mine")
            )
        assert refused.value.code == "role_forbids"


def test_a_lapsed_wiki_is_read_only_in_its_shape(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    create(platform, alice, WikiCreate(slug="notes", is_public=True))
    with transaction(platform.app.state.db) as db:
        wiki = db.get(Wiki, "notes")
        assert wiki is not None
        wiki.payment_status = PaymentStatus.LAPSED.value
    with platform.app.state.db() as db:
        shown = wikis.get_wiki(db, platform.settings, "notes", platform.principal(bob))
        assert (shown.read_only, shown.role, shown.payment_status) == (True, None, "lapsed")
        assert [w.read_only for w in wikis.list_wikis(db, platform.settings, platform.principal(alice))] == [
            True
        ]
