"""Operator actions behind ``wikibot-admin``: users, tiers, lapsing wikis, usage."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wikibot_shared import storage
from wikibot_shared.errors import Conflict, InputError, NotFound
from wikibot_shared.models import PaymentStatus, User, Wiki
from wikibot_shared.tenant import slug_problem
from wikibot_shared.tiers import Usage, repo_usage

from ..config import PlatformSettings
from .identity import check_did, find_user, normalize_handle

log = logging.getLogger("wikibot.platform.admin")


def check_username(name: str) -> str:
    """Usernames follow the wiki-name rules (URL-safe, reserved names refused)."""
    problem = slug_problem(name)
    if problem:
        raise InputError(f"username: {problem.replace('a wiki name', 'a username')}", code="invalid_username")
    return name


def create_user(db: Session, *, did: str, handle: str, username: str, tier: str = "free") -> User:
    did = check_did(did)
    handle = normalize_handle(handle)
    username = check_username(username)
    if db.get(User, did) is not None:
        raise Conflict(f"a user with DID {did} exists", code="user_exists")
    if db.execute(select(User).where(User.username == username)).first() is not None:
        raise Conflict(f"the username {username} is taken", code="username_taken")
    user = User(did=did, handle=handle, username=username, tier=tier)
    db.add(user)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise Conflict("that user exists", code="user_exists") from None
    log.info("user created by an operator", extra={"did": did, "username": username})
    return user


def get_user(db: Session, ref: str) -> User:
    user = find_user(db, ref)
    if user is None:
        raise NotFound(f"no user {ref!r} (give a username, handle or DID)", code="unknown_user")
    return user


def get_wiki(db: Session, slug: str) -> Wiki:
    wiki = db.get(Wiki, slug)
    if wiki is None:
        raise NotFound(f"there is no wiki '{slug}'", code="unknown_wiki")
    return wiki


def set_user_tier(db: Session, settings: PlatformSettings, ref: str, tier: str) -> tuple[User, list[str]]:
    """The user's tier, and the tier of every wiki they own (the owner's plan covers their wikis)."""
    if tier not in settings.tiers:
        raise InputError(f"unknown tier {tier!r}; known: {', '.join(settings.tiers)}", code="unknown_tier")
    user = get_user(db, ref)
    user.tier = tier
    wikis = list(db.execute(select(Wiki).where(Wiki.owner_did == user.did).order_by(Wiki.slug)).scalars())
    for wiki in wikis:
        wiki.tier = tier
    db.commit()
    log.info("tier set", extra={"did": user.did, "tier": tier})
    return user, [w.slug for w in wikis]


def set_wiki_tier(db: Session, settings: PlatformSettings, slug: str, tier: str) -> Wiki:
    if tier not in settings.tiers:
        raise InputError(f"unknown tier {tier!r}; known: {', '.join(settings.tiers)}", code="unknown_tier")
    wiki = get_wiki(db, slug)
    wiki.tier = tier
    db.commit()
    return wiki


def set_payment_status(db: Session, slug: str, status: PaymentStatus) -> Wiki:
    wiki = get_wiki(db, slug)
    wiki.payment_status = status.value
    db.commit()
    log.info("wiki payment status set", extra={"wiki": slug, "status": status.value})
    return wiki


@dataclass(frozen=True)
class WikiUsage:
    slug: str
    owner: str
    tier: str
    payment_status: str
    usage: Usage


def usage(db: Session, settings: PlatformSettings, slug: str | None = None) -> list[WikiUsage]:
    """Pages and bytes measured from each repository now (and written back to ``wikis``)."""
    stmt = select(Wiki, User.username).join(User, User.did == Wiki.owner_did).order_by(Wiki.slug)
    if slug:
        get_wiki(db, slug)
        stmt = stmt.where(Wiki.slug == slug)
    rows = []
    for wiki, owner in db.execute(stmt).all():
        measured = repo_usage(storage.wiki_paths(settings.wikis_dir, wiki.slug).repo)
        wiki.page_count, wiki.bytes = measured.pages, measured.bytes
        rows.append(WikiUsage(wiki.slug, owner or wiki.owner_did, wiki.tier, wiki.payment_status, measured))
    db.commit()
    return rows


def list_users(db: Session) -> list[tuple[User, int]]:
    owned = select(Wiki.owner_did, func.count().label("n")).group_by(Wiki.owner_did).subquery()
    rows = db.execute(
        select(User, func.coalesce(owned.c.n, 0))
        .outerjoin(owned, owned.c.owner_did == User.did)
        .order_by(User.created_at)
    ).all()
    return [(u, int(n)) for u, n in rows]


def list_wikis(db: Session) -> list[tuple[Wiki, str | None]]:
    rows = db.execute(
        select(Wiki, User.username).join(User, User.did == Wiki.owner_did).order_by(Wiki.slug)
    ).all()
    return [(w, u) for w, u in rows]
