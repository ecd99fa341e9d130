"""Journal first: each batch's state rides on its last journal entry with a CRC; fills keyed by
venue and execution ID; a positions projection; a quarantine for a damaged journal tail.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.String(64)
SESSION = sa.String(128)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("journal") as batch:
        batch.add_column(sa.Column("state", sa.Text(), nullable=True))
        batch.add_column(sa.Column("crc", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("fills", recreate="always") as batch:
        batch.drop_constraint("pk_fills", type_="primary")
        batch.create_primary_key("pk_fills", ["venue", "exec_id"])
    op.create_table(
        "positions",
        sa.Column("account", ID, nullable=False),
        sa.Column("parent_id", ID, nullable=False),
        sa.Column("symbol", ID, nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("avg_price", sa.Double(), nullable=False),
        sa.Column("multiplier", sa.Integer(), nullable=False),
        sa.Column("realised_pnl", sa.Double(), nullable=False),
        sa.Column("fees", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("account", "parent_id", "symbol", name="pk_positions"),
    )
    op.create_table(
        "journal_quarantine",
        sa.Column("seq", SEQ, nullable=False, autoincrement=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("session", SESSION, nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("crc", sa.BigInteger(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("found_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_journal_quarantine"),
    )
    # Entries written before this revision carry no CRC: the journal marks them as unchecked.
    op.execute("UPDATE journal SET crc = -1")


def downgrade() -> None:
    op.drop_table("journal_quarantine")
    op.drop_table("positions")
    with op.batch_alter_table("fills", recreate="always") as batch:
        batch.drop_constraint("pk_fills", type_="primary")
        batch.create_primary_key("pk_fills", ["exec_id"])
    with op.batch_alter_table("journal") as batch:
        batch.drop_column("crc")
        batch.drop_column("state")
