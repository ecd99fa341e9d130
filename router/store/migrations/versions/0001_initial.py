"""Initial schema: journal, parents, children, fills, meta.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(64)
CODE = sa.String(32)
SESSION = sa.String(128)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")   # sqlite: the rowid itself


def upgrade() -> None:
    op.create_table(
        "journal",
        sa.Column("seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("session", SESSION, nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_journal"),
    )
    op.create_table(
        "parents",
        sa.Column("order_id", ID, nullable=False),
        sa.Column("session", SESSION, nullable=False),
        sa.Column("account", ID, nullable=False),
        sa.Column("cl_ord_id", ID, nullable=False),
        sa.Column("symbol", ID, nullable=False),
        sa.Column("side", CODE, nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("ord_type", CODE, nullable=False),
        sa.Column("price", sa.Double(), nullable=True),
        sa.Column("time_in_force", CODE, nullable=False),
        sa.Column("algo_name", sa.String(32), nullable=False),
        sa.Column("algo", sa.Text(), nullable=False),
        sa.Column("created_ns", sa.BigInteger(), nullable=False),
        sa.Column("expire_ns", sa.BigInteger(), nullable=True),
        sa.Column("orig_cl_ord_id", ID, nullable=True),
        sa.Column("status", CODE, nullable=False),
        sa.Column("cum_qty", sa.Integer(), nullable=False),
        sa.Column("notional", sa.Double(), nullable=False),
        sa.Column("fees", sa.Double(), nullable=False),
        sa.Column("child_seq", sa.Integer(), nullable=False),
        sa.Column("exec_seq", sa.Integer(), nullable=False),
        sa.Column("arrival_bid", sa.Double(), nullable=True),
        sa.Column("arrival_ask", sa.Double(), nullable=True),
        sa.Column("pending", sa.Text(), nullable=True),
        sa.Column("cl_ord_ids", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name="pk_parents"),
    )
    op.create_index("ix_parents_session_cl_ord_id", "parents", ["session", "cl_ord_id"])
    op.create_index("ix_parents_status", "parents", ["status"])
    op.create_table(
        "children",
        sa.Column("child_id", ID, nullable=False),
        sa.Column("parent_id", ID, nullable=False),
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("symbol", ID, nullable=False),
        sa.Column("side", CODE, nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("price", sa.Double(), nullable=False),
        sa.Column("time_in_force", CODE, nullable=False),
        sa.Column("sent_ns", sa.BigInteger(), nullable=False),
        sa.Column("status", CODE, nullable=False),
        sa.Column("cum_qty", sa.Integer(), nullable=False),
        sa.Column("notional", sa.Double(), nullable=False),
        sa.Column("fees", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("child_id", name="pk_children"),
    )
    op.create_index("ix_children_parent_id", "children", ["parent_id"])
    op.create_table(
        "fills",
        sa.Column("exec_id", ID, nullable=False),
        sa.Column("parent_id", ID, nullable=False),
        sa.Column("child_id", ID, nullable=False),
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("price", sa.Double(), nullable=False),
        sa.Column("fee", sa.Double(), nullable=False),
        sa.Column("liquidity", sa.String(4), nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("exec_id", name="pk_fills"),
    )
    op.create_index("ix_fills_parent_id", "fills", ["parent_id"])
    op.create_table(
        "meta",
        sa.Column("key", ID, nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_meta"),
    )


def downgrade() -> None:
    for table in ("meta", "fills", "children", "parents", "journal"):
        op.drop_table(table)
