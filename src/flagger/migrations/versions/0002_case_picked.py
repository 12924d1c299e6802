"""How each case reached a reviewer: a uniformly random audit pick, the review queue, or unknown.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``cases.picked`` (``audit``, ``queue`` or NULL for cases from before or elsewhere)."""
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("picked", sa.String(16), nullable=True))


def downgrade() -> None:
    """Drop ``cases.picked``."""
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("picked")
