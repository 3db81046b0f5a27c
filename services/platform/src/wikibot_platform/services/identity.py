"""Finding a person by handle, DID or username: known users first, then (for handles) the ATProto resolver.

TODO(lead): wire platform-auth's handle resolver here. ``create_app`` passes ``app.state.handle_resolver`` (None
until then) to ``resolve_person``; give it a callable ``handle -> DID or None`` that uses the hardened HTTP
client and checks the DID document points back to the handle. Until it is wired, a handle must belong to someone
who has signed in here before (or add them by DID).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wikibot_shared.errors import InputError, NotFound
from wikibot_shared.models import User

HandleResolver = Callable[[str], str | None]

# W3C DID Core §3.1: did:method:method-specific-id
DID_RE = re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,500}$")
# ATProto handle syntax: a DNS name of at least two labels
HANDLE_RE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
DEFAULT_HANDLE_SUFFIX = ".bsky.social"


@dataclass(frozen=True)
class Person:
    did: str
    handle: str | None
    display_name: str | None = None
    known: bool = True  # has signed in here (a users row)


def check_did(did: str) -> str:
    did = did.strip()
    if not DID_RE.match(did) or len(did) > 512:
        raise InputError(f"{did!r} is not a DID (did:plc:… or did:web:…)", code="invalid_did")
    return did


def normalize_handle(raw: str) -> str:
    """``@Alice.bsky.social`` → ``alice.bsky.social``; a bare ``alice`` → ``alice.bsky.social``."""
    handle = raw.strip().lstrip("@").lower().rstrip(".")
    if handle and "." not in handle:
        handle += DEFAULT_HANDLE_SUFFIX
    if len(handle) > 253 or not HANDLE_RE.match(handle):
        raise InputError(f"{raw.strip()!r} is not a handle (like alice.bsky.social)", code="invalid_handle")
    return handle


def find_user(db: Session, ref: str) -> User | None:
    """A known user by DID, username or handle (``@`` optional)."""
    ref = ref.strip()
    if ref.startswith("did:"):
        return db.get(User, ref)
    name = ref.lstrip("@").lower()
    return db.execute(
        select(User).where(or_(User.username == name, User.handle == name)).order_by(User.created_at)
    ).scalar()


def resolve_person(
    db: Session, *, handle: str | None = None, did: str | None = None, resolver: HandleResolver | None = None
) -> Person:
    """The person a collaborator form or API call names: exactly one of ``handle`` and ``did``."""
    if bool(handle) == bool(did):
        raise InputError("name the person by exactly one of handle or did", code="invalid_request")
    if did:
        did = check_did(did)
        user = db.get(User, did)
        if user is None:
            return Person(did=did, handle=None, known=False)
        return Person(did=user.did, handle=user.handle, display_name=user.display_name)
    assert handle is not None
    if handle.strip().startswith("did:"):
        return resolve_person(db, did=handle, resolver=resolver)
    name = normalize_handle(handle)
    user = db.execute(select(User).where(User.handle == name).order_by(User.created_at)).scalar()
    if user is not None:
        return Person(did=user.did, handle=user.handle, display_name=user.display_name)
    resolved = resolver(name) if resolver is not None else None
    if resolved is None:
        raise NotFound(
            f"no one with the handle @{name} is known here; ask them to sign in once, or add them by DID",
            code="unknown_user",
        )
    return Person(did=check_did(resolved), handle=name, known=False)
