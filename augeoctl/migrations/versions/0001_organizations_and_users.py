"""The application schema ``app``: organizations and their users.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

The DDL the sandbox's former ``seed.sql`` ran, word for word (bigserial keys, the same
defaults and constraint names), so a database made by migrations is the same as one
made by that script.
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS app")
    op.execute("""
        CREATE TABLE app.organizations (
            id bigserial PRIMARY KEY,
            name text NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("""
        CREATE TABLE app.users (
            id bigserial PRIMARY KEY,
            org_id bigint NOT NULL REFERENCES app.organizations(id),
            email text NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now()
        )""")


def downgrade() -> None:
    op.execute("DROP TABLE app.users")
    op.execute("DROP TABLE app.organizations")
