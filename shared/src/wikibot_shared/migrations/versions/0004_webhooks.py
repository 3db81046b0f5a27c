"""webhooks: targets, the delivery outbox and the per-wiki cursor

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 14:22:30.568898
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wikibot_shared.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_cursors",
        sa.Column("wiki_slug", sa.String(length=63), nullable=False),
        sa.Column("last_commit", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["wiki_slug"], ["wikis.slug"], name=op.f("fk_webhook_cursors_wiki_slug_wikis"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("wiki_slug", name=op.f("pk_webhook_cursors")),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("wiki_slug", sa.String(length=63), nullable=False),
        sa.Column("url", sa.LargeBinary(), nullable=False),
        sa.Column("url_host", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.String(length=512), nullable=False),
        sa.Column("created_at", wikibot_shared.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("failing_since", wikibot_shared.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", wikibot_shared.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["wiki_slug"], ["wikis.slug"], name=op.f("fk_webhooks_wiki_slug_wikis"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhooks_wiki_slug"), ["wiki_slug"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("webhook_id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", wikibot_shared.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", wikibot_shared.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", wikibot_shared.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("last_duration_ms", sa.Integer(), nullable=True),
        sa.Column("delivered_at", wikibot_shared.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_webhook_id"), ["webhook_id"], unique=False)
        batch_op.create_index("ux_webhook_deliveries_event", ["webhook_id", "event_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ux_webhook_deliveries_event")
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_webhook_id"))
        batch_op.drop_index("ix_webhook_deliveries_due")

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhooks_wiki_slug"))

    op.drop_table("webhooks")
    op.drop_table("webhook_cursors")
