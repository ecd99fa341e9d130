"""The deterministic core: ``Engine`` wires one module per job (see engine.py)."""
from router.domain.orders import RestoredState

from .batch import Persistence
from .children import InvariantError
from .engine import Engine

__all__ = ["Engine", "InvariantError", "Persistence", "RestoredState"]
