"""Tests for the separation baselines: WebP payload counting, channel-bit formulas, the discrete VAE, VAE + LDPC.

The VAE checks are exact: for a tiny VAE (k = 4 latent bits, float64) the ELBO is computed by enumerating all 2^k
latents and compared with the analytic-KL form (to 1e-10) and with a Monte Carlo estimate (within 5 standard errors,
the standard error itself computed exactly); the training gradients of both estimators ('vimco' for the K-sample
bound, 'reinforce_loo' for the ELBO) are compared with the exact gradients by enumerating all K-tuples of latents.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from neuralcodes_jax import channels, nets
from neuralcodes_jax.analysis import separation, webp_ideal
from neuralcodes_jax.codes import bounds
from neuralcodes_jax.methods import vae as vae_lib


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


# ----------------------------------------------------------------------------------------------------------------
# WebP payload.


def _tiny_image(seed=0, shape=(8, 8)):
    return np.random.default_rng(seed).integers(0, 2, shape).astype(np.float32)


@pytest.mark.parametrize("kw, fourcc, header", [(dict(quality=50), "VP8 ", 10), (dict(lossless=True), "VP8L", 5)])
def test_webp_payload_bits_count_the_image_chunk_only(kw, fourcc, header):
    data = webp_ideal.webp_encode(_tiny_image(), **kw)
    chunks = webp_ideal.webp_chunks(data)
    assert [c[0] for c in chunks] == [fourcc]  # a simple file: one image chunk
    size = int.from_bytes(data[16:20], "little")  # the chunk's own size field
    assert chunks[0][2] == size
    bits = webp_ideal.webp_payload_bits(data)
    assert bits == 8 * size == 8 * (len(data) - 20 - (size & 1))  # RIFF header 12 + chunk header 8 (+ pad)
    assert webp_ideal.webp_payload_bits(data, exclude_frame_header=True) == bits - 8 * header


def test_webp_payload_bits_skip_metadata_chunks():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((_tiny_image() * 255).astype(np.uint8), "L").save(
        buf, format="WEBP", quality=50, exif=b"Exif\x00\x00" + b"x" * 40
    )
    data = buf.getvalue()
    chunks = {c[0]: c[2] for c in webp_ideal.webp_chunks(data)}
    assert "VP8X" in chunks and "EXIF" in chunks and "VP8 " in chunks
    assert webp_ideal.webp_payload_bits(data) == 8 * chunks["VP8 "] < 8 * (len(data) - 20)


def test_webp_decode_round_trip_lossless_is_exact():
    img = _tiny_image(1)
    out = webp_ideal.webp_decode(webp_ideal.webp_encode(img, lossless=True))
    np.testing.assert_array_equal(out, img)


def test_webp_bad_input_raises():
    with pytest.raises(ValueError, match="WebP file"):
        webp_ideal.webp_chunks(b"not a webp file at all")
    data = webp_ideal.webp_encode(_tiny_image(), quality=10)
    with pytest.raises(ValueError, match="truncated"):
        webp_ideal.webp_chunks(data[:-4])
    with pytest.raises(ValueError, match="quality"):
        webp_ideal.webp_encode(_tiny_image(), quality=101)
    with pytest.raises(ValueError, match="image must have shape"):
        webp_ideal.webp_encode(np.zeros((4, 4, 2)), quality=10)
    with pytest.raises(ValueError, match=r"values must be in \[0, 1\]"):
        webp_ideal.webp_encode(np.full((4, 4), 2.0), quality=10)
    with pytest.raises(ValueError, match="metric"):
        webp_ideal.image_distortion(np.zeros((1, 4)), np.zeros((1, 4)), "psnr")
    with pytest.raises(ValueError, match="scales"):
        webp_ideal.webp_sweep(np.zeros((1, 4, 4)), (10,), scales=(1.5,))


def test_webp_sweep_and_matching():
    images = np.stack([_tiny_image(s, (16, 16)) for s in range(3)])
    sweep = webp_ideal.webp_sweep(images, (0, 90), scales=(1.0, 0.5))
    assert sweep.settings == ("q0", "q90", "lossless", "q0@8x8", "q90@8x8", "lossless@8x8")
    lossless = sweep.settings.index("lossless")
    assert np.all(sweep.distortion["pixel_error_rate"][:, lossless] == 0.0)
    # Target 0: only exact settings qualify, so the answer is the cheapest exact one per image.
    b = webp_ideal.smallest_bits_at_distortion(sweep.chunk_bits, sweep.distortion["pixel_error_rate"], 0.0)
    exact = np.where(sweep.distortion["pixel_error_rate"] == 0.0, sweep.chunk_bits, np.inf).min(axis=1)
    np.testing.assert_array_equal(b, exact)


def test_smallest_bits_at_distortion_by_hand():
    bits = np.array([[100, 200, 300], [50, 60, 70]])
    dist = np.array([[0.3, 0.1, 0.0], [0.5, 0.4, 0.3]])
    np.testing.assert_array_equal(webp_ideal.smallest_bits_at_distortion(bits, dist, 0.1), [200, np.inf])
    np.testing.assert_array_equal(webp_ideal.smallest_bits_at_distortion(bits, dist, [0.3, 0.45]), [100, 60])
    assert webp_ideal.fixed_setting_bits(bits, dist, 0.25) == (130.0, 1)  # mean distortions 0.4, 0.25, 0.15
    with pytest.raises(ValueError, match="target"):
        webp_ideal.smallest_bits_at_distortion(bits, dist, [0.1, 0.2, 0.3])


# ----------------------------------------------------------------------------------------------------------------
# Channel bits.


def test_ideal_channel_bits_formula():
    eps = 0.11
    h = -eps * math.log2(eps) - (1 - eps) * math.log2(1 - eps)
    assert webp_ideal.ideal_channel_bits(1000, eps) == pytest.approx(1000 / (1 - h), rel=1e-12)
    assert webp_ideal.ideal_channel_bits(537, 0.0) == 537
    np.testing.assert_allclose(
        webp_ideal.ideal_channel_bits([100, 200], 0.2),
        np.array([100, 200]) / (1 - bounds.binary_entropy(0.2)),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match=r"eps must be in \[0, 0.5\)"):
        webp_ideal.ideal_channel_bits(100, 0.5)
    with pytest.raises(ValueError, match="payload_bits"):
        webp_ideal.ideal_channel_bits(-1, 0.1)


@pytest.mark.parametrize("eps", [0.05, 0.2])
def test_fbl_channel_bits_is_the_smallest_n(eps):
    k, pe = 200, 1e-3
    n = webp_ideal.fbl_channel_bits(k, eps, block_error=pe, bound="normal")
    assert (
        bounds.bsc_normal_approximation_log2m(n, pe, eps) >= k > bounds.bsc_normal_approximation_log2m(n - 1, pe, eps)
    )
    nc = webp_ideal.fbl_channel_bits(k, eps, block_error=pe, bound="converse")
    assert bounds.bsc_converse(nc, k, eps) <= pe < bounds.bsc_converse(nc - 1, k, eps)
    ideal = webp_ideal.ideal_channel_bits(k, eps)
    assert ideal < nc <= n  # finite length costs more than capacity; the converse is below the estimate
    assert webp_ideal.fbl_channel_bits(k, 0.0) == k
    with pytest.raises(ValueError, match="bound"):
        webp_ideal.fbl_channel_bits(k, eps, bound="rcu")
    with pytest.raises(ValueError, match="block_error"):
        webp_ideal.fbl_channel_bits(k, eps, block_error=0.0)


# ----------------------------------------------------------------------------------------------------------------
# Discrete VAE.

K_BITS, DIM, BATCH = 4, 6, 3


def _tiny_vae(num_bits=K_BITS, estimator="vimco", num_samples=2, kl_weight=1.0):
    return vae_lib.DiscreteVAE(
        kl_weight=kl_weight,
        encoder=nets.make_encoder("mlp", num_bits, hidden=(8,)),
        decoder=nets.make_decoder("mlp", (DIM,), hidden=(8,)),
        channel=channels.make_channel("bsc", 0.0),
        optimizer=optax.adam(1e-3),
        output_shape=(DIM,),
        num_samples=num_samples,
        estimator=estimator,
        encoder_l2=0.0,
    )


def _params64(method, seed=0):
    x = jnp.zeros((BATCH, DIM))
    params = method.init(jax.random.key(seed), x)["params"]
    # Larger random weights than the initializer, so the posterior is far from uniform and the test discriminates.
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(seed + 1), len(leaves))
    leaves = [jax.random.normal(k, a.shape, jnp.float64) for k, a in zip(keys, leaves)]
    return jax.tree.unflatten(tree, leaves)


def _data():
    return jnp.asarray(np.random.default_rng(0).integers(0, 2, (BATCH, DIM)), jnp.float64)


def _all_latents(num_bits):
    return jnp.asarray(np.array(list(itertools.product([0, 1], repeat=num_bits))), jnp.int32)  # [2^k, k]


@pytest.mark.slow
def test_vae_elbo_matches_exact_enumeration(x64):
    method = _tiny_vae()
    params, x = _params64(method), _data()
    z = jnp.broadcast_to(_all_latents(K_BITS)[:, None, :], (2**K_BITS, BATCH, K_BITS))
    log_w, log_q = jax.jit(method.log_weights)(params, x, z)  # [2^k, B]
    q = jnp.exp(log_q)
    np.testing.assert_allclose(np.asarray(q.sum(axis=0)), 1.0, atol=1e-12)
    exact = jnp.sum(q * log_w, axis=0)  # ELBO by enumeration, [B]
    # Analytic form: E_q[log p(x|z)] - KL(q || uniform), the KL from kl_to_uniform.
    log_lik = log_w + log_q + K_BITS * math.log(2.0)
    analytic = jnp.sum(q * log_lik, axis=0) - vae_lib.kl_to_uniform(jax.jit(method.encode)(params, x))
    np.testing.assert_allclose(np.asarray(analytic), np.asarray(exact), rtol=0, atol=1e-10)
    # Monte Carlo with S draws: within 5 exact standard errors (a false alarm has probability < 1e-6 per example).
    s = 20000
    mc = jax.jit(method.elbo_estimate, static_argnums=3)(params, x, jax.random.key(3), s)
    se = jnp.sqrt(jnp.sum(q * (log_w - exact) ** 2, axis=0) / s)
    assert np.all(np.abs(np.asarray(mc - exact)) < 5 * np.asarray(se)), (mc, exact, se)
    # The K-sample bound lies above the ELBO (Burda et al. 2016): exact value for K = 2 by enumerating pairs.
    pairs = jax.nn.logsumexp(jnp.stack(jnp.broadcast_arrays(log_w[:, None], log_w[None, :])), axis=0) - math.log(2)
    bound2 = jnp.sum(q[:, None] * q[None, :] * pairs, axis=(0, 1))
    assert np.all(np.asarray(bound2) > np.asarray(exact))


@pytest.mark.slow
@pytest.mark.parametrize("estimator, kl_weight", [("vimco", 1.0), ("reinforce_loo", 1.0), ("vimco", 0.5)])
def test_vae_training_gradient_is_exactly_unbiased(x64, estimator, kl_weight):
    num_bits, num_samples = 3, 2
    method = _tiny_vae(num_bits, estimator, num_samples, kl_weight)
    params, x = _params64(method, seed=5), _data()
    states = _all_latents(num_bits)
    tuples = jnp.asarray(np.array(list(itertools.product(range(2**num_bits), repeat=num_samples))))  # [T, K]
    z = jnp.broadcast_to(states[tuples][:, :, None, :], (tuples.shape[0], num_samples, BATCH, num_bits))

    def exact_objective(p):
        zz = jnp.broadcast_to(states[:, None, :], (2**num_bits, BATCH, num_bits))
        log_w, log_q = method.log_weights(p, x, zz)
        if estimator == "reinforce_loo":  # the ELBO (beta-weighted)
            return jnp.sum(jnp.exp(log_q) * log_w)
        lw, lq = log_w[tuples], log_q[tuples]  # [T, K, B]
        weight = jnp.exp(jnp.sum(lq, axis=1))
        return jnp.sum(weight * (jax.nn.logsumexp(lw, axis=1) - math.log(num_samples)))

    log_q = jax.jit(method.log_weights)(
        params, x, jnp.broadcast_to(states[:, None, :], (2**num_bits, BATCH, num_bits))
    )[1]
    weight = jnp.exp(jnp.sum(log_q[tuples], axis=1))  # [T, B]

    # E[grad sum_b loss_b] = sum over K-tuples t of sum_b q(t | x_b) grad loss_b(t).
    def weighted_loss(p, zt, w):
        return jnp.sum(w * method.sample_objective(p, x, zt)[0])

    grads = jax.jit(jax.vmap(jax.grad(weighted_loss), in_axes=(None, 0, 0)))(params, z, weight)
    expected = jax.tree.map(lambda a: jnp.sum(a, axis=0), grads)
    exact = jax.jit(jax.grad(lambda p: -exact_objective(p)))(params)
    for e, t in zip(jax.tree.leaves(expected), jax.tree.leaves(exact)):
        np.testing.assert_allclose(np.asarray(e), np.asarray(t), rtol=1e-9, atol=1e-10)


@pytest.mark.slow
def test_vae_loss_is_the_sampled_objective(x64):
    method = _tiny_vae(num_samples=3)
    params, x = _params64(method), _data()
    key = jax.random.key(7)
    loss, metrics = jax.jit(method.loss)(params, x, key)
    z = method.draw(key, method.encode(params, x), 3)
    per_example, objective = jax.jit(method.sample_objective)(params, x, z)
    np.testing.assert_allclose(float(loss), float(jnp.mean(per_example)), rtol=1e-12)
    np.testing.assert_allclose(float(metrics["objective"]), float(jnp.mean(objective)), rtol=1e-12)
    assert np.all(np.asarray(method.valid_loss(params, x, key)) > 0)


def test_vae_rejects_channel_noise_and_bad_configs():
    from experiments.baselines import vae as vae_config
    from neuralcodes_jax import methods

    config = vae_config.get_config("random_bits")
    assert (config.model.bits, config.separation.channel_bits) == (25, 50)
    data = methods.DataSpec((100,), True)
    assert isinstance(methods.build(config, data), vae_lib.DiscreteVAE)
    config.channel.eps = 0.1
    with pytest.raises(ValueError, match=r"channel.eps must be 0"):
        methods.build(config, data)
    config.channel.eps = 0.0
    config.vae.kl_weight = -1.0
    with pytest.raises(ValueError, match="kl_weight"):
        methods.build(config, data)
    config.vae.kl_weight = 1.0
    config.channel.name = "bec"
    with pytest.raises(ValueError, match=r"channel.name"):
        methods.build(config, data)
    with pytest.raises(ValueError, match="one dataset"):
        vae_config.get_config("omniglot,random_bits")
    for name in ("binary_mnist", "omniglot", "random_bits", "binary_mnist,smoke", "omniglot,smoke"):
        c = vae_config.get_config(name)
        assert c.separation.channel_bits == 2 * c.model.bits


# ----------------------------------------------------------------------------------------------------------------
# LDPC link and the VAE + LDPC pipeline.


def test_ldpc_link_is_systematic():
    link = separation.make_ldpc_link(50, 25)
    assert link.code.k == 25 and link.code.girth() >= 6
    z = np.random.default_rng(0).integers(0, 2, (20, 25))
    c = link.encode(z)
    assert not np.any((c.astype(int) @ link.code.parity_check.T.astype(int)) % 2)  # codewords
    np.testing.assert_array_equal(link.extract(c), z)
    with pytest.raises(ValueError, match="exceeds the code dimension"):
        separation.make_ldpc_link(50, 26)
    with pytest.raises(ValueError, match="construction"):
        separation.make_ldpc_link(50, 25, construction="random")
    with pytest.raises(ValueError, match="source_bits"):
        link.encode(z[:, :24])
    with pytest.raises(ValueError, match="eps"):
        link.decode_bsc(c, 0.7)


@pytest.mark.slow
def test_vae_ldpc_recovers_the_noiseless_reconstruction_when_bp_succeeds():
    num_bits, n = 25, 50
    method = vae_lib.DiscreteVAE(
        encoder=nets.make_encoder("mlp", num_bits, hidden=(16,)),
        decoder=nets.make_decoder("mlp", (DIM,), hidden=(16,)),
        channel=channels.make_channel("bsc", 0.0),
        optimizer=optax.adam(1e-3),
        output_shape=(DIM,),
    )
    x = np.random.default_rng(1).integers(0, 2, (256, DIM)).astype(np.float32)
    params = method.init(jax.random.key(0), x[:2])["params"]
    link = separation.make_ldpc_link(n, num_bits)
    z = separation.vae_latents(method, params, x, jax.random.key(1), "threshold")
    c = link.encode(z)
    flips = (np.random.default_rng(2).random(c.shape) < 0.03).astype(np.uint8)
    res = link.decode_bsc(c ^ flips, 0.03, compaction=None)
    ok = np.all(res["bits"] == c, axis=1)
    corrected = ok & flips.any(axis=1)
    assert corrected.sum() > 50 and (~ok).sum() >= 1  # BP corrected errors on many words, failed on some
    z_hat = link.extract(res["bits"])
    np.testing.assert_array_equal(z_hat[ok], z[ok])
    # What the decoder gets when BP fails: the hard decision at the systematic positions.
    np.testing.assert_array_equal(z_hat[~ok], res["bits"][~ok][:, link.message_positions[:num_bits]])
    clean = method.decode_float(params, jnp.asarray(z, jnp.float32))
    decoded = method.decode_float(params, jnp.asarray(z_hat, jnp.float32))
    np.testing.assert_array_equal(np.asarray(decoded)[ok], np.asarray(clean)[ok])
    # At eps = 0 the pipeline gives exactly the noiseless VAE.
    out = separation.vae_ldpc_evaluate(method, params, link, x, jax.random.key(1), (0.0,))
    assert out["rows"][0]["pixel_error_rate"] == out["noiseless"]["pixel_error_rate"]
    assert out["rows"][0]["frame_error_rate"] == 0.0
    with pytest.raises(ValueError, match="noise_levels"):
        separation.vae_ldpc_evaluate(method, params, link, x, jax.random.key(1), (0.6,))
    with pytest.raises(ValueError, match="encoder mode"):
        separation.vae_latents(method, params, x, jax.random.key(1), "mean")


def test_launcher_imports_without_defining_flags():
    from absl import flags

    import launch.baselines as baselines

    assert "task" not in flags.FLAGS
    assert baselines.TASKS == ("vae_ldpc", "webp")
