"""Accounts as sign-in sees them: a user row per DID, refreshed at each sign-in, and the username chosen once."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wikibot_shared.errors import Conflict, InputError
from wikibot_shared.models import User
from wikibot_shared.tenant import RESERVED

USERNAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")


def username_problem(name: str) -> str | None:
    """Why ``name`` cannot be a username, or None. Usernames go in URLs: lowercase, digits, single hyphens."""
    if not USERNAME_RE.match(name):
        return (
            "a username is 3–30 characters of lowercase letters, digits and hyphens, "
            "starting with a letter and not ending with a hyphen"
        )
    if "--" in name:
        return "a username cannot contain two hyphens in a row"
    if name in RESERVED:
        return f"'{name}' is reserved"
    return None


def _base_from_handle(handle: str | None) -> str:
    first = (handle or "").split(".", 1)[0].lower()
    cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", first)).strip("-")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = f"user-{cleaned}".strip("-")
    cleaned = cleaned[:26].rstrip("-")
    return cleaned if len(cleaned) >= 3 else f"{cleaned}-user".lstrip("-")


def suggest_username(db: Session, handle: str | None) -> str:
    """The handle's first label, made valid, with a number added if it is reserved or taken."""
    base = _base_from_handle(handle)
    candidates = [base] + [f"{base}-{n}" for n in range(2, 100)]
    taken = set(db.execute(select(User.username).where(User.username.in_(candidates))).scalars())
    for candidate in candidates:
        if candidate not in taken and username_problem(candidate) is None:
            return candidate
    return ""


def upsert_signed_in_user(
    db: Session, *, did: str, handle: str | None, display_name: str | None, avatar_url: str | None
) -> User:
    """Create or refresh the user behind a sign-in (in the caller's transaction).

    The handle was just verified both ways, so any other row still showing it is stale: it is cleared there."""
    now = datetime.now(UTC)
    if handle:
        db.execute(update(User).where(User.handle == handle, User.did != did).values(handle=None))
    user = db.get(User, did)
    if user is None:
        user = User(did=did, created_at=now)
        db.add(user)
    user.handle = handle
    user.display_name = display_name
    user.avatar_url = avatar_url
    user.last_login_at = now
    db.flush()
    return user


def set_username(db: Session, did: str, username: str) -> User:
    """Choose the username once; raises ``InputError`` (invalid), ``Conflict`` (taken or already chosen)."""
    name = username.strip().lower()
    problem = username_problem(name)
    if problem:
        raise InputError(problem, code="invalid_username")
    user = db.get(User, did)
    if user is None:
        raise InputError("no such user", code="invalid_username")
    if user.username is not None:
        raise Conflict("your username is already chosen", code="username_already_set")
    if db.execute(select(User.did).where(User.username == name)).first() is not None:
        raise Conflict(f"'{name}' is taken; choose another", code="username_taken")
    user.username = name
    try:
        db.flush()
    except IntegrityError:  # a concurrent sign-up took it between our check and the write
        db.rollback()
        raise Conflict(f"'{name}' is taken; choose another", code="username_taken") from None
    return user
