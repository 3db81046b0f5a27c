"""``services/members.py`` without HTTP: collaborators come in as ``MemberCreate`` / ``MemberUpdate`` and go out
as ``MemberPublic``, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from services.platform.tests.support import Platform, make
from wikibot_platform.schemas import MemberCreate, MemberPublic, MemberUpdate
from wikibot_platform.services import members
from wikibot_shared.errors import InputError


def test_add_by_handle_then_list_owner_first(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    with platform.app.state.db() as db:
        added = members.add_member(
            db, platform.principal(alice), "notes", MemberCreate(handle="@Bob.test", role="editor")
        )
        assert isinstance(added, MemberPublic)
        assert (added.did, added.handle, added.role, added.owner_of_record, added.granted_by) == (
            bob,
            "bob.test",
            "editor",
            False,
            alice,
        )
        listed = members.list_members(db, "notes", platform.principal(bob))
    assert [(m.did, m.role, m.owner_of_record) for m in listed] == [
        (alice, "owner", True),
        (bob, "editor", False),
    ]
    assert listed[0].granted_by is None
    assert listed[1] == added


def test_a_resolved_handle_is_shown_for_someone_who_never_signed_in(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    stranger = "did:plc:resolvedxxxxxxxxxxxxxxx"
    with platform.app.state.db() as db:
        added = members.add_member(
            db,
            platform.principal(alice),
            "notes",
            MemberCreate(handle="carol", role="viewer"),
            resolver=lambda handle: stranger if handle == "carol.bsky.social" else None,
        )
        assert (added.did, added.handle, added.display_name) == (stranger, "carol.bsky.social", None)
        listed = members.list_members(db, "notes", platform.principal(alice))
    assert listed[-1].handle is None  # no users row: the list knows only the DID


def test_set_role_takes_the_update_shape(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    with platform.app.state.db() as db:
        members.add_member(db, platform.principal(alice), "notes", MemberCreate(did=bob, role="viewer"))
        changed = members.set_role(db, platform.principal(alice), "notes", bob, MemberUpdate(role="owner"))
    assert (changed.did, changed.role, changed.owner_of_record) == (bob, "owner", False)


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"handle": "bob.test", "role": "admin"}, "invalid_role"),  # the API's body refuses it earlier (422)
        ({"handle": "x" * 400 + ".test", "role": "viewer"}, "invalid_handle"),
        ({"did": "did:plc:" + "x" * 600, "role": "viewer"}, "invalid_did"),
        ({"role": "viewer"}, "invalid_request"),
    ],
)
def test_unchecked_form_values_get_the_service_layers_answer(
    platform: Platform, values: dict[str, str], code: str
) -> None:
    alice = platform.user("alice")
    platform.user("bob")
    make(platform, alice)
    with platform.app.state.db() as db:
        with pytest.raises(InputError) as refused:
            members.add_member(db, platform.principal(alice), "notes", MemberCreate.model_construct(**values))
        assert refused.value.code == code
        assert len(members.list_members(db, "notes", platform.principal(alice))) == 1
