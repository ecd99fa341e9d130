"""The journal entry type lives with the other events in router.domain (the engine writes
entries, the store persists them); re-exported here for the store's callers."""
from router.domain.events import JournalEntry

__all__ = ["JournalEntry"]
