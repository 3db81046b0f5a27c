"""path rules: the folder prefixes a member, a personal access token or an OAuth grant may write under

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("acls", "access_tokens", "oauth_grants")


def upgrade() -> None:
    # NULL, the whole wiki, for every existing row: what each could write before, it can write now.
    for table in TABLES:
        op.add_column(table, sa.Column("write_paths", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("write_paths")
