"""The shapes of wikis, collaborators, tokens, apps and accounts: ``XCreate`` / ``XUpdate`` in, ``XPublic`` out.

Declared once, here: the service layer (``services/``) takes the ``XCreate`` / ``XUpdate`` shapes and returns the
``XPublic`` ones; the API (``api/``) serializes them as they are and the UI (``ui/``) renders them. The limits
declared on the fields are the API's first check of a request body; the service layer checks every value again,
so the UI's forms get the same answers without them (``ui.common.form_shape``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RoleName = Literal["owner", "editor", "viewer"]
ScopeName = Literal["wiki:read", "wiki:write"]


WritePaths = Field(
    None,
    max_length=20,
    description='write only under these folder prefixes, e.g. ["Agents/"]; null or absent: the whole wiki '
    "(reading stays per wiki)",
)


Review = Field(
    None,
    description="propose: its writes become proposals for review; direct: they land; wiki: as the wiki says "
    "(agents_propose); absent: unchanged",
)
ReviewMode = Literal["propose", "direct", "wiki"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    error: str = Field(
        description="stable machine-readable code, e.g. invalid_slug, wiki_exists, csrf_failed"
    )
    message: str = Field(description="what went wrong, safe to show to a person")


class TierPublic(BaseModel):
    name: str
    wikis_per_user: int
    pages_per_wiki: int
    bytes_per_wiki: int
    attachment_bytes: int
    git_push: bool


class Me(BaseModel):
    """The signed-in person (``services.accounts.me``)."""

    did: str
    handle: str | None
    display_name: str | None
    avatar_url: str | None
    username: str | None
    tier: TierPublic
    wikis_owned: int
    is_admin: bool
    created_at: datetime


class MePublic(Me):
    csrf_token: str | None = Field(
        description="send as X-CSRF-Token on unsafe requests authenticated by the session cookie"
    )


class WikiCreate(Strict):
    slug: str = Field(max_length=100, description="3–63 lowercase letters, digits and hyphens; the host name")
    display_name: str | None = Field(None, max_length=400)
    is_public: bool = False


class WikiUpdate(Strict):
    display_name: str | None = Field(None, max_length=400)
    is_public: bool | None = None
    agents_propose: bool | None = Field(
        None, description="true: writes by agents (OAuth apps, tokens) become proposals a person approves"
    )


class WikiPublic(BaseModel):
    slug: str
    display_name: str
    is_public: bool
    role: str | None = Field(description="your role; null when you read it only because it is public")
    owner_did: str
    owner_handle: str | None
    tier: str
    payment_status: str
    read_only: bool = Field(description="true when the payment lapsed: reads only, everywhere")
    created_at: datetime
    page_count: int
    bytes: int
    url: str
    mcp_url: str
    git_url: str
    settings_url: str
    agents_propose: bool = Field(False, description="agents' writes become proposals for review")


class MemberCreate(Strict):
    handle: str | None = Field(None, max_length=300, description="alice.bsky.social (or @alice…)")
    did: str | None = Field(None, max_length=512, description="did:plc:… or did:web:…")
    role: RoleName
    paths: list[str] | None = WritePaths  # an editor only there, a viewer elsewhere


class MemberUpdate(Strict):
    """Either or both; ``paths`` given as null lifts a limit, left out keeps it (a new role other than editor
    lifts it too: only editors are limited)."""

    role: RoleName | None = None
    paths: list[str] | None = WritePaths


class MemberPublic(BaseModel):
    did: str
    handle: str | None
    display_name: str | None
    role: str
    owner_of_record: bool
    granted_at: datetime | None
    granted_by: str | None
    paths: list[str] | None = Field(description="an editor only under these folders; null: the whole wiki")


class TokenCreate(Strict):
    name: str = Field(max_length=200)
    scopes: list[ScopeName] = Field(default_factory=lambda: list[ScopeName](["wiki:read"]), max_length=2)
    expires_in_days: int | None = Field(None, ge=1, le=3650)
    paths: list[str] | None = WritePaths


class TokenUpdate(Strict):
    paths: list[str] | None = WritePaths
    review: ReviewMode | None = Review


class TokenPublic(BaseModel):
    id: str
    name: str
    scopes: list[str]
    owner_did: str
    owner_handle: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    paths: list[str] | None = Field(description="writes only under these folders; null: the whole wiki")
    review: ReviewMode = Field("wiki", description="whether its writes are proposals (see TokenUpdate)")


class TokenCreated(TokenPublic):
    token: str = Field(description="the secret: shown this once, never again")


class ConnectionStep(BaseModel):
    """One step of connecting an app, when it happened (None: not yet)."""

    step: Literal[
        "registered", "consented", "token_issued", "first_call", "last_call", "last_refresh", "last_refusal"
    ]
    at: datetime | None
    detail: str | None = None


class AppUpdate(Strict):
    paths: list[str] | None = WritePaths
    review: ReviewMode | None = Review


class AppPublic(BaseModel):
    id: str
    client_id: str
    client_name: str
    client_host: str | None
    user_did: str
    user_handle: str | None
    scopes: list[str]
    created_at: datetime = Field(description="when the person consented")
    last_used_at: datetime | None
    status: Literal["connected", "waiting", "ended"] = Field(
        description="connected: it has a token; waiting: consented, but the app never fetched its token; "
        "ended: disconnected (revoked, or a refresh token reused) in the last 30 days"
    )
    stays_connected: bool = Field(description="it holds a refresh token (offline_access)")
    paths: list[str] | None = Field(description="writes only under these folders; null: the whole wiki")
    review: ReviewMode = Field("wiki", description="whether its writes are proposals (see AppUpdate)")
    ended_at: datetime | None = None
    steps: list[ConnectionStep] = Field(
        description="how far the connection got, step by step; nothing secret"
    )


EventName = Literal[
    "page.created",
    "page.updated",
    "page.deleted",
    "page.renamed",
    "attachment.created",
    "attachment.updated",
    "attachment.deleted",
    "attachment.renamed",
    "member.added",
    "member.changed",
    "member.removed",
    "proposal.opened",
    "proposal.updated",
    "proposal.approved",
    "proposal.rejected",
]
WebhookKind = Literal["standard", "slack", "discord"]


class WebhookCreate(Strict):
    url: str = Field(
        max_length=2048, description="https URL of the receiver (a Slack or Discord webhook URL too)"
    )
    kind: WebhookKind | None = Field(
        None,
        description="standard (Standard Webhooks, signed), slack or discord; default: from the URL's host",
    )
    events: list[EventName] | None = Field(None, max_length=15, description="default: every event")


class WebhookUpdate(Strict):
    enabled: bool | None = Field(None, description="true enables it again (after a pause or a give-up)")
    events: list[EventName] | None = Field(None, max_length=15)


class WebhookPublic(BaseModel):
    id: str
    kind: str
    url_host: str = Field(
        description="the receiver's host (the URL itself is kept sealed: it may be a secret)"
    )
    events: list[str]
    enabled: bool
    created_at: datetime
    created_by: str
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None = Field(description="why it stopped, e.g. failing for a day; shown to owners")
    pending: int = Field(description="events not yet delivered")


class WebhookCreated(WebhookPublic):
    secret: str | None = Field(description="standard webhooks: the signing secret (whsec_…), shown this once")


class DeliveryPublic(BaseModel):
    id: int
    event_id: str = Field(description="the webhook-id header: the same on every attempt")
    event_type: str
    status: Literal["pending", "delivered"]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    last_duration_ms: int | None
    delivered_at: datetime | None


# -- proposals (services/proposals.py) ---------------------------------------------------------------------
class ProposalPublic(BaseModel):
    id: int = Field(description="its number in the wiki (#12)")
    state: Literal["open", "approved", "rejected"]
    title: str
    author_did: str
    author: str = Field(description="the commits' author: the person and the app that acted for them")
    credential_kind: Literal["oauth", "pat"]
    credential_id: str = Field(description="the connected app's or token's id")
    commits: int
    pages: list[str] = Field(description="pages and files it changes")
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    comment: str | None = Field(description="the reviewer's, which the agent reads")
    merged_commit: str | None = Field(description="main's HEAD after approving")
    url: str


class ProposalFile(BaseModel):
    path: str
    before: str | None = Field(description="the file on main now; null: approving creates it")
    after: str | None = Field(
        description="after approving; null: approving deletes it; conflict markers if so"
    )
    conflict: bool


class ProposalDetail(ProposalPublic):
    files: list[ProposalFile] = Field(description="what approving would do now (open proposals)")
    conflicts: list[str] = Field(description="files changed here and in the proposal in overlapping ways")
    messages: list[str] = Field(description="its commits' messages, oldest first")


class ProposalDecision(Strict):
    comment: str | None = Field(None, max_length=2000, description="for the agent to read")
    resolve: dict[str, Literal["main", "proposal"]] | None = Field(
        None,
        max_length=1000,
        description="approving a conflicting proposal: for each conflicting file, keep main's version or take "
        "the proposal's",
    )


# -- "undo this app" (services/undo.py) ---------------------------------------------------------------------
class AgentCommit(BaseModel):
    commit: str
    at: datetime
    message: str
    paths: list[str]


class AgentFile(BaseModel):
    path: str
    action: Literal["restore", "delete"] = Field(
        description="what undoing does: back to before the agent's first change, or delete (it created it)"
    )
    commits: int = Field(description="the agent's commits that touched it")
    changed_since: list[str] = Field(description="others' commits after the agent's last one")
    changed_since_by: list[str] = Field(description="their authors; left alone unless confirmed")


class AgentActivity(BaseModel):
    kind: Literal["apps", "tokens"]
    id: str
    name: str
    since: datetime | None
    head: str = Field(description="the wiki's HEAD this was read at (send as expect_head)")
    commits: list[AgentCommit] = Field(description="its commits on the wiki, newest first")
    files: list[AgentFile]


class UndoRequest(Strict):
    since: datetime | None = Field(None, description="only what it did from then on; absent: everything")
    confirm: list[str] | None = Field(
        None, max_length=1000, description="files others changed since that you want put back too"
    )
    expect_head: str | None = Field(
        None, max_length=64, description="the wiki's HEAD when you looked (the UI sends it): 409 if it moved"
    )


class UndoResult(BaseModel):
    commit: str = Field(description="the one new commit")
    reverted: list[str]
    left_alone: list[str] = Field(description="files others changed since, not confirmed")
