"""Market state: instruments, per-venue books and the NBBO."""
