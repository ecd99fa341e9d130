"""Ground floor: enums, instruments, orders and events. Imports nothing else of the project."""
