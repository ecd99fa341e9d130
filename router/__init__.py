"""Options algo order router with a FIX interface."""
import os

# The engine is single-threaded and deterministic; a multi-threaded BLAS adds nothing for its
# small batched solves and can change float results with the thread count. Set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
