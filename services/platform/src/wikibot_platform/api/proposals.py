"""``/api/wikis/{slug}/proposals``: what agents proposed on a wiki where their writes are reviewed, for the
wiki's writers to approve or reject (docs/proposals.md)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from ..deps import DbDep, RedisDep, SettingsDep, UserDep
from ..schemas import ProposalDecision, ProposalDetail, ProposalPublic
from ..services import proposals

router = APIRouter(prefix="/wikis/{slug}/proposals", tags=["proposals"])


@router.get("", response_model=list[ProposalPublic])
def list_proposals(
    slug: str,
    db: DbDep,
    settings: SettingsDep,
    user: UserDep,
    state: Literal["open", "approved", "rejected"] | None = None,
) -> list[ProposalPublic]:
    """The wiki's proposals, newest first (its owners and editors)."""
    return proposals.list_proposals(db, settings, slug, user, state)


@router.get("/{number}", response_model=ProposalDetail)
def get_proposal(slug: str, number: int, db: DbDep, settings: SettingsDep, user: UserDep) -> ProposalDetail:
    """One proposal, with what approving it would do to each file now and any conflicts."""
    return proposals.get_proposal(db, settings, slug, user, number)


@router.post("/{number}/approve", response_model=ProposalPublic)
def approve(
    slug: str,
    number: int,
    body: ProposalDecision,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
) -> ProposalPublic:
    """Land it on the wiki (the agent stays the author; you are named as approver). 409 while a conflict is
    unresolved: pass ``resolve`` with a choice for each conflicting file."""
    return proposals.approve(db, settings, client, slug, user, number, body)


@router.post("/{number}/reject", response_model=ProposalPublic)
def reject(
    slug: str,
    number: int,
    body: ProposalDecision,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    user: UserDep,
) -> ProposalPublic:
    """Close it without changing the wiki; the comment is what the agent reads (list_proposals)."""
    return proposals.reject(db, settings, client, slug, user, number, body)
