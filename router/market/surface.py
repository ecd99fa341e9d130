"""Volatility surface: one raw-SVI smile per expiry, fitted to option mid quotes.

Each expiry's total implied variance w(k) = sigma_iv^2 * T in log-forward-moneyness
k = ln(K / F_T) is the raw SVI curve

    w(k) = a + b * (rho * (k - m) + sqrt((k - m)^2 + sigma^2)).

Fit (Zeliade's quasi-explicit method): with y = (k - m) / sigma the curve is linear in
(a, d, c) = (a, rho*b*sigma, b*sigma), so for fixed (m, sigma) the weighted least squares in
(a, d, c) is a 3-variable QP over a small polytope, solved exactly by enumerating active sets.
That leaves a 2-D problem in (m, log sigma), smooth near its optimum, which Newton's method
solves from a finite-difference stencil evaluated as one numpy batch (Nelder-Mead is the
fallback). A cold fit starts from the best point of a coarse grid, a refit from the previous
(m, sigma), which is what makes refits cheap. The polytope keeps every fit valid:
  c >= |d|                 b >= 0, |rho| <= 1
  c + |d| <= 2 sigma       b (1 + |rho|) <= 2, Roger Lee's bound on the wing slopes
  a + c - |d| >= 0         sufficient for a + b sigma sqrt(1 - rho^2) >= 0 (w >= 0)
  a <= max(w)

Arbitrage: butterfly-free means Gatheral's density g(k) >= 0; calendar-free means w is
non-decreasing in expiry at every k. Both are checked after each fit on a grid over the
quoted strikes (10% margin): the part of the smile the quotes back. Past the quotes a wing is
extrapolation; enforcing calendar order there made noisy short-dated wings push their error
into the next expiry's quoted region, slice after slice (bench/surface_fit.py showed it).
A slice that violates is refitted on all five parameters with SLSQP, with g >= 0 and the
neighbouring slices' total variance (shorter one below, longer one above) as constraints at
grid points; on a refit it starts from the previous arbitrage-free parameters. If even that
fails, the unrepaired fit is kept and the violation stays in the report.

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
_MARGIN = 1e-5      # SLSQP treats constraints within its tolerance (1e-7) as met: keep clear of that


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
    return _density(params.as_array(), np.asarray(k, dtype=float))


def _svi(table: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Total variance for rows of (a, b, rho, m, sigma), broadcast against k."""
    a, b, rho, m, sigma = np.moveaxis(table, -1, 0)
    x = k - m
    return a + b * (rho * x + np.sqrt(x * x + sigma * sigma))


def _density(table: np.ndarray, k: np.ndarray) -> np.ndarray:
    a, b, rho, m, sigma = np.moveaxis(table, -1, 0)
    x = k - m
    root = np.sqrt(x * x + sigma * sigma)
    w = a + b * (rho * x + root)
    dw = b * (rho + x / root)
    d2w = b * sigma * sigma / root ** 3
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (1 - k * dw / (2 * w)) ** 2 - dw * dw / 4 * (1 / w + 0.25) + d2w / 2
    return np.where(w > 0, g, -np.inf)


def check_grid(params: SviParams, k_range: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """k grid for the arbitrage checks: the quoted strikes with a 10% margin on each side, and
    at least one ATM deviation (see the module notes for why not further)."""
    atm_dev = np.sqrt(max(float(params.total_variance(0.0)), 1e-8))
    lo = max(min(1.1 * k_range[0], -atm_dev), -4.0)
    hi = min(max(1.1 * k_range[1], atm_dev), 4.0)
    return np.linspace(lo, hi, GRID_POINTS)


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
class Slice:
    """One expiry of the surface."""
    years: float
    params: SviParams
    k_range: tuple[float, float] = (0.0, 0.0)    # quoted k, the reach of the check grid

    def grid(self) -> np.ndarray:
        return check_grid(self.params, self.k_range)


def slice_violations(piece: Slice, lower: Slice | None = None, upper: Slice | None = None) -> list[Violation]:
    """Butterfly arbitrage in the slice and calendar arbitrage against its neighbours. Calendar
    order is checked on the shorter expiry's grid: longer expiries are quoted at least as far
    out, so that is where both smiles are backed by quotes."""
    found = [butterfly_violation(piece.params, piece.grid(), piece.years)]
    if lower is not None:
        found.append(calendar_violation(lower.params, piece.params, lower.grid(), (lower.years, piece.years)))
    if upper is not None:
        found.append(calendar_violation(piece.params, upper.params, piece.grid(), (piece.years, upper.years)))
    return [v for v in found if v is not None]


@dataclass(frozen=True, slots=True)
class SviFit:
    slice: Slice
    rmse_w: float                  # weighted RMSE in total variance
    evaluations: int               # objective evaluations, the cost of the fit
    repaired: bool = False         # refitted under arbitrage constraints
    violations: tuple[Violation, ...] = ()

    @property
    def params(self) -> SviParams:
        return self.slice.params


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
class _SmileData:
    """One expiry's fitting data. Weights are normalised to sum(weight * w^2) = 1, so the
    objective is relative and one set of tolerances serves every expiry."""
    k: np.ndarray
    w: np.ndarray
    weight: np.ndarray
    w_max: float = field(init=False)

    def __post_init__(self) -> None:
        self.weight = self.weight / np.sum(self.weight * self.w * self.w)
        self.w_max = float(self.w.max())

    def inner(self, m: np.ndarray, sigma: np.ndarray, lazy: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Best (a, d, c) and objective for each (m, sigma) pair, vectorised over pairs.

        lazy (for a grid search): a pair whose unconstrained optimum is infeasible and already
        worse than the best feasible pair cannot win, so it keeps that optimum's objective, a
        lower bound, instead of paying for the active-set enumeration.
        """
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
        if lazy and not infeasible.all():
            best_feasible = self._sse(x, hess, grad)[~infeasible].min()
            infeasible &= self._sse(x, hess, grad) < best_feasible
        if infeasible.any():
            x[infeasible] = self._constrained(hess[infeasible], grad[infeasible], bound[infeasible], slack)
        return x, self._sse(x, hess, grad)

    @staticmethod
    def _sse(x: np.ndarray, hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
        return np.maximum(((hess @ x[..., None])[..., 0] * x).sum(axis=1) - 2 * (x * grad).sum(axis=1) + 1.0, 0.0)

    @staticmethod
    def _constrained(hess: np.ndarray, grad: np.ndarray, bound: np.ndarray, slack: float) -> np.ndarray:
        # The optimum of a convex QP is the best feasible equality-constrained optimum over
        # all active sets; with 3 unknowns and 7 constraints that is one batch of 48 small solves.
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


_STENCIL = np.array([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], dtype=float)   # centre is row 4


def _stencil_newton(data: _SmileData, x: np.ndarray, h: np.ndarray, h_max: np.ndarray, xtol: np.ndarray,
                    max_batches: int = 40) -> tuple[np.ndarray, int, bool]:
    """Newton's method on the reduced objective in (m, log sigma), with the gradient and
    Hessian taken from a 3x3 finite-difference stencil evaluated as one batch.

    The objective is smooth near the optimum, so from a warm start a few batches converge.
    Where it is not convex at the stencil's scale the search walks to the best stencil point
    with a doubled stride; a step that does not improve shrinks the stencil.
    """
    def stencil(centre: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        points = centre + _STENCIL * size
        return points, data.inner(points[:, 0], np.exp(points[:, 1]))[1]

    points, values = stencil(x, h)
    batches = 1
    while batches < max_batches:
        f = values.reshape(3, 3)
        grad = np.array([f[2, 1] - f[0, 1], f[1, 2] - f[1, 0]]) / (2 * h)
        cross = (f[2, 2] - f[2, 0] - f[0, 2] + f[0, 0]) / (4 * h[0] * h[1])
        hess = np.array([[(f[2, 1] - 2 * f[1, 1] + f[0, 1]) / h[0] ** 2, cross],
                         [cross, (f[1, 2] - 2 * f[1, 1] + f[1, 0]) / h[1] ** 2]])
        best = int(np.argmin(values))
        if np.all(np.linalg.eigvalsh(hess) > 0):
            move = -np.linalg.solve(hess, grad)
            move *= min(1.0, float(np.min(8 * h / np.maximum(np.abs(move), 1e-300))))   # trust region
        elif best != 4:
            move = 2 * (points[best] - x)
        elif np.all(h <= xtol):
            return x, 9 * batches, True
        else:                                   # not convex at this scale: look closer
            h = np.maximum(h / 4, xtol)
            points, values = stencil(x, h)
            batches += 1
            continue
        if np.all(np.abs(move) < xtol):
            return x, 9 * batches, True
        trial_h = np.maximum(h_max * min(1.0, float(np.max(np.abs(move) / h_max))), xtol)   # keeps the shape
        trial_points, trial_values = stencil(x + move, trial_h)
        batches += 1
        if trial_values[4] <= values[4]:
            x, h, points, values = x + move, trial_h, trial_points, trial_values
        else:
            x, h = points[best], np.maximum(h / 4, xtol)
            points, values = stencil(x, h)
            batches += 1
    return x, 9 * batches, False


def _quasi_explicit(data: _SmileData, start: SviParams | None) -> tuple[SviParams, float, int]:
    k_lo, k_hi = float(data.k.min()), float(data.k.max())
    span = max(k_hi - k_lo, 1e-3)
    xtol = np.array([1e-6 * span, 1e-6])
    h_max = np.array([span / 20, 0.25])
    evaluations = 0
    if start is None:
        m_grid, log_sigma_grid = np.meshgrid(np.linspace(k_lo, k_hi, 11),
                                             np.linspace(np.log(span / 200), np.log(2 * span), 12))
        _, sse = data.inner(m_grid.ravel(), np.exp(log_sigma_grid.ravel()), lazy=True)
        evaluations += sse.size
        best = int(np.argmin(sse))
        x0, h = np.array([m_grid.ravel()[best], log_sigma_grid.ravel()[best]]), h_max
    else:
        x0, h = np.array([start.m, np.log(start.sigma)]), h_max / 10
    x, spent, converged = _stencil_newton(data, x0, h, h_max, xtol)
    evaluations += spent
    if not converged:
        result = minimize(lambda v: float(data.inner(v[:1], np.exp(v[1:]))[1][0]), x, method="Nelder-Mead",
                          options={"initial_simplex": np.array([x, x + [h_max[0], 0.0], x + [0.0, h_max[1]]]),
                                   "xatol": 1e-7, "fatol": 1e-14, "maxfev": 2000})
        x, evaluations = result.x, evaluations + int(result.nfev)
    m, sigma = float(x[0]), float(np.exp(x[1]))
    adc, sse = data.inner(np.array([m]), np.array([sigma]))
    return _to_params(adc[0], m, sigma), float(sse[0]), evaluations


def _check_grids(piece: Slice, lower: Slice | None, upper: Slice | None) -> list[np.ndarray]:
    own = piece.grid()
    return [own, lower.grid() if lower else np.empty(0), own if upper else np.empty(0)]


def _margins(params: SviParams, grids: list[np.ndarray], lower: Slice | None, upper: Slice | None,
             w_scale: float) -> list[np.ndarray]:
    """Per grid: density g, and the calendar gaps to the shorter and longer slices (scaled)."""
    w_own = [params.total_variance(grid) for grid in grids[1:]]
    return [butterfly_density(params, grids[0]),
            (w_own[0] - lower.params.total_variance(grids[1])) / w_scale if lower else np.empty(0),
            (upper.params.total_variance(grids[2]) - w_own[1]) / w_scale if upper else np.empty(0)]


def _constrained_refit(data: _SmileData, start: Slice, lower: Slice | None,
                       upper: Slice | None) -> tuple[Slice | None, int]:
    """Full 5-parameter SLSQP refit with the no-arbitrage conditions as constraints at grid
    points: every fourth point of the check grids, plus, while a violation is left on the full
    grids, its worst points (a cutting-plane loop, rarely more than two rounds). Parameters
    are scaled to order one; the constraint Jacobian is a forward difference taken as one batch.
    start is the unconstrained fit, or on a refit the previous arbitrage-free slice, which is
    feasible and close, so SLSQP needs only a few iterations from it."""
    x0 = start.params.as_array()
    scale = np.array([data.w_max, max(x0[1], 1e-3), 1.0, max(x0[4], 1e-3), max(x0[4], 1e-3)])
    span = max(float(np.ptp(data.k)), 1e-3)
    bounds = np.array([(-data.w_max, data.w_max), (0.0, 2.0), (-_RHO_MAX, _RHO_MAX),
                       (float(data.k.min()) - span, float(data.k.max()) + span), (1e-5, 10 * span)]) / scale[:, None]

    def sse(z: np.ndarray) -> tuple[float, np.ndarray]:
        a, b, rho, m, sigma = z * scale
        x = data.k - m
        root = np.sqrt(x * x + sigma * sigma)
        residual = a + b * (rho * x + root) - data.w
        slopes = np.stack([np.ones_like(x), rho * x + root, b * x, -b * (rho + x / root), b * sigma / root])
        return float(np.sum(data.weight * residual * residual)), 2 * slopes @ (data.weight * residual) * scale

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = sse(z)          # relative to the start, so SLSQP's first Hessian guess fits
        return value / sse_start, gradient / sse_start

    def rows(zs: np.ndarray, cuts: list[np.ndarray]) -> np.ndarray:
        table = (zs * scale)[:, None, :]
        a, b, rho, sigma = table[:, 0, 0], table[:, 0, 1], table[:, 0, 2], table[:, 0, 4]
        parts = [((a + b * sigma * np.sqrt(np.maximum(1 - rho * rho, 0.0))) / data.w_max)[:, None],
                 (2 - b * (1 + rho))[:, None], (2 - b * (1 - rho))[:, None], _density(table, cuts[0]) - _MARGIN]
        if lower is not None:
            parts.append((_svi(table, cuts[1]) - lower.params.total_variance(cuts[1])) / data.w_max - _MARGIN)
        if upper is not None:
            parts.append((upper.params.total_variance(cuts[2]) - _svi(table, cuts[2])) / data.w_max - _MARGIN)
        return np.nan_to_num(np.concatenate(parts, axis=1), neginf=-1e3)

    def jacobian(z: np.ndarray, cuts: list[np.ndarray]) -> np.ndarray:
        step = 1.5e-8 * np.maximum(np.abs(z), 1.0)
        values = rows(np.vstack([z, z + np.diag(step)]), cuts)
        return ((values[1:] - values[0]) / step[:, None]).T

    z = np.clip(x0 / scale, bounds[:, 0], bounds[:, 1])
    sse_start = max(sse(z)[0], 1e-8)       # weights are normalised: 1e-8 is a 0.01% fit
    cuts = [grid[::4] for grid in _check_grids(start, lower, upper)]
    evaluations = 0
    for _ in range(4):
        result = minimize(objective, z, jac=True, method="SLSQP", bounds=bounds,
                          constraints=[{"type": "ineq", "fun": lambda v, c: rows(v[None], c)[0],
                                        "jac": jacobian, "args": (cuts,)}],
                          options={"maxiter": 100, "ftol": 1e-7})
        z, evaluations = result.x, evaluations + int(result.nfev)
        fitted = Slice(start.years, SviParams(*(float(v) for v in z * scale)), start.k_range)
        if not fitted.params.is_valid():
            return None, evaluations
        if not slice_violations(fitted, lower, upper):
            return fitted, evaluations
        grids = _check_grids(fitted, lower, upper)
        margins = _margins(fitted.params, grids, lower, upper, data.w_max)
        cuts = [np.union1d(cut, grid[np.argsort(margin)[:5]]) for cut, grid, margin in zip(cuts, grids, margins)]
    return None, evaluations


def fit_svi(k: np.ndarray, w: np.ndarray, weights: np.ndarray | None = None, *, start: SviParams | None = None,
            years: float = 0.0, lower: Slice | None = None, upper: Slice | None = None,
            k_range: tuple[float, float] | None = None) -> SviFit:
    """Fit raw SVI to total variance w at log-moneyness k, minimising sum(weights * residual^2).

    start warm-starts the fit from a previous fit. lower / upper are the neighbouring slices
    the fit must stay between (calendar arbitrage); years labels the slice. k_range is how far
    the arbitrage checks reach (by default, as far as the points).
    """
    k = np.asarray(k, dtype=float)
    w = np.asarray(w, dtype=float)
    weight = np.ones_like(w) if weights is None else np.asarray(weights, dtype=float)
    if len(k) < MIN_POINTS:
        raise ValueError(f"SVI needs at least {MIN_POINTS} quotes, got {len(k)}")
    data = _SmileData(k, w, weight)
    params, sse, evaluations = _quasi_explicit(data, start)
    fitted = Slice(years, params, (float(k.min()), float(k.max())) if k_range is None else k_range)
    violations = slice_violations(fitted, lower, upper)
    repaired = False
    if violations:
        previous = Slice(years, start, fitted.k_range) if start is not None else None
        from_previous = previous is not None and not slice_violations(previous, lower, upper)
        fixed, spent = _constrained_refit(data, previous if from_previous else fitted, lower, upper)
        evaluations += spent
        if fixed is None and lower is not None:
            # SLSQP can stall at an infeasible start ("constraints incompatible", seen with some
            # BLAS builds); the slice below lifted clear of itself is a feasible start.
            lifted = replace(lower.params, a=lower.params.a + 2 * _MARGIN * data.w_max)
            fixed, spent = _constrained_refit(data, Slice(years, lifted, fitted.k_range), lower, upper)
            evaluations += spent
        if fixed is not None:
            fitted, violations, repaired = fixed, [], True
            sse = float(np.sum(data.weight * (fixed.params.total_variance(k) - w) ** 2))
    return SviFit(fitted, float(np.sqrt(sse / np.sum(data.weight))), evaluations, repaired, tuple(violations))


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
    slices: tuple[Slice, ...]
    expiries: np.ndarray = field(init=False, repr=False)
    table: np.ndarray = field(init=False, repr=False)     # (a, b, rho, m, sigma) per slice

    def __post_init__(self) -> None:
        if not self.slices:
            raise ValueError("a surface needs at least one slice")
        ordered = tuple(sorted(self.slices, key=lambda piece: piece.years))
        object.__setattr__(self, "slices", ordered)
        object.__setattr__(self, "expiries", np.array([piece.years for piece in ordered]))
        object.__setattr__(self, "table", np.array([piece.params.as_array() for piece in ordered]))

    def total_variance(self, years: np.ndarray | float, k: np.ndarray | float) -> np.ndarray:
        t, k = np.broadcast_arrays(np.asarray(years, dtype=float), np.asarray(k, dtype=float))
        hi = np.clip(np.searchsorted(self.expiries, t), 0, len(self.expiries) - 1)
        lo = np.maximum(hi - 1, 0)
        w_lo, w_hi = _svi(self.table[lo], k), _svi(self.table[hi], k)
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
        """Butterfly arbitrage in every slice, calendar arbitrage between consecutive ones."""
        found: list[Violation] = []
        for i, piece in enumerate(self.slices):
            found += slice_violations(piece, self.slices[i - 1] if i else None)
        return found



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
        self.skipped: list[float] = []

    def fit(self, quotes: ChainQuotes) -> VolSurface:
        """Cold fit of every expiry, shortest first. An expiry with fewer than MIN_POINTS usable
        quotes is skipped (listed in .skipped) and the surface interpolates over it."""
        self.fits.clear()
        self.points.clear()
        self.skipped = []
        for years in np.unique(quotes.years):
            points = smile_points(quotes.select(quotes.years == years), float(years), self.underlier)
            if len(points.k) < MIN_POINTS:
                self.skipped.append(float(years))
            else:
                self._fit(float(years), points, warm=False)
        return self.surface()

    def update(self, expiry: float, quotes: ChainQuotes, spot: float | None = None) -> SviParams:
        """Refit one expiry from its new quotes (others in quotes are ignored), warm-started.
        spot moves the underlier for every slice: the smiles stay put in moneyness."""
        if spot is not None:
            self.underlier = replace(self.underlier, spot=spot)
        expiry = next((t for t in self.fits if np.isclose(t, expiry)), float(expiry))
        points = smile_points(quotes.select(np.isclose(quotes.years, expiry)), expiry, self.underlier)
        return self._fit(expiry, points, warm=True).params

    def surface(self) -> VolSurface:
        return VolSurface(self.underlier, tuple(fit.slice for fit in self.fits.values()))

    def _fit(self, years: float, points: SmilePoints, warm: bool) -> SviFit:
        previous = self.fits.get(years)
        shorter = [t for t in self.fits if t < years]
        longer = [t for t in self.fits if t > years]
        fit = fit_svi(points.k, points.w, points.weight, years=years,
                      start=previous.params if warm and previous else None,
                      lower=self.fits[max(shorter)].slice if shorter else None,
                      upper=self.fits[min(longer)].slice if longer else None)
        self.fits[years] = fit
        self.points[years] = points
        return fit
