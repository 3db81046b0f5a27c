"""connection steps of OAuth grants (the connected-apps diagnostics)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wikibot_shared.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STEPS = ("token_issued_at", "first_used_at", "last_refreshed_at", "last_refusal_at")


def upgrade() -> None:
    for name in STEPS:
        op.add_column("oauth_grants", sa.Column(name, wikibot_shared.models.UTCDateTime(), nullable=True))
    op.add_column("oauth_grants", sa.Column("last_refusal", sa.String(length=300), nullable=True))
    # Until now a grant was created when its code was exchanged: each one has had its token.
    op.execute("UPDATE oauth_grants SET token_issued_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("oauth_grants") as batch:
        for name in (*STEPS, "last_refusal"):
            batch.drop_column(name)
