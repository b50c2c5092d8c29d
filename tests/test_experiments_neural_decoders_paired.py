"""The paired comparison of two decoders on common noise (``experiments/neural_decoders/paired.py``): its statistics
against closed forms and brute force, the bootstrap interval's coverage, and the simulation against the uncoded BER."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from experiments.neural_decoders import paired
from neuralcodes_jax.codes import catalog


def test_statistics_against_brute_force():
    rng = np.random.default_rng(0)
    blocks, n = 5000, 20
    a_all = rng.poisson(0.05, blocks) * rng.integers(1, 4, blocks)
    b_all = np.where(rng.random(blocks) < 0.6, a_all, rng.poisson(0.03, blocks))
    keep = (a_all > 0) | (b_all > 0)
    r = paired.paired_stats(a_all[keep], b_all[keep], blocks, n)
    assert r["bit_errors_a"] == a_all.sum() and r["bit_errors_b"] == b_all.sum()
    assert r["neg_ln_ber_a"] == pytest.approx(-math.log(a_all.sum() / (blocks * n)))
    assert r["delta"] == pytest.approx(math.log(a_all.sum() / b_all.sum()))
    d = (a_all - b_all).astype(np.float64)  # every block, zeros included
    z = d.mean() / (d.std(ddof=1) / math.sqrt(blocks))
    assert r["z"] == pytest.approx(z, rel=1e-9)
    assert r["p_one_sided"] == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)), rel=1e-6)
    n_ab = int(((a_all > 0) & (b_all == 0)).sum())
    n_ba = int(((b_all > 0) & (a_all == 0)).sum())
    assert (r["mcnemar_a_only"], r["mcnemar_b_only"]) == (n_ab, n_ba)
    tot, lo = n_ab + n_ba, min(n_ab, n_ba)
    p = min(1.0, 2 * sum(math.comb(tot, i) for i in range(lo + 1)) / 2**tot)  # exact two-sided binomial
    assert r["mcnemar_p"] == pytest.approx(p, rel=1e-6)
    assert r["delta_lo"] < r["delta"] < r["delta_hi"]


@pytest.mark.slow
def test_bootstrap_interval_covers_the_true_delta():
    """Blocks with correlated Poisson bit errors of known means: the 95% interval covers ln(mean_a / mean_b) in
    about 95% of 100 replications."""
    rng = np.random.default_rng(1)
    la, lb, blocks = 0.06, 0.04, 5000
    hits = 0
    for rep in range(100):
        common = rng.poisson(lb, blocks)
        a = common + rng.poisson(la - lb, blocks)
        b = common
        keep = (a > 0) | (b > 0)
        r = paired.paired_stats(a[keep], b[keep], blocks, 10, seed=rep)
        hits += r["delta_lo"] <= math.log(la / lb) <= r["delta_hi"]
    assert 0.87 <= hits / 100 <= 0.99


def test_simulate_pair_same_noise_for_both_decoders():
    """Two identical decoders (hard decisions) see the same blocks: no discordant block, delta 0; their BER is the
    uncoded BER Q(sqrt(2 R Eb/N0)) within its binomial spread."""
    code = catalog.make_code("bch:31,16")
    hard = lambda llr: (llr < 0).astype(np.uint8)
    r = paired.simulate_pair(hard, hard, code, 4.0, seed=2, batch_size=500, target_block_errors=400)
    assert r["delta"] == 0.0 and r["mcnemar_a_only"] == r["mcnemar_b_only"] == 0
    ber = r["bit_errors_a"] / (r["blocks"] * code.n)
    want = 0.5 * special.erfc(math.sqrt(code.k / code.n * 10 ** (4.0 / 10)))
    assert abs(ber - want) < 4 * math.sqrt(want / (r["blocks"] * code.n))
    other = paired.simulate_pair(hard, lambda llr: np.zeros(llr.shape, np.uint8), code, 4.0, seed=2, max_blocks=500)
    assert other["blocks"] == 500 and other["mcnemar_b_only"] > 0  # decoder B errs on every nonzero codeword


def test_holm_and_bad_input():
    assert paired.holm({"a": 0.01, "b": 0.02, "c": 0.04}) == {"a": True, "b": True, "c": True}
    assert paired.holm({"a": 0.01, "b": 0.03, "c": 0.04}) == {"a": True, "b": False, "c": False}
    with pytest.raises(ValueError, match="target_block_errors"):
        paired.simulate_pair(None, None, catalog.make_code("bch:31,16"), 4.0, target_block_errors=0)


def test_trained_runs_are_found_in_the_first_root_holding_them(tmp_path):
    from experiments.neural_decoders import benchmark

    for root, code in (("a", "X"), ("b", "X"), ("b", "Y")):
        (tmp_path / root / code / "checkpoints").mkdir(parents=True)
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    assert benchmark.find_run([a, b], "X") == str(tmp_path / "a" / "X")
    assert benchmark.find_run(f"{a},{b}", "Y") == str(tmp_path / "b" / "Y")
    assert benchmark.find_run([a, b], "Z") is None and benchmark.find_run(None, "X") is None
