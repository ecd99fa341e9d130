"""TCA marks: the market at and after each fill (fill_marks) and each parent's time-weighted
mid over its working life (parent_marks), router/engine/marks.py.

Revision ID: 0005_tca_marks
Revises: 0004_position_multiplier_float
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_tca_marks"
down_revision = "0004_position_multiplier_float"
branch_labels = None
depends_on = None

ID = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "fill_marks",
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("exec_id", ID, nullable=False),
        sa.Column("parent_id", ID, nullable=False),
        sa.Column("symbol", ID, nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.Double(), nullable=True)
          for name in ("bid", "ask", "mid", "mid_1s", "mid_10s", "mid_60s", "mid_600s")),
        sa.PrimaryKeyConstraint("venue", "exec_id", name="pk_fill_marks"),
    )
    op.create_index("ix_fill_marks_parent_id", "fill_marks", ["parent_id"])
    op.create_table(
        "parent_marks",
        sa.Column("order_id", ID, nullable=False),
        sa.Column("symbol", ID, nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_ns", sa.BigInteger(), nullable=True),
        sa.Column("mid_seconds", sa.Double(), nullable=False),
        sa.Column("quoted_seconds", sa.Double(), nullable=False),
        sa.Column("qwap", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("order_id", name="pk_parent_marks"),
    )


def downgrade() -> None:
    op.drop_table("parent_marks")
    op.drop_index("ix_fill_marks_parent_id", table_name="fill_marks")
    op.drop_table("fill_marks")
