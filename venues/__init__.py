"""Venue adapters, fees and the smart order router."""
