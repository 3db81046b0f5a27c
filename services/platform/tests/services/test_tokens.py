"""``services/tokens.py`` without HTTP: ``TokenCreate`` in, ``TokenCreated`` (once) and ``TokenPublic`` out, its
checks and its rate limit, on SQLite and PostgreSQL with real Redis."""

from __future__ import annotations

from typing import Any

import pytest

from services.platform.tests.support import Platform, make, share
from wikibot_platform.schemas import TokenCreate, TokenCreated, TokenPublic
from wikibot_platform.services import tokens
from wikibot_shared.errors import Forbidden, InputError, RateLimited
from wikibot_shared.models import AccessToken
from wikibot_shared.tokens import sha256_hex


def create(platform: Platform, did: str, new: TokenCreate, slug: str = "notes") -> TokenCreated:
    with platform.app.state.db() as db:
        return tokens.create_token(
            db, platform.settings, platform.app.state.redis, slug, platform.principal(did), new
        )


def test_created_shows_the_secret_once_and_the_list_never(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    created = create(platform, alice, TokenCreate(name="  my   laptop ", scopes=["wiki:write", "wiki:read"]))
    assert created.token.startswith("wbp_")
    assert (created.name, created.scopes, created.owner_handle) == (
        "my laptop",
        ["wiki:read", "wiki:write"],
        "alice.test",
    )
    assert created.expires_at is None
    with platform.app.state.db() as db:
        row = db.get(AccessToken, created.id)
        assert row is not None
        assert row.token_hash == sha256_hex(created.token)
        listed = tokens.list_tokens(db, "notes", platform.principal(alice))
    assert [type(t) for t in listed] == [TokenPublic]
    assert listed[0] == TokenPublic(**created.model_dump(exclude={"token"}))


def test_expiry_in_days(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    created = create(platform, alice, TokenCreate(name="short", expires_in_days=2))
    assert created.expires_at is not None
    assert (created.expires_at - created.created_at).days == 2


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"name": "   "}, "invalid_name"),
        ({"name": "x" * 150}, "invalid_name"),
        (
            {"name": "t", "expires_in_days": 99999},
            "invalid_expiry",
        ),  # the API's body refuses it earlier (422)
        ({"name": "t", "scopes": []}, "invalid_scope"),
        ({"name": "t", "scopes": ["admin"]}, "invalid_scope"),
    ],
)
def test_unchecked_form_values_get_the_service_layers_answer(
    platform: Platform, values: dict[str, Any], code: str
) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    with pytest.raises(InputError) as refused:
        create(platform, alice, TokenCreate.model_construct(**values))
    assert refused.value.code == code
    with platform.app.state.db() as db:
        assert tokens.list_tokens(db, "notes", platform.principal(alice)) == []


def test_a_write_token_needs_a_role_that_writes(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    share(platform, "notes", bob, "viewer")
    assert create(platform, bob, TokenCreate(name="read")).scopes == ["wiki:read"]
    with pytest.raises(Forbidden) as refused:
        create(platform, bob, TokenCreate(name="write", scopes=["wiki:write"]))
    assert refused.value.code == "role_forbids"


@pytest.mark.parametrize("settings_overrides", [{"rate_limits_json": '{"token_create": [1, 3600]}'}])
def test_creating_counts_against_token_create_whoever_calls(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    create(platform, alice, TokenCreate(name="one"))
    with pytest.raises(RateLimited):
        create(platform, alice, TokenCreate(name="two"))
    with platform.app.state.db() as db:
        assert [t.name for t in tokens.list_tokens(db, "notes", platform.principal(alice))] == ["one"]
