"""Finite-blocklength bounds, capacity and dispersion (neuralcodes_jax.codes.bounds)."""

import fractions
import math

import numpy as np
import pytest
from scipy import optimize, stats

from neuralcodes_jax.codes import bounds, exact, linear

# coding-anchors Sec. 2.5: (n, k, p) -> (converse, RCU, normal approximation), as printed.
TABLE_2_5 = {
    (7, 4, 0.05): ("4.438e-2", "3.67e-1", "1.64e-1"),
    (23, 12, 0.05): ("2.581e-2", "1.39e-1", "6.64e-2"),
    (128, 64, 0.05): ("6.71e-4", "2.14e-3", "1.62e-3"),
    (128, 64, 0.08): ("4.92e-2", "8.83e-2", "6.93e-2"),
    (128, 64, 0.11): ("3.30e-1", "4.34e-1", "3.71e-1"),
    (256, 128, 0.05): ("1.42e-5", "3.33e-5", "3.72e-5"),
    (256, 128, 0.08): ("2.19e-2", "3.19e-2", "2.88e-2"),
    (1024, 512, 0.08): ("1.74e-4", "2.52e-4", "2.93e-4"),
    (1024, 512, 0.11): ("4.19e-1", "4.54e-1", "4.33e-1"),
}


def _units_off(value: float, printed: str) -> float:
    """Distance between value and the printed number, in units of its last printed digit."""
    mantissa, exponent = printed.split("e")
    unit = 10.0 ** (int(exponent) - len(mantissa.split(".")[1]))
    return abs(value - float(printed)) / unit


def _rcu_exact(n: int, k: int, p: float) -> float:
    """RCU with exact rational union terms (only the P_t are floats)."""
    total, cum = 0.0, 0
    for t in range(n + 1):
        cum += math.comb(n, t)
        union = min(fractions.Fraction(1), fractions.Fraction((2**k - 1) * cum, 2**n))
        total += math.comb(n, t) * p**t * (1 - p) ** (n - t) * float(union)
    return total


def test_anchor_table_2_5():
    for (n, k, p), (conv, rcu, na) in TABLE_2_5.items():
        got_conv = bounds.bsc_converse(n, k, p)
        got_rcu = bounds.bsc_rcu(n, k, p)
        got_na = bounds.bsc_normal_approximation(n, k, p)
        assert _units_off(got_conv, conv) <= 0.5, (n, k, p, got_conv)
        assert _units_off(got_na, na) <= 0.5, (n, k, p, got_na)
        if (n, k, p) == (128, 64, 0.11):
            # The formula evaluates to 0.433452 (checked with exact rational union terms), which the
            # table prints as 4.34e-1; allow one unit here.
            assert abs(got_rcu - _rcu_exact(n, k, p)) < 1e-12
            assert _units_off(got_rcu, rcu) <= 1.2
        else:
            assert _units_off(got_rcu, rcu) <= 0.5, (n, k, p, got_rcu)
    # the small rows also agree with the exact rational RCU
    assert abs(bounds.bsc_rcu(7, 4, 0.05) - _rcu_exact(7, 4, 0.05)) < 1e-13
    assert abs(bounds.bsc_rcu(23, 12, 0.05) - _rcu_exact(23, 12, 0.05)) < 1e-13


@pytest.mark.parametrize(
    "code", [linear.hamming_code(3), linear.hamming_code(4), linear.golay_code(), linear.repetition_code(5)]
)
def test_perfect_codes_meet_the_converse(code):
    ps = np.linspace(0.001, 0.5, 60)
    bler = exact.syndrome_bler_bsc(code)(ps)
    np.testing.assert_allclose(bounds.bsc_converse(code.n, code.k, ps), bler, rtol=1e-9, atol=1e-300)


def test_converse_below_every_code_and_rcu():
    ps = np.linspace(0.005, 0.5, 30)
    codes = (linear.extended_hamming_code(3), linear.extended_golay_code(), linear.single_parity_check_code(6))
    for code in codes:
        conv = bounds.bsc_converse(code.n, code.k, ps)
        assert np.all(conv <= exact.syndrome_bler_bsc(code)(ps) * (1 + 1e-12))
        assert np.all(conv <= bounds.bsc_rcu(code.n, code.k, ps) * (1 + 1e-12))
        assert np.all(conv <= bounds.gallager_bound(code.n, code.k, ps) * (1 + 1e-12))


def test_converse_edge_cases_and_large_n():
    assert bounds.bsc_converse(7, 0, 0.1) == 0.0
    assert abs(bounds.bsc_converse(7, 7, 0.1) - (1 - 0.9**7)) < 1e-14  # uncoded
    tiny = bounds.bsc_converse(4000, 2000, 0.05)
    assert 0.0 < tiny < 1e-40  # far below what linear-space sums could represent before cancellation
    values = bounds.bsc_converse(2000, 1000, [0.06, 0.08, 0.1])
    assert np.all(np.diff(values) > 0)


def test_normal_approximation_includes_plus_half_log_n():
    n, k, p = 200, 100, 0.07
    c, v = bounds.bsc_capacity(p), bounds.bsc_dispersion(p)
    expected = stats.norm.sf((n * c - k + 0.5 * math.log2(n)) / math.sqrt(n * v))
    assert abs(bounds.bsc_normal_approximation(n, k, p) - expected) < 1e-15
    # and it inverts log2 M* ~= nC - sqrt(nV) Q^-1(eps) + 1/2 log2 n
    eps = bounds.bsc_normal_approximation(n, k, p)
    assert abs(bounds.bsc_normal_approximation_log2m(n, eps, p) - k) < 1e-9


def test_capacity_and_dispersion():
    assert abs(bounds.bsc_capacity(0.11) - 0.5) < 1e-3  # rate 1/2 meets capacity at p ~= 0.110
    root = optimize.brentq(lambda q: bounds.bsc_capacity(q) - 0.5, 0.01, 0.4)
    assert abs(root - 0.110028) < 1e-6
    p = 0.05
    assert abs(bounds.bsc_dispersion(p) - p * (1 - p) * math.log2((1 - p) / p) ** 2) < 1e-15
    assert bounds.bsc_dispersion(0.5) == 0.0 and bounds.bsc_capacity(0.0) == 1.0
    assert bounds.bec_capacity(0.3) == 0.7 and abs(bounds.bec_dispersion(0.3) - 0.21) < 1e-15
    assert abs(bounds.binary_entropy(0.5) - 1.0) < 1e-15


def test_gallager_exponent_regimes():
    p = 0.05
    r0 = 1 - 2 * math.log2(math.sqrt(p) + math.sqrt(1 - p))
    p_crit = math.sqrt(p) / (math.sqrt(p) + math.sqrt(1 - p))
    r_crit = 1 - bounds.binary_entropy(p_crit)
    assert abs(bounds.gallager_e0(1.0, p) - r0) < 1e-14
    for rate in (0.0, 0.1, 0.9 * r_crit):  # straight-line part: E_r = R_0 - R
        assert abs(bounds.gallager_exponent(rate, p) - (r0 - rate)) < 1e-9
    for rate in (0.35, 0.5, 0.65):  # sphere-packing part: E_r = D(delta || p), h(delta) = 1 - R
        delta = optimize.brentq(lambda d, rate=rate: bounds.binary_entropy(d) - (1 - rate), p, 0.5)
        div = delta * math.log2(delta / p) + (1 - delta) * math.log2((1 - delta) / (1 - p))
        assert abs(bounds.gallager_exponent(rate, p) - div) < 1e-8
    assert bounds.gallager_exponent(bounds.bsc_capacity(p) + 0.01, p) == 0.0


def test_bec_bounds():
    assert f"{bounds.bec_converse(7, 4, 0.1):.2e}" == "1.41e-03"  # coding-anchors Sec. 2.6
    d = np.linspace(0.01, 0.99, 25)
    # repetition (n, 1) meets the BEC converse: it fails only when all n are erased (half the time)
    rep = exact.ml_bler_bec(linear.repetition_code(6).codewords())
    np.testing.assert_allclose(bounds.bec_converse(6, 1, d), rep(d), rtol=1e-12)
    ham = exact.ml_bler_bec(linear.hamming_code(3).codewords())(d)
    assert np.all(bounds.bec_converse(7, 4, d) <= ham * (1 + 1e-12))
    assert np.all(bounds.bec_converse(7, 4, d) <= bounds.bec_rcu(7, 4, d) * (1 + 1e-12))
    n, k, delta = 500, 250, 0.45
    expected = stats.norm.sf((n * (1 - delta) - k) / math.sqrt(n * delta * (1 - delta)))
    assert abs(bounds.bec_normal_approximation(n, k, delta) - expected) < 1e-15


def test_bad_input_errors_name_the_field():
    with pytest.raises(ValueError, match=r"p must be in \[0, 0.5\], got 0.7"):
        bounds.bsc_converse(7, 4, 0.7)
    with pytest.raises(ValueError, match=r"k \(= log2 M\) must be in \[0, n\]"):
        bounds.bsc_rcu(7, 8, 0.1)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        bounds.bsc_converse(0, 0, 0.1)
    with pytest.raises(ValueError, match=r"p must be in \(0, 0.5\)"):
        bounds.bsc_normal_approximation(7, 4, 0.0)
    with pytest.raises(ValueError, match=r"delta must be in \[0, 1\]"):
        bounds.bec_converse(7, 4, 1.2)
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\]"):
        bounds.gallager_exponent(1.5, 0.1)
