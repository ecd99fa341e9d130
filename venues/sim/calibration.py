"""Fit the simulated participants' flow on recorded order-book data (``../shared/data``).

From a LOBSTER message file (event types: 1 submit, 2 partial cancel, 3 delete, 4/5 execution
of a visible/hidden resting order; https://lobsterdata.com/info/DataStructure.php):

- **Marketable orders.** One incoming marketable order that trades against several resting
  orders leaves several execution rows with the same timestamp and the same resting side, so
  such a run of rows is counted as one order whose size is their sum. Its rate is orders per
  second of the file's span (first to last event); its size distribution is fitted as a
  lognormal (mean and standard deviation of the log size, the maximum-likelihood fit).
- **Cancels.** Partial cancels and deletes per second. The cancel hazard of a resting order is
  the exponential maximum-likelihood rate with censoring: deletes divided by the order-seconds
  of exposure of the orders submitted in the file, each exposed from its submission to its
  delete, its full execution, or (censored) its last event in the file. A level-1 file only
  shows events at the best price, so an order pushed away from the touch drops out of sight:
  its exposure ends at its last visible event, which overstates the hazard of orders that stay
  deep and is right for the touch, the part of the book our resting orders join.
- **Cancel fraction.** Of the orders submitted in the file whose end is seen, the share that
  ended by a delete rather than by executions.

From a Binance USD-M capture (``router.market.feeds.binance``): trades with the same trade time
and aggressor side are one marketable order (Binance prints one trade per maker order hit);
sizes in the base asset. The capture is L2 without order IDs, so no cancel figure is observable
there; those fields stay empty rather than guessed.

Nothing here runs at import time: the simulator reads the fitted numbers from
``config/participants.toml``; ``bench/calibrate_participants.py`` recomputes and prints them.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from router.clock import NANOS_PER_SECOND
from router.market.feeds.binance import BinanceCapture, Trade
from router.market.feeds.lobster import LobsterEventType, LobsterMessages

_EXECUTIONS = (LobsterEventType.EXECUTE, LobsterEventType.EXECUTE_HIDDEN)
_CANCELS = (LobsterEventType.CANCEL, LobsterEventType.DELETE)


@dataclass(frozen=True, slots=True)
class FlowCalibration:
    """One book's fitted flow; ``None`` where the source cannot show it."""
    source: str
    duration_s: float
    marketable_orders: int
    marketable_per_second: float
    size_log_mean: float                  # lognormal fit of the marketable order size (shares, or base units)
    size_log_std: float
    size_median: float
    size_p90: float
    submits_per_second: float | None = None
    cancels_per_second: float | None = None
    cancel_hazard_per_second: float | None = None
    cancel_fraction: float | None = None

    def as_table(self) -> dict:
        """The fields as a TOML table: rounded, empty ones left out."""
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items() if v is not None}


def _size_fit(sizes: list[float]) -> tuple[float, float, float, float]:
    if not sizes:
        raise ValueError("no marketable orders: nothing to fit a size distribution on")
    values = np.asarray(sizes, dtype=float)
    logs = np.log(values)
    return float(logs.mean()), float(logs.std()), float(np.median(values)), float(np.quantile(values, 0.9))


def calibrate_lobster(message_path: str | Path) -> FlowCalibration:
    path = Path(message_path)
    first_ns = last_ns = None
    sizes: list[float] = []
    run_key = None                         # (timestamp, resting side) of the marketable order being summed
    submits = cancels = deletes = 0
    live: dict[int, list[int]] = {}        # order id -> [submit ns, last event ns, shares left]
    exposure_ns = 0
    ended = ended_by_delete = 0
    for event in LobsterMessages(path):
        first_ns = event.ts_ns if first_ns is None else first_ns
        last_ns = event.ts_ns
        kind = event.type
        if kind in _EXECUTIONS:
            key = (event.ts_ns, event.direction)
            if key == run_key:
                sizes[-1] += event.size
            else:
                sizes.append(float(event.size))
                run_key = key
        else:
            run_key = None
        if kind == LobsterEventType.SUBMIT:
            submits += 1
            live[event.order_id] = [event.ts_ns, event.ts_ns, event.size]
        elif kind in _CANCELS:
            cancels += 1
        order = live.get(event.order_id) if kind != LobsterEventType.SUBMIT else None
        if order is None:
            continue
        order[1] = event.ts_ns
        if kind in (LobsterEventType.CANCEL, LobsterEventType.EXECUTE):
            order[2] -= event.size
        if kind == LobsterEventType.DELETE or order[2] <= 0:
            exposure_ns += event.ts_ns - order[0]
            ended += 1
            if kind == LobsterEventType.DELETE:
                deletes += 1
                ended_by_delete += 1
            del live[event.order_id]
    if first_ns is None:
        raise ValueError(f"{path}: no events")
    exposure_ns += sum(seen - submitted for submitted, seen, _ in live.values())   # censored at last sight
    duration_s = (last_ns - first_ns) / NANOS_PER_SECOND
    if duration_s <= 0:
        raise ValueError(f"{path}: the events span no time")
    log_mean, log_std, median, p90 = _size_fit(sizes)
    return FlowCalibration(
        source=path.name, duration_s=duration_s, marketable_orders=len(sizes),
        marketable_per_second=len(sizes) / duration_s, size_log_mean=log_mean, size_log_std=log_std,
        size_median=median, size_p90=p90, submits_per_second=submits / duration_s,
        cancels_per_second=cancels / duration_s,
        cancel_hazard_per_second=deletes / (exposure_ns / NANOS_PER_SECOND) if exposure_ns else math.nan,
        cancel_fraction=ended_by_delete / ended if ended else math.nan)


def calibrate_binance(capture_path: str | Path, *, qty_step_decimals: int = 3) -> FlowCalibration:
    path = Path(capture_path)
    sizes: list[float] = []
    run_key = None
    first_ns = last_ns = None
    unit = 10.0 ** -qty_step_decimals
    for event in BinanceCapture(path, qty_step_decimals=qty_step_decimals):
        if not isinstance(event, Trade):
            continue
        first_ns = event.ts_ns if first_ns is None else first_ns
        last_ns = event.ts_ns
        key = (event.trade_ms, event.buyer_is_maker)
        if key == run_key:
            sizes[-1] += event.qty * unit
        else:
            sizes.append(event.qty * unit)
            run_key = key
    if first_ns is None or last_ns == first_ns:
        raise ValueError(f"{path}: fewer than two trades at different times")
    duration_s = (last_ns - first_ns) / NANOS_PER_SECOND
    log_mean, log_std, median, p90 = _size_fit(sizes)
    return FlowCalibration(source=path.name, duration_s=duration_s, marketable_orders=len(sizes),
                           marketable_per_second=len(sizes) / duration_s, size_log_mean=log_mean,
                           size_log_std=log_std, size_median=median, size_p90=p90)
