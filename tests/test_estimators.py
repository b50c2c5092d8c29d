"""Tests for neuralcodes_jax.estimators.

The central test is exact: for a toy model with m = 2 code bits, K = 3 samples and a batch of 2, all
2^(m K) = 64 joint samples per example are enumerated in float64, and the expectation of each
estimator's surrogate gradient is compared with the gradient of the exact expected objective
(to 1e-10). Deliberately biased variants are shown to fail the same comparison by a wide margin.
float64 is enabled only inside these tests (``jax.enable_x64`` context), so it does not leak into
other test modules.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from neuralcodes_jax import channels, estimators

M, K, B, D = 2, 3, 2, 3  # code bits, samples, batch, target pixels
TARGET = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])  # fixed targets x, [B, D]
CHANNEL = channels.make_channel("bsc", 0.1)
EXACT_TOL = 1e-10


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def _init_params():
    rng = np.random.default_rng(0)
    return {
        "theta": {"w": jnp.asarray(rng.normal(size=(M, D))), "b": jnp.asarray(rng.normal(size=(D,)))},
        "phi": jnp.asarray(rng.normal(size=(B, M))),  # encoder logits per example
    }


def _log_lik(theta, y):
    """Toy decoder: log Bern(TARGET | sigmoid(y W + b)), summed over pixels. y [..., B, M] -> [..., B]."""
    h = y.astype(jnp.float64) @ theta["w"] + theta["b"]
    x = jnp.asarray(TARGET)
    return jnp.sum(x * jax.nn.log_sigmoid(h) + (1 - x) * jax.nn.log_sigmoid(-h), axis=-1)


def _all_samples():
    """All joint samples y^{1:K}: [N = 2^(M K), K, B, M], the same configuration for every example."""
    configs = np.array(list(itertools.product([0, 1], repeat=K * M))).reshape(-1, K, 1, M)
    return jnp.asarray(np.broadcast_to(configs, (configs.shape[0], K, B, M)))


def _per_sample(params, y):
    """(f, log_q), each [K, N, B] for y [N, K, B, M]: K moved to the front for the estimators."""
    f = _log_lik(params["theta"], y)
    log_q = CHANNEL.log_prob(y, params["phi"])
    return jnp.moveaxis(f, 1, 0), jnp.moveaxis(log_q, 1, 0)


def _log_mean_exp(f):
    return jax.nn.logsumexp(f, axis=0) - math.log(f.shape[0])


# Exact objectives, written independently of the estimators module, [K, ...] -> [...].
OBJECTIVES = {
    "vimco": _log_mean_exp,  # NECST Eq. 6
    "vimco_reference": lambda f: -_log_mean_exp(-f),  # log harmonic mean of p_k
    "reinforce_loo": lambda f: jnp.mean(f, axis=0),  # single-sample objective
}


def _exact_objective_grad(objective, params):
    """Gradient of sum_b E_{y^{1:K} ~ q}[objective(f(y^{1:K}))] by enumeration (exact)."""
    y = _all_samples()

    def expected(p):
        f, log_q = _per_sample(p, y)
        prob = jnp.exp(jnp.sum(log_q, axis=0))  # [N, B] joint probability of the K samples
        return jnp.sum(prob * objective(f))

    return jax.grad(expected)(params)


def _expected_surrogate_grad(surrogate_fn, params):
    """sum_b E_{y^{1:K} ~ q}[grad surrogate] by enumeration (exact expectation of the estimator)."""
    y = _all_samples()

    def weighted(p):
        f, log_q = _per_sample(p, y)
        prob = lax.stop_gradient(jnp.exp(jnp.sum(log_q, axis=0)))
        return jnp.sum(prob * surrogate_fn(f, log_q))

    return jax.grad(weighted)(params)


def _max_abs_diff(a, b):
    return max(float(jnp.max(jnp.abs(x - y))) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def _max_abs(a):
    return max(float(jnp.max(jnp.abs(x))) for x in jax.tree.leaves(a))


# ------------------------------------------------------------------------------------------------------
# Exact unbiasedness.


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(estimators.ESTIMATORS))
def test_multi_sample_loss_is_exactly_unbiased(x64, name):
    """E[grad loss_to_minimise] == -grad E[objective] for every registered estimator."""
    params = _init_params()
    exact = _exact_objective_grad(OBJECTIVES[name], params)
    got = _expected_surrogate_grad(lambda f, lq: -estimators.multi_sample_loss(name, f, lq)[0], params)
    assert _max_abs(exact["phi"]) > 1e-2 and _max_abs(exact["theta"]) > 1e-2  # a non-trivial problem
    assert _max_abs_diff(got, exact) < EXACT_TOL, (name, got, exact)


@pytest.mark.parametrize(
    "name,surrogate,objective",
    [
        ("vimco", lambda f, lq: estimators.vimco(f, lq)[1], _log_mean_exp),
        # The reference minimises E[log mean exp loss]: descend its surrogate.
        ("vimco_reference", lambda f, lq: -estimators.vimco_reference(-f, lq)[1], lambda f: -_log_mean_exp(-f)),
        ("score_function", lambda f, lq: estimators.score_function(f, lq)[1], lambda f: jnp.mean(f, axis=0)),
    ],
)
def test_raw_estimators_are_exactly_unbiased(x64, name, surrogate, objective):
    params = _init_params()
    exact = _exact_objective_grad(objective, params)
    got = _expected_surrogate_grad(surrogate, params)
    assert _max_abs_diff(got, exact) < EXACT_TOL, name


# Biased variants: each must FAIL the exact comparison, which proves the test can detect bias.


def _vimco_baseline_includes_self(f, log_q):
    """L_{-k} computed with f_k replaced by the mean of ALL samples (including f_k itself)."""
    f_sg = lax.stop_gradient(f)
    n = f.shape[0]
    objective = _log_mean_exp(f_sg)
    mean_all = jnp.mean(f_sg, axis=0)
    eye = jnp.eye(n, dtype=bool).reshape((n, n) + (1,) * (f.ndim - 1))
    loo = _log_mean_exp(jnp.moveaxis(jnp.where(eye, mean_all[None, None], f_sg[None]), 1, 0))
    signal = objective[None] - loo
    return (
        objective
        + jnp.sum(jax.nn.softmax(f_sg, axis=0) * (f - f_sg), axis=0)
        + jnp.sum(signal * (log_q - lax.stop_gradient(log_q)), axis=0)
    )


def _vimco_without_stop_gradient(f, log_q):
    """The learning signal multiplies log q without stop_gradient: extra decoder-gradient terms."""
    signal = _log_mean_exp(f)[None] - estimators.leave_one_out_log_mean_exp(f)
    return _log_mean_exp(f) + jnp.sum(signal * log_q, axis=0)


def _pathwise_only(f, log_q):
    """Ignores the score-function term: the encoder gradient is missing."""
    return _log_mean_exp(f) + 0.0 * jnp.sum(log_q, axis=0)


def _reinforce_baseline_includes_self(f, log_q):
    f_sg = lax.stop_gradient(f)
    signal = f_sg - jnp.mean(f_sg, axis=0)
    return jnp.mean(f, axis=0) + jnp.mean(signal * (log_q - lax.stop_gradient(log_q)), axis=0)


@pytest.mark.parametrize(
    "name,surrogate,objective",
    [
        ("vimco baseline includes f_k", _vimco_baseline_includes_self, _log_mean_exp),
        ("vimco without stop_gradient", _vimco_without_stop_gradient, _log_mean_exp),
        ("pathwise gradient only", _pathwise_only, _log_mean_exp),
        ("reinforce baseline includes f_k", _reinforce_baseline_includes_self, lambda f: jnp.mean(f, axis=0)),
        # The public code's estimator is unbiased for its own objective, not for NECST Eq. 6.
        (
            "vimco_reference vs Eq. 6",
            lambda f, lq: -estimators.multi_sample_loss("vimco_reference", f, lq)[0],
            _log_mean_exp,
        ),
    ],
)
def test_biased_estimators_fail_the_exact_test(x64, name, surrogate, objective):
    params = _init_params()
    exact = _exact_objective_grad(objective, params)
    got = _expected_surrogate_grad(surrogate, params)
    # Bias is many orders of magnitude above EXACT_TOL (observed >= 1e-2 for every variant here).
    assert _max_abs_diff(got, exact) > 1e-3, name


# ------------------------------------------------------------------------------------------------------
# Monte Carlo check with the real sampler.


@pytest.mark.parametrize("name", ["vimco", "vimco_reference"])
def test_monte_carlo_mean_gradient_within_5_se(x64, name):
    params = _init_params()
    exact = _exact_objective_grad(OBJECTIVES[name], params)
    reps = 20_000
    y = CHANNEL.sample(jax.random.key(42), params["phi"], reps * K).reshape(reps, K, B, M)

    def replicate_loss(p, y_rep):  # y_rep [K, B, M]
        f = _log_lik(p["theta"], y_rep)
        log_q = CHANNEL.log_prob(y_rep, p["phi"])
        return jnp.sum(estimators.multi_sample_loss(name, f, log_q)[0])

    grads = jax.jit(jax.vmap(jax.grad(replicate_loss), in_axes=(None, 0)))(params, y)
    flat = np.concatenate([np.asarray(g).reshape(reps, -1) for g in jax.tree.leaves(grads)], axis=1)
    want = -np.concatenate([np.asarray(g).ravel() for g in jax.tree.leaves(exact)])
    mean = flat.mean(axis=0)
    se = flat.std(axis=0, ddof=1) / math.sqrt(reps)
    # 5 standard errors per component (13 components): a correct estimator fails with prob ~1e-5.
    assert np.all(np.abs(mean - want) <= 5 * se + 1e-12), (mean, want, se)


# ------------------------------------------------------------------------------------------------------
# Values, baselines, validation.


def test_objective_and_surrogate_values():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(5, 4, 2)) * 3 - 100
    log_q = rng.normal(size=(5, 4, 2))
    want = np.log(np.mean(np.exp(f - f.max(0)), axis=0)) + f.max(0)
    obj, sur = estimators.vimco(jnp.asarray(f, jnp.float32), jnp.asarray(log_q, jnp.float32))
    assert obj.shape == (4, 2) and sur.shape == (4, 2)
    np.testing.assert_allclose(obj, want, rtol=1e-6)
    np.testing.assert_allclose(sur, obj, rtol=1e-7)
    obj_r, sur_r = estimators.vimco_reference(jnp.asarray(-f), jnp.asarray(log_q))
    np.testing.assert_allclose(obj_r, np.log(np.mean(np.exp(-f - (-f).max(0)), axis=0)) + (-f).max(0), rtol=1e-6)
    np.testing.assert_allclose(sur_r, obj_r, rtol=1e-7)
    obj_s, sur_s = estimators.score_function(jnp.asarray(f), jnp.asarray(log_q))
    np.testing.assert_allclose(obj_s, f.mean(0), rtol=1e-6)
    np.testing.assert_allclose(sur_s, obj_s, rtol=1e-7)
    # multi_sample_loss: loss == -objective in value, and log HM <= mean log <= log mean.
    objs = {}
    for name in estimators.ESTIMATORS:
        loss, objs[name] = estimators.multi_sample_loss(name, jnp.asarray(f), jnp.asarray(log_q))
        np.testing.assert_allclose(loss, -objs[name], rtol=1e-6)
    assert np.all(objs["vimco_reference"] <= objs["reinforce_loo"] + 1e-4)
    assert np.all(objs["reinforce_loo"] <= objs["vimco"] + 1e-4)


def test_stable_for_large_magnitudes():
    f = jnp.array([[-1000.0, 50.0], [-1001.0, 80.0], [-5000.0, 20.0]], jnp.float32)
    log_q = jnp.zeros_like(f)
    obj, _sur = estimators.vimco(f, log_q)
    np.testing.assert_allclose(
        obj,
        [-1000.0 + math.log((1 + math.exp(-1)) / 3), 80.0 + math.log((math.exp(-30) + 1 + math.exp(-60)) / 3)],
        rtol=1e-6,
    )
    grads = jax.grad(lambda a, b: jnp.sum(estimators.vimco(a, b)[1]), argnums=(0, 1))(f, log_q)
    assert all(np.all(np.isfinite(g)) for g in grads)


def test_leave_one_out_baseline():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(4, 3)) * 5
    got = np.asarray(estimators.leave_one_out_log_mean_exp(jnp.asarray(f, jnp.float32)))
    for k in range(4):
        g = f.copy()
        g[k] = np.delete(f, k, axis=0).mean(axis=0)  # geometric mean in log space
        np.testing.assert_allclose(got[k], np.log(np.mean(np.exp(g), axis=0)), rtol=1e-5)
        # L_{-k} does not depend on f_k.
        h = f.copy()
        h[k] += 7.0
        np.testing.assert_allclose(
            np.asarray(estimators.leave_one_out_log_mean_exp(jnp.asarray(h, jnp.float32)))[k], got[k], rtol=1e-6
        )


def test_jit_and_vmap():
    f = jax.random.normal(jax.random.key(0), (3, 4, 2))
    log_q = jax.random.normal(jax.random.key(1), (3, 4, 2))
    jitted = jax.jit(estimators.multi_sample_loss, static_argnums=0)
    for name in estimators.ESTIMATORS:
        np.testing.assert_allclose(
            jitted(name, f, log_q)[0], estimators.multi_sample_loss(name, f, log_q)[0], rtol=1e-6
        )
    per_col = jax.vmap(lambda a, b: estimators.vimco(a, b)[0], in_axes=2, out_axes=1)(f, log_q)
    np.testing.assert_allclose(per_col, estimators.vimco(f, log_q)[0], rtol=1e-6)


def test_bad_inputs_raise():
    one = jnp.zeros((1, 4))
    for fn in (estimators.vimco, estimators.vimco_reference, estimators.score_function):
        with pytest.raises(ValueError, match="K"):
            fn(one, one)
        with pytest.raises(ValueError, match="shape"):
            fn(jnp.zeros((3, 4)), jnp.zeros((3, 5)))
    for name in estimators.ESTIMATORS:
        with pytest.raises(ValueError, match="K"):
            estimators.multi_sample_loss(name, one, one)
    with pytest.raises(ValueError, match=r"estimator must be one of \['reinforce_loo', 'vimco', 'vimco_reference'\]"):
        estimators.multi_sample_loss("nvil", jnp.zeros((3, 4)), jnp.zeros((3, 4)))
