"""Replay of real recorded market data (LOBSTER, Binance captures) on the simulated clock.

Bad input raises ``FeedError`` naming file, line and reason; readers take
``on_error="skip"`` to drop bad lines instead, recording them in ``skipped``.
"""
from router.market.feeds.binance import (
    BboCheck, BinanceBook, BinanceCapture, BinanceCheck, BinanceEvent, BookTicker, DepthSnapshot,
    DepthUpdate, Trade, rebuild_binance,
)
from router.market.feeds.errors import BookError, FeedError, OnError
from router.market.feeds.lobster import (
    PRICE_SCALE as LOBSTER_PRICE_SCALE, LobsterBook, LobsterCheck, LobsterEvent, LobsterEventType,
    LobsterLevels, LobsterMessages, LobsterOrderbook, LobsterReplay, LobsterUpdate,
    rebuild_lobster,
)
from router.market.feeds.playback import Playback, play

__all__ = [
    "BboCheck", "BinanceBook", "BinanceCapture", "BinanceCheck", "BinanceEvent", "BookError",
    "BookTicker", "DepthSnapshot", "DepthUpdate", "FeedError", "LOBSTER_PRICE_SCALE",
    "LobsterBook", "LobsterCheck", "LobsterEvent", "LobsterEventType", "LobsterLevels",
    "LobsterMessages", "LobsterOrderbook", "LobsterReplay", "LobsterUpdate", "OnError",
    "Playback", "Trade", "play", "rebuild_binance", "rebuild_lobster",
]
