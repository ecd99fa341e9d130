"""Persistence: the event journal and projections of orders, children and fills (SQLAlchemy,
Alembic migrations)."""
from .journal import JournalEntry
from .store import Store

__all__ = ["JournalEntry", "Store"]
