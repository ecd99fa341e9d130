"""Persistence: the event journal and projections of orders, children and fills (SQLAlchemy,
Alembic migrations)."""
from router.domain.events import JournalEntry
from .store import Store

__all__ = ["JournalEntry", "Store"]
