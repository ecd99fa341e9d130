"""The fill-probability model: for a resting order at a price level, the chance it fills within a
horizon and the expected time to fill, from its queue ahead and the book around it.

It is the logistic regression `router models validate-queue` scores (router/models/queue_validation.py),
fitted on real order-book data with order IDs as ground truth, saved as JSON
(``config/models/fill_probability.json``, written by `router models fit-fill-probability`) with the
held-back scores it earned, so whoever reads it knows how far to trust it. Features, per order:
log(1 + queue ahead), log(1 + size behind), log(1 + volume traded at that touch in the last
30 s), log(1 + spread in ticks). Sizes are in the venue's own lots (shares for the equity data it
was fitted on, contracts when the SOR applies it to options: seed 000's "Delta-1 first, then
options", an assumption until option order-by-order data can check it).

Everything is vectorised: the SOR scores all candidate venues in one call.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .scoring import Logistic

TRADE_WINDOW_S = 30.0
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "models" / "fill_probability.json"


@dataclass(frozen=True)
class FillProbability:
    queue_model: str              # the queue model whose queue-ahead estimate the fit used
    horizon_s: float
    logistic: Logistic
    source: str                   # the data it was fitted on
    held_back: dict               # its scores on data it was not fitted to: brier, auc, calibration_error

    def probability(self, queue_ahead, size_behind, traded_30s, spread_ticks) -> np.ndarray:
        """P(fill within ``horizon_s``), one per row of the broadcast arguments."""
        ahead, behind, traded, spread = np.broadcast_arrays(*(np.asarray(a, float) for a in
                                                              (queue_ahead, size_behind, traded_30s, spread_ticks)))
        spread = np.where(np.isfinite(spread), spread, 0.0)
        x = np.column_stack([np.log1p(np.maximum(ahead.ravel(), 0.0)), np.log1p(np.maximum(behind.ravel(), 0.0)),
                             np.log1p(np.maximum(traded.ravel(), 0.0)), np.log1p(np.maximum(spread.ravel(), 0.0))])
        return self.logistic.predict(x).reshape(ahead.shape)

    @staticmethod
    def expected_time_to_fill_s(queue_ahead, traded_30s, lot: float = 1.0) -> np.ndarray:
        """Seconds until trades at the touch, at their recent rate, reach past the queue ahead;
        infinite where nothing traded in the window."""
        ahead, traded = np.broadcast_arrays(np.asarray(queue_ahead, float), np.asarray(traded_30s, float))
        rate = traded / TRADE_WINDOW_S
        with np.errstate(divide="ignore"):
            return np.where(rate > 0, (np.maximum(ahead, 0.0) + lot) / np.where(rate > 0, rate, 1.0), np.inf)

    def save(self, path: str | Path) -> None:
        data = {"queue_model": self.queue_model, "horizon_s": self.horizon_s, "source": self.source,
                "held_back": self.held_back, "logistic": asdict(self.logistic),
                "features": ["log1p(queue_ahead)", "log1p(size_behind)", "log1p(traded_30s)", "log1p(spread_ticks)"]}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> "FillProbability":
        try:
            data = json.loads(Path(path).read_text())
            fit = data["logistic"]
            logistic = Logistic(float(fit["intercept"]), tuple(map(float, fit["weights"])),
                                tuple(map(float, fit["means"])), tuple(map(float, fit["scales"])))
            if not len(logistic.weights) == len(logistic.means) == len(logistic.scales) == 4:
                raise ValueError("needs 4 weights, means and scales")
            return cls(str(data["queue_model"]), float(data["horizon_s"]), logistic, str(data.get("source", "")),
                       dict(data.get("held_back", {})))
        except (OSError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: not a fill-probability model: {error}") from None
