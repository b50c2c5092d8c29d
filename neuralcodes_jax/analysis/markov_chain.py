"""NECST / IABF as an implicit generative model: the Markov chain of NECST Eq. 4 (= IABF Eq. 32).

One transition from ``x^(t)``:

    y^(t)   ~ q_noisy(y | x^(t); phi, eps)       the noisy encoder: Bern(sigmoid(f_phi(x)) (1 - 2 eps) + eps) per bit
                                                  for the BSC (NECST section 4), i.e. encoder then channel
    x^(t+1) ~ p_dec(x | y^(t); theta)             the decoder

``eps`` is the model's training noise unless given. What "x ~ p_dec" means is the ``x_mode`` argument:

* ``'reference'`` (default): ``x' = clip(mu + 0.01 n, 0, 1)``, ``n ~ N(0, I)``, ``mu = sigmoid(f_theta(y))`` the
  decoder mean: the chain of the released NECST code (9000 steps, a sample every 1000, std 0.01, clipped to
  [0, 1]), which IABF's fork of that code keeps. The clipping is part of this transition, not a
  silent fix-up.
* ``'mean'``: ``x' = mu`` (the decoder mean, deterministic given ``y``).
* ``'sample'``: an exact draw from the decoder: ``Bern(mu)`` for the Bernoulli decoder; ``mu + sqrt(sigma2) n`` for
  the fixed-variance Gaussian decoder, not clipped (with the trained ``sigma2 = 0.5`` the pixel noise has std 0.71,
  which is why the papers' figures cannot be exact Gaussian draws).

The chain's randomness: the step ``t`` key is ``fold_in(key, t)``, split into (channel key, decoder key) by
``jax.random.split``. ``run_chain`` records ``x`` every ``record_every`` steps (plus ``x^(0)``) inside one jitted
``lax.scan``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from neuralcodes_jax.analysis import model_io

PyTree = Any

X_MODES = ("reference", "mean", "sample")
REFERENCE_STD = 0.01


def _check_x_mode(x_mode: str) -> None:
    if x_mode not in X_MODES:
        raise ValueError(f"x_mode must be one of {list(X_MODES)}, got {x_mode!r}")


def transition(
    coder, params: PyTree, x: jax.Array, key: jax.Array, *, eps: float | None = None, x_mode: str = "reference"
) -> tuple[jax.Array, jax.Array]:
    """One step of NECST Eq. 4: ``y ~ q_noisy(y|x)``, ``x' ~ p_dec(x|y)`` (see the module docstring).

    Args:
      coder: a NECST object (``LoadedModel.coder``): ``encode``, ``decode``, ``channel``, ``likelihood``.
      params: its parameters.
      x: ``[B, *shape]`` current images.
      key: the step key; ``split(key)`` gives (channel key, decoder key).
      eps: channel noise of the noisy encoder (default: the training noise).
      x_mode: 'reference', 'mean' or 'sample'.

    Returns:
      ``(x_next [B, *shape], y [B, m])``.
    """
    _check_x_mode(x_mode)
    k_channel, k_decoder = jax.random.split(key)
    channel = coder.channel if eps is None else coder.channel.noisy(eps)
    logits = coder.encode(params, x)
    y = channel.sample(k_channel, logits, 1)[0]
    mean = jax.nn.sigmoid(coder.decode(params, y))
    if x_mode == "mean":
        x_next = mean
    elif x_mode == "reference":
        x_next = jnp.clip(mean + REFERENCE_STD * jax.random.normal(k_decoder, mean.shape, mean.dtype), 0.0, 1.0)
    elif coder.likelihood == "bernoulli":
        x_next = jax.random.bernoulli(k_decoder, mean).astype(mean.dtype)
    else:
        x_next = mean + jnp.sqrt(coder.sigma2) * jax.random.normal(k_decoder, mean.shape, mean.dtype)
    return x_next, y


@functools.partial(jax.jit, static_argnames=("coder", "num_records", "record_every", "eps", "x_mode"))
def run_chain(
    coder,
    params: PyTree,
    x0: jax.Array,
    key: jax.Array,
    *,
    num_records: int,
    record_every: int,
    eps: float | None = None,
    x_mode: str = "reference",
) -> jax.Array:
    """``num_records * record_every`` transitions from ``x0`` [B, *shape]; returns ``[num_records + 1, B, *shape]``:
    ``x^(0)``, ``x^(record_every)``, ..., ``x^(num_records * record_every)``. Step ``t`` (1-based) uses
    ``fold_in(key, t - 1)``."""

    def step(x, t):
        x_next, _ = transition(coder, params, x, jax.random.fold_in(key, t), eps=eps, x_mode=x_mode)
        return x_next, None

    def block(x, r):
        ts = r * record_every + jnp.arange(record_every)
        x, _ = jax.lax.scan(step, x, ts)
        return x, x

    _, recorded = jax.lax.scan(block, x0, jnp.arange(num_records))
    return jnp.concatenate([x0[None], recorded])


def noise_start(shape: tuple[int, ...], num_chains: int, seed: int) -> np.ndarray:
    """Chain starts from noise: i.i.d. Uniform(0, 1) pixels (numpy ``default_rng(seed)``)."""
    return np.random.default_rng(seed).uniform(0.0, 1.0, (num_chains,) + tuple(shape)).astype(np.float32)


def chain_statistics(samples: np.ndarray, judge, start_labels: np.ndarray | None) -> dict:
    """Diversity of the chains' final states as a pixel classifier labels them.

    ``samples`` [records + 1, B, ...]; reports the label histogram of the last record, its entropy (bits; log2 10 =
    3.32 for uniform digits), the number of labels used, and (for chains started from labelled images) the fraction
    still carrying their start label.
    """
    last = samples[-1].reshape(samples.shape[1], -1)
    pred = judge.predict(last)
    counts = np.bincount(pred, minlength=10)
    p = counts / counts.sum()
    entropy = float(-np.sum(p[p > 0] * np.log2(p[p > 0])))
    stats = {
        "label_counts": counts.tolist(),
        "label_entropy_bits": entropy,
        "labels_used": int(np.sum(counts > 0)),
        "mean_abs_change_last_record": float(np.mean(np.abs(samples[-1] - samples[-2]))),
    }
    if start_labels is not None:
        stats["kept_start_label"] = float(np.mean(pred == start_labels))
    return stats


def run(
    models: Sequence[model_io.LoadedModel],
    labels: Sequence[str],
    out_dir: str,
    *,
    num_chains: int = 10,
    num_records: int = 9,
    record_every: int = 1000,
    x_mode: str = "reference",
    stat_chains: int = 100,
    seed: int = 0,
) -> dict:
    """Chains from test images and from noise for each model (same starts and keys); writes ``markov_chain.png``
    (a grid per model and start: rows = chains, columns = recorded steps), ``markov_chain.json`` and
    ``markov_chain.md`` into ``out_dir``. ``stat_chains`` further chains per start give the diversity statistics."""
    from neuralcodes_jax.analysis import interpolation

    _check_x_mode(x_mode)
    if len(models) != len(labels):
        raise ValueError(f"labels must name every model: {len(models)} models, {len(labels)} labels")
    ref = models[0].splits
    n_stat = max(num_chains, min(stat_chains, len(ref.test)))
    starts = {
        "test images": (ref.test[:n_stat], ref.test_labels[:n_stat] if ref.test_labels is not None else None),
        "uniform noise": (noise_start(ref.shape, n_stat, seed), None),
    }
    result: dict = {
        "x_mode": x_mode,
        "num_records": num_records,
        "record_every": record_every,
        "num_chains_drawn": num_chains,
        "stat_chains": n_stat,
        "seed": seed,
        "models": [model_io.describe(m) for m in models],
        "labels": list(labels),
        "stats": {},
    }
    grids = {}
    for model, label in zip(models, labels):
        judge = interpolation.pixel_classifier(model)
        for s_i, (start_name, (x0, y0)) in enumerate(starts.items()):
            key = jax.random.fold_in(jax.random.key(seed), s_i)
            samples = np.asarray(
                run_chain(
                    model.coder,
                    model.params,
                    jnp.asarray(x0),
                    key,
                    num_records=num_records,
                    record_every=record_every,
                    x_mode=x_mode,
                )
            )
            grids[(label, start_name)] = samples[:, :num_chains]
            result["stats"][f"{label} | {start_name}"] = chain_statistics(samples, judge, y0)
    os.makedirs(out_dir, exist_ok=True)
    _draw(grids, list(labels), list(starts), os.path.join(out_dir, "markov_chain.png"), result)
    model_io.write_json(os.path.join(out_dir, "markov_chain.json"), result)
    with open(os.path.join(out_dir, "markov_chain.md"), "w") as f:
        f.write(markdown(result))
    return result


def markdown(result: dict) -> str:
    lines = ["# Markov-chain samples (NECST Eq. 4, IABF Eq. 32)", "", "Models:", ""]
    lines += [f"- {d}" for d in result["models"]]
    lines += [
        "",
        f"Transition: y ~ q_noisy(y|x) at the training noise, x' from the decoder with x_mode "
        f"`{result['x_mode']}`; {result['num_records'] * result['record_every']} steps, a column every "
        f"{result['record_every']} (first column: the start). Rows: the first {result['num_chains_drawn']} "
        "chains.",
        "",
        "![markov chain](markov_chain.png)",
        "",
        f"## Diversity of the final states ({result['stat_chains']} chains per start)",
        "",
        "Labels from a pixel k-NN (k = 5) fitted on the model's train + valid images.",
        "",
        "| model | start | label entropy (bits, max 3.32) | labels used | kept start label | label counts 0-9 |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in result["stats"].items():
        kept = f"{s['kept_start_label']:.3f}" if "kept_start_label" in s else "-"
        lines.append(
            f"| {name} | {s['label_entropy_bits']:.2f} | {s['labels_used']} | {kept} | "
            f"{' '.join(str(c) for c in s['label_counts'])} |"
        )
    lines.append("")
    return "\n".join(lines)


def _draw(grids: dict, labels: list[str], starts: list[str], path: str, result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(starts), len(labels), figsize=(3.6 * len(labels), 3.9 * len(starts)), squeeze=False)
    for c, label in enumerate(labels):
        for r, start in enumerate(starts):
            samples = grids[(label, start)]  # [records + 1, chains, H, W, C]
            ax = axes[r, c]
            ax.imshow(model_io.image_grid(np.swapaxes(samples, 0, 1)), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{label}, from {start}", fontsize=8)
    fig.suptitle(f"Markov chain (x_mode={result['x_mode']}): columns every {result['record_every']} steps", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
