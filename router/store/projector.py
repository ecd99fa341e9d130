"""``python -m router.store.projector``: the projection process a router's store starts
(router/store/projection.py, ProjectionProcess). Not meant to be run by hand."""
from __future__ import annotations

import argparse
import logging
import os

from .projection import URL_VARIABLE, project_until_stdin_closes


def main() -> None:
    parser = argparse.ArgumentParser(description="Keep the store's projection tables caught up with its journal, "
                                                 f"store URL from ${URL_VARIABLE}, until standard input closes.")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between catch-ups")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s projection: %(message)s")
    try:
        project_until_stdin_closes(os.environ[URL_VARIABLE], arguments.interval)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
