"""Learned binary codes (neuralcodes_jax.methods.progressive) trained by the one loop, and the codebook evaluator.

Training runs are tiny (a few dozen steps of small networks): the tests check plumbing and exact invariants
(frozen encoder in stage 2, a group equal to its runs one by one, a preempted group resuming exactly, exact report
values), not code quality. Most training compiles are shared through one module-scoped smoke run.
"""

import json
import os
import pathlib
import signal

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.progressive import hamming_7_4, longer
from neuralcodes_jax import config_utils, methods, metrics_writer, sweeps, train
from neuralcodes_jax.codes import exact, gf2, linear
from neuralcodes_jax.evaluators import codebook as cbe
from neuralcodes_jax.methods import progressive as prog

HAMMING = linear.hamming_code(3).codewords()


def _smoke_config(**overrides):
    c = hamming_7_4.get_config("smoke")
    c.model.encoder_hidden = (8,)
    c.model.decoder_hidden = (16,)
    c.train.stage1_steps = 40
    c.train.stage2_steps = 300  # long enough for stage 2 to train the decoder on the hard code
    c.train.stage2_lr = 1e-2
    c.train.batch_size = 32
    c.train.steps_per_call = 20
    c.train.checkpoint_every_steps = 100
    c.train.log_every_steps = 20
    c.train.num_devices = 2
    config_utils.apply_overrides(c, overrides)
    return c


def _run(config, workdir, **kw):
    configs, workdirs, summaries = sweeps.seed_members(config, workdir)
    return train.train_group(configs, workdirs, summaries=summaries, **kw)


def _point(tree, i):
    return jax.tree.map(lambda a: np.asarray(a)[i], tree)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("progressive"))
    config = _smoke_config()
    out = _run(config, workdir)
    return config, workdir, out


def _scrambled_hamming(seed):
    """Hamming(7,4) codewords, columns permuted, translated by a nonzero word, rows (messages) shuffled."""
    rng = np.random.default_rng(seed)
    t = np.zeros(7, np.uint8)
    t[rng.integers(7)] = 1
    return (HAMMING[:, rng.permutation(7)] ^ t)[rng.permutation(16)]


# ------------------------------------------------------------------------------------------ report
def test_smoke_report_structure(smoke):
    config, workdir, out = smoke
    for name in ("codebook_summary.json", "bler_vs_p.png", "summary.md", "result_metrics.json"):
        assert os.path.getsize(os.path.join(workdir, name)) > 0
    with open(os.path.join(workdir, "codebook_summary.json")) as f:
        on_disk = json.load(f)
    assert set(on_disk["trainings"]) == {"progressive"}
    grid = list(config.eval.p_grid)
    assert on_disk["p_grid"] == grid
    refs = on_disk["references"]
    assert refs["reference_name"] == "Hamming(7,4)" and len(refs["converse_bler"]) == len(grid)
    # Hamming(7,4) is perfect: its ML BLER is the converse (coding-anchors Sec. 2.5).
    np.testing.assert_allclose(refs["reference_bler"]["values"], refs["converse_bler"], rtol=1e-9)
    entry = on_disk["trainings"]["progressive"]
    assert len(entry["seeds"]) == config.num_seeds
    for i, s in enumerate(entry["seeds"]):
        # Each seed's own directory holds its report (the same as the summary's copy), checkpoints and metrics.
        seed_dir = os.path.join(workdir, f"seed{config.seed + i}")
        assert json.loads(pathlib.Path(os.path.join(seed_dir, "codebook_report.json")).read_text()) == s
        assert sorted(os.listdir(os.path.join(seed_dir, "checkpoints", "latest"))) == ["240", "340"]
        assert s["seed"] == config.seed + i and s["step"] == 340
        assert len(s["codewords"]) == 16 and all(len(w) == 7 and set(w) <= {"0", "1"} for w in s["codewords"])
        for key in (
            "minimum_distance",
            "distance_spectrum",
            "is_linear",
            "is_coset_of_linear",
            "equivalent_to",
            "equivalence",
            "is_perfect",
        ):
            assert key in s
        for block in (s["ml"], s["neural_decoder"]):
            assert len(block["bler"]["values"]) == len(grid) and len(block["ber"]["values"]) == len(grid)
        # The stored polynomial reproduces the stored values and the codewords' exact ML BLER.
        bits = np.array([[int(ch) for ch in w] for w in s["codewords"]], np.uint8)
        ml = exact.ml_bler_bsc(bits, allow_repeated=True)
        np.testing.assert_allclose(ml(np.asarray(grid)), s["ml"]["bler"]["values"], rtol=1e-12)
        assert ml.to_dict() == s["ml"]["bler"]["polynomial"]
        # The codewords are the final encoder's thresholded logits.
        spec = prog.spec_from_config(config)
        np.testing.assert_array_equal(bits, np.asarray(prog.binary_codebook(_point(out["state"]["params"], i), spec)))
        # No decoder beats ML on its own codebook.
        assert all(nd >= m - 1e-12 for nd, m in zip(s["neural_decoder"]["bler"]["values"], s["ml"]["bler"]["values"]))
    assert entry["summary"]["num_seeds"] == config.num_seeds
    assert "| progressive |" in pathlib.Path(os.path.join(workdir, "summary.md")).read_text()
    metrics = json.loads(pathlib.Path(os.path.join(workdir, "result_metrics.json")).read_text())
    assert metrics["progressive/num_seeds"] == config.num_seeds


@pytest.mark.slow
def test_stage2_freezes_encoder_and_does_not_worsen_decoder(smoke, tmp_path):
    config, _, out = smoke
    spec = prog.spec_from_config(config)
    # Stage 1 alone (stage2_steps = 0) follows the same trajectory (keys are fold_in(stream, step)): the encoder
    # after both stages is the encoder stage 1 left, bit for bit, and the decoder stage 1 left is kept in the state.
    stage1 = _run(_smoke_config(**{"train.stage2_steps": 0}), str(tmp_path / "s1"), evaluate=False)
    for a, b in zip(
        jax.tree.leaves(out["state"]["params"]["encoder"]), jax.tree.leaves(stage1["state"]["params"]["encoder"])
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(
        jax.tree.leaves(out["state"]["stage1_decoder"]), jax.tree.leaves(stage1["state"]["params"]["decoder"])
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for i in range(config.num_seeds):
        rep = out["runs"][i]["eval"]
        assert rep["stage2_improved_neural_bler"]
        cb = np.asarray(prog.binary_codebook(_point(out["state"]["params"], i), spec))
        before = exact.decoder_bler_bsc(
            cb, cbe.decoder_table(_point(out["state"]["stage1_decoder"], i), spec), allow_repeated=True
        )
        after = exact.decoder_bler_bsc(
            cb, cbe.decoder_table(_point(out["state"]["params"], i)["decoder"], spec), allow_repeated=True
        )
        assert after(spec.train_p) <= before(spec.train_p) + 1e-12
        assert after(spec.train_p) >= exact.ml_bler_bsc(cb, allow_repeated=True)(spec.train_p) - 1e-12


@pytest.mark.slow
def test_group_equals_runs_one_by_one(smoke, tmp_path):
    """Seed 1 of the smoke group (vmapped over 2 seeds) equals seed 1 trained alone by the same loop: identical
    codebook, parameters to float32 rounding of the batched products."""
    config, _, out = smoke
    alone = _run(_smoke_config(**{"seed": 1, "num_seeds": 1}), str(tmp_path / "alone"), evaluate=False)
    spec = prog.spec_from_config(config)
    np.testing.assert_array_equal(
        np.asarray(prog.binary_codebook(_point(out["state"]["params"], 1), spec)),
        np.asarray(prog.binary_codebook(_point(alone["state"]["params"], 0), spec)),
    )
    for a, b in zip(jax.tree.leaves(out["state"]["params"]), jax.tree.leaves(alone["state"]["params"])):
        np.testing.assert_allclose(np.asarray(a)[1], np.asarray(b)[0], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_sigterm_halfway_resumes_to_the_same_codebooks(smoke, tmp_path, monkeypatch):
    """The launch.main path (seed_members + train_group) stopped by a real SIGTERM in the middle of stage 1,
    then run again: the same codebooks and parameters as the uninterrupted smoke run, bit for bit."""
    config, _workdir, out = smoke
    real_write = metrics_writer.MetricWriter.write_scalars
    sent = []

    def write_and_signal(self, step, scalars):
        real_write(self, step, scalars)
        if step == 20 and not sent:
            sent.append(step)
            os.kill(os.getpid(), signal.SIGTERM)

    with monkeypatch.context() as m:
        m.setattr(metrics_writer.MetricWriter, "write_scalars", write_and_signal)
        with pytest.raises(train.Preempted, match=r"preempted at step 20 \(SIGTERM\)"):
            _run(config, str(tmp_path))
    assert os.listdir(tmp_path / "seed0" / "checkpoints" / "latest") == ["20"]
    assert not (tmp_path / "summary.md").exists()
    resumed = _run(config, str(tmp_path))
    for a, b in zip(jax.tree.leaves(out["state"]), jax.tree.leaves(resumed["state"])):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for i in range(config.num_seeds):
        assert resumed["runs"][i]["eval"]["codewords"] == out["runs"][i]["eval"]["codewords"]


@pytest.mark.parametrize("training, channel", [("straight_through", "bsc"), ("gumbel", "bsc"), ("progressive", "awgn")])
@pytest.mark.slow
def test_straight_through_gumbel_and_awgn_paths_run(tmp_path, training, channel):
    config = _smoke_config(
        **{
            "training": training,
            "channel.name": channel,
            "num_seeds": 1,
            "train.stage2_steps": 20,
            "eval.neural_table": channel == "bsc",
            "eval.mc_seeds": 1,
        }
    )
    spec = prog.spec_from_config(config)
    assert spec.training == training and spec.channel == channel
    assert spec.logit_penalty == (0.3 if training == "gumbel" else config.train.logit_penalty)
    out = _run(config, str(tmp_path))
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["train/loss"]) for r in rows if "train/loss" in r)
    rep = out["runs"][0]["eval"]
    cb = np.array([[int(ch) for ch in w] for w in rep["codewords"]])
    assert cb.shape == (16, 7)
    np.testing.assert_array_equal(
        cb, np.asarray(prog.encoder_logits(_point(out["state"]["params"], 0), jnp.arange(16), spec)) > 0
    )
    assert ("awgn" in rep) == (channel == "awgn")


def test_gumbel_temperature_schedule():
    spec = prog.ProgressiveSpec(n=7, k=4, training="gumbel", stage1_steps=11, gumbel_tau_start=2.0, gumbel_tau_end=0.02)
    taus = np.asarray([prog.gumbel_temperature(t, spec) for t in range(11)])
    np.testing.assert_allclose(taus[[0, 5, 10]], [2.0, 0.2, 0.02], rtol=1e-5)


# ------------------------------------------------------------------------------ hand-built codebook
def test_hand_built_hamming_codebook_is_recognised():
    cb = _scrambled_hamming(3)
    grid = np.array([0.001, 0.01, 0.05, 0.1, 0.3, 0.5])
    ham_bler = exact.ml_bler_bsc(HAMMING)
    table = exact.ml_decoder_table(cb)
    rep = cbe.codebook_report(
        cb,
        grid,
        decoder=table,
        reference_bler=ham_bler,
        references={"Hamming(7,4)": HAMMING},
        p_ratio=0.05,
        converse=np.array([0.0] + [1.0] * 5),
    )
    assert rep["equivalent_to"] == "Hamming(7,4)" and rep["is_perfect"] and rep["minimum_distance"] == 3
    assert rep["is_coset_of_linear"] and not rep["is_linear"]  # translated by a weight-1 word
    assert rep["distance_spectrum"] == [1, 0, 0, 7, 7, 0, 0, 1]
    assert rep["ml"]["bler_equals_reference"] and rep["ml"]["bler_polynomial_equals_reference"]
    assert rep["ml"]["ratio_to_converse"][0] is None  # converse 0: no ratio
    assert rep["neural_decoder"]["equals_ml_bler"]
    # The returned permutation and translation map the codebook onto Hamming(7,4).
    eq = rep["equivalence"]
    mapped = cb[:, np.asarray(eq["permutation"])] ^ np.asarray(eq["translation"], np.uint8)
    assert set(gf2.bits_to_int(mapped).tolist()) == set(gf2.bits_to_int(HAMMING).tolist())
    # Closed form of coding-anchors Sec. 2.2 at every grid point.
    closed = 1 - (1 - grid) ** 7 - 7 * grid * (1 - grid) ** 6
    np.testing.assert_allclose(rep["ml"]["bler"]["values"], closed, rtol=0, atol=1e-12)
    assert [w for w in rep["codewords"]] == ["".join(map(str, r)) for r in cb]
    # A same-size codebook with minimum distance 2 is not recognised.
    bad = cb.copy()
    bad[0] ^= np.array([1, 1, 0, 0, 0, 0, 0], np.uint8)
    if len({tuple(r) for r in bad}) == 16:
        rep_bad = cbe.codebook_report(bad, grid, reference_bler=ham_bler, references={"Hamming(7,4)": HAMMING})
        assert rep_bad["equivalent_to"] is None and not rep_bad["ml"]["bler_equals_reference"]


def test_decoder_table_softmax_and_bitwise():
    """A linear softmax decoder with weights = BPSK codewords decodes by correlation, i.e. exactly ML."""
    for output in ("softmax", "bitwise"):
        spec = prog.ProgressiveSpec(n=7, k=4, decoder_hidden=(), decoder_output=output)
        params = prog.init_params(jax.random.key(0), spec)
        if output == "softmax":
            dec = [{"w": jnp.asarray(1.0 - 2.0 * HAMMING.T, jnp.float32), "b": jnp.zeros(16)}]
            table = cbe.decoder_table(dec, spec)
            assert exact.decoder_bler_bsc(HAMMING, table) == exact.ml_bler_bsc(HAMMING)
        else:
            table = cbe.decoder_table(params["decoder"], spec)
            words = gf2.int_to_bits(np.arange(128), 7)
            logits = np.asarray(prog.decoder_logits(params["decoder"], 1.0 - 2.0 * words.astype(np.float32), spec))
            np.testing.assert_array_equal(table, gf2.bits_to_int((logits > 0).astype(np.uint8)))


def test_soft_ml_and_awgn_monte_carlo():
    rng = np.random.default_rng(0)
    r = rng.normal(size=(50, 7)).astype(np.float32)
    brute = np.argmin(((r[:, None, :] - (1.0 - 2.0 * HAMMING[None].astype(np.float32))) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(np.asarray(cbe.soft_ml_decode(HAMMING, r)), brute)
    spec = prog.ProgressiveSpec(n=7, k=4, channel="awgn", decoder_hidden=())
    dec = [{"w": jnp.asarray(1.0 - 2.0 * HAMMING.T, jnp.float32), "b": jnp.zeros(16)}]
    rows = cbe.awgn_monte_carlo(
        jax.random.key(1), spec, HAMMING, dec, HAMMING, (3.0,), target_block_errors=50, max_blocks=20_000, batch=5_000
    )
    row = rows[0]
    # Same noise and the same codebook: the learned-ML, correlation-decoder and reference-ML counts coincide.
    assert row["learned_ml"]["block_errors"] == row["reference_ml"]["block_errors"] == row["neural"]["block_errors"]
    lo, hi = row["reference_ml"]["bler_ci"]
    assert lo <= row["reference_ml"]["bler"] <= hi and row["blocks"] <= 20_000


# ------------------------------------------------------------- random draws, layer layouts, batch encoder
def test_samplers_from_one_bits_draw_equal_jax_random():
    """The per-step draws are jax.random's own transforms of one bits array: equal for the same key, up to the
    last-place rounding that two separately compiled programs may differ by (2 ulp)."""
    key = jax.random.key(3)
    shape = (64, 9)
    bits = jax.random.bits(key, shape)
    np.testing.assert_array_equal(prog.uniform_from_bits(bits), jax.random.uniform(key, shape))
    for ours, theirs in ((prog.normal_from_bits, jax.random.normal), (prog.logistic_from_bits, jax.random.logistic)):
        np.testing.assert_array_max_ulp(np.asarray(ours(bits)), np.asarray(theirs(key, shape)), maxulp=2)
    np.testing.assert_array_equal(prog.bernoulli_from_bits(bits, 0.3), jax.random.bernoulli(key, 0.3, shape))


def test_sample_messages_uniform_and_checked():
    bits = jax.random.bits(jax.random.key(0), (64_000,))
    m = np.asarray(prog.sample_messages(bits, 4))
    np.testing.assert_array_equal(m, np.asarray(bits) >> 28)
    counts = np.bincount(m, minlength=16)
    assert counts.size == 16
    chi2 = float(((counts - 4000.0) ** 2 / 4000.0).sum())
    assert chi2 < 37.7, chi2  # 99.9% quantile of chi-square with 15 degrees of freedom
    with pytest.raises(ValueError, match=r"k must be in \[1, 30\]"):
        prog.sample_messages(bits, 31)


def test_training_channels_flip_and_noise_at_their_rates():
    """Stage-2 BSC flips at train_p and AWGN noise of std awgn_sigma, from one bits draw (fixed key; 5 sigma)."""
    b, n = 20_000, 7
    zeros = jnp.zeros((n, b), jnp.float32)  # per-example arrays are [n, B]
    bits = jax.random.bits(jax.random.key(5), (n, b))
    spec = prog.ProgressiveSpec(n=n, k=4, train_p=0.1)
    z = np.asarray(prog._channel_exact(prog._BitRows(bits), zeros, spec))
    assert set(np.unique(z)) == {-1.0, 1.0}
    rate = float(np.mean(z < 0))
    assert abs(rate - 0.1) < 5 * np.sqrt(0.09 / z.size), rate
    spec = prog.ProgressiveSpec(n=n, k=4, channel="awgn", train_ebn0_db=2.0)
    r = np.asarray(prog._channel_exact(prog._BitRows(bits), zeros, spec)) - 1.0
    assert abs(r.mean()) < 5 * spec.awgn_sigma / np.sqrt(r.size)
    assert abs(r.std() / spec.awgn_sigma - 1.0) < 5 / np.sqrt(2 * r.size)


@pytest.mark.parametrize("message_input", ["one_hot", "bits"])
def test_layer_layouts_and_encoder_table(message_input):
    """Kernels narrower than they are deep are stored transposed ('wt'); the network is the plain MLP either way."""
    spec = prog.ProgressiveSpec(n=7, k=4, message_input=message_input, encoder_hidden=(32, 5), decoder_hidden=(64,))
    params = prog.init_params(jax.random.key(1), spec)
    assert [sorted(layer) for layer in params["encoder"]] == [["b", "w"], ["b", "wt"], ["b", "w"]]
    assert [sorted(layer) for layer in params["decoder"]] == [["b", "w"], ["b", "wt"]]
    enc_in = 16 if message_input == "one_hot" else 4
    shapes = [prog.layer_kernel(layer).shape for layer in params["encoder"] + params["decoder"]]
    assert shapes == [(enc_in, 32), (32, 5), (5, 7), (7, 64), (64, 16)]
    msgs = np.arange(16)
    x = np.eye(16) if message_input == "one_hot" else 1.0 - 2.0 * ((msgs[:, None] >> np.arange(3, -1, -1)) & 1)
    for i, layer in enumerate(params["encoder"]):  # float64 reference with the [in, out] kernels
        x = (np.maximum(x, 0.0) if i else x) @ np.asarray(prog.layer_kernel(layer), np.float64) + np.asarray(
            layer["b"], np.float64
        )
    np.testing.assert_allclose(prog.encoder_table(params, spec), x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(prog.encoder_logits(params, jnp.asarray(msgs), spec), x, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_batch_encoder_selection_equals_per_example_encoder():
    """M <= B: encoder once per message, rows selected by one_hot @ table; same values and gradients."""
    spec = prog.ProgressiveSpec(n=7, k=4)
    params = prog.init_params(jax.random.key(2), spec)
    for batch in (64, 8):  # 8 < M = 16: the per-example path
        msgs = jax.random.randint(jax.random.key(batch), (batch,), 0, 16)
        one_hot = jax.nn.one_hot(msgs, 16)
        weights = jax.random.normal(jax.random.key(7), (batch, 7))

        def batched(p, weights=weights, msgs=msgs, one_hot=one_hot):
            return jnp.sum(weights * jnp.tanh(prog._batch_encoder_logits(p, msgs, one_hot, spec)))

        def per_example(p, weights=weights, msgs=msgs):
            return jnp.sum(weights * jnp.tanh(prog.encoder_logits(p, msgs, spec)))

        v1, g1 = jax.value_and_grad(batched)(params)
        v2, g2 = jax.value_and_grad(per_example)(params)
        np.testing.assert_allclose(v1, v2, rtol=1e-5)
        for a, b in zip(jax.tree_util.tree_leaves(g1), jax.tree_util.tree_leaves(g2)):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "overrides",
    [
        {"channel.relaxation": "awgn"},
        {"train.logit_noise": 0.5},
        {"train.full_batch": True},
        {"channel.relax_sigma": 0.0, "model.decoder_output": "bitwise"},
    ],
)
def test_stage1_variants_draw_what_they_use(overrides):
    """Every stage-1 variant consumes exactly the random columns it draws (``_BitRows.done`` checks it while
    tracing), and a few steps of each stay finite."""
    method = methods.build(_smoke_config(**overrides), None)
    state = method.init(jax.random.key(0))
    for stage in (0, 1):
        state, metrics = jax.jit(lambda s, k, st=stage: method.train_step(s, None, k, st))(state, jax.random.key(1))
        assert np.isfinite(float(metrics["loss"]))


# ------------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(n=4, k=4), "k must be < n"),
        (dict(n=7, k=4, train_p=0.7), "train_p"),
        (dict(n=7, k=4, train_p=-0.1), "train_p"),
        (dict(n=7, k=4, decoder_output="argmax"), "decoder_output"),
        (dict(n=7, k=4, message_input="ascii"), "message_input"),
        (dict(n=7, k=4, training="reinforce"), "training"),
        (dict(n=7, k=4, relaxation="sigmoid"), "relaxation"),
        (dict(n=7, k=4, encoder_hidden=[8]), "encoder_hidden"),
        (dict(n=20, k=4, relaxation="exact"), "relaxation='exact'"),
        (dict(n=7, k=4, stage1_steps=0), "stage1_steps"),
        (dict(n=40, k=31, message_input="bits", decoder_output="bitwise"), r"k must be in \[1, 30\]"),
    ],
)
def test_bad_spec_raises(kwargs, field):
    with pytest.raises(ValueError, match=field):
        prog.ProgressiveSpec(**kwargs)


def test_bad_config_names_the_field():
    c = hamming_7_4.get_config("smoke")
    c.code.k = 7
    with pytest.raises(ValueError, match=r"code.k must be < n"):
        prog.spec_from_config(c)
    c = hamming_7_4.get_config("smoke")
    c.channel.train_p = 0.6
    with pytest.raises(ValueError, match=r"channel.train_p must be in \[0, 0.5\]"):
        prog.spec_from_config(c)
    c = hamming_7_4.get_config("smoke")
    c.model.decoder_output = "argmax"
    with pytest.raises(ValueError, match=r"model.decoder_output must be one of"):
        prog.spec_from_config(c)
    c = hamming_7_4.get_config("smoke")
    c.training = "annealing"
    with pytest.raises(ValueError, match="training must be one of"):
        methods.build(c, None)
    c = hamming_7_4.get_config("smoke")
    c.eval.p_grid = (0.01, 0.6)
    with pytest.raises(ValueError, match=r"eval.p_grid must be in \[0, 0.5\]"):
        cbe._check_eval_config(c)
    c = hamming_7_4.get_config("smoke")
    c.train.stage1_steps = 0
    with pytest.raises(ValueError, match=r"train.stage1_steps must be >= 1"):
        methods.build(c, None)
    with pytest.raises(ValueError, match="config variant"):
        longer.get_config("15_11,23_12")
    with pytest.raises(ValueError, match="p_grid"):
        cbe.codebook_report(HAMMING, [0.1, 0.7])


# ------------------------------------------------------------------------------------- warm start
@pytest.mark.parametrize("message_input", ["one_hot", "bits"])
def test_warm_start_encoder_starts_at_the_code(message_input):
    """The fitted MLP encoder's binarized codebook is the warm-start code, message by message (row m = bits(m) G),
    for a reference name; the codebook's rows are exactly Hamming(7,4)'s span."""
    spec = prog.ProgressiveSpec(
        n=7, k=4, message_input=message_input, encoder_hidden=(32,), warm_start="Hamming(7,4)", warm_start_steps=600
    )
    params = prog.init_params(jax.random.PRNGKey(3), spec)
    got = np.asarray(prog.binary_codebook(params, spec), np.uint8)
    g = linear.hamming_code(3).generator.astype(int)
    bits = (np.arange(16)[:, None] >> np.arange(3, -1, -1)) & 1
    np.testing.assert_array_equal(got, (bits @ g) % 2)
    cold = prog.init_params(
        jax.random.PRNGKey(3), prog.ProgressiveSpec(n=7, k=4, message_input=message_input, encoder_hidden=(32,))
    )
    assert not np.array_equal(np.asarray(prog.binary_codebook(cold, spec), np.uint8), got)


def test_warm_start_from_a_generator_file(tmp_path):
    """A JSON file of generators (``FILE.json:INDEX``): the encoder starts at the chosen one."""
    g0 = linear.hamming_code(3).generator
    g1 = np.concatenate(
        [np.eye(4, dtype=np.uint8), np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], np.uint8)], axis=1
    )
    path = tmp_path / "gens.json"
    path.write_text(json.dumps({"generators": [["".join(map(str, r)) for r in g] for g in (g0, g1)]}))
    spec = prog.ProgressiveSpec(n=7, k=4, encoder_hidden=(32,), warm_start=f"{path}:1", warm_start_steps=600)
    got = np.asarray(prog.binary_codebook(prog.init_params(jax.random.PRNGKey(0), spec), spec), np.uint8)
    bits = (np.arange(16)[:, None] >> np.arange(3, -1, -1)) & 1
    np.testing.assert_array_equal(got, (bits @ g1.astype(int)) % 2)


def test_warm_start_bad_input_names_the_field(tmp_path):
    c = hamming_7_4.get_config("smoke")
    c.model.warm_start = "Hamming(15,11)"
    with pytest.raises(ValueError, match=r"model.warm_start must be an \(7,4\) code"):
        methods.build(c, None)
    c.model.warm_start = "Hamming(7,5)"
    with pytest.raises(ValueError, match=r"model.warm_start must be one of \[.*'Hamming\(7,4\)'"):
        methods.build(c, None)
    c.model.warm_start = str(tmp_path / "missing.json")
    with pytest.raises(ValueError, match=r"model.warm_start names a missing file"):
        methods.build(c, None)
    (tmp_path / "one.json").write_text(json.dumps({"generators": [["1000110"]]}))
    c.model.warm_start = str(tmp_path / "one.json") + ":3"
    with pytest.raises(ValueError, match=r"model.warm_start index must be in \[0, 1\)"):
        methods.build(c, None)
    c.model.warm_start = "Hamming(7,4)"
    c.model.encoder = "linear"
    with pytest.raises(ValueError, match=r"model.warm_start needs encoder='mlp'"):
        methods.build(c, None)


@pytest.mark.slow
def test_diagnosis_reads_a_trained_group_through_the_model_loader(smoke):
    """``experiments/linear_code/diagnosis.py`` loads each seed with ``model_io.load_model`` (no dataset) and
    scores it through the method's own contract (codebook, stage-1 decoder and objective)."""
    from experiments.linear_code import diagnosis
    from neuralcodes_jax.analysis import model_io

    config, workdir, _ = smoke
    model = model_io.load_model(os.path.join(workdir, "seed0"), kind="latest")
    assert model.splits is None and model.step == config.train.stage1_steps + config.train.stage2_steps
    out = diagnosis.diagnose(workdir, samples=500)
    assert [r["seed"] for r in out["seeds"]] == ["seed0", "seed1"] and out["reference"] == "Hamming(7,4)"
    for row in out["seeds"]:
        assert np.isfinite(row["model"]) and row["model"] > 0 and row["ideal_learned"] >= 0
