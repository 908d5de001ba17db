"""Pareto/NBD's likelihood, lifetimes' number to the last bit at about a third of the cost: the optimiser
evaluates it some 150 times per fit, and its hyp2f1 terms need only the distinct history pairs."""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import gammaln, hyp2f1


class PurchaseHistories(tuple):
    """(frequency, recency, age, weights): the arrays lifetimes' purchase likelihoods take, with the
    distinct (frequency, recency) and (frequency, age) pairs found once. Pareto/NBD's hypergeometric
    terms depend only on those pairs: about a tenth of the rows on 10M orders."""

    @functools.cached_property
    def distinct_pairs(self) -> dict[str, np.ndarray]:
        frequency, recency, age = (np.asarray(a, dtype=float) for a in self[:3])
        pairs = {}
        for name, other in (("recency", recency), ("age", age)):
            first, second, back = _distinct_pairs(frequency, other)
            pairs.update({f"{name}_frequency": first, name: second, f"{name}_back": back})
        pairs["frequency"], pairs["frequency_back"] = np.unique(frequency, return_inverse=True)
        return pairs


def _distinct_pairs(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (first, second) pairs, sorted, and for each row the position of its pair: what
    ``np.unique(..., axis=1, return_inverse=True)`` gives, by one lexsort (74k rows: 0.2 s -> 0.01 s)."""
    order = np.lexsort((second, first))
    a, b = first[order], second[order]
    starts = np.ones(len(a), dtype=bool)
    starts[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    back = np.empty(len(a), dtype=np.intp)
    back[order] = np.cumsum(starts) - 1
    return a[starts], b[starts], back


def _pareto_log_a0(params: np.ndarray, histories: PurchaseHistories) -> np.ndarray:
    """lifetimes' ``ParetoNBDFitter._log_A_0`` (Fader-Hardie eq. 19-20) with each hyp2f1 evaluated
    once per distinct pair: the same numbers, element for element."""
    r, alpha, s, beta = params
    frequency, recency, age = histories[:3]
    pairs = histories.distinct_pairs
    if alpha < beta:
        low, high = alpha, beta
        b_recency, b_age = r + pairs["recency_frequency"], r + pairs["age_frequency"]
    else:
        low, high = beta, alpha
        b_recency = b_age = s + 1
    a_recency, a_age = r + s + pairs["recency_frequency"], r + s + pairs["age_frequency"]
    p_1 = hyp2f1(a_recency, b_recency, a_recency + 1.0, (high - low) / (high + pairs["recency"]))[
        pairs["recency_back"]
    ]
    p_2 = hyp2f1(a_age, b_age, a_age + 1.0, (high - low) / (high + pairs["age"]))[pairs["age_back"]]
    rsf = r + s + frequency
    q_1, q_2 = high + recency, high + age
    return _log_difference(np.log(p_1) + rsf * np.log(q_2), np.log(p_2) + rsf * np.log(q_1)) - rsf * np.log(
        q_1 * q_2
    )


def _log_difference(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """log(exp(first) - exp(second)) element by element, nan where second > first: the very numbers
    of scipy's ``logsumexp([first, second], axis=0, b=[1, -1])`` (which lifetimes calls), whose
    operations it repeats for two terms at a sixth of the cost (8 of the 13 ms of a Pareto/NBD
    likelihood on 64k histories)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        difference = np.log1p(-np.exp(second - first)) + first
    return np.where(second == -np.inf, first, np.where(first >= second, difference, np.nan))


def pareto_nbd_negative_log_likelihood(
    params: np.ndarray, histories: PurchaseHistories, penalizer_coef: float
) -> float:
    """lifetimes' ``ParetoNBDFitter._negative_log_likelihood`` (eq. 18), equal to the last bit, about
    3x faster: the optimiser evaluates it some 150 times per fit."""
    if np.any(np.asarray(params) <= 0.0):
        return np.inf
    r, alpha, s, beta = params
    frequency, _, age, weights = histories
    pairs = histories.distinct_pairs
    a_1 = (
        gammaln(r + pairs["frequency"])[pairs["frequency_back"]]
        - gammaln(r)
        + r * np.log(alpha)
        + s * np.log(beta)
    )
    a_2 = np.logaddexp(
        -(r + frequency) * np.log(alpha + age) - s * np.log(beta + age),
        np.log(s) + _pareto_log_a0(params, histories) - np.log(r + s + frequency),
    )
    return -(weights * (a_1 + a_2)).sum() / weights.mean() + penalizer_coef * sum(np.asarray(params) ** 2)
