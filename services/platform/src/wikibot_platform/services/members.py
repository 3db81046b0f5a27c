"""Collaborators: who may do what on a wiki. Only owners change them; anyone may leave a wiki they joined.

An editor can be limited to some folders (``paths``, ``pathrules``): an editor there, a viewer elsewhere.
The owner of record (``wikis.owner_did``) is listed as an owner but cannot be removed or demoted here: the
wiki (its tier, its billing) is theirs. Removing someone also revokes their personal access tokens and connected
apps on that wiki, so adding them again later does not bring old credentials back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wikibot_shared.acl import Action
from wikibot_shared.errors import Conflict, InputError, NotFound
from wikibot_shared.models import AccessToken, Acl, OAuthGrant, OAuthRefreshToken, Role, User, Wiki
from wikibot_shared.pathrules import loaded, parse_prefixes, stored
from wikibot_shared.verify import Principal

from ..schemas import MemberCreate, MemberPublic, MemberUpdate
from ..webhooks.events import member_event
from ..webhooks.worker import announce
from .identity import HandleResolver, check_did, resolve_person
from .wikis import access, did_of, member_access

log = logging.getLogger("wikibot.platform.members")
ROLES = tuple(r.value for r in Role)


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InputError(f"role must be one of {', '.join(ROLES)}", code="invalid_role") from None


def check_paths(role: Role, given: list[str] | None) -> tuple[str, ...] | None:
    """Only an editor is limited to folders (an editor there, a viewer elsewhere)."""
    paths = parse_prefixes(given)
    if paths is not None and role is not Role.EDITOR:
        raise InputError(
            f"paths make an editor of some folders only; a collaborator who is {role.value} cannot have them",
            code="invalid_path",
        )
    return paths


def list_members(db: Session, slug: str, principal: Principal) -> list[MemberPublic]:
    member_access(db, slug, principal)
    return _members(db, slug)


def _members(db: Session, slug: str) -> list[MemberPublic]:
    wiki = db.get(Wiki, slug)
    assert wiki is not None
    rows = db.execute(
        select(Acl, User.handle, User.display_name)
        .outerjoin(User, User.did == Acl.grantee_did)
        .where(Acl.wiki_slug == slug)
    ).all()
    owner = db.get(User, wiki.owner_did)
    views = [
        MemberPublic(
            did=wiki.owner_did,
            handle=owner.handle if owner else None,
            display_name=owner.display_name if owner else None,
            role=Role.OWNER.value,
            owner_of_record=True,
            granted_at=wiki.created_at,
            granted_by=None,
            paths=None,
        )
    ]
    order = {r: i for i, r in enumerate(ROLES)}
    for row, handle, name in sorted(rows, key=lambda r: (order[r[0].role], r[1] or r[0].grantee_did)):
        views.append(
            MemberPublic(
                did=row.grantee_did,
                handle=handle,
                display_name=name,
                role=row.role,
                owner_of_record=False,
                granted_at=row.granted_at,
                granted_by=row.granted_by,
                paths=stored(loaded(row.write_paths)),
            )
        )
    return views


def _member(db: Session, slug: str, did: str) -> MemberPublic:
    for view in _members(db, slug):
        if view.did == did:
            return view
    raise NotFound(f"{did} is not a collaborator on '{slug}'", code="unknown_member")


def add_member(
    db: Session, principal: Principal, slug: str, new: MemberCreate, resolver: HandleResolver | None = None
) -> MemberPublic:
    """Owners: ``new.handle`` or ``new.did`` (exactly one) gets ``new.role``; unknown handles go to ``resolver``."""
    access(db, slug, principal, Action.MANAGE)
    new_role = check_role(new.role)
    paths = check_paths(new_role, new.paths)
    person = resolve_person(db, handle=new.handle, did=new.did, resolver=resolver)
    wiki = db.get(Wiki, slug)
    assert wiki is not None
    if person.did == wiki.owner_did:
        raise Conflict("that person owns this wiki", code="already_member")
    if db.get(Acl, (slug, person.did)) is not None:
        raise Conflict(
            f"{person.handle or person.did} is already a collaborator; change their role instead",
            code="already_member",
        )
    db.add(
        Acl(
            wiki_slug=slug,
            grantee_did=person.did,
            role=new_role.value,
            granted_by=did_of(principal),
            write_paths=stored(paths),
        )
    )
    _announce(db, slug, "added", person.did, new_role.value, principal, paths)
    db.commit()
    log.info("collaborator added", extra={"wiki": slug, "grantee": person.did, "role": new_role.value})
    view = _member(db, slug, person.did)
    if view.handle is None and person.handle:
        view = view.model_copy(update={"handle": person.handle})
    return view


def set_role(db: Session, principal: Principal, slug: str, did: str, change: MemberUpdate) -> MemberPublic:
    access(db, slug, principal, Action.MANAGE)
    if change.role is None and "paths" not in change.model_fields_set:
        raise InputError("give a new role, paths, or both", code="invalid_request")
    did = check_did(did)
    wiki = db.get(Wiki, slug)
    assert wiki is not None
    if did == wiki.owner_did:
        raise Conflict("the wiki's owner of record always stays an owner", code="owner_of_record")
    row = db.get(Acl, (slug, did))
    if row is None:
        raise NotFound(f"{did} is not a collaborator on '{slug}'", code="unknown_member")
    new_role = check_role(change.role or row.role)
    keep = loaded(row.write_paths) if new_role is Role.EDITOR else None
    paths = check_paths(new_role, change.paths) if "paths" in change.model_fields_set else keep
    row.role = new_role.value
    row.write_paths = stored(paths)
    row.granted_by = did_of(principal)
    _announce(db, slug, "changed", did, new_role.value, principal, paths)
    db.commit()
    log.info(
        "collaborator role changed",
        extra={"wiki": slug, "grantee": did, "role": new_role.value, "limited": paths is not None},
    )
    return _member(db, slug, did)


def remove_member(db: Session, principal: Principal, slug: str, did: str) -> None:
    did = check_did(did)
    if did == principal.did:
        member_access(db, slug, principal)  # leaving a wiki needs only to be on it
    else:
        access(db, slug, principal, Action.MANAGE)
    wiki = db.get(Wiki, slug)
    assert wiki is not None
    if did == wiki.owner_did:
        raise Conflict(
            "the wiki's owner of record cannot be removed; delete the wiki instead", code="owner_of_record"
        )
    row = db.get(Acl, (slug, did))
    if row is None:
        raise NotFound(f"{did} is not a collaborator on '{slug}'", code="unknown_member")
    db.delete(row)
    revoke_credentials(db, slug, did)
    _announce(db, slug, "removed", did, None, principal, None)
    db.commit()
    log.info("collaborator removed", extra={"wiki": slug, "grantee": did})


def _announce(
    db: Session,
    slug: str,
    kind: str,
    did: str,
    role: str | None,
    by: Principal,
    paths: tuple[str, ...] | None,
) -> None:
    """The change, to the wiki's webhooks (``member.added`` / ``changed`` / ``removed``), in the same commit."""
    user = db.get(User, did)
    event = member_event(
        slug,
        kind,
        did=did,
        handle=user.handle if user else None,
        role=role,
        by=by.did,
        paths=stored(paths),
    )
    announce(db, slug, event)


ENDED_BY_REMOVAL = "disconnected: its person was removed from the wiki"


def revoke_credentials(db: Session, slug: str, did: str) -> None:
    """End ``did``'s personal access tokens and OAuth grants (and their refresh tokens) on ``slug``."""
    now = datetime.now(UTC)
    db.execute(
        update(AccessToken)
        .where(AccessToken.wiki_slug == slug, AccessToken.owner_did == did, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    grants = select(OAuthGrant.id).where(OAuthGrant.wiki_slug == slug, OAuthGrant.user_did == did)
    db.execute(
        update(OAuthRefreshToken)
        .where(OAuthRefreshToken.grant_id.in_(grants), OAuthRefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.execute(
        update(OAuthGrant)
        .where(OAuthGrant.wiki_slug == slug, OAuthGrant.user_did == did, OAuthGrant.revoked_at.is_(None))
        .values(revoked_at=now, last_refusal_at=now, last_refusal=ENDED_BY_REMOVAL)
    )
