"""IABF / ABF: water-filling flip noise, the Eq. 25 mask, the TC discriminator, the NECST limit, reference options,
and the reproduction harness (dry run and a tiny smoke sweep)."""

import itertools
import json
import pathlib
import shlex
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import REPO_ROOT

from experiments import reproduce
from experiments.iabf import table1
from neuralcodes_jax import methods, sweeps
from neuralcodes_jax.methods import iabf, necst

SHAPE = (20,)  # small binary vectors and small MLPs keep every jit compile short


def small_config(variant="binary_mnist,iabf,smoke", **overrides):
    c = table1.get_config(variant)
    c.model.bits = 12
    c.model.encoder_kwargs = {"hidden": (32,)}
    c.model.decoder_kwargs = {"hidden": (32, 32)}
    c.iabf.disc_hidden = (32,)
    for key, value in overrides.items():
        reproduce.apply_overrides(c, {key: value})
    return c


def build(variant="binary_mnist,iabf,smoke", **overrides):
    return methods.build(small_config(variant, **overrides), methods.DataSpec(SHAPE, True))


def batch(n=16, seed=0):
    return jnp.asarray((np.random.default_rng(seed).random((n,) + SHAPE) < 0.3).astype(np.float32))


# ----------------------------------------------------------------------------------------------------------------
# Water-filling noise levels (text after Eq. 30).


def waterfill_reference(s, total):
    """Float64 iterative capping: cap the bits that exceed 1, re-share the rest, until nothing exceeds 1."""
    s = np.asarray(s, np.float64)
    capped = np.zeros(s.shape, bool)
    if total == 0:
        return np.zeros_like(s)
    if (s > 0).sum() < total:
        return np.where(s > 0, 1.0, (total - (s > 0).sum()) / (s.size - (s > 0).sum()))
    while True:
        free = ~capped
        c = (total - capped.sum()) / s[free].sum()
        eps = np.where(capped, 1.0, c * s)
        if not np.any(eps[free] > 1.0):
            return eps
        capped |= eps > 1.0


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3, 0.5])
def test_waterfill_sums_to_budget_within_bounds(eps):
    rng = np.random.default_rng(1)
    m = 40
    scores = rng.pareto(0.6, (64, m)).astype(np.float32)  # heavy tails: many rows need capping
    scores[0, :35] = 0.0  # 5 positive scores, budget up to 20: fallback
    scores[1] = 0.0  # all zero
    scores[2] = np.float32(1.0)  # flat
    scores[3, 0] = 1e6  # one dominant bit
    scores[4] = np.where(np.arange(m) < 8, 50.0, 1.0)  # ties at the capping threshold
    scores[5] = scores[5] * np.float32(1e-30)  # tiny scores (the bisection's bracket is wide)
    out = np.asarray(iabf.waterfill_noise(jnp.asarray(scores), m * eps))
    np.testing.assert_allclose(out.sum(-1), m * eps, atol=1e-4)  # float32 sums of 40 numbers <= 1
    assert out.min() >= 0.0 and out.max() <= 1.0
    for row, s in zip(out, scores):
        np.testing.assert_allclose(row, waterfill_reference(s, m * eps), atol=2e-6)
    if eps > 0:
        assert np.sum(out >= 1.0) > 10  # capping really happened
        # uncapped positive bits are proportional to their scores
        row, s = out[3], scores[3]
        free = (row < 1.0) & (s > 0)
        np.testing.assert_allclose(row[free] / s[free], (row[free] / s[free])[0], rtol=1e-5)


def test_waterfill_rejects_impossible_budget():
    with pytest.raises(ValueError, match="total"):
        iabf.waterfill_noise(jnp.ones((2, 4)), 5.0)


# ----------------------------------------------------------------------------------------------------------------
# The Eq. 25 mask.


def test_direction_mask_follows_eq25():
    y = jnp.array([0, 0, 0, 1, 1, 1], jnp.float32)
    g = jnp.array([-1.0, 0.0, 2.0, -3.0, 0.0, 0.5])
    mask = np.asarray(iabf.flip_direction_mask(y, g))
    # m = y XOR (sign(g)/2 + 1/2) where the sign is defined; no flip at g = 0
    np.testing.assert_array_equal(mask, [False, False, True, True, False, False])
    # every allowed flip increases the loss to first order: g * (y_flipped - y) > 0
    delta = np.asarray(g * (1 - 2 * y))
    assert np.all(delta[mask] > 0) and np.all(delta[~mask] <= 0)


def init_state(method, x):
    return jax.jit(method.init)(jax.random.key(0), x[:1])


@pytest.fixture(scope="module")
def paper_method():
    """IABF with the paper's options at eps 0.3, its state and a batch (shared: one set of jit compiles)."""
    method = build(**{"channel.eps": 0.3})
    x = batch()
    return method, init_state(method, x), x


@pytest.mark.slow
def test_flip_noise_is_waterfill_times_mask(paper_method):
    method, state, x = paper_method
    key = jax.random.key(5)

    @jax.jit
    def run(params):
        y = method.clean_code(method.encode(params, x), jax.random.key(1))
        eps_star, metrics = method.flip_noise(params, x, y, jax.random.key(2))
        g = method.reconstruction_gradient(params, x, y)
        one = method.reconstruction_gradient(params, x[3:4], y[3:4])
        # Eq. 30 with eps_i* = eps on every bit is NECST's noisy encoder (same samples for the same key)
        uniform = method.adversarial_reconstruction_loss(params, x, key, jnp.full((16, 12), 0.3))[0]
        return y, eps_star, metrics, g, one, uniform, method.necst_loss(params, x, key)[0]

    y, eps_star, metrics, g, one, uniform, necst_loss = run(state["params"])
    expected = iabf.waterfill_noise(jnp.abs(g), 12 * 0.3) * iabf.flip_direction_mask(y, g)
    np.testing.assert_allclose(eps_star, expected, atol=1e-6)
    assert float(jnp.max(jnp.sum(eps_star, -1))) <= 12 * 0.3 + 1e-4
    assert 0.0 < float(metrics["flip_rate"]) < 0.3
    # the gradient row of an example is that example's own gradient (per-example loss)
    np.testing.assert_allclose(g[3:4], one, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(uniform, necst_loss, rtol=1e-6)


@pytest.mark.parametrize("eps", [0.1, 0.3, 0.45])
def test_flip_budget_options_spend_what_they_promise(paper_method, eps):
    """Expected flips per code, summed exactly from each option's per-bit flip probabilities: 'paper' spends the
    masked part of an all-bit water-fill of M eps (at most M eps), 'masked' spends min(M eps, #masked) on masked
    bits only, 'on_top' gives M eps + (1 - 2 eps) x the paper's; and Monte Carlo flips (BSC(eps), then the
    adversarial flips) agree with 'on_top' (fixed key, 5 standard errors)."""
    _, state, x = paper_method
    methods_by_budget = {b: build(**{"channel.eps": eps, "iabf.flip_budget": b}) for b in iabf.FLIP_BUDGETS}
    base = methods_by_budget["paper"]

    @jax.jit
    def run(params):
        y = base.clean_code(base.encode(params, x), jax.random.key(1))
        g = base.reconstruction_gradient(params, x, y)
        out = {b: m.flip_noise(params, x, y, jax.random.key(2))[0] for b, m in methods_by_budget.items()}
        return y, g, out

    y, g, out = run(state["params"])
    m_bits = y.shape[-1]
    mask = np.asarray(iabf.flip_direction_mask(y, g))
    paper, masked, on_top = (np.asarray(out[b], np.float64) for b in ("paper", "masked", "on_top"))
    for e in (paper, masked, on_top):
        assert e.min() >= 0.0 and e.max() <= 1.0
    all_bits = np.asarray(iabf.waterfill_noise(jnp.abs(g), m_bits * eps), np.float64)
    np.testing.assert_allclose(paper.sum(-1), (all_bits * mask).sum(-1), atol=1e-5)
    assert np.all(paper.sum(-1) <= m_bits * eps + 1e-4)
    assert np.all(masked[~mask] == 0.0) and np.all(paper[~mask] == 0.0)
    np.testing.assert_allclose(masked.sum(-1), np.minimum(m_bits * eps, mask.sum(-1)), atol=1e-4)
    assert masked.sum() > paper.sum()
    np.testing.assert_allclose(on_top, eps + paper - 2 * eps * paper, atol=1e-6)
    np.testing.assert_allclose(on_top.sum(-1), m_bits * eps + (1 - 2 * eps) * paper.sum(-1), atol=1e-4)
    # Monte Carlo: BSC(eps) flips, then independent adversarial flips with probability eps_i* (paper's)
    n = 20000
    k1, k2 = jax.random.split(jax.random.key(9))
    first = np.asarray(jax.random.bernoulli(k1, eps, (n,) + paper.shape))
    second = np.asarray(jax.random.bernoulli(k2, jnp.asarray(paper, jnp.float32), (n,) + paper.shape))
    flips = (first ^ second).sum(-1)  # [n, B]
    se = flips.std(0) / np.sqrt(n)
    assert np.all(np.abs(flips.mean(0) - on_top.sum(-1)) < 5 * se + 1e-3)


def test_masked_budget_needs_the_paper_rule():
    with pytest.raises(ValueError, match=r"iabf.flip_budget='masked'.*flip_rule='paper'"):
        build(**{"iabf.flip_budget": "masked", "iabf.flip_rule": "reference"})


# ----------------------------------------------------------------------------------------------------------------
# NECST limit.


@pytest.mark.slow
def test_lambda0_without_flips_is_necst_exactly():
    config = small_config("binary_mnist,abf,smoke", **{"iabf.flip_rule": "none", "channel.eps": 0.2})
    method = methods.build(config, methods.DataSpec(SHAPE, True))
    base = necst.NECST.from_config(config, methods.DataSpec(SHAPE, True))
    x = batch(24)
    key = jax.random.key(7)
    # one program per comparison (fewer compiles): both inits, both losses and gradients, both steps
    state, ref_state = jax.jit(lambda k: (method.init(k, x[:1]), base.init(k, x[:1])))(jax.random.key(0))
    jax.tree.map(np.testing.assert_array_equal, state["params"], ref_state["params"])

    @jax.jit
    def losses_and_grads(params, disc_params):
        ours = jax.value_and_grad(method.iabf_loss, has_aux=True)(
            params, disc_params, x, key, jnp.zeros((24, 12)), None
        )
        return ours, jax.value_and_grad(base.loss, has_aux=True)(params, x, key)

    ((loss, _), grads), ((ref_loss, _), ref_grads) = losses_and_grads(state["params"], state["disc_params"])
    np.testing.assert_array_equal(loss, ref_loss)
    jax.tree.map(np.testing.assert_array_equal, grads, ref_grads)
    # and a whole step (discriminator step included) moves the parameters exactly as NECST's step does
    (s1, m1), (s2, m2) = jax.jit(lambda a, b: (method.train_step(a, x, key), base.train_step(b, x, key)))(
        state, ref_state
    )
    np.testing.assert_array_equal(m1["loss"], m2["loss"])
    jax.tree.map(np.testing.assert_array_equal, s1["params"], s2["params"])
    assert "disc_params" in s1 and "disc_opt_state" in s1


# ----------------------------------------------------------------------------------------------------------------
# Permutation and the TC discriminator (Eq. 12-14, Algorithm 1).


def test_permutation_permutes_each_column_independently():
    b, m = 64, 16
    codes = jnp.arange(b * m).reshape(b, m)
    out = np.asarray(iabf.permute_each_dimension(jax.random.key(0), codes))
    for j in range(m):
        np.testing.assert_array_equal(np.sort(out[:, j]), np.asarray(codes[:, j]))  # a permutation per column
    perms = (out - np.arange(m)) // m  # row indices used
    assert len({tuple(perms[:, j]) for j in range(m)}) == m  # different per column
    assert not np.array_equal(perms[:, 0], np.arange(b))
    # joint law of the permutations of two columns: uniform over 6 x 6 pairs for B = 3 (independent, uniform)
    keys = jax.random.split(jax.random.key(1), 7200)
    small = jnp.arange(3)[:, None] * jnp.ones((1, 2), jnp.int32)
    draws = np.asarray(jax.vmap(lambda k: iabf.permute_each_dimension(k, small))(keys))  # [N, 3, 2]
    index = {p: i for i, p in enumerate(itertools.permutations(range(3)))}
    cells = np.zeros((6, 6))
    for d in draws:
        cells[index[tuple(d[:, 0])], index[tuple(d[:, 1])]] += 1
    expected = len(draws) / 36
    chi2 = np.sum((cells - expected) ** 2 / expected)
    assert chi2 < 66.6  # chi-square, 35 degrees of freedom, p = 0.001


def chain_source(independent: bool):
    """4 bits: y1 ~ B(.5), y2 = y1 xor B(.1), y3 = y2 xor B(.2), y4 ~ B(.3) (or 4 independent bits).

    Returns (the 16 codes, their exact probabilities, analytic TC in nats) by enumeration in float64.
    """
    codes = np.array(list(itertools.product([0, 1], repeat=4)), np.float64)
    y1, y2, y3, y4 = codes.T
    if independent:
        p = np.where(y1, 0.5, 0.5) * np.where(y2, 0.2, 0.8) * np.where(y3, 0.6, 0.4) * np.where(y4, 0.3, 0.7)
    else:
        p = 0.5 * np.where(y1 == y2, 0.9, 0.1) * np.where(y2 == y3, 0.8, 0.2) * np.where(y4, 0.3, 0.7)
    marg = np.array([p[codes[:, j] == 1].sum() for j in range(4)])
    h = lambda q: -(q * np.log(q) + (1 - q) * np.log(1 - q))
    tc = h(marg).sum() + np.sum(p * np.log(p))
    return codes, p, tc


def trained_tc(method, independent: bool, steps=1000, n=512, seed=1):
    """Train the method's discriminator alone on the chain source; TC estimate averaged over the last third of
    the steps (each an exact expectation over the 16 codes), and the analytic TC."""
    _, p, tc = chain_source(independent)
    estimates = _train_discriminator(method, steps, n)(
        jnp.asarray(np.cumsum(p), jnp.float32), jnp.asarray(p, jnp.float32), jax.random.key(seed)
    )
    return float(np.mean(np.asarray(estimates)[-(steps // 3) :])), tc


_TRAINERS = {}


def _train_discriminator(method, steps, n):
    """A jitted training loop per (method, steps, n), taking the source's CDF and probabilities as arguments."""
    if (method, steps, n) in _TRAINERS:
        return _TRAINERS[method, steps, n]
    codes = jnp.asarray(list(itertools.product([0, 1], repeat=4)), jnp.float32)

    @jax.jit
    def train(cdf, p, key):
        dp = method.discriminator.init(jax.random.key(0), jnp.zeros((1, 4)))["params"]
        os = method.disc_optimizer.init(dp)

        def body(carry, key):
            dp, os = carry
            u = jax.random.uniform(jax.random.fold_in(key, 0), (n,))
            y = codes[jnp.minimum(jnp.searchsorted(cdf, u, side="right"), 15)]
            dp, os, _ = method.discriminator_update(dp, os, y, jax.random.fold_in(key, 1))
            return (dp, os), jnp.sum(p * iabf.tc_log_ratio(method.discriminator.apply({"params": dp}, codes)))

        return jax.lax.scan(body, (dp, os), jax.random.split(key, steps))[1]

    _TRAINERS[method, steps, n] = train
    return train


@pytest.mark.slow
def test_discriminator_tc_estimate_approaches_analytic_tc():
    method = build(**{"model.bits": 4, "iabf.disc_hidden": (64,), "iabf.flip_rule": "none"})
    estimate, tc = trained_tc(method, independent=False)
    assert tc == pytest.approx(0.5608, abs=1e-4)  # I(y1; y2) + I(y2; y3) = 2 ln 2 - h(.1) - h(.2)
    # Tolerance 0.03 nats (5% of TC). The estimate is an exact expectation over the 16 codes (no sampling error);
    # what remains is the bias and jitter of a finitely trained classifier on noisy per-batch permutations, which
    # was below 0.007 nats over several seeds.
    assert estimate == pytest.approx(tc, abs=0.03)
    null_estimate, null_tc = trained_tc(method, independent=True)
    assert null_tc == pytest.approx(0.0, abs=1e-12)
    assert abs(null_estimate) < 0.01
    # the reference's no-op shuffle: the discriminator compares codes with themselves and sees no correlation
    noop = build(**{"model.bits": 4, "iabf.disc_hidden": (64,), "iabf.flip_rule": "none", "iabf.disc_shuffle": "none"})
    noop_estimate, _ = trained_tc(noop, independent=False, steps=500)
    assert abs(noop_estimate) < 0.02


@pytest.mark.slow
def test_sampled_tc_gradient_is_unbiased_by_enumeration():
    """'sample': E_y[grad surrogate] = grad E_y[mean_b t(y_b)] for a fixed discriminator (B = 2, M = 2 exact)."""
    method = build(**{"model.bits": 2, "iabf.flip_rule": "none"})
    dp = method.discriminator.init(jax.random.key(3), jnp.zeros((1, 2)))["params"]
    logits = jnp.array([[0.3, -1.2], [1.5, 0.4]])
    all_y = jnp.asarray(list(itertools.product([0.0, 1.0], repeat=4))).reshape(16, 2, 2)

    def log_prob(a, y):
        return jnp.sum(y * jax.nn.log_sigmoid(a) + (1 - y) * jax.nn.log_sigmoid(-a))

    grads = jax.vmap(lambda y: jax.grad(lambda a: method.tc_term(dp, a, y)[1])(logits))(all_y)
    probs = jax.vmap(lambda y: jnp.exp(log_prob(logits, y)))(all_y)
    estimator_mean = jnp.einsum("n,nij->ij", probs, grads)

    def expected_tc(a):
        t = jax.vmap(lambda y: jnp.mean(iabf.tc_log_ratio(method.discriminator.apply({"params": dp}, y))))(all_y)
        return jnp.sum(jax.vmap(lambda y: jnp.exp(log_prob(a, y)))(all_y) * t)

    np.testing.assert_allclose(estimator_mean, jax.grad(expected_tc)(logits), rtol=1e-4, atol=1e-6)
    # 'probs' (reference): the TC term is the discriminator on p, differentiated pathwise
    probs_method = build(**{"model.bits": 2, "iabf.flip_rule": "none", "iabf.disc_input": "probs"})
    value, _objective = probs_method.tc_term(dp, logits, all_y[0])
    direct = lambda a: jnp.mean(iabf.tc_log_ratio(probs_method.discriminator.apply({"params": dp}, jax.nn.sigmoid(a))))
    np.testing.assert_allclose(value, direct(logits), rtol=1e-6)
    np.testing.assert_allclose(
        jax.grad(lambda a: probs_method.tc_term(dp, a, all_y[0])[1])(logits), jax.grad(direct)(logits), rtol=1e-5
    )


def test_code_statistics_match_formulas():
    logits = jnp.array([[2.0, -1.0, 0.0], [0.5, -3.0, 1.0], [-1.0, 2.0, 0.0]])
    p = np.asarray(jax.nn.sigmoid(logits), np.float64)
    h = lambda q: -(q * np.log(q) + (1 - q) * np.log(1 - q))
    stats = iabf.code_statistics(logits)
    np.testing.assert_allclose(stats["h_y"], h(p.mean(0)).sum(), rtol=1e-5)
    np.testing.assert_allclose(stats["h_y_given_x"], h(p).sum(1).mean(), rtol=1e-5)
    np.testing.assert_allclose(stats["mi"], h(p.mean(0)).sum() - h(p).sum(1).mean(), rtol=1e-4, atol=1e-6)
    assert float(iabf.bernoulli_entropy_from_logits(jnp.array(100.0))) >= 0.0


# ----------------------------------------------------------------------------------------------------------------
# Reference-code options.


def test_reference_selection_is_uniform_for_batch_mean_gradients():
    m, k, rows = 20, 7, 3000
    y = jnp.zeros((rows, m))
    tiny = jnp.broadcast_to(jnp.linspace(0.0, 1e-3, m), (rows, m))  # batch-mean loss gradients are tiny
    _mask, selected = iabf.reference_flip_mask(jax.random.key(0), tiny, y, k, "paper")
    assert np.all(np.asarray(selected).sum(-1) == k)
    freq = np.asarray(selected).mean(0)
    se = np.sqrt((k / m) * (1 - k / m) / rows)
    assert np.all(np.abs(freq - k / m) < 5 * se)  # every bit ~ k/M: 5 standard errors
    big = jnp.broadcast_to(jnp.linspace(0.0, 10.0, m), (rows, m))  # large gradients: softmax(g^2) peaks
    _, sel_big = iabf.reference_flip_mask(jax.random.key(0), big, y, k, "paper")
    assert np.asarray(sel_big)[:, -3:].mean() > 0.99


def test_reference_direction_ignores_the_code():
    m, k = 100, 7
    g = -jnp.ones((8, m)) - jnp.linspace(0, 1, m)  # every gradient negative
    zeros, ones = jnp.zeros((8, m)), jnp.ones((8, m))
    key = jax.random.key(4)
    ref0, sel = iabf.reference_flip_mask(key, g, zeros, k, "reference")
    ref1, _ = iabf.reference_flip_mask(key, g, ones, k, "reference")
    np.testing.assert_array_equal(ref0, ref1)  # the bit never enters the test
    assert np.asarray(ref0).sum() > 0  # 0-bits with g < 0 are flipped (bug)
    paper0, _ = iabf.reference_flip_mask(key, g, zeros, k, "paper")
    paper1, _ = iabf.reference_flip_mask(key, g, ones, k, "paper")
    assert np.asarray(paper0).sum() == 0  # Eq. 25: a 0 with g < 0 never flips
    np.testing.assert_array_equal(paper1, sel)  # a 1 with g < 0 always may


def test_reference_flip_rule_gives_hard_flips():
    method = build("binary_mnist,iabf,ref_flip,smoke", **{"channel.eps": 0.1})
    x = batch()
    state = init_state(method, x)

    @jax.jit
    def run(params):
        y = method.clean_code(method.encode(params, x), jax.random.key(1))
        return method.flip_noise(params, x, y, jax.random.key(2))

    eps_star, _ = run(state["params"])
    assert set(np.unique(np.asarray(eps_star)).tolist()) <= {0.0, 1.0}
    assert np.all(np.asarray(eps_star).sum(-1) <= 7)


def test_clean_decoder_term_trains_only_the_decoder(paper_method):
    plain, state, x = paper_method
    denw = build(**{"channel.eps": 0.3, "iabf.clean_decoder_weight": 0.1})

    @jax.jit
    def run(params, disc_params):
        y = plain.clean_code(plain.encode(params, x), jax.random.key(1))
        eps_star, _ = plain.flip_noise(params, x, y, jax.random.key(2))
        key = jax.random.key(3)
        out0 = jax.value_and_grad(plain.iabf_loss, has_aux=True)(params, disc_params, x, key, y, eps_star)
        out1 = jax.value_and_grad(denw.iabf_loss, has_aux=True)(params, disc_params, x, key, y, eps_star)
        return out0, out1

    ((l0, _), g0), ((l1, m1), g1) = run(state["params"], state["disc_params"])
    # float32 losses of ~15 nats: the difference carries ~1e-6 absolute rounding
    np.testing.assert_allclose(l1 - l0, 0.1 * m1["clean_decoder_loss"], rtol=1e-4, atol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), g0["encoder"], g1["encoder"])
    diff = jax.tree.leaves(jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))), g0["decoder"], g1["decoder"]))
    assert max(diff) > 1e-6


def test_train_step_with_reference_options_and_infomax():
    method = build("binary_mnist,iabf,ref_all,smoke", **{"channel.eps": 0.2})
    x = batch()

    @jax.jit
    def two_steps(key):
        state = method.init(key, x[:1])
        state, metrics = jax.lax.scan(lambda s, k: method.train_step(s, x, k), state, jax.random.split(key, 2))
        return state, jax.tree.map(lambda v: v[-1], metrics)

    state, metrics = two_steps(jax.random.key(0))
    for name in (
        "loss",
        "h_y_nats",
        "h_y_given_x_nats",
        "mi_nats",
        "tc_nats",
        "disc_loss",
        "flip_rate",
        "marginal_min",
        "marginal_max",
        "clean_decoder_loss",
    ):
        assert np.isfinite(float(metrics[name])), name
    assert int(state["step"]) == 2


@pytest.mark.parametrize(
    "overrides,match",
    [
        ({"iabf.flip_direction": "reference"}, "flip_direction"),
        ({"iabf.flip_rule": "gradient"}, "flip_rule"),
        ({"iabf.flip_budget": "half"}, r"iabf.flip_budget must be one of \['paper', 'masked', 'on_top'\]"),
        ({"iabf.disc_input": "logits"}, "disc_input"),
        ({"channel.name": "bec"}, "channel.name"),
        ({"iabf.infomax_weight": -0.1}, "infomax_weight"),
        ({"iabf.flip_rule": "reference", "iabf.num_flips": 13}, "num_flips"),
    ],
)
def test_bad_options_give_clear_errors(overrides, match):
    with pytest.raises(ValueError, match=match):
        build(**overrides)


# ----------------------------------------------------------------------------------------------------------------
# Configs and the reproduction harness.


def test_table1_configs_and_sweep():
    for dataset, bits in (("binary_mnist", 100), ("mnist", 100), ("omniglot", 200), ("cifar10", 500)):
        for method in ("necst", "abf", "iabf"):
            c = table1.get_config(f"{dataset},{method}")
            assert c.model.bits == bits and c.method == ("necst" if method == "necst" else "iabf")
            if method == "necst":
                assert "iabf" not in c  # NECST reads no iabf section: it would be refused
            else:
                assert c.iabf.infomax_weight == (0.0 if method == "abf" else 0.01)
            assert c.train.num_epochs == 200 and c.necst.num_samples == 5
    sweep = table1.get_sweep()
    assert len(sweep) == 4 * 4 * (1 + 1 + 3)
    lambdas = {s["iabf.infomax_weight"] for s in sweep if "iabf.infomax_weight" in s}
    assert lambdas == {0.1, 0.01, 0.001}
    assert {s["channel.eps"] for s in sweep} == {0.1, 0.2, 0.3, 0.4}
    with pytest.raises(ValueError, match="at most one"):
        table1.get_config("mnist,omniglot")


def test_reproduce_dry_run_lists_the_grid(tmp_path):
    out = reproduce.reproduce("iabf_table1", tmp_path, datasets=["binary_mnist"], dry_run=True, log=lambda s: None)
    names = [p.run.name for p in out["plans"]]
    assert len(names) == 20 and len(set(names)) == 20  # 4 NECST + 4 ABF + 4 x 3 IABF
    assert "binary_mnist/iabf/eps0.3_infomax_weight0.001" in names
    first = out["plans"][0]
    assert f"--config.eval.noise_levels=({first.run.noise!r},)" in shlex.split(first.command())  # one shell word
    pinned = reproduce.plan_runs("iabf_table1", tmp_path, datasets=["mnist"], settings=["iabf.infomax_weight=0.01"])
    assert len(pinned) == 12 and all(
        p.overrides["iabf.infomax_weight"] == 0.01 for p in pinned if p.run.method == "iabf"
    )
    assert not any("iabf.infomax_weight" in p.overrides for p in pinned if p.run.method == "abf")  # stays 0
    # an iabf.* setting reaches the ABF and IABF runs and not NECST's (which reads no iabf section); a field that
    # no run of the table has is refused
    hidden = reproduce.plan_runs("iabf_table1", tmp_path, datasets=["mnist"], settings=["iabf.disc_hidden=(16,)"])
    assert {p.run.method for p in hidden if "iabf.disc_hidden" in p.overrides} == {"abf", "iabf"}
    with pytest.raises(ValueError, match=r"unknown config field 'iabf.disc_hiden'; did you mean iabf.disc_hidden"):
        reproduce.plan_runs("iabf_table1", tmp_path, datasets=["mnist"], settings=["iabf.disc_hiden=(16,)"])
    extra = reproduce.plan_runs("iabf_table1", tmp_path, datasets=["mnist"], methods=["abf_ref"])
    assert extra[0].run.config_ref() == "experiments/iabf/table1.py:mnist,abf,ref_flip"
    fig3 = reproduce.plan_runs("necst_fig3", tmp_path)
    assert len(fig3) == 18 and {p.run.method for p in fig3} == {"necst"}
    with pytest.raises(ValueError, match="datasets"):
        reproduce.plan_runs("iabf_table1", tmp_path, datasets=["svhn"])
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "launch.reproduce",
            "--table=iabf_table1",
            f"--workdir={tmp_path}",
            "--datasets=binary_mnist",
            "--methods=necst,abf",
            "--dry_run",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert "8 run(s)" in cli.stdout


@pytest.mark.shared_data
def test_reproduce_reads_the_shared_data(tmp_path, shared_data):
    local = reproduce.plan_runs(
        "iabf_table1", tmp_path, datasets=["binary_mnist"], methods=["necst"], data_root=shared_data
    )
    assert local and all(p.overrides["data.source"] == "local" and p.data_note == "" for p in local)
    assert local[0].overrides["data.data_dir"] == str(shared_data / "binarized_mnist")


@pytest.mark.slow
def test_reproduce_smoke_sweep_writes_the_table(tmp_path):
    settings = [
        "data.name=digits",
        "model.bits=8",
        "data.limit.train=80",
        "data.limit.valid=40",
        "data.limit.test=40",
        "train.batch_size=40",
        "eval.batch_size=40",
        "train.tensorboard=False",
        "iabf.disc_hidden=(16,)",
        "iabf.infomax_weight=0.01",
        "train.num_devices=1",
    ]  # 1 device: a quicker compile than 8
    logs = []
    kwargs = dict(
        datasets=["binary_mnist"],
        methods=["necst", "iabf"],
        noise_levels=[0.1],
        budget_epochs=1,
        settings=settings,
        smoke=True,
        out=tmp_path / "report.md",
        log=logs.append,
    )
    out = reproduce.reproduce("iabf_table1", tmp_path / "wd", **kwargs)
    md = (tmp_path / "report.md").read_text()
    assert "| NECST | paper | 0.1160 |" in md and "| IABF | paper | 0.1130 |" in md
    assert md.count("| | ours − paper |") == 2  # NECST and IABF; ABF (not run): paper row only
    assert "| ABF | paper | 0.1140 |" in md
    assert "IABF − NECST (ours)" in md and "Smoke run" in md
    assert (tmp_path / "report_binary_mnist_valid.png").stat().st_size > 1000
    # the sweep's one result.json schema
    result = json.loads((tmp_path / "wd" / "binary_mnist" / "iabf" / "eps0.1" / "result.json").read_text())
    assert result["status"] == "ok" and result["budget"] == {"train.num_epochs": 1}
    assert np.isfinite(result["metrics"]["bce_per_pixel_nats@0.1"]) and result["metrics"]["train/steps"] > 0
    assert out["results"][1]["value"] == result["metrics"]["bce_per_pixel_nats@0.1"]
    metrics = (tmp_path / "wd" / "binary_mnist" / "iabf" / "eps0.1" / "metrics.jsonl").read_text()
    assert "train/tc_nats" in metrics and "train/h_y_given_x_nats" in metrics
    # a second invocation skips the finished runs
    logs.clear()
    again = reproduce.reproduce("iabf_table1", tmp_path / "wd", **kwargs)
    assert sum("[skip]" in s for s in logs) == 2
    assert [r["value"] for r in again["results"]] == [r["value"] for r in out["results"]]


# ----------------------------------------------------------------------------------------------------------------
# The IABF-vs-NECST protocol (experiments/iabf/vs_necst.py) and its report.


def test_vs_necst_sweep_plans_the_protocol(tmp_path):
    from experiments.iabf import vs_necst
    from neuralcodes_jax import sweeps

    points = sweeps.plan("experiments/iabf/vs_necst.py", tmp_path)
    names = [p.name for p in points]
    assert names[:6] == [f"iabf_lambda{lam}_eps{eps}" for eps in (0.1, 0.3) for lam in (0.1, 0.01, 0.001)]
    assert {
        "necst_eps0.1",
        "necst_eps0.3",
        "abf_eps0.1",
        "abf_eps0.3",
        "abf_masked_eps0.3",
        "abf_on_top_eps0.3",
    } <= set(names)
    for p in points:
        c = sweeps.load_config(p.config, p.override_dict)
        assert c.train.num_epochs == 100 and c.train.patience == 10
        assert tuple(c.eval.noise_levels) == (c.channel.eps,)
        assert c.num_seeds == (1 if p.name.startswith("iabf_lambda") else 3)
    configs = {p.name: sweeps.load_config(p.config, p.override_dict) for p in points}
    budgets = {name: c.iabf.flip_budget for name, c in configs.items() if c.method == "iabf"}
    assert budgets["abf_masked_eps0.3"] == "masked" and budgets["abf_on_top_eps0.3"] == "on_top"
    assert budgets["abf_eps0.3"] == "paper"
    assert "--config.iabf.infomax_weight=0.01" in vs_necst.final_command("W", 0.3, 0.01)
    with pytest.raises(ValueError, match="at most one method"):
        vs_necst.get_config("necst,abf")


@pytest.mark.parametrize("dataset, metric_bits", [("mnist", 100), ("omniglot", 200)])
def test_vs_necst_sweep_on_the_small_datasets_runs_the_whole_grid(tmp_path, dataset, metric_bits):
    from experiments.iabf import vs_necst

    # file.py:<dataset> reaches get_sweep(arg): the same protocol, every point on that dataset, the options at both
    # noise levels (the grid is small there).
    points = sweeps.plan(f"experiments/iabf/vs_necst.py:{dataset}", tmp_path)
    names = {p.name for p in points}
    assert {f"{m}_eps{e}" for m in ("abf_masked", "abf_on_top") for e in (0.1, 0.3)} <= names
    assert len(points) == 6 + 2 * 4
    for p in points:
        c = sweeps.load_config(p.config, p.override_dict)
        # Omniglot rounded to {0, 1} but scored with SSE as in the released code; MNIST is grayscale ('auto')
        assert c.data.name == dataset and c.model.bits == metric_bits
        assert c.model.likelihood == ("gaussian" if dataset == "omniglot" else "auto")
        assert c.train.num_epochs == 100 and c.train.patience == 10 and dataset in c.name
    command = vs_necst.final_command("W", 0.1, 0.001, "D", dataset, "small1")
    assert f"vs_necst.py:iabf,{dataset}" in command and "--config.data.split_scheme=small1" in command
    # The sweep's own get_sweep() without the variant is still Binary MNIST.
    assert all(
        p.config.split(":")[1] in vs_necst.METHODS for p in sweeps.plan("experiments/iabf/vs_necst.py", tmp_path / "b")
    )
    with pytest.raises(ValueError, match="at most one dataset"):
        vs_necst.get_config("necst,mnist,omniglot")


def _fake_run(root, curve, test=None, metric="bce_per_pixel_nats"):
    root.mkdir(parents=True)
    with open(root / "metrics.jsonl", "w") as f:
        for e, v in enumerate(curve, 1):
            f.write(json.dumps({"step": 500 * e, "epoch": float(e), "valid/loss": v}) + "\n")
    if test is not None:
        (root / "eval.json").write_text(json.dumps({"rows": [{"eps": 0.1, metric: test, metric + "_se": 1e-4}]}))


def test_vs_necst_report_chooses_lambda_and_compares_seeds(tmp_path):
    from experiments.iabf import vs_necst_report as rep

    # The run directories the sweep writes: a lambda point has one seed (its directory is the run's), the other
    # points three (seed<s> sub-directories).
    points = {
        p.name: p
        for p in sweeps.make_points(
            "experiments/iabf/vs_necst.py", sweeps.sweep_entries("experiments/iabf/vs_necst.py"), {}
        )
    }
    run_dirs = {name: sweeps.seed_members(p.load_config(), p.workdir(tmp_path))[1] for name, p in points.items()}
    assert [d.endswith("seed2") for d in run_dirs["necst_eps0.1"]] == [False, False, True]
    for lam, best in ((0.1, 80.0), (0.01, 79.0), (0.001, 81.0)):
        (lam_dir,) = run_dirs[f"iabf_lambda{lam}_eps0.1"]
        _fake_run(pathlib.Path(lam_dir), [90.0, best, best + 1], test=0.120 + lam)
    necst_vals, abf_vals = [0.120, 0.122, 0.121], [0.118, 0.119, 0.117]
    for s, v in enumerate(necst_vals):
        _fake_run(tmp_path / "necst_eps0.1" / f"seed{s}", [90.0, 85.0], test=v)
    for s, v in enumerate(abf_vals):
        _fake_run(tmp_path / "abf_eps0.1" / f"seed{s}", [90.0, 84.0, 84.5], test=v)
    _fake_run(tmp_path / "necst_eps0.3" / "seed0", [99.0])  # still running, no eval
    out = tmp_path / "report.md"
    out.write_text(f"# head\n\n{rep.BEGIN}\nold\n{rep.END}\n\ntail kept\n")
    body = rep.main([str(tmp_path), "--out", str(out)])
    text = out.read_text()
    assert text.startswith("# head") and "tail kept" in text and "old" not in text
    assert "chosen: 0.01" in body  # lowest best validation loss
    assert "chosen: not yet" in body  # noise 0.3: no lambda runs
    t, df = rep.welch(abf_vals, necst_vals)
    va, vb = np.var(abf_vals, ddof=1) / 3, np.var(necst_vals, ddof=1) / 3
    assert t == pytest.approx((np.mean(abf_vals) - np.mean(necst_vals)) / np.sqrt(va + vb))
    assert df == pytest.approx((va + vb) ** 2 / ((va**2 + vb**2) / 2))
    assert f"{t:.2f}" in body and "0.1180 (3)" in body
    assert "running: seed 0: epoch 1" in body
    assert "iabf_final_eps0.1" in body  # the second stage's command is printed
    # IABF so far is the chosen lambda's seed 0 only
    data = rep.collect(str(tmp_path))
    assert list(data[0.1]["iabf"]) == [0] and data[0.1]["iabf"][0]["test"] == pytest.approx(0.13)


def test_vs_necst_report_on_omniglot_reads_sse_and_the_runs_data_settings(tmp_path):
    from experiments.iabf import vs_necst_report as rep

    for s_, v in enumerate([40.0, 41.0, 42.0]):
        _fake_run(tmp_path / "necst_eps0.3" / f"seed{s_}", [50.0, 45.0], test=v, metric="sse_per_image")
    for s_, v in enumerate([38.0, 38.5, 39.0]):
        _fake_run(tmp_path / "abf_on_top_eps0.3" / f"seed{s_}", [50.0, 44.0], test=v, metric="sse_per_image")
    for lam, best in ((0.1, 44.0), (0.01, 43.0), (0.001, 45.0)):
        _fake_run(tmp_path / f"iabf_lambda{lam}_eps0.1", [50.0, best], test=40.0, metric="sse_per_image")
    (tmp_path / "necst_eps0.3" / "seed0" / "config.json").write_text(
        json.dumps({"data": {"data_dir": "D/omniglot", "split_scheme": "small1"}})
    )
    out = tmp_path / "omniglot.md"
    body = rep.main([str(tmp_path), "--dataset", "omniglot", "--out", str(out)])
    assert "test sse_per_image" in body and "Omniglot, BSC noise" not in body  # the figure's title is not text
    assert "38.00 (2), 38.50 (2), 39.00 (2)" in body and "| 41.00 | 1.00 |" in body
    assert "| 39.657 |" in body  # the paper's NECST on Omniglot at 0.3
    assert "ABF, flips on top of BSC(eps) (b)" in body and "budget over masked bits (a) | 3 seed(s) not started" in body
    # the second stage's command carries the runs' data settings
    assert "--config.data.data_dir=D/omniglot --config.data.split_scheme=small1" in body
    assert "vs_necst.py:iabf,omniglot" in body and "chosen: 0.01" in body
    # The finished runs are saved beside the report: without the run directories (a new machine) the report is the
    # same, and a run found in the workdir again counts once.
    saved = json.loads((tmp_path / "omniglot_runs.json").read_text())
    assert saved["dataset"] == "omniglot" and sorted(saved["points"]["necst_eps0.3"]) == ["0", "1", "2"]
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    assert rep.main([str(empty), "--dataset", "omniglot", "--out", str(out)]) == body.replace(str(tmp_path), str(empty))
    assert rep.main([str(tmp_path), "--dataset", "omniglot", "--out", str(out)]) == body
    with pytest.raises(ValueError, match="not 'mnist'"):
        rep.main([str(empty), "--dataset", "mnist", "--out", str(out)])
    # A workdir without finished runs and no saved runs does not overwrite an existing report.
    before = out.read_text()
    (tmp_path / "omniglot_runs.json").unlink()
    with pytest.raises(SystemExit, match=r"no finished run in .*elsewhere"):
        rep.main([str(empty), "--dataset", "omniglot", "--out", str(out)])
    assert out.read_text() == before and not (tmp_path / "omniglot_runs.json").exists()
