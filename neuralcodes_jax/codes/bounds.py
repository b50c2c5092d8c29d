"""Capacity, dispersion and finite-blocklength bounds for the BSC and BEC (NumPy float64).

References: Polyanskiy, Poor, Verdu, "Channel coding rate in the finite blocklength regime",
IEEE T-IT 56(5), 2010 (PPV); Gallager, "Information Theory and Reliable Communication", 1968.
Formulas as in coding-anchors Sec. 2.1, 2.5 and 2.6. Rates and ``k = log2 M`` are in bits; ``k``
may be any real in ``[0, n]``.

Everything is computed in log space with log-binomials (``gammaln``) and ``logsumexp``, so
``n`` in the thousands works and tail probabilities far below ``1e-300`` are not flushed to 0
before they are summed.

* BSC(p): capacity ``C = 1 - h(p)``, dispersion ``V = p(1-p) log2^2((1-p)/p)``.
* BSC meta-converse (PPV Thm. 35 via the Neyman-Pearson lemma): with ``P_t = C(n,t) p^t (1-p)^(n-t)``
  and ``Q_t = C(n,t) 2^-n``, pick ``L`` and ``lambda in [0, 1)`` with
  ``sum_{t<L} Q_t + lambda Q_L = 1/M``; then every ``(n, M)`` code has
  ``eps >= sum_{t>L} P_t + (1 - lambda) P_L``. Perfect codes meet it with equality.
* RCU (PPV Thm. 16 specialised to the BSC): ``eps <= sum_t P_t min{1, (M-1) sum_{s<=t} C(n,s) 2^-n}``.
* Normal approximation (PPV Thm. 52, with the third-order term): ``log2 M* ~= nC -
  sqrt(nV) Q^-1(eps) + 1/2 log2 n``, i.e. ``eps ~= Q((nC - k + 1/2 log2 n) / sqrt(nV))``.
* Gallager: ``eps <= 2^(-n E_r(R))``, ``E_r(R) = max_{0<=rho<=1} E_0(rho) - rho R``,
  ``E_0(rho) = rho - (1+rho) log2(p^(1/(1+rho)) + (1-p)^(1/(1+rho)))``.
* BEC(delta): ``C = 1 - delta``, ``V = delta(1-delta)``; converse (PPV Thm. 38)
  ``eps >= sum_{l > n - k} C(n,l) delta^l (1-delta)^(n-l) (1 - 2^(n-l)/M)``; random-coding
  achievability (PPV Thm. 37) ``eps <= sum_t C(n,t) delta^t (1-delta)^(n-t) min{1, (M-1) 2^-(n-t)}``;
  normal approximation ``eps ~= Q((n(1-delta) - k) / sqrt(n delta (1-delta)))`` (no 1/2 log n term).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from scipy import optimize, special, stats

__all__ = [
    "binary_entropy", "bsc_capacity", "bsc_dispersion", "bec_capacity", "bec_dispersion",
    "bsc_converse", "bsc_rcu", "bsc_normal_approximation", "bsc_normal_approximation_log2m",
    "gallager_e0", "gallager_exponent", "gallager_bound",
    "bec_converse", "bec_rcu", "bec_normal_approximation",
]

_LN2 = math.log(2.0)


# ------------------------------------------------------------------------------------- validation
def _check_prob(name: str, x: Any, hi: float, open_ends: bool = False) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if open_ends:
        bad = ~np.isfinite(arr) | (arr <= 0.0) | (arr >= hi)
        rng = f"(0, {hi:g})"
    else:
        bad = ~np.isfinite(arr) | (arr < 0.0) | (arr > hi)
        rng = f"[0, {hi:g}]"
    if np.any(bad):
        raise ValueError(f"{name} must be in {rng}, got {float(arr[bad].flat[0])!r}")
    return arr


def _check_n_k(n: Any, k: Any) -> tuple[int, float]:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    k = float(k)
    if not (math.isfinite(k) and 0.0 <= k <= n):
        raise ValueError(f"k (= log2 M) must be in [0, n] = [0, {n}], got {k}")
    return int(n), k


def _map(fn: Callable[[float], float], x: np.ndarray) -> Any:
    out = np.vectorize(fn, otypes=[np.float64])(x)
    return float(out) if np.ndim(out) == 0 else out


# ----------------------------------------------------------------------------- capacity/dispersion
def binary_entropy(p: Any) -> Any:
    """``h(p) = -p log2 p - (1-p) log2 (1-p)`` in bits, ``p in [0, 1]``."""
    p = _check_prob("p", p, 1.0)
    out = (special.entr(p) + special.entr(1.0 - p)) / _LN2
    return float(out) if np.ndim(out) == 0 else out


def bsc_capacity(p: Any) -> Any:
    """BSC capacity ``1 - h(p)`` bits per channel use, ``p in [0, 0.5]``."""
    p = _check_prob("p", p, 0.5)
    out = 1.0 - np.asarray(binary_entropy(p))
    return float(out) if np.ndim(out) == 0 else out


def bsc_dispersion(p: Any) -> Any:
    """BSC dispersion ``V = p(1-p) log2^2((1-p)/p)`` in bits^2 (0 at p = 0 and p = 0.5)."""
    p = _check_prob("p", p, 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(p > 0, p * (1 - p) * np.log2((1 - p) / np.where(p > 0, p, 1.0)) ** 2, 0.0)
    return float(out) if np.ndim(out) == 0 else out


def bec_capacity(delta: Any) -> Any:
    """BEC capacity ``1 - delta``, ``delta in [0, 1]``."""
    d = _check_prob("delta", delta, 1.0)
    out = 1.0 - d
    return float(out) if np.ndim(out) == 0 else out


def bec_dispersion(delta: Any) -> Any:
    """BEC dispersion ``delta (1 - delta)`` in bits^2."""
    d = _check_prob("delta", delta, 1.0)
    out = d * (1.0 - d)
    return float(out) if np.ndim(out) == 0 else out


# --------------------------------------------------------------------------------------- log tools
def _log_binom(n: int) -> np.ndarray:
    t = np.arange(n + 1, dtype=np.float64)
    return special.gammaln(n + 1.0) - special.gammaln(t + 1.0) - special.gammaln(n - t + 1.0)


def _log_binomial_pmf(n: int, p: float) -> np.ndarray:
    """``log[C(n,t) p^t (1-p)^(n-t)]`` for ``t = 0..n`` (``-inf`` where the term is 0)."""
    t = np.arange(n + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return _log_binom(n) + special.xlogy(t, p) + special.xlog1py(n - t, -p)


def _log_sum(x: np.ndarray) -> float:
    if x.size == 0 or np.all(np.isneginf(x)):
        return -math.inf
    return float(special.logsumexp(x))


def _log_m_minus_1(k: float) -> float:
    """``log(2^k - 1)`` (``-inf`` at k = 0)."""
    if k == 0.0:
        return -math.inf
    return k * _LN2 + math.log(-math.expm1(-k * _LN2))


# ------------------------------------------------------------------------------------------- BSC
def _bsc_converse_scalar(n: int, k: float, p: float) -> float:
    if k == 0.0:
        return 0.0
    log_q = _log_binom(n) - n * _LN2
    log_p = _log_binomial_pmf(n, p)
    log_cum_q = np.logaddexp.accumulate(log_q)
    log_inv_m = -k * _LN2
    # L = first t with sum_{s<=t} Q_s >= 1/M (tolerate rounding at the last term, which sums to 1).
    hits = np.flatnonzero(log_cum_q >= log_inv_m - 1e-12)
    big_l = int(hits[0]) if hits.size else n
    # (1 - lambda) Q_L = sum_{s<=L} Q_s - 1/M, in log space.
    gap = log_cum_q[big_l]
    if gap > log_inv_m:
        log_one_minus_lambda = gap + math.log(-math.expm1(log_inv_m - gap)) - log_q[big_l]
        log_one_minus_lambda = min(log_one_minus_lambda, 0.0)
    else:
        log_one_minus_lambda = -math.inf
    terms = np.concatenate([log_p[big_l + 1:], [log_p[big_l] + log_one_minus_lambda]])
    return math.exp(_log_sum(terms))


def bsc_converse(n: int, k: float, p: Any) -> Any:
    """PPV meta-converse: the least block error probability of any ``(n, 2^k)`` code on BSC(p)."""
    n, k = _check_n_k(n, k)
    p = _check_prob("p", p, 0.5)
    return _map(lambda q: _bsc_converse_scalar(n, k, q), p)


def _bsc_rcu_scalar(n: int, k: float, p: float) -> float:
    log_p = _log_binomial_pmf(n, p)
    log_cum = np.logaddexp.accumulate(_log_binom(n) - n * _LN2)
    log_union = np.minimum(0.0, _log_m_minus_1(k) + log_cum)
    return min(1.0, math.exp(_log_sum(log_p + log_union)))


def bsc_rcu(n: int, k: float, p: Any) -> Any:
    """Random-coding union (RCU) achievability bound on the BSC (ML decoding of random codes)."""
    n, k = _check_n_k(n, k)
    p = _check_prob("p", p, 0.5)
    return _map(lambda q: _bsc_rcu_scalar(n, k, q), p)


def bsc_normal_approximation(n: int, k: float, p: Any) -> Any:
    """``eps ~= Q((nC - k + 1/2 log2 n) / sqrt(nV))`` for ``p in (0, 0.5)``."""
    n, k = _check_n_k(n, k)
    p = _check_prob("p", p, 0.5, open_ends=True)
    c = np.asarray(bsc_capacity(p))
    v = np.asarray(bsc_dispersion(p))
    out = stats.norm.sf((n * c - k + 0.5 * math.log2(n)) / np.sqrt(n * v))
    return float(out) if np.ndim(out) == 0 else out


def bsc_normal_approximation_log2m(n: int, eps: Any, p: Any) -> Any:
    """``log2 M* ~= nC - sqrt(nV) Q^-1(eps) + 1/2 log2 n`` (bits) for ``eps in (0, 1)``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    eps = _check_prob("eps", eps, 1.0, open_ends=True)
    p = _check_prob("p", p, 0.5)
    out = n * np.asarray(bsc_capacity(p)) - np.sqrt(n * np.asarray(bsc_dispersion(p))) * stats.norm.isf(eps) \
        + 0.5 * math.log2(n)
    return float(out) if np.ndim(out) == 0 else out


def gallager_e0(rho: Any, p: Any) -> Any:
    """Gallager's ``E_0(rho) = rho - (1+rho) log2(p^(1/(1+rho)) + (1-p)^(1/(1+rho)))`` (bits)."""
    rho = np.asarray(rho, dtype=np.float64)
    if np.any(~np.isfinite(rho) | (rho < 0) | (rho > 1)):
        raise ValueError(f"rho must be in [0, 1], got {rho}")
    p = _check_prob("p", p, 0.5)
    s = 1.0 / (1.0 + rho)
    out = rho - (1.0 + rho) * np.log2(np.power(p, s) + np.power(1.0 - p, s))
    return float(out) if np.ndim(out) == 0 else out


def _gallager_exponent_scalar(rate: float, p: float) -> float:
    def neg(rho: float) -> float:
        return -(float(gallager_e0(rho, p)) - rho * rate)

    res = optimize.minimize_scalar(neg, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-12})
    return max(0.0, -min(res.fun, neg(0.0), neg(1.0)))


def gallager_exponent(rate: Any, p: Any) -> Any:
    """Random-coding exponent ``E_r(R) = max_{0<=rho<=1} E_0(rho) - rho R`` of the BSC (bits)."""
    rate = np.asarray(rate, dtype=np.float64)
    if np.any(~np.isfinite(rate) | (rate < 0) | (rate > 1)):
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    p = _check_prob("p", p, 0.5)
    r, q = np.broadcast_arrays(rate, p)
    out = np.vectorize(_gallager_exponent_scalar, otypes=[np.float64])(r, q)
    return float(out) if np.ndim(out) == 0 else out


def gallager_bound(n: int, k: float, p: Any) -> Any:
    """Gallager's random-coding bound ``eps <= 2^(-n E_r(k/n))``."""
    n, k = _check_n_k(n, k)
    out = np.exp2(-n * np.asarray(gallager_exponent(k / n, p)))
    return float(out) if np.ndim(out) == 0 else out


# ------------------------------------------------------------------------------------------- BEC
def _bec_converse_scalar(n: int, k: float, delta: float) -> float:
    ell = np.arange(n + 1, dtype=np.float64)
    start = math.floor(n - k) + 1
    if start > n:
        return 0.0
    ell = ell[start:]
    log_terms = _log_binomial_pmf(n, delta)[start:] + np.log1p(-np.exp2(n - ell - k))
    return math.exp(_log_sum(log_terms))


def bec_converse(n: int, k: float, delta: Any) -> Any:
    """PPV Thm. 38: ``eps >= sum_{l > n-k} C(n,l) delta^l (1-delta)^(n-l) (1 - 2^(n-l-k))``."""
    n, k = _check_n_k(n, k)
    d = _check_prob("delta", delta, 1.0)
    return _map(lambda x: _bec_converse_scalar(n, k, x), d)


def _bec_rcu_scalar(n: int, k: float, delta: float) -> float:
    t = np.arange(n + 1, dtype=np.float64)
    log_union = np.minimum(0.0, _log_m_minus_1(k) - (n - t) * _LN2)
    return min(1.0, math.exp(_log_sum(_log_binomial_pmf(n, delta) + log_union)))


def bec_rcu(n: int, k: float, delta: Any) -> Any:
    """PPV Thm. 37 random-coding bound ``eps <= sum_t C(n,t) d^t (1-d)^(n-t) min{1, (M-1) 2^-(n-t)}``."""
    n, k = _check_n_k(n, k)
    d = _check_prob("delta", delta, 1.0)
    return _map(lambda x: _bec_rcu_scalar(n, k, x), d)


def bec_normal_approximation(n: int, k: float, delta: Any) -> Any:
    """``eps ~= Q((n(1-delta) - k) / sqrt(n delta (1-delta)))`` for ``delta in (0, 1)``."""
    n, k = _check_n_k(n, k)
    d = _check_prob("delta", delta, 1.0, open_ends=True)
    out = stats.norm.sf((n * (1.0 - d) - k) / np.sqrt(n * d * (1.0 - d)))
    return float(out) if np.ndim(out) == 0 else out
