"""BI-AWGN finite-blocklength limits (neuralcodes_jax.codes.bounds, biawgn_*), against direct numerical integration."""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from neuralcodes_jax.codes import bounds

LN2 = math.log(2.0)


# ------------------------------------------------------------------ independent references (scipy.integrate.quad)
def _info_density_bits(y, sigma):
    """log2 p(y|+1) / (p(y|+1)/2 + p(y|-1)/2), written directly from the Gaussian densities."""
    lp_plus = stats.norm.logpdf(y, 1.0, sigma)
    lp_minus = stats.norm.logpdf(y, -1.0, sigma)
    return (lp_plus - np.logaddexp(lp_plus, lp_minus) + LN2) / LN2


def _quad_moments(sigma):
    lo, hi = 1.0 - 40.0 * sigma, 1.0 + 40.0 * sigma
    f = stats.norm(1.0, sigma).pdf
    c = integrate.quad(lambda y: f(y) * _info_density_bits(y, sigma), lo, hi, epsabs=0, epsrel=1e-13, limit=400)[0]
    v = integrate.quad(
        lambda y: f(y) * (_info_density_bits(y, sigma) - c) ** 2, lo, hi, epsabs=0, epsrel=1e-13, limit=400
    )[0]
    return c, v


def _w(llr, s=1.0):
    return LN2 - np.logaddexp(0.0, -s * llr)


def _l_of_w(w, s=1.0):
    return math.inf if w >= LN2 else -math.log(math.expm1(LN2 - w)) / s


def _kink(sigma, g):
    """The L1 beyond which W(L1) >= g - ln 2, so that the inner probability is 1 / the inner set is empty."""
    mu = 2.0 / sigma**2
    return [min(max(_l_of_w(g - LN2), mu - 39 * math.sqrt(2 * mu)), mu + 39 * math.sqrt(2 * mu))]


def _n2_p_below(sigma, g):
    """P[W(L1) + W(L2) <= g], L_i ~ N(mu, 2 mu) i.i.d. (inner probability in closed form)."""
    mu = 2.0 / sigma**2
    sd = math.sqrt(2.0 * mu)
    return integrate.quad(
        lambda l1: stats.norm.pdf(l1, mu, sd) * stats.norm.cdf((_l_of_w(g - _w(l1)) - mu) / sd),
        mu - 40 * sd,
        mu + 40 * sd,
        epsabs=1e-15,
        epsrel=1e-10,
        limit=400,
        points=_kink(sigma, g),
    )[0]


def _n2_q_above(sigma, g):
    """Q[S > g] = E_P[e^{-S} 1{S > g}]; E[e^{-W} 1{L > l}] = (P[L > l] + P[N(-mu, 2 mu) > l]) / 2."""
    mu = 2.0 / sigma**2
    sd = math.sqrt(2.0 * mu)

    def inner(l1):
        ell = _l_of_w(g - _w(l1))
        return 0.5 * (stats.norm.sf((ell - mu) / sd) + stats.norm.sf((ell + mu) / sd))

    return integrate.quad(
        lambda l1: math.exp(stats.norm.logpdf(l1, mu, sd) - _w(l1)) * inner(l1),
        mu - 40 * sd,
        mu + 40 * sd,
        epsabs=1e-15,
        epsrel=1e-10,
        limit=400,
        points=_kink(sigma, g),
    )[0]


def _n2_converse(k, sigma):
    g = optimize.brentq(lambda t: math.log(_n2_q_above(sigma, t)) + k * LN2, -30.0, 2 * LN2 - 1e-9, xtol=1e-12)
    return _n2_p_below(sigma, g)


def _n2_rcu_s(k, sigma, s):
    """E[min(1, (M-1) e^{-W_s(L1) - W_s(L2)})] with the inner expectation in closed form."""
    mu = 2.0 / sigma**2
    sd = math.sqrt(2.0 * mu)
    log_m1 = math.log(2.0**k - 1.0)
    # E[e^{-s L} 1{L > l}] = exp(-s mu + s^2 mu) P[N(mu - 2 mu s, 2 mu) > l]
    tilt = math.exp(-s * mu + s * s * mu)

    def inner(l1):
        if log_m1 - _w(l1, s) >= LN2:
            return 1.0
        a = math.exp(log_m1 - _w(l1, s))  # min(1, a (1 + e^{-s L2}) / 2)
        ell = -math.log(2.0 / a - 1.0) / s  # a (1 + e^{-s l}) / 2 = 1
        below = stats.norm.cdf((ell - mu) / sd)
        above = 0.5 * a * (stats.norm.sf((ell - mu) / sd) + tilt * stats.norm.sf((ell - mu + 2 * mu * s) / sd))
        return below + above

    return integrate.quad(
        lambda l1: stats.norm.pdf(l1, mu, sd) * inner(l1), mu - 40 * sd, mu + 40 * sd, epsabs=0, epsrel=1e-11, limit=400
    )[0]


# ------------------------------------------------------------------------------------------------------- tests
def test_snr_conversions():
    assert bounds.esn0_db_to_sigma(0.0) == pytest.approx(math.sqrt(0.5), rel=1e-15)
    assert bounds.ebn0_db_to_sigma(3.0, 0.5) == pytest.approx(1.0 / math.sqrt(10**0.3), rel=1e-15)
    grid = np.linspace(-2.0, 6.0, 5)
    np.testing.assert_allclose(
        bounds.ebn0_db_to_sigma(grid, 0.25), np.sqrt(1.0 / (0.5 * 10 ** (grid / 10))), rtol=1e-14
    )
    np.testing.assert_allclose(bounds.sigma_to_ebn0_db(bounds.ebn0_db_to_sigma(grid, 0.4), 0.4), grid, atol=1e-12)
    np.testing.assert_allclose(bounds.sigma_to_esn0_db(bounds.esn0_db_to_sigma(grid)), grid, atol=1e-12)
    # Es/N0 = R Eb/N0
    assert bounds.ebn0_db_to_sigma(1.0, 0.5) == pytest.approx(bounds.esn0_db_to_sigma(1.0 + 10 * math.log10(0.5)))


@pytest.mark.parametrize("sigma", [0.35, 0.6, 1.0, 2.5])
def test_capacity_dispersion_against_quad(sigma):
    c_ref, v_ref = _quad_moments(sigma)
    assert bounds.biawgn_capacity(sigma) == pytest.approx(c_ref, rel=1e-10, abs=1e-13)
    assert bounds.biawgn_dispersion(sigma) == pytest.approx(v_ref, rel=1e-8, abs=1e-13)


def test_capacity_known_values():
    # sigma = 1 (SNR 1/sigma^2 = 0 dB, i.e. Es/N0 = -3.01 dB): 0.4859 bits.
    assert bounds.biawgn_capacity(1.0) == pytest.approx(0.4859, abs=5e-5)
    # The BI-AWGN Shannon limit of rate 1/2 is Eb/N0 = 0.187 dB.
    assert bounds.biawgn_capacity(bounds.ebn0_db_to_sigma(0.187, 0.5)) == pytest.approx(0.5, abs=2e-4)
    c = bounds.biawgn_capacity(np.linspace(0.3, 3.0, 7))
    assert c.shape == (7,) and np.all(np.diff(c) < 0) and 0 < c[-1] < c[0] < 1


def test_normal_approximation_formula_and_anchor():
    sigma = bounds.ebn0_db_to_sigma(2.0, 0.5)
    c_ref, v_ref = _quad_moments(sigma)
    na = stats.norm.sf((128 * c_ref - 64 + 0.5 * math.log2(128)) / math.sqrt(128 * v_ref))
    assert bounds.biawgn_normal_approximation(128, 64, sigma) == pytest.approx(na, rel=1e-7)
    log2m = bounds.biawgn_normal_approximation_log2m(128, na, sigma)
    assert log2m == pytest.approx(64.0, abs=1e-6)
    assert bounds.biawgn_normal_approximation_rate(128, na, sigma) == pytest.approx(0.5, abs=1e-8)
    # (128, 64) at BLER 1e-4: the normal approximation needs Eb/N0 = 2.92 dB (from the quadrature C and V above,
    # re-derived here independently of the library).
    db = bounds.biawgn_ebn0_db_at_bler(128, 64, 1e-4, "normal")

    def na_ref(x):
        c, v = _quad_moments(bounds.ebn0_db_to_sigma(x, 0.5))
        return stats.norm.sf((128 * c - 64 + 3.5) / math.sqrt(128 * v)) - 1e-4

    assert abs(na_ref(db)) < 1e-8
    assert db == pytest.approx(2.92, abs=0.01)


@pytest.mark.parametrize("sigma", [0.5, 0.8, 1.2])
@pytest.mark.parametrize("k", [0.3, 1.0])
def test_converse_n1_exact_neyman_pearson(sigma, k):
    # n = 1: the likelihood ratio is increasing in y, so the test is y > t with Q[Y > t] = 2^-k,
    # Q = (N(1, sigma^2) + N(-1, sigma^2)) / 2, and eps = P[Y <= t] under N(1, sigma^2).
    t = optimize.brentq(
        lambda x: 0.5 * stats.norm.sf((x - 1) / sigma) + 0.5 * stats.norm.sf((x + 1) / sigma) - 2.0**-k,
        -40.0,
        40.0,
        xtol=1e-14,
    )
    exact = stats.norm.cdf((t - 1.0) / sigma)
    assert bounds.biawgn_converse(1, k, sigma) == pytest.approx(exact, rel=2e-3)
    if k == 1.0:  # M = 2, n = 1: uncoded BPSK meets the converse
        assert exact == pytest.approx(stats.norm.sf(1.0 / sigma), rel=1e-10)


@pytest.mark.parametrize("sigma,k", [(0.7, 1.0), (1.0, 0.5), (0.5, 1.3)])
def test_converse_n2_against_integration(sigma, k):
    ref = _n2_converse(k, sigma)
    assert bounds.biawgn_converse(2, k, sigma) == pytest.approx(ref, rel=2e-3)


@pytest.mark.parametrize("sigma,k,s", [(0.7, 1.0, 1.0), (1.0, 0.5, 0.6), (0.5, 1.3, 0.8)])
def test_rcu_s_n2_against_integration(sigma, k, s):
    ref = _n2_rcu_s(k, sigma, s)
    assert bounds.biawgn_rcu(2, k, sigma, s=s) == pytest.approx(ref, rel=1e-4)


def test_rcu_exact_n1_is_below_rcu_s():
    # n = 1, M = 2: the only other codeword is the other symbol (or the same one, prob. 1/2); exact RCU (PPV Thm. 16)
    # is E[min(1, P[i(Xbar; Y) >= i(X; Y)])] = P[Y <= 0] + P[Y > 0] / 2 under N(1, sigma^2).
    for sigma in (0.6, 1.0):
        exact = stats.norm.cdf(-1.0 / sigma) + 0.5 * stats.norm.sf(-1.0 / sigma)
        for s in (0.3, 0.7, 1.0):
            assert bounds.biawgn_rcu(1, 1.0, sigma, s=s) >= exact - 1e-4


def test_rcu_exact_n2_is_below_rcu_s_and_above_converse():
    # n = 2, M = 2 (PPV Thm. 16 exactly): Xbar uniform on {+-1}^2 beats or ties x = (+1, +1) iff the LLRs where they
    # differ sum to <= 0: P = (1 + 1{l1 <= 0} + 1{l2 <= 0} + 1{l1 + l2 <= 0}) / 4, and min(1, (M-1) P) = P, so
    # rcu = (1 + 2 Phi(-sqrt(mu/2)) + Phi(-sqrt(mu))) / 4 with l_i ~ N(mu, 2 mu).
    for sigma in (0.6, 1.0):
        mu = 2.0 / sigma**2
        exact = (1.0 + 2.0 * stats.norm.cdf(-math.sqrt(mu / 2)) + stats.norm.cdf(-math.sqrt(mu))) / 4.0
        values = [bounds.biawgn_rcu(2, 1.0, sigma, s=s, lattice_step=4e-3) for s in (0.4, 0.7, 1.0)]
        best = bounds.biawgn_rcu(2, 1.0, sigma, s="best", lattice_step=4e-3)
        assert exact <= best <= min(values) + 1e-12
        assert bounds.biawgn_converse(2, 1.0, sigma) < exact


def test_rcu_s_128_64_against_monte_carlo():
    # E[min(1, (M-1) exp(-sum_i W_s(L_i)))] by plain Monte Carlo over 20000 blocks where the bound is ~0.2-0.5.
    rng = np.random.default_rng(0)
    for db, s in ((0.5, 0.9), (1.0, 0.8)):
        sigma = bounds.ebn0_db_to_sigma(db, 0.5)
        mu = 2.0 / sigma**2
        llr = rng.normal(mu, math.sqrt(2 * mu), size=(20000, 128))
        samples = np.minimum(1.0, np.exp(math.log(2.0**64 - 1) - _w(llr, s).sum(axis=1)))
        se = samples.std() / math.sqrt(samples.size)
        assert abs(bounds.biawgn_rcu(128, 64, sigma, s=s) - samples.mean()) < 4 * se, (db, samples.mean(), se)


def test_converse_64_8_against_monte_carlo():
    # Neyman-Pearson by simulation: gamma = the (1 - 2^-k) quantile of S under Q (inputs uniform on +-1), then
    # eps = P[S <= gamma] under P (inputs +1). 2e5 samples each; the band moves the Q-tail mass by +-13% (~3.6
    # standard errors of its ~780 exceedances).
    rng = np.random.default_rng(1)
    n, k, sigma = 64, 8, 2.0

    def info(x):
        y = x + sigma * rng.standard_normal(x.shape)
        return _w(2.0 * y / sigma**2).sum(axis=1)

    s_q = np.concatenate([info(rng.choice([-1.0, 1.0], size=(50000, n))) for _ in range(4)])
    s_p = np.concatenate([info(np.ones((50000, n))) for _ in range(4)])
    lo = (s_p <= np.quantile(s_q, 1 - 2.0**-k * 1.13)).mean()
    hi = (s_p <= np.quantile(s_q, 1 - 2.0**-k / 1.13)).mean()
    assert lo <= bounds.biawgn_converse(n, k, sigma) <= hi


def test_ordering_and_monotonicity_128_64():
    grid = np.array([0.5, 1.5, 2.5, 3.5])
    sig = bounds.ebn0_db_to_sigma(grid, 0.5)
    conv = bounds.biawgn_converse(128, 64, sig)
    na = bounds.biawgn_normal_approximation(128, 64, sig)
    rcu = bounds.biawgn_rcu(128, 64, sig)
    assert conv.shape == rcu.shape == (4,)
    assert np.all(conv < na) and np.all(na < rcu)
    for curve in (conv, na, rcu):
        assert np.all(np.diff(curve) < 0)
    # the gap between the bounds at BLER ~1e-4 is a few tenths of a dB
    assert 1e-5 < conv[2] < 1e-3 and 1e-5 < rcu[3] < 1e-3


@pytest.mark.slow
def test_lattice_refinement_and_s_choice():
    sig = bounds.ebn0_db_to_sigma(3.0, 0.5)
    for n, k in ((16, 8), (128, 64)):
        c1 = bounds.biawgn_converse(n, k, sig)
        c4 = bounds.biawgn_converse(n, k, sig, lattice_step=2.5e-4)
        assert c1 == pytest.approx(c4, rel=2e-3)
        r1 = bounds.biawgn_rcu(n, k, sig)
        r4 = bounds.biawgn_rcu(n, k, sig, lattice_step=2.5e-4)
        assert r1 == pytest.approx(r4, rel=1e-4)
    # the default s (exponent-optimal) is near the best s and far better than s = 1 (coarser lattice: the RCU's
    # lattice error is second order, and every value below uses the same step)
    s0 = bounds.biawgn_rcu_s_parameter(128, 64, sig)
    assert 0.5 < s0 < 0.7
    step = 4e-3

    def rcu(s):
        return bounds.biawgn_rcu(128, 64, sig, s=s, lattice_step=step)

    default = rcu(None)
    assert default == pytest.approx(rcu(s0), rel=1e-12)
    assert default < 0.3 * rcu(1.0)
    best = rcu("best")
    assert best <= default < 1.1 * best
    assert best <= min(rcu(x) for x in (0.55, 0.65, 0.75)) * (1 + 1e-9)


def test_large_n_ordering():
    # n = 1024, k = 512 at BLER ~1e-4: converse < NA < RCU, and the RCU 0.2 dB later is below the converse (the
    # achievability-converse gap is under 0.2 dB at this length).
    sig = bounds.ebn0_db_to_sigma(np.array([1.2, 1.4]), 0.5)
    conv = bounds.biawgn_converse(1024, 512, sig)
    na = bounds.biawgn_normal_approximation(1024, 512, sig)
    rcu = bounds.biawgn_rcu(1024, 512, sig)
    assert np.all(conv < na) and np.all(na < rcu)
    assert rcu[1] < conv[0] and 1e-5 < conv[0] < 1e-3


def test_trivial_and_bad_input():
    assert bounds.biawgn_converse(8, 0, 0.8) == 0.0
    assert bounds.biawgn_rcu(8, 0, 0.8) == 0.0
    with pytest.raises(ValueError, match="n must be a positive integer"):
        bounds.biawgn_converse(0, 1, 0.8)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        bounds.biawgn_rcu(2.5, 1, 0.8)
    with pytest.raises(ValueError, match="k"):
        bounds.biawgn_normal_approximation(8, 9, 0.8)
    with pytest.raises(ValueError, match="sigma"):
        bounds.biawgn_capacity(0.0)
    with pytest.raises(ValueError, match="sigma"):
        bounds.biawgn_rcu(8, 4, [0.5, np.nan])
    with pytest.raises(ValueError, match="eps"):
        bounds.biawgn_normal_approximation_log2m(8, 1.0, 0.8)
    with pytest.raises(ValueError, match="rate"):
        bounds.ebn0_db_to_sigma(1.0, 0.0)
    with pytest.raises(ValueError, match="ebn0_db"):
        bounds.ebn0_db_to_sigma(np.inf, 0.5)
    with pytest.raises(ValueError, match="bound must be one of"):
        bounds.biawgn_ebn0_db_at_bler(8, 4, 1e-3, "sphere")
    with pytest.raises(ValueError, match="s must be"):
        bounds.biawgn_rcu(8, 4, 0.8, s=1.5)
    with pytest.raises(ValueError, match="s must be"):
        bounds.biawgn_rcu(8, 4, 0.8, s="optimal")
    with pytest.raises(ValueError, match="lattice_step"):
        bounds.biawgn_converse(8, 4, 0.8, lattice_step=0.0)
    with pytest.raises(ValueError, match="does not cross"):
        bounds.biawgn_ebn0_db_at_bler(8, 4, 1e-3, "normal", lo_db=10.0, hi_db=20.0)
