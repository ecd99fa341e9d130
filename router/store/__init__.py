"""Persistence: the event journal and projections of orders, children and fills (SQLAlchemy,
Alembic migrations)."""
from .journal import JournalEntry
from .store import RestoredState, Store

__all__ = ["JournalEntry", "RestoredState", "Store"]
