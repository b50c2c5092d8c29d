"""Tests for neuralcodes_jax.likelihoods against float64 numpy/scipy references."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

from neuralcodes_jax import likelihoods as lk


def _np_bernoulli(logits, x, event_ndim):
    """float64 reference: x log sigmoid(l) + (1-x) log(1-sigmoid(l)), exact via logaddexp."""
    logits = np.asarray(logits, np.float64)
    x = np.asarray(x, np.float64)
    log_p = -np.logaddexp(0.0, -logits)
    log_1mp = -np.logaddexp(0.0, logits)
    ll = x * log_p + (1.0 - x) * log_1mp
    return ll.sum(axis=tuple(range(ll.ndim - event_ndim, ll.ndim))) if event_ndim else ll


def _sigmoid64(z):
    return special.expit(np.asarray(z, np.float64))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(3, 4, 10)).astype(np.float32)  # [K, B, D]
    logits[0, 0, :4] = [50.0, -50.0, 100.0, -100.0]
    x_bin = rng.integers(0, 2, size=(4, 10)).astype(np.float32)  # [B, D], broadcast over K
    x_bin[0, :4] = [0.0, 1.0, 1.0, 0.0]  # worst case for the extreme logits
    x_cont = rng.uniform(size=(4, 10)).astype(np.float32)
    return logits, x_bin, x_cont


# ---------------------------------------------------------------------------------- Bernoulli


@pytest.mark.parametrize("which", ["x_bin", "x_cont"])
def test_bernoulli_matches_float64(data, which):
    logits, x_bin, x_cont = data
    x = x_bin if which == "x_bin" else x_cont
    got = np.asarray(lk.bernoulli_log_prob(logits, x))
    assert got.shape == (3, 4) and np.all(np.isfinite(got))
    want = _np_bernoulli(logits, np.broadcast_to(x, logits.shape), 1)
    # float32 sums of 10 terms of size <= 100: relative 1e-6 plus a small absolute slack
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-4)


def test_bernoulli_extreme_logits_finite_and_exact():
    logits = jnp.array([50.0, -50.0, 50.0, -50.0, 1e4, -1e4])
    x = jnp.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0])
    got = np.asarray(lk.bernoulli_log_prob(logits, x, event_ndim=0))
    want = _np_bernoulli(np.asarray(logits), np.asarray(x), 0)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got[0] > -1e-20 and got[0] <= 0.0  # log sigmoid(50) = -1.9e-22, not rounded to -inf
    grads = jax.grad(lambda lg: lk.bernoulli_log_prob(lg, x, event_ndim=0).sum())(logits)
    np.testing.assert_allclose(np.asarray(grads), np.asarray(x) - _sigmoid64(logits), atol=1e-6)


def test_bernoulli_event_ndim():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    x = rng.integers(0, 2, size=(3, 4, 5)).astype(np.float32)
    for e in (0, 1, 2, 3):
        got = np.asarray(lk.bernoulli_log_prob(logits, x, event_ndim=e))
        want = _np_bernoulli(logits, np.broadcast_to(x, logits.shape), e)
        assert got.shape == logits.shape[: 4 - e]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_bernoulli_under_jit(data):
    logits, x_bin, _ = data
    f = jax.jit(lambda lg, x: lk.bernoulli_log_prob(lg, x))
    np.testing.assert_allclose(
        np.asarray(f(logits, x_bin)),
        _np_bernoulli(logits, np.broadcast_to(x_bin, logits.shape), 1),
        rtol=1e-6,
        atol=1e-4,
    )


# ---------------------------------------------------------------------------------- Gaussian


@pytest.mark.parametrize("sigma2", [0.5, 0.1, 2.0])
def test_gaussian_matches_scipy(data, sigma2):
    logits, _, x = data
    got = np.asarray(lk.gaussian_log_prob(logits, x, sigma2=sigma2))
    mean = _sigmoid64(logits)
    want = stats.norm.logpdf(np.broadcast_to(x, logits.shape).astype(np.float64), mean, math.sqrt(sigma2)).sum(-1)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5)


def test_gaussian_half_variance_is_minus_sse(data):
    logits, _, x = data
    sse = ((np.broadcast_to(x, logits.shape) - _sigmoid64(logits)) ** 2).sum(-1)
    got = np.asarray(lk.gaussian_log_prob(logits, x, sigma2=0.5, include_constant=False))
    np.testing.assert_allclose(got, -sse, rtol=1e-6, atol=1e-6)
    with_const = np.asarray(lk.gaussian_log_prob(logits, x))  # defaults: 0.5, constant
    np.testing.assert_allclose(with_const, -sse - 0.5 * 10 * math.log(math.pi), rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(np.asarray(lk.per_image_sse(logits, x)), sse, rtol=1e-6, atol=1e-6)


def test_gaussian_image_event_and_extremes():
    pre = jnp.full((2, 4, 4, 3), 50.0).at[1].set(-50.0)
    x = jnp.ones((2, 4, 4, 3))
    got = np.asarray(lk.gaussian_log_prob(pre, x, include_constant=False, event_ndim=3))
    np.testing.assert_allclose(got, [0.0, -48.0], atol=1e-5)  # 48 pixels, error 0 or 1


# ---------------------------------------------------------------------------------- registry


def test_make_likelihood():
    assert set(lk.LIKELIHOODS) == {"bernoulli", "gaussian"}
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(2, 3, 4)).astype(np.float32)
    x = rng.uniform(size=(2, 3, 4)).astype(np.float32)
    f = lk.make_likelihood("bernoulli", event_ndim=2)
    np.testing.assert_allclose(np.asarray(f(logits, x)), _np_bernoulli(logits, x, 2), rtol=1e-6, atol=1e-5)
    g = lk.make_likelihood("gaussian", sigma2=0.5, include_constant=False)
    np.testing.assert_allclose(np.asarray(g(logits, x)), -((x - _sigmoid64(logits)) ** 2).sum(-1), rtol=1e-6, atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match=r"likelihood kind must be one of \['bernoulli'"):
        lk.make_likelihood("poisson")
    with pytest.raises(ValueError, match="unknown option"):
        lk.make_likelihood("bernoulli", sigma2=0.5)
    with pytest.raises(ValueError, match="sigma2 must be a positive"):
        lk.make_likelihood("gaussian", sigma2=0.0)
    with pytest.raises(ValueError, match="sigma2 must be a positive"):
        lk.gaussian_log_prob(jnp.zeros(3), jnp.zeros(3), sigma2=-1.0)
    with pytest.raises(ValueError, match="event_ndim must be a non-negative int"):
        lk.make_likelihood("bernoulli", event_ndim=-1)
    with pytest.raises(ValueError, match="event shapes differ"):
        lk.bernoulli_log_prob(jnp.zeros((2, 4)), jnp.zeros((2, 1)))
    with pytest.raises(ValueError, match="event_ndim=3 exceeds"):
        lk.per_pixel_mse(jnp.zeros((2, 4)), jnp.zeros((2, 4)), event_ndim=3)


# ----------------------------------------------------------------------------------- metrics


def test_metric_helpers_hand_made():
    logits = jnp.array([[0.0, 100.0, -100.0, 2.0], [-3.0, -3.0, 3.0, 3.0]])
    x = jnp.array([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.4]])
    s2, s3 = _sigmoid64(2.0), _sigmoid64(3.0)
    # BCE per pixel: -[x log p + (1-x) log(1-p)]
    bce0 = (math.log(2.0) + 0.0 + 0.0 + math.log1p(math.exp(2.0))) / 4
    sp3 = math.log1p(math.exp(-3.0))  # softplus(-3) = -log sigmoid(3)
    bce1 = (sp3 + (3.0 + sp3) + sp3 + (0.4 * sp3 + 0.6 * (3.0 + sp3))) / 4
    np.testing.assert_allclose(np.asarray(lk.per_pixel_bce(logits, x)), [bce0, bce1], rtol=1e-6)
    sq0 = [0.25, 0.0, 0.0, s2**2]
    sq1 = [(1 - s3) ** 2, s3**2, (1 - s3) ** 2, (s3 - 0.4) ** 2]
    np.testing.assert_allclose(np.asarray(lk.per_image_sse(logits, x)), [sum(sq0), sum(sq1)], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        np.asarray(lk.per_pixel_mse(logits, x)), [sum(sq0) / 4, sum(sq1) / 4], rtol=1e-6, atol=1e-7
    )
    # round(sigmoid(0)) = round(0.5) = 0 != 1: wrong; 100/-100 right; sigmoid(2) -> 1 != 0.
    # row 2: 0.047->0 vs 0 ok; 0 vs 1 wrong; 1 vs 1 ok; 1 vs round(0.4)=0 wrong.
    np.testing.assert_allclose(np.asarray(lk.pixel_error_rate(logits, x)), [0.5, 0.5])
    np.testing.assert_allclose(np.asarray(lk.decoder_mean(logits)), _sigmoid64(logits), rtol=1e-6, atol=1e-7)


def test_metrics_keep_leading_axes():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(3, 2, 4, 4)).astype(np.float32)  # [K, B, H, W]
    x = rng.integers(0, 2, size=(2, 4, 4)).astype(np.float32)
    for fn in (lk.per_pixel_bce, lk.per_pixel_mse, lk.per_image_sse, lk.pixel_error_rate):
        assert fn(logits, x, event_ndim=2).shape == (3, 2)
    np.testing.assert_allclose(
        np.asarray(lk.per_pixel_bce(logits, x, event_ndim=2)),
        -_np_bernoulli(logits, np.broadcast_to(x, logits.shape), 2) / 16,
        rtol=1e-6,
        atol=1e-6,
    )
    err = (np.round(_sigmoid64(logits)) != x).mean(axis=(2, 3))
    np.testing.assert_allclose(np.asarray(lk.pixel_error_rate(logits, x, event_ndim=2)), err)
