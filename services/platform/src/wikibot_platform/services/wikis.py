"""Wikis: list, create (from the bootstrap template, within the tier), read, change, delete."""

from __future__ import annotations

import logging

import redis
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wikibot_shared import acl, storage
from wikibot_shared.acl import Action, WikiAccess
from wikibot_shared.errors import Conflict, Forbidden, InputError, NotFound
from wikibot_shared.models import Acl, PaymentStatus, Role, User, Wiki
from wikibot_shared.queue import notify_change
from wikibot_shared.tenant import validate_slug
from wikibot_shared.tiers import repo_usage, tier_for
from wikibot_shared.verify import Principal

from .. import limits
from ..config import PlatformSettings
from ..schemas import WikiCreate, WikiPublic, WikiUpdate
from . import bootstrap

log = logging.getLogger("wikibot.platform.wikis")
MAX_DISPLAY_NAME = 200


def _public(settings: PlatformSettings, wiki: Wiki, role: str | None, owner_handle: str | None) -> WikiPublic:
    url = settings.wiki_url(wiki.slug)
    return WikiPublic(
        slug=wiki.slug,
        display_name=wiki.display_name,
        is_public=bool(wiki.is_public),
        role=role,
        owner_did=wiki.owner_did,
        owner_handle=owner_handle,
        tier=wiki.tier,
        payment_status=wiki.payment_status,
        read_only=wiki.payment_status == PaymentStatus.LAPSED.value,
        created_at=wiki.created_at,
        page_count=wiki.page_count,
        bytes=wiki.bytes,
        url=url,
        mcp_url=bootstrap.connect_lines(settings, wiki.slug)["mcp_url"],
        git_url=f"{url}/repo.git",
        settings_url=f"{settings.platform_url}/app/wikis/{wiki.slug}",
        agents_propose=bool(wiki.agents_propose),
    )


def did_of(principal: Principal) -> str:
    assert principal.did is not None
    return principal.did


def access(db: Session, slug: str, principal: Principal | None, action: Action) -> WikiAccess:
    """The shared core's decision for ``principal`` doing ``action`` on ``slug`` (raises if refused)."""
    did = principal.did if principal else None
    found = acl.wiki_access(db, slug, did)
    acl.check(found, action, principal.scopes if principal else None)
    return found


def member_access(db: Session, slug: str, principal: Principal) -> WikiAccess:
    """Read access that comes from a role, not from the wiki being public (collaborator lists, tokens)."""
    found = access(db, slug, principal, Action.READ)
    if found.role is None:
        raise Forbidden(f"you are not a collaborator on '{slug}'", code="no_access")
    return found


def list_wikis(db: Session, settings: PlatformSettings, principal: Principal) -> list[WikiPublic]:
    """Wikis the user owns or collaborates on, owned first, then by name."""
    did = did_of(principal)
    owned = db.execute(select(Wiki).where(Wiki.owner_did == did)).scalars().all()
    shared = db.execute(
        select(Wiki, Acl.role).join(Acl, Acl.wiki_slug == Wiki.slug).where(Acl.grantee_did == did)
    ).all()
    roles: dict[str, tuple[Wiki, str]] = {w.slug: (w, Role.OWNER.value) for w in owned}
    for wiki, role in shared:
        roles.setdefault(wiki.slug, (wiki, role))
    owners = {w.owner_did for w, _ in roles.values()}
    handles = dict(db.execute(select(User.did, User.handle).where(User.did.in_(owners))).tuples().all())
    views = [_public(settings, w, r, handles.get(w.owner_did)) for w, r in roles.values()]
    return sorted(views, key=lambda v: (v.owner_did != did, v.slug))


def get_wiki(db: Session, settings: PlatformSettings, slug: str, principal: Principal | None) -> WikiPublic:
    found = access(db, slug, principal, Action.READ)
    wiki = db.get(Wiki, slug)
    assert wiki is not None
    owner = db.get(User, wiki.owner_did)
    return _public(settings, wiki, found.role.value if found.role else None, owner.handle if owner else None)


def clean_display_name(value: str | None, slug: str) -> str:
    name = " ".join((value or "").split())
    if len(name) > MAX_DISPLAY_NAME:
        raise InputError(f"display name: at most {MAX_DISPLAY_NAME} characters", code="invalid_display_name")
    return name or slug


def create_wiki(
    db: Session, settings: PlatformSettings, client: redis.Redis, principal: Principal, new: WikiCreate
) -> WikiPublic:
    """A wiki from the bootstrap template, owned by ``principal``; counts against ``wiki_create``."""
    did = did_of(principal)
    limits.charge(settings, client, "wiki_create", did)
    slug = validate_slug(new.slug.strip())
    name = clean_display_name(new.display_name, slug)
    user = db.get(User, did)
    if user is None:
        raise NotFound("your account no longer exists", code="unknown_user")
    tier = tier_for(settings.tiers, user.tier)
    owned = db.execute(select(func.count()).select_from(Wiki).where(Wiki.owner_did == did)).scalar_one()
    if owned >= tier.wikis_per_user:
        raise Forbidden(
            f"the {tier.name} tier allows {tier.wikis_per_user} wikis per person and you have {owned}; "
            "delete one or upgrade to create another",
            code="wiki_limit_reached",
        )
    if db.get(Wiki, slug) is not None:
        raise Conflict(f"the name '{slug}' is taken; choose another", code="wiki_exists")
    wiki = Wiki(slug=slug, owner_did=did, display_name=name, is_public=new.is_public, tier=user.tier)
    db.add(wiki)
    try:
        db.flush()  # the primary key serializes two creations of one name before any git work
    except IntegrityError:
        db.rollback()
        raise Conflict(f"the name '{slug}' is taken; choose another", code="wiki_exists") from None
    author = storage.Author.for_did(did, principal.handle, via="Wikibot")
    files = bootstrap.files(settings, slug, name)
    head = storage.init_repo(settings.wikis_dir, slug, files, author, "Create wiki")
    try:
        usage = repo_usage(storage.wiki_paths(settings.wikis_dir, slug).repo)
        wiki.page_count, wiki.bytes = usage.pages, usage.bytes
        db.commit()
    except BaseException:
        db.rollback()
        storage.remove_wiki(settings.wikis_dir, slug)
        raise
    log.info("wiki created", extra={"wiki": slug, "owner": did})
    try:
        notify_change(client, slug, source="platform", commit=head, paths=sorted(files))
    except redis.RedisError as exc:  # a hint only: the embedder's sweep finds the wiki anyway
        log.warning("could not notify the indexer", extra={"wiki": slug, "error": str(exc)})
    return _public(settings, wiki, Role.OWNER.value, principal.handle)


def update_wiki(
    db: Session, settings: PlatformSettings, principal: Principal, slug: str, change: WikiUpdate
) -> WikiPublic:
    """Owners: the fields ``change`` sets (None leaves one as it is)."""
    access(db, slug, principal, Action.MANAGE)
    wiki = db.get(Wiki, slug)
    assert wiki is not None
    if change.display_name is not None:
        wiki.display_name = clean_display_name(change.display_name, slug)
    if change.is_public is not None:
        wiki.is_public = change.is_public
    if change.agents_propose is not None:
        wiki.agents_propose = change.agents_propose
    db.commit()
    return get_wiki(db, settings, slug, principal)


def delete_wiki(db: Session, settings: PlatformSettings, principal: Principal, slug: str) -> None:
    """Database rows first (collaborators, tokens and grants go with the wiki), then the repository."""
    access(db, slug, principal, Action.MANAGE)
    wiki = db.get(Wiki, slug)
    assert wiki is not None
    remove_wikis(db, settings, [wiki])
    log.info("wiki deleted", extra={"wiki": slug, "by": principal.did})


def remove_wikis(db: Session, settings: PlatformSettings, wikis: list[Wiki]) -> None:
    for wiki in wikis:
        db.delete(wiki)
    db.commit()
    for wiki in wikis:
        storage.remove_wiki(settings.wikis_dir, wiki.slug)
