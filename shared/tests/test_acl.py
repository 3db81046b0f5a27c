import itertools

import pytest
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared import acl
from wikibot_shared.acl import Action, WikiAccess, check, wiki_access
from wikibot_shared.db import transaction
from wikibot_shared.errors import Forbidden, InsufficientScope, NotFound, ReadOnly
from wikibot_shared.models import Acl, Role, User, Wiki

# ARCHITECTURE §4, written out as the expected outcome of every (role, public?, action).
TABLE = {
    (Role.OWNER, Action.READ): True,
    (Role.OWNER, Action.WRITE): True,
    (Role.OWNER, Action.MANAGE): True,
    (Role.EDITOR, Action.READ): True,
    (Role.EDITOR, Action.WRITE): True,
    (Role.EDITOR, Action.MANAGE): False,
    (Role.VIEWER, Action.READ): True,
    (Role.VIEWER, Action.WRITE): False,
    (Role.VIEWER, Action.MANAGE): False,
    (None, Action.READ): False,
    (None, Action.WRITE): False,
    (None, Action.MANAGE): False,
}


def access(role: Role | None, *, public: bool = False, lapsed: bool = False) -> WikiAccess:
    return WikiAccess("notes", "did:plc:o", "Notes", public, lapsed, "free", role)


@pytest.mark.parametrize(
    ("role", "action", "public"), itertools.product([*Role, None], Action, [False, True])
)
def test_role_table(role: Role | None, action: Action, public: bool) -> None:
    expected = TABLE[(role, action)] or (public and action is Action.READ)
    assert access(role, public=public).can(action) is expected
    if expected:
        check(access(role, public=public), action, None)
    else:
        with pytest.raises(Forbidden):
            check(access(role, public=public), action, None)


@pytest.mark.parametrize(
    ("scopes", "action", "allowed"),
    [
        ({"wiki:read"}, Action.READ, True),
        ({"wiki:read"}, Action.WRITE, False),
        ({"wiki:write"}, Action.READ, True),
        ({"wiki:read", "wiki:write"}, Action.WRITE, True),
        (set(), Action.READ, False),
        ({"wiki:read", "wiki:write"}, Action.MANAGE, False),
    ],
)
def test_token_scopes_narrow_the_role(scopes: set[str], action: Action, allowed: bool) -> None:
    if allowed:
        check(access(Role.OWNER), action, frozenset(scopes))
        return
    with pytest.raises(Forbidden) as err:
        check(access(Role.OWNER), action, frozenset(scopes))
    if action is Action.MANAGE:
        assert err.value.code == "session_required"
    else:
        assert isinstance(err.value, InsufficientScope)
        assert err.value.scope == acl.required_scope(action)


def test_lapsed_wiki_is_read_only_for_everyone() -> None:
    check(access(Role.OWNER, lapsed=True), Action.READ, None)
    check(access(Role.OWNER, lapsed=True), Action.MANAGE, None)
    with pytest.raises(ReadOnly, match="lapsed"):
        check(access(Role.OWNER, lapsed=True), Action.WRITE, None)


def test_refusals_name_the_reason() -> None:
    with pytest.raises(Forbidden, match="role on 'notes' is viewer, which cannot write") as err:
        check(access(Role.VIEWER), Action.WRITE, None)
    assert err.value.code == "role_forbids"
    with pytest.raises(Forbidden, match="no access") as err:
        check(access(None), Action.READ, None)
    assert err.value.code == "no_access"


@pytest.fixture
def world(db_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(db_factory) as db:
        db.add_all([User(did="did:plc:alice"), User(did="did:plc:bob")])
        db.flush()
        db.add(Wiki(slug="notes", owner_did="did:plc:alice", display_name="Notes"))
        db.add(Wiki(slug="open", owner_did="did:plc:bob", display_name="Open", is_public=True))
        db.flush()
        db.add(Acl(wiki_slug="notes", grantee_did="did:plc:bob", role="editor"))
        db.add(Acl(wiki_slug="notes", grantee_did="did:plc:carol", role="viewer"))
    return db_factory


def test_live_roles_from_the_database(world: sessionmaker[Session]) -> None:
    with world() as db:
        assert wiki_access(db, "notes", "did:plc:alice").role is Role.OWNER
        assert wiki_access(db, "notes", "did:plc:bob").role is Role.EDITOR
        assert wiki_access(db, "notes", "did:plc:carol").role is Role.VIEWER
        assert wiki_access(db, "notes", "did:plc:dave").role is None
        assert wiki_access(db, "notes", None).role is None
        assert wiki_access(db, "open", None).can(Action.READ)
        with pytest.raises(NotFound):
            wiki_access(db, "missing", "did:plc:alice")
    with transaction(world) as db:
        db.delete(db.get(Acl, ("notes", "did:plc:bob")))
    with world() as db:
        assert wiki_access(db, "notes", "did:plc:bob").role is None
