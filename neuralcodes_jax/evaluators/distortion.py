"""The distortion evaluator (NECST family): distortion over a grid of test channel-noise levels, written as
``eval.json`` and ``eval.md`` per run, ``eval_summary.json`` / ``.md`` over seeds.

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

import dataclasses
import json
import os

import jax
import numpy as np

from neuralcodes_jax import specs
from neuralcodes_jax.config_utils import check_choice, check_int

METRIC_ORDER = ("bce_per_pixel_nats", "mse_per_pixel", "sse_per_image", "pixel_error_rate", "nll_per_image_nats")


@dataclasses.dataclass(frozen=True)
class EvalFields:
    """``eval`` fields of the distortion evaluator."""

    noise_levels: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)  # test noise levels
    split: str = "test"  # 'train' | 'valid' | 'test'
    batch_size: int = 1000
    max_examples: int = 0  # 0: the whole split

    def __post_init__(self):
        check_choice("eval.split", self.split, ("train", "valid", "test"))
        check_int("eval.batch_size", self.batch_size, 1)
        check_int("eval.max_examples", self.max_examples, 0)


@dataclasses.dataclass(frozen=True)
class CONFIG:
    """What the evaluator reads from a config."""

    eval: EvalFields = EvalFields()


def eval_fields(config) -> EvalFields:
    return specs.parse(CONFIG, config).eval


def check_noise_levels(levels, channel) -> list[float]:
    """The test noise levels as floats, each in the range of ``channel``'s class (``eps_max``)."""
    out = [channel.check_eps("eval.noise_levels entries", eps) for eps in levels]
    if not out:
        raise ValueError("eval.noise_levels must not be empty")
    return out


def eval_inputs(splits, fields: EvalFields):
    """The evaluation images: ``eval.split`` of ``splits``, the first ``eval.max_examples`` if set."""
    x = getattr(splits, fields.split)
    if fields.max_examples:
        x = x[: fields.max_examples]
    return x


def evaluate(run) -> list[dict]:
    """Distortion of every run of a group at each of its ``eval.noise_levels`` (``eval.json``, ``eval.md``).

    Run ``p`` is evaluated at its own levels; level ``i`` of its list uses the key ``fold_in(eval_key_p, i)`` and
    batch ``b`` ``fold_in(., b)``. ``eval_batch`` depends on a run's training noise only through the test-noise
    rule (``method.test_eps``), so the runs evaluated at the same test noise with the same effective noise share
    one vmapped call.
    """
    configs, point_methods = run.configs, run.methods
    fields = [eval_fields(c) for c in configs]
    x = eval_inputs(run.splits, fields[0])
    num = run.num_points
    levels = [check_noise_levels(f.noise_levels, m.channel) for f, m in zip(fields, point_methods)]
    # (test eps, effective eps) -> [(run, level index)]
    tasks: dict[tuple[float, float], list[tuple[int, int]]] = {}
    for p in range(num):
        for li, eps in enumerate(levels[p]):
            tasks.setdefault((eps, point_methods[p].test_eps(eps)), []).append((p, li))
    per_example: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    for (eps, _), members in tasks.items():
        method = point_methods[members[0][0]]
        apply = run.batched_apply(
            lambda prm, xb, k, v, m=method, e=eps: m.eval_batch(prm, xb, k, e), fields[0].batch_size
        )
        level_keys = jax.jit(jax.vmap(jax.random.fold_in))(
            run.eval_keys, np.asarray([dict(members).get(p, 0) for p in range(num)], np.int32)
        )
        merged = apply(run.params, np.asarray(x), level_keys)  # every run; keep the members' rows
        for p, li in members:
            per_example[(p, li)] = {k: v[p] for k, v in merged.items()}
    out = []
    for p in range(num):
        m = point_methods[p]
        rows = []
        for li, eps in enumerate(levels[p]):
            row = {"eps": eps, "effective_eps": m.test_eps(eps)}
            for name in METRIC_ORDER:
                if name in per_example[(p, li)]:
                    v = np.asarray(per_example[(p, li)][name], np.float64)
                    row[name] = float(v.mean())
                    row[name + "_se"] = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0
            rows.append(row)
        settings = m.eval_settings()
        result = {
            "split": fields[0].split,
            "num_examples": int(x.shape[0]),
            "channel": m.channel.name,
            "train_eps": float(m.channel.eps),
            "num_channel_samples": int(settings.get("num_channel_samples", 1)),
            "encoder_mode": settings.get("encoder_mode", "sample"),
            "rows": rows,
        }
        if run.is_main:
            write_results(
                result,
                run.workdirs[p],
                title=configs[p].get("name") or configs[p].method,
                context=describe_run(configs[p], run.splits, run.metas[p]),
            )
        out.append(result)
    return out


def summarize(run, results: list[dict], members: list[int], directory: str) -> dict:
    """Mean and seed standard deviation of every metric at every test level over ``members`` (the seeds of one
    experiment), written to ``DIRECTORY/eval_summary.json`` and ``eval_summary.md``."""
    levels = [r["eps"] for r in results[0]["rows"]]
    rows = []
    for li, eps in enumerate(levels):
        row = {"eps": eps, "num_seeds": len(results)}
        for name in METRIC_ORDER:
            vals = [r["rows"][li][name] for r in results if li < len(r["rows"]) and name in r["rows"][li]]
            if len(vals) == len(results):
                row[name] = float(np.mean(vals))
                row[name + "_seed_std"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
                row[name + "_per_seed"] = [float(v) for v in vals]
        rows.append(row)
    seeds = [int(run.configs[i].seed) for i in members]
    summary = {"seeds": seeds, "workdirs": [run.workdirs[i] for i in members], "rows": rows}
    if run.is_main:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "eval_summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
        names = [n for n in METRIC_ORDER if n in rows[0]]
        md = [
            f"# Evaluation over {len(seeds)} seeds ({', '.join(map(str, seeds))}): "
            f"{run.configs[members[0]].get('name', '')}",
            "",
            "Mean over seeds ± standard deviation over seeds (ddof=1).",
            "",
            "| test eps | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for row in rows:
            md.append(
                f"| {row['eps']:.2f} | "
                + " | ".join(f"{row[n]:.4f} ± {row[n + '_seed_std']:.4f}" for n in names)
                + " |"
            )
        with open(os.path.join(directory, "eval_summary.md"), "w") as f:
            f.write("\n".join(md) + "\n")
    return summary


def metrics(result: dict) -> dict:
    """Every metric per test noise level (``bce_per_pixel_nats@0.1``), from a run's result or a summary."""
    out = {}
    for row in result["rows"]:
        for k, v in row.items():
            if k not in ("eps", "effective_eps", "num_seeds") and not isinstance(v, list):
                out[f"{k}@{row['eps']:g}"] = v
    return out


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
    return (
        f"method `{config.method}`, data `{splits.name}` (train {splits.train.shape[0]}, valid "
        f"{splits.valid.shape[0]}, test {splits.test.shape[0]}, binary={splits.is_binary}), "
        f"{config.model.bits} bits, channel `{config.channel.name}` eps={config.channel.eps}, "
        f"best validation {meta.get('best_valid', float('nan')):.4f} at step {meta.get('best_step')}"
    )


def write_results(results: dict, workdir: str, title: str = "", context: str = "") -> None:
    with open(os.path.join(workdir, "eval.json"), "w") as f:
        json.dump(results, f, indent=2)
    md = [f"# Evaluation: {title}", ""]
    if context:
        md += [context, ""]
    md += [
        f"Split `{results['split']}` ({results['num_examples']} examples), channel `{results['channel']}` "
        f"trained at eps={results['train_eps']}, encoder `{results['encoder_mode']}`, "
        f"{results['num_channel_samples']} channel sample(s) per image; mean ± standard error.",
        "",
        markdown_table(results),
        "",
    ]
    with open(os.path.join(workdir, "eval.md"), "w") as f:
        f.write("\n".join(md))
