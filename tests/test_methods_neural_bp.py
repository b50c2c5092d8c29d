"""Neural BP (``methods/neural_bp.py``): with every weight 1 it is ``codes.ldpc.bp_decode`` (sum-product and
min-sum, both iteration layouts), its errors do not depend on the codeword sent, and it trains through the loop."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.neural_decoders import neural_bp as nbp_config
from neuralcodes_jax import methods, sweeps, train
from neuralcodes_jax.codes import bounds, ldpc

CODE = "bch:31,16"  # a built-in code: no shared data needed
ITERS = 5


def build(algorithm="sum_product", code=CODE, **model):
    c = nbp_config.get_config("smoke")
    c.code.name = code
    c.model.algorithm = algorithm
    c.model.iterations = ITERS
    for k, v in model.items():
        c.model[k] = v
    return methods.build(c, None)


def channel_llr(method, ebno_db, batch, seed, codewords=None):
    """AWGN LLRs of ``codewords`` (default all-zero) and the noise used."""
    rng = np.random.default_rng(seed)
    sigma = float(bounds.ebn0_db_to_sigma(ebno_db, method.rate))
    noise = sigma * rng.normal(size=(batch, method.n))
    c = np.zeros((batch, method.n), np.uint8) if codewords is None else codewords
    return (2.0 * ((1.0 - 2.0 * c) + noise) / sigma**2).astype(np.float32), noise, sigma


@pytest.mark.parametrize(
    "algorithm,stacked",
    [
        ("sum_product", False),
        ("sum_product", True),
        ("normalized_min_sum", False),
        pytest.param("normalized_min_sum", True, marks=pytest.mark.slow),
        pytest.param("offset_min_sum", False, marks=pytest.mark.slow),
        pytest.param("offset_min_sum", True, marks=pytest.mark.slow),
    ],
)
def test_all_ones_weights_equal_bp_decode(algorithm, stacked, monkeypatch):
    if stacked:
        monkeypatch.setattr(ldpc, "STACKED_ABOVE_DEGREE", 0)
    m = build(algorithm)
    assert m.stacked == stacked
    params = m.init_params(jax.random.key(0))
    llr, _, _ = channel_llr(m, 2.0, 256, seed=1)
    llr = llr * np.random.default_rng(2).uniform(0.5, 1.5, llr.shape).astype(np.float32)  # not only AWGN shapes
    out = np.asarray(jax.jit(m.decode_llr)(params, jnp.asarray(llr)))
    kernel = "sum_product" if algorithm == "sum_product" else "min_sum"
    ref = ldpc.bp_decode(  # the per-slot kernel whatever the threshold
        m.parity_check,
        llr,
        algorithm=kernel,
        max_iters=ITERS,
        stacked=False,
        **({} if kernel == "sum_product" else {"alpha": 1.0}),
    )
    conv = np.asarray(ref.converged)
    assert 0.2 < conv.mean() < 0.95  # both converged and unconverged words are compared
    np.testing.assert_array_equal((out < 0).astype(np.uint8), np.asarray(ref.bits))


def random_params(m, seed, lo=0.3, hi=1.7):
    rng = np.random.default_rng(seed)
    return {
        k: jnp.asarray(rng.uniform(lo, hi, v.shape), jnp.float32) for k, v in m.init_params(jax.random.key(0)).items()
    }


def first_zero_syndrome(m, posts):
    """Reference stop rule in NumPy: per word, the iteration count (1..T) of the first posterior whose hard decision
    has a zero syndrome (T when none) and the decision then (the last one when none)."""
    hard = (np.asarray(posts) < 0).astype(np.int64)  # [T, B, n]
    zero = ~((hard @ m.parity_check.T.astype(np.int64)) % 2).any(axis=-1)  # [T, B]
    t_stop = np.where(zero.any(axis=0), zero.argmax(axis=0), zero.shape[0] - 1)
    return t_stop + 1, hard[t_stop, np.arange(hard.shape[1])]


@pytest.mark.parametrize(
    "algorithm,tied,stacked",
    [
        ("sum_product", False, False),
        ("sum_product", True, True),
        ("offset_min_sum", False, False),
        pytest.param("normalized_min_sum", False, True, marks=pytest.mark.slow),
    ],
)
@pytest.mark.slow
def test_early_exit_inference_equals_full_iterations(algorithm, tied, stacked, monkeypatch):
    """decode_bits (bp_decode with the weights: per-word early exit, compaction of the active words into smaller
    tiles, each word using its own iteration's weights) gives the decisions of the full-T unrolled decoder with the
    freeze rule, on random LLRs with random weights; its iteration counts are those of the first zero syndrome of
    the unrolled posteriors, computed in NumPy."""
    if stacked:
        monkeypatch.setattr(ldpc, "STACKED_ABOVE_DEGREE", 0)
    m = build(algorithm, tied=tied)
    assert m.stacked == stacked
    params = random_params(m, 7, *((0.0, 0.6) if algorithm == "offset_min_sum" else (0.3, 1.7)))
    if algorithm == "offset_min_sum":
        params["llr"] = jnp.asarray(np.random.default_rng(8).uniform(0.5, 1.5, params["llr"].shape), jnp.float32)
    llr, _, _ = channel_llr(m, 3.0, 500, seed=9)
    llr = llr * np.random.default_rng(10).uniform(0.5, 1.5, llr.shape).astype(np.float32)
    posts, out = jax.jit(m.run)(params, jnp.asarray(llr))
    want_iters, want_bits = first_zero_syndrome(m, posts)
    np.testing.assert_array_equal(want_bits, (np.asarray(out) < 0).astype(np.int64))  # run's freeze rule
    assert len(set(want_iters.tolist())) >= 3  # words stop at different iterations
    fast = m.decode_bits(params, llr, tile=64, compaction=4)  # host input: tiles and pools of active words
    np.testing.assert_array_equal(np.asarray(fast.bits), want_bits)
    np.testing.assert_array_equal(np.asarray(fast.iterations), want_iters)
    traced = jax.jit(lambda x: m.decode_bits(params, x).bits)(jnp.asarray(llr))  # inside jit: one while loop
    np.testing.assert_array_equal(np.asarray(traced), want_bits)


def test_bad_weights_are_refused():
    m = build("sum_product")
    llr, _, _ = channel_llr(m, 3.0, 4, seed=0)
    with pytest.raises(ValueError, match=r"weights\.edge"):
        ldpc.bp_decode(m.parity_check, llr, max_iters=ITERS, weights=ldpc.BpWeights(edge=np.ones((2, 3))))
    with pytest.raises(ValueError, match="flooding"):
        ldpc.bp_decode(m.parity_check, llr, schedule="layered", weights=ldpc.BpWeights())


@pytest.mark.slow
def test_normalized_min_sum_weights_are_bp_decode_alpha():
    m = build("normalized_min_sum", llr_weights=False)
    params = jax.tree.map(lambda w: 0.75 * w, m.init_params(jax.random.key(0)))
    llr, _, _ = channel_llr(m, 2.5, 300, seed=3)
    out = np.asarray(jax.jit(m.decode_llr)(params, jnp.asarray(llr)))
    ref = ldpc.bp_decode(m.parity_check, llr, algorithm="min_sum", max_iters=ITERS, alpha=0.75)
    np.testing.assert_array_equal((out < 0).astype(np.uint8), np.asarray(ref.bits))


@pytest.mark.parametrize("algorithm", ["sum_product", "offset_min_sum"])
def test_errors_do_not_depend_on_the_codeword_sent(algorithm):
    """Decoding y of the all-zero word and (1 - 2c) y of a random codeword c (the same noise seen from c) gives the
    same error pattern, with random (not all-one) weights."""
    m = build(algorithm)
    rng = np.random.default_rng(4)
    params = jax.tree.map(
        lambda w: jnp.asarray(rng.uniform(0.3, 1.7, w.shape), jnp.float32) if w.dtype == jnp.float32 else w,
        m.init_params(jax.random.key(0)),
    )
    llr0, _, _ = channel_llr(m, 2.0, 300, seed=5)
    msgs = rng.integers(0, 2, (300, m.k)).astype(np.uint8)
    c = np.asarray(m.code.encode(jnp.asarray(msgs))).astype(np.uint8)
    llr_c = (1.0 - 2.0 * c) * llr0
    decode = m.llr_decoder(params)
    m0, w0 = (np.asarray(a) for a in jax.jit(decode)(jnp.asarray(llr0)))
    mc, wc = (np.asarray(a) for a in jax.jit(decode)(jnp.asarray(llr_c, jnp.float32)))
    assert w0.any()  # some errors at 2 dB
    np.testing.assert_array_equal(w0, wc ^ c)
    np.testing.assert_array_equal(m0, mc ^ msgs)  # message decisions too


def test_multi_loss_scores_every_iteration():
    m = build("sum_product")
    params = m.init_params(jax.random.key(0))
    llr, _, _ = channel_llr(m, 3.0, 64, seed=6)
    posts, _ = m.run(params, jnp.asarray(llr))
    want = float(np.mean(np.logaddexp(0.0, -np.asarray(posts, np.float64))))
    loss, _ = m.loss(params, jnp.asarray(llr), jax.random.key(0))
    np.testing.assert_allclose(float(loss), want, rtol=1e-5)
    assert posts.shape == (ITERS, 64, m.n)


def test_tied_weights_have_one_layer_and_bad_options_are_refused():
    m = build("sum_product", tied=True)
    p = m.init_params(jax.random.key(0))
    assert p["edge"].shape[0] == 1 and p["llr"].shape == (1, m.n)
    with pytest.raises(ValueError, match=r"model\.algorithm"):
        build("tanh")
    with pytest.raises(ValueError, match=r"model\.iterations"):
        build(iterations=0)


def test_trains_a_few_steps_through_the_loop(tmp_path):
    """The smoke config as ``launch.main`` runs it: the seeds' runs (sweeps.seed_members), train.train_group, the
    neural_decoder report."""
    config = nbp_config.get_config("smoke")
    configs, workdirs, summaries = sweeps.seed_members(config, tmp_path / "run")
    train.train_group(configs, workdirs, summaries=summaries)
    rep = json.loads((tmp_path / "run" / "neural_decoder_eval.json").read_text())
    assert rep["step"] == config.train.steps and [p["ebn0_db"] for p in rep["points"]] == [4.0, 5.0, 6.0]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["loss"]) for r in rows if "loss" in r)
