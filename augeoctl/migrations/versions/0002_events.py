"""The users' events, with the index the API's per-user listing reads.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE app.events (
            id bigserial PRIMARY KEY,
            user_id bigint NOT NULL REFERENCES app.users(id),
            kind text NOT NULL,
            payload jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE INDEX events_user_idx ON app.events(user_id)")


def downgrade() -> None:
    op.execute("DROP TABLE app.events")
