"""One decision per request: ``authorize(word_refusals=True)`` verifies the credential once and lets a role or
lapsed-wiki refusal ride on the ``Access``; ``Access.require`` is the only thing that acts on it later."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from shared.tests.verify.test_verifier import NOTES, World
from shared.tests.verify.test_verifier import world as world  # the fixture, reused
from wikibot_shared.acl import Action
from wikibot_shared.errors import AuthError, Forbidden, InsufficientScope, ReadOnly


@contextmanager
def statements(world: World) -> Iterator[list[str]]:
    """The SQL the verifier runs meanwhile."""
    seen: list[str] = []
    engine = world.db.kw["bind"]

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def authorize(world: World, token: str, action: Action, host: str = NOTES):  # type: ignore[no-untyped-def]
    return world.verifier.authorize(
        host, {"Authorization": f"Bearer {token}"}, {}, action, word_refusals=True
    )


def test_a_viewers_write_is_decided_once_and_carries_its_refusal(world: World) -> None:
    token = world.access("did:plc:carol", grant="g-carol", scope="wiki:read wiki:write")
    with statements(world) as seen:
        access = authorize(world, token, Action.WRITE)
    # the grant (with its user) and the wiki's ACL row: one lookup each, the credential verified once
    assert [s for s in seen if s == "SELECT"] == ["SELECT", "SELECT"]
    assert access.action is Action.READ
    assert isinstance(access.refusal, Forbidden)
    assert access.refusal.code == "role_forbids"
    access.require(Action.READ)  # reading is what was decided
    with pytest.raises(Forbidden) as refused:
        access.require(Action.WRITE)
    assert refused.value is access.refusal


def test_without_word_refusals_the_same_write_raises(world: World) -> None:
    token = world.access("did:plc:carol", grant="g-carol", scope="wiki:read wiki:write")
    with pytest.raises(Forbidden) as refused:
        world.verifier.authorize(NOTES, {"Authorization": f"Bearer {token}"}, {}, Action.WRITE)
    assert refused.value.code == "role_forbids"


def test_a_lapsed_wiki_rides_as_read_only(world: World) -> None:
    token = world.access(wiki="gone", grant="g-gone")
    with world.db() as db:
        from wikibot_shared.models import OAuthGrant

        db.add(
            OAuthGrant(
                id="g-gone", client_id="c1", user_did="did:plc:alice", wiki_slug="gone", scopes="wiki:write"
            )
        )
        db.commit()
    access = authorize(world, token, Action.WRITE, host="gone.wiki.example.org")
    assert isinstance(access.refusal, ReadOnly)
    assert access.action is Action.READ


def test_a_missing_scope_and_no_access_at_all_always_raise(world: World) -> None:
    with pytest.raises(InsufficientScope) as scope:
        authorize(world, world.pats["ro"], Action.WRITE)
    assert scope.value.challenge is not None
    assert 'scope="wiki:write"' in scope.value.challenge
    stranger = world.access("did:plc:dave", grant="g-dave")
    with world.db() as db:
        from wikibot_shared.models import OAuthGrant

        db.add(
            OAuthGrant(
                id="g-dave", client_id="c1", user_did="did:plc:dave", wiki_slug="notes", scopes="wiki:write"
            )
        )
        db.commit()
    with pytest.raises(Forbidden) as none:
        authorize(world, stranger, Action.WRITE)  # may not even read: nothing to word at the tool
    assert none.value.code == "no_access"
    with pytest.raises(AuthError):
        authorize(world, "wbp_nope", Action.WRITE)


def test_an_access_decided_for_writing_covers_reading_and_nothing_else_covers_writing(world: World) -> None:
    write = authorize(world, world.pats["rw"], Action.WRITE)
    assert (write.action, write.refusal) == (Action.WRITE, None)
    write.require(Action.READ)
    write.require(Action.WRITE)
    read = authorize(world, world.pats["rw"], Action.READ)
    with pytest.raises(Forbidden, match="authorized to read, not to write"):
        read.require(Action.WRITE)
