"""The recorded Binance USD-M capture as the crypto options' perpetual venue (``[venues.BNPF]
replay = "PATH"``, or ``--replay-perpetual PATH``): the venue is a ReplayVenue (replay.py) on the
capture, the router's books get its replayed book, and the hedger's children fill in it through
the queue model. It runs in the router's process (router/app.py) or in `router exchange`
(venues/sim/market.py build_sim_market, native or FIX); a router on an exchange still calls
``prepare_replays`` for the capture's terms, so its lot size and fees match the exchange's.

Our definitions:
- Time. A simulated clock not yet at the capture's first event is advanced to it, so simulated
  time starts there and the chain is listed relative to the capture's date (the weeklies and
  monthlies after 2024-08-08, still in the future). A clock already past it (the live clock of
  `router serve` and `router demo`) plays the capture from now: every recorded time is shifted
  by the same offset, so the recorded gaps are kept. After the capture's last event the book
  stays as the recording left it (no new events: a 30 s capture is a 30 s market).
- The underlier takes the capture's terms: its ``spot`` (where the strikes are centred) is the
  capture's first mid, its ``lot_size`` the capture's quantity step (0.001 BTC), and the venue's
  ``pct_of_notional`` fee is per lot (``contract_size`` = the lot), so fees stay a percent of the
  USDT notional.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from router.clock import Clock, SimClock
from router.config import MarketConfig, NotionalFees, VenueConfig

from .replay_events import ReplayEvents, binance_events

REPO = Path(__file__).resolve().parent.parent.parent


class ReplayFileError(ValueError):
    """A capture that cannot be read: the message names the file and the reason."""


def resolve_capture(path: str | Path) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else REPO / candidate


def load_capture(path: str | Path, max_events: int | None = None) -> ReplayEvents:
    """The capture's events; ReplayFileError naming the file when it is missing, unreadable,
    not a Binance capture, or holds no book."""
    file = resolve_capture(path)
    if not file.exists():
        raise ReplayFileError(f"replay capture {file}: no such file")
    if not file.is_file():
        raise ReplayFileError(f"replay capture {file}: not a file")
    try:
        events = binance_events(file, max_events=max_events)
    except (OSError, EOFError) as exc:                   # unreadable, or a .gz that is not gzip
        raise ReplayFileError(f"replay capture {file}: cannot be read: {exc}") from None
    except (ValueError, KeyError, TypeError) as exc:     # readable, but not the recorder's lines
        raise ReplayFileError(f"replay capture {file}: not a Binance USD-M capture "
                              f"(lines of '<receive ns> <json message>'): {exc}") from None
    if not len(events) or not (events.kind <= 1).any():
        raise ReplayFileError(f"replay capture {file}: holds no depth snapshot or diff, so no book")
    return events


def first_mid(events: ReplayEvents) -> float:
    """The mid of the book as it stands after the first recorded time that has both sides."""
    from .replay_book import ReplayBook
    book = ReplayBook(events)
    for ts in events.ts:
        book.run(int(ts), False)
        bid, ask = book.best(True), book.best(False)
        if bid is not None and ask is not None:
            return (bid[0] + ask[0]) / 2 * events.price_tick
    raise ReplayFileError(f"replay capture {events.source}: never shows both a bid and an ask")


def retimed(events: ReplayEvents, start_ns: int) -> ReplayEvents:
    """The recording shifted so its first event is at ``start_ns``."""
    return replace(events, ts=events.ts + (int(start_ns) - int(events.ts[0])))


@dataclass
class PerpetualReplay:
    venue: str
    symbol: str
    events: ReplayEvents


def prepare_replays(clock: Clock, market: MarketConfig, venue_configs: list[VenueConfig],
                    captures: dict[str, ReplayEvents] | None = None,
                    ) -> tuple[MarketConfig, list[VenueConfig], list[PerpetualReplay]]:
    """The market and venue configs with the captures' terms (module docstring), and each replay
    venue's events on the clock. ``captures``: events already read, by venue (tests pass a slice)."""
    replays: list[PerpetualReplay] = []
    underliers = list(market.underliers)
    configs = list(venue_configs)
    for i, venue in enumerate(configs):
        if venue.replay is None:
            continue
        listed = [u for u in underliers if u.market == venue.market]
        if len(listed) != 1:
            raise ReplayFileError(f"venues.{venue.name}.replay: the venue must list exactly one underlier of its "
                                  f"market {venue.market!r}, it lists {[u.symbol for u in listed]}")
        events = (captures or {}).get(venue.name) or load_capture(venue.replay)
        und = listed[0]
        underliers[underliers.index(und)] = und.model_copy(update={"spot": first_mid(events),
                                                                    "lot_size": events.qty_step})
        if isinstance(venue.fees, NotionalFees):
            fees = venue.fees.model_copy(update={"contract_size": events.qty_step})
            configs[i] = venue.model_copy(update={"fees": fees})
        if isinstance(clock, SimClock) and clock.now_ns() < int(events.ts[0]):
            clock.advance_to(int(events.ts[0]))
        replays.append(PerpetualReplay(venue.name, und.symbol, retimed(events, max(clock.now_ns(), int(events.ts[0])))))
    return market.model_copy(update={"underliers": underliers}), configs, replays
