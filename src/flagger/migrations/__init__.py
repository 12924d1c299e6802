"""Alembic migrations of the label store's schema (applied by ``LabelStore`` on open)."""
