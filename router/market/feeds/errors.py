"""Bad input in a replay file: where it is and why, and the policy that decides whether it stops
the replay (the default) or is dropped and counted."""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO, Literal

OnError = Literal["raise", "skip"]


class FeedError(ValueError):
    """A replay file line that cannot be used: a malformed line, a sequence gap, a crossed book."""

    def __init__(self, path: str | Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason


class BookError(ValueError):
    """Raised by a book that cannot take an event. The reader adds the file, and the line unless
    the event was buffered and its own line is given here."""

    def __init__(self, reason: str, line: int = 0) -> None:
        super().__init__(reason)
        self.line = line


class ErrorPolicy:
    """``raise`` stops at the first bad line; ``skip`` drops it and keeps it in ``skipped``."""

    __slots__ = ("on_error", "skipped")

    def __init__(self, on_error: OnError = "raise") -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        self.on_error = on_error
        self.skipped: list[FeedError] = []

    def fail(self, path: str | Path, line: int, reason: str) -> None:
        error = FeedError(path, line, reason)
        if self.on_error == "raise":
            raise error
        self.skipped.append(error)


def open_text(path: str | Path) -> IO[str]:
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")
