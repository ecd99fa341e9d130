"""Tables of the store. Migrations (``migrations/versions``) create exactly this schema;
a unit test checks that they agree.

Enums are stored as their FIX wire values, nested values (algo params, pending change,
ClOrdID chain) as JSON text, prices as double precision.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Double, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = String(64)
CODE = String(32)
SESSION = String(128)
# On sqlite an INTEGER primary key is the rowid itself: one b-tree for the journal, not two.
SEQ = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {int: Integer, float: Double, str: ID, bool: Boolean}


class JournalRow(Base):
    """The source of truth, append-only: inbound events, child commands and timer firings, and
    on the last entry of each engine batch the state that batch left (``state``), from which
    every other table can be rebuilt (router/store/journal.py)."""
    __tablename__ = "journal"

    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=False)
    ts_ns: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    session: Mapped[str | None] = mapped_column(SESSION)
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)         # JSON: rows the batch changed, per table
    crc: Mapped[int] = mapped_column(BigInteger)            # CRC-32 of the other columns: damage is detected


class QuarantineRow(Base):
    """Journal entries found damaged at the tail at start-up, kept for inspection, never replayed."""
    __tablename__ = "journal_quarantine"

    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=False)
    ts_ns: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    session: Mapped[str | None] = mapped_column(SESSION)
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)
    crc: Mapped[int] = mapped_column(BigInteger)
    problem: Mapped[str] = mapped_column(Text)
    found_ns: Mapped[int] = mapped_column(BigInteger)


class ParentRow(Base):
    __tablename__ = "parents"
    # Lookup by ClOrdID. Not unique: that rule (over the whole chain) belongs to the engine.
    __table_args__ = (Index("ix_parents_session_cl_ord_id", "session", "cl_ord_id"),)

    order_id: Mapped[str] = mapped_column(primary_key=True)
    session: Mapped[str] = mapped_column(SESSION)
    account: Mapped[str]
    cl_ord_id: Mapped[str]
    symbol: Mapped[str]
    side: Mapped[str] = mapped_column(CODE)
    qty: Mapped[int]
    ord_type: Mapped[str] = mapped_column(CODE)
    price: Mapped[float | None]
    time_in_force: Mapped[str] = mapped_column(CODE)
    algo_name: Mapped[str] = mapped_column(String(32))
    algo: Mapped[str] = mapped_column(Text)                 # AlgoParams as JSON
    created_ns: Mapped[int] = mapped_column(BigInteger)
    expire_ns: Mapped[int | None] = mapped_column(BigInteger)
    orig_cl_ord_id: Mapped[str | None]
    status: Mapped[str] = mapped_column(CODE, index=True)
    cum_qty: Mapped[int]
    notional: Mapped[float]
    fees: Mapped[float]
    child_seq: Mapped[int]
    exec_seq: Mapped[int]
    arrival_bid: Mapped[float | None]
    arrival_ask: Mapped[float | None]
    pending: Mapped[str | None] = mapped_column(Text)       # PendingChange as JSON
    cl_ord_ids: Mapped[str] = mapped_column(Text)           # JSON list, the whole chain
    algo_state: Mapped[str] = mapped_column(Text)           # JSON: the algo's and the hedger's own state
    closed: Mapped[bool] = mapped_column(index=True)        # final report sent (a done parent may still hedge)
    legs: Mapped[str | None] = mapped_column(Text)          # a package's legs as JSON (router/domain/orders.py)


class ChildRow(Base):
    __tablename__ = "children"

    child_id: Mapped[str] = mapped_column(primary_key=True)
    parent_id: Mapped[str] = mapped_column(index=True)
    venue: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str]
    side: Mapped[str] = mapped_column(CODE)
    qty: Mapped[int]
    price: Mapped[float]
    time_in_force: Mapped[str] = mapped_column(CODE)
    sent_ns: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(CODE)
    cum_qty: Mapped[int]
    notional: Mapped[float]
    fees: Mapped[float]
    role: Mapped[str] = mapped_column(CODE)
    leg: Mapped[int | None]
    post_only: Mapped[bool]
    display_qty: Mapped[int | None]
    revision: Mapped[int]
    want_qty: Mapped[int | None]
    want_price: Mapped[float | None]
    next_qty: Mapped[int | None]
    next_price: Mapped[float | None]
    cancel_queued: Mapped[bool]
    status_since_ns: Mapped[int] = mapped_column(BigInteger)
    accepted_ns: Mapped[int | None] = mapped_column(BigInteger)


class FillRow(Base):
    """One execution, keyed as venues key them: an execution ID is unique on its venue only."""
    __tablename__ = "fills"

    venue: Mapped[str] = mapped_column(String(32), primary_key=True)
    exec_id: Mapped[str] = mapped_column(primary_key=True)
    parent_id: Mapped[str] = mapped_column(index=True)
    child_id: Mapped[str]
    qty: Mapped[int]
    price: Mapped[float]
    fee: Mapped[float]
    liquidity: Mapped[str] = mapped_column(String(4))
    ts_ns: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(CODE)
    symbol: Mapped[str]
    side: Mapped[str | None] = mapped_column(CODE)


class PositionRow(Base):
    """Per (account, parent, symbol): what the fills add up to, average-cost accounting
    (router/positions.py). Marks and greeks are the market's, not stored."""
    __tablename__ = "positions"

    account: Mapped[str] = mapped_column(primary_key=True)
    parent_id: Mapped[str] = mapped_column(primary_key=True)
    symbol: Mapped[str] = mapped_column(primary_key=True)
    qty: Mapped[int]
    avg_price: Mapped[float]
    multiplier: Mapped[float]        # 100 an option, 1 a share, 0.001 a BTCUSDT lot
    realised_pnl: Mapped[float]
    fees: Mapped[float]


class FillMarkRow(Base):
    """The market at and after one fill, for TCA (router/engine/marks.py): the NBBO when the fill
    was applied and the mid at each horizon after it (empty until then)."""
    __tablename__ = "fill_marks"

    venue: Mapped[str] = mapped_column(String(32), primary_key=True)
    exec_id: Mapped[str] = mapped_column(primary_key=True)
    parent_id: Mapped[str] = mapped_column(index=True)
    symbol: Mapped[str]
    ts_ns: Mapped[int] = mapped_column(BigInteger)
    bid: Mapped[float | None]
    ask: Mapped[float | None]
    mid: Mapped[float | None]
    mid_1s: Mapped[float | None]
    mid_10s: Mapped[float | None]
    mid_60s: Mapped[float | None]
    mid_600s: Mapped[float | None]


class ParentMarkRow(Base):
    """A parent's time-weighted mid over its working life (qwap), for TCA; ``end_ns`` is empty
    while it works (the sums are then those of its last fill)."""
    __tablename__ = "parent_marks"

    order_id: Mapped[str] = mapped_column(primary_key=True)
    symbol: Mapped[str]
    start_ns: Mapped[int] = mapped_column(BigInteger)
    end_ns: Mapped[int | None] = mapped_column(BigInteger)
    mid_seconds: Mapped[float]                  # the mid integrated over the time it was quoted
    quoted_seconds: Mapped[float]
    qwap: Mapped[float | None]


class MetaRow(Base):
    """Counters and small settings, e.g. the next order number."""
    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def _table(row_class: type[Base]) -> Table:
    table = row_class.__table__
    assert isinstance(table, Table)
    return table


journal = _table(JournalRow)
parents = _table(ParentRow)
children = _table(ChildRow)
fills = _table(FillRow)
positions = _table(PositionRow)
meta = _table(MetaRow)
fill_marks = _table(FillMarkRow)
parent_marks = _table(ParentMarkRow)
quarantine = _table(QuarantineRow)
