import pytest
from sqlalchemy.orm import Session, sessionmaker

from wikibot_platform.accounts import set_username, suggest_username, upsert_signed_in_user, username_problem
from wikibot_shared.errors import Conflict, InputError
from wikibot_shared.models import User

A = "did:plc:" + "a" * 24
B = "did:plc:" + "b" * 24


@pytest.mark.parametrize("name", ["alice", "a-b", "abc", "a1b2c3", "x" * 30])
def test_valid_usernames(name: str) -> None:
    assert username_problem(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("ab", "3–30"),
        ("x" * 31, "3–30"),
        ("Alice", "3–30"),
        ("1alice", "3–30"),
        ("alice-", "3–30"),
        ("al ice", "3–30"),
        ("al_ice", "3–30"),
        ("a--b", "two hyphens"),
        ("admin", "reserved"),
        ("api", "reserved"),
        ("wiki", "reserved"),
    ],
)
def test_invalid_usernames(name: str, why: str) -> None:
    problem = username_problem(name)
    assert problem is not None
    assert why in problem


def test_upsert_refreshes_the_user_and_clears_a_stale_handle(db_factory: sessionmaker[Session]) -> None:
    with db_factory() as db:
        upsert_signed_in_user(db, did=A, handle="alice.test", display_name="Alice", avatar_url=None)
        db.commit()
    with db_factory() as db:  # the handle moved to B: A's row no longer shows it
        upsert_signed_in_user(db, did=B, handle="alice.test", display_name=None, avatar_url="https://x/a.png")
        upsert_signed_in_user(db, did=A, handle="alice2.test", display_name="Alice 2", avatar_url=None)
        db.commit()
    with db_factory() as db:
        a, b = db.get(User, A), db.get(User, B)
        assert a is not None
        assert b is not None
        assert (a.handle, a.display_name, a.last_login_at is not None) == ("alice2.test", "Alice 2", True)
        assert (b.handle, b.avatar_url) == ("alice.test", "https://x/a.png")


def test_username_is_chosen_once_and_unique(db_factory: sessionmaker[Session]) -> None:
    with db_factory() as db:
        upsert_signed_in_user(db, did=A, handle="alice.test", display_name=None, avatar_url=None)
        upsert_signed_in_user(db, did=B, handle="alice.other", display_name=None, avatar_url=None)
        db.commit()
        assert suggest_username(db, "alice.test") == "alice"
        set_username(db, A, " Alice ")
        db.commit()
        assert suggest_username(db, "alice.other") == "alice-2"
        with pytest.raises(Conflict, match="taken"):
            set_username(db, B, "alice")
        with pytest.raises(Conflict, match="already chosen"):
            set_username(db, A, "alice-again")
        with pytest.raises(InputError, match="reserved"):
            set_username(db, B, "admin")
        set_username(db, B, "alice-2")
        db.commit()
    with db_factory() as db:
        assert {u.username for u in db.query(User)} == {"alice", "alice-2"}


@pytest.mark.parametrize(
    ("handle", "suggestion"),
    [
        ("alice.bsky.social", "alice"),
        ("Al_ice.example.com", "al-ice"),
        ("42.example.com", "user-42"),
        ("ab.example.com", "ab-user"),
        ("admin.example.com", "admin-2"),
        (None, "user-2"),  # "user" is reserved
        ("a" * 60 + ".example.com", "a" * 26),
    ],
)
def test_suggestions_are_valid_usernames(
    db_factory: sessionmaker[Session], handle: str | None, suggestion: str
) -> None:
    with db_factory() as db:
        got = suggest_username(db, handle)
    assert got == suggestion
    assert username_problem(got) is None
