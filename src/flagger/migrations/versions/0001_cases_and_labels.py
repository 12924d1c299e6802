"""Cases and append-only labels.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the two tables of the first label store."""
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.String(512), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("author", sa.String(512), nullable=True),
        sa.Column("sent_at", sa.String(64), nullable=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_cases_message_id", "cases", ["message_id"], unique=True)
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("category", sa.String(128), nullable=True),
        sa.Column("vector", sa.String(128), nullable=True),
        sa.Column("reviewer", sa.String(256), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("model_version", sa.String(128), nullable=True),
        sa.Column("model_score", sa.Float, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_labels_case_id", "labels", ["case_id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("labels")
    op.drop_table("cases")
