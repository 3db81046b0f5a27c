"""proposals: agents propose, people decide (the wiki's switch, each credential's, and the proposals)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wikibot_shared.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every existing wiki and credential writes as before: directly.
    op.add_column(
        "wikis", sa.Column("agents_propose", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    for table in ("access_tokens", "oauth_grants"):
        op.add_column(table, sa.Column("review", sa.String(length=8), nullable=True))
    op.create_table(
        "proposals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("wiki_slug", sa.String(length=63), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("credential_id", sa.String(length=64), nullable=False),
        sa.Column("credential_kind", sa.String(length=8), nullable=False),
        sa.Column("author_did", sa.String(length=512), nullable=False),
        sa.Column("author_name", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("base_commit", sa.String(length=64), nullable=False),
        sa.Column("head_commit", sa.String(length=64), nullable=False),
        sa.Column("commits", sa.Integer(), nullable=False),
        sa.Column("paths", sa.JSON(), nullable=False),
        sa.Column("created_at", wikibot_shared.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", wikibot_shared.models.UTCDateTime(), nullable=False),
        sa.Column("decided_at", wikibot_shared.models.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=512), nullable=True),
        sa.Column("decided_by_name", sa.String(length=300), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("merged_commit", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["wiki_slug"], ["wikis.slug"], name=op.f("fk_proposals_wiki_slug_wikis"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    op.create_index(op.f("ix_proposals_wiki_slug"), "proposals", ["wiki_slug"], unique=False)
    op.create_index(op.f("ix_proposals_credential_id"), "proposals", ["credential_id"], unique=False)
    op.create_index("ux_proposals_number", "proposals", ["wiki_slug", "number"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_proposals_number", table_name="proposals")
    op.drop_index(op.f("ix_proposals_credential_id"), table_name="proposals")
    op.drop_index(op.f("ix_proposals_wiki_slug"), table_name="proposals")
    op.drop_table("proposals")
    for table in ("access_tokens", "oauth_grants"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("review")
    with op.batch_alter_table("wikis") as batch:
        batch.drop_column("agents_propose")
