"""Reviewing what agents proposed (``wikibot_shared.proposals``; docs/proposals.md): list, look at the diff,
approve (merged onto main under the wiki's lock) or reject with a comment the agent reads.

Who reviews: anyone who may write the wiki (owners, editors), within their own folders. At approval the rules
are checked again as they are now: the proposing credential's and its person's folders, that person still
writing here, the wiki's tier, and no conflict left unresolved.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from wikibot_shared import acl, proposals
from wikibot_shared.errors import Conflict, Forbidden, InputError, NotFound
from wikibot_shared.locks import repo_lock
from wikibot_shared.models import AccessToken, OAuthGrant, Proposal, Wiki
from wikibot_shared.pathrules import WriteArea, loaded
from wikibot_shared.queue import notify_change
from wikibot_shared.storage import Author, wiki_paths
from wikibot_shared.tiers import check_growth, repo_usage, tier_for
from wikibot_shared.verify import Principal

from ..config import PlatformSettings
from ..schemas import ProposalDecision, ProposalDetail, ProposalFile, ProposalPublic
from .wikis import access

log = logging.getLogger("wikibot.platform.proposals")
MAX_COMMENT = 2000
MAX_LISTED = 200


def _view(settings: PlatformSettings, p: Proposal) -> ProposalPublic:
    return ProposalPublic(
        id=p.number,
        state=p.state,  # type: ignore[arg-type]
        title=p.title,
        author_did=p.author_did,
        author=p.author_name,
        credential_kind=p.credential_kind,  # type: ignore[arg-type]
        credential_id=p.credential_id,
        commits=p.commits,
        pages=[f[:-3] if f.endswith(".md") else f for f in p.paths],
        created_at=p.created_at,
        updated_at=p.updated_at,
        decided_at=p.decided_at,
        decided_by=p.decided_by_name,
        comment=p.comment,
        merged_commit=p.merged_commit,
        url=f"{settings.platform_url}/app/wikis/{p.wiki_slug}/proposals/{p.number}",
    )


def review_setting(found: acl.WikiAccess, wanted: str) -> str | None:
    """What a credential's ``review`` column becomes for ``wanted`` (propose | direct | wiki). Only owners may let a
    credential write past the wiki's review (direct) or send it back to the wiki's rule; anyone may make their own
    credential stricter (propose)."""
    if wanted not in ("propose", "direct", "wiki"):
        raise InputError("review is one of propose, direct, wiki", code="invalid_request")
    if wanted != "propose" and not found.can(acl.Action.MANAGE):
        raise Forbidden("only the wiki's owners decide which agents write without review", code="forbidden")
    return None if wanted == "wiki" else wanted


def _reviewer(db: Session, slug: str, principal: Principal) -> acl.WikiAccess:
    found = access(db, slug, principal, acl.Action.READ)
    if not found.can(acl.Action.WRITE):
        raise Forbidden("only people who may change this wiki review its proposals", code="forbidden")
    return found


def _get(db: Session, slug: str, number: int) -> Proposal:
    row = db.scalars(select(Proposal).where(Proposal.wiki_slug == slug, Proposal.number == number)).first()
    if row is None:
        raise NotFound(f"there is no proposal #{number} in '{slug}'", code="unknown_proposal")
    return row


def list_proposals(
    db: Session, settings: PlatformSettings, slug: str, principal: Principal, state: str | None = None
) -> list[ProposalPublic]:
    _reviewer(db, slug, principal)
    query = select(Proposal).where(Proposal.wiki_slug == slug)
    if state is not None:
        query = query.where(Proposal.state == state)
    rows = db.scalars(query.order_by(Proposal.number.desc()).limit(MAX_LISTED)).all()
    return [_view(settings, r) for r in rows]


def get_proposal(
    db: Session, settings: PlatformSettings, slug: str, principal: Principal, number: int
) -> ProposalDetail:
    """A proposal with what approving it would do now: each file's version on main and after, conflicts marked."""
    _reviewer(db, slug, principal)
    row = _get(db, slug, number)
    repo = wiki_paths(settings.wikis_dir, slug).repo
    files: list[ProposalFile] = []
    conflicts: list[str] = []
    if row.state == "open":
        merge = proposals.plan(repo, row.base_commit, row.head_commit)
        conflicts = merge.conflicts
        files = [
            ProposalFile(path=d.path, before=d.before, after=d.after, conflict=d.conflict)
            for d in proposals.diffs(repo, merge)
        ]
    found = proposals.commits(repo, row.base_commit, row.head_commit)
    return ProposalDetail(
        **_view(settings, row).model_dump(),
        files=files,
        conflicts=conflicts,
        messages=[c.message.splitlines()[0] if c.message else "" for c in found],
    )


@dataclass(frozen=True)
class _Rules:
    """The proposer's folders as they are now, and whether they still write here."""

    area: WriteArea
    writes: bool


def _proposer(db: Session, slug: str, row: Proposal) -> _Rules:
    member = acl.wiki_access(db, slug, row.author_did or None)
    cred: OAuthGrant | AccessToken | None = (
        db.get(OAuthGrant, row.credential_id)
        if row.credential_kind == "oauth"
        else db.get(AccessToken, row.credential_id)
    )
    live = cred is not None and cred.revoked_at is None
    paths = loaded(cred.write_paths) if cred is not None else None
    return _Rules(acl.write_area(member, paths, row.credential_kind), live and member.can(acl.Action.WRITE))


def _clean_comment(comment: str | None) -> str | None:
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise InputError(f"a comment is at most {MAX_COMMENT} characters", code="invalid_comment")
    return text or None


def approve(
    db: Session,
    settings: PlatformSettings,
    client: redis.Redis,
    slug: str,
    principal: Principal,
    number: int,
    decision: ProposalDecision,
) -> ProposalPublic:
    reviewer_access = _reviewer(db, slug, principal)
    comment = _clean_comment(decision.comment)
    repo = wiki_paths(settings.wikis_dir, slug).repo
    reviewer = Author.for_did(principal.did or "", principal.handle)
    with repo_lock(settings.wikis_dir, slug):
        row = _get(db, slug, number)
        if row.state != "open":
            raise Conflict(f"proposal #{number} was already {row.state}", code="proposal_closed")
        merge = proposals.plan(repo, row.base_commit, row.head_commit)
        tree = proposals.resolve(repo, merge, row.head_commit, decision.resolve or {})
        changed = proposals.changed_paths(repo, merge.main, tree)
        rules = _proposer(db, slug, row)
        if not rules.writes:
            raise Forbidden(
                f"proposal #{number} was made by a token or app that may no longer write here; reject it",
                code="proposer_cannot_write",
            )
        rules.area.check(rules.area.outside(changed))
        reviewer_area = acl.write_area(reviewer_access, None, "session")
        reviewer_area.check(reviewer_area.outside(changed))
        wiki = db.get(Wiki, slug)
        assert wiki is not None
        after = repo_usage(repo, tree)
        check_growth(tier_for(settings.tiers, wiki.tier), repo_usage(repo, merge.main), after)
        found = proposals.commits(repo, row.base_commit, row.head_commit)
        if tree != merge.tree:  # conflicts resolved: land the resolved tree as one commit
            merge = proposals.Merge(merge.main, tree, False, changed, [])
        head = proposals.land(
            repo,
            merge,
            tree,
            found,
            number=number,
            title=row.title,
            reviewer=reviewer,
            when=int(time.time()),
            credential=(row.credential_kind, row.credential_id),
        )
        proposals.remove_workspace(repo, proposals.workspace(settings.wikis_dir, slug, row.credential_id))
        now = datetime.now(UTC)
        row.state, row.decided_at, row.merged_commit, row.comment = "approved", now, head, comment
        row.decided_by, row.decided_by_name = principal.did, principal.handle or principal.did
        wiki.page_count, wiki.bytes = after.pages, after.bytes
        db.commit()
    log.info("proposal approved", extra={"wiki": slug, "proposal": number, "by": principal.did})
    _notify(client, slug, "proposal.approved", number, commit=head, paths=changed)
    return _view(settings, row)


def reject(
    db: Session,
    settings: PlatformSettings,
    client: redis.Redis,
    slug: str,
    principal: Principal,
    number: int,
    decision: ProposalDecision,
) -> ProposalPublic:
    _reviewer(db, slug, principal)
    if decision.resolve:
        raise InputError(
            "resolutions are for approving; a rejection takes a comment only", code="invalid_request"
        )
    comment = _clean_comment(decision.comment)
    repo = wiki_paths(settings.wikis_dir, slug).repo
    with repo_lock(settings.wikis_dir, slug):
        row = _get(db, slug, number)
        if row.state != "open":
            raise Conflict(f"proposal #{number} was already {row.state}", code="proposal_closed")
        proposals.remove_workspace(repo, proposals.workspace(settings.wikis_dir, slug, row.credential_id))
        row.state, row.decided_at, row.comment = "rejected", datetime.now(UTC), comment
        row.decided_by, row.decided_by_name = principal.did, principal.handle or principal.did
        db.commit()
    log.info("proposal rejected", extra={"wiki": slug, "proposal": number, "by": principal.did})
    _notify(client, slug, "proposal.rejected", number)
    return _view(settings, row)


def _notify(
    client: redis.Redis,
    slug: str,
    event: str,
    number: int,
    *,
    commit: str | None = None,
    paths: Sequence[str] = (),
) -> None:
    """The commit (page events, the index) when one landed, and the proposal's own event."""
    try:
        if commit:
            notify_change(client, slug, source="review", commit=commit, paths=paths)
        notify_change(client, slug, source="review", event=event, proposal=number)
    except redis.RedisError as exc:  # hints: the embedder's sweep finds the commit anyway
        log.warning("could not send a proposal notice", extra={"wiki": slug, "error": str(exc)})
