"""Distortion over a grid of test channel-noise levels, written as ``eval.json`` and ``eval.md``.

Every candidate distortion metric is reported under an unambiguous name, because the papers' tables use different
ones (see ``../shared/research/reference-impls.md`` section 0 and the notes in ``results/``):

==========================  =================================================================================
``bce_per_pixel_nats``      mean over pixels of the binary cross-entropy between x and the decoder output
                            (nats). IABF Table 1 (and the released NECST/IABF code for binary data).
``mse_per_pixel``           mean over pixels of (sigmoid(out) - x)^2.
``sse_per_image``           sum over pixels of (sigmoid(out) - x)^2, averaged over images (released code, grey
                            and RGB data).
``pixel_error_rate``        fraction of pixels with round(sigmoid(out)) != round(x).
``nll_per_image_nats``      -log p_dec(x | y) under the model's likelihood, nats per image.
==========================  =================================================================================

Each value is a mean over the evaluation split and ``eval.num_samples`` channel draws per image, with its
standard error over images (``<metric>_se``).
"""

from __future__ import annotations

import functools
import json
import os

import jax
import numpy as np

METRIC_ORDER = ("bce_per_pixel_nats", "mse_per_pixel", "sse_per_image", "pixel_error_rate",
                "nll_per_image_nats")


def check_noise_levels(levels, channel_name: str) -> list[float]:
    hi = 0.5 if channel_name == "bsc" else 1.0
    out = []
    for eps in levels:
        eps = float(eps)
        if not (0.0 <= eps <= hi) or (channel_name == "bec" and eps >= 1.0):
            raise ValueError(f"eval.noise_levels entries must be in [0, {hi}] for channel {channel_name!r}, "
                             f"got {eps}")
        out.append(eps)
    if not out:
        raise ValueError("eval.noise_levels must not be empty")
    return out


def eval_inputs(splits, eval_cfg):
    """The evaluation images: ``eval.split`` of ``splits`` (default 'test'), the first ``eval.max_examples`` if set."""
    split = eval_cfg.get("split", "test")
    if split not in ("train", "valid", "test"):
        raise ValueError(f"eval.split must be one of ['train', 'valid', 'test'], got {split!r}")
    x = getattr(splits, split)
    limit = int(eval_cfg.get("max_examples", 0))
    if limit:
        x = x[:limit]
    return x


def evaluate_noise_grid(method, params, splits, eval_cfg, mesh, key) -> dict:
    """Evaluate ``method.eval_batch`` at every ``eval_cfg.noise_levels`` on ``eval_cfg.split``."""
    from neuralcodes_jax.train import make_batched_eval  # local import: train imports this module

    x = eval_inputs(splits, eval_cfg)
    levels = check_noise_levels(eval_cfg.noise_levels, method.channel.name)
    batch_size = int(eval_cfg.get("batch_size", 1000))
    n_dev = mesh.devices.size
    batch_size = max(n_dev, batch_size - batch_size % n_dev)
    rows = []
    for i, eps in enumerate(levels):
        fn = make_batched_eval(functools.partial(method.eval_batch, eps=eps), mesh, batch_size)
        per_example = fn(params, x, jax.random.fold_in(key, i))
        row = {"eps": eps, "effective_eps": method.effective_test_eps(eps)}
        for name in METRIC_ORDER:
            if name in per_example:
                v = np.asarray(per_example[name], np.float64)
                row[name] = float(v.mean())
                row[name + "_se"] = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0
        rows.append(row)
    return {
        "split": eval_cfg.get("split", "test"),
        "num_examples": int(x.shape[0]),
        "channel": method.channel.name,
        "train_eps": float(method.channel.eps),
        "num_channel_samples": int(getattr(method, "eval_num_samples", 1)),
        "encoder_mode": getattr(method, "eval_encoder", "sample"),
        "rows": rows,
    }


def markdown_table(results: dict) -> str:
    names = [n for n in METRIC_ORDER if n in results["rows"][0]]
    header = "| test eps | " + " | ".join(names) + " |"
    sep = "|---|" + "---|" * len(names)
    lines = [header, sep]
    for row in results["rows"]:
        cells = [f"{row[n]:.4f} ± {row[n + '_se']:.4f}" for n in names]
        lines.append(f"| {row['eps']:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def describe_run(config, splits, meta: dict) -> str:
    return (f"method `{config.method}`, data `{splits.name}` (train {splits.train.shape[0]}, valid "
            f"{splits.valid.shape[0]}, test {splits.test.shape[0]}, binary={splits.is_binary}), "
            f"{config.model.bits} bits, channel `{config.channel.name}` eps={config.channel.eps}, "
            f"best validation {meta.get('best_valid', float('nan')):.4f} at step {meta.get('best_step')}")


def write_results(results: dict, workdir: str, title: str = "", context: str = "") -> None:
    with open(os.path.join(workdir, "eval.json"), "w") as f:
        json.dump(results, f, indent=2)
    md = [f"# Evaluation: {title}", ""]
    if context:
        md += [context, ""]
    md += [f"Split `{results['split']}` ({results['num_examples']} examples), channel `{results['channel']}` "
           f"trained at eps={results['train_eps']}, encoder `{results['encoder_mode']}`, "
           f"{results['num_channel_samples']} channel sample(s) per image; mean ± standard error.", "",
           markdown_table(results), ""]
    with open(os.path.join(workdir, "eval.md"), "w") as f:
        f.write("\n".join(md))
