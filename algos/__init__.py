"""Algo handlers: each works a parent order and slices it into child orders."""
