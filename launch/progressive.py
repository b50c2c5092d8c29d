"""Command line: ``python -m launch.progressive --config=experiments/progressive/hamming_7_4.py --workdir=DIR``.

Trains ``config.num_seeds`` seeds of every entry of ``config.trainings`` (progressive training, straight-through,
Gumbel-softmax; :mod:`neuralcodes_jax.methods.progressive`), each as one vmapped, jitted program, then evaluates
every learned codebook exactly and writes:

* ``DIR/codebook_report.json``: for every training and seed the codewords (bit strings, message order),
  minimum distance, distance spectrum, linear / coset flags, the equivalent reference code (with the coordinate
  permutation and translation), exact BLER and BER on the BSC at ``eval.p_grid`` for the ML decoder of the
  learned codebook and for the learned neural decoder (a table over all ``2^n`` received words), with the
  exact polynomials; the classical reference, uncoded and converse curves; per-training summaries; timings.
  AWGN configs add Monte Carlo results (``awgn``).
* ``DIR/bler_vs_p.png``: BLER vs p (log axes) of the learned codes, classical ML, uncoded and the converse
  (AWGN configs: ``DIR/bler_vs_ebn0.png`` as well).
* ``DIR/summary.md``: the summary tables.

Any config field can be overridden with ``--config.a.b=value``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import sys
import time
from typing import Any, Optional

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Experiment config file (file.py or file.py:variant).",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for codebook_report.json, the PNG and summary.md.")
flags.DEFINE_integer("cpu_devices", 0, "CPU devices to split the seeds over on a CPU-only host (0: one per core; "
                     "distributed.use_cpu_cores).")
flags.mark_flags_as_required(["config", "workdir"])


def _downsample(x, points: int = 50) -> list[float]:
    import numpy as np

    x = np.asarray(x, np.float64)
    if x.size == 0:
        return []
    chunks = np.array_split(x, min(points, x.size))
    return [float(c.mean()) for c in chunks]


def _reference_code(name: str):
    from neuralcodes_jax.codes import analysis

    refs = analysis.reference_codes()
    if name not in refs:
        raise ValueError(f"eval.reference must be one of {sorted(refs)}, got {name!r}")
    return refs[name]()


def _check_config(config) -> None:
    from neuralcodes_jax.methods import progressive

    if isinstance(config.num_seeds, bool) or not isinstance(config.num_seeds, int) or config.num_seeds < 1:
        raise ValueError(f"num_seeds must be an int >= 1, got {config.num_seeds!r}")
    trainings = tuple(config.trainings)
    if not trainings:
        raise ValueError("trainings must name at least one of " + str(list(progressive.TRAININGS)))
    for t in trainings:
        if t not in progressive.TRAININGS:
            raise ValueError(f"trainings entries must be in {list(progressive.TRAININGS)}, got {t!r}")
    if len(set(trainings)) != len(trainings):
        raise ValueError(f"trainings must not repeat, got {list(trainings)}")
    progressive.check_p_grid(config.eval.p_grid, "eval.p_grid")
    if not any(abs(p - config.eval.p_ratio) < 1e-12 for p in config.eval.p_grid):
        raise ValueError(f"eval.p_ratio must be one of eval.p_grid, got {config.eval.p_ratio!r}")


def summarize_training(seeds: list[dict[str, Any]], num_messages: int, p_ratio: float) -> dict[str, Any]:
    """Counts and medians over the seed reports of one training method."""
    import numpy as np

    key = f"ratio_to_converse_at_{p_ratio:g}"
    dmins = [s["minimum_distance"] for s in seeds]
    ratios = [s["ml"].get(key) for s in seeds]
    out: dict[str, Any] = {
        "num_seeds": len(seeds),
        "equivalent_to_reference": sum(s["equivalent_to"] is not None for s in seeds),
        "perfect": sum(bool(s["is_perfect"]) for s in seeds),
        "bler_equals_reference": sum(bool(s["ml"].get("bler_equals_reference")) for s in seeds),
        "linear": sum(bool(s["is_linear"]) for s in seeds),
        "coset_of_linear": sum(bool(s["is_coset_of_linear"]) for s in seeds),
        "repeated_codewords": sum(s["num_distinct"] < num_messages for s in seeds),
        "minimum_distance_histogram": {str(d): dmins.count(d) for d in sorted(set(dmins))},
        key: ratios,
        f"median_{key}": float(np.median([r for r in ratios if r is not None])) if any(
            r is not None for r in ratios) else None,
        "stage2_codebook_unchanged": all(s["stage2_codebook_unchanged"] for s in seeds),
    }
    if seeds and "neural_decoder" in seeds[0]:
        i = seeds[0]["p_ratio_index"]
        nd = [s["neural_decoder"]["bler"]["values"][i] / s["ml"]["bler"]["values"][i]
              if s["ml"]["bler"]["values"][i] > 0 else None for s in seeds]
        out["neural_equals_ml"] = sum(bool(s["neural_decoder"]["equals_ml_bler"]) for s in seeds)
        out[f"neural_to_ml_bler_at_{p_ratio:g}"] = nd
        out[f"neural_improved_by_stage2"] = sum(bool(s.get("stage2_improved_neural_bler")) for s in seeds)
    return out


def plot_bsc(report: dict[str, Any], path: str) -> None:
    """BLER vs p (log axes), one panel per training: learned codes under ML and under their neural decoders,
    the classical reference under ML, uncoded bits and the converse (curves from the exact polynomials)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from neuralcodes_jax.codes import bounds, exact

    n, k = report["n"], report["k"]
    p = np.logspace(-3, np.log10(0.5), 80)
    trainings = list(report["trainings"])
    fig, axes = plt.subplots(1, len(trainings), figsize=(4.6 * len(trainings), 4.2), squeeze=False)
    ref = report["references"]
    ref_poly = exact.WeightPolynomial(**_poly_args(ref["reference_bler"]["polynomial"]))
    for ax, name in zip(axes[0], trainings):
        for i, seed in enumerate(report["trainings"][name]["seeds"]):
            ml = exact.WeightPolynomial(**_poly_args(seed["ml"]["bler"]["polynomial"]))
            ax.loglog(p, np.maximum(ml(p), 1e-12), color="tab:blue", lw=1.0, alpha=0.6,
                      label="learned code, ML decoder" if i == 0 else None)
            if "neural_decoder" in seed:
                nd = exact.WeightPolynomial(**_poly_args(seed["neural_decoder"]["bler"]["polynomial"]))
                ax.loglog(p, np.maximum(nd(p), 1e-12), color="tab:orange", lw=0.8, ls=(0, (2, 2)), alpha=0.7,
                          label="learned code, neural decoder" if i == 0 else None)
        ax.loglog(p, ref_poly(p), color="black", lw=2.2, label=f"{ref['reference_name']}, ML")
        ax.loglog(p, bounds.bsc_converse(n, k, p), color="red", lw=1.3, ls=":", label="converse (PPV)")
        ax.loglog(p, exact.uncoded_bler(k, p), color="tab:green", lw=1.3, ls="-.", label=f"uncoded {k} bits")
        s = report["trainings"][name]["summary"]
        ax.set_title(f"{name}: {s['equivalent_to_reference']}/{s['num_seeds']} equivalent to "
                     f"{ref['reference_name']}", fontsize=9)
        ax.set_xlabel("BSC crossover p")
        ax.set_ylim(1e-6, 1.0)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("block error rate (exact)")
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"({n},{k}) learned codes on the BSC ({report['name']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _plot_awgn(report: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from neuralcodes_jax.methods import progressive

    trainings = list(report["awgn"]["trainings"])
    fig, axes = plt.subplots(1, len(trainings), figsize=(4.6 * len(trainings), 4.2), squeeze=False)
    ebn0 = np.asarray(report["awgn"]["ebn0_db"])
    for ax, name in zip(axes[0], trainings):
        seeds = report["awgn"]["trainings"][name]
        for i, rows in enumerate(seeds):
            for key, color, style, label in (("learned_ml", "tab:blue", "-", "learned, soft ML"),
                                             ("neural", "tab:orange", "--", "learned, neural decoder")):
                b = np.array([r[key]["bler"] for r in rows])
                ax.semilogy(ebn0, np.maximum(b, 1e-7), color=color, ls=style, lw=0.7, alpha=0.5, marker=".",
                            label=label if i == 0 else None)
        rows = seeds[0]
        ref = np.array([r["reference_ml"]["bler"] for r in rows])
        lo = np.array([r["reference_ml"]["bler_ci"][0] for r in rows])
        hi = np.array([r["reference_ml"]["bler_ci"][1] for r in rows])
        ax.errorbar(ebn0, ref, yerr=[ref - lo, hi - ref], color="black", lw=2, capsize=3, marker="o", ms=3,
                    label="Hamming(7,4) soft ML (95% CI)")
        ax.semilogy(ebn0, progressive.uncoded_awgn_bler(report["k"], ebn0), color="tab:green", ls="-.",
                    marker="s", ms=3, label=f"uncoded BPSK, {report['k']} bits")
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("Eb/N0 (dB)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("block error rate")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def markdown_summary(report: dict[str, Any]) -> str:
    """The per-training summary table (and the AWGN table) as markdown."""
    p_ratio = report["config"]["eval"]["p_ratio"]
    key = f"ratio_to_converse_at_{p_ratio:g}"
    lines = [f"# {report['name']}: ({report['n']},{report['k']}) learned codes, reference "
             f"{report['references']['reference_name']}", "",
             f"Command: `{report['command']}`", "",
             "| training | seeds | equivalent to reference | ML BLER = reference (1e-12) | perfect | "
             f"coset of linear | d_min histogram | median ML BLER / converse at p={p_ratio:g} | "
             "neural = ML | train s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, tr in report["trainings"].items():
        s = tr["summary"]
        hist = ", ".join(f"d={d}: {c}" for d, c in s["minimum_distance_histogram"].items())
        med = s[f"median_{key}"]
        lines.append(f"| {name} | {s['num_seeds']} | {s['equivalent_to_reference']} | "
                     f"{s['bler_equals_reference']} | {s['perfect']} | {s['coset_of_linear']} | {hist} | "
                     f"{'-' if med is None else f'{med:.3f}'} | {s.get('neural_equals_ml', '-')} | "
                     f"{tr['train_seconds']:.0f} |")
    lines += ["", "Per seed (ML BLER / converse at p = %g; d_min; equivalent code):" % p_ratio, ""]
    for name, tr in report["trainings"].items():
        cells = []
        for s in tr["seeds"]:
            r = s["ml"].get(key)
            cells.append(f"{'-' if r is None else f'{r:.2f}'} (d={s['minimum_distance']}"
                         f"{', ' + s['equivalent_to'] if s['equivalent_to'] else ''})")
        lines.append(f"- {name}: " + "; ".join(cells))
    if "awgn" in report:
        lines += ["", "## AWGN (Monte Carlo, 95% Wilson intervals; BLER)", "",
                  "| training | seed | Eb/N0 dB | learned soft ML | learned neural | Hamming(7,4) soft ML | blocks |",
                  "|---|---|---|---|---|---|---|"]
        for name, seeds in report["awgn"]["trainings"].items():
            for i, rows in enumerate(seeds):
                for r in rows:
                    def fmt(d):
                        return f"{d['bler']:.3g} [{d['bler_ci'][0]:.3g}, {d['bler_ci'][1]:.3g}]"
                    lines.append(f"| {name} | {i} | {r['ebn0_db']:g} | {fmt(r['learned_ml'])} | "
                                 f"{fmt(r['neural'])} | {fmt(r['reference_ml'])} | {r['blocks']} |")
    lines.append("")
    return "\n".join(lines)


def run(config, workdir: str, command: Optional[str] = None, verbose: bool = True) -> dict[str, Any]:
    """Trains every training method of ``config`` and writes the report files to ``workdir``; returns the report."""
    import jax
    import numpy as np

    from neuralcodes_jax import sweeps
    from neuralcodes_jax.codes import exact
    from neuralcodes_jax.methods import progressive

    _check_config(config)
    os.makedirs(workdir, exist_ok=True)
    p_grid = progressive.check_p_grid(config.eval.p_grid, "eval.p_grid")
    specs = {t: progressive.spec_from_config(config, t) for t in config.trainings}
    first = next(iter(specs.values()))
    n, k, m = first.n, first.k, first.num_messages
    reference = _reference_code(config.eval.reference)
    if reference.n != n or reference.k != k:
        raise ValueError(f"eval.reference must be an ({n},{k}) code, got {config.eval.reference!r} "
                         f"({reference.n},{reference.k})")
    refs = progressive.reference_curves(n, k, p_grid, (config.eval.reference, reference))
    reference_bler = exact.ml_bler_bsc(reference.codewords())
    converse = np.asarray(refs["converse_bler"])
    ratio_index = int(np.flatnonzero(np.isclose(p_grid, config.eval.p_ratio))[0])
    keys = progressive.seed_keys(int(config.seed), int(config.num_seeds))
    report: dict[str, Any] = {
        "name": config.name, "command": command, "n": n, "k": k, "p_grid": p_grid.tolist(),
        "config": config.to_dict(), "references": refs, "trainings": {},
        "jax": {"version": jax.__version__, "backend": jax.default_backend(), "devices": jax.device_count()},
    }
    awgn_out: dict[str, Any] = {}
    for name, spec in specs.items():
        t0 = time.time()
        out = jax.block_until_ready(sweeps.train_progressive_seeds(keys, spec))
        train_s = time.time() - t0
        if verbose:
            print(f"[{name}] trained {config.num_seeds} seeds in {train_s:.1f} s", flush=True)
        t0 = time.time()
        codebooks = np.asarray(out["codebook"])
        stage2_books = np.asarray(out["stage2_codebook"])
        seeds = []
        for i in range(int(config.num_seeds)):
            table = None
            if config.eval.neural_table and spec.channel == "bsc":
                table = progressive.decoder_table(progressive.unstack(out["params"], i)["decoder"], spec)
            rep = progressive.codebook_report(
                codebooks[i], p_grid, decoder=table, reference_bler=reference_bler, converse=converse,
                p_ratio=float(config.eval.p_ratio), references={config.eval.reference: reference.codewords()})
            rep["seed"] = i
            rep["p_ratio_index"] = ratio_index
            rep["stage2_codebook_unchanged"] = bool(np.array_equal(codebooks[i], stage2_books[i]))
            rep["stage1_loss_curve"] = _downsample(np.asarray(out["stage1_loss"][i]))
            rep["stage2_loss_curve"] = _downsample(np.asarray(out["stage2_loss"][i]))
            rep["soft_codebook_mean_distance_to_binary"] = float(
                np.mean(np.minimum(np.asarray(out["soft_codebook"][i]), 1 - np.asarray(out["soft_codebook"][i]))))
            if table is not None and config.eval.stage2_check:
                # The decoder before stage 2 (stage-1 decoder on the binarized codebook), for the stage-2 check.
                table1 = progressive.decoder_table(
                    progressive.unstack(out["stage1_params"], i)["decoder"], spec)
                before = exact.decoder_bler_bsc(codebooks[i], table1, allow_repeated=True)
                rep["stage1_decoder_bler"] = [float(v) for v in np.atleast_1d(before(p_grid))]
                after = exact.WeightPolynomial(**_poly_args(rep["neural_decoder"]["bler"]["polynomial"]))
                rep["stage2_improved_neural_bler"] = bool(after(spec.train_p) <= before(spec.train_p) + 1e-12)
            seeds.append(rep)
        entry = {"spec": dataclasses.asdict(spec), "train_seconds": train_s, "seeds": seeds,
                 "summary": summarize_training(seeds, m, float(config.eval.p_ratio))}
        if spec.channel == "awgn":
            t1 = time.time()
            count = int(config.eval.mc_seeds) or int(config.num_seeds)
            rows = []
            for i in range(min(count, int(config.num_seeds))):
                rows.append(progressive.awgn_monte_carlo(
                    jax.random.fold_in(jax.random.key(int(config.seed) + 1), i), spec, codebooks[i],
                    progressive.unstack(out["params"], i)["decoder"], reference.codewords(),
                    tuple(config.eval.ebn0_db), int(config.eval.mc_target_errors), int(config.eval.mc_max_blocks),
                    int(config.eval.mc_batch)))
            awgn_out[name] = rows
            entry["awgn_seconds"] = time.time() - t1
        entry["eval_seconds"] = time.time() - t0
        if verbose:
            s = entry["summary"]
            print(f"[{name}] evaluated in {entry['eval_seconds']:.1f} s: {s['equivalent_to_reference']}/"
                  f"{s['num_seeds']} equivalent to {config.eval.reference}, d_min "
                  f"{s['minimum_distance_histogram']}", flush=True)
        report["trainings"][name] = entry
    if awgn_out:
        report["awgn"] = {"ebn0_db": [float(e) for e in config.eval.ebn0_db], "trainings": awgn_out}
    with open(os.path.join(workdir, "codebook_report.json"), "w") as f:
        json.dump(report, f, indent=1)
    plot_bsc(report, os.path.join(workdir, "bler_vs_p.png"))
    if awgn_out:
        _plot_awgn(report, os.path.join(workdir, "bler_vs_ebn0.png"))
    with open(os.path.join(workdir, "summary.md"), "w") as f:
        f.write(markdown_summary(report))
    return report


def _poly_args(d: dict[str, Any]) -> dict[str, Any]:
    return {"n": d["n"], "counts": tuple(int(c) for c in d["counts"]), "denominator": int(d["denominator"]),
            "variable": d.get("variable", "p")}


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    from neuralcodes_jax import distributed

    distributed.use_cpu_cores(FLAGS.cpu_devices)
    command = "python -m launch.progressive " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    t0 = time.time()
    report = run(FLAGS.config, FLAGS.workdir, command=command)
    print(markdown_summary(report))
    print(f"(written to {FLAGS.workdir}/codebook_report.json, bler_vs_p.png, summary.md; "
          f"{time.time() - t0:.0f} s)")


if __name__ == "__main__":
    app.run(main)
