"""Tests for neuralcodes_jax.channels: statistics with fixed keys, float64 brute force, exact enumeration.

Statistical tolerances are 5 standard errors of the estimated frequency (a false alarm rate of about
6e-7 per comparison if the implementation were right and the key random; the keys are fixed, so the
tests are deterministic).
"""

import dataclasses
import itertools
import math
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from neuralcodes_jax import channels, config_utils
from neuralcodes_jax.codes import bounds

N_BITS = 1_000_000


def _sigmoid64(a):
    return 1.0 / (1.0 + np.exp(-np.asarray(a, np.float64)))


def _within_5se(freq, prob, n):
    se = np.sqrt(np.maximum(prob * (1.0 - prob), 1e-300) / n)
    return np.abs(np.asarray(freq) - prob) <= 5.0 * se


# ------------------------------------------------------------------------------------------------------
# Plain channels.


def test_bsc_flip_rate():
    eps = 0.1
    bits = jax.random.bernoulli(jax.random.key(1), 0.5, (N_BITS,)).astype(jnp.int32)
    y = channels.bsc(jax.random.key(2), bits, eps)
    assert y.shape == bits.shape and y.dtype == bits.dtype
    assert set(np.unique(np.asarray(y))) <= {0, 1}
    flips = np.asarray(y != bits)
    bits_np = np.asarray(bits)
    for sel in (bits_np == 0, bits_np == 1, slice(None)):  # flips are symmetric in the input bit
        n = flips[sel].size
        assert _within_5se(flips[sel].mean(), eps, n), (flips[sel].mean(), eps)
    assert not np.any(np.asarray(channels.bsc(jax.random.key(3), bits, 0.0) != bits))


def test_bsc_bool_and_float_inputs():
    bits = jnp.array([True, False, True])
    assert channels.bsc(jax.random.key(0), bits, 0.0).dtype == jnp.bool_
    fbits = jnp.array([0.0, 1.0, 1.0])
    np.testing.assert_array_equal(channels.bsc(jax.random.key(0), fbits, 0.0), fbits)


def test_bec_erasure_rate():
    eps = 0.3
    bits = jax.random.bernoulli(jax.random.key(4), 0.5, (N_BITS,)).astype(jnp.int32)
    y = np.asarray(channels.bec(jax.random.key(5), bits, eps))
    assert set(np.unique(y)) == {0, 1, 2}
    erased = y == channels.ERASURE
    assert _within_5se(erased.mean(), eps, N_BITS), erased.mean()
    np.testing.assert_array_equal(y[~erased], np.asarray(bits)[~erased])  # unerased bits are exact
    assert not np.any(np.asarray(channels.bec(jax.random.key(6), bits, 0.0)) == channels.ERASURE)


def test_awgn_bpsk_statistics_and_llr():
    sigma = 0.8
    n = 200_000
    bits = jnp.concatenate([jnp.zeros(n, jnp.int32), jnp.ones(n, jnp.int32)])
    r = np.asarray(channels.awgn_bpsk(jax.random.key(7), bits, sigma), np.float64)
    for half, mean in ((r[:n], 1.0), (r[n:], -1.0)):  # mapping 0 -> +1, 1 -> -1
        assert abs(half.mean() - mean) <= 5 * sigma / math.sqrt(n)
        # Var of the sample variance of a Gaussian is 2 sigma^4 / (n - 1).
        assert abs(half.var() - sigma**2) <= 5 * math.sqrt(2 * sigma**4 / (n - 1))
    # LLR vs the float64 Gaussian likelihood ratio, positive for a 0.
    rr = np.linspace(-3, 3, 13)
    want = (-((rr - 1) ** 2) + (rr + 1) ** 2) / (2 * sigma**2)
    np.testing.assert_allclose(channels.awgn_llr(jnp.asarray(rr, jnp.float32), sigma), want, rtol=1e-5, atol=1e-5)
    assert channels.awgn_llr(jnp.float32(0.5), sigma) > 0


def test_bsc_llr():
    eps = 0.1
    llr = np.asarray(channels.bsc_llr(jnp.array([0, 1]), eps))
    np.testing.assert_allclose(llr, [math.log(0.9 / 0.1), -math.log(0.9 / 0.1)], rtol=1e-6)
    np.testing.assert_allclose(channels.bsc_llr(jnp.array([0, 1]), 0.5), [0.0, 0.0], atol=1e-7)
    assert np.all(np.isinf(np.asarray(channels.bsc_llr(jnp.array([0, 1]), 0.0))))


def test_ebn0_db_to_sigma():
    np.testing.assert_allclose(channels.ebn0_db_to_sigma(0.0, 0.5), 1.0, rtol=1e-6)
    for ebn0_db, rate in ((3.0, 0.5), (-1.0, 4 / 7), (6.0, 1.0)):
        want = math.sqrt(1.0 / (2 * rate * 10 ** (ebn0_db / 10)))
        np.testing.assert_allclose(channels.ebn0_db_to_sigma(ebn0_db, rate), want, rtol=1e-6)
    with pytest.raises(ValueError, match="rate"):
        channels.ebn0_db_to_sigma(1.0, 0.0)
    with pytest.raises(ValueError, match="rate"):
        channels.ebn0_db_to_sigma(1.0, 1.5)


# ------------------------------------------------------------------------------------------------------
# Collapsed noisy encoders vs float64 brute-force marginalisation over y_hat.


def _brute_force(logits, transition):
    """q(y) = sum_{y_hat in {0,1}} Bern(y_hat; sigmoid(a)) P(y|y_hat), float64, [..., S]."""
    p1 = _sigmoid64(logits)[..., None]
    p0 = _sigmoid64(-np.asarray(logits, np.float64))[..., None]  # not 1 - p1 (cancellation)
    return p0 * transition[0] + p1 * transition[1]


LOGITS = np.array([-30.0, -5.0, -1.3, 0.0, 0.4, 2.0, 7.0, 30.0])


@pytest.mark.parametrize("eps", [0.0, 0.05, 0.3, 0.5])
def test_bsc_collapsed_matches_brute_force(eps):
    t = np.array([[1 - eps, eps], [eps, 1 - eps]])
    want = _brute_force(LOGITS, t)
    with jax.enable_x64(True):
        log_q1, log_q0 = channels.bsc_noisy_log_probs(jnp.asarray(LOGITS, jnp.float64), eps)
        assert log_q1.dtype == jnp.float64
        np.testing.assert_allclose(np.exp(log_q1), want[:, 1], rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(np.exp(log_q0), want[:, 0], rtol=1e-12, atol=1e-300)
        noisy_logits = channels.bsc_noisy_logits(jnp.asarray(LOGITS), eps)
        np.testing.assert_allclose(noisy_logits, np.log(want[:, 1]) - np.log(want[:, 0]), rtol=1e-10, atol=1e-12)
        ch = channels.make_channel("bsc", eps)
        np.testing.assert_allclose(np.exp(ch.symbol_log_probs(jnp.asarray(LOGITS))), want, rtol=1e-12)
        # The paper's formula q = p(1 - 2 eps) + eps.
        p = _sigmoid64(LOGITS)
        np.testing.assert_allclose(np.exp(log_q1), p * (1 - 2 * eps) + eps, rtol=1e-12)
    # float32 path.
    log_q1, _ = channels.bsc_noisy_log_probs(jnp.asarray(LOGITS, jnp.float32), eps)
    np.testing.assert_allclose(np.exp(np.asarray(log_q1, np.float64)), want[:, 1], rtol=2e-6, atol=1e-30)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.6, 0.95])
def test_bec_collapsed_matches_brute_force(eps):
    t = np.array([[1 - eps, 0.0, eps], [0.0, 1 - eps, eps]])
    want = _brute_force(LOGITS, t)
    with jax.enable_x64(True):
        got = np.exp(np.asarray(channels.bec_noisy_log_probs(jnp.asarray(LOGITS, jnp.float64), eps)))
        assert got.shape == LOGITS.shape + (3,)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-12)
        ch = channels.make_channel("bec", eps)
        np.testing.assert_allclose(np.exp(ch.symbol_log_probs(jnp.asarray(LOGITS))), want, rtol=1e-12)


def test_generic_marginalisation_matches_closed_forms():
    """The transition-matrix default of BinaryInputChannel agrees with the BSC/BEC closed forms."""
    with jax.enable_x64(True):
        logits = jnp.asarray(LOGITS)
        for ch in (channels.BSC(0.0), channels.BSC(0.2), channels.BEC(0.0), channels.BEC(0.4)):
            generic = channels.BinaryInputChannel.symbol_log_probs(ch, logits)
            np.testing.assert_allclose(generic, ch.symbol_log_probs(logits), rtol=1e-12, atol=1e-12)


def test_stable_log_probs_at_extreme_logits():
    logits = jnp.array([-100.0, -80.0, -20.0, 0.0, 20.0, 80.0, 100.0], jnp.float32)
    log_q1, log_q0 = channels.bsc_noisy_log_probs(logits, 0.0)
    assert np.all(np.isfinite(log_q1)) and np.all(np.isfinite(log_q0))
    np.testing.assert_allclose(log_q1, jax.nn.log_sigmoid(logits), rtol=1e-6)
    np.testing.assert_allclose(channels.bsc_noisy_logits(logits, 0.0), logits, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(log_q0[-2], -80.0, rtol=1e-6)
    bec3 = channels.bec_noisy_log_probs(logits, 0.0)
    assert np.all(np.isfinite(bec3[:, :2])) and np.all(np.isneginf(bec3[:, 2]))
    # log_prob and its gradient stay finite for every non-erased outcome.
    for name in ("bsc", "bec"):
        ch = channels.make_channel(name, 0.0)
        for y in (jnp.zeros(logits.shape, jnp.int32), jnp.ones(logits.shape, jnp.int32)):
            value, grad = jax.value_and_grad(lambda a, ch=ch, y=y: ch.log_prob(y[None], a).sum())(logits)
            assert np.isfinite(value) and np.all(np.isfinite(grad)), (name, value, grad)


# ------------------------------------------------------------------------------------------------------
# Channel objects: sampling vs log_prob, normalisation, decoder inputs.


@pytest.mark.parametrize("name,eps", [("bsc", 0.0), ("bsc", 0.15), ("bec", 0.0), ("bec", 0.25)])
def test_sample_frequencies_match_log_prob(name, eps):
    ch = channels.make_channel(name, eps)
    logits = jnp.array([[-2.0, 0.0, 1.5], [3.0, -0.5, 0.3]], jnp.float32)  # [B=2, m=3]
    k = 100_000
    y = ch.sample(jax.random.key(11), logits, k)
    assert y.shape == (k, 2, 3) and y.dtype == jnp.int32
    y = np.asarray(y)
    probs = np.exp(np.asarray(ch.symbol_log_probs(logits), np.float64))  # [2, 3, S]
    for s in range(ch.num_symbols):
        freq = (y == s).mean(axis=0)
        assert np.all(_within_5se(freq, probs[..., s], k)), (s, freq, probs[..., s])
    assert set(np.unique(y)) <= set(range(ch.num_symbols))
    # Per-sample log_prob is the sum over bits of the per-symbol log-probabilities.
    lp = np.asarray(ch.log_prob(jnp.asarray(y[:5]), logits))
    want = np.log(
        np.take_along_axis(np.broadcast_to(probs, (5, 2, 3, ch.num_symbols)), y[:5, ..., None], axis=-1)[..., 0]
    ).sum(-1)
    np.testing.assert_allclose(lp, want, rtol=1e-5)


@pytest.mark.parametrize("name,eps", [("bsc", 0.0), ("bsc", 0.2), ("bec", 0.0), ("bec", 0.35)])
def test_log_prob_normalised_by_enumeration(name, eps):
    """sum_y q(y|x) = 1 over all 2^3 (BSC) or 3^3 (BEC) outcomes for m = 3, and equals the float64 product."""
    ch = channels.make_channel(name, eps)
    m = 3
    outcomes = np.array(list(itertools.product(range(ch.num_symbols), repeat=m)))  # [N, m]
    with jax.enable_x64(True):
        logits = jnp.asarray([[0.3, -2.0, 4.0], [-1.0, 0.0, 9.0]])  # [B=2, m]
        lp = np.asarray(ch.log_prob(jnp.asarray(outcomes)[:, None, :], logits))  # [N, B]
    np.testing.assert_allclose(np.exp(lp).sum(axis=0), 1.0, rtol=1e-12)
    per_bit = _brute_force(np.asarray(logits), ch.transition_matrix())  # [B, m, S]
    want = np.prod(np.take_along_axis(per_bit[None], outcomes[:, None, :, None], axis=-1)[..., 0], axis=-1)
    np.testing.assert_allclose(np.exp(lp), want, rtol=1e-12, atol=1e-300)


def test_decoder_input_mappings():
    y = jnp.array([0, 1, 2, 1, 0], jnp.int32)
    signed = channels.make_channel("bec", 0.1).decoder_input(y)
    assert signed.dtype == jnp.float32 and signed.shape == y.shape
    np.testing.assert_array_equal(signed, [-1.0, 1.0, 0.0, 1.0, -1.0])
    ref = channels.make_channel("bec", 0.1, erasure_input="reference").decoder_input(y)
    assert ref.dtype == jnp.float32
    np.testing.assert_array_equal(ref, [0.0, 1.0, 2.0, 1.0, 0.0])
    bits = channels.make_channel("bsc", 0.1).decoder_input(jnp.array([0, 1, 1]))
    assert bits.dtype == jnp.float32
    np.testing.assert_array_equal(bits, [0.0, 1.0, 1.0])
    assert channels.make_channel("bsc", 0.1).decoder_input(y, jnp.float16).dtype == jnp.float16


@pytest.mark.parametrize("name,eps", [("bsc", 0.12), ("bec", 0.4)])
def test_sample_hard(name, eps):
    ch = channels.make_channel(name, eps)
    bits = jax.random.bernoulli(jax.random.key(12), 0.5, (1000, 250)).astype(jnp.int32)
    y = np.asarray(ch.sample_hard(jax.random.key(13), bits))
    b = np.asarray(bits)
    assert y.shape == b.shape
    changed = y != b
    assert _within_5se(changed.mean(), eps, b.size), changed.mean()
    if name == "bec":
        assert np.all(y[changed] == channels.ERASURE)
    for bit in (0, 1):
        assert _within_5se(changed[b == bit].mean(), eps, int((b == bit).sum()))
    multi = ch.sample_hard(jax.random.key(14), bits[:3], num_samples=4)
    assert multi.shape == (4, 3, 250)
    zero = ch.noisy(0.0).sample_hard(jax.random.key(15), bits)
    np.testing.assert_array_equal(zero, bits)


def test_channels_are_static_hashable_and_jittable():
    a = channels.make_channel("bsc", 0.1)
    assert a == channels.make_channel("bsc", 0.1) and hash(a) == hash(channels.make_channel("bsc", 0.1))
    assert a != channels.make_channel("bsc", 0.2) and a != channels.make_channel("bec", 0.1)
    assert channels.make_channel("bec", 0.1) != channels.make_channel("bec", 0.1, erasure_input="reference")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.eps = 0.3

    def draw(ch, key, logits):
        return ch.sample(key, logits, 3)

    jdraw = jax.jit(draw, static_argnums=0)
    logits = jnp.zeros((2, 4))
    y = jdraw(a, jax.random.key(0), logits)
    np.testing.assert_array_equal(y, draw(a, jax.random.key(0), logits))
    keys = jax.random.split(jax.random.key(1), 5)
    assert jax.vmap(lambda k: a.sample(k, logits, 3))(keys).shape == (5, 3, 2, 4)
    b = a.noisy(0.3)
    assert isinstance(b, channels.BSC) and b.eps == 0.3 and a.eps == 0.1
    c = channels.make_channel("bec", 0.2, erasure_input="reference").noisy(0.5)
    assert c.erasure_input == "reference" and c.eps == 0.5
    with pytest.raises(ValueError, match="eps"):
        a.noisy(0.7)


# ------------------------------------------------------------------------------------------------------
# Capacities.


def test_binary_entropy_and_discrete_capacities():
    h = np.asarray(channels.binary_entropy(jnp.array([0.0, 0.11, 0.5, 1.0])))
    assert np.all(np.isfinite(h))
    want_h011 = -(0.11 * math.log2(0.11) + 0.89 * math.log2(0.89))
    np.testing.assert_allclose(h, [0.0, want_h011, 1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(channels.bsc_capacity(0.11), 1 - want_h011, atol=1e-6)
    np.testing.assert_allclose(channels.bsc_capacity(0.11), 0.5, atol=1e-3)  # the textbook C = 1/2 point
    np.testing.assert_allclose(channels.bsc_capacity(jnp.array([0.0, 0.5])), [1.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(channels.bec_capacity(0.3), 0.7, rtol=1e-6)
    assert math.isclose(channels.make_channel("bsc", 0.11).capacity, 1 - want_h011, rel_tol=1e-12)
    assert channels.make_channel("bsc", 0.0).capacity == 1.0
    assert abs(channels.make_channel("bsc", 0.5).capacity) < 1e-15
    assert math.isclose(channels.make_channel("bec", 0.3).capacity, 0.7, rel_tol=1e-12)
    # The generic Blahut-style maximisation agrees with the closed forms.
    for ch in (channels.BSC(0.11), channels.BSC(0.03), channels.BEC(0.3), channels.BEC(0.0)):
        assert math.isclose(channels.binary_input_capacity(ch.transition_matrix()), ch.capacity, abs_tol=1e-10)


def _awgn_capacity_reference(sigma):
    """Float64 fine-grid Simpson integration over n in [-30, 30] (h = 3e-4)."""
    n = np.linspace(-30.0, 30.0, 200_001)
    integrand = (
        np.logaddexp(0.0, -2.0 * (1.0 + sigma * n) / sigma**2)
        / math.log(2.0)
        * np.exp(-0.5 * n * n)
        / math.sqrt(2 * math.pi)
    )
    return 1.0 - integrate.simpson(integrand, x=n)


def test_biawgn_capacity_against_simpson():
    sigmas = np.array([0.2, 0.3, 0.45, 0.7, 1.0, 1.5, 3.0, 10.0])
    want = np.array([_awgn_capacity_reference(s) for s in sigmas])
    np.testing.assert_allclose(bounds.biawgn_capacity(sigmas), want, atol=1e-8)
    # Known anchor: the rate-1/2 binary-input AWGN Shannon limit is Eb/N0 = 0.187 dB.
    np.testing.assert_allclose(bounds.biawgn_capacity(channels.ebn0_db_to_sigma(0.187, 0.5)), 0.5, atol=2e-4)
    with pytest.raises(ValueError, match="sigma"):
        bounds.biawgn_capacity(0.0)


def test_one_function_each_in_jax_and_float64():
    """channels holds the one binary entropy, capacity and dB conversion: float64 for numbers and NumPy arrays,
    jnp (traceable) for JAX arrays; codes.bounds re-exports the same objects."""
    assert bounds.binary_entropy is channels.binary_entropy and bounds.ebn0_db_to_sigma is channels.ebn0_db_to_sigma
    p = np.array([0.01, 0.11, 0.3])
    np.testing.assert_allclose(
        np.asarray(jax.jit(channels.bsc_capacity)(jnp.asarray(p))), channels.bsc_capacity(p), atol=1e-6
    )
    assert isinstance(channels.bsc_capacity(0.11), float) and isinstance(channels.ebn0_db_to_sigma(1.0, 0.5), float)
    np.testing.assert_allclose(
        np.asarray(jax.jit(channels.ebn0_db_to_sigma)(jnp.float32(2.0), 0.5)),
        channels.ebn0_db_to_sigma(2.0, 0.5),
        rtol=1e-6,
    )
    g = jax.grad(lambda q: channels.binary_entropy(q))(jnp.float32(0.2))
    np.testing.assert_allclose(float(g), math.log2(0.8 / 0.2), rtol=1e-5)
    for bad in (-0.1, 1.1, float("nan")):
        with pytest.raises(ValueError, match="p must be in"):
            channels.binary_entropy(bad)
    with pytest.raises(ValueError, match="eps must be in"):
        channels.bsc_capacity(0.6)
    with pytest.raises(ValueError, match=r"rate must be in \(0, 1\]"):
        channels.ebn0_db_to_sigma(1.0, 0.0)
    assert channels.sigma_to_ebn0_db(channels.ebn0_db_to_sigma(3.0, 0.25), 0.25) == pytest.approx(3.0, abs=1e-12)


# ------------------------------------------------------------------------------------------------------
# Validation.


def test_bad_inputs_raise_value_error_naming_the_field():
    with pytest.raises(ValueError, match=r"eps.*\[0, 0\.5\].*0\.7"):
        channels.make_channel("bsc", 0.7)
    with pytest.raises(ValueError, match=r"eps.*-0\.1"):
        channels.make_channel("bsc", -0.1)
    with pytest.raises(ValueError, match=r"eps.*\[0, 1\)"):
        channels.make_channel("bec", 1.0)
    with pytest.raises(ValueError, match=r"eps.*-0\.1"):
        channels.make_channel("bec", -0.1)
    with pytest.raises(ValueError, match=r"channel name must be one of \['bec', 'bsc'\].*'awgn'"):
        channels.make_channel("awgn", 0.1)
    with pytest.raises(ValueError, match="erasure_input"):
        channels.make_channel("bec", 0.1, erasure_input="zero")
    with pytest.raises(ValueError, match="eps"):
        channels.make_channel("bsc", float("nan"))
    with pytest.raises(ValueError, match="eps"):
        channels.make_channel("bsc", "0.1")
    with pytest.raises(ValueError, match=r"p_flip must be in \[0, 0\.5\], got 0\.7"):
        config_utils.check_probability("p_flip", 0.7)
    assert float(config_utils.check_probability("p", np.float32(0.25))) == 0.25
    with pytest.raises(ValueError, match=r"delta must be in \(0, 1\), got 1\.0"):
        config_utils.check_probability("delta", [0.5, 1.0], 1.0, lo_open=True, hi_open=True)
    for bad in (True, "a", float("inf"), None):
        with pytest.raises(ValueError, match="q must be"):
            config_utils.check_probability("q", bad)
    with pytest.raises(ValueError, match="eps"):
        channels.bsc(jax.random.key(0), jnp.zeros(3), 0.7)
    with pytest.raises(ValueError, match="eps"):
        channels.bec(jax.random.key(0), jnp.zeros(3), 1.0)
    with pytest.raises(ValueError, match="num_samples"):
        channels.make_channel("bsc", 0.1).sample(jax.random.key(0), jnp.zeros(3), 0)


# ------------------------------------------------------------------------------------------------------
# Extensibility: a Z-channel is one class plus a registration.


@dataclasses.dataclass(frozen=True)
class _ZChannel(channels.BinaryInputChannel):
    """Z-channel: a 1 turns into a 0 with probability eps; a 0 is always received correctly."""

    name: ClassVar[str] = "z_test"
    num_symbols: ClassVar[int] = 2
    eps_max: ClassVar[float] = 1.0
    eps_max_inclusive: ClassVar[bool] = False

    def transition_matrix(self):
        return np.array([[1.0, 0.0], [self.eps, 1.0 - self.eps]])


def test_new_channel_by_one_class_and_registration():
    channels.register_channel(_ZChannel)
    try:
        ch = channels.make_channel("z_test", 0.2, erasure_input="reference")  # option ignored, not an error
        assert isinstance(ch, _ZChannel)
        with jax.enable_x64(True):
            logits = jnp.asarray([[0.5, -1.0, 3.0]])
            outcomes = jnp.asarray(list(itertools.product(range(2), repeat=3)))[:, None, :]
            lp = np.asarray(ch.log_prob(outcomes, logits))
        np.testing.assert_allclose(np.exp(lp).sum(0), 1.0, rtol=1e-12)
        p1 = _sigmoid64([0.5, -1.0, 3.0])
        np.testing.assert_allclose(np.exp(lp[-1, 0]), np.prod(p1 * 0.8), rtol=1e-12)  # y = 111
        y = np.asarray(ch.sample(jax.random.key(21), jnp.asarray([1.0]), 100_000))
        q1 = 0.8 * _sigmoid64(1.0)
        assert _within_5se(y.mean(), q1, y.size)
        # Z-channel capacity closed form: log2(1 + (1 - e) e^(e / (1 - e))).
        e = 0.2
        assert math.isclose(ch.capacity, math.log2(1 + (1 - e) * e ** (e / (1 - e))), abs_tol=1e-10)
        # Impossible symbol (y = 1 at eps = 1 is excluded, so use eps = 0: P(y=1 | y_hat = 0) = 0) keeps
        # gradients finite.
        grad = jax.grad(lambda a: ch.noisy(0.0).log_prob(jnp.array([[0, 1, 0]]), a).sum())(jnp.zeros(3))
        assert np.all(np.isfinite(grad))
    finally:
        channels.CHANNELS.pop("z_test", None)
    with pytest.raises(ValueError, match="z_test"):
        channels.make_channel("z_test", 0.2)


def test_traced_noise_and_test_grid_follow_the_channel_class():
    """BSC and BEC take a traced noise level inside a vmapped step (their log-probs equal the Python-float ones);
    a channel whose generic ops need a float (the Z channel above) refuses it by name; the evaluator's test grid
    is checked against the class's range."""
    from neuralcodes_jax.evaluators import distortion

    logits = jnp.asarray([[0.5, -1.0, 3.0]])
    y = jnp.asarray([[1, 0, 1]])
    for name in ("bsc", "bec"):
        ch = channels.make_channel(name, 0.3)
        traced = jax.jit(lambda e, ch=ch: ch.with_traced_eps(e).log_prob(y, logits))(jnp.float32(0.3))
        np.testing.assert_allclose(traced, ch.log_prob(y, logits), rtol=1e-6)
    with pytest.raises(ValueError, match="channel 'z_test' cannot take its noise level as a traced value"):
        _ZChannel(0.2).with_traced_eps(jnp.float32(0.2))
    assert distortion.check_noise_levels((0.0, 0.9), channels.make_channel("bec", 0.1)) == [0.0, 0.9]
    with pytest.raises(ValueError, match=r"eval.noise_levels entries must be in \[0, 0.5\]"):
        distortion.check_noise_levels((0.0, 0.9), channels.make_channel("bsc", 0.1))
