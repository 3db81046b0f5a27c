"""The database: every table of ARCHITECTURE §2, SQLAlchemy 2 typed models.

Times are stored in UTC and always come back timezone-aware, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Role(enum.StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"


class PaymentStatus(enum.StrEnum):
    ACTIVE = "active"
    LAPSED = "lapsed"


DID = String(512)
SLUG = String(63)


class User(Base):
    __tablename__ = "users"

    did: Mapped[str] = mapped_column(DID, primary_key=True)
    handle: Mapped[str | None] = mapped_column(String(253), index=True)
    display_name: Mapped[str | None] = mapped_column(String(640))
    avatar_url: Mapped[str | None] = mapped_column(String(2048))
    username: Mapped[str | None] = mapped_column(String(63), unique=True)
    tier: Mapped[str] = mapped_column(String(32), default="free")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Wiki(Base):
    __tablename__ = "wikis"

    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    owner_did: Mapped[str] = mapped_column(DID, ForeignKey("users.did", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    tier: Mapped[str] = mapped_column(String(32), default="free")
    payment_status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.ACTIVE.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_accessed: Mapped[datetime | None] = mapped_column(UTCDateTime)
    page_count: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # Writes by agents (OAuth apps and personal access tokens) become proposals a person reviews (proposals.py).
    agents_propose: Mapped[bool] = mapped_column(Boolean, server_default=false())

    owner: Mapped[User] = relationship(lazy="raise")

    @property
    def is_lapsed(self) -> bool:
        return self.payment_status == PaymentStatus.LAPSED.value


class Acl(Base):
    """A collaborator's role on a wiki. The wiki's ``owner_did`` is an owner without a row here."""

    __tablename__ = "acls"

    wiki_slug: Mapped[str] = mapped_column(
        SLUG, ForeignKey("wikis.slug", ondelete="CASCADE"), primary_key=True
    )
    grantee_did: Mapped[str] = mapped_column(DID, primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    granted_by: Mapped[str | None] = mapped_column(DID)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An editor only on these folder prefixes, a viewer elsewhere (pathrules); NULL = the whole wiki.
    write_paths: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))


class AccessToken(Base):
    """Personal access token: shown once, stored as SHA-256 of the whole token."""

    __tablename__ = "access_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    wiki_slug: Mapped[str] = mapped_column(SLUG, ForeignKey("wikis.slug", ondelete="CASCADE"), index=True)
    owner_did: Mapped[str] = mapped_column(DID, ForeignKey("users.did", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Folder prefixes it may write under (pathrules); NULL = the whole wiki.
    write_paths: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    # "propose" | "direct": its writes are reviewed or not, whatever the wiki says; NULL = as the wiki says.
    review: Mapped[str | None] = mapped_column(String(8))


class UserSession(Base):
    """A platform sign-in, and the ATProto OAuth session behind it (absent for admin login links).

    The DPoP private key and the ATProto tokens are encrypted at rest (``crypto.Box``)."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    did: Mapped[str] = mapped_column(DID, ForeignKey("users.did", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(16), default="atproto")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # ATProto OAuth session
    authserver_iss: Mapped[str | None] = mapped_column(String(2048))
    pds_url: Mapped[str | None] = mapped_column(String(2048))
    scope: Mapped[str | None] = mapped_column(String(512))
    dpop_private_jwk: Mapped[bytes | None] = mapped_column(LargeBinary)
    access_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    refresh_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dpop_authserver_nonce: Mapped[str | None] = mapped_column(String(512))
    dpop_pds_nonce: Mapped[str | None] = mapped_column(String(512))


class OAuthClient(Base):
    """An MCP client: registered dynamically (RFC 7591) or known by its metadata document URL."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(2048), primary_key=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    client_name: Mapped[str | None] = mapped_column(String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32), default="none")
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope: Mapped[str | None] = mapped_column(String(512))
    client_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_metadata_document: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OAuthGrant(Base):
    """What a user allowed one client on one wiki. Revoking it ends every token issued under it."""

    __tablename__ = "oauth_grants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        String(2048), ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), index=True
    )
    user_did: Mapped[str] = mapped_column(DID, ForeignKey("users.did", ondelete="CASCADE"), index=True)
    wiki_slug: Mapped[str] = mapped_column(SLUG, ForeignKey("wikis.slug", ondelete="CASCADE"), index=True)
    scopes: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the person consented
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How far a connection got, for the connected-apps page (nothing secret): the code exchanged for a first
    # token, the first and (above) last request at the wiki, the last refresh, the last refusal and why.
    token_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_refusal_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_refusal: Mapped[str | None] = mapped_column(String(300))
    # Folder prefixes it may write under (pathrules); NULL = the whole wiki.
    write_paths: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    # "propose" | "direct": its writes are reviewed or not, whatever the wiki says; NULL = as the wiki says.
    review: Mapped[str | None] = mapped_column(String(8))


class OAuthRefreshToken(Base):
    """Opaque refresh token, stored hashed. Its family is its grant: reuse of a rotated token revokes it."""

    __tablename__ = "oauth_refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True
    )
    scopes: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IndexState(Base):
    """The commit a wiki's search index was last built from (ARCHITECTURE §6)."""

    __tablename__ = "index_state"

    wiki_slug: Mapped[str] = mapped_column(
        SLUG, ForeignKey("wikis.slug", ondelete="CASCADE"), primary_key=True
    )
    last_commit: Mapped[str | None] = mapped_column(String(64))
    indexed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)


class Webhook(Base):
    """Where a wiki's changes are sent (docs/webhooks.md): a Standard Webhooks endpoint, or a Slack or Discord
    incoming webhook. The signing secret is sealed (``crypto.Box``, context ``webhook:{id}``)."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    wiki_slug: Mapped[str] = mapped_column(SLUG, ForeignKey("wikis.slug", ondelete="CASCADE"), index=True)
    url: Mapped[bytes] = mapped_column(LargeBinary)  # sealed too: a Slack or Discord URL is itself a secret
    url_host: Mapped[str] = mapped_column(String(255))  # what the UI shows of it
    kind: Mapped[str] = mapped_column(String(16))  # standard | slack | discord
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(DID)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))


class WebhookDelivery(Base):
    """One event for one webhook: its payload, kept until delivered (the outbox), and how each attempt went.
    ``event_id`` is the ``webhook-id`` header: the same on every retry and redelivery."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookCursor(Base):
    """The last commit of a wiki whose events were queued for its webhooks (a push of many commits is
    expanded from here)."""

    __tablename__ = "webhook_cursors"

    wiki_slug: Mapped[str] = mapped_column(
        SLUG, ForeignKey("wikis.slug", ondelete="CASCADE"), primary_key=True
    )
    last_commit: Mapped[str] = mapped_column(String(64))


class Proposal(Base):
    """Changes an agent made that wait for a person (``wikibot_shared.proposals``): the commits on
    ``refs/proposals/{number}`` since ``base_commit``, made by one credential (a grant or a token)."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    wiki_slug: Mapped[str] = mapped_column(SLUG, ForeignKey("wikis.slug", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # #12: per wiki, from 1
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | approved | rejected
    credential_id: Mapped[str] = mapped_column(String(64), index=True)  # grant id or token id
    credential_kind: Mapped[str] = mapped_column(String(8))  # oauth | pat
    author_did: Mapped[str] = mapped_column(DID)
    author_name: Mapped[str] = mapped_column(String(300))  # the commits' author ("alice via Claude Code")
    title: Mapped[str] = mapped_column(String(300))  # its first commit's message
    base_commit: Mapped[str] = mapped_column(String(64))
    head_commit: Mapped[str] = mapped_column(String(64))
    commits: Mapped[int] = mapped_column(Integer, default=0)
    paths: Mapped[list[str]] = mapped_column(JSON, default=list)  # files it changes, as of its last commit
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(DID)
    decided_by_name: Mapped[str | None] = mapped_column(String(300))
    comment: Mapped[str | None] = mapped_column(Text)  # the reviewer's, for the agent to read
    merged_commit: Mapped[str | None] = mapped_column(String(64))


Index("ix_wikis_public", Wiki.is_public)
Index("ux_proposals_number", Proposal.wiki_slug, Proposal.number, unique=True)
Index("ux_webhook_deliveries_event", WebhookDelivery.webhook_id, WebhookDelivery.event_id, unique=True)
Index("ix_webhook_deliveries_due", WebhookDelivery.status, WebhookDelivery.next_attempt_at)
