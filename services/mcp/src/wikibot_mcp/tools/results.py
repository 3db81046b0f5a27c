"""What the tools return, typed: each tool's ``outputSchema`` (``tools/list``) and its ``structuredContent``.

The wiki core returns plain dicts (REST serves the same ones); these models are their shapes, strict
(``extra="forbid"``), so a field the core adds or drops fails the tool tests instead of drifting from the schema.
Descriptions are short on purpose: every byte of ``tools/list`` is context an agent pays for on each turn.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProposedAs(_Shape):
    id: int
    url: str
    state: str
    commit: str
    notice: str = Field(description="what to tell the person")


class _Written(_Shape):
    changed: bool = Field(description="False if the change was already there (no commit made)")
    commit: str = Field(description="the commit now at HEAD (pass as min_commit to search)")
    proposal: ProposedAs | None = Field(None, description="set when the change awaits review instead")


class Page(_Shape):
    path: str
    title: str | None = None
    url: str | None = None
    updated: str | None = None
    last_commit: str | None = None
    at_commit: str | None = Field(None, description="set when read at an old revision")
    revision: str = Field(description="pass as base_revision to change the page")
    meta: dict[str, Any] = Field(description="front matter")
    tags: list[str]
    categories: list[str]
    size: int
    content: str
    section: str | None = None
    sections: list[str] | None = Field(None, description="section labels, for read_note(section=…)")
    proposal: int | None = None


class PageWritten(_Written):
    path: str
    title: str
    url: str
    updated: str | None = None
    last_commit: str | None = None
    created: bool
    revision: str


class PageEdited(_Written):
    path: str
    title: str
    url: str
    updated: str | None = None
    last_commit: str | None = None
    revision: str
    op: str


class PageDeleted(_Written):
    path: str
    deleted: bool
    attachments_deleted: list[str]


class PageRenamed(_Written):
    path: str
    old_path: str
    url: str
    moved: dict[str, str] = Field(description="old → new path of everything that moved")
    links_updated_in: list[str]
    revision: str


class PageRestored(_Written):
    path: str
    url: str
    restored_from: str
    revision: str
    created: bool = Field(description="the page had been deleted and is back")


class PageDiff(_Shape):
    path: str
    from_commit: str
    to_commit: str | None = Field(description="null: the page as it is now")
    changed: bool
    lines_added: int
    lines_removed: int
    diff: str = Field(description="unified diff")
    truncated: bool


class PageSummary(_Shape):
    path: str
    title: str
    tags: list[str]
    categories: list[str]
    updated: str
    size: int


class PageList(_Shape):
    total: int
    pages: list[PageSummary]
    next_cursor: str | None


class Commit(_Shape):
    commit: str
    author: str
    author_id: str
    date: str
    message: str


class PageHistory(_Shape):
    path: str
    history: list[Commit]
    next_offset: int | None


class FileChange(_Shape):
    path: str
    change: Literal["created", "modified", "deleted"]


class Change(_Shape):
    commit: str
    author: str
    date: str
    message: str
    pages: list[FileChange]
    files: list[FileChange]


class RecentChanges(_Shape):
    changes: list[Change]


class PageLinks(_Shape):
    path: str
    links_to: list[str]
    missing: list[str] = Field(description="linked pages that do not exist yet")
    linked_from: list[str]


class Orphans(_Shape):
    total: int
    orphans: list[str]


class Attachment(_Shape):
    filename: str
    size: int
    content_type: str
    updated: str
    url: str


class Attachments(_Shape):
    path: str
    attachments: list[Attachment]


class AttachmentFile(_Shape):
    filename: str
    content_type: str
    size: int
    content_base64: str


class AttachmentUploaded(_Written):
    path: str
    filename: str
    size: int
    url: str


class AttachmentDeleted(_Written):
    path: str
    filename: str
    deleted: bool


class Match(_Shape):
    section: str = Field(description="its section label, for read_note(section=…); '' = the page")
    snippet: str
    text: str
    score: float


class Hit(_Shape):
    path: str
    title: str
    url: str
    score: float
    matches: list[Match]


class SearchResults(_Shape):
    query: str
    mode: str
    indexed_commit: str | None
    min_commit: str | None
    fresh: bool = Field(description="the index holds min_commit (or, without one, the latest commit)")
    behind_commits: int | None
    message: str | None = Field(description="when not fresh: what to do")
    results: list[Hit]


class FoundPage(_Shape):
    id: str = Field(description="the page path; pass to fetch")
    title: str
    url: str


class Found(_Shape):
    results: list[FoundPage]


class FetchedMeta(_Shape):
    revision: str
    updated: str | None
    tags: list[str]


class Fetched(_Shape):
    id: str
    title: str
    text: str
    url: str
    metadata: FetchedMeta


class ProposalInfo(_Shape):
    id: int
    url: str
    state: Literal["open", "approved", "rejected"]
    title: str
    commits: int
    pages: list[str]
    updated: str
    comment: str | None = Field(None, description="the reviewer's")
    decided_by: str | None = None
    merged_commit: str | None = None


class ProposalList(_Shape):
    proposals: list[ProposalInfo]
    proposes: bool = Field(description="whether your writes here are held for review")
