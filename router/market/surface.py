"""Volatility surface: one raw-SVI smile per expiry, fitted to option mid quotes.

Each expiry's total implied variance w(k) = sigma_iv^2 * T in log-forward-moneyness
k = ln(K / F_T) is the raw SVI curve

    w(k) = a + b * (rho * (k - m) + sqrt((k - m)^2 + sigma^2)).

Fit (Zeliade's quasi-explicit method): with y = (k - m) / sigma the curve is linear in
(a, d, c) = (a, rho*b*sigma, b*sigma), so for fixed (m, sigma) the weighted least squares in
(a, d, c) is a 3-variable QP over a small polytope, solved exactly by enumerating active sets.
Nelder-Mead works the remaining 2-D problem in (m, log sigma): from a coarse grid on a cold
fit, from the previous (m, sigma) on a warm refit. The polytope keeps every fit valid:
  c >= |d|                 b >= 0, |rho| <= 1
  c + |d| <= 2 sigma       b (1 + |rho|) <= 2, Roger Lee's bound on the wing slopes
  a + c - |d| >= 0         sufficient for a + b sigma sqrt(1 - rho^2) >= 0 (w >= 0)
  a <= max(w)

Arbitrage: butterfly-free means Gatheral's density g(k) >= 0; calendar-free means w is
non-decreasing in expiry at every k. Both are checked on a k grid after each fit. A slice
that violates is refitted on all five parameters with SLSQP, with g >= 0 and the neighbouring
slices' total variance (shorter one below, longer one above) as constraints on the grid.
If even that fails the unrepaired fit is kept and the violation stays in the report.

Between expiries total variance is interpolated linearly in T at fixed k (calendar-free
slices give a calendar-free surface); before the first expiry and after the last, the
nearest smile is held in implied vol.

Prices come from pricing.bsm (spot, rate, dividend yield) or pricing.black76 (the futures
price as forward). An exchange mark price, where given, stands in for the model price: it
carries the venue's forward and smile (seed 002), and its difference from the model is
reported so a persistent bias shows up.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from scipy.optimize import minimize

from router.market import pricing

Model = Literal["bsm", "black76"]

MIN_POINTS = 5
GRID_POINTS = 401
BUTTERFLY_TOL = 1e-8
CALENDAR_TOL = 1e-10
_RHO_MAX = 1.0 - 1e-9


@dataclass(frozen=True, slots=True)
class SviParams:
    a: float
    b: float
    rho: float
    m: float
    sigma: float

    def as_array(self) -> np.ndarray:
        return np.array([self.a, self.b, self.rho, self.m, self.sigma])

    def total_variance(self, k: np.ndarray | float) -> np.ndarray:
        x = np.asarray(k, dtype=float) - self.m
        return self.a + self.b * (self.rho * x + np.sqrt(x * x + self.sigma * self.sigma))

    def is_valid(self) -> bool:
        return (self.b >= 0 and abs(self.rho) < 1 and self.sigma > 0
                and self.a + self.b * self.sigma * np.sqrt(1 - self.rho ** 2) >= -1e-14)


def butterfly_density(params: SviParams, k: np.ndarray) -> np.ndarray:
    """Gatheral's g(k); the risk-neutral density is proportional to it, so g < 0 is arbitrage."""
    a, b, rho, m, sigma = params.as_array()
    x = np.asarray(k, dtype=float) - m
    root = np.sqrt(x * x + sigma * sigma)
    w = a + b * (rho * x + root)
    dw = b * (rho + x / root)
    d2w = b * sigma * sigma / root ** 3
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (1 - k * dw / (2 * w)) ** 2 - dw * dw / 4 * (1 / w + 0.25) + d2w / 2
    return np.where(w > 0, g, -np.inf)


def check_grid(params: SviParams, k_span: float = 0.0) -> np.ndarray:
    """k grid for the arbitrage checks: the quoted range with margin, at least 6 ATM deviations."""
    atm_dev = np.sqrt(max(float(params.total_variance(0.0)), 1e-8))
    span = float(np.clip(max(1.25 * k_span, 6 * atm_dev), 0.05, 4.0))
    return np.linspace(-span, span, GRID_POINTS)


@dataclass(frozen=True, slots=True)
class Violation:
    kind: Literal["butterfly", "calendar"]
    years: tuple[float, ...]       # the slice, or (shorter, longer) for calendar
    k: float                       # where it is worst
    amount: float                  # min g, or the most negative w(longer) - w(shorter)


def butterfly_violation(params: SviParams, k: np.ndarray, years: float = 0.0,
                        tol: float = BUTTERFLY_TOL) -> Violation | None:
    g = butterfly_density(params, k)
    worst = int(np.argmin(g))
    return Violation("butterfly", (years,), float(k[worst]), float(g[worst])) if g[worst] < -tol else None


def calendar_violation(shorter: SviParams, longer: SviParams, k: np.ndarray, years: tuple[float, float] = (0.0, 0.0),
                       tol: float = CALENDAR_TOL) -> Violation | None:
    gap = longer.total_variance(k) - shorter.total_variance(k)
    worst = int(np.argmin(gap))
    return Violation("calendar", years, float(k[worst]), float(gap[worst])) if gap[worst] < -tol else None


@dataclass(frozen=True, slots=True)
class SviFit:
    params: SviParams
    rmse_w: float                  # weighted RMSE in total variance
    evaluations: int               # objective evaluations, the cost of the fit
    repaired: bool = False         # refitted under arbitrage constraints
    violations: tuple[Violation, ...] = ()


# ---------------------------------------------------------------------------------------------
# Inner problem: for fixed (m, sigma), weighted least squares in x = (a, d, c) over G x >= h.

_G = np.array([
    [0.0, -1.0, 1.0],    # c - d >= 0
    [0.0, 1.0, 1.0],     # c + d >= 0
    [0.0, -1.0, -1.0],   # -(c + d) >= -2 sigma
    [0.0, 1.0, -1.0],    # -(c - d) >= -2 sigma
    [1.0, -1.0, 1.0],    # a + c - d >= 0
    [1.0, 1.0, 1.0],     # a + c + d >= 0
    [-1.0, 0.0, 0.0],    # -a >= -max(w)
])


def _active_sets() -> np.ndarray:
    sets = [np.zeros(len(_G), bool)]
    for size in (1, 2, 3):
        for rows in itertools.combinations(range(len(_G)), size):
            if np.linalg.matrix_rank(_G[list(rows)]) == size:
                mask = np.zeros(len(_G), bool)
                mask[list(rows)] = True
                sets.append(mask)
    return np.array(sets)


_EYE3 = np.eye(3)
_ACTIVE = _active_sets()                       # (S, 7), every independent active set up to 3
_KKT_BASE = np.zeros((len(_ACTIVE), 10, 10))   # KKT matrix without H, inactive multipliers pinned to 0
for _s, _mask in enumerate(_ACTIVE):
    for _i in range(len(_G)):
        if _mask[_i]:
            _KKT_BASE[_s, :3, 3 + _i] = -_G[_i]
            _KKT_BASE[_s, 3 + _i, :3] = _G[_i]
        else:
            _KKT_BASE[_s, 3 + _i, 3 + _i] = 1.0


@dataclass(slots=True)
class _Slice:
    """One expiry's fitting data, with the weights normalised so the objective is relative."""
    k: np.ndarray
    w: np.ndarray
    weight: np.ndarray
    w_max: float = field(init=False)
    w_norm: float = field(init=False)

    def __post_init__(self) -> None:
        self.weight = self.weight / np.sum(self.weight * self.w * self.w)
        self.w_max = float(self.w.max())
        self.w_norm = float(np.sum(self.weight * self.w * self.w))

    def inner(self, m: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best (a, d, c) and objective for each (m, sigma) pair, vectorised over pairs."""
        y = (self.k[None, :] - m[:, None]) / sigma[:, None]
        basis = np.empty(y.shape + (3,))
        basis[..., 0] = 1.0
        basis[..., 1] = y
        basis[..., 2] = np.sqrt(y * y + 1)
        weighted = basis * self.weight[:, None]
        hess = weighted.transpose(0, 2, 1) @ basis
        hess += 1e-13 * hess[:, 2:, 2:] * _EYE3
        grad = weighted.transpose(0, 2, 1) @ self.w
        bound = np.zeros((len(m), len(_G)))
        bound[:, 2] = bound[:, 3] = -2 * sigma
        bound[:, 6] = -self.w_max
        x = np.linalg.solve(hess, grad[..., None])[..., 0]
        slack = 1e-12 * max(self.w_max, 1e-12)
        infeasible = (x @ _G.T < bound - slack).any(axis=1)
        if infeasible.any():
            x[infeasible] = self._constrained(hess[infeasible], grad[infeasible], bound[infeasible], slack)
        sse = ((hess @ x[..., None])[..., 0] * x).sum(axis=1) - 2 * (x * grad).sum(axis=1) + self.w_norm
        return x, np.maximum(sse, 0.0)

    @staticmethod
    def _constrained(hess: np.ndarray, grad: np.ndarray, bound: np.ndarray, slack: float) -> np.ndarray:
        # The optimum of a convex QP is the best feasible equality-constrained optimum over
        # all active sets; with 3 unknowns and 7 constraints that is a 64-system batch solve.
        kkt = np.broadcast_to(_KKT_BASE, (len(hess),) + _KKT_BASE.shape).copy()
        kkt[:, :, :3, :3] = hess[:, None]
        rhs = np.zeros(kkt.shape[:3])
        rhs[:, :, :3] = grad[:, None]
        rhs[:, :, 3:] = np.where(_ACTIVE[None], bound[:, None], 0.0)
        x = np.linalg.solve(kkt, rhs[..., None])[..., :3, 0]                           # (P, S, 3)
        feasible = np.all(x @ _G.T >= bound[:, None] - slack, axis=2)
        cost = np.einsum("psi,pij,psj->ps", x, hess, x) - 2 * np.einsum("psi,pi->ps", x, grad)
        best = np.argmin(np.where(feasible, cost, np.inf), axis=1)
        return x[np.arange(len(x)), best]


def _to_params(adc: np.ndarray, m: float, sigma: float) -> SviParams:
    a, d, c = (float(v) for v in adc)
    b = c / sigma
    rho = float(np.clip(d / c, -_RHO_MAX, _RHO_MAX)) if c > 0 else 0.0
    return SviParams(a, b, rho, float(m), float(sigma))


def _quasi_explicit(data: _Slice, start: SviParams | None) -> tuple[SviParams, float, int]:
    k_lo, k_hi = float(data.k.min()), float(data.k.max())
    span = max(k_hi - k_lo, 1e-3)
    bounds = [(k_lo - span, k_hi + span), (np.log(span * 1e-3), np.log(span * 10))]
    evaluations = 0
    if start is None:
        m_grid, log_sigma_grid = np.meshgrid(np.linspace(k_lo, k_hi, 11),
                                             np.linspace(np.log(span / 200), np.log(2 * span), 12))
        _, sse = data.inner(m_grid.ravel(), np.exp(log_sigma_grid.ravel()))
        evaluations += sse.size
        best = int(np.argmin(sse))
        x0 = np.array([m_grid.ravel()[best], log_sigma_grid.ravel()[best]])
        step = np.array([span / 10, 0.5])
    else:
        x0 = np.array([start.m, np.log(start.sigma)])
        x0 = np.clip(x0, [lo for lo, _ in bounds], [hi for _, hi in bounds])
        step = np.array([span / 200, 0.02])

    def objective(x: np.ndarray) -> float:
        return float(data.inner(x[:1], np.exp(x[1:]))[1][0])

    simplex = np.array([x0, x0 + [step[0], 0.0], x0 + [0.0, step[1]]])
    result = minimize(objective, x0, method="Nelder-Mead", bounds=bounds,
                      options={"initial_simplex": simplex, "xatol": 1e-7, "fatol": 1e-14, "maxfev": 2000})
    m, sigma = float(result.x[0]), float(np.exp(result.x[1]))
    adc, sse = data.inner(np.array([m]), np.array([sigma]))
    return _to_params(adc[0], m, sigma), float(sse[0]), evaluations + int(result.nfev)


def _constrained_refit(data: _Slice, start: SviParams, grid: np.ndarray,
                       lower: SviParams | None, upper: SviParams | None) -> SviParams | None:
    """Full 5-parameter SLSQP refit with the no-arbitrage conditions as grid constraints."""
    coarse = grid[:: max(1, len(grid) // 120)]

    def curve(p: np.ndarray) -> SviParams:
        return SviParams(*(float(v) for v in p))

    def objective(p: np.ndarray) -> float:
        return float(np.sum(data.weight * (curve(p).total_variance(data.k) - data.w) ** 2))

    def arbitrage_margins(p: np.ndarray) -> np.ndarray:
        svi = curve(p)
        parts = [butterfly_density(svi, coarse) - 1e-6,
                 [svi.a + svi.b * svi.sigma * np.sqrt(max(1 - svi.rho ** 2, 0.0)),
                  2 - svi.b * (1 + svi.rho), 2 - svi.b * (1 - svi.rho)]]
        w = svi.total_variance(coarse)
        if lower is not None:
            parts.append(w - lower.total_variance(coarse) - 1e-9)
        if upper is not None:
            parts.append(upper.total_variance(coarse) - w - 1e-9)
        return np.nan_to_num(np.concatenate(parts), neginf=-1e3)

    span = max(float(np.ptp(data.k)), 1e-3)
    bounds = [(-data.w_max, data.w_max), (0.0, 2.0), (-_RHO_MAX, _RHO_MAX),
              (float(data.k.min()) - span, float(data.k.max()) + span), (1e-5, 10 * span)]
    x0 = np.clip(start.as_array(), [lo for lo, _ in bounds], [hi for _, hi in bounds])
    result = minimize(objective, x0, method="SLSQP", bounds=bounds,
                      constraints=[{"type": "ineq", "fun": arbitrage_margins}],
                      options={"maxiter": 200, "ftol": 1e-14})
    fitted = curve(result.x)
    return fitted if fitted.is_valid() else None


def _violations(params: SviParams, years: float, grid: np.ndarray,
                lower: tuple[float, SviParams] | None, upper: tuple[float, SviParams] | None) -> list[Violation]:
    found = [butterfly_violation(params, grid, years)]
    if lower is not None:
        found.append(calendar_violation(lower[1], params, grid, (lower[0], years)))
    if upper is not None:
        found.append(calendar_violation(params, upper[1], grid, (years, upper[0])))
    return [v for v in found if v is not None]


def fit_svi(k: np.ndarray, w: np.ndarray, weights: np.ndarray | None = None, *, start: SviParams | None = None,
            years: float = 0.0, lower: tuple[float, SviParams] | None = None,
            upper: tuple[float, SviParams] | None = None) -> SviFit:
    """Fit raw SVI to total variance w at log-moneyness k, minimising sum(weights * residual^2).

    start warm-starts the fit from a previous slice. lower / upper are the neighbouring
    (years, params) slices the fit must stay between (calendar arbitrage).
    """
    k = np.asarray(k, dtype=float)
    w = np.asarray(w, dtype=float)
    weight = np.ones_like(w) if weights is None else np.asarray(weights, dtype=float)
    if len(k) < MIN_POINTS:
        raise ValueError(f"SVI needs at least {MIN_POINTS} quotes, got {len(k)}")
    data = _Slice(k, w, weight)
    params, sse, evaluations = _quasi_explicit(data, start)
    grid = check_grid(params, float(np.max(np.abs(k))))
    violations = _violations(params, years, grid, lower, upper)
    repaired = False
    if violations:
        fixed = _constrained_refit(data, params, grid, lower and lower[1], upper and upper[1])
        if fixed is not None and not _violations(fixed, years, grid, lower, upper):
            params, violations, repaired = fixed, [], True
            sse = float(np.sum(data.weight * (params.total_variance(k) - w) ** 2))
    return SviFit(params, float(np.sqrt(sse / np.sum(data.weight))), evaluations, repaired, tuple(violations))


# ---------------------------------------------------------------------------------------------
# The surface.

@dataclass(frozen=True, slots=True)
class Underlier:
    """What turns a strike into forward moneyness: F(T) = spot * exp((rate - div_yield) T).

    For model="black76" spot is the futures price, which is the forward for every expiry.
    """
    spot: float
    rate: float = 0.0
    div_yield: float = 0.0
    model: Model = "bsm"

    def forward(self, years: np.ndarray | float) -> np.ndarray:
        if self.model == "black76":
            return np.full(np.shape(years), self.spot, dtype=float)
        return self.spot * np.exp((self.rate - self.div_yield) * np.asarray(years, dtype=float))


@dataclass(frozen=True, slots=True)
class SurfacePrice:
    price: np.ndarray        # the mark where one was given, otherwise the model
    model: np.ndarray        # surface (model) price
    vol: np.ndarray          # surface implied vol
    delta: np.ndarray
    vega: np.ndarray
    mark_diff: np.ndarray    # model - mark, NaN where no mark was given
    from_mark: np.ndarray    # bool: price is the exchange mark


@dataclass(frozen=True, slots=True)
class VolSurface:
    underlier: Underlier
    expiries: np.ndarray                 # sorted years
    params: tuple[SviParams, ...]
    k_spans: np.ndarray                  # max |k| quoted per slice, for the check grid

    def total_variance(self, years: np.ndarray | float, k: np.ndarray | float) -> np.ndarray:
        t, k = np.broadcast_arrays(np.asarray(years, dtype=float), np.asarray(k, dtype=float))
        table = np.array([p.as_array() for p in self.params])
        hi = np.clip(np.searchsorted(self.expiries, t), 0, len(self.expiries) - 1)
        lo = np.maximum(hi - 1, 0)
        w_lo, w_hi = _svi(table[lo], k), _svi(table[hi], k)
        t_lo, t_hi = self.expiries[lo], self.expiries[hi]
        between = np.where(t_hi > t_lo, (t - t_lo) / np.where(t_hi > t_lo, t_hi - t_lo, 1.0), 1.0)
        outside = (t <= self.expiries[0]) | (t >= self.expiries[-1])
        return np.where(outside, w_hi * t / t_hi, w_lo + (w_hi - w_lo) * between)

    def vol(self, years: np.ndarray | float, k: np.ndarray | float) -> np.ndarray:
        t = np.maximum(np.asarray(years, dtype=float), 1e-12)
        return np.sqrt(np.maximum(self.total_variance(t, k), 0.0) / t)

    def vol_at_strike(self, strike: np.ndarray, years: np.ndarray, spot: float | None = None) -> np.ndarray:
        underlier = self.underlier if spot is None else replace(self.underlier, spot=spot)
        return self.vol(years, np.log(np.asarray(strike, dtype=float) / underlier.forward(years)))

    def price(self, strike: np.ndarray, years: np.ndarray, is_call: np.ndarray, *, spot: float | None = None,
              mark: np.ndarray | None = None) -> SurfacePrice:
        """Surface prices, vectorised over options. spot reprices at a new underlier level
        (sticky moneyness); mark (NaN = none) overrides the model where given."""
        underlier = self.underlier if spot is None else replace(self.underlier, spot=spot)
        strike = np.asarray(strike, dtype=float)
        years = np.asarray(years, dtype=float)
        vol = self.vol_at_strike(strike, years, underlier.spot)
        if underlier.model == "black76":
            greeks = pricing.black76(underlier.spot, strike, years, vol, is_call, underlier.rate)
        else:
            greeks = pricing.bsm(underlier.spot, strike, years, vol, is_call, underlier.rate, underlier.div_yield)
        model = np.asarray(greeks.price, dtype=float)
        marks = np.full_like(model, np.nan) if mark is None else np.broadcast_to(np.asarray(mark, float), model.shape)
        from_mark = np.isfinite(marks)
        return SurfacePrice(price=np.where(from_mark, marks, model), model=model, vol=vol,
                            delta=np.asarray(greeks.delta), vega=np.asarray(greeks.vega),
                            mark_diff=model - marks, from_mark=from_mark)

    def arbitrage(self) -> list[Violation]:
        found: list[Violation] = []
        for i, (years, params) in enumerate(zip(self.expiries, self.params)):
            grid = check_grid(params, float(self.k_spans[i]))
            if (v := butterfly_violation(params, grid, float(years))) is not None:
                found.append(v)
            if i + 1 < len(self.params):
                span = max(self.k_spans[i], self.k_spans[i + 1])
                grid = np.union1d(grid, check_grid(self.params[i + 1], float(span)))
                v = calendar_violation(params, self.params[i + 1], grid, (float(years), float(self.expiries[i + 1])))
                if v is not None:
                    found.append(v)
        return found


def _svi(table: np.ndarray, k: np.ndarray) -> np.ndarray:
    a, b, rho, m, sigma = np.moveaxis(table, -1, 0)
    x = k - m
    return a + b * (rho * x + np.sqrt(x * x + sigma * sigma))


# ---------------------------------------------------------------------------------------------
# Fitting from quotes.

@dataclass(frozen=True, slots=True)
class ChainQuotes:
    strike: np.ndarray
    years: np.ndarray
    is_call: np.ndarray
    bid: np.ndarray
    ask: np.ndarray

    def select(self, mask: np.ndarray) -> ChainQuotes:
        return ChainQuotes(self.strike[mask], self.years[mask], self.is_call[mask], self.bid[mask], self.ask[mask])


@dataclass(frozen=True, slots=True)
class SmilePoints:
    """One expiry's quotes turned into fitting data."""
    k: np.ndarray
    w: np.ndarray
    weight: np.ndarray
    vol: np.ndarray
    spread_vol: np.ndarray


def smile_points(quotes: ChainQuotes, years: float, underlier: Underlier) -> SmilePoints:
    """Out-of-the-money mids (puts below the forward, calls at and above) as implied total
    variance. A quote without a bid or with a crossed market says little about fair value and
    is dropped, as is any mid the implied-vol solver flags. Weights are the inverse square of
    the bid-ask width in vol (ask - bid) / vega, floored at a tenth of the median width so a
    single tight quote cannot pin the fit, then mapped onto total variance (dw = 2 vol T dvol).
    """
    forward = float(underlier.forward(years))
    strike = np.asarray(quotes.strike, float)
    is_call = np.asarray(quotes.is_call, bool)
    bid, ask = np.asarray(quotes.bid, float), np.asarray(quotes.ask, float)
    keep = (is_call == (strike >= forward)) & (bid > 0) & (ask > bid)
    strike, is_call, bid, ask = strike[keep], is_call[keep], bid[keep], ask[keep]
    t = np.full_like(strike, years)
    mid = 0.5 * (bid + ask)
    iv = pricing.implied_vol(mid, underlier.spot, strike, t, is_call, underlier.rate, underlier.div_yield,
                             model=underlier.model)
    ok = (np.asarray(iv.flag) == 0) & np.isfinite(iv.vol) & (np.asarray(iv.vol) > 0)
    strike, is_call, bid, ask, t, vol = strike[ok], is_call[ok], bid[ok], ask[ok], t[ok], np.asarray(iv.vol)[ok]
    if underlier.model == "black76":
        vega = pricing.black76(underlier.spot, strike, t, vol, is_call, underlier.rate).vega
    else:
        vega = pricing.bsm(underlier.spot, strike, t, vol, is_call, underlier.rate, underlier.div_yield).vega
    spread_vol = (ask - bid) / np.maximum(np.asarray(vega, float), 1e-12)
    floor = 0.1 * np.median(spread_vol) if len(spread_vol) else 1.0
    weight = 1.0 / (2 * vol * years * np.maximum(spread_vol, floor)) ** 2
    return SmilePoints(np.log(strike / forward), vol * vol * years, weight, vol, spread_vol)


class SurfaceFitter:
    """Keeps the per-expiry SVI fits of a chain and refits one expiry as its quotes move.

    Each update warm-starts from that expiry's previous parameters and is held between its
    neighbouring expiries so the surface stays calendar-free.
    """

    def __init__(self, underlier: Underlier) -> None:
        self.underlier = underlier
        self.fits: dict[float, SviFit] = {}
        self.points: dict[float, SmilePoints] = {}

    def fit(self, quotes: ChainQuotes) -> VolSurface:
        """Cold fit of every expiry with enough usable quotes, shortest first."""
        self.fits.clear()
        for years in np.unique(quotes.years):
            self._fit(float(years), quotes.select(quotes.years == years), warm=False)
        return self.surface()

    def update(self, expiry: float, quotes: ChainQuotes, spot: float | None = None) -> SviParams:
        if spot is not None:
            self.underlier = replace(self.underlier, spot=spot)
        return self._fit(float(expiry), quotes.select(np.isclose(quotes.years, expiry)), warm=True).params

    def surface(self) -> VolSurface:
        expiries = sorted(self.fits)
        if not expiries:
            raise ValueError("no expiry has been fitted")
        return VolSurface(self.underlier, np.array(expiries), tuple(self.fits[t].params for t in expiries),
                          np.array([float(np.max(np.abs(self.points[t].k))) for t in expiries]))

    def _fit(self, years: float, quotes: ChainQuotes, warm: bool) -> SviFit:
        points = smile_points(quotes, years, self.underlier)
        previous = self.fits.get(years)
        shorter = [t for t in self.fits if t < years]
        longer = [t for t in self.fits if t > years]
        fit = fit_svi(points.k, points.w, points.weight, years=years,
                      start=previous.params if warm and previous else None,
                      lower=(max(shorter), self.fits[max(shorter)].params) if shorter else None,
                      upper=(min(longer), self.fits[min(longer)].params) if longer else None)
        self.fits[years] = fit
        self.points[years] = points
        return fit
