"""Capacity, dispersion and finite-blocklength bounds for the BSC, BEC and BI-AWGN channels (NumPy float64).

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
* BI-AWGN (BPSK ``0 -> +1``, unit energy, noise std ``sigma``; ``Es/N0 = 1/(2 sigma^2)``, ``Eb/N0 = Es/N0 / R``):
  capacity and dispersion by trapezoid quadrature on the Gaussian; normal approximation with ``+1/2 log2 n``;
  meta-converse (PPV Thm. 28, auxiliary output = capacity-achieving output) and RCU_s (Martinez & Guillen i
  Fabregas 2011; a relaxation of PPV Thm. 16) from the exact law of the information density sum, discretised on
  a lattice, tilted to the saddle point and convolved by FFT. Relative error against a 4x finer lattice for
  n <= 1024 and BLER >= 1e-9: converse < 3e-3, RCU < 3e-5 (well under 0.001 dB); against direct numerical
  integration at n = 1, 2: < 1e-3. About 0.1-2 s per SNR point for n = 128-1024.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import fft as sfft
from scipy import optimize, special, stats

from neuralcodes_jax.channels import (
    bec_capacity,
    binary_entropy,
    bsc_capacity,
    check_sigma,
    ebn0_db_to_sigma,
    esn0_db_to_sigma,
    sigma_to_ebn0_db,
    sigma_to_esn0_db,
)
from neuralcodes_jax.config_utils import check_probability

__all__ = [
    "binary_entropy",
    "bsc_capacity",
    "bsc_dispersion",
    "bec_capacity",
    "bec_dispersion",
    "bsc_converse",
    "bsc_rcu",
    "bsc_normal_approximation",
    "bsc_normal_approximation_log2m",
    "gallager_e0",
    "gallager_exponent",
    "gallager_bound",
    "bec_converse",
    "bec_rcu",
    "bec_normal_approximation",
    "ebn0_db_to_sigma",
    "esn0_db_to_sigma",
    "sigma_to_ebn0_db",
    "sigma_to_esn0_db",
    "biawgn_capacity",
    "biawgn_dispersion",
    "biawgn_normal_approximation",
    "biawgn_normal_approximation_log2m",
    "biawgn_normal_approximation_rate",
    "biawgn_converse",
    "biawgn_rcu",
    "biawgn_rcu_s_parameter",
    "biawgn_ebn0_db_at_bler",
    "BIAWGN_BOUNDS",
]

_LN2 = math.log(2.0)


# ------------------------------------------------------------------------------------- validation
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
def bsc_dispersion(p: Any) -> Any:
    """BSC dispersion ``V = p(1-p) log2^2((1-p)/p)`` in bits^2 (0 at p = 0 and p = 0.5)."""
    p = check_probability("p", p, 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(p > 0, p * (1 - p) * np.log2((1 - p) / np.where(p > 0, p, 1.0)) ** 2, 0.0)
    return float(out) if np.ndim(out) == 0 else out


def bec_dispersion(delta: Any) -> Any:
    """BEC dispersion ``delta (1 - delta)`` in bits^2."""
    d = check_probability("delta", delta, 1.0)
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
    terms = np.concatenate([log_p[big_l + 1 :], [log_p[big_l] + log_one_minus_lambda]])
    return math.exp(_log_sum(terms))


def bsc_converse(n: int, k: float, p: Any) -> Any:
    """PPV meta-converse: the least block error probability of any ``(n, 2^k)`` code on BSC(p)."""
    n, k = _check_n_k(n, k)
    p = check_probability("p", p, 0.5)
    return _map(lambda q: _bsc_converse_scalar(n, k, q), p)


def _bsc_rcu_scalar(n: int, k: float, p: float) -> float:
    log_p = _log_binomial_pmf(n, p)
    log_cum = np.logaddexp.accumulate(_log_binom(n) - n * _LN2)
    log_union = np.minimum(0.0, _log_m_minus_1(k) + log_cum)
    return min(1.0, math.exp(_log_sum(log_p + log_union)))


def bsc_rcu(n: int, k: float, p: Any) -> Any:
    """Random-coding union (RCU) achievability bound on the BSC (ML decoding of random codes)."""
    n, k = _check_n_k(n, k)
    p = check_probability("p", p, 0.5)
    return _map(lambda q: _bsc_rcu_scalar(n, k, q), p)


def bsc_normal_approximation(n: int, k: float, p: Any) -> Any:
    """``eps ~= Q((nC - k + 1/2 log2 n) / sqrt(nV))`` for ``p in (0, 0.5)``."""
    n, k = _check_n_k(n, k)
    p = check_probability("p", p, 0.5, lo_open=True, hi_open=True)
    c = np.asarray(bsc_capacity(p))
    v = np.asarray(bsc_dispersion(p))
    out = stats.norm.sf((n * c - k + 0.5 * math.log2(n)) / np.sqrt(n * v))
    return float(out) if np.ndim(out) == 0 else out


def bsc_normal_approximation_log2m(n: int, eps: Any, p: Any) -> Any:
    """``log2 M* ~= nC - sqrt(nV) Q^-1(eps) + 1/2 log2 n`` (bits) for ``eps in (0, 1)``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    eps = check_probability("eps", eps, 1.0, lo_open=True, hi_open=True)
    p = check_probability("p", p, 0.5)
    out = (
        n * np.asarray(bsc_capacity(p))
        - np.sqrt(n * np.asarray(bsc_dispersion(p))) * stats.norm.isf(eps)
        + 0.5 * math.log2(n)
    )
    return float(out) if np.ndim(out) == 0 else out


def gallager_e0(rho: Any, p: Any) -> Any:
    """Gallager's ``E_0(rho) = rho - (1+rho) log2(p^(1/(1+rho)) + (1-p)^(1/(1+rho)))`` (bits)."""
    rho = np.asarray(rho, dtype=np.float64)
    if np.any(~np.isfinite(rho) | (rho < 0) | (rho > 1)):
        raise ValueError(f"rho must be in [0, 1], got {rho}")
    p = check_probability("p", p, 0.5)
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
    p = check_probability("p", p, 0.5)
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
    d = check_probability("delta", delta, 1.0)
    return _map(lambda x: _bec_converse_scalar(n, k, x), d)


def _bec_rcu_scalar(n: int, k: float, delta: float) -> float:
    t = np.arange(n + 1, dtype=np.float64)
    log_union = np.minimum(0.0, _log_m_minus_1(k) - (n - t) * _LN2)
    return min(1.0, math.exp(_log_sum(_log_binomial_pmf(n, delta) + log_union)))


def bec_rcu(n: int, k: float, delta: Any) -> Any:
    """PPV Thm. 37 random-coding bound ``eps <= sum_t C(n,t) d^t (1-d)^(n-t) min{1, (M-1) 2^-(n-t)}``."""
    n, k = _check_n_k(n, k)
    d = check_probability("delta", delta, 1.0)
    return _map(lambda x: _bec_rcu_scalar(n, k, x), d)


def bec_normal_approximation(n: int, k: float, delta: Any) -> Any:
    """``eps ~= Q((n(1-delta) - k) / sqrt(n delta (1-delta)))`` for ``delta in (0, 1)``."""
    n, k = _check_n_k(n, k)
    d = check_probability("delta", delta, 1.0, lo_open=True, hi_open=True)
    out = stats.norm.sf((n * (1.0 - d) - k) / np.sqrt(n * d * (1.0 - d)))
    return float(out) if np.ndim(out) == 0 else out


# ---------------------------------------------------------------------------------------- BI-AWGN
# Binary-input AWGN: BPSK x in {+1, -1} (bit 0 -> +1), unit symbol energy, y = x + sigma z. Es/N0 = 1/(2 sigma^2),
# Eb/N0 = Es/N0 / R. By symmetry every quantity is computed for the all-(+1) input: the channel LLR
# L = 2y/sigma^2 ~ N(mu, 2 mu) with mu = 2/sigma^2, and the (generalized, s in (0, 1]) information density of one
# symbol in nats is W_s = ln 2 - log(1 + exp(-s L)) (s = 1: the information density log dP_{Y|X}/dQ_Y with the
# capacity-achieving output Q_Y, the equiprobable mixture). The bounds need the law of S = W_1 + ... + W_n.

BIAWGN_BOUNDS = ("normal", "converse", "rcu")
_Z_HALF_WIDTH = 40.0  # quadrature nodes cover z in +-40 around the (tilted) peak: e^-800 cut
_LATTICE_STEP = 1e-3  # default lattice step (nats) for the law of W
_TAIL_SIGMAS = 20.0  # the circular window of S_n covers +-20 sub-Gaussian std (mass beyond: < e^-200)


def _as_out(x: np.ndarray) -> Any:
    return float(x) if np.ndim(x) == 0 else x


def _w_nodes(mu: float, s: float, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoid nodes for ``E[g(W_s)]``: ``(W_s(L(z)), log weight + c W_s)``, ``L = mu + sqrt(2 mu) z``.

    The integrand is a Gaussian times a function analytic in the strip ``|Im z| < pi / (s sqrt(2 mu))``, so the
    trapezoid rule with step ``h`` errs by ``~exp(-2 pi d / h)`` (Trefethen & Weideman, SIAM Rev. 56(3), 2014,
    Thm. 5.1); ``h`` is ``2 pi d / 45`` with ``d`` half the strip (<= e^-45 relative), at most 0.05.
    """
    a = s * math.sqrt(2.0 * mu)
    h = min(0.05, 2.0 * math.pi * (0.5 * math.pi / a) / 45.0)
    zc = min(0.0, c * a)  # for c < 0 the tilt exp(c W) ~ exp(c s L) moves the peak to z ~ c s sqrt(2 mu)
    z = np.arange(zc - _Z_HALF_WIDTH, max(_Z_HALF_WIDTH, zc + _Z_HALF_WIDTH) + h, h)
    w = _LN2 - np.logaddexp(0.0, -s * (mu + math.sqrt(2.0 * mu) * z))
    return w, -0.5 * z * z + c * w + math.log(h / math.sqrt(2.0 * math.pi))


def _kappa(mu: float, s: float, c: float) -> tuple[float, float, float]:
    """Cumulant generating function of ``W_s`` (nats) and its first two derivatives at real ``c``."""
    w, lw = _w_nodes(mu, s, c)
    top = float(lw.max())
    e = np.exp(lw - top)
    tot = float(e.sum())
    m = float(e @ w) / tot
    v = float(e @ (w - m) ** 2) / tot
    return top + math.log(tot), m, v


def biawgn_capacity(sigma: Any) -> Any:
    """BI-AWGN capacity ``C = E[W_1] / ln 2`` bits per channel use (equiprobable BPSK, noise std ``sigma``).

    ``C = 1 - E[log2(1 + exp(-L))]``, ``L ~ N(2/sigma^2, 4/sigma^2)``, by trapezoid quadrature on the Gaussian
    (float64; agrees with adaptive quadrature to ~1e-12). ``sigma = 1`` (Es/N0 = -3.01 dB) gives 0.4859 bits;
    rate 1/2 is reached at Eb/N0 = 0.187 dB.
    """
    sig = check_sigma(sigma)
    return _map(lambda x: _kappa(2.0 / (x * x), 1.0, 0.0)[1] / _LN2, sig)


def biawgn_dispersion(sigma: Any) -> Any:
    """BI-AWGN dispersion ``V = Var[W_1] / ln^2 2`` in bits^2 (PPV Sec. IV; the variance of the information density)."""
    sig = check_sigma(sigma)
    return _map(lambda x: _kappa(2.0 / (x * x), 1.0, 0.0)[2] / _LN2**2, sig)


def biawgn_normal_approximation(n: int, k: float, sigma: Any) -> Any:
    """``eps ~= Q((nC - k + 1/2 log2 n) / sqrt(nV))`` on the BI-AWGN channel (PPV Eq. (296) with the third-order
    term ``1/2 log2 n``, as customary for the BI-AWGN channel, e.g. Erseghe, IEEE T-IT 62(12), 2016; Coskun et al.,
    Physical Communication 34, 2019). ``k = log2 M`` in bits."""
    n, k = _check_n_k(n, k)
    sig = check_sigma(sigma)
    c = np.asarray(biawgn_capacity(sig))
    v = np.asarray(biawgn_dispersion(sig))
    return _as_out(stats.norm.sf((n * c - k + 0.5 * math.log2(n)) / np.sqrt(n * v)))


def biawgn_normal_approximation_log2m(n: int, eps: Any, sigma: Any) -> Any:
    """``log2 M* ~= nC - sqrt(nV) Q^-1(eps) + 1/2 log2 n`` (bits), ``eps in (0, 1)``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    eps = check_probability("eps", eps, 1.0, lo_open=True, hi_open=True)
    sig = check_sigma(sigma)
    out = (
        n * np.asarray(biawgn_capacity(sig))
        - np.sqrt(n * np.asarray(biawgn_dispersion(sig))) * stats.norm.isf(eps)
        + 0.5 * math.log2(n)
    )
    return _as_out(out)


def biawgn_normal_approximation_rate(n: int, eps: Any, sigma: Any) -> Any:
    """The largest rate ``log2 M* / n`` (bits per channel use) of the normal approximation."""
    return _as_out(np.asarray(biawgn_normal_approximation_log2m(n, eps, sigma)) / n)


def _ell(w: np.ndarray, s: float) -> np.ndarray:
    """The LLR ``L`` with ``W_s(L) = w`` (``W_s`` increases in ``L``); ``+inf`` for ``w >= ln 2``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w < _LN2, -np.log(np.expm1(_LN2 - np.minimum(w, _LN2))) / s, np.inf)


def _log_normal_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(b) - Phi(a))`` for standardized ``a <= b``, accurate in both tails."""
    la, lb = special.log_ndtr(a), special.log_ndtr(b)
    lsa, lsb = special.log_ndtr(-a), special.log_ndtr(-b)
    with np.errstate(divide="ignore", invalid="ignore"):
        left = lb + np.log1p(-np.exp(np.minimum(la - lb, 0.0)))
        right = lsa + np.log1p(-np.exp(np.minimum(lsb - lsa, 0.0)))
    return np.where(a > 0, right, left)


@dataclasses.dataclass
class _LatticeLaw:
    """Law of ``S_n`` for ``W_s`` rounded to the lattice ``delta Z``, tilted by ``exp(c S)``.

    ``values[j]`` (nats) carries ``tilted[j]`` (summing to 1); the untilted mass is
    ``exp(n log_phi - c values[j]) tilted[j]``. ``log_phi_m1`` is ``log E[exp(-W)]`` of the lattice law.
    """

    values: np.ndarray
    tilted: np.ndarray
    log_phi: float
    log_phi_m1: float
    c: float
    n: int


def _lattice_law(mu: float, s: float, n: int, c: float, center: float, delta: float) -> _LatticeLaw:
    """``S_n`` on a lattice by FFT: exact bin masses of ``W_s`` (normal CDF differences in ``L``), tilted by
    ``exp(c w)`` so that the n-fold convolution is centred where the bound is evaluated, raised to the n-th power
    in the Fourier domain on a circular window around ``center`` (the discrete analogue of the saddle-point
    contour of Erseghe's Laplace integrals, IEEE T-IT 62(12), 2016; a discrete FFT has no quadrature error in the
    transform domain, and the tilt keeps every weight used below at most 1, so round-off is not amplified)."""
    sd = math.sqrt(2.0 * mu)
    step = _LN2 / math.ceil(_LN2 / delta)  # ln 2 is a lattice point (the top of the support)
    l_lo = mu + 2.0 * mu * min(c, 0.0) * s - _Z_HALF_WIDTH * sd
    w_lo = _LN2 - float(np.logaddexp(0.0, -s * l_lo))
    j_lo, j_hi = math.floor(w_lo / step), round(_LN2 / step)
    j = np.arange(j_lo, j_hi + 1)
    edges = (np.arange(j_lo, j_hi + 2) - 0.5) * step
    zz = (_ell(edges, s) - mu) / sd
    zz[0], zz[-1] = -np.inf, np.inf
    log_mass = _log_normal_mass(zz[:-1], zz[1:])
    v = j * step
    lt = log_mass + c * v
    top = float(lt.max())
    t = np.exp(lt - top)
    tot = float(t.sum())
    log_phi = top + math.log(tot)
    log_phi_m1 = float(special.logsumexp(log_mass - v))
    t /= tot
    mean = float(t @ v)
    var = float(t @ (v - mean) ** 2)
    half = abs(center - n * mean) + _TAIL_SIGMAS * math.sqrt(n * max(var, 2.0 * mu * s * s))
    full = (j_hi - j_lo) * n + 1  # every attainable lattice value of S_n
    if 2.0 * half / step + 2 >= full:
        size = sfft.next_fast_len(full, real=True)
        lo_idx = n * j_lo  # the whole support fits: no wrap-around
    else:
        size = sfft.next_fast_len(math.ceil(2.0 * half / step) + 2, real=True)
        lo_idx = round(center / step) - size // 2
    folded = np.bincount(np.mod(j, size), weights=t, minlength=size)
    dist = np.maximum(sfft.irfft(sfft.rfft(folded) ** n, size), 0.0)
    idx = lo_idx + np.mod(np.arange(size) - lo_idx, size)
    order = np.argsort(idx)
    # First-order correction of the rounding: shift S_n by n times the gap between the exact tilted mean of W
    # (quadrature) and the lattice's, so the tilted law of S_n has the right mean (the values leave the lattice).
    shift = n * (_kappa(mu, s, c)[1] - mean)
    return _LatticeLaw(idx[order] * step + shift, dist[order], log_phi, log_phi_m1, c, n)


def _log_t(law: _LatticeLaw) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(law.tilted)


def _check_step(delta: Any) -> float:
    delta = float(delta)
    if not (math.isfinite(delta) and 0.0 < delta <= 0.1):
        raise ValueError(f"lattice_step must be in (0, 0.1] nats, got {delta}")
    return delta


def _biawgn_converse_scalar(n: int, k: float, sigma: float, delta: float) -> float:
    if k == 0.0:
        return 0.0
    mu = 2.0 / (sigma * sigma)
    target = k * _LN2 / n

    def excess(c: float) -> float:  # -(1/n) log Q[S > n kappa'(c)] to first order, minus k/n
        k0, k1, _ = _kappa(mu, 1.0, c)
        return (1.0 + c) * k1 - k0 - target

    c_hi = 2.0
    c = c_hi if excess(c_hi) < 0.0 else optimize.brentq(excess, -1.0, c_hi, xtol=1e-6)
    law = _lattice_law(mu, 1.0, n, c, n * _kappa(mu, 1.0, c)[1], delta)
    v, lt = law.values, _log_t(law)
    log_q = n * law.log_phi - (1.0 + c) * v + lt  # Q-mass (capacity-achieving output) of each lattice value
    log_p = n * law.log_phi - c * v + lt  # P-mass (all-(+1) input)
    q_tail = np.logaddexp.accumulate(log_q[::-1])[::-1]  # log Q[S >= v_j]
    log_inv_m = -k * _LN2
    # Neyman-Pearson with randomisation at v_J: Q[S > v_J] + lam Q[S = v_J] = 1/M.
    hits = np.flatnonzero(q_tail >= log_inv_m)
    if hits.size == 0:
        return 0.0
    big_j = int(hits[-1])
    q_above = q_tail[big_j + 1] if big_j + 1 < v.size else -math.inf
    lam = (math.exp(log_inv_m - log_q[big_j]) - math.exp(q_above - log_q[big_j])) if log_q[big_j] > -math.inf else 0.0
    lam = min(1.0, max(0.0, lam))
    p_j = math.exp(log_p[big_j]) if log_p[big_j] > -math.inf else 0.0
    if c <= 0.0:  # weights e^{-c v} fall towards small v: sum from below
        eps = math.exp(_log_sum(log_p[:big_j])) + (1.0 - lam) * p_j
    else:
        eps = 1.0 - math.exp(_log_sum(log_p[big_j + 1 :])) - lam * p_j
    return min(1.0, max(0.0, eps))


def biawgn_converse(n: int, k: float, sigma: Any, lattice_step: float = _LATTICE_STEP) -> Any:
    """PPV meta-converse on the BI-AWGN channel: the least block error probability of any ``(n, 2^k)`` code.

    PPV Thm. 28 with ``Q_{Y^n}`` the capacity-achieving output (i.i.d. equiprobable mixture); the channel is
    symmetric, so ``beta_{1-eps}(P_{Y^n|X^n=x}, Q_{Y^n})`` does not depend on ``x`` and every code (average error
    probability) has ``1/M >= beta_{1-eps}``. The Neyman-Pearson test thresholds ``S = sum_i W_1(y_i)`` (the
    information density); ``eps`` solves ``Q[S > gamma] = 2^-k``, ``eps = P[S <= gamma]``.

    Computation: the law of ``W_1`` is discretised on a lattice of step ``lattice_step`` nats (exact bin masses),
    exponentially tilted to the saddle point and convolved n times by FFT (no Monte Carlo, no asymptotic
    expansion); the randomised Neyman-Pearson test of the lattice law gives ``eps``. The only approximation is
    the rounding of ``W`` (at most half a step per symbol, mean corrected to first order), and the error is
    first order in the step: at the default step it is < 1e-3 relative against direct numerical integration
    (n = 1, 2) and < 3e-3 against a 4x finer lattice for n <= 1024 and BLER >= 1e-9 (< 0.001 dB; see
    ``tests/test_codes_biawgn.py``). Cost: one FFT of ~``40 sqrt(4 n / sigma^2) / step`` points per SNR.
    """
    n, k = _check_n_k(n, k)
    sig = check_sigma(sigma)
    delta = _check_step(lattice_step)
    return _map(lambda x: _biawgn_converse_scalar(n, k, x, delta), sig)


def _rcu_s_scalar(mu: float, n: int, gamma: float) -> float:
    rate = gamma / n

    def neg(rho: float) -> float:  # -(E_0(rho) - rho R), E_0(rho) = -kappa_{1/(1+rho)}(-rho)
        return _kappa(mu, 1.0 / (1.0 + rho), -rho)[0] + rho * rate

    res = optimize.minimize_scalar(neg, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-5})
    rho = min((0.0, 1.0, float(res.x)), key=neg)
    return 1.0 / (1.0 + rho)


def biawgn_rcu_s_parameter(n: int, k: float, sigma: Any) -> Any:
    """The ``s = 1/(1 + rho*)`` used by :func:`biawgn_rcu`, ``rho*`` maximising Gallager's ``E_0(rho) - rho R``
    at ``R = log(2^k - 1)/n`` (the exponent-optimal ``s`` of the RCU_s bound; Martinez & Guillen i Fabregas,
    ITA 2011)."""
    n, k = _check_n_k(n, k)
    sig = check_sigma(sigma)
    gamma = _log_m_minus_1(k) if k > 0 else -math.inf
    return _map(lambda x: _rcu_s_scalar(2.0 / (x * x), n, gamma) if k > 0 else 1.0, sig)


def _biawgn_rcu_scalar(n: int, k: float, sigma: float, s: Any, delta: float) -> float:
    if k == 0.0:
        return 0.0
    mu = 2.0 / (sigma * sigma)
    gamma = _log_m_minus_1(k)  # log(M - 1), nats
    if s is None:
        s = _rcu_s_scalar(mu, n, gamma)
    elif s == "best":
        s0 = _rcu_s_scalar(mu, n, gamma)
        res = optimize.minimize_scalar(
            lambda x: _biawgn_rcu_scalar(n, k, sigma, float(x), delta),
            bounds=(0.02, 1.0),
            method="bounded",
            options={"xatol": 5e-3},
        )
        return min(
            float(res.fun), _biawgn_rcu_scalar(n, k, sigma, s0, delta), _biawgn_rcu_scalar(n, k, sigma, 1.0, delta)
        )

    def slope(c: float) -> float:
        return _kappa(mu, s, c)[1] - gamma / n

    c_lo, c_hi = -2.0, 2.0
    if slope(c_lo) >= 0.0:
        c = c_lo
    elif slope(c_hi) <= 0.0:
        c = c_hi
    else:
        c = optimize.brentq(slope, c_lo, c_hi, xtol=1e-6)
    law = _lattice_law(mu, s, n, c, gamma, delta)
    v, lt = law.values, _log_t(law)
    below = v <= gamma
    base = n * law.log_phi - c * gamma
    log_p_rel = lt - c * (v - gamma)  # P[S = v] = exp(base + log_p_rel)
    log_b_rel = lt - (1.0 + c) * (v - gamma)  # P[S = v] e^{gamma - v} = exp(base + log_b_rel)
    # E[min(1, e^{gamma - S})] = P[S <= gamma] + E[e^{gamma - S}; S > gamma]; each part is summed where its weight
    # relative to the tilted law is <= 1 (the complement otherwise), so FFT round-off is never amplified.
    if c <= 0.0:
        part_a = math.exp(base + _log_sum(log_p_rel[below]))
    else:
        part_a = 1.0 - math.exp(base + _log_sum(log_p_rel[~below]))
    if c >= -1.0:
        part_b = math.exp(base + _log_sum(log_b_rel[~below]))
    else:
        part_b = math.exp(gamma + n * law.log_phi_m1) - math.exp(base + _log_sum(log_b_rel[below]))
    return min(1.0, max(0.0, part_a + part_b))


def biawgn_rcu(n: int, k: float, sigma: Any, s: Any = None, lattice_step: float = _LATTICE_STEP) -> Any:
    """Random-coding union bound on the BI-AWGN channel (i.i.d. equiprobable BPSK codebooks, ML decoding).

    Computes ``rcu_s = E[min(1, (M-1) exp(-i_s(X^n; Y^n)))]`` (Martinez & Guillen i Fabregas, ITA 2011; Font-Segura
    et al., CISS 2018, Eq. (5)) with the generalized information density ``i_s = sum_i W_s``,
    ``W_s = ln 2 - log(1 + exp(-s L_i))``. It follows from PPV Thm. 16 by Markov's inequality on the pairwise error
    probability, so ``rcu <= rcu_s`` for every ``s > 0``: it is a valid achievability bound, the one plotted as
    "RCU" for the BI-AWGN channel in the short-code literature. ``s`` defaults to the exponent-optimal value
    (:func:`biawgn_rcu_s_parameter`; near the best ``s`` at moderate n and rates, one evaluation); any
    ``s in (0, 1]`` may be given; ``s="best"`` minimises over ``s`` numerically (~12 evaluations, the tightest).

    Computed like :func:`biawgn_converse` (lattice law of ``W_s``, tilted to the saddle point, FFT convolution);
    the weight ``min(1, e^{gamma - v})`` is continuous, so lattice rounding errs at second order: < 1e-4 relative
    against direct numerical integration (n = 2) and < 3e-5 against a 4x finer lattice (n <= 1024, BLER >= 1e-9).
    """
    n, k = _check_n_k(n, k)
    sig = check_sigma(sigma)
    delta = _check_step(lattice_step)
    if s is not None and not (isinstance(s, str) and s == "best"):
        if isinstance(s, str) or not (math.isfinite(float(s)) and 0.0 < float(s) <= 1.0):
            raise ValueError(f"s must be in (0, 1], None or 'best', got {s!r}")
        s = float(s)
    return _map(lambda x: _biawgn_rcu_scalar(n, k, x, s, delta), sig)


def biawgn_ebn0_db_at_bler(
    n: int,
    k: float,
    bler: float,
    bound: str = "normal",
    lo_db: float = -10.0,
    hi_db: float = 30.0,
    xtol_db: float = 1e-4,
) -> float:
    """The Eb/N0 (dB, rate ``k/n``) at which ``bound`` (one of :data:`BIAWGN_BOUNDS`) equals ``bler``.

    Every bound decreases in the SNR; the root is bracketed in ``[lo_db, hi_db]`` (ValueError if not).
    """
    n, k = _check_n_k(n, k)
    if k == 0:
        raise ValueError("k must be > 0 (a code with one codeword has no errors)")
    target = float(check_probability("bler", bler, 1.0, lo_open=True, hi_open=True))
    fns = {"normal": biawgn_normal_approximation, "converse": biawgn_converse, "rcu": biawgn_rcu}
    if bound not in fns:
        raise ValueError(f"bound must be one of {BIAWGN_BOUNDS}, got {bound!r}")
    fn = fns[bound]

    def gap(db: float) -> float:
        value = float(fn(n, k, ebn0_db_to_sigma(db, k / n)))
        return math.log(max(value, 1e-300)) - math.log(target)

    g_lo, g_hi = gap(lo_db), gap(hi_db)
    if not (g_lo > 0.0 > g_hi):
        raise ValueError(f"the {bound} bound does not cross bler={target:g} between lo_db={lo_db} and hi_db={hi_db}")
    return float(optimize.brentq(gap, lo_db, hi_db, xtol=xtol_db))
