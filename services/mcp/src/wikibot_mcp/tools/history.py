"""Tools about how pages connect and change: get_links, get_history, diff_note, restore_note,
get_recent_changes, find_orphaned_notes, list_proposals."""

# No ``from __future__ import annotations``: FastMCP reads these signatures as objects to build the schemas.
from typing import Annotated, Literal

from pydantic import Field

from ..wiki import WikiCore
from .declare import BaseRevision, Message, Path, Toolbox, actor
from .results import Orphans, PageDiff, PageHistory, PageLinks, PageRestored, ProposalList, RecentChanges

Commit = Annotated[str, Field(description="A commit from get_history.")]


def register(tools: Toolbox, core: WikiCore) -> None:
    @tools.read("Links of a page")
    def get_links(path: Path) -> PageLinks:
        """Links of a page: pages it links to, links to pages that do not exist yet, and pages linking to it."""
        return PageLinks.model_validate(core.links(actor(), path))

    @tools.read("History of a page")
    def get_history(
        path: Path,
        limit: Annotated[int, Field(ge=1, le=200, description="Commits per call, newest first.")] = 20,
        offset: Annotated[
            int, Field(ge=0, description="Commits to skip ('next_offset' of the previous call).")
        ] = 0,
    ) -> PageHistory:
        """The commits that changed a page (who, when, message). Read an old version with read_note(revision=…)."""
        return PageHistory.model_validate(core.history(actor(), path, limit=limit, offset=offset))

    @tools.read("Diff of a page")
    def diff_note(
        path: Path,
        from_commit: Commit,
        to_commit: Annotated[str | None, Field(description="Another commit; default: the page now.")] = None,
    ) -> PageDiff:
        """What changed in a page between two commits, or since one: a unified diff."""
        return PageDiff.model_validate(core.diff(actor(), path, from_commit, to_commit))

    @tools.idempotent_write("Restore a page")
    def restore_note(
        path: Path, commit: Commit, base_revision: BaseRevision = None, message: Message = None
    ) -> PageRestored:
        """Put a page back as it was at a commit, as a new commit (a deleted page comes back). Pass the page's
        current revision as base_revision if it exists."""
        return PageRestored.model_validate(
            core.restore(actor(), path, commit, base_revision=base_revision, message=message)
        )

    @tools.read("Recent changes")
    def get_recent_changes(
        limit: Annotated[int, Field(ge=1, le=200, description="How many commits, newest first.")] = 20,
        since: Annotated[
            str | None, Field(description="Only commits at or after this time (ISO 8601).")
        ] = None,
    ) -> RecentChanges:
        """What changed in the wiki recently: commits with their author, message and the pages they touched."""
        return RecentChanges.model_validate(core.changes(actor(), limit=limit, since=since))

    @tools.read("Orphaned pages")
    def find_orphaned_notes(
        limit: Annotated[int, Field(ge=1, le=500, description="At most this many paths.")] = 200,
    ) -> Orphans:
        """Pages no other page links to (the Home page excepted): candidates for linking or clean-up."""
        return Orphans.model_validate(core.orphans(actor(), limit=limit))

    @tools.read("Proposals awaiting review")
    def list_proposals(
        state: Annotated[
            Literal["open", "approved", "rejected"] | None, Field(description="Only proposals in this state.")
        ] = None,
    ) -> ProposalList:
        """Your proposals on a wiki where agents' writes are reviewed (or, for a wiki's writers, everyone's):
        their state and the reviewer's comment. Read one with read_note(proposal=…)."""
        return ProposalList.model_validate(core.list_proposals(actor(), state=state))
