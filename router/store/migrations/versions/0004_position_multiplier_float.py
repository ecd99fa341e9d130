"""A position's multiplier is a float: a lot-sized underlier's (the BTCUSDT perpetual's 0.001
BTC) cannot be stored as an integer.

Revision ID: 0004_position_multiplier_float
Revises: 0003
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_position_multiplier_float"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch: SQLite rebuilds the table; PostgreSQL alters the column in place (an integer casts to
    # double precision implicitly, so no USING clause)
    with op.batch_alter_table("positions") as batch:
        batch.alter_column("multiplier", existing_type=sa.Integer(), type_=sa.Double(), existing_nullable=False)


def downgrade() -> None:
    # a fractional multiplier has no integer form: refuse rather than round it away
    bind = op.get_bind()
    fractional = bind.execute(sa.text("SELECT count(*) FROM positions WHERE multiplier <> ROUND(multiplier)")).scalar()
    if fractional:
        raise RuntimeError(f"positions.multiplier: {fractional} rows hold a fractional multiplier (a lot-sized "
                           f"underlier); an integer column cannot keep them")
    with op.batch_alter_table("positions") as batch:
        batch.alter_column("multiplier", existing_type=sa.Double(), type_=sa.Integer(), existing_nullable=False,
                           postgresql_using="multiplier::integer")
