"""Working orders: child roles and the order manager's per-child request state, fill roles,
the algo's saved state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CODE = sa.String(32)
ID = sa.String(64)


def upgrade() -> None:
    with op.batch_alter_table("parents") as batch:
        batch.add_column(sa.Column("algo_state", sa.Text(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("closed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_parents_closed", ["closed"])
    done = ", ".join(f"'{code}'" for code in ("2", "3", "4", "8", "C"))     # OrdStatus done values
    op.execute(f"UPDATE parents SET closed = true WHERE status IN ({done})")
    with op.batch_alter_table("children") as batch:
        batch.add_column(sa.Column("role", CODE, nullable=False, server_default="W"))
        batch.add_column(sa.Column("leg", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("post_only", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("display_qty", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("want_qty", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("want_price", sa.Double(), nullable=True))
        batch.add_column(sa.Column("next_qty", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("next_price", sa.Double(), nullable=True))
        batch.add_column(sa.Column("cancel_queued", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("status_since_ns", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("accepted_ns", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("fills") as batch:
        batch.add_column(sa.Column("role", CODE, nullable=False, server_default="W"))
        batch.add_column(sa.Column("symbol", ID, nullable=False, server_default=""))
        batch.add_column(sa.Column("side", CODE, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fills") as batch:
        for name in ("side", "symbol", "role"):
            batch.drop_column(name)
    with op.batch_alter_table("children") as batch:
        for name in ("accepted_ns", "status_since_ns", "cancel_queued", "next_price", "next_qty", "want_price",
                     "want_qty", "revision", "display_qty", "post_only", "leg", "role"):
            batch.drop_column(name)
    with op.batch_alter_table("parents") as batch:
        batch.drop_index("ix_parents_closed")
        batch.drop_column("closed")
        batch.drop_column("algo_state")
