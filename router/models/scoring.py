"""Scores for probability forecasts: Brier, AUC, calibration by bucket, and a logistic fit.

The logistic regression is fitted by iteratively reweighted least squares (Newton's method)
with a small ridge penalty: a few lines of numpy for a handful of features, where a machine-
learning library would add a large dependency for the same answer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


def auc(p: np.ndarray, y: np.ndarray) -> float:
    """The chance that a random positive scores above a random negative (ties count half):
    the Mann-Whitney U statistic over the rank sums."""
    p, y = np.asarray(p, float), np.asarray(y, bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = p[order]
    # average ranks for ties
    boundaries = np.flatnonzero(np.diff(sorted_p)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(p)]))
    for start, end in zip(starts, ends):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return float((ranks[y].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


@dataclass(frozen=True)
class Bucket:
    low: float
    high: float
    count: int
    mean_predicted: float
    observed: float


def calibration(p: np.ndarray, y: np.ndarray, buckets: int = 10) -> tuple[list[Bucket], float]:
    """Forecasts in equal-width probability buckets: each bucket's mean forecast against its
    observed frequency, and the expected calibration error (their gap weighted by count)."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    edges = np.linspace(0.0, 1.0, buckets + 1)
    index = np.clip(np.digitize(p, edges[1:-1]), 0, buckets - 1)
    rows, gap = [], 0.0
    for b in range(buckets):
        mask = index == b
        count = int(mask.sum())
        if count:
            mean_p, observed = float(p[mask].mean()), float(y[mask].mean())
            gap += count * abs(mean_p - observed)
        else:
            mean_p = observed = float("nan")
        rows.append(Bucket(float(edges[b]), float(edges[b + 1]), count, mean_p, observed))
    return rows, gap / max(len(p), 1)


@dataclass(frozen=True)
class Logistic:
    """P(y = 1 | x) = 1 / (1 + exp(-(b0 + x . b))) on standardised features."""
    intercept: float
    weights: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(np.asarray(x, float)) - np.array(self.means)) / np.array(self.scales)
        return 1.0 / (1.0 + np.exp(-(self.intercept + z @ np.array(self.weights))))


def fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3, iterations: int = 50) -> Logistic:
    x, y = np.atleast_2d(np.asarray(x, float)), np.asarray(y, float)
    if len(x) != len(y) or len(y) == 0:
        raise ValueError(f"need as many labels as rows, and some: {len(x)} rows, {len(y)} labels")
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0
    design = np.hstack([np.ones((len(x), 1)), (x - means) / scales])
    beta = np.zeros(design.shape[1])
    penalty = ridge * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-design @ beta))
        w = np.clip(p * (1 - p), 1e-9, None)
        gradient = design.T @ (y - p) - penalty @ beta
        hessian = (design.T * w) @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    return Logistic(float(beta[0]), tuple(float(b) for b in beta[1:]), tuple(float(m) for m in means),
                    tuple(float(s) for s in scales))
