"""Alpha probabilities: for each price point at or between the bid and the ask, the chance that
buying (or selling) there has a positive markout ``horizon_s`` later, net of the expected
exchange fee: P(side x (mid then - price) - fee > 0). Seed 001: "numerical estimates of expected
short term profitability of the available price points at or between the current public bid and
offer", "inclusive of expected exchange fees".

The model is a logistic regression (router/models/scoring.py) on these features of a price
point and the state around it (router/models/alpha_features.py):
- ``edge_sigma``: the net edge, side x (mid - price) - fee, over the mid's recent volatility
  scaled to the horizon (sigma_1s x sqrt(horizon)): how far the mid must move against us, in
  standard deviations, before the trade loses;
- ``imbalance``, ``flow``, ``ret``: side x the L1 size imbalance, the recent signed trade flow,
  the last seconds' mid return: microstructure signals of where the mid goes next;
- ``log_spread``: log(1 + spread in ticks); ``log_since_trade``: log(1 + seconds since a trade).

One logistic for both sides, with the directional features multiplied by the side's sign (+1 buy,
-1 sell): the question is symmetric (a buy's positive markout is the mid going up past its edge, a
sell's is the mirror), so a side sign halves the parameters and doubles the data each is fitted
on. The price and the fee enter only through the net edge, whose weight may not be negative (the
fit is constrained: ``fit_monotone``; a model file that breaks it is refused), so buying lower,
selling higher or paying less fee is never less likely to pay, all else equal.

Making: ``make_probability`` = P(filled at that level within the fill-probability model's horizon,
router/models/fill_probability.py, with the book as it would be after our order joins: queue ahead
= the size shown at that price on our side, nothing behind, the spread narrowed if we improve it)
x P(positive markout | filled). The second factor is its own logistic (``filled``), fitted on the
real fills of resting orders (every execution in the data: the resting side bought or sold at the
trade price), with the state just before the fill: so it carries the adverse selection of being
filled, which a take's probability would not. It is evaluated on the state now, i.e. it assumes the
state at the fill is like the state at the post, and the two factors are taken as independent
given that state. The fill chance is over the fill model's own horizon (10 s as shipped), not the
markout's.

Variants (the alpha types Hawk, Eagle, Falcon of tags 5128 / 5130; our definitions):
- ``standard`` (Static and Relative): 60 s horizon (SpiderRock's 1 minute), all features;
- ``hawk``: 10 s horizon, all features: fast, for the microstructure signals;
- ``eagle``: 600 s horizon (SpiderRock's 10 minutes), all features: the long view;
- ``falcon``: 60 s horizon, the book's shape only (edge, spread): no flow, imbalance or return
  signals, so nothing that a burst of trading can push about: the conservative one.

Alpha types: Static uses the probability limit given (5136 / 5138); Relative raises it to
mean + factor x std (TakeAlphaFactor 5132 / MakeAlphaFactor 5134, in [-2, 2]) of the model's
probabilities over the last ``RELATIVE_WINDOW_S`` (``ProbabilityWindow``); Hawk, Eagle and Falcon
use the limit given against their own variant's model (``variant_of``).

How far to trust them: bench/alpha_calibration.py scores each on hours it was not fitted on. On
LOBSTER AMZN only the 10 s Hawk reaches AUC 0.75 (0.82, ECE 0.03); at 60 s the AUC is 0.64 (ECE
0.01), at 600 s 0.54, and the fill-conditioned markout is near chance.
"""
from __future__ import annotations

import json
from collections import deque
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from router.domain.enums import AlphaType

from .alpha_features import NS, AlphaState, MarketTape, state_at
from .fill_probability import FillProbability
from .scoring import Bucket, Logistic, auc, brier, calibration, fit_logistic

MODELS_DIR = Path(__file__).resolve().parents[2] / "config" / "models"
RELATIVE_WINDOW_S = 300.0
ALL_FEATURES = ("edge_sigma", "imbalance", "flow", "ret", "log_spread", "log_since_trade")
EDGE_FEATURES = ("edge_sigma",)


@dataclass(frozen=True)
class Variant:
    name: str
    horizon_s: float
    features: tuple[str, ...]


VARIANTS = {
    "standard": Variant("standard", 60.0, ALL_FEATURES),
    "hawk": Variant("hawk", 10.0, ALL_FEATURES),
    "eagle": Variant("eagle", 600.0, ALL_FEATURES),
    "falcon": Variant("falcon", 60.0, ("edge_sigma", "log_spread")),
}
VARIANT_OF_TYPE = {AlphaType.STATIC: "standard", AlphaType.RELATIVE: "standard", AlphaType.HAWK: "hawk",
                   AlphaType.EAGLE: "eagle", AlphaType.FALCON: "falcon"}
_TAGS = {"take": (5132, 5136, 5128), "make": (5134, 5138, 5130)}   # factor, probability limit, alpha type


def _alpha_type(value, leg: str) -> AlphaType:
    try:
        return AlphaType(int(value))
    except (TypeError, ValueError):
        raise ValueError(f"alpha type {_TAGS[leg][2]}={value!r}: one of "
                         f"{', '.join(f'{t.value}={t.name.title()}' for t in AlphaType)}") from None


def variant_of(alpha_type, leg: str = "take") -> str:
    """The model variant an alpha type (5128 take / 5130 make) is scored with."""
    return VARIANT_OF_TYPE[_alpha_type(alpha_type, leg)]


def default_path(variant: str = "standard") -> Path:
    return MODELS_DIR / ("alpha.json" if variant == "standard" else f"alpha_{variant}.json")


def side_sign(side) -> np.ndarray:
    """+1 for a buy, -1 for a sell: numbers as they are, or router.domain Side values."""
    if hasattr(side, "is_buy"):
        return np.asarray(1.0 if side.is_buy else -1.0)
    sign = np.asarray(side, float)
    if not np.all(np.abs(sign) == 1.0):
        raise ValueError(f"side must be +1 (buy) or -1 (sell), got {side!r}")
    return sign


def price_points(state: AlphaState, max_points: int | None = None) -> np.ndarray:
    """(rows, points): bid, bid + 1 tick, ..., ask for each row, NaN past the row's ask. With
    ``max_points``, wider spreads keep only that many points, evenly spread from bid to ask."""
    ticks = np.rint(state.spread_ticks).astype(int)
    width = int(ticks.max(initial=0)) + 1
    if max_points is not None and width > max_points:
        fraction = np.linspace(0.0, 1.0, max_points)[None, :]
        steps = np.rint(fraction * ticks[:, None])
    else:
        steps = np.arange(width, dtype=float)[None, :].repeat(len(state), axis=0)
        steps[steps > ticks[:, None]] = np.nan
    return state.bid[:, None] + steps * state.tick[:, None]


def features(state: AlphaState, side, prices, fee, horizon_s: float, names=ALL_FEATURES) -> np.ndarray:
    """(rows, points, len(names)): each price point's features (module docstring). ``side``: a sign
    per row or one for all; ``prices``: (rows, points); ``fee``: per unit in price units, any shape
    that broadcasts to ``prices``."""
    prices = np.asarray(prices, float)
    if prices.ndim == 1:
        prices = prices[:, None]
    sign = np.broadcast_to(side_sign(side), (len(state),))[:, None]
    mid = state.mid[:, None]
    edge = sign * (mid - prices) - np.asarray(fee, float)
    sigma = (state.sigma_1s * np.sqrt(horizon_s))[:, None]
    columns = {
        "edge_sigma": lambda: edge / sigma,
        "imbalance": lambda: sign * state.imbalance[:, None],
        "flow": lambda: sign * state.flow[:, None],
        "ret": lambda: sign * state.ret[:, None],
        "log_spread": lambda: np.log1p(np.maximum(state.spread_ticks, 0.0))[:, None],
        "log_since_trade": lambda: np.log1p(state.since_trade_s)[:, None],
    }
    shape = np.broadcast_shapes(prices.shape, edge.shape)
    return np.stack([np.broadcast_to(columns[name](), shape) for name in names], axis=-1)


def _predict(logistic: Logistic, x: np.ndarray) -> np.ndarray:
    flat = x.reshape(-1, x.shape[-1])
    out = np.full(len(flat), np.nan)
    ok = np.all(np.isfinite(flat), axis=1)
    if ok.any():
        out[ok] = logistic.predict(flat[ok])
    return out.reshape(x.shape[:-1])


def worst_price_meeting(probabilities, prices, side, limit) -> np.ndarray:
    """Per row, the worst price point for the order whose probability still meets ``limit``: the
    highest such price for a buy, the lowest for a sell; NaN where none does. This is the
    Probability limit class's price (issue 9, section 1)."""
    p, prices = np.broadcast_arrays(np.atleast_2d(np.asarray(probabilities, float)),
                                    np.atleast_2d(np.asarray(prices, float)))
    sign = np.broadcast_to(side_sign(side), (p.shape[0],))[:, None]
    meets = np.isfinite(prices) & (p >= np.asarray(limit, float).reshape(-1, 1))
    worst = np.where(meets, sign * prices, -np.inf).max(axis=1)
    return np.where(np.isfinite(worst), sign[:, 0] * worst, np.nan)


@dataclass(frozen=True)
class AlphaModel:
    variant: str
    horizon_s: float
    features: tuple[str, ...]
    take: Logistic               # P(positive net markout) for a trade at the price now
    filled: Logistic             # the same, given a resting order was filled there
    source: str                  # the data it was fitted on
    held_back: dict = field(default_factory=dict)    # scores on data it was not fitted to

    def __post_init__(self) -> None:
        for name, fit in (("take", self.take), ("filled", self.filled)):
            if len(fit.weights) != len(self.features):
                raise ValueError(f"{name} has {len(fit.weights)} weights for {len(self.features)} features")
            for feature in EDGE_FEATURES:
                if feature in self.features and fit.weights[self.features.index(feature)] < 0:
                    raise ValueError(f"{name}: the weight on {feature} must not be negative, or a better price "
                                     "would be less likely to pay")

    def _x(self, state, side, prices, fee) -> np.ndarray:
        return features(state, side, prices, fee, self.horizon_s, self.features)

    def take_probability(self, state: AlphaState, side, prices, fee=0.0) -> np.ndarray:
        """(rows, points): P(trading at each price now has a positive markout, net of ``fee``)."""
        return _predict(self.take, self._x(state, side, prices, fee))

    def filled_probability(self, state: AlphaState, side, prices, fee=0.0) -> np.ndarray:
        """(rows, points): P(positive net markout | a resting order at that price was filled)."""
        return _predict(self.filled, self._x(state, side, prices, fee))

    def make_probability(self, state: AlphaState, side, prices, fee=0.0,
                         fill_model: FillProbability | None = None) -> np.ndarray:
        """(rows, points): P(filled there) x P(positive net markout | filled) (module docstring);
        ``fee`` is the maker's (negative for a rebate). Points on the far side of the spread are
        not a resting order's: NaN there."""
        fill_model = fill_model or _shipped_fill_model()
        prices = np.atleast_2d(np.asarray(prices, float))
        buy = np.broadcast_to(side_sign(side), (len(state),)) > 0
        sign = np.where(buy, 1.0, -1.0)[:, None]
        near = np.where(buy, state.bid, state.ask)[:, None]
        far = np.where(buy, state.ask, state.bid)[:, None]
        shown = np.where(buy, state.bid_size, state.ask_size)[:, None]
        traded = np.where(buy, state.bid_hit_30s, state.ask_lifted_30s)[:, None]
        at_touch = np.isclose(prices, near, rtol=0.0, atol=1e-9 + 0.01 * state.tick[:, None])
        queue_ahead = np.where(at_touch, shown, 0.0)
        spread_after = np.abs(far - np.where(sign * (prices - near) > 0, prices, near)) / state.tick[:, None]
        p_fill = fill_model.probability(queue_ahead, 0.0, traded, spread_after)
        resting = np.isfinite(prices) & (sign * (far - prices) > 1e-9)
        return np.where(resting, p_fill * self.filled_probability(state, side, prices, fee), np.nan)

    def limit_price(self, state: AlphaState, side, limit, fee=0.0, kind: str = "take",
                    fill_model: FillProbability | None = None) -> np.ndarray:
        """Per row, the worst price at or between bid and ask whose take (or make) probability
        meets ``limit``; NaN where none does. A take's probability falls as the price worsens; a
        make's need not (a better-placed order fills more often but is picked off more), so for a
        make this is the most aggressive qualifying point, wherever the others lie."""
        prices = price_points(state)
        p = (self.take_probability(state, side, prices, fee) if kind == "take"
             else self.make_probability(state, side, prices, fee, fill_model))
        return worst_price_meeting(p, prices, side, limit)

    def describe(self, path: str | Path | None = None) -> str:
        score = self.held_back.get("take", {})
        where = f" from {path}" if path else ""
        return (f"alpha model {self.variant}{where}: horizon {self.horizon_s:g} s, fitted on {self.source}, "
                f"held back AUC {score.get('auc', float('nan'))} ECE {score.get('calibration_error', float('nan'))}")

    def save(self, path: str | Path) -> None:
        data = {"variant": self.variant, "horizon_s": self.horizon_s, "features": list(self.features),
                "source": self.source, "held_back": self.held_back,
                "take": asdict(self.take), "filled": asdict(self.filled)}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "AlphaModel":
        try:
            data = json.loads(Path(path).read_text())
            names = tuple(map(str, data["features"]))
            unknown = set(names) - set(ALL_FEATURES)
            if unknown:
                raise ValueError(f"unknown features {sorted(unknown)}")
            fits = {}
            for name in ("take", "filled"):
                fit = data[name]
                fits[name] = Logistic(float(fit["intercept"]), tuple(map(float, fit["weights"])),
                                      tuple(map(float, fit["means"])), tuple(map(float, fit["scales"])))
                if not len(fits[name].weights) == len(fits[name].means) == len(fits[name].scales):
                    raise ValueError(f"{name}: weights, means and scales differ in length")
            return cls(str(data["variant"]), float(data["horizon_s"]), names, fits["take"], fits["filled"],
                       str(data.get("source", "")), dict(data.get("held_back", {})))
        except (OSError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: not an alpha model: {error}") from None


@lru_cache(maxsize=1)
def _shipped_fill_model() -> FillProbability:
    return FillProbability.load()


def load_alpha_model(path: str | Path | None = None, variant: str = "standard") -> tuple[AlphaModel, str]:
    """The model at ``path`` (default: the shipped one for ``variant``) and a line for the log."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown alpha variant {variant!r}: one of {', '.join(VARIANTS)}")
    path = Path(path) if path is not None else default_path(variant)
    model = AlphaModel.load(path)
    return model, model.describe(path)


class ProbabilityWindow:
    """The Relative alpha type's window: the model's probability at the order's own reference
    point (the far touch for a take, the near touch for a make) at every market-data update of the
    last ``window_s`` seconds on the clock."""

    def __init__(self, window_s: float = RELATIVE_WINDOW_S) -> None:
        self.window_ns = int(window_s * NS)
        self._values: deque[tuple[int, float]] = deque()

    def add(self, ts_ns: int, probability: float) -> None:
        if np.isfinite(probability):
            self._values.append((ts_ns, float(probability)))
        self._trim(ts_ns)

    def _trim(self, now_ns: int) -> None:
        while self._values and self._values[0][0] <= now_ns - self.window_ns:
            self._values.popleft()

    def values(self, now_ns: int) -> np.ndarray:
        self._trim(now_ns)
        return np.array([p for _, p in self._values])


def effective_probability_limit(alpha_type, given: float | None, factor: float | None = None,
                                recent_probs=(), leg: str = "take") -> float:
    """The probability a price point must reach. Static, Hawk, Eagle, Falcon: the limit given
    (5136 take / 5138 make). Relative: max(given, mean + factor x std of ``recent_probs``), the
    factor (5132 / 5134) in [-2, 2]; with fewer than two recent probabilities there is no spread
    to measure and the limit given stands. Bad input raises ValueError naming the tag."""
    factor_tag, limit_tag, type_tag = _TAGS[leg]
    kind = _alpha_type(alpha_type, leg)
    if given is None or not 0.0 <= float(given) <= 1.0:
        raise ValueError(f"probability limit {limit_tag}={given!r}: a probability limit in [0, 1] is required")
    if kind is not AlphaType.RELATIVE:
        return float(given)
    if factor is None:
        raise ValueError(f"alpha factor {factor_tag} is required for a Relative alpha type ({type_tag}=5)")
    if not -2.0 <= float(factor) <= 2.0:
        raise ValueError(f"alpha factor {factor_tag}={factor} out of range -2 to 2")
    recent = np.asarray(recent_probs, float)
    recent = recent[np.isfinite(recent)]
    if len(recent) < 2:
        return float(given)
    return float(max(given, min(recent.mean() + float(factor) * recent.std(), 1.0)))


# ---- fitting and scoring -------------------------------------------------------------------

@dataclass
class Score:
    rows: int
    positive_rate: float
    brier: float
    auc: float
    calibration_error: float
    buckets: list[Bucket]

    def summary(self) -> dict:
        return {"rows": self.rows, "positive_rate": round(self.positive_rate, 4), "brier": round(self.brier, 4),
                "auc": round(self.auc, 4), "calibration_error": round(self.calibration_error, 4)}


def score(p: np.ndarray, y: np.ndarray) -> Score:
    buckets, ece = calibration(p, y)
    return Score(len(y), float(np.mean(y)), brier(p, y), auc(p, y), ece, buckets)


@dataclass
class AlphaFit:
    model: AlphaModel
    take: Score                 # held back, every price point from bid to ask
    take_far_touch: Score       # held back, the far touch only: the price a take pays
    filled: Score               # held back, real fills of resting orders
    train_rows: int
    split_ns: int
    test_span_s: float


def fit_monotone(x: np.ndarray, y: np.ndarray, names) -> Logistic:
    """The logistic fit with the edge's weight held at or above zero. The log-likelihood is
    concave, so when the free fit puts that one weight below zero the constrained optimum has it
    at zero: the fit without the edge, with a zero weight put back in its place."""
    fit = fit_logistic(x, y)
    edge = [i for i, name in enumerate(names) if name in EDGE_FEATURES]
    if all(fit.weights[i] >= 0 for i in edge):
        return fit
    keep = [i for i in range(x.shape[1]) if i not in edge]
    reduced = fit_logistic(x[:, keep], y) if keep else Logistic(float(np.log(y.mean() / (1 - y.mean()))), (), (), ())
    weights, means, scales = [0.0] * x.shape[1], [0.0] * x.shape[1], [1.0] * x.shape[1]
    for slot, i in enumerate(keep):
        weights[i], means[i], scales[i] = reduced.weights[slot], reduced.means[slot], reduced.scales[slot]
    return Logistic(reduced.intercept, tuple(weights), tuple(means), tuple(scales))


def markout_labels(tape: MarketTape, times_ns, side, prices, fee, horizon_s: float) -> np.ndarray:
    """(rows, points): whether trading at each price at each time had a positive markout net of
    ``fee``: side x (mid ``horizon_s`` later - price) - fee > 0 (a markout of exactly zero is not)."""
    future = tape.mid_at(np.asarray(times_ns, np.int64) + int(horizon_s * NS))[:, None]
    sign = np.broadcast_to(side_sign(side), future.shape[:1])[:, None]
    return sign * (future - np.atleast_2d(np.asarray(prices, float))) - np.asarray(fee, float) > 0


def _take_rows(tape: MarketTape, times: np.ndarray, horizon_s: float, names, fee_range, rng, max_points):
    state = state_at(tape, times)
    prices = price_points(state, max_points)
    xs, ys, far = [], [], []
    for sign in (1.0, -1.0):
        fee = rng.uniform(*fee_range, size=prices.shape)
        x = features(state, sign, prices, fee, horizon_s, names)
        y = markout_labels(tape, times, sign, prices, fee, horizon_s)
        ok = np.isfinite(prices)
        xs.append(x[ok])
        ys.append(y[ok])
        far_touch = np.isclose(prices, (state.ask if sign > 0 else state.bid)[:, None], rtol=0.0,
                               atol=tape.tick / 100.0)
        far.append(far_touch[ok])
    return np.concatenate(xs), np.concatenate(ys).astype(float), np.concatenate(far)


def _filled_rows(tape: MarketTape, trade_ns: np.ndarray, prices: np.ndarray, signed: np.ndarray, horizon_s: float,
                 names, fee_range, rng):
    state = state_at(tape, trade_ns - 1)                   # the book just before the fill
    resting = -np.sign(signed)                             # the resting order was on the other side
    fee = rng.uniform(*fee_range, size=len(trade_ns))[:, None]
    x = features(state, resting, prices[:, None], fee, horizon_s, names)[:, 0, :]
    y = markout_labels(tape, trade_ns, resting, prices[:, None], fee, horizon_s)[:, 0]
    return x, y.astype(float)


def fit_alpha(tape: MarketTape, variant: str | Variant = "standard", *, horizon_s: float | None = None,
              split_fraction: float = 0.6, step_s: float = 1.0, warmup_s: float = 60.0,
              fee_range: tuple[float, float] = (0.0, 0.0), max_points: int | None = 16, seed: int = 0) -> AlphaFit:
    """Fit on the tape's first ``split_fraction`` of time (samples whose horizon ends before the
    split), score on the samples after it (held back). Samples every ``step_s`` from
    ``warmup_s`` in, each with both sides and the price points from bid to ask; each row's fee is
    drawn from ``fee_range`` so the fit sees the fee's effect. Fills: every trade of the tape."""
    spec = VARIANTS[variant] if isinstance(variant, str) else variant
    horizon_s = spec.horizon_s if horizon_s is None else horizon_s
    horizon_ns = int(horizon_s * NS)
    rng = np.random.default_rng(seed)
    split_ns = tape.start_ns + int((tape.end_ns - tape.start_ns) * split_fraction)
    times = np.arange(tape.start_ns + int(warmup_s * NS), tape.end_ns - horizon_ns, int(step_s * NS), dtype=np.int64)
    train_t, test_t = times[times + horizon_ns <= split_ns], times[times >= split_ns]
    if len(train_t) < 10 or len(test_t) < 10:
        raise ValueError(f"{tape.source}: too few samples to fit and score with a {horizon_s:g} s horizon "
                         f"({len(train_t)} before the split, {len(test_t)} after)")
    x_train, y_train, _ = _take_rows(tape, train_t, horizon_s, spec.features, fee_range, rng, max_points)
    x_test, y_test, far_test = _take_rows(tape, test_t, horizon_s, spec.features, fee_range, rng, max_points)
    take = fit_monotone(x_train, y_train, spec.features)

    trades = (tape.trade_ns > tape.start_ns + int(warmup_s * NS)) & (tape.trade_ns + horizon_ns <= tape.end_ns)
    trades &= tape.trade_signed != 0
    tr_ns, tr_p, tr_s = tape.trade_ns[trades], tape.trade_price[trades], tape.trade_signed[trades]
    before, after = tr_ns + horizon_ns <= split_ns, tr_ns >= split_ns
    xf_train, yf_train = _filled_rows(tape, tr_ns[before], tr_p[before], tr_s[before], horizon_s, spec.features,
                                      fee_range, rng)
    xf_test, yf_test = _filled_rows(tape, tr_ns[after], tr_p[after], tr_s[after], horizon_s, spec.features,
                                    fee_range, rng)
    if len(yf_train) < 10 or len(yf_test) < 10:
        raise ValueError(f"{tape.source}: too few fills to fit and score ({len(yf_train)} before the split, "
                         f"{len(yf_test)} after)")
    filled = fit_monotone(xf_train, yf_train, spec.features)

    p_take = take.predict(x_test)
    scores = score(p_take, y_test), score(p_take[far_test], y_test[far_test]), score(filled.predict(xf_test), yf_test)
    held_back = {"take": scores[0].summary(), "take_far_touch": scores[1].summary(), "filled": scores[2].summary(),
                 "split_fraction": split_fraction, "test_span_s": round((tape.end_ns - split_ns) / NS, 1)}
    model = AlphaModel(spec.name, horizon_s, spec.features, take, filled, tape.source, held_back)
    return AlphaFit(model, *scores, train_rows=len(y_train), split_ns=split_ns,
                    test_span_s=(tape.end_ns - split_ns) / NS)


# Per-unit fees each fit draws its rows' fees from, in the data's price units. LOBSTER (Nasdaq
# AMZN, 2012): about $0.003 a share to take, a rebate about as large to make. Binance USD-M charges
# 0.02-0.05% of notional (12-30 USDT a BTC at 61,000): the range is kept to 1 USDT, a tenth of a
# 10 s sigma, so the held-back scores measure the market signals, not a spread of fees we chose.
FEE_RANGE = {"lobster": (-0.003, 0.003), "binance": (0.0, 1.0)}
SAMPLING = {"lobster": {"step_s": 1.0, "warmup_s": 60.0}, "binance": {"step_s": 0.25, "warmup_s": 30.0}}


def fit_files(data_path: str | Path, orderbook_path: str | Path | None = None, variant: str = "standard", *,
              horizon_s: float | None = None, split_fraction: float = 0.6, sparse: int = 1,
              tape: MarketTape | None = None) -> AlphaFit:
    """``fit_alpha`` on a LOBSTER pair or a Binance capture with that data's fee range and sampling;
    ``sparse``: sample every n-th step only (the quick bench)."""
    from .alpha_features import is_binance, tape_from_files

    kind = "binance" if is_binance(data_path) else "lobster"
    tape = tape if tape is not None else tape_from_files(data_path, orderbook_path)
    sampling = dict(SAMPLING[kind])
    sampling["step_s"] *= sparse
    return fit_alpha(tape, variant, horizon_s=horizon_s, split_fraction=split_fraction, fee_range=FEE_RANGE[kind],
                     **sampling)
