"""A bad migration, for the ``bad-migration`` DR drill only: drops ``app.events.created_at``
and the data it holds.

Revision ID: d001
Revises: 0002
Create Date: 2026-11-28

Kept in its own version location (``augeoctl/migrations/drill``), which only the drill
adds, so ``head`` of the shipped project never includes it. The drill applies it with
``augeoctl migrate``'s code (a backup and a pre-migration point first), recovers the
column's data from a point-in-time restore to that point, and downgrades: the column
comes back last in the table, where it was, so the table's layout is as before; its
values are merged back by primary key. When the project gets a revision after 0002,
``down_revision`` moves to the new head.
"""

from __future__ import annotations

from alembic import op

revision = "d001"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE app.events DROP COLUMN created_at")


def downgrade() -> None:
    # The values are gone: each row gets the time of the downgrade until a repair merges
    # them back from a recovered copy.
    op.execute("ALTER TABLE app.events ADD COLUMN created_at timestamptz NOT NULL DEFAULT now()")
