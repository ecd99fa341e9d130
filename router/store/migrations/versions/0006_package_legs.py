"""A package parent's legs (NewOrderMultileg) on its parent row, as JSON.

Revision ID: 0006_package_legs
Revises: 0005_tca_marks
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_package_legs"
down_revision = "0005_tca_marks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("parents") as batch:
        batch.add_column(sa.Column("legs", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("parents") as batch:
        batch.drop_column("legs")
