"""ECCT (nets/ecct.py, methods/ecct.py, experiments/neural_decoders/ecct.py, benchmarks/ecct_gpu.sh).

References: a loop port of the public code's mask rule (``Model.py: get_mask``), a float64 NumPy forward pass
written from the public code's modules, the BCE of the public code's loss, and the code's own codewords for the
invariance check.
"""

from __future__ import annotations

import json
import os
import subprocess

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.neural_decoders import ecct as ecct_config
from neuralcodes_jax import methods
from neuralcodes_jax.nets import ecct as ecct_net

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HAMMING_7_4 = np.array([[1, 1, 0, 1, 1, 0, 0], [1, 0, 1, 1, 0, 1, 0], [0, 1, 1, 1, 0, 0, 1]], np.uint8)


def public_code_mask(h: np.ndarray) -> np.ndarray:
    """The public code's ``build_mask`` loop, verbatim in NumPy: True where attention is allowed."""
    m, n = h.shape
    mask = np.eye(n + m)
    for ii in range(m):
        idx = np.where(h[ii] > 0)[0]
        for jj in idx:
            for kk in idx:
                if jj != kk:
                    mask[jj, kk] += 1
                    mask[kk, jj] += 1
                    mask[n + ii, jj] += 1
                    mask[jj, n + ii] += 1
    return mask > 0


def random_parity_check(rng, m: int, n: int) -> np.ndarray:
    """A random ``[m, n]`` 0/1 matrix with every row of weight >= 2."""
    while True:
        h = (rng.random((m, n)) < 0.3).astype(np.uint8)
        if np.all(h.sum(1) >= 2):
            return h


# ------------------------------------------------------------------------------------------------------ the mask
def test_mask_matches_parity_check_blocks():
    h = HAMMING_7_4
    m, n = h.shape
    mask = ecct_net.ecct_mask(h)
    assert mask.shape == (n + m, n + m) and mask.dtype == bool
    np.testing.assert_array_equal(mask[n:, :n], h.astype(bool))  # check j sees bit i iff H[j, i]
    np.testing.assert_array_equal(mask[:n, n:], h.T.astype(bool))
    np.testing.assert_array_equal(mask[n:, n:], np.eye(m, dtype=bool))  # checks see only themselves
    for i in range(n):  # bits: share a check, or the same bit
        for j in range(n):
            assert mask[i, j] == (i == j or bool(np.any(h[:, i] & h[:, j])))
    assert np.array_equal(mask, mask.T)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mask_equals_public_code_rule(seed):
    rng = np.random.default_rng(seed)
    for h in (HAMMING_7_4, random_parity_check(rng, 5, 12), random_parity_check(rng, 9, 16)):
        np.testing.assert_array_equal(ecct_net.ecct_mask(h), public_code_mask(h))


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.array([1, 0, 1]), "2-D"),
        (np.array([[1, 2, 0], [0, 1, 1]]), "0 or 1"),
        (np.ones((3, 3), np.uint8), "fewer rows"),
    ],
)
def test_mask_refuses_bad_matrices(bad, words):
    with pytest.raises(ValueError, match="parity_check") as err:
        ecct_net.ecct_mask(bad)
    assert words in str(err.value)


# ------------------------------------------------------------------------------------------------- the network
def _layer_norm(x, p, eps=ecct_net.LAYER_NORM_EPS):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * p["scale"] + p["bias"]


def _linear(x, p):
    return x @ np.asarray(p["kernel"], np.float64) + np.asarray(p["bias"], np.float64)


def _gelu(x):
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def reference_forward(params, h, magnitude, syndrome, num_layers, num_heads):
    """The public code's ``ECC_Transformer.forward`` in float64 NumPy (pre-norm sublayers, the middle norm after
    layer N // 2, the final norm, the two output maps), from this package's parameters."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    blocked = ~public_code_mask(h)
    x = np.concatenate([magnitude, 1.0 - 2.0 * syndrome], -1)[:, :, None] * p["src_embed"][None]
    b, length, d = x.shape
    dk = d // num_heads
    for layer in range(num_layers):
        a = p[f"layer{layer}_attn"]
        y = _layer_norm(x, p[f"layer{layer}_norm_attn"])
        q, k, v = (
            _linear(y, a[w]).reshape(b, length, num_heads, dk).transpose(0, 2, 1, 3) for w in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dk)
        scores = np.where(blocked, -1e9, scores)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attn = scores / scores.sum(-1, keepdims=True)
        x = x + _linear((attn @ v).transpose(0, 2, 1, 3).reshape(b, length, d), a["out"])
        y = _layer_norm(x, p[f"layer{layer}_norm_ff"])
        x = x + _linear(_gelu(_linear(y, p[f"layer{layer}_ff1"])), p[f"layer{layer}_ff2"])
        if layer + 1 == num_layers // 2 and num_layers > 1:
            x = _layer_norm(x, p["middle_norm"])
    x = _layer_norm(x, p["final_norm"])
    return _linear(_linear(x, p["node_out"])[..., 0], p["bit_out"])


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_network_matches_float64_reference(num_layers):
    rng = np.random.default_rng(num_layers)
    h = random_parity_check(rng, 5, 11)
    net = ecct_net.ECCT(tuple(map(tuple, h.tolist())), num_layers=num_layers, d_model=16, num_heads=4)
    y = rng.normal(1.0, 0.8, (6, 11)).astype(np.float32)
    mag, syn = ecct_net.ecct_inputs(jnp.asarray(y), h)
    np.testing.assert_array_equal(np.asarray(syn), (((y < 0).astype(int) @ h.T) % 2))
    params = net.init(jax.random.key(num_layers), mag, syn)["params"]
    assert "middle_norm" in params if num_layers > 1 else "middle_norm" not in params
    got = np.asarray(net.apply({"params": params}, mag, syn), np.float64)
    want = reference_forward(params, h, np.abs(y).astype(np.float64), np.asarray(syn, np.float64), num_layers, 4)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4)


def test_network_refuses_bad_sizes():
    h = tuple(map(tuple, HAMMING_7_4.tolist()))
    with pytest.raises(ValueError, match="num_heads"):
        ecct_net.ECCT(h, 1, 12, 8).init(jax.random.key(0), jnp.ones((1, 7)), jnp.zeros((1, 3)))
    with pytest.raises(ValueError, match="syndrome"):
        ecct_net.ECCT(h, 1, 16, 4).init(jax.random.key(0), jnp.ones((1, 7)), jnp.zeros((1, 4)))


# --------------------------------------------------------------------------------------------------- the method
def _method(code="bch:15,7", **over):
    c = ecct_config.get_config("small,smoke")
    c.code.name = code
    for k, v in over.items():
        section, field = k.split(".")
        c[section][field] = v
    return methods.build(c, None)


@pytest.fixture(scope="module")
def bch15():
    m = _method()
    return m, m.init(jax.random.key(3))["params"]


def test_codeword_invariance(bch15):
    """Decoding y (all-zero word) and (1 - 2c) y (codeword c, the same noise) gives the same error pattern."""
    method, params = bch15
    n, k = method.n, method.k
    key_m, key_z = jax.random.split(jax.random.key(7))
    msgs = jax.random.bernoulli(key_m, 0.5, (256, k)).astype(jnp.uint8)
    c = np.asarray(method.code.encode(msgs), np.uint8)
    assert c.any(axis=1).sum() > 200  # mostly nonzero codewords
    sigma = 0.8
    y = 1.0 + sigma * np.asarray(jax.random.normal(key_z, (256, n)))
    decode = jax.jit(method.llr_decoder(params))
    _, bits0 = decode(jnp.asarray(2 * y / sigma**2, jnp.float32))
    _, bits_c = decode(jnp.asarray(2 * (1.0 - 2.0 * c) * y / sigma**2, jnp.float32))
    errors0, errors_c = np.asarray(bits0), np.asarray(bits_c) ^ c
    assert errors0.any()  # an untrained decoder errs
    np.testing.assert_array_equal(errors0, errors_c)


def test_loss_is_public_code_bce(bch15):
    """The shared loss softplus(-z sign(L)) equals the public code's BCE(-z_hat, bin(sign(z_s))) on y = L."""
    method, params = bch15
    llr = method.training_llr(jax.random.key(1), 64)
    loss, _ = method.loss(params, llr, jax.random.key(2))
    z = np.asarray(method.noise_estimate(params, llr), np.float64)
    target = (np.asarray(llr) < 0).astype(np.float64)  # bin(sign(y x_s)), x_s = +1
    logits = -z
    bce = np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
    np.testing.assert_allclose(float(loss), bce.mean(), rtol=1e-5)


def test_magnitude_scale_and_schedule(bch15):
    method, _ = bch15
    sigma_mid = np.sqrt(0.5 / ((7 / 15) * 10 ** (4.5 / 10)))
    assert method.magnitude_scale == pytest.approx(sigma_mid**2 / 2, rel=1e-6)
    assert _method(**{"model.llr_scale": 0.5}).magnitude_scale == 0.5
    lr = _method(**{"train.steps": 100}).learning_rate()
    assert float(lr(0)) == pytest.approx(1e-4) and float(lr(100)) == pytest.approx(1e-6, rel=1e-3)


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("model.num_heads", 5, "model.num_heads"),
        ("model.num_layers", 0, "model.num_layers"),
        ("model.llr_scale", -1.0, "model.llr_scale"),
        ("train.lr_min", 1.0, "train.lr_min"),
        ("code.name", "BCH_N7_K99", "code.name"),
    ],
)
def test_bad_config_values_are_named(field, value, words):
    with pytest.raises(ValueError, match=words):
        _method(**{field: value})


def test_config_variants():
    c = ecct_config.get_config("n6_d128,POLAR_N64_K32")
    assert (c.model.num_layers, c.model.d_model, c.code.name) == (6, 128, "POLAR_N64_K32")
    assert c.train.steps == 1_000_000 and c.train.batch_size == 128 and c.train.lr == 1e-4
    assert ecct_config.get_config("small,budget").train.steps == ecct_config.BUDGET_STEPS
    with pytest.raises(ValueError, match="variant"):
        ecct_config.get_config("small,n6_d32")
    with pytest.raises(ValueError, match="variant"):
        ecct_config.get_config("tiny")


# ------------------------------------------------------------------------ the GPU script, a few steps on CPU
@pytest.mark.slow
def test_gpu_script_trains_a_few_steps_through_launch_main(tmp_path):
    """benchmarks/ecct_gpu.sh with its published config, cut to 4 steps on a built-in code: launch.main trains,
    checkpoints and evaluates; a second call finds the run done."""
    script = os.path.join(ROOT, "benchmarks", "ecct_gpu.sh")
    env = {**os.environ, "ECCT_CODES": "bch:15,7", "ECCT_SIZES": "small", "JAX_PLATFORMS": "cpu"}
    extra = [
        "--config.train.steps=4",
        "--config.train.batch_size=8",
        "--config.train.steps_per_call=2",
        "--config.train.checkpoint_every_steps=2",
        "--config.train.progress=False",
        "--config.train.tensorboard=False",
        "--config.eval.batch_size=100",
        "--config.eval.target_block_errors=2",
        "--config.eval.max_blocks=100",
    ]
    out = subprocess.run(
        ["bash", script, str(tmp_path), *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    run = tmp_path / "small" / "bch_15_7"
    report = json.loads((run / "neural_decoder_eval.json").read_text())
    assert report["step"] == 4 and [p["ebn0_db"] for p in report["points"]] == [4.0, 5.0, 6.0]
    assert sorted(os.listdir(run / "checkpoints" / "latest")) == ["2", "4"]
    again = subprocess.run(
        ["bash", script, str(tmp_path), *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0 and "done" in again.stdout
