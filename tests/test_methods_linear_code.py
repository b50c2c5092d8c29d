"""Learned linear codes: the relaxed generator and its surrogates against brute force, exact evaluation of linear
codes (weight enumerators, coset-leader ML), the method on a small budget, bad input."""

import itertools
import json
import math
import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neuralcodes_jax.codes import exact, gf2, linear, relaxed, structure

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _random_code(rng, n, k) -> linear.LinearCode:
    while True:
        g = rng.integers(0, 2, (k, n), dtype=np.uint8)
        if gf2.rank(g) == k:
            return linear.LinearCode.from_generator(g)


# ------------------------------------------------------------------------------------ relaxed XOR
def test_relaxed_xor_equals_enumeration():
    rng = np.random.default_rng(0)
    probs = rng.uniform(size=6)
    brute = 0.0
    for bits in itertools.product((0, 1), repeat=6):
        b = np.array(bits)
        brute += np.prod(np.where(b, probs, 1 - probs)) * (b.sum() % 2)
    np.testing.assert_allclose(float(relaxed.relaxed_xor(jnp.asarray(probs, jnp.float32))), brute, atol=1e-6)


def test_xor_logits_is_the_logit_of_the_relaxed_xor_over_the_support():
    rng = np.random.default_rng(1)
    theta = jnp.asarray(rng.normal(size=(5, 3)), jnp.float32)
    msgs = gf2.int_to_bits(np.arange(1, 32), 5)
    pi = np.asarray(jax.nn.sigmoid(theta), np.float64)
    want = np.stack([[0.5 * (1 - np.prod(1 - 2 * pi[m.astype(bool), j])) for j in range(3)] for m in msgs])
    got = np.asarray(jax.nn.sigmoid(relaxed.xor_logits(theta, jnp.asarray(msgs))))
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_binarized_relaxed_codebook_is_the_rounded_linear_code():
    """``q > 1/2`` iff the XOR of the rounded entries is 1, so thresholding gives the rounded code."""
    rng = np.random.default_rng(2)
    theta = rng.normal(size=(6, 5)).astype(np.float32)
    msgs = gf2.int_to_bits(np.arange(64), 6)
    hard = (np.asarray(relaxed.xor_logits(jnp.asarray(theta), jnp.asarray(msgs))) > 0).astype(np.uint8)
    code = linear.LinearCode.from_generator(relaxed.generator_from_logits(theta))
    np.testing.assert_array_equal(np.concatenate([msgs, hard], axis=1), code.codewords())


def _brute_spectrum(theta: np.ndarray, max_weight: int) -> np.ndarray:
    """E[A_w] over nonzero messages of weight <= max_weight, enumerating every binary P (float64)."""
    k, r = theta.shape
    pi = 1 / (1 + np.exp(-theta.astype(np.float64)))
    out = np.zeros(k + r + 1)
    msgs = gf2.int_to_bits(np.arange(1, 1 << k), k)
    msgs = msgs[msgs.sum(1) <= max_weight]
    for flat in itertools.product((0, 1), repeat=k * r):
        p_mat = np.array(flat, np.uint8).reshape(k, r)
        prob = np.prod(np.where(p_mat, pi, 1 - pi))
        words = np.concatenate([msgs, gf2.matmul(msgs, p_mat)], axis=1)
        out += prob * np.bincount(words.sum(1), minlength=k + r + 1)
    return out


@pytest.mark.parametrize("k,r,max_weight", [(3, 3, 3), (4, 2, 4), (4, 3, 2)])
def test_expected_spectrum_equals_brute_force(k, r, max_weight):
    theta = np.random.default_rng(k * 10 + r).normal(size=(k, r)).astype(np.float32)
    got = np.asarray(relaxed.expected_spectrum(jnp.asarray(theta), max_weight), np.float64)
    np.testing.assert_allclose(got, _brute_spectrum(theta, max_weight), atol=2e-5)


def test_expected_spectrum_at_a_binary_generator_is_the_weight_enumerator():
    g = linear.golay_code()
    theta = jnp.asarray(30.0 * (2.0 * g.generator[:, 12:] - 1.0), jnp.float32)
    want = linear.weight_enumerator(g).astype(np.float64)
    want[0] = 0
    np.testing.assert_allclose(np.asarray(relaxed.expected_spectrum(theta)), want, rtol=1e-5)


def test_pairwise_error_equals_enumeration():
    p = 0.07
    got = relaxed.pairwise_error(8, p)
    for w in range(1, 9):
        brute = 0.0
        for e in itertools.product((0, 1), repeat=w):
            j = sum(e)
            pe = p**j * (1 - p) ** (w - j)
            brute += pe * (1.0 if 2 * j > w else 0.5 if 2 * j == w else 0.0)
        assert math.isclose(got[w], brute, rel_tol=1e-12)


@pytest.mark.parametrize("name", relaxed.SURROGATES)
def test_surrogates_of_brute_force_spectrum(name):
    """Each surrogate is its formula applied to the expected spectrum (float64 brute force)."""
    theta = np.random.default_rng(5).normal(size=(3, 3)).astype(np.float32)
    spec = _brute_spectrum(theta, 3)
    w = np.arange(7)
    want = {
        "union": np.log(np.sum(spec * relaxed.pairwise_error(6, 0.05))),
        "softmin": 0.7 * np.log(np.sum(spec[1:] * np.exp(-w[1:] / 0.7))),
        "distance": np.log(1e-3 + spec[1:3].sum()),
    }[name]
    got = relaxed.surrogate_loss(relaxed.expected_spectrum(jnp.asarray(theta)), name, p=0.05, tau=0.7, distance=3)
    np.testing.assert_allclose(float(got), want, rtol=1e-5)


def test_union_surrogate_is_lower_for_hamming_than_for_a_worse_code():
    ham = linear.hamming_code(3)  # systematic? use its systematic form
    g_sys, _ = gf2.systematic_form(ham.generator)
    bad = np.concatenate([np.eye(4, dtype=np.uint8), np.zeros((4, 3), np.uint8)], axis=1)
    bad[:, 4] = 1
    values = [
        float(
            relaxed.surrogate_loss(
                relaxed.expected_spectrum(jnp.asarray(30.0 * (2.0 * g[:, 4:] - 1.0))), "union", p=0.01
            )
        )
        for g in (g_sys, bad)
    ]
    assert values[0] < values[1]


# --------------------------------------------------------------------------- exact linear-code tools
@pytest.mark.parametrize("seed", range(4))
def test_weight_enumerator_macwilliams_equals_listing(seed):
    rng = np.random.default_rng(seed)
    code = _random_code(rng, 12, 9)  # k > n - k: via the dual and MacWilliams
    listed = np.bincount(code.codewords().sum(1), minlength=13)
    np.testing.assert_array_equal(linear.weight_enumerator(code), listed)
    np.testing.assert_array_equal(
        linear.weight_enumerator(code.dual()), np.bincount(code.dual().codewords().sum(1), minlength=13)
    )


def test_named_codes_have_their_distances_and_golay_its_enumerator():
    dists = {
        name: int(np.flatnonzero(linear.weight_enumerator(make())[1:])[0]) + 1
        for name, make in structure.reference_codes().items()
    }
    assert dists["BCH(15,7)"] == 5 and dists["BCH(15,5)"] == 7 and dists["BCH(31,21)"] == 5
    assert dists["BCH(31,16)"] == 7 and dists["Reed-Muller(1,4)"] == 8 and dists["Hamming(31,26)"] == 3
    assert dists["Golay(23,12)"] == 7 and dists["extended Golay(24,12)"] == 8
    golay = linear.weight_enumerator(linear.golay_code())
    assert {w: int(a) for w, a in enumerate(golay) if a} == {
        0: 1,
        7: 253,
        8: 506,
        11: 1288,
        12: 1288,
        15: 506,
        16: 253,
        23: 1,
    }


@pytest.mark.parametrize("n,k,seed", [(9, 4, 0), (10, 3, 1), (11, 7, 2), (12, 5, 3), (8, 6, 4)])
def test_coset_leader_ml_agrees_with_table_ml_on_random_codes(n, k, seed):
    code = _random_code(np.random.default_rng(seed), n, k)
    dec = linear.SyndromeDecoder(code)
    cw = code.codewords()
    assert exact.syndrome_bler_bsc(dec) == exact.ml_bler_bsc(cw)
    assert exact.syndrome_ber_bsc(dec) == exact.decoder_ber_bsc(cw, dec.table())
    # codeword-bit errors by enumerating every error pattern: e + leader(syndrome(e))
    errors = gf2.int_to_bits(np.arange(1 << n), n)
    residual = errors ^ dec.leaders[gf2.bits_to_int(code.syndrome(errors))]
    per_weight = np.bincount(errors.sum(1), weights=residual.sum(1), minlength=n + 1)
    want = exact.WeightPolynomial(n, tuple(int(v) for v in per_weight), n)
    assert exact.syndrome_ber_bsc(dec, codeword_bits=True) == want


def test_ber_at_n31_is_consistent():
    """n = 31 (no table): the message-bit BER of Hamming(31,26) lies between BLER / k and BLER."""
    dec = linear.SyndromeDecoder(linear.hamming_code(5))
    p = np.array([0.001, 0.01, 0.05])
    bler, ber = exact.syndrome_bler_bsc(dec)(p), exact.syndrome_ber_bsc(dec)(p)
    assert np.all(ber <= bler) and np.all(ber >= bler / 26)


def test_hamming_equivalence_by_columns():
    ham = linear.hamming_code(4)
    perm = np.random.default_rng(0).permutation(15)
    assert linear.is_hamming_equivalent(linear.LinearCode.from_generator(ham.generator[:, perm]))
    assert not linear.is_hamming_equivalent(linear.bch_code(15, 7))


# ---------------------------------------------------------------------------------- the method
def _config(row: str, steps: int, seeds: int, **overrides):
    from experiments.linear_code import codes as cfg

    c = cfg.get_config(row)
    c.num_seeds = seeds
    c.train.steps = steps
    c.train.steps_per_call = steps
    c.train.checkpoint_every_steps = 0
    c.train.progress = False
    for key, value in overrides.items():
        section, field = key.split("__")
        c[section][field] = value
    return c


def test_linear_method_recovers_hamming_7_4(tmp_path):
    from neuralcodes_jax import sweeps, train

    c = _config("hamming_15_11", 300, 8, code__n=7, code__k=4, eval__reference="Hamming(7,4)", train__logit_penalty=0.0)
    configs, workdirs, summaries = sweeps.seed_members(c, str(tmp_path))
    out = train.train_group(configs, workdirs, summaries=summaries, handle_signals=False)
    s = out["summaries"][0]["summary"]
    assert s["num_seeds"] == 8 and s["reached_distance"] == 8 and s["equivalent"] == 8
    rep = json.loads(pathlib.Path(os.path.join(workdirs[0], "linear_code_report.json")).read_text())
    assert rep["minimum_distance"] == 3 and rep["weight_enumerator"] == [1, 0, 0, 7, 7, 0, 0, 1]
    assert abs(rep["ratio_to_converse"]["0.05"]["ratio"] - 1.0) < 1e-9  # Hamming(7,4) meets the converse


@pytest.mark.slow
def test_committed_golay_codes_are_golay():
    """Every learned Golay code in the results (the (23,12) rows and the punctured (24,12) union codes): the weight
    enumerator equals Golay's and the codes are equivalent."""
    path = os.path.join(REPO, "results", "learned_codes", "golay_23_12_generators.json")
    if not os.path.exists(path):
        pytest.skip("no learned Golay codes committed")
    gens = json.loads(pathlib.Path(path).read_text())["generators"]
    assert gens
    golay = linear.golay_code()
    for rows in gens:
        code = linear.LinearCode.from_generator(np.array([[int(b) for b in row] for row in rows], np.uint8))
        np.testing.assert_array_equal(linear.weight_enumerator(code), linear.weight_enumerator(golay))
        assert structure.find_equivalence(code.codewords(), golay.codewords()) is not None


# ------------------------------------------------------------------------------------- bad input
def test_bad_input_errors():
    from neuralcodes_jax.evaluators import linear_code as ev
    from neuralcodes_jax.methods import linear_code as lc

    with pytest.raises(ValueError, match=r"code.k must be < code.n"):
        lc.LinearCodeMethod(n=7, k=9)
    with pytest.raises(ValueError, match="at most 65536"):
        lc.LinearCodeMethod(n=31, k=21)  # 2^21 messages: must restrict the message weight
    lc.LinearCodeMethod(n=31, k=21, max_message_weight=4)
    with pytest.raises(ValueError, match=r"surrogate.name must be one of"):
        lc.LinearCodeMethod(n=7, k=4, surrogate="hinge")
    with pytest.raises(ValueError, match=r"eval.reference must be one of"):
        ev.reference("Golay(23,11)", 23, 11)
    with pytest.raises(ValueError, match=r"must be an \(15,7\) code"):
        ev.reference("Hamming(15,11)", 15, 7)
    with pytest.raises(ValueError, match="does not divide"):
        linear.cyclic_code(15, 0o25)


def test_ideal_decoder_loss_equals_exact_conditional_entropy():
    """Monte Carlo H(M | Y) of Hamming(7,4) on the BSC(0.02) against the enumeration of all 128 received words."""
    from neuralcodes_jax.methods import progressive as prog

    cw = linear.hamming_code(3).codewords()
    p = 0.02
    ys = gf2.int_to_bits(np.arange(128), 7)
    d = (ys[:, None, :] != cw[None]).sum(-1)
    lik = p**d * (1 - p) ** (7 - d)
    exact_h = float(-(lik / 16 * np.log(lik / lik.sum(1, keepdims=True))).sum())
    spec = prog.ProgressiveSpec(n=7, k=4, training="straight_through", train_p=p)
    mean, se = prog.ideal_decoder_loss(cw, spec, jax.random.key(0), 100_000)
    assert abs(mean - exact_h) < 4 * se
    # the flip_gauss channel of progressive training adds noise: a larger conditional entropy
    spec_pg = prog.ProgressiveSpec(n=7, k=4, training="progressive", train_p=p, relax_sigma=0.4)
    assert prog.ideal_decoder_loss(cw, spec_pg, jax.random.key(0), 100_000)[0] > mean


def test_progressive_linear_encoder_codebook_is_the_rounded_linear_code():
    from neuralcodes_jax.methods import progressive as prog

    spec = prog.ProgressiveSpec(n=9, k=5, encoder="linear", message_input="bits")
    params = prog.init_params(jax.random.key(3), spec)
    book = np.asarray(prog.binary_codebook(params, spec))
    theta = np.asarray(params["encoder"]["theta"])
    np.testing.assert_array_equal(
        book, linear.LinearCode.from_generator(relaxed.generator_from_logits(theta)).codewords()
    )
    soft = np.asarray(prog.soft_codebook(params, spec))
    np.testing.assert_allclose(soft[:, :5], book[:, :5], atol=1e-5)  # systematic bits are (nearly) hard


def test_restart_chains_train_independently_and_the_best_is_kept():
    from neuralcodes_jax.methods import linear_code as lc

    many = lc.LinearCodeMethod(n=10, k=5, restarts=3, steps=30, logit_penalty=1.0)
    one = lc.LinearCodeMethod(n=10, k=5, restarts=1, steps=30, logit_penalty=1.0)
    state_many = many.init(jax.random.key(0))
    state_one = one.init(jax.random.key(1))
    state_one = dict(
        state_one,
        params={"theta": state_many["params"]["theta"][1:2]},
        opt_state=one.optimizer().init({"theta": state_many["params"]["theta"][1:2]}),
    )
    step_many, step_one = jax.jit(many.train_step), jax.jit(one.train_step)
    for i in range(30):
        state_many, _ = step_many(state_many, None, jax.random.key(i))
        state_one, _ = step_one(state_one, None, jax.random.key(i))
    np.testing.assert_allclose(state_many["params"]["theta"][1], state_one["params"]["theta"][0], rtol=1e-5, atol=1e-5)
    theta = state_many["params"]["theta"]
    values = np.asarray(many.binarized_values(theta))
    np.testing.assert_array_equal(many.generator(theta), relaxed.generator_from_logits(theta[int(values.argmin())]))


def test_soft_ml_awgn_repetition_code_matches_closed_form():
    """(3,1) repetition under soft ML: BLER = Q(sqrt(2 Eb/N0)) (rate 1/3, three unit-energy symbols)."""
    from scipy import stats

    from neuralcodes_jax.evaluators.codebook import soft_ml_awgn

    book = np.array([[0, 0, 0], [1, 1, 1]], np.uint8)
    row = soft_ml_awgn(jax.random.key(0), [book], 1, [2.0], 10**9, 200_000, 20_000)[0]
    want = stats.norm.sf(np.sqrt(2 * 10**0.2))
    got = row["codes"][0]["bler"]
    assert abs(got - want) < 4 * np.sqrt(want * (1 - want) / row["blocks"])
