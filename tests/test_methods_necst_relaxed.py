"""NECST with relaxed bits (methods/necst_relaxed.py): exact forward samples, the temperature schedule, and the
method through the one loop (a vmapped sweep over the training noise, preempted and resumed)."""

import os
import signal

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neuralcodes_jax import channels, methods, metrics_writer, sweeps, train

CONFIG = "experiments/necst_relaxed/binary_mnist.py"


def _method(estimator, eps=0.2, name="bsc", num_samples=4000):
    config = sweeps.load_config(
        f"{CONFIG}:smoke,{estimator}",
        {"channel.eps": eps, "channel.name": name, "necst.num_samples": num_samples, "model.bits": 6},
    )
    return methods.build(config, methods.DataSpec((784,), True))


@pytest.mark.parametrize("estimator", ["straight_through", "straight_through_gumbel"])
@pytest.mark.parametrize("name", ["bsc", "bec"])
def test_hard_forward_pass_is_an_exact_sample_of_the_noisy_encoder(estimator, name):
    """The forward decoder input of the straight-through estimators is a sample of q_noisy(y | x) (NECST sec. 4):
    its symbol frequencies over K = 4000 draws match the channel's symbol probabilities within 5 standard
    errors (fixed key), and every value is one of the symbols' decoder inputs."""
    method = _method(estimator, name=name)
    logits = jnp.asarray([[-2.0, -0.5, 0.0, 0.3, 1.0, 3.0]])
    values = np.asarray(method.channel.decoder_input(jnp.arange(method.channel.num_symbols)))
    inputs = np.asarray(method.relaxed_inputs(logits, jax.random.key(0), jnp.float32(0.5)))  # [K, 1, 6]
    probs = np.exp(np.asarray(method.channel.symbol_log_probs(logits)))[0]  # [6, S]
    for s, v in enumerate(values):
        freq = np.mean(np.isclose(inputs[:, 0, :], v), axis=0)
        se = np.sqrt(probs[:, s] * (1 - probs[:, s]) / inputs.shape[0])
        assert np.all(np.abs(freq - probs[:, s]) <= 5 * se + 1e-6), (s, freq, probs[:, s])
    assert np.all(np.isclose(inputs[..., None], values).any(-1))


@pytest.mark.slow
def test_gumbel_softmax_is_the_binary_concrete_and_its_gradients_are_finite():
    """On the BSC the relaxed input is sigmoid((l + L) / tau) of the noisy-encoder logit l; in (0, 1), it tends to
    the hard sample as tau -> 0; the loss gradient is finite."""
    method = _method("gumbel", eps=0.1, num_samples=2000)
    logits = jnp.asarray([[-1.0, 0.0, 2.0, 0.5, -3.0, 1.5]])
    relaxed_inputs = jax.jit(method.relaxed_inputs)  # one compilation instead of one per operation
    soft = np.asarray(relaxed_inputs(logits, jax.random.key(1), jnp.float32(1.0)))
    cold = np.asarray(relaxed_inputs(logits, jax.random.key(1), jnp.float32(1e-3)))
    assert np.all((soft > 0) & (soft < 1))
    assert np.mean(np.minimum(cold, 1 - cold) < 1e-3) > 0.99
    p1 = np.asarray(jax.nn.sigmoid(channels.bsc_noisy_logits(logits, 0.1)))[0]
    np.testing.assert_allclose(np.mean(cold[:, 0] > 0.5, axis=0), p1, atol=5 * np.sqrt(0.25 / 2000))
    np.testing.assert_allclose(method.temperature(0), 1.0)
    np.testing.assert_allclose(method.temperature(method.anneal_steps), 0.5, rtol=1e-6)
    np.testing.assert_allclose(method.temperature(10 * method.anneal_steps), 0.5, rtol=1e-6)
    x = (jax.random.uniform(jax.random.key(2), (4, 784)) > 0.5).astype(jnp.float32)
    state = jax.jit(method.init)(jax.random.key(3), x[:1])
    grads = jax.jit(jax.grad(lambda p: method.relaxed_loss(p, x, jax.random.key(4), jnp.float32(0.7))[0]))(
        state["params"]
    )
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    bad = sweeps.load_config(f"{CONFIG}:smoke", {"relaxed.estimator": "reinforce"})
    with pytest.raises(ValueError, match=r"relaxed.estimator must be one of"):
        methods.build(bad, methods.DataSpec((784,), True))


@pytest.mark.slow
def test_relaxed_method_sweeps_as_a_group_checkpoints_and_resumes(tmp_path, monkeypatch):
    """The new method through launch.sweep --vmap: two training noise levels as one group; a SIGTERM after the
    first epoch leaves a checkpoint in both point directories; the rerun ends with the uninterrupted group's
    results."""
    config = tmp_path / "relaxed_smoke.py"  # the smoke variant without get_sweep(): the grid gives the points
    config.write_text(
        "from experiments.necst_relaxed import binary_mnist\n\n\n"
        "def get_config(arg=None):\n    return binary_mnist.get_config('smoke')\n"
    )
    config = str(config)
    grid = ["channel.eps=0.1,0.2"]
    settings = [
        "train.num_epochs=2",
        "data.limit.train=120",
        "train.batch_size=40",
        "train.steps_per_call=3",
        "model.bits=16",
        "eval.noise_levels=(0.1,)",
    ]
    real_write = metrics_writer.MetricWriter.write_scalars
    sent = []

    def write_and_signal(self, step, scalars):
        real_write(self, step, scalars)
        if step == 3 and "valid/loss" in scalars and not sent:
            sent.append(step)
            os.kill(os.getpid(), signal.SIGTERM)

    with monkeypatch.context() as m:
        m.setattr(metrics_writer.MetricWriter, "write_scalars", write_and_signal)
        with pytest.raises(train.Preempted):
            sweeps.run_sweep(config, tmp_path / "part", grid=grid, settings=settings, vmap=True, log=lambda *_: None)
    for name in ("eps0.1", "eps0.2"):
        assert os.listdir(tmp_path / "part" / name / "checkpoints" / "latest") == ["3"]
    resumed = sweeps.run_sweep(config, tmp_path / "part", grid=grid, settings=settings, vmap=True, log=lambda *_: None)
    full = sweeps.run_sweep(config, tmp_path / "full", grid=grid, settings=settings, vmap=True, log=lambda *_: None)
    assert [r["status"] for r in resumed] == ["ok", "ok"] and resumed[0]["group_size"] == 2
    assert [r["metrics"] for r in resumed] == [r["metrics"] for r in full]
    assert resumed[0]["metrics"] != resumed[1]["metrics"]
