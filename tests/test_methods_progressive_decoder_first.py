"""Stage-1 schedules of progressive training that make the decoder good early (issue 24, item 3): a decoder-first
start, K decoder updates per encoder update, and the exact posterior of the relaxed codebook as the training
decoder (neuralcodes_jax.methods.progressive).

The posterior is checked against a brute-force float64 posterior (the channel densities written out, normalised
over the messages) on a tiny (5,2) soft codebook, and its stage-1 loss at a binary code against the library's
independent Monte Carlo ``ideal_decoder_loss``; the schedules by stepping the method and watching which
parameters move; each option runs a few steps through the one training loop.
"""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.progressive import ablation_15_11, ablation_table, hamming_7_4
from neuralcodes_jax import config_utils, methods, sweeps, train
from neuralcodes_jax.codes import linear
from neuralcodes_jax.methods import progressive as prog


def _smoke_config(**overrides):
    c = hamming_7_4.get_config("smoke")
    c.model.encoder_hidden = (8,)
    c.model.decoder_hidden = (16,)
    c.train.stage1_steps = 20
    c.train.stage2_steps = 10
    c.train.batch_size = 32
    c.train.steps_per_call = 10
    c.train.checkpoint_every_steps = 100
    c.train.log_every_steps = 10
    config_utils.apply_overrides(c, overrides)
    return c


def _brute_log_posterior(x_book, z, p, sigma, relaxation):
    """log p(m | z) in float64 from the channel densities themselves (uniform messages)."""
    x_book = np.asarray(x_book, np.float64)
    z = np.asarray(z, np.float64)

    def gauss(y, mu):
        return math.exp(-((y - mu) ** 2) / (2 * sigma**2)) / math.sqrt(2 * math.pi * sigma**2)

    out = np.zeros((z.shape[0], x_book.shape[0]))
    for b in range(z.shape[0]):
        for m in range(x_book.shape[0]):
            like = 1.0
            for j in range(z.shape[1]):
                x, y = x_book[m, j], z[b, j]
                like *= (1 - p) * gauss(y, x) + p * gauss(y, -x) if relaxation == "flip_gauss" else gauss(y, x)
            out[b, m] = like
        out[b] /= out[b].sum()
    return np.log(out)


@pytest.mark.parametrize("relaxation", ["flip_gauss", "awgn"])
def test_posterior_equals_brute_force_on_a_tiny_code(relaxation):
    spec = prog.ProgressiveSpec(n=5, k=2, relaxation=relaxation, relax_sigma=0.7, train_p=0.1)
    rng = np.random.default_rng(0)
    x_book = rng.uniform(-1, 1, (4, 5)).astype(np.float32)  # soft codewords, amplitudes differ
    z = rng.normal(0, 1, (6, 5)).astype(np.float32)
    sigma = 0.7 if relaxation == "flip_gauss" else float(prog.relax_awgn_sigma(0.1))
    got = jax.nn.log_softmax(prog.posterior_logits(x_book, z, 0.1, spec), axis=-1)
    want = _brute_log_posterior(x_book, z, 0.1, sigma, relaxation)
    np.testing.assert_allclose(np.asarray(got, np.float64), want, atol=2e-5)


@pytest.mark.parametrize("relaxation", ["flip_gauss", "awgn"])
def test_posterior_loss_at_a_binary_code_is_the_ideal_decoder_loss(relaxation):
    """At an encoder that outputs Hamming(7,4) with saturated logits, the stage-1 posterior loss is the conditional
    entropy H(M | Z) that ``ideal_decoder_loss`` estimates independently (its own channel draws and decoder)."""
    spec = prog.ProgressiveSpec(
        n=7,
        k=4,
        encoder_hidden=(),
        training_decoder="posterior",
        batch_size=20_000,
        logit_penalty=0.0,
        relaxation=relaxation,
    )
    book = linear.hamming_code(3).codewords()
    params = prog.init_params(jax.random.key(0), spec)
    (layer,) = params["encoder"]
    params["encoder"] = [{"w": jnp.asarray(30.0 * (2.0 * book - 1.0), jnp.float32), "b": layer["b"] * 0}]
    assert np.array_equal(np.asarray(prog.binary_codebook(params, spec)), book)
    loss_fn = jax.jit(lambda k: prog._stage1_loss(params, k, jnp.asarray(0), spec)[0])
    ours = np.mean([float(loss_fn(jax.random.key(i))) for i in range(5)])
    ideal, se = prog.ideal_decoder_loss(book, spec, jax.random.key(7), num_samples=100_000, batch=20_000)
    assert abs(ours - ideal) < 4 * math.hypot(se, se / math.sqrt(5 * 20_000 / 100_000)), (ours, ideal, se)


def test_encoder_update_gate_schedule():
    spec = prog.ProgressiveSpec(n=7, k=4, stage1_steps=20, decoder_first_fraction=0.25, decoder_steps=3)
    gate = [float(prog.encoder_update_gate(s, spec)) for s in range(20)]
    assert gate == [0.0] * 5 + [1.0 if (s - 5) % 3 == 0 else 0.0 for s in range(5, 20)]
    plain = prog.ProgressiveSpec(n=7, k=4, stage1_steps=20)
    assert all(float(prog.encoder_update_gate(s, plain)) == 1.0 for s in range(20))


@pytest.mark.parametrize("training_decoder", ["neural", "posterior"])
def test_encoder_moves_only_when_the_gate_is_open(training_decoder):
    """Stepping the method: the encoder stays put for the decoder-first steps and between its K-th steps, the
    decoder moves at every step (neural), and the loss stays finite."""
    config = _smoke_config(
        **{
            "train.decoder_first_fraction": 0.2,
            "train.decoder_steps": 2,
            "train.training_decoder": training_decoder,
            "train.stage1_steps": 10,
        }
    )
    method = methods.build(config, None)
    state = method.init(jax.random.key(0))
    step = jax.jit(lambda s, k: method.train_step(s, None, k, 0))
    moved = []
    for i in range(8):
        new, metrics = step(state, jax.random.key(i + 1))
        assert np.isfinite(float(metrics["loss"]))
        enc_moved = any(
            not np.array_equal(a, b)
            for a, b in zip(jax.tree.leaves(state["params"]["encoder"]), jax.tree.leaves(new["params"]["encoder"]))
        )
        dec_moved = any(
            not np.array_equal(a, b)
            for a, b in zip(jax.tree.leaves(state["params"]["decoder"]), jax.tree.leaves(new["params"]["decoder"]))
        )
        moved.append(enc_moved)
        assert dec_moved == (training_decoder == "neural")  # the posterior run trains the decoder in stage 2 only
        state = new
    assert moved == [False, False, True, False, True, False, True, False]


@pytest.mark.slow
def test_posterior_training_runs_through_the_loop(tmp_path):
    """A few steps of every new option together through ``train.train_group`` and the codebook evaluator: the
    stage-1 decoder is untouched (posterior), stage 2 trains the neural decoder, the report is written, and the
    ablation table reads it (slow: the fast subset steps each option through the method itself, above)."""
    config = _smoke_config(
        **{
            "train.training_decoder": "posterior",
            "train.decoder_first_fraction": 0.5,
            "train.decoder_steps": 2,
            "train.full_batch": True,
            "eval.stage2_check": False,
        }
    )
    configs, workdirs, summaries = sweeps.seed_members(config, str(tmp_path))
    out = train.train_group(configs, workdirs, summaries=summaries)
    assert len(out["runs"]) == 2
    for run in out["runs"]:
        rep = run["eval"]
        assert len(rep["codewords"]) == 16 and rep["minimum_distance"] >= 0 and "neural_decoder" in rep
    table = ablation_table.row(str(tmp_path))
    dists = sorted(run["eval"]["minimum_distance"] for run in out["runs"])
    assert table["seeds"] == 2 and table["d3"] == sum(d == 3 for d in dists)
    assert sum(table["histogram"].values()) == 2 and table["ratio_min"] <= table["ratio_median"]
    assert "| 2 |" in ablation_table.markdown([table])


def _write_summary(workdir, name, seeds, distances, ratios, seconds):
    workdir.mkdir()
    summary = {
        "num_seeds": len(seeds),
        "equivalent_to_reference": sum(d == 3 for d in distances),
        "perfect": sum(d == 3 for d in distances),
        "bler_equals_reference": sum(d == 3 for d in distances),
        "minimum_distance_histogram": {str(d): distances.count(d) for d in set(distances)},
        "ratio_to_converse_at_0.05": ratios,
        "neural_equals_ml": 1,
    }
    training = {"seeds": [{"seed": s, "minimum_distance": d} for s, d in zip(seeds, distances)], "summary": summary}
    training["train_seconds"] = seconds
    (workdir / "codebook_summary.json").write_text(json.dumps({"name": name, "trainings": {"t": training}}))
    return str(workdir)


def test_ablation_row_pools_the_seeds_of_one_variant_trained_in_two_groups(tmp_path):
    a = _write_summary(tmp_path / "a", "v", [0, 1], [0, 3], [1.7, 1.0], 100.0)
    b = _write_summary(tmp_path / "b", "v", [2, 3, 4], [1, 0, 0], [1.6, 1.8, 1.75], 150.0)
    r = ablation_table.row([a, b])
    assert (r["seeds"], r["d3"], r["perfect"], r["neural_equals_ml"]) == (5, 1, 1, 2)
    assert r["histogram"] == {"0": 3, "3": 1, "1": 1}
    assert (r["ratio_median"], r["ratio_min"], r["ratio_max"]) == (1.7, 1.0, 1.8)
    assert "| v | 5 | 1 |" in ablation_table.markdown([r]) and "| 100 + 150 |" in ablation_table.markdown([r])
    assert ablation_table.row(a)["seeds"] == 2
    with pytest.raises(ValueError, match="share seeds"):
        ablation_table.row([a, _write_summary(tmp_path / "c", "v", [1], [0], [1.7], 1.0)])
    with pytest.raises(ValueError, match="one variant"):
        ablation_table.row([a, _write_summary(tmp_path / "d", "w", [7], [0], [1.7], 1.0)])


@pytest.mark.parametrize(
    "override, message",
    [
        ({"train.decoder_first_fraction": 1.0}, r"train.decoder_first_fraction must be in \[0, 1\)"),
        ({"train.decoder_first_fraction": -0.1}, r"train.decoder_first_fraction must be in \[0, 1\)"),
        ({"train.decoder_steps": 0}, r"train.decoder_steps must be >= 1"),
        ({"train.training_decoder": "oracle"}, r"train.training_decoder must be one of"),
        ({"train.training_decoder": "posterior", "training": "gumbel"}, r"needs training='progressive'"),
        ({"train.training_decoder": "posterior", "channel.relaxation": "exact"}, r"channel.relaxation must be"),
        ({"train.training_decoder": "posterior", "channel.relax_sigma": 0.0}, r"channel.relax_sigma must be > 0"),
    ],
)
def test_bad_input_names_the_field(override, message):
    with pytest.raises(ValueError, match=message):
        methods.build(_smoke_config(**override), None)
    with pytest.raises(ValueError, match=r"k must be <= 12 with training_decoder='posterior'"):
        prog.ProgressiveSpec(n=23, k=13, training_decoder="posterior", message_input="bits")


def test_ablation_config_variants():
    """Each ablation row's config builds a method with what its name says."""
    for variant in ablation_15_11.ROWS:
        spec = prog.spec_from_config(ablation_15_11.get_config(variant))
        assert (spec.n, spec.k) == (15, 11)
        assert (spec.training_decoder == "posterior") == ("posterior" in variant)
    spec = prog.spec_from_config(ablation_15_11.get_config("decoder_first"))
    assert spec.decoder_first_fraction > 0
    spec = prog.spec_from_config(ablation_15_11.get_config("23_12,posterior"))
    assert (spec.n, spec.k) == (23, 12)
    with pytest.raises(ValueError, match="config variant"):
        ablation_15_11.get_config("nonsense")
