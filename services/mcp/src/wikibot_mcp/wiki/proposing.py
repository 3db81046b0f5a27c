"""Writes that become proposals (``wikibot_shared.proposals``), and what an agent can ask about its proposals.

An actor that ``proposes`` (its credential, or the wiki's switch for agents, says so: ``acl.proposes``) writes
through the same plans and checks as every write, but into its open proposal's worktree: under the wiki's lock,
the worktree is made ready (opened at main's HEAD for a new proposal, or brought back to the proposal's last
recorded commit), the change is committed there, ``refs/proposals/{n}`` moves to it and the proposal's row is
written. A failed or empty first write leaves no proposal behind. Main, its index and its search are untouched;
the answer says where the change went, in a sentence to relay.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wikibot_shared import acl, proposals
from wikibot_shared.errors import Forbidden, InputError, NotFound
from wikibot_shared.models import Proposal
from wikibot_shared.queue import notify_change

from . import gitrepo
from .context import Actor, Base, Plan

log = logging.getLogger("wikibot.mcp.proposals")
MAX_LISTED = 50


def proposal_view(p: Proposal, url: str) -> dict[str, Any]:
    return {
        "id": p.number,
        "url": url,
        "state": p.state,
        "title": p.title,
        "commits": p.commits,
        "pages": [f[:-3] if f.endswith(".md") else f for f in p.paths],
        "updated": p.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "comment": p.comment,
        "decided_by": p.decided_by_name,
        "merged_commit": p.merged_commit,
    }


class ProposalOps(Base):
    def propose(self, actor: Actor, plan_for: Any) -> dict[str, Any]:
        if not actor.credential:
            raise Forbidden(
                "only an agent's token or app writes proposals"
            )  # a caller's bug: sessions never do
        repo = self.repo(actor.slug)
        space = proposals.workspace(self.wikis_dir, actor.slug, actor.credential)
        with self._write_lock(actor.slug), self.db() as db:
            row = self._open_row(db, actor)
            main = gitrepo.read_head(repo)
            if main is None:
                raise NotFound(f"the wiki '{actor.slug}' has no commit yet", code="no_repository")
            start = row.head_commit if row else main
            if gitrepo.read_head(space) != start:
                proposals.open_workspace(repo, space, start)
            try:
                plan, sha, _snap = self.commit_in(actor, space, plan_for)
            except BaseException:
                if row is None:
                    proposals.remove_workspace(repo, space)
                raise
            if sha is None:
                if row is None:
                    proposals.remove_workspace(repo, space)
                return {**plan.result, "changed": False, "commit": main, **self._said(actor, row)}
            opened = row is None
            row = self._record(db, actor, row, plan, base=main, head=sha, repo=repo)
            proposals.set_ref(repo, row.number, sha)
            db.commit()
            answer = {**plan.result, "changed": True, "commit": main, **self._said(actor, row, sha)}
        self._announce(actor, row.number, "proposal.opened" if opened else "proposal.updated")
        return answer

    # -- rows -------------------------------------------------------------------------------------------
    def _open_row(self, db: Session, actor: Actor) -> Proposal | None:
        return db.scalars(
            select(Proposal).where(
                Proposal.wiki_slug == actor.slug,
                Proposal.credential_id == actor.credential,
                Proposal.state == "open",
            )
        ).first()

    def _record(
        self, db: Session, actor: Actor, row: Proposal | None, plan: Plan, *, base: str, head: str, repo: Path
    ) -> Proposal:
        now = datetime.now(UTC)
        if row is None:
            number = (
                db.scalar(select(func.max(Proposal.number)).where(Proposal.wiki_slug == actor.slug)) or 0
            ) + 1
            row = Proposal(
                wiki_slug=actor.slug,
                number=number,
                state="open",
                credential_id=actor.credential,
                credential_kind=actor.credential_kind or "pat",
                author_did=actor.did or "",
                author_name=actor.author.name[:300],
                title=plan.message.splitlines()[0][:300] if plan.message else "Changes",
                base_commit=base,
                head_commit=head,
                commits=0,
                paths=[],
                created_at=now,
            )
            db.add(row)
        row.head_commit = head
        row.commits = (row.commits or 0) + 1
        row.paths = proposals.changed_paths(repo, row.base_commit, head)
        row.updated_at = now
        db.flush()
        return row

    def _said(self, actor: Actor, row: Proposal | None, sha: str | None = None) -> dict[str, Any]:
        if row is None:
            return {}
        return {
            "proposal": {
                "id": row.number,
                "url": self.proposal_url(actor.slug, row.number),
                "state": row.state,
                "commit": sha or row.head_commit,
                "notice": (
                    f"Proposed for review as #{row.number}: a person with write access will approve or reject "
                    f"it before it appears in the wiki. Later writes add to #{row.number}; list_proposals "
                    "shows its state and the reviewer's comment."
                ),
            }
        }

    def _announce(self, actor: Actor, number: int, event: str) -> None:
        try:
            notify_change(self.redis, actor.slug, source=actor.source, event=event, proposal=number)
        except Exception as exc:  # noqa: BLE001 - the proposal stands; its event is best-effort like any notice
            log.warning("could not send a proposal event", extra={"wiki": actor.slug, "error": str(exc)})

    # -- reading ----------------------------------------------------------------------------------------
    def list_proposals(self, actor: Actor, state: str | None = None) -> dict[str, Any]:
        """The actor's own proposals (an agent), or every proposal of the wiki (someone who may write there)."""
        if state is not None and state not in ("open", "approved", "rejected"):
            raise InputError("state is one of open, approved, rejected", code="invalid_request")
        query = select(Proposal).where(Proposal.wiki_slug == actor.slug)
        if actor.credential and actor.proposes:
            query = query.where(Proposal.credential_id == actor.credential)
        elif not actor.access.can(acl.Action.WRITE):
            raise Forbidden("only the wiki's writers, and the agent that made them, see its proposals")
        if state:
            query = query.where(Proposal.state == state)
        with self.db() as db:
            rows = db.scalars(query.order_by(Proposal.number.desc()).limit(MAX_LISTED)).all()
            return {
                "proposals": [proposal_view(r, self.proposal_url(actor.slug, r.number)) for r in rows],
                "proposes": actor.proposes,
            }

    def proposal_commit(self, actor: Actor, number: int) -> str:
        """The commit a proposal is at, for reading a page as it proposes it; only its agent and the wiki's
        writers may."""
        with self.db() as db:
            row = db.scalars(
                select(Proposal).where(Proposal.wiki_slug == actor.slug, Proposal.number == number)
            ).first()
            if row is None:
                raise NotFound(f"there is no proposal #{number} in this wiki", code="unknown_proposal")
            if row.credential_id != actor.credential and not actor.access.can(acl.Action.WRITE):
                raise Forbidden(f"proposal #{number} is another agent's; only the wiki's writers may read it")
            return row.head_commit
