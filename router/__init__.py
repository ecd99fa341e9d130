"""Options algo order router with a FIX interface."""
__version__ = "0.1.0"
